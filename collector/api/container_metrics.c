/* container_metrics.c - GET /api/v1/containers/{id}/metrics?from=&to=&step=
 *
 * One container's series over a window, aggregated per step in SQL
 * (date_bin). Counters become per-second rates between consecutive samples
 * with lag(); a negative delta is a counter reset (restart) and is skipped,
 * not reported as a huge or negative rate. Rates and gauges are then averaged
 * per step. {id} is the runtime's container id (exact match, any length) or
 * a unique prefix of at least 12 characters. Only the database reads the samples: the loop thread never
 * sees more than the finished JSON. */
#include "collector/api/api_int.h"

#include "common/alloc.h"
#include "proto/wire.h"
#include "common/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define COL_API_ID_MIN 12

struct col_api_cm_arg {
    char id[COL_API_PARAM_MAX + 1];
    int64_t from_ns, to_ns;
    uint64_t step_ms;
};

static const char col_api_cm_resolve_sql[] =
    "SELECT c.id, c.container_id, coalesce(c.name, left(c.container_id, 12)), a.hostname, "
    "a.name, c.runtime, c.cgroup_path, " COL_API_SQL_US("c.first_seen") ", "
    COL_API_SQL_US("c.last_seen") " "
    "FROM containers c JOIN agents a ON a.id = c.agent_id "
    "WHERE c.container_id = $1 OR (length($1) >= 12 AND starts_with(c.container_id, $1)) "
    "ORDER BY (c.container_id = $1) DESC, c.id LIMIT 2";

/* rate of counter column c with previous value p_c, per second */
#define RATE(c) \
    "avg(CASE WHEN " c " >= p_" c " AND ts > p_ts THEN (" c " - p_" c ")::float8 " \
    "/ extract(epoch FROM ts - p_ts)::float8 END)"
#define LAG(c) "lag(" c ") OVER w AS p_" c

/* $1 container ref, $2 from (us), $3 to (us), $4 step (s). The window reads
 * a little before `from` so the first step has a previous sample. */
static const char col_api_cm_series_sql[] =
    "WITH raw AS ("
    " SELECT ts, cpu_usage_ns, mem_usage_bytes, mem_working_set_bytes, net_rx_bytes, "
    "  net_tx_bytes, blk_read_bytes, blk_write_bytes, pids_current, lag(ts) OVER w AS p_ts, "
    "  " LAG("cpu_usage_ns") ", " LAG("net_rx_bytes") ", " LAG("net_tx_bytes") ", "
    "  " LAG("blk_read_bytes") ", " LAG("blk_write_bytes") " "
    " FROM container_samples WHERE container_ref = $1"
    "  AND ts >= to_timestamp($2::float8 / 1e6) - make_interval(secs => greatest($4::float8, 300))"
    "  AND ts < to_timestamp($3::float8 / 1e6)"
    " WINDOW w AS (ORDER BY ts))"
    "SELECT " COL_API_SQL_US("date_bin(make_interval(secs => $4::float8), ts, to_timestamp(0))")
    ", " RATE("cpu_usage_ns") " / 1e9, avg(mem_usage_bytes)::float8, "
    "avg(mem_working_set_bytes)::float8, " RATE("net_rx_bytes") ", " RATE("net_tx_bytes") ", "
    RATE("blk_read_bytes") ", " RATE("blk_write_bytes") ", avg(pids_current)::float8 "
    "FROM raw WHERE ts >= to_timestamp($2::float8 / 1e6) GROUP BY 1 ORDER BY 1";

static const char *const col_api_cm_series[] = {
    "cpu_cores",           "memory_bytes",         "memory_working_set_bytes",
    "net_rx_bytes_per_s",  "net_tx_bytes_per_s",   "blk_read_bytes_per_s",
    "blk_write_bytes_per_s", "pids",
};
#define COL_API_CM_NSERIES (sizeof col_api_cm_series / sizeof col_api_cm_series[0])


/* Row by row, so each step's timestamp is formatted once for all series
 * (formatting it per series was a third of the request's CPU). */
static cJSON *col_api_cm_series_json(const PGresult *res)
{
    cJSON *series = cJSON_CreateObject();
    cJSON *pts[COL_API_CM_NSERIES];
    for (size_t s = 0; s < COL_API_CM_NSERIES; s++)
        pts[s] = cJSON_AddArrayToObject(series, col_api_cm_series[s]);
    int n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        char ts[40];
        int64_t us = col_api_cell_i64(res, r, 0);
        if (col_api_cell_is_null(res, r, 0) || us > INT64_MAX / 1000 || us < INT64_MIN / 1000 ||
            cm_time_format_rfc3339(us * 1000, ts, sizeof ts) < 0)
            continue;
        for (size_t s = 0; s < COL_API_CM_NSERIES; s++) {
            if (col_api_cell_is_null(res, r, (int)s + 1))
                continue;
            cJSON *pt = cJSON_CreateArray();
            cJSON_AddItemToArray(pt, cJSON_CreateString(ts));
            cJSON_AddItemToArray(pt, col_api_cell_f64(res, r, (int)s + 1));
            cJSON_AddItemToArray(pts[s], pt);
        }
    }
    return series;
}

static void col_api_cm_run(struct col_api_work *w)
{
    const struct col_api_cm_arg *a = w->arg;
    PGresult *c = NULL, *res = NULL;
    if (col_api_container_lookup(w, col_api_cm_resolve_sql, a->id, &c) < 0)
        return;
    char ref[24], from[24], to[24], step[32];
    snprintf(ref, sizeof ref, "%s", PQgetvalue(c, 0, 0));
    snprintf(from, sizeof from, "%" PRId64, a->from_ns / 1000);
    snprintf(to, sizeof to, "%" PRId64, a->to_ns / 1000);
    snprintf(step, sizeof step, "%" PRIu64 ".%03" PRIu64, a->step_ms / 1000, a->step_ms % 1000);
    const char *params[] = {ref, from, to, step};
    if (col_api_exec(w, col_api_cm_series_sql, 4, params, &res) < 0) {
        PQclear(c);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "container", col_api_container_base(c, 0));
    cJSON_AddItemToObject(root, "from", col_api_ts_json(a->from_ns));
    cJSON_AddItemToObject(root, "to", col_api_ts_json(a->to_ns));
    cJSON_AddNumberToObject(root, "step_s", (double)a->step_ms / 1000.0);
    cJSON_AddItemToObject(root, "series", col_api_cm_series_json(res));
    PQclear(res);
    PQclear(c);
    col_api_resp_json(&w->resp, 200, root);
}

void col_api_container_metrics(struct col_api_req *req)
{
    struct col_api_query q;
    char err[160];
    struct col_api_cm_arg a = {0};
    if (cm_wire_check_container_id(req->param) < 0) {
        col_api_fail(req, 400, "bad_request",
                     "id: expected a container id or a prefix of at least %d characters "
                     "of [A-Za-z0-9_.:@-]", COL_API_ID_MIN);
        return;
    }
    if (col_api_query_parse(req->http->query, &q, err, sizeof err) < 0 ||
        col_api_param_window(&q, cm_time_now_ns(), &a.from_ns, &a.to_ns, &a.step_ms, err,
                             sizeof err) < 0) {
        col_api_fail(req, 400, "bad_request", "%s", err);
        return;
    }
    snprintf(a.id, sizeof a.id, "%s", req->param);
    struct col_api_cm_arg *heap = cm_xmalloc(sizeof a);
    *heap = a;
    col_api_defer(req, col_api_cm_run, heap, false);
}
