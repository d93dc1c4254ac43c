/* rt_daemon.c - the Docker daemon's settings: daemon.json and the flags of
 * a running dockerd, merged into cm_host_inv.daemon_settings
 * (ag_rt_daemon_parse and ag_rt_dockerd_flags in rt.h).
 *
 * Every daemon.json key is kept with the JSON text of its value, so the
 * collector's checks decide what a setting means and a new check needs no
 * agent change. Credentials in URLs (proxies, mirrors) are masked the way
 * dockerd masks them when it prints its configuration: they are secrets
 * and would otherwise leave the host. This file does not find the files
 * or the process, and does not judge the settings. */
#include "agent/rt.h"

#include "agent/rt_json.h"
#include "common/alloc.h"
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* key -> value (owned JSON text; freed here on failure). A key already
 * there is replaced: the last duplicate in a file wins, as in Go, and a
 * flag wins over the file. */
static int ag_rt_daemon_set(struct cm_host_inv *h, const char *key, char *value)
{
    for (size_t i = 0; i < h->n_daemon_settings; i++) {
        if (strcmp(h->daemon_settings[i].key, key) == 0) {
            free(h->daemon_settings[i].value);
            h->daemon_settings[i].value = value;
            return 0;
        }
    }
    if (h->n_daemon_settings >= CM_INV_LIST_MAX) {
        free(value);
        return CM_ETOOBIG;
    }
    h->daemon_settings =
        cm_xrealloc(h->daemon_settings, (h->n_daemon_settings + 1) * sizeof *h->daemon_settings);
    struct cm_kv *kv = &h->daemon_settings[h->n_daemon_settings++];
    kv->key = ag_rt_json_strdup(key);
    kv->value = value;
    return 0;
}

/* "scheme://user:pass@host/..." -> "scheme://xxxxx:xxxxx@host/..." in every
 * string of v, like dockerd's MaskCredentials. Depth is bounded by cJSON's
 * nesting limit. */
static void ag_rt_daemon_mask(cJSON *v)
{
    if (cJSON_IsString(v)) {
        const char *s = v->valuestring, *p = strstr(s, "://");
        if (!p) return;
        size_t auth = strcspn(p + 3, "/?#");
        const char *at = NULL;
        for (const char *q = p + 3; q < p + 3 + auth; q++)
            if (*q == '@') at = q;
        if (!at) return;
        size_t n = (size_t)(p + 3 - s) + 11 + strlen(at) + 1;
        char *masked = cm_xmalloc(n);
        snprintf(masked, n, "%.*sxxxxx:xxxxx%s", (int)(p + 3 - s), s, at);
        cJSON_SetValuestring(v, masked);
        free(masked);
        return;
    }
    for (cJSON *it = v->child; it; it = it->next)
        ag_rt_daemon_mask(it);
}

/* dockerd strips a UTF-8 byte order mark and surrounding white space, and
 * reads a file left with nothing as "no settings". */
static bool ag_rt_daemon_empty(const char **json, size_t *len)
{
    if (*len >= 3 && memcmp(*json, "\xEF\xBB\xBF", 3) == 0) {
        *json += 3;
        *len -= 3;
    }
    for (size_t i = 0; i < *len; i++)
        if (!strchr(" \t\r\n", (*json)[i]) || !(*json)[i]) return false;
    return true;
}

static int ag_rt_daemon_fill(const cJSON *doc, struct cm_host_inv *h, char *err, size_t errlen)
{
    for (const cJSON *it = doc->child; it; it = it->next) {
        char *text = ag_rt_json_print(it);
        /* A scalar too long to keep (a 4 KiB string) is kept as absent. */
        if (!text) continue;
        if (ag_rt_daemon_set(h, it->string ? it->string : "", text) < 0) {
            snprintf(err, errlen, "daemon.json: more than %u keys", (unsigned)CM_INV_LIST_MAX);
            return CM_ETOOBIG;
        }
    }
    return 0;
}

int ag_rt_daemon_parse(const char *json, size_t len, struct cm_host_inv *h, char *err,
                       size_t errlen)
{
    cJSON *doc = NULL;
    char reason[256];
    int rc = 0;
    if (!json) len = 0;
    if (ag_rt_daemon_empty(&json, &len)) goto out;
    /* dockerd refuses a file that is not UTF-8; so do we, with where. */
    size_t bad = ag_rt_json_utf8_bad(json, len);
    if (bad < len && len <= AG_RT_FILE_MAX) {
        snprintf(reason, sizeof reason, "daemon.json: not valid UTF-8 at byte %zu", bad);
        rc = CM_EPARSE;
        goto out;
    }
    rc = ag_rt_json_parse(json, len, "daemon.json", &doc, reason, sizeof reason);
    if (rc < 0) goto out;
    if (!cJSON_IsObject(doc)) {
        snprintf(reason, sizeof reason, "daemon.json: not a JSON object");
        rc = CM_EPARSE;
        goto out;
    }
    ag_rt_daemon_mask(doc);
    rc = ag_rt_daemon_fill(doc, h, reason, sizeof reason);
out:
    if (rc < 0) {
        if (err && errlen) snprintf(err, errlen, "%s", reason);
        free(h->daemon_config_error);
        h->daemon_config_error = cm_xstrdup(reason);
    }
    cJSON_Delete(doc);
    return rc;
}

/* ---- dockerd's command line ---- */

enum ag_rt_flag_kind { AG_RT_FLAG_BOOL, AG_RT_FLAG_STR, AG_RT_FLAG_LIST, AG_RT_FLAG_SKIP };

