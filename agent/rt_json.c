/* rt_json.c - cJSON readers with one meaning of "not set", capped copies and
 * list appends shared by the runtime parsers. It reads no files and never
 * logs; the parsers that use it decide what each field means. */
#include "agent/rt_json.h"

#include "agent/rt.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ag_rt_json_init(struct ag_rt_json *x, char *err, size_t errlen)
{
    x->err = err;
    x->errlen = errlen;
    x->rc = 0;
    x->where = NULL;
    if (err && errlen) err[0] = '\0';
}

void ag_rt_json_fail(struct ag_rt_json *x, int rc, const char *fmt, ...)
{
    if (x->rc) return; /* the first error is the one worth reading */
    x->rc = rc;
    if (!x->err || !x->errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, x->errlen, fmt, ap);
    va_end(ap);
    /* A reason may quote the document (a bind spec, a port key) and ends up
     * in the inventory: keep it valid UTF-8 too. */
    ag_rt_json_utf8_fix(x->err, strlen(x->err));
}

/* Records "where.key: what". */
static void ag_rt_json_fail_key(struct ag_rt_json *x, const char *key, const char *what)
{
    if (x->where)
        ag_rt_json_fail(x, CM_EPARSE, "%s.%s: %s", x->where, key, what);
    else
        ag_rt_json_fail(x, CM_EPARSE, "%s: %s", key, what);
}

static void ag_rt_json_position(const char *text, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int ag_rt_json_parse(const char *text, size_t len, const char *what, cJSON **out, char *err,
                     size_t errlen)
{
    const char *end = NULL;
    size_t line, col;
    *out = NULL;
    if (!err) errlen = 0;
    if (len > AG_RT_FILE_MAX) {
        snprintf(err, errlen, "%s: %zu bytes, more than the %u we read", what, len,
                 (unsigned)AG_RT_FILE_MAX);
        return CM_ETOOBIG;
    }
    if (len == 0 || !text) {
        snprintf(err, errlen, "%s: empty", what);
        return CM_EPARSE;
    }
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
    if (!doc) {
        ag_rt_json_position(text, off, &line, &col);
        if (off + 1 >= len)
            snprintf(err, errlen, "%s: invalid JSON: the text ends early (truncated?) at line %zu",
                     what, line);
        else
            snprintf(err, errlen, "%s: invalid JSON at line %zu, column %zu", what, line, col);
        return CM_EPARSE;
    }
    while (off < len &&
           (text[off] == ' ' || text[off] == '\t' || text[off] == '\n' || text[off] == '\r'))
        off++;
    if (off < len) {
        ag_rt_json_position(text, off, &line, &col);
        snprintf(err, errlen, "%s: data after the JSON value at line %zu, column %zu", what, line,
                 col);
        cJSON_Delete(doc);
        return CM_EPARSE;
    }
    *out = doc;
    return 0;
}

const cJSON *ag_rt_json_item(const cJSON *obj, const char *key)
{
    const cJSON *found = NULL;
    if (!cJSON_IsObject(obj)) return NULL;
    /* Go's encoding/json: keys match case-insensitively, the last one wins. */
    for (const cJSON *it = obj->child; it; it = it->next)
        if (it->string && strcasecmp(it->string, key) == 0) found = it;
    return cJSON_IsNull(found) ? NULL : found;
}

const char *ag_rt_json_str(struct ag_rt_json *x, const cJSON *obj, const char *key)
{
    const cJSON *it = ag_rt_json_item(obj, key);
    if (!it) return NULL;
    if (!cJSON_IsString(it)) {
        ag_rt_json_fail_key(x, key, "expected a string");
        return NULL;
    }
    return it->valuestring[0] ? it->valuestring : NULL;
}

const cJSON *ag_rt_json_obj(struct ag_rt_json *x, const cJSON *obj, const char *key)
{
    const cJSON *it = ag_rt_json_item(obj, key);
    if (!it) return NULL;
    if (!cJSON_IsObject(it)) {
        ag_rt_json_fail_key(x, key, "expected an object");
        return NULL;
    }
    return it;
}

const cJSON *ag_rt_json_arr(struct ag_rt_json *x, const cJSON *obj, const char *key)
{
    const cJSON *it = ag_rt_json_item(obj, key);
    if (!it) return NULL;
    if (!cJSON_IsArray(it)) {
        ag_rt_json_fail_key(x, key, "expected an array");
        return NULL;
    }
    return it->child ? it : NULL;
}

bool ag_rt_json_bool(struct ag_rt_json *x, const cJSON *obj, const char *key, bool *out)
{
    const cJSON *it = ag_rt_json_item(obj, key);
    if (!it) return false;
    if (!cJSON_IsBool(it)) {
        ag_rt_json_fail_key(x, key, "expected true or false");
        return false;
    }
    *out = cJSON_IsTrue(it);
    return true;
}

bool ag_rt_json_int(struct ag_rt_json *x, const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *it = ag_rt_json_item(obj, key);
    if (!it) return false;
    if (!cJSON_IsNumber(it)) {
        ag_rt_json_fail_key(x, key, "expected a number");
        return false;
    }
    double d = it->valuedouble;
    /* Compare before converting: a double outside int64 (1e300, inf) makes
     * the cast undefined. 2^63 is exact in a double. */
    if (d >= 9223372036854775808.0) {
        *out = INT64_MAX;
        return true;
    }
    if (d <= -9223372036854775808.0) {
        *out = INT64_MIN;
        return true;
    }
    if (d != d || (double)(int64_t)d != d) {
        ag_rt_json_fail_key(x, key, "expected an integer");
        return false;
    }
    *out = (int64_t)d;
    return true;
}

bool ag_rt_json_uint(struct ag_rt_json *x, const cJSON *obj, const char *key, uint64_t *out)
{
    int64_t v;
    if (!ag_rt_json_int(x, obj, key, &v)) return false;
    *out = v < 0 ? 0 : (uint64_t)v;
    return true;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 when there is none. */
static size_t ag_rt_json_utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned char b = p[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF)
        need = 1;
    else if (b >= 0xE0 && b <= 0xEF)
        need = 2;
    else if (b >= 0xF0 && b <= 0xF4)
        need = 3;
    else
        return 0;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    if (avail < need + 1 || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i <= need; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return need + 1;
}

size_t ag_rt_json_utf8_bad(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t k = ag_rt_json_utf8_seq((const unsigned char *)s + i, n - i);
        if (!k) return i;
        i += k;
    }
    return n;
}

void ag_rt_json_utf8_fix(char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = ag_rt_json_utf8_seq((const unsigned char *)s + i, n - i);
        if (!k) s[i++] = '?';
        i += k;
    }
}

