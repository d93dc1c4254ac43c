/* rt_json.h - what the runtime parsers (rt_docker.c, rt_oci.c, rt_daemon.c)
 * share: reading cJSON values with one meaning of "not set", capped copies,
 * the first-error bookkeeping of one parse, and appending to the lists of a
 * struct cm_container_inv.
 *
 * "Not set": null, a missing key, "" and [] are all the same thing (that is
 * how docker-bench-security reads inspect output, and how a Go program sees
 * a zero value). A value of the wrong type is not "not set": it is an error
 * (the runtime itself would have refused to load such a file), recorded in
 * the context and the parse goes on with the next field, so one odd field
 * does not hide the rest. Keys are matched the way Go's encoding/json does:
 * case-insensitively, the last duplicate wins.
 *
 * Internal to the agent's runtime parsers. No I/O, no logging. */
#ifndef AG_RT_JSON_H
#define AG_RT_JSON_H

#include "common/inventory.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One parse: the first error (code and reason) and where we are, for the
 * reason's field path. err (borrowed, may be NULL) receives the reason. */
struct ag_rt_json {
    char *err;
    size_t errlen;
    int rc;            /* first error, 0 while there is none */
    const char *where; /* "HostConfig", "process", ... or NULL (borrowed) */
};

void ag_rt_json_init(struct ag_rt_json *x, char *err, size_t errlen);
/* Records rc and the reason unless an error is already recorded. */
void ag_rt_json_fail(struct ag_rt_json *x, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses one JSON document of at most AG_RT_FILE_MAX bytes (what: "config",
 * "hostconfig", "daemon.json", for the reason). Trailing bytes other than
 * white space are an error, as they are for the runtimes. *out: caller frees
 * with cJSON_Delete. CM_ETOOBIG or CM_EPARSE with a reason that names the
 * line and column. */
int ag_rt_json_parse(const char *text, size_t len, const char *what, cJSON **out, char *err,
                     size_t errlen);

/* obj[key], or NULL when obj is not an object, the key is missing or the
 * value is null. */
const cJSON *ag_rt_json_item(const cJSON *obj, const char *key);

/* Typed readers. Each returns "not set" (NULL / false) for null, missing, ""
 * or [], and records an error (and returns "not set") for a wrong type. */
const char *ag_rt_json_str(struct ag_rt_json *x, const cJSON *obj, const char *key);
const cJSON *ag_rt_json_obj(struct ag_rt_json *x, const cJSON *obj, const char *key);
const cJSON *ag_rt_json_arr(struct ag_rt_json *x, const cJSON *obj, const char *key);
bool ag_rt_json_bool(struct ag_rt_json *x, const cJSON *obj, const char *key, bool *out);
/* Integral numbers only; values beyond int64 are clamped. */
bool ag_rt_json_int(struct ag_rt_json *x, const cJSON *obj, const char *key, int64_t *out);
/* Like ag_rt_json_int; negative values read as 0. */
bool ag_rt_json_uint(struct ag_rt_json *x, const cJSON *obj, const char *key, uint64_t *out);

/* Offset of the first byte of s[0, n) that is not part of well-formed
 * UTF-8, or n when all of it is. */
size_t ag_rt_json_utf8_bad(const char *s, size_t n);
/* Replaces, in place, each byte of s[0, n) that is not part of well-formed
 * UTF-8 with '?'. */
void ag_rt_json_utf8_fix(char *s, size_t n);

/* A heap copy of at most CM_INV_STR_MAX bytes, cut at a UTF-8 character
 * boundary, each byte of a malformed sequence replaced by '?' so what
 * leaves the agent is always valid UTF-8 (NULL for NULL). Caller frees. */
char *ag_rt_json_strdup(const char *s);
char *ag_rt_json_strndup(const char *s, size_t n);
/* *dst = capped copy of s (NULL for NULL), freeing what *dst held. */
void ag_rt_json_set(char **dst, const char *s);

/* JSON text of v (unformatted), at most CM_INV_STR_MAX bytes. An array or
 * object that does not fit keeps its leading entries that do (so the text
 * is always valid JSON); a scalar that does not fit gives NULL. */
char *ag_rt_json_print(const cJSON *v);

/* Appends to c's lists; CM_ETOOBIG (recorded, with key in the reason) past
 * CM_INV_LIST_MAX. Strings are copied. */
int ag_rt_json_push(struct ag_rt_json *x, struct cm_strv *v, const char *s, const char *key);
int ag_rt_json_mount_add(struct ag_rt_json *x, struct cm_container_inv *c, const char *source,
                         const char *destination, bool read_only, const char *type,
                         const char *propagation);

/* Capability names from a JSON array of strings: upper case, "CAP_" cut
 * off ("ALL" stays ALL). */
int ag_rt_json_caps(struct ag_rt_json *x, const cJSON *arr, struct cm_strv *v, const char *key);
/* "NAME=value" strings: each name classified by ag_env_classify, the value
 * dropped. An entry without '=' has no value (only its name is judged). */
int ag_rt_json_env(struct ag_rt_json *x, const cJSON *arr, struct cm_container_inv *c,
                   const char *key);
/* A JSON map of string -> string (null = no value) into c->labels. */
int ag_rt_json_labels(struct ag_rt_json *x, const cJSON *map, struct cm_container_inv *c,
                      const char *key);

/* Go's strconv.ParseBool, which Docker and pflag use for "<flag>=<bool>"
 * and "no-new-privileges:<bool>": 1 t T TRUE true True and their false
 * counterparts. CM_EPARSE for anything else. */
int ag_rt_json_parse_bool(const char *s, bool *out);

/* The mount propagation named by one mount option ("rshared", "slave", ...)
 * or NULL when opt is not a propagation option. */
const char *ag_rt_json_propagation(const char *opt);

/* What a seccomp profile (OCI linux.seccomp, or the JSON profile Docker's
 * CLI puts inline into SecurityOpt) does: "unconfined" when it cannot deny
 * anything, "default" when it denies by default (Docker's own profile and
 * every other allow-list), "denylist" when it allows by default and denies
 * named calls. */
const char *ag_rt_json_seccomp_kind(const cJSON *profile);

#endif
