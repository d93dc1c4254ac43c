/* health.c - GET /api/v1/health: is the API up, does PostgreSQL answer, and
 * is the ingest writer connected.
 *
 * 200 {"status":"ok","database":"ok","writer":"ok",...} or 503
 * {"status":"degraded", ...} when the API's own round trip on a pooled
 * connection fails ("database":"unreachable","error":...) or when the
 * writer's connection is down ("writer":"reconnecting": nothing is being
 * stored or acked, the agents keep their data), even if the pool's query
 * worked. The writer's state is stats->db_up, read on the loop thread. */
#include "collector/api/api_int.h"

#include "common/alloc.h"
#include "common/timeutil.h"


struct col_api_health_arg {
    int64_t uptime_s;
    bool writer_up;
};

static void col_api_health_run(struct col_api_work *w)
{
    const struct col_api_health_arg *a = w->arg;
    PGresult *res = NULL;
    const char *why = w->dberr;
    if (w->db) {
        res = PQexec(w->db, "SELECT 1");
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            why = PQerrorMessage(w->db);
    }
    bool ok = w->db && PQresultStatus(res) == PGRES_TUPLES_OK;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "status", ok && a->writer_up ? "ok" : "degraded");
    cJSON_AddStringToObject(root, "database", ok ? "ok" : "unreachable");
    cJSON_AddStringToObject(root, "writer", a->writer_up ? "ok" : "reconnecting");
    if (!ok)
        cJSON_AddStringToObject(root, "error", why && *why ? why : "no answer");
    cJSON_AddStringToObject(root, "version", BOXWATCH_VERSION);
    cJSON_AddNumberToObject(root, "uptime_s", (double)a->uptime_s);
    PQclear(res);
    col_api_resp_json(&w->resp, ok && a->writer_up ? 200 : 503, root);
}

void col_api_health(struct col_api_req *req)
{
    struct col_api_health_arg *a = cm_xcalloc(1, sizeof *a);
    a->uptime_s = (cm_time_mono_ns() - req->api->started_mono_ns) / CM_NS_PER_SEC;
    a->writer_up = atomic_load(&req->api->stats->db_up) != 0;
    col_api_defer(req, col_api_health_run, a, true);
}
