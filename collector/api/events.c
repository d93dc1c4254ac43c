/* events.c - GET /api/v1/events?since=&until=&severity=&host=&container=&rule=
 * &limit=&cursor=: log events matched by the agents' rules, newest first;
 * and GET /api/v1/rules: the rule set in force and its version.
 *
 * since/until: RFC 3339 (or seconds since the epoch), since inclusive,
 * until exclusive, both optional. severity: one name is a minimum, a comma
 * list is exactly those. host: agent name or hostname. container: the full
 * id, a prefix of at least 12 characters, or the name. rule: a rule id.
 * Pages by (ts, id) descending: the cursor carries both of the last event
 * shown and the next page starts below it, so events stored meanwhile
 * never shift a page. Every filter is a parameter of one fixed statement;
 * since/until bound ts so that only the partitions of those days are read. */
#include "collector/api/api_int.h"

#include "collector/rulebook.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/rules.h"
#include "common/timeutil.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define COL_API_EV_CURSOR_LEN 33 /* 'e' + 16 hex digits of ts_us + 16 of id */

struct col_api_events_arg {
    int64_t limit;
    int64_t before_us, before_id; /* INT64_MAX = first page */
    char since[40], until[40];    /* RFC 3339, "" = open */
    char severities[64];          /* text[] literal, "" = any */
    char host[COL_API_HOST_MAX + 1];
    char container[COL_API_HOST_MAX + 1];
    char rule[CM_RULE_ID_MAX + 1];
};

static const char col_api_events_sql[] = "SELECT e.id, " COL_API_SQL_US(
    "e.ts") ", e.rule_id, e.rule_version, e.severity, e.message, "
            "e.fields::text, e.count, e.source_kind, e.source_path, e.stream, e.file_key, "
            "e.line_offset, "
            "a.name, a.hostname, c.container_id, coalesce(c.name, left(c.container_id, 12)) "
            "FROM events e JOIN agents a ON a.id = e.agent_id "
            "LEFT JOIN containers c ON c.id = e.container_ref "
            "WHERE (e.ts, e.id) < (CASE WHEN $1::bigint = 9223372036854775807 THEN 'infinity' "
            " ELSE 'epoch'::timestamptz + $1::bigint * interval '1 microsecond' END, $2::bigint) "
            "AND e.ts >= coalesce($4::timestamptz, '-infinity') "
            "AND e.ts < coalesce($5::timestamptz, 'infinity') "
            "AND ($6::text[] IS NULL OR e.severity = ANY ($6::text[])) "
            "AND ($7::text IS NULL OR a.name = $7 OR a.hostname = $7) "
            "AND ($8::text IS NULL OR c.container_id = $8 OR c.name = $8 "
            " OR (length($8) >= 12 AND starts_with(c.container_id, $8))) "
            "AND ($9::text IS NULL OR e.rule_id = $9) "
            "ORDER BY e.ts DESC, e.id DESC LIMIT $3";

static const char *col_api_opt(const char *s)
{
    return s[0] ? s : NULL;
}

static cJSON *col_api_event_json(const PGresult *res, int r)
{
    cJSON *e = cJSON_CreateObject();
    col_api_add_i64(e, "id", res, r, 0);
    col_api_add_ts(e, "ts", res, r, 1);
    cJSON *rule = cJSON_AddObjectToObject(e, "rule");
    col_api_add_str(rule, "id", res, r, 2);
    col_api_add_i64(rule, "version", res, r, 3);
    col_api_add_str(e, "severity", res, r, 4);
    col_api_add_str(e, "message", res, r, 5);
    cJSON *fields = cJSON_Parse(PQgetvalue(res, r, 6));
    cJSON_AddItemToObject(e, "fields", fields ? fields : cJSON_CreateObject());
    col_api_add_i64(e, "count", res, r, 7);
    cJSON *src = cJSON_AddObjectToObject(e, "source");
    col_api_add_str(src, "kind", res, r, 8);
    col_api_add_str(src, "path", res, r, 9);
    col_api_add_str(src, "stream", res, r, 10);
    col_api_add_str(src, "file_key", res, r, 11);
    col_api_add_i64(src, "offset", res, r, 12);
    cJSON *h = cJSON_AddObjectToObject(e, "host");
    col_api_add_str(h, "agent", res, r, 13);
    col_api_add_str(h, "hostname", res, r, 14);
    if (col_api_cell_is_null(res, r, 15)) {
        cJSON_AddNullToObject(e, "container");
        return e;
    }
    cJSON *c = cJSON_AddObjectToObject(e, "container");
    col_api_add_str(c, "id", res, r, 15);
    col_api_add_str(c, "name", res, r, 16);
    return e;
}

