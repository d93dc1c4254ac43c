/* findings.c - GET /api/v1/findings?status=&severity=&check=&host=&container=
 * &limit=&cursor=: configuration findings, newest first.
 *
 * status: open (default), resolved or all. severity: one name is a minimum
 * ("high" = high and critical), a comma list is exactly those. check: a
 * catalogue id. host: agent name or hostname. container: the full id, a
 * prefix of at least 12 characters, or the name. Pages by findings.id
 * descending (keyset: the cursor is the last id shown, the next page starts
 * below it). Every filter is a parameter of one fixed statement. */
#include "collector/api/api_int.h"

#include "collector/checks.h"
#include "common/alloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define COL_API_SEV_LIST_MAX 64 /* "{info,low,medium,high,critical}" */

struct col_api_findings_arg {
    int64_t limit, before;
    char status[16];                    /* "" = all */
    char severities[COL_API_SEV_LIST_MAX]; /* text[] literal, "" = any */
    char check[COL_API_PARAM_MAX + 1];  /* "" = any */
    char host[COL_API_HOST_MAX + 1];
    char container[COL_API_HOST_MAX + 1];
};

static const char col_api_findings_sql[] =
    COL_API_FINDING_SQL
    "WHERE f.id < $1 AND ($3::text IS NULL OR f.status = $3) "
    "AND ($4::text[] IS NULL OR f.severity = ANY ($4::text[])) "
    "AND ($5::text IS NULL OR f.check_id = $5) "
    "AND ($6::text IS NULL OR a.name = $6 OR a.hostname = $6) "
    "AND ($7::text IS NULL OR c.container_id = $7 OR c.name = $7 "
    " OR (length($7) >= 12 AND starts_with(c.container_id, $7))) "
    "ORDER BY f.id DESC LIMIT $2";

cJSON *col_api_finding_json(const PGresult *res, int r)
{
    cJSON *f = cJSON_CreateObject();
    col_api_add_i64(f, "id", res, r, 0);
    cJSON_AddItemToObject(f, "check",
                          col_api_check_ref(PQgetvalue(res, r, 1), PQgetvalue(res, r, 2)));
    col_api_add_str(f, "severity", res, r, 2);
    col_api_add_str(f, "status", res, r, 3);
    col_api_add_str(f, "detail", res, r, 4);
    col_api_add_ts(f, "first_seen", res, r, 5);
    col_api_add_ts(f, "last_seen", res, r, 6);
    col_api_add_ts(f, "resolved_at", res, r, 7);
    col_api_add_str(f, "resolved_reason", res, r, 8);
    cJSON *h = cJSON_AddObjectToObject(f, "host");
    col_api_add_str(h, "agent", res, r, 9);
    col_api_add_str(h, "hostname", res, r, 10);
    if (col_api_cell_is_null(res, r, 11)) {
        cJSON_AddNullToObject(f, "container");
        return f;
    }
    cJSON *c = cJSON_AddObjectToObject(f, "container");
    col_api_add_str(c, "id", res, r, 11);
    col_api_add_str(c, "name", res, r, 12);
    col_api_add_str(c, "image", res, r, 13);
    return f;
}

static const char *col_api_opt(const char *s)
{
    return s[0] ? s : NULL;
}

static void col_api_findings_run(struct col_api_work *w)
{
    const struct col_api_findings_arg *a = w->arg;
    char before[24], limit[24];
    snprintf(before, sizeof before, "%" PRId64, a->before);
    snprintf(limit, sizeof limit, "%" PRId64, a->limit + 1);
    const char *params[] = {before,
                            limit,
                            col_api_opt(a->status),
                            col_api_opt(a->severities),
                            col_api_opt(a->check),
                            col_api_opt(a->host),
                            col_api_opt(a->container)};
    PGresult *res = NULL;
    if (col_api_exec(w, col_api_findings_sql, 7, params, &res) < 0)
        return;
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "findings");
    int n = col_api_add_next_cursor(root, res, a->limit, 0);
    for (int r = 0; r < n; r++)
        cJSON_AddItemToArray(list, col_api_finding_json(res, r));
    PQclear(res);
    col_api_resp_json(&w->resp, 200, root);
}

