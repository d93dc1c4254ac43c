/* container.c - GET /api/v1/containers/{id}: one container, its latest
 * inventory as the agent reported it, its open findings and the time of its
 * latest sample.
 *
 * {id} is the runtime's container id (exact match wins) or a prefix of at
 * least 12 characters: 404 when nothing matches, 409 when a prefix matches
 * more than one container. "inventory" is the stored document passed
 * through as PostgreSQL prints it (jsonb text is JSON), null for a
 * container only its cgroup told of. A gone container keeps its last
 * inventory, with gone_at set. */
#include "collector/api/api_int.h"

#include "common/alloc.h"
#include "proto/wire.h"

#include <stdio.h>
#include <string.h>

#define COL_API_ID_MIN 12

struct col_api_container_arg {
    char id[COL_API_PARAM_MAX + 1];
};

static const char col_api_container_sql[] =
    "SELECT c.id, c.container_id, coalesce(c.name, left(c.container_id, 12)), a.hostname, "
    "a.name, c.runtime, c.cgroup_path, " COL_API_SQL_US("c.first_seen") ", "
    COL_API_SQL_US("c.last_seen") ", i.state, i.image, i.doc::text, "
    COL_API_SQL_US("i.last_seen") ", " COL_API_SQL_US("i.gone_at") ", "
    COL_API_SQL_US("(SELECT s.ts FROM container_samples s WHERE s.container_ref = c.id "
                   "ORDER BY s.ts DESC LIMIT 1)") " "
    "FROM containers c JOIN agents a ON a.id = c.agent_id "
    "LEFT JOIN container_inventory i ON i.container_ref = c.id "
    "WHERE c.container_id = $1 OR (length($1) >= 12 AND starts_with(c.container_id, $1)) "
    "ORDER BY (c.container_id = $1) DESC, c.id LIMIT 2";

static const char col_api_container_findings_sql[] =
    COL_API_FINDING_SQL "WHERE f.container_ref = $1 AND f.status = 'open' ORDER BY f.id DESC";

int col_api_container_lookup(struct col_api_work *w, const char *sql, const char *id,
                             PGresult **out)
{
    const char *params[] = {id};
    PGresult *res = NULL;
    if (col_api_exec(w, sql, 1, params, &res) < 0)
        return -1;
    int n = PQntuples(res);
    /* An exact match wins over longer ids that merely start with it. */
    bool exact_first = n == 2 && strcmp(PQgetvalue(res, 0, 1), id) == 0 &&
                       strcmp(PQgetvalue(res, 1, 1), id) != 0;
    if (n == 1 || exact_first) {
        *out = res;
        return 0;
    }
    if (n == 0)
        col_api_resp_error(&w->resp, 404, "not_found", "no container with id %s", id);
    else
        col_api_resp_error(&w->resp, 409, "ambiguous",
                           "id: %s is the prefix of more than one container; give more of it", id);
    PQclear(res);
    return -1;
}

static cJSON *col_api_container_detail(const PGresult *c)
{
    cJSON *o = col_api_container_base(c, 0);
    col_api_add_str(o, "state", c, 0, 9);
    col_api_add_str(o, "image", c, 0, 10);
    col_api_add_ts(o, "inventory_seen", c, 0, 12);
    col_api_add_ts(o, "gone_at", c, 0, 13);
    col_api_add_ts(o, "last_sample", c, 0, 14);
    if (col_api_cell_is_null(c, 0, 11))
        cJSON_AddNullToObject(o, "inventory");
    else
        cJSON_AddItemToObject(o, "inventory", cJSON_CreateRaw(PQgetvalue(c, 0, 11)));
    return o;
}

static void col_api_container_run(struct col_api_work *w)
{
    PGresult *c = NULL, *f = NULL;
    const struct col_api_container_arg *a = w->arg;
    if (col_api_container_lookup(w, col_api_container_sql, a->id, &c) < 0)
        return;
    const char *params[] = {PQgetvalue(c, 0, 0)};
    if (col_api_exec(w, col_api_container_findings_sql, 1, params, &f) < 0) {
        PQclear(c);
        return;
    }
    cJSON *root = col_api_container_detail(c);
    cJSON *list = cJSON_AddArrayToObject(root, "findings");
    for (int r = 0; r < PQntuples(f); r++)
        cJSON_AddItemToArray(list, col_api_finding_json(f, r));
    PQclear(f);
    PQclear(c);
    col_api_resp_json(&w->resp, 200, root);
}

void col_api_container(struct col_api_req *req)
{
    if (cm_wire_check_container_id(req->param) < 0) {
        col_api_fail(req, 400, "bad_request",
                     "id: expected a container id or a prefix of at least %d characters "
                     "of [A-Za-z0-9_.:@-]",
                     COL_API_ID_MIN);
        return;
    }
    struct col_api_container_arg *a = cm_xcalloc(1, sizeof *a);
    snprintf(a->id, sizeof a->id, "%s", req->param);
    col_api_defer(req, col_api_container_run, a, false);
}