/* The flags the host checks read, under their daemon.json key names. */
static const struct ag_rt_flag {
    const char *name;
    char shorthand;
    const char *key;
    enum ag_rt_flag_kind kind;
} ag_rt_flags[] = {
    {"icc", 0, "icc", AG_RT_FLAG_BOOL},
    {"userns-remap", 0, "userns-remap", AG_RT_FLAG_STR},
    {"host", 'H', "hosts", AG_RT_FLAG_LIST},
    {"tls", 0, "tls", AG_RT_FLAG_BOOL},
    {"tlsverify", 0, "tlsverify", AG_RT_FLAG_BOOL},
    {"live-restore", 0, "live-restore", AG_RT_FLAG_BOOL},
    {"no-new-privileges", 0, "no-new-privileges", AG_RT_FLAG_BOOL},
    {"insecure-registry", 0, "insecure-registries", AG_RT_FLAG_LIST},
    {"authorization-plugin", 0, "authorization-plugins", AG_RT_FLAG_LIST},
    {"log-driver", 0, "log-driver", AG_RT_FLAG_STR},
    {"log-level", 'l', "log-level", AG_RT_FLAG_STR},
    {"iptables", 0, "iptables", AG_RT_FLAG_BOOL},
    {"userland-proxy", 0, "userland-proxy", AG_RT_FLAG_BOOL},
    {"seccomp-profile", 0, "seccomp-profile", AG_RT_FLAG_STR},
    {"cgroup-parent", 0, "cgroup-parent", AG_RT_FLAG_STR},
    {"config-file", 0, NULL, AG_RT_FLAG_SKIP}, /* read by the caller, not a setting */
};

static const struct ag_rt_flag *ag_rt_flag_find(const char *name, size_t n, char shorthand)
{
    for (size_t i = 0; i < sizeof ag_rt_flags / sizeof ag_rt_flags[0]; i++) {
        const struct ag_rt_flag *f = &ag_rt_flags[i];
        if (shorthand ? f->shorthand == shorthand
                      : strlen(f->name) == n && memcmp(f->name, name, n) == 0)
            return f;
    }
    return NULL;
}

/* Records one flag's value into acc (key -> JSON value). */
static void ag_rt_flag_take(cJSON *acc, const struct ag_rt_flag *f, const char *raw)
{
    bool b;
    /* A command line is any bytes: cap it and keep it UTF-8 like the rest. */
    char *value = ag_rt_json_strdup(raw);
    if (f->kind == AG_RT_FLAG_BOOL) {
        /* A value pflag could not parse stops dockerd: never seen running. */
        if (ag_rt_json_parse_bool(value, &b) == 0) {
            cJSON_DeleteItemFromObjectCaseSensitive(acc, f->key);
            cJSON_AddBoolToObject(acc, f->key, b);
        }
    } else if (f->kind == AG_RT_FLAG_STR) {
        cJSON_DeleteItemFromObjectCaseSensitive(acc, f->key);
        cJSON_AddStringToObject(acc, f->key, value);
    } else if (f->kind == AG_RT_FLAG_LIST) {
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(acc, f->key);
        if (!arr) arr = cJSON_AddArrayToObject(acc, f->key);
        if (arr && cJSON_GetArraySize(arr) < (int)CM_INV_LIST_MAX)
            cJSON_AddItemToArray(arr, cJSON_CreateString(value));
    }
    free(value);
}

/* One argument at argv[*i]: "--name=value", "--name value", "--bool",
 * "-H value", "-Hvalue", "-H=value". pflag never takes the next argument
 * as a boolean flag's value ("--icc false" would stop dockerd), so neither
 * does this. */
static void ag_rt_flag_one(cJSON *acc, char *const *argv, size_t argc, size_t *i)
{
    const char *a = argv[*i], *value = NULL;
    const struct ag_rt_flag *f;
    if (a[1] == '-') {
        const char *name = a + 2, *eq = strchr(name, '=');
        f = ag_rt_flag_find(name, eq ? (size_t)(eq - name) : strlen(name), 0);
        if (eq) value = eq + 1;
    } else {
        f = a[1] ? ag_rt_flag_find(NULL, 0, a[1]) : NULL;
        if (f && a[2]) value = a[2] == '=' ? a + 3 : a + 2;
    }
    if (!f) return; /* unknown flags are not ours to judge */
    if (f->kind == AG_RT_FLAG_BOOL && !value) value = "true";
    if (!value && *i + 1 < argc && argv[*i + 1]) value = argv[++*i];
    if (value && f->kind != AG_RT_FLAG_SKIP) ag_rt_flag_take(acc, f, value);
}

int ag_rt_dockerd_flags(char *const *argv, size_t argc, struct cm_host_inv *h)
{
    int rc = 0;
    cJSON *acc = cJSON_CreateObject();
    if (!acc) return -ENOMEM; /* only without the agent's aborting cJSON hooks */
    for (size_t i = 0; argv && i < argc; i++) {
        const char *a = argv[i];
        if (!a || a[0] != '-') continue;
        if (strcmp(a, "--") == 0) break;
        ag_rt_flag_one(acc, argv, argc, &i);
    }
    for (const cJSON *it = acc->child; it && rc == 0; it = it->next) {
        char *text = ag_rt_json_print(it);
        if (text) rc = ag_rt_daemon_set(h, it->string, text);
    }
    cJSON_Delete(acc);
    return rc;
}