char *ag_rt_json_strndup(const char *s, size_t n)
{
    if (!s) return NULL;
    n = strnlen(s, n);
    if (n > CM_INV_STR_MAX) {
        n = CM_INV_STR_MAX;
        /* Never end in the middle of a UTF-8 sequence: back off from a
         * continuation byte to the start of its character. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    char *out = cm_xstrndup(s, n);
    ag_rt_json_utf8_fix(out, n);
    return out;
}

char *ag_rt_json_strdup(const char *s)
{
    return ag_rt_json_strndup(s, CM_INV_STR_MAX + 1);
}

void ag_rt_json_set(char **dst, const char *s)
{
    free(*dst);
    *dst = ag_rt_json_strdup(s);
}

/* Appends "text" to b when the whole of it fits; false when it does not. */
static bool ag_rt_json_take(struct cm_buf *b, char *text, size_t reserve)
{
    bool ok = text && strlen(text) + reserve <= b->max - b->len && cm_buf_append_str(b, text) == 0;
    free(text);
    return ok;
}

/* The leading entries of an array or object that fit in CM_INV_STR_MAX. */
static char *ag_rt_json_print_partial(const cJSON *v)
{
    struct cm_buf b;
    bool obj = cJSON_IsObject(v);
    cm_buf_init(&b, CM_INV_STR_MAX);
    cm_buf_append_str(&b, obj ? "{" : "[");
    for (const cJSON *it = v->child; it; it = it->next) {
        size_t mark = b.len;
        bool ok = it == v->child || cm_buf_append_str(&b, ",") == 0;
        if (ok && obj) {
            cJSON *key = cJSON_CreateString(it->string ? it->string : "");
            ok = ag_rt_json_take(&b, key ? cJSON_PrintUnformatted(key) : NULL, 2) &&
                 cm_buf_append_str(&b, ":") == 0;
            cJSON_Delete(key);
        }
        /* Room kept for the closing bracket. */
        if (!ok || !ag_rt_json_take(&b, cJSON_PrintUnformatted(it), 1)) {
            b.len = mark;
            break;
        }
    }
    cm_buf_append_str(&b, obj ? "}" : "]");
    return cm_buf_steal(&b, NULL);
}

char *ag_rt_json_print(const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v);
    if (!text) return NULL;
    if (strlen(text) <= CM_INV_STR_MAX) return text;
    free(text);
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v)) return NULL;
    return ag_rt_json_print_partial(v);
}

int ag_rt_json_push(struct ag_rt_json *x, struct cm_strv *v, const char *s, const char *key)
{
    char *capped = ag_rt_json_strdup(s);
    int rc = cm_strv_push(v, capped);
    free(capped);
    if (rc < 0)
        ag_rt_json_fail(x, rc, "%s%s%s: more than %u entries", x->where ? x->where : "",
                        x->where ? "." : "", key, (unsigned)CM_INV_LIST_MAX);
    return rc;
}

