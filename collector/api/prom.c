/* prom.c - GET /metrics: the collector's own health in Prometheus text
 * format 0.0.4 (col_stats counters, plus per-agent series from the agents
 * table when PostgreSQL answers).
 *
 * Counters end in _total and their TYPE/HELP name is the sample name; each
 * family is written as one group; the body ends with a newline. Per-agent
 * series carry an agent="<name>" label (escaped per the exposition format);
 * a value the agent has not reported yet (no Heartbeat) is left out rather
 * than written as 0. The stats
 * are copied on the loop thread, the agents are read on a pool thread. */
#include "collector/api/api_int.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define COL_PROM_BODY_MAX (8u * 1024 * 1024)
#define COL_PROM_AGENTS_MAX "10000"

enum { COL_PROM_COUNTER, COL_PROM_GAUGE };

struct col_prom_scalar {
    const char *name;
    int type;
    const char *help;
};

/* order = col_prom_arg.v[] */
static const struct col_prom_scalar col_prom_scalars[] = {
    {"boxwatch_envelopes_received_total", COL_PROM_COUNTER, "Envelopes received from agents."},
    {"boxwatch_envelopes_stored_total", COL_PROM_COUNTER, "Envelopes committed to PostgreSQL."},
    {"boxwatch_envelopes_duplicate_total", COL_PROM_COUNTER,
     "Envelopes dropped as already stored (agent, seq)."},
    {"boxwatch_samples_stored_total", COL_PROM_COUNTER, "Container samples committed."},
    {"boxwatch_batches_committed_total", COL_PROM_COUNTER, "Database transactions committed."},
    {"boxwatch_db_errors_total", COL_PROM_COUNTER, "Database errors seen by the writer."},
    {"boxwatch_queue_envelopes", COL_PROM_GAUGE,
     "Envelopes waiting between the socket and the writer."},
    {"boxwatch_zap_accepted_total", COL_PROM_COUNTER, "CURVE handshakes of enrolled agents."},
    {"boxwatch_zap_denied_total", COL_PROM_COUNTER, "CURVE handshakes refused (unknown key)."},
    {"boxwatch_http_requests_total", COL_PROM_COUNTER, "HTTP requests to the API."},
    {"boxwatch_http_errors_total", COL_PROM_COUNTER, "HTTP responses with status 4xx or 5xx."},
    {"boxwatch_db_up", COL_PROM_GAUGE, "1 when the writer is connected to PostgreSQL."},
    {"boxwatch_uptime_seconds", COL_PROM_GAUGE, "Seconds since the API started."},
};
#define COL_PROM_NSCALARS (sizeof col_prom_scalars / sizeof col_prom_scalars[0])

struct col_prom_arg {
    unsigned long long v[COL_PROM_NSCALARS];
    unsigned long long rejected[CM_WIRE_REASON__COUNT];
    unsigned long long rejected_storage; /* by the writer */
};

/* per-agent families: column of the agents query, name, type, help */
struct col_prom_agent_family {
    int col;
    const char *name;
    int type;
    const char *help;
};

static const struct col_prom_agent_family col_prom_agent_families[] = {
    {1, "boxwatch_agent_online", COL_PROM_GAUGE, "1 when the agent was heard from recently."},
    {2, "boxwatch_agent_last_seen_timestamp_seconds", COL_PROM_GAUGE,
     "When the agent was last heard from (Unix time)."},
    {3, "boxwatch_agent_last_seq", COL_PROM_GAUGE, "Highest envelope seq stored."},
    {4, "boxwatch_agent_envelopes_stored_total", COL_PROM_COUNTER, "Envelopes stored."},
    {5, "boxwatch_agent_samples_stored_total", COL_PROM_COUNTER, "Samples stored."},
    {6, "boxwatch_agent_duplicates_dropped_total", COL_PROM_COUNTER, "Duplicates dropped."},
    {7, "boxwatch_agent_rejected_total", COL_PROM_COUNTER, "Envelopes rejected."},
    {8, "boxwatch_agent_spool_dropped_envelopes_total", COL_PROM_COUNTER,
     "Envelopes the agent dropped from a full spool."},
    {9, "boxwatch_agent_spool_dropped_samples_total", COL_PROM_COUNTER,
     "Samples the agent dropped from a full spool."},
    {10, "boxwatch_agent_envelopes_received_total", COL_PROM_COUNTER,
     "Envelopes received from the agent (stored, duplicate or rejected)."},
    {11, "boxwatch_agent_samples_reported_total", COL_PROM_COUNTER,
     "Samples the agent's spool took in, as of its latest heartbeat."},
    {12, "boxwatch_agent_samples_in_flight", COL_PROM_GAUGE,
     "Samples reported by the agent, neither dropped nor stored yet."},
    {13, "boxwatch_agent_spool_unacked_envelopes", COL_PROM_GAUGE,
     "Envelopes in the agent's spool waiting for an ack."},
    {14, "boxwatch_agent_spool_bytes", COL_PROM_GAUGE, "Bytes of the agent's spool on disk."},
};

