/* containers.c - GET /api/v1/containers?limit=&cursor=&host=: containers
 * with their latest sample, paged by containers.id (keyset, no OFFSET).
 * The name comes from the runtime (the inventory fills it in; the first 12
 * characters of the id until then); image and state are the inventory's,
 * null for a container only its cgroup told of.
 *
 * "latest" reads the two newest samples of each container through the
 * (container_ref, ts) index (LATERAL ... ORDER BY ts DESC LIMIT 2): the newer
 * gives the gauges, the pair gives cpu_cores as a rate. A counter that went
 * down (container restart) gives no rate rather than a negative one. */
#include "collector/api/api_int.h"

#include "common/alloc.h"

#include <stdio.h>
#include <string.h>

bool col_api_is_printable(const char *s, size_t max)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return n > 0 && n <= max;
}

struct col_api_containers_arg {
    int64_t limit;
    int64_t after;
    bool has_host;
    char host[COL_API_HOST_MAX + 1];
};

static const char col_api_containers_sql[] =
    "SELECT c.id, c.container_id, coalesce(c.name, left(c.container_id, 12)), a.hostname, "
    "a.name, c.runtime, c.cgroup_path, " COL_API_SQL_US("c.first_seen") ", "
    COL_API_SQL_US("c.last_seen") ", " COL_API_SQL_US("l.ts") ", "
    "CASE WHEN l.cpu_usage_ns >= l.prev_cpu AND l.ts > l.prev_ts "
    "  THEN (l.cpu_usage_ns - l.prev_cpu)::float8 / 1e9 "
    "       / extract(epoch FROM l.ts - l.prev_ts)::float8 END, "
    "l.mem_usage_bytes, l.mem_working_set_bytes, l.mem_limit_bytes, l.pids_current, "
    "i.image, i.state "
    "FROM containers c JOIN agents a ON a.id = c.agent_id "
    "LEFT JOIN container_inventory i ON i.container_ref = c.id "
    "LEFT JOIN LATERAL ("
    "  SELECT x.*, lead(x.cpu_usage_ns) OVER (ORDER BY x.ts DESC) AS prev_cpu, "
    "         lead(x.ts) OVER (ORDER BY x.ts DESC) AS prev_ts "
    "  FROM (SELECT s.ts, s.cpu_usage_ns, s.mem_usage_bytes, s.mem_working_set_bytes, "
    "               s.mem_limit_bytes, s.pids_current "
    "        FROM container_samples s WHERE s.container_ref = c.id "
    "        ORDER BY s.ts DESC LIMIT 2) x "
    "  ORDER BY x.ts DESC LIMIT 1) l ON true "
    "WHERE c.id > $1 AND ($3::text IS NULL OR a.hostname = $3 OR a.name = $3) "
    "ORDER BY c.id LIMIT $2";

cJSON *col_api_container_base(const PGresult *res, int r)
{
    cJSON *c = cJSON_CreateObject();
    col_api_add_str(c, "id", res, r, 1);
    col_api_add_str(c, "name", res, r, 2);
    col_api_add_str(c, "host", res, r, 3);
    col_api_add_str(c, "agent", res, r, 4);
    col_api_add_str(c, "runtime", res, r, 5);
    col_api_add_str(c, "cgroup_path", res, r, 6);
    col_api_add_ts(c, "first_seen", res, r, 7);
    col_api_add_ts(c, "last_seen", res, r, 8);
    return c;
}

static cJSON *col_api_container_json(const PGresult *res, int r)
{
    cJSON *c = col_api_container_base(res, r);
    col_api_add_str(c, "image", res, r, 15);
    col_api_add_str(c, "state", res, r, 16);
    if (col_api_cell_is_null(res, r, 9)) {
        cJSON_AddNullToObject(c, "latest");
        return c;
    }
    cJSON *l = cJSON_AddObjectToObject(c, "latest");
    col_api_add_ts(l, "ts", res, r, 9);
    col_api_add_f64(l, "cpu_cores", res, r, 10);
    col_api_add_i64(l, "memory_bytes", res, r, 11);
    col_api_add_i64(l, "memory_working_set_bytes", res, r, 12);
    col_api_add_i64(l, "memory_limit_bytes", res, r, 13);
    col_api_add_i64(l, "pids", res, r, 14);
    return c;
}

static void col_api_containers_run(struct col_api_work *w)
{
    const struct col_api_containers_arg *a = w->arg;
    struct col_api_page pg = {col_api_containers_sql, "containers", a->limit, a->after,
                              a->has_host ? a->host : NULL, col_api_container_json};
    col_api_page_run(w, &pg);
}

void col_api_containers(struct col_api_req *req)
{
    struct col_api_query q;
    int64_t limit, after;
    if (col_api_page_params(req, &q, &limit, &after) < 0)
        return;
    const char *host = col_api_query_get(&q, "host");
    if (host && !col_api_is_printable(host, COL_API_HOST_MAX)) {
        col_api_fail(req, 400, "bad_request", "host: must be 1 to %d printable ASCII characters",
                     COL_API_HOST_MAX);
        return;
    }
    struct col_api_containers_arg *a = cm_xcalloc(1, sizeof *a);
    a->limit = limit;
    a->after = after;
    if (host) {
        a->has_host = true;
        snprintf(a->host, sizeof a->host, "%s", host);
    }
    col_api_defer(req, col_api_containers_run, a, false);
}
