/* agents.c - GET /api/v1/agents: enrolled agents, their host facts and
 * delivery counters, paged by agent id (keyset, no OFFSET).
 *
 * counters: what the collector saw (envelopes_received, _stored,
 * duplicates_dropped, rejected, samples_stored) and what the agent reported
 * in its latest Heartbeat (spool_dropped_*, samples_reported = samples its
 * spool ever took in). samples_in_flight = reported - dropped - stored,
 * floored at 0: samples the agent has that the collector has not stored yet
 * (null, like samples_reported, until the first Heartbeat). "spool" holds
 * the rest of that Heartbeat, or is null without one. */
#include "collector/api/api_int.h"

#include "common/alloc.h"

#include <inttypes.h>
#include <stdio.h>

struct col_api_agents_arg {
    int64_t limit;
    int64_t after;
    uint64_t offline_after_ms;
};

static const char col_api_agents_sql[] =
    "SELECT id, name, hostname, kernel, cgroup_mode, agent_version, "
    COL_API_SQL_US("enrolled_at") ", " COL_API_SQL_US("last_seen") ", "
    "coalesce(last_seen >= now() - make_interval(secs => $3::float8 / 1000), false), "
    "revoked_at IS NOT NULL, last_seq, envelopes_stored, samples_stored, "
    "duplicates_dropped, rejected, spool_dropped_envelopes, spool_dropped_samples, "
    "envelopes_received, "
    "CASE WHEN last_heartbeat IS NOT NULL THEN spool_samples_total END, "
    "CASE WHEN last_heartbeat IS NOT NULL THEN greatest(0, spool_samples_total - "
    "spool_dropped_samples - samples_stored) END, "
    COL_API_SQL_US("last_heartbeat") ", spool_envelopes_total, spool_unacked, spool_bytes, "
    "spool_floor_seq "
    "FROM agents WHERE id > $1 ORDER BY id LIMIT $2";

/* columns 11.. of the query, in order */
static const char *const col_api_agent_counters[] = {
    "envelopes_stored",        "samples_stored",        "duplicates_dropped",
    "rejected",                "spool_dropped_envelopes", "spool_dropped_samples",
    "envelopes_received",      "samples_reported",       "samples_in_flight",
};
#define COL_API_AGENT_NCOUNTERS (sizeof col_api_agent_counters / sizeof col_api_agent_counters[0])
#define COL_API_AGENT_HB_COL (11 + (int)COL_API_AGENT_NCOUNTERS) /* last_heartbeat */

static const char *const col_api_agent_spool[] = {"envelopes_total", "unacked", "bytes",
                                                  "floor_seq"};

static cJSON *col_api_agent_json(const PGresult *res, int r)
{
    cJSON *a = cJSON_CreateObject();
    col_api_add_str(a, "name", res, r, 1);
    col_api_add_str(a, "hostname", res, r, 2);
    col_api_add_str(a, "kernel", res, r, 3);
    col_api_add_str(a, "cgroup_mode", res, r, 4);
    col_api_add_str(a, "agent_version", res, r, 5);
    col_api_add_ts(a, "enrolled_at", res, r, 6);
    col_api_add_ts(a, "last_seen", res, r, 7);
    cJSON_AddBoolToObject(a, "online", PQgetvalue(res, r, 8)[0] == 't');
    cJSON_AddBoolToObject(a, "revoked", PQgetvalue(res, r, 9)[0] == 't');
    col_api_add_i64(a, "last_seq", res, r, 10);
    cJSON *c = cJSON_AddObjectToObject(a, "counters");
    for (int i = 0; i < (int)COL_API_AGENT_NCOUNTERS; i++)
        col_api_add_i64(c, col_api_agent_counters[i], res, r, 11 + i);
    if (col_api_cell_is_null(res, r, COL_API_AGENT_HB_COL)) {
        cJSON_AddNullToObject(a, "spool");
        return a;
    }
    cJSON *sp = cJSON_AddObjectToObject(a, "spool");
    col_api_add_ts(sp, "last_heartbeat", res, r, COL_API_AGENT_HB_COL);
    for (int i = 0; i < 4; i++)
        col_api_add_i64(sp, col_api_agent_spool[i], res, r, COL_API_AGENT_HB_COL + 1 + i);
    return a;
}

static void col_api_agents_run(struct col_api_work *w)
{
    const struct col_api_agents_arg *a = w->arg;
    char offline[24];
    snprintf(offline, sizeof offline, "%" PRIu64, a->offline_after_ms);
    struct col_api_page pg = {col_api_agents_sql, "agents", a->limit, a->after, offline,
                              col_api_agent_json};
    col_api_page_run(w, &pg);
}

void col_api_agents(struct col_api_req *req)
{
    struct col_api_query q;
    int64_t limit, after;
    if (col_api_page_params(req, &q, &limit, &after) < 0)
        return;
    struct col_api_agents_arg *a = cm_xcalloc(1, sizeof *a);
    a->limit = limit;
    a->after = after;
    a->offline_after_ms = req->api->cfg->agent_offline_after_ms;
    col_api_defer(req, col_api_agents_run, a, false);
}
