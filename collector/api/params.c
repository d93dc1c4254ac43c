/* params.c - query-string parameters of the read routes.
 *
 * Decodes application/x-www-form-urlencoded pairs ('+' and %XX) into one
 * fixed buffer, then checks each known parameter against its range. Every
 * failure names the parameter, so a caller can fix their request. Pure; no
 * logging. Unknown parameters are ignored (browsers and Grafana add some). */
#include "collector/api/api_int.h"

#include "common/err.h"
#include "common/parse.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <string.h>

#define COL_API_CURSOR_PREFIX 'k'

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..len) to out (NUL-terminated); returns bytes written or -1. */
static int col_api_pct_decode(const char *s, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return (int)o;
}

static int col_api_query_add(struct col_api_query *q, const char *pair, size_t len, size_t *used,
                             char *err, size_t errlen)
{
    if (q->n >= COL_API_QUERY_MAX_PAIRS) {
        snprintf(err, errlen, "query: more than %d parameters", COL_API_QUERY_MAX_PAIRS);
        return CM_EPARSE;
    }
    const char *eq = memchr(pair, '=', len);
    size_t klen = eq ? (size_t)(eq - pair) : len;
    char *k = q->buf + *used;
    if (col_api_pct_decode(pair, klen, k) < 0 || k[0] == '\0') {
        snprintf(err, errlen, "query: malformed parameter name");
        return CM_EPARSE;
    }
    *used += strlen(k) + 1;
    char *v = q->buf + *used;
    if (col_api_pct_decode(eq ? eq + 1 : "", eq ? len - klen - 1 : 0, v) < 0) {
        snprintf(err, errlen, "%.64s: malformed percent-encoding", k);
        return CM_EPARSE;
    }
    *used += strlen(v) + 1;
    if (col_api_query_get(q, k)) {
        snprintf(err, errlen, "%.64s: given more than once", k);
        return CM_EPARSE;
    }
    q->key[q->n] = k;
    q->val[q->n++] = v;
    return 0;
}

int col_api_query_parse(const char *qs, struct col_api_query *q, char *err, size_t errlen)
{
    q->n = 0;
    size_t total = strlen(qs);
    if (total > COL_HTTP_MAX_URL - 2) {
        snprintf(err, errlen, "query: too long");
        return CM_EPARSE;
    }
    /* decoding never grows text; each pair adds at most two NULs */
    size_t used = 0;
    const char *p = qs;
    while (*p) {
        size_t len = strcspn(p, "&");
        if (len > 0) {
            int rc = col_api_query_add(q, p, len, &used, err, errlen);
            if (rc < 0)
                return rc;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

const char *col_api_query_get(const struct col_api_query *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->key[i], key) == 0)
            return q->val[i];
    return NULL;
}

int col_api_param_limit(const struct col_api_query *q, int64_t *limit, char *err, size_t errlen)
{
    const char *v = col_api_query_get(q, "limit");
    int64_t n = COL_API_LIMIT_DEFAULT;
    if (v && (cm_parse_i64(v, strlen(v), &n) < 0 || n < 1 || n > COL_API_LIMIT_MAX)) {
        snprintf(err, errlen, "limit: must be an integer from 1 to %d", COL_API_LIMIT_MAX);
        return CM_EPARSE;
    }
    *limit = n;
    return 0;
}

void col_api_cursor_format(int64_t key, char *out, size_t outlen)
{
    snprintf(out, outlen, "%c%016llx", COL_API_CURSOR_PREFIX, (unsigned long long)key);
}

int col_api_param_cursor(const struct col_api_query *q, int64_t *after, char *err,
                         size_t errlen)
{
    const char *v = col_api_query_get(q, "cursor");
    *after = 0;
    if (!v)
        return 0;
    uint64_t key = 0;
    bool ok = strlen(v) == 17 && v[0] == COL_API_CURSOR_PREFIX;
    for (size_t i = 1; ok && i < 17; i++) {
        int h = hexval(v[i]);
        ok = h >= 0 && !(v[i] >= 'A' && v[i] <= 'F');
        key = key << 4 | (uint64_t)(h < 0 ? 0 : h);
    }
    if (!ok || key > INT64_MAX) {
        snprintf(err, errlen, "cursor: not a cursor returned by this API");
        return CM_EPARSE;
    }
    *after = (int64_t)key;
    return 0;
}

static int col_api_param_time(const struct col_api_query *q, const char *name, int64_t *ns,
                              char *err, size_t errlen)
{
    const char *v = col_api_query_get(q, name);
    if (!v)
        return 0;
    if (cm_time_parse(v, ns) < 0) {
        snprintf(err, errlen, "%s: expected RFC 3339 time or seconds since the epoch", name);
        return CM_EPARSE;
    }
    return 0;
}

int col_api_param_window(const struct col_api_query *q, int64_t now_ns, int64_t *from,
                         int64_t *to, uint64_t *step_ms, char *err, size_t errlen)
{
    int64_t t = now_ns, f = 0;
    uint64_t step = 60000;
    if (col_api_param_time(q, "to", &t, err, errlen) < 0)
        return CM_EPARSE;
    f = t - 3600 * CM_NS_PER_SEC;
    if (col_api_param_time(q, "from", &f, err, errlen) < 0)
        return CM_EPARSE;
    if (f >= t) {
        snprintf(err, errlen, "from: must be before to");
        return CM_EPARSE;
    }
    const char *v = col_api_query_get(q, "step");
    if (v && (cm_parse_duration_ms(v, &step) < 0 || step < COL_API_STEP_MIN_MS ||
              step > (uint64_t)INT64_MAX / 1000000)) {
        snprintf(err, errlen, "step: expected a duration of at least 10s (e.g. 60s, 5m)");
        return CM_EPARSE;
    }
    uint64_t span_ms = ((uint64_t)t - (uint64_t)f) / 1000000; /* t > f: no overflow */
    if (span_ms / step >= COL_API_MAX_POINTS) {
        snprintf(err, errlen, "step: too small for the window (at most %d points per series)",
                 COL_API_MAX_POINTS);
        return CM_EPARSE;
    }
    *from = f;
    *to = t;
    *step_ms = step;
    return 0;
}

int col_api_page_params(struct col_api_req *req, struct col_api_query *q, int64_t *limit,
                        int64_t *after)
{
    char err[160];
    if (col_api_query_parse(req->http->query, q, err, sizeof err) < 0 ||
        col_api_param_limit(q, limit, err, sizeof err) < 0 ||
        col_api_param_cursor(q, after, err, sizeof err) < 0) {
        col_api_fail(req, 400, "bad_request", "%s", err);
        return CM_EPARSE;
    }
    return 0;
}