static const char col_prom_agents_sql[] =
    "SELECT name, (coalesce(last_seen >= now() - make_interval(secs => $1::float8 / 1000), "
    "false))::int, coalesce(extract(epoch FROM last_seen)::bigint, 0), last_seq, "
    "envelopes_stored, samples_stored, duplicates_dropped, rejected, "
    "spool_dropped_envelopes, spool_dropped_samples, envelopes_received, "
    "CASE WHEN last_heartbeat IS NOT NULL THEN spool_samples_total END, "
    "CASE WHEN last_heartbeat IS NOT NULL THEN greatest(0, spool_samples_total - "
    "spool_dropped_samples - samples_stored) END, "
    "CASE WHEN last_heartbeat IS NOT NULL THEN spool_unacked END, "
    "CASE WHEN last_heartbeat IS NOT NULL THEN spool_bytes END "
    "FROM agents WHERE revoked_at IS NULL ORDER BY name LIMIT " COL_PROM_AGENTS_MAX;

static void col_prom_head(struct cm_buf *b, const char *name, int type, const char *help)
{
    cm_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                  type == COL_PROM_COUNTER ? "counter" : "gauge");
}

/* Label values: backslash, quote and newline escaped (exposition format). */
static void col_prom_label(struct cm_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            cm_buf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            cm_buf_append_str(b, "\\n");
        else
            cm_buf_append(b, v, 1);
    }
}

static void col_prom_agents(struct cm_buf *b, const PGresult *res)
{
    int n = PQntuples(res);
    size_t nf = sizeof col_prom_agent_families / sizeof col_prom_agent_families[0];
    for (size_t f = 0; f < nf && n > 0; f++) {
        const struct col_prom_agent_family *fam = &col_prom_agent_families[f];
        col_prom_head(b, fam->name, fam->type, fam->help);
        for (int r = 0; r < n; r++) {
            if (col_api_cell_is_null(res, r, fam->col)) continue;
            cm_buf_printf(b, "%s{agent=\"", fam->name);
            col_prom_label(b, PQgetvalue(res, r, 0));
            cm_buf_printf(b, "\"} %" PRId64 "\n", col_api_cell_i64(res, r, fam->col));
        }
    }
}

static void col_prom_run(struct col_api_work *w)
{
    const struct col_prom_arg *a = w->arg;
    struct cm_buf b;
    cm_buf_init(&b, COL_PROM_BODY_MAX);
    for (size_t i = 0; i < COL_PROM_NSCALARS; i++) {
        col_prom_head(&b, col_prom_scalars[i].name, col_prom_scalars[i].type,
                      col_prom_scalars[i].help);
        cm_buf_printf(&b, "%s %llu\n", col_prom_scalars[i].name, a->v[i]);
    }
    col_prom_head(&b, "boxwatch_envelopes_rejected_total", COL_PROM_COUNTER,
                  "Envelopes rejected, by reason.");
    for (int r = 1; r < CM_WIRE_REASON__COUNT; r++)
        cm_buf_printf(&b, "boxwatch_envelopes_rejected_total{reason=\"%s\"} %llu\n",
                      cm_wire_reason_name((enum cm_wire_reason)r), a->rejected[r]);
    cm_buf_printf(&b, "boxwatch_envelopes_rejected_total{reason=\"storage\"} %llu\n",
                  a->rejected_storage);
    char offline[24];
    snprintf(offline, sizeof offline, "%" PRIu64, w->api->cfg->agent_offline_after_ms);
    const char *params[] = {offline};
    PGresult *res = w->db ? PQexecParams(w->db, col_prom_agents_sql, 1, NULL, params, NULL,
                                         NULL, 0)
                          : NULL;
    bool ok = res && PQresultStatus(res) == PGRES_TUPLES_OK;
    col_prom_head(&b, "boxwatch_api_db_up", COL_PROM_GAUGE,
                  "1 when the API could query PostgreSQL for this scrape.");
    cm_buf_printf(&b, "boxwatch_api_db_up %d\n", ok ? 1 : 0);
    if (ok)
        col_prom_agents(&b, res);
    PQclear(res);
    w->resp.status = 200;
    w->resp.ctype = "text/plain; version=0.0.4; charset=utf-8";
    w->resp.len = b.len;
    w->resp.body = cm_buf_steal(&b, NULL);
}

void col_api_prom(struct col_api_req *req)
{
    const struct col_stats *s = req->api->stats;
    struct col_prom_arg *a = cm_xcalloc(1, sizeof *a);
    unsigned long long v[COL_PROM_NSCALARS] = {
        s->envelopes_received, s->envelopes_stored, s->envelopes_duplicate,
        s->samples_stored,     s->batches_committed, s->db_errors,
        s->queue_depth,        s->zap_accepted,      s->zap_denied,
        s->http_requests,      s->http_errors,       (unsigned long long)(s->db_up != 0),
        (unsigned long long)((cm_time_mono_ns() - req->api->started_mono_ns) / CM_NS_PER_SEC),
    };
    memcpy(a->v, v, sizeof v);
    for (int r = 0; r < CM_WIRE_REASON__COUNT; r++)
        a->rejected[r] = s->envelopes_rejected[r];
    a->rejected_storage = s->envelopes_rejected_storage;
    col_api_defer(req, col_prom_run, a, true);
}
