/* posture.c - GET /api/v1/posture: the fleet's configuration posture.
 *
 * totals: containers audited (current inventory in a state the checks
 * apply to), how many of them have an open finding, open findings by
 * severity; per check (catalogue order): how many containers and hosts fail
 * it now; per host (agent name order; only agents that sent an inventory or
 * have findings): containers audited, failing, open findings by severity.
 * Two GROUP BY statements; the totals are sums of the per-host rows (a
 * container belongs to one agent). Not paged: one row per check and host. */
#include "collector/api/api_int.h"

#include "collector/checks.h"

#include <stdio.h>
#include <string.h>

_Static_assert(COL_SEV__COUNT == 5, "the posture SQL counts five severities");

/* $1: the audited states. Columns 3..7: open findings per severity, in
 * enum col_severity order. */
static const char col_api_posture_hosts_sql[] =
    "WITH inv AS (SELECT agent_id, count(*) AS n FROM container_inventory "
    "  WHERE gone_at IS NULL AND state = ANY ($1::text[]) GROUP BY agent_id), "
    "f AS (SELECT agent_id, count(DISTINCT container_ref) AS failing, "
    "  count(*) FILTER (WHERE severity = 'info') AS s0, "
    "  count(*) FILTER (WHERE severity = 'low') AS s1, "
    "  count(*) FILTER (WHERE severity = 'medium') AS s2, "
    "  count(*) FILTER (WHERE severity = 'high') AS s3, "
    "  count(*) FILTER (WHERE severity = 'critical') AS s4 "
    "  FROM findings WHERE status = 'open' GROUP BY agent_id) "
    "SELECT a.name, a.hostname, coalesce(inv.n, 0), coalesce(f.failing, 0), "
    "coalesce(f.s0, 0), coalesce(f.s1, 0), coalesce(f.s2, 0), coalesce(f.s3, 0), "
    "coalesce(f.s4, 0) "
    "FROM agents a LEFT JOIN inv ON inv.agent_id = a.id LEFT JOIN f ON f.agent_id = a.id "
    "WHERE inv.agent_id IS NOT NULL OR f.agent_id IS NOT NULL ORDER BY a.name";

static const char col_api_posture_checks_sql[] =
    "SELECT check_id, count(DISTINCT container_ref), count(DISTINCT agent_id) "
    "FROM findings WHERE status = 'open' GROUP BY check_id";

/* "{running,paused,...}": the states col_checks_applies_to_state audits. */
static void col_api_audited_states(char *out, size_t outlen)
{
    size_t o = (size_t)snprintf(out, outlen, "{");
    for (int s = 0; s < CM_INV_STATE__COUNT && o < outlen; s++)
        if (col_checks_applies_to_state((enum cm_inv_state)s))
            o += (size_t)snprintf(out + o, outlen - o, "%s%s", o > 1 ? "," : "",
                                  cm_inv_state_name((enum cm_inv_state)s));
    if (o < outlen)
        snprintf(out + o, outlen - o, "}");
}

struct col_api_posture_sum {
    int64_t audited, failing, hosts;
    int64_t sev[COL_SEV__COUNT];
};

static cJSON *col_api_by_severity(const int64_t *n)
{
    cJSON *o = cJSON_CreateObject();
    for (int s = COL_SEV__COUNT - 1; s >= 0; s--)
        cJSON_AddNumberToObject(o, col_severity_name((enum col_severity)s), (double)n[s]);
    return o;
}

static cJSON *col_api_posture_hosts(const PGresult *res, struct col_api_posture_sum *sum)
{
    cJSON *list = cJSON_CreateArray();
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t sev[COL_SEV__COUNT];
        cJSON *h = cJSON_CreateObject();
        col_api_add_str(h, "agent", res, r, 0);
        col_api_add_str(h, "hostname", res, r, 1);
        col_api_add_i64(h, "containers", res, r, 2);
        col_api_add_i64(h, "failing_containers", res, r, 3);
        for (int s = 0; s < COL_SEV__COUNT; s++)
            sum->sev[s] += sev[s] = col_api_cell_i64(res, r, 4 + s);
        cJSON_AddItemToObject(h, "open_findings", col_api_by_severity(sev));
        sum->audited += col_api_cell_i64(res, r, 2);
        sum->failing += col_api_cell_i64(res, r, 3);
        sum->hosts++;
        cJSON_AddItemToArray(list, h);
    }
    return list;
}

static cJSON *col_api_posture_checks(const PGresult *res)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; i < col_checks_count(); i++) {
        const struct col_check *c = col_checks_at(i);
        cJSON *o = col_api_check_ref(c->id, NULL);
        cJSON_AddStringToObject(o, "scope", c->scope == COL_SCOPE_HOST ? "host" : "container");
        cJSON_AddNumberToObject(o, "failing_containers",
                                (double)col_api_count_of(res, 0, c->id, 1));
        cJSON_AddNumberToObject(o, "failing_hosts", (double)col_api_count_of(res, 0, c->id, 2));
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

static void col_api_posture_run(struct col_api_work *w)
{
    char states[128];
    PGresult *hosts = NULL, *checks = NULL;
    struct col_api_posture_sum sum = {0};
    col_api_audited_states(states, sizeof states);
    const char *params[] = {states};
    if (col_api_exec(w, col_api_posture_hosts_sql, 1, params, &hosts) < 0)
        return;
    if (col_api_exec(w, col_api_posture_checks_sql, 0, NULL, &checks) < 0) {
        PQclear(hosts);
        return;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *totals = cJSON_AddObjectToObject(root, "totals");
    cJSON *host_list = col_api_posture_hosts(hosts, &sum);
    int64_t open = 0;
    for (int s = 0; s < COL_SEV__COUNT; s++)
        open += sum.sev[s];
    cJSON_AddNumberToObject(totals, "hosts", (double)sum.hosts);
    cJSON_AddNumberToObject(totals, "containers_audited", (double)sum.audited);
    cJSON_AddNumberToObject(totals, "containers_failing", (double)sum.failing);
    cJSON_AddNumberToObject(totals, "open_findings_total", (double)open);
    cJSON_AddItemToObject(totals, "open_findings", col_api_by_severity(sum.sev));
    cJSON_AddItemToObject(root, "checks", col_api_posture_checks(checks));
    cJSON_AddItemToObject(root, "hosts", host_list);
    PQclear(checks);
    PQclear(hosts);
    col_api_resp_json(&w->resp, 200, root);
}

void col_api_posture(struct col_api_req *req)
{
    col_api_defer(req, col_api_posture_run, NULL, false);
}