static void col_api_events_cursor(cJSON *root, const PGresult *res, int64_t limit)
{
    int n = PQntuples(res);
    if (n <= limit) {
        cJSON_AddNullToObject(root, "next_cursor");
        return;
    }
    char cur[COL_API_EV_CURSOR_LEN + 1];
    snprintf(cur, sizeof cur, "e%016" PRIx64 "%016" PRIx64,
             (uint64_t)col_api_cell_i64(res, (int)limit - 1, 1),
             (uint64_t)col_api_cell_i64(res, (int)limit - 1, 0));
    cJSON_AddStringToObject(root, "next_cursor", cur);
}

static void col_api_events_run(struct col_api_work *w)
{
    const struct col_api_events_arg *a = w->arg;
    char bus[24], bid[24], limit[24];
    snprintf(bus, sizeof bus, "%" PRId64, a->before_us);
    snprintf(bid, sizeof bid, "%" PRId64, a->before_id);
    snprintf(limit, sizeof limit, "%" PRId64, a->limit + 1);
    const char *params[] = {bus,
                            bid,
                            limit,
                            col_api_opt(a->since),
                            col_api_opt(a->until),
                            col_api_opt(a->severities),
                            col_api_opt(a->host),
                            col_api_opt(a->container),
                            col_api_opt(a->rule)};
    PGresult *res = NULL;
    if (col_api_exec(w, col_api_events_sql, 9, params, &res) < 0) return;
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "events");
    int n = PQntuples(res) < a->limit ? PQntuples(res) : (int)a->limit;
    for (int r = 0; r < n; r++)
        cJSON_AddItemToArray(list, col_api_event_json(res, r));
    col_api_events_cursor(root, res, a->limit);
    PQclear(res);
    col_api_resp_json(&w->resp, 200, root);
}

static int col_api_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* cursor=e<16 hex ts_us><16 hex id>, as col_api_events_cursor wrote it. */
static int col_api_events_param_cursor(const char *v, struct col_api_events_arg *a, char *err,
                                       size_t errlen)
{
    uint64_t key[2] = {0, 0};
    bool ok = strlen(v) == COL_API_EV_CURSOR_LEN && v[0] == 'e';
    for (size_t i = 1; ok && i < COL_API_EV_CURSOR_LEN; i++) {
        int h = col_api_hexval(v[i]);
        ok = h >= 0;
        key[(i - 1) / 16] = key[(i - 1) / 16] << 4 | (uint64_t)(h < 0 ? 0 : h);
    }
    if (!ok || key[0] >= INT64_MAX || key[1] > INT64_MAX) {
        snprintf(err, errlen, "cursor: not a cursor returned by this API");
        return CM_EPARSE;
    }
    a->before_us = (int64_t)key[0];
    a->before_id = (int64_t)key[1];
    return 0;
}

