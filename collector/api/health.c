/* health.c - GET /api/v1/health: is the API up and does PostgreSQL answer.
 *
 * 200 {"status":"ok","database":"ok",...} or 503 {"status":"degraded",
 * "database":"unreachable","error":...}. The check is one round trip on a
 * pooled connection; it says nothing about the ingest side (see /metrics). */
#include "collector/api/api_int.h"

#include "common/alloc.h"
#include "common/timeutil.h"


struct col_api_health_arg {
    int64_t uptime_s;
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
    cJSON_AddStringToObject(root, "status", ok ? "ok" : "degraded");
    cJSON_AddStringToObject(root, "database", ok ? "ok" : "unreachable");
    if (!ok)
        cJSON_AddStringToObject(root, "error", why && *why ? why : "no answer");
    cJSON_AddStringToObject(root, "version", BOXWATCH_VERSION);
    cJSON_AddNumberToObject(root, "uptime_s", (double)a->uptime_s);
    PQclear(res);
    col_api_resp_json(&w->resp, ok ? 200 : 503, root);
}

void col_api_health(struct col_api_req *req)
{
    struct col_api_health_arg *a = cm_xcalloc(1, sizeof *a);
    a->uptime_s = (cm_time_mono_ns() - req->api->started_mono_ns) / CM_NS_PER_SEC;
    col_api_defer(req, col_api_health_run, a, true);
}
