/* checks.c - GET /api/v1/checks: the configuration check catalogue
 * (collector/checks.h) with how many open findings each check has, and the
 * small catalogue helpers the findings, container and posture routes share.
 *
 * The catalogue is compiled into the collector, so only the counts come
 * from the database (one GROUP BY over the open findings). */
#include "collector/api/api_int.h"

#include "collector/checks.h"

#include <string.h>

cJSON *col_api_check_ref(const char *id, const char *fallback)
{
    const struct col_check *c = col_checks_find(id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    if (!c) {
        cJSON_AddNullToObject(o, "title");
        cJSON_AddStringToObject(o, "severity", fallback);
        cJSON_AddNullToObject(o, "cis");
        return o;
    }
    cJSON_AddStringToObject(o, "title", c->title);
    cJSON_AddStringToObject(o, "severity", col_severity_name(c->severity));
    if (c->cis)
        cJSON_AddStringToObject(o, "cis", c->cis);
    else
        cJSON_AddNullToObject(o, "cis");
    return o;
}

int64_t col_api_count_of(const PGresult *res, int kcol, const char *key, int vcol)
{
    for (int r = 0; r < PQntuples(res); r++)
        if (!PQgetisnull(res, r, kcol) && strcmp(PQgetvalue(res, r, kcol), key) == 0)
            return col_api_cell_i64(res, r, vcol);
    return 0;
}

static void col_api_checks_run(struct col_api_work *w)
{
    PGresult *res = NULL;
    if (col_api_exec(w,
                     "SELECT check_id, count(*) FROM findings WHERE status = 'open' "
                     "GROUP BY check_id",
                     0, NULL, &res) < 0)
        return;
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, "checks");
    for (size_t i = 0; i < col_checks_count(); i++) {
        const struct col_check *c = col_checks_at(i);
        cJSON *o = col_api_check_ref(c->id, NULL);
        cJSON_AddStringToObject(o, "scope", c->scope == COL_SCOPE_HOST ? "host" : "container");
        cJSON_AddStringToObject(o, "rationale", c->rationale);
        cJSON_AddStringToObject(o, "remediation", c->remediation);
        cJSON_AddNumberToObject(o, "open_findings", (double)col_api_count_of(res, 0, c->id, 1));
        cJSON_AddItemToArray(list, o);
    }
    PQclear(res);
    col_api_resp_json(&w->resp, 200, root);
}

void col_api_checks(struct col_api_req *req)
{
    col_api_defer(req, col_api_checks_run, NULL, false);
}