/* since/until as RFC 3339 text for the statement; until after since. */
static int col_api_events_param_times(const struct col_api_query *q, struct col_api_events_arg *a,
                                      char *err, size_t errlen)
{
    const char *names[2] = {"since", "until"};
    char *outs[2] = {a->since, a->until};
    int64_t ns[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        const char *v = col_api_query_get(q, names[i]);
        if (!v) continue;
        if (cm_time_parse(v, &ns[i]) < 0) {
            snprintf(err, errlen, "%s: expected an RFC 3339 time (or seconds since the epoch)",
                     names[i]);
            return CM_EPARSE;
        }
        cm_time_format_rfc3339(ns[i], outs[i], sizeof a->since);
    }
    if (a->since[0] && a->until[0] && ns[0] >= ns[1]) {
        snprintf(err, errlen, "until: must be after since");
        return CM_EPARSE;
    }
    return 0;
}

static bool col_api_is_rule_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CM_RULE_ID_MAX || !isalnum((unsigned char)s[0])) return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int col_api_events_params(const struct col_api_query *q, struct col_api_events_arg *a,
                                 char *err, size_t errlen)
{
    const char *sev = col_api_query_get(q, "severity");
    const char *host = col_api_query_get(q, "host");
    const char *cont = col_api_query_get(q, "container");
    const char *rule = col_api_query_get(q, "rule");
    const char *cur = col_api_query_get(q, "cursor");
    if (col_api_events_param_times(q, a, err, errlen) < 0) return CM_EPARSE;
    if (cur && col_api_events_param_cursor(cur, a, err, errlen) < 0) return CM_EPARSE;
    if (sev && col_api_param_severity(sev, a->severities, sizeof a->severities, err, errlen) < 0)
        return CM_EPARSE;
    const char *bad = host && !col_api_is_printable(host, COL_API_HOST_MAX)   ? "host"
                      : cont && !col_api_is_printable(cont, COL_API_HOST_MAX) ? "container"
                                                                              : NULL;
    if (bad) {
        snprintf(err, errlen, "%s: must be 1 to %d printable ASCII characters", bad,
                 COL_API_HOST_MAX);
        return CM_EPARSE;
    }
    if (rule && !col_api_is_rule_id(rule)) {
        snprintf(err, errlen, "rule: not a rule id (see /api/v1/rules)");
        return CM_EPARSE;
    }
    snprintf(a->host, sizeof a->host, "%s", host ? host : "");
    snprintf(a->container, sizeof a->container, "%s", cont ? cont : "");
    snprintf(a->rule, sizeof a->rule, "%s", rule ? rule : "");
    return 0;
}

void col_api_events(struct col_api_req *req)
{
    struct col_api_query q;
    struct col_api_events_arg a = {.before_us = INT64_MAX, .before_id = INT64_MAX};
    char err[200];
    if (col_api_query_parse(req->http->query, &q, err, sizeof err) < 0 ||
        col_api_param_limit(&q, &a.limit, err, sizeof err) < 0 ||
        col_api_events_params(&q, &a, err, sizeof err) < 0) {
        col_api_fail(req, 400, "bad_request", "%s", err);
        return;
    }
    struct col_api_events_arg *heap = cm_xmalloc(sizeof a);
    *heap = a;
    col_api_defer(req, col_api_events_run, heap, false);
}

void col_api_set_rules(struct col_api *api, struct col_rulebook *rules)
{
    api->rules = rules;
}

/* Answered on the loop thread: the set is in memory. */
void col_api_rules(struct col_api_req *req)
{
    struct col_rulebook *rb = req->api->rules;
    if (!rb) {
        col_api_fail(req, 503, "unavailable", "no rule set loaded");
        return;
    }
    const struct col_rules *r = col_rulebook_acquire(rb);
    cJSON *root = cm_rules_to_json(&r->policy);
    if (root) {
        cJSON_AddNumberToObject(root, "version", r->policy.version);
        cJSON_AddNumberToObject(root, "builtin_rules", (double)r->n_builtin);
    }
    col_rulebook_release(rb, r);
    if (!root) {
        col_api_fail(req, 500, "internal", "out of memory");
        return;
    }
    struct col_api_resp resp = {0};
    col_api_resp_json(&resp, 200, root);
    col_api_reply(req, &resp);
}