/* Makes room for one more element in *arr (n elements of size el). */
static int ag_rt_json_grow(struct ag_rt_json *x, void **arr, size_t n, size_t el, const char *key)
{
    if (n >= CM_INV_LIST_MAX) {
        ag_rt_json_fail(x, CM_ETOOBIG, "%s%s%s: more than %u entries", x->where ? x->where : "",
                        x->where ? "." : "", key, (unsigned)CM_INV_LIST_MAX);
        return CM_ETOOBIG;
    }
    *arr = cm_xrealloc(*arr, (n + 1) * el);
    memset((char *)*arr + n * el, 0, el);
    return 0;
}

int ag_rt_json_mount_add(struct ag_rt_json *x, struct cm_container_inv *c, const char *source,
                         const char *destination, bool read_only, const char *type,
                         const char *propagation)
{
    int rc = ag_rt_json_grow(x, (void **)&c->mounts, c->n_mounts, sizeof *c->mounts, "mounts");
    if (rc < 0) return rc;
    struct cm_mount *m = &c->mounts[c->n_mounts++];
    m->source = ag_rt_json_strdup(source);
    m->destination = ag_rt_json_strdup(destination);
    m->read_only = read_only;
    m->type = ag_rt_json_strdup(type);
    m->propagation = ag_rt_json_strdup(propagation);
    return 0;
}

int ag_rt_json_caps(struct ag_rt_json *x, const cJSON *arr, struct cm_strv *v, const char *key)
{
    char name[64];
    for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            ag_rt_json_fail_key(x, key, "expected an array of strings");
            return CM_EPARSE;
        }
        const char *s = it->valuestring;
        if (strncasecmp(s, "CAP_", 4) == 0) s += 4;
        size_t n = strnlen(s, sizeof name - 1);
        if (n == 0) continue;
        for (size_t i = 0; i < n; i++)
            name[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A') : s[i];
        name[n] = '\0';
        int rc = ag_rt_json_push(x, v, name, key);
        if (rc < 0) return rc;
    }
    return 0;
}

int ag_rt_json_env(struct ag_rt_json *x, const cJSON *arr, struct cm_container_inv *c,
                   const char *key)
{
    char reason[128];
    for (const cJSON *it = arr ? arr->child : NULL; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            ag_rt_json_fail_key(x, key, "expected an array of strings");
            return CM_EPARSE;
        }
        const char *s = it->valuestring;
        const char *eq = strchr(s, '=');
        size_t nlen = eq ? (size_t)(eq - s) : strlen(s);
        if (nlen == 0) continue;
        int rc = ag_rt_json_grow(x, (void **)&c->env, c->n_env, sizeof *c->env, key);
        if (rc < 0) return rc;
        struct cm_env *e = &c->env[c->n_env++];
        e->name = ag_rt_json_strndup(s, nlen);
        /* The value is judged here and goes no further than this frame. */
        e->secret_like = ag_env_classify(e->name, eq ? eq + 1 : NULL, reason, sizeof reason);
        e->secret_reason = e->secret_like ? cm_xstrdup(reason) : NULL;
    }
    return 0;
}

int ag_rt_json_labels(struct ag_rt_json *x, const cJSON *map, struct cm_container_inv *c,
                      const char *key)
{
    for (const cJSON *it = map ? map->child : NULL; it; it = it->next) {
        if (!it->string || !it->string[0]) continue;
        if (!cJSON_IsString(it) && !cJSON_IsNull(it)) {
            ag_rt_json_fail_key(x, key, "expected a map of strings");
            return CM_EPARSE;
        }
        int rc = ag_rt_json_grow(x, (void **)&c->labels, c->n_labels, sizeof *c->labels, key);
        if (rc < 0) return rc;
        struct cm_kv *kv = &c->labels[c->n_labels++];
        kv->key = ag_rt_json_strdup(it->string);
        kv->value = cJSON_IsString(it) ? ag_rt_json_strdup(it->valuestring) : NULL;
    }
    return 0;
}

int ag_rt_json_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *out = strcmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return CM_EPARSE;
}

const char *ag_rt_json_propagation(const char *opt)
{
    static const char *const modes[] = {"rshared",  "shared",  "rslave",      "slave",
                                        "rprivate", "private", "runbindable", "unbindable"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(opt, modes[i]) == 0) return modes[i];
    return NULL;
}

static bool ag_rt_json_action_allows(const char *action)
{
    return strcmp(action, "SCMP_ACT_ALLOW") == 0 || strcmp(action, "SCMP_ACT_LOG") == 0;
}

const char *ag_rt_json_seccomp_kind(const cJSON *profile)
{
    const cJSON *def = ag_rt_json_item(profile, "defaultAction");
    if (!cJSON_IsString(def)) return "custom";
    if (!ag_rt_json_action_allows(def->valuestring)) return "default";
    /* Allowed by default: a filter only when some rule does not allow. */
    const cJSON *calls = ag_rt_json_item(profile, "syscalls");
    for (const cJSON *it = cJSON_IsArray(calls) ? calls->child : NULL; it; it = it->next) {
        const cJSON *act = ag_rt_json_item(it, "action");
        if (!cJSON_IsString(act) || !ag_rt_json_action_allows(act->valuestring)) return "denylist";
    }
    return "unconfined";
}