/* severity=high (minimum) or severity=low,high (exactly) -> "{high,critical}". */
int col_api_param_severity(const char *v, char *out, size_t outlen, char *err, size_t errlen)
{
    bool want[COL_SEV__COUNT] = {false};
    bool list = strchr(v, ',') != NULL;
    for (const char *p = v;;) {
        size_t len = strcspn(p, ",");
        char name[16];
        enum col_severity s;
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        if (len >= sizeof name || col_severity_parse(name, &s) < 0) {
            snprintf(err, errlen,
                     "severity: expected info, low, medium, high or critical (one = at least "
                     "that, a comma list = exactly those)");
            return -1;
        }
        for (int i = s; i < (list ? (int)s + 1 : COL_SEV__COUNT); i++)
            want[i] = true;
        if (!p[len])
            break;
        p += len + 1;
    }
    size_t o = (size_t)snprintf(out, outlen, "{");
    for (int i = 0; i < COL_SEV__COUNT; i++)
        if (want[i])
            o += (size_t)snprintf(out + o, outlen - o, "%s%s", o > 1 ? "," : "",
                                  col_severity_name((enum col_severity)i));
    snprintf(out + o, outlen - o, "}");
    return 0;
}

/* Fills a from the query; on error names the parameter in err. */
static int col_api_findings_params(const struct col_api_query *q, struct col_api_findings_arg *a,
                                   char *err, size_t errlen)
{
    const char *status = col_api_query_get(q, "status");
    const char *sev = col_api_query_get(q, "severity");
    const char *check = col_api_query_get(q, "check");
    const char *host = col_api_query_get(q, "host");
    const char *cont = col_api_query_get(q, "container");
    if (!status || strcmp(status, "open") == 0 || strcmp(status, "resolved") == 0)
        snprintf(a->status, sizeof a->status, "%s", status ? status : "open");
    else if (strcmp(status, "all") != 0) {
        snprintf(err, errlen, "status: expected open, resolved or all");
        return -1;
    }
    if (sev && col_api_param_severity(sev, a->severities, sizeof a->severities, err, errlen) < 0)
        return -1;
    if (check && !col_checks_find(check)) {
        snprintf(err, errlen, "check: not a check id (see /api/v1/checks)");
        return -1;
    }
    if ((host && !col_api_is_printable(host, COL_API_HOST_MAX)) ||
        (cont && !col_api_is_printable(cont, COL_API_HOST_MAX))) {
        snprintf(err, errlen, "%s: must be 1 to %d printable ASCII characters",
                 host && !col_api_is_printable(host, COL_API_HOST_MAX) ? "host" : "container",
                 COL_API_HOST_MAX);
        return -1;
    }
    snprintf(a->check, sizeof a->check, "%s", check ? check : "");
    snprintf(a->host, sizeof a->host, "%s", host ? host : "");
    snprintf(a->container, sizeof a->container, "%s", cont ? cont : "");
    return 0;
}

void col_api_findings(struct col_api_req *req)
{
    struct col_api_query q;
    struct col_api_findings_arg a = {0};
    char err[200];
    int64_t after;
    if (col_api_page_params(req, &q, &a.limit, &after) < 0)
        return;
    if (col_api_findings_params(&q, &a, err, sizeof err) < 0) {
        col_api_fail(req, 400, "bad_request", "%s", err);
        return;
    }
    a.before = after > 0 ? after : INT64_MAX;
    struct col_api_findings_arg *heap = cm_xmalloc(sizeof a);
    *heap = a;
    col_api_defer(req, col_api_findings_run, heap, false);
}
