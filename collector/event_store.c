/* event_store.c - events, source stats and policy acks in SQL (see event_store.h).
 *
 * A batch is sent as one jsonb parameter and unpacked by
 * jsonb_to_recordset: one statement for all events (claim the keys, make
 * sure the containers rows exist, insert what was claimed) and one for the
 * stats, with every string escaped by cJSON instead of by hand. Offsets and
 * counters travel as JSON strings so that 64-bit values keep every digit
 * (a JSON number is a double). */
#include "collector/event_store.h"

#include "collector/db.h"
#include "common/err.h"
#include "common/timeutil.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The containers rows of the u rows' container ids ($1 = agent id). A
 * container first seen in a log gets runtime "unknown"; the next metrics
 * of it set the real one. */
#define COL_EVENT_CONTAINERS_CTE                                                                   \
    "c AS (INSERT INTO containers AS x (agent_id, container_id, runtime, first_seen, last_seen) "  \
    " SELECT $1, cid, 'unknown', min(ts), max(ts) FROM u WHERE cid IS NOT NULL GROUP BY cid "      \
    " ON CONFLICT (agent_id, container_id) DO UPDATE SET "                                         \
    " first_seen = least(x.first_seen, EXCLUDED.first_seen), "                                     \
    " last_seen = greatest(x.last_seen, EXCLUDED.last_seen) RETURNING id, container_id) "

/* ssh.login_new_address, derived here rather than matched at the edge: it
 * needs every earlier login of the user on that host, which only the
 * collector keeps (login_sources). A newly stored ssh.accepted_login (its
 * key claimed in k, so a resent line does not count) whose (user, address)
 * is new adds a second event on the same line, when the user had logged
 * in from another address before; a user's very first login has nothing to
 * compare with and is not flagged. CTEs see the tables as they were before
 * the statement, so "before" is before this batch. */
#define COL_EVENT_NEW_ADDRESS_CTES                                                                 \
    "acc AS (SELECT u.* FROM u JOIN k ON k.file_key = u.fk AND k.line_offset = u.off "            \
    " AND k.rule_id = u.rule WHERE u.rule = 'ssh.accepted_login' "                                  \
    " AND u.fields->>'user' IS NOT NULL AND u.fields->>'src_ip' IS NOT NULL), "                     \
    "seen AS (INSERT INTO login_sources (agent_id, user_name, src_ip, first_seen) "                 \
    " SELECT DISTINCT ON (fields->>'user', fields->>'src_ip') $1, fields->>'user', "                \
    " fields->>'src_ip', ts FROM acc ORDER BY fields->>'user', fields->>'src_ip', off "            \
    " ON CONFLICT DO NOTHING RETURNING user_name, src_ip), "                                         \
    "newaddr AS (INSERT INTO events (ts, agent_id, container_ref, source_kind, source_path, "       \
    " stream, rule_id, rule_version, severity, message, fields, count, file_key, line_offset) "     \
    " SELECT DISTINCT ON (s.user_name, s.src_ip) a.ts, $1, c.id, a.kind, a.path, a.stream, "       \
    " 'ssh.login_new_address', a.ver, 'medium', a.msg, coalesce(a.fields, '{}'::jsonb), NULL, "     \
    " a.fk, a.off FROM seen s JOIN acc a ON a.fields->>'user' = s.user_name "                        \
    " AND a.fields->>'src_ip' = s.src_ip LEFT JOIN c ON c.container_id = a.cid "                    \
    " WHERE EXISTS (SELECT 1 FROM login_sources l WHERE l.agent_id = $1 "                           \
    " AND l.user_name = s.user_name AND l.src_ip <> s.src_ip) "                                      \
    " ORDER BY s.user_name, s.src_ip, a.off RETURNING 1)"

static const char col_events_sql[] =
    "WITH u AS (SELECT DISTINCT ON (fk, off, rule) * FROM jsonb_to_recordset($2::jsonb) AS "
    " u(ts timestamptz, cid text, kind text, path text, stream text, rule text, ver bigint, "
    " sev text, msg text, fields jsonb, cnt integer, fk text, off "
    "bigint)), " COL_EVENT_CONTAINERS_CTE
    ", k AS (INSERT INTO event_keys (agent_id, file_key, line_offset, rule_id) "
    " SELECT $1, fk, off, rule FROM u ON CONFLICT DO NOTHING "
    " RETURNING file_key, line_offset, rule_id), "
    "ins AS (INSERT INTO events (ts, agent_id, container_ref, source_kind, source_path, stream, "
    "rule_id, "
    " rule_version, severity, message, fields, count, file_key, line_offset) "
    "SELECT u.ts, $1, c.id, u.kind, u.path, u.stream, u.rule, u.ver, u.sev, u.msg, "
    " coalesce(u.fields, '{}'::jsonb), u.cnt, u.fk, u.off FROM u "
    "JOIN k ON k.file_key = u.fk AND k.line_offset = u.off AND k.rule_id = u.rule "
    "LEFT JOIN c ON c.container_id = u.cid RETURNING 1), " COL_EVENT_NEW_ADDRESS_CTES
    " SELECT count(*) FROM ins";

static const char col_stats_sql[] =
    "WITH u AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS "
    " u(ts timestamptz, cid text, kind text, path text, fk text, lines bigint, bytes bigint, "
    " trunc bigint, inval bigint, secs double precision)), " COL_EVENT_CONTAINERS_CTE
    ", ins AS (INSERT INTO log_source_stats (ts, agent_id, container_ref, source_kind, path, "
    "file_key, "
    " lines, bytes, lines_truncated, lines_invalid, interval_seconds) "
    "SELECT u.ts, $1, c.id, u.kind, u.path, u.fk, u.lines, u.bytes, u.trunc, u.inval, u.secs "
    "FROM u LEFT JOIN c ON c.container_id = u.cid RETURNING 1) SELECT count(*) FROM ins";

int64_t col_event_store_ts(const struct col_event_store *s, int64_t ts_ns)
{
    if (ts_ns < s->now_ns - s->max_age_ns || ts_ns > s->now_ns + s->max_skew_ns) return s->now_ns;
    return ts_ns;
}

static void col_json_u64(cJSON *o, const char *key, uint64_t v)
{
    char text[24];
    snprintf(text, sizeof text, "%" PRIu64, v > INT64_MAX ? (uint64_t)INT64_MAX : v);
    cJSON_AddStringToObject(o, key, text);
}

static void col_json_opt(cJSON *o, const char *key, const char *v)
{
    if (v && v[0])
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* The columns both tables share: ts, container, source. */
static cJSON *col_json_source_row(const struct col_event_store *s, int64_t ts,
                                  const struct cm_log_source *src)
{
    char t[40];
    cJSON *o = cJSON_CreateObject();
    cm_time_format_rfc3339(col_event_store_ts(s, ts), t, sizeof t);
    cJSON_AddStringToObject(o, "ts", t);
    col_json_opt(o, "cid", src->container_id);
    cJSON_AddStringToObject(o, "kind", cm_log_source_kind_name(src->kind));
    cJSON_AddStringToObject(o, "path", src->path ? src->path : "");
    cJSON_AddStringToObject(o, "fk", src->file_key);
    return o;
}

static cJSON *col_json_event(const struct col_event_store *s, const struct col_rules *rules,
                             const struct cm_log_event *e)
{
    const struct cm_rule *r = col_rules_find(rules, e->rule_id);
    cJSON *o = col_json_source_row(s, e->ts_ns, &e->source);
    col_json_opt(o, "stream", e->source.stream);
    cJSON_AddStringToObject(o, "rule", e->rule_id);
    cJSON_AddNumberToObject(o, "ver", e->rule_version);
    cJSON_AddStringToObject(o, "sev", r ? r->severity : "unknown");
    cJSON_AddStringToObject(o, "msg", e->message ? e->message : "");
    cJSON *f = cJSON_AddObjectToObject(o, "fields");
    for (size_t i = 0; i < e->n_fields; i++) {
        if (!e->fields[i].key || cJSON_GetObjectItemCaseSensitive(f, e->fields[i].key)) continue;
        col_json_opt(f, e->fields[i].key, e->fields[i].value ? e->fields[i].value : "");
    }
    if (e->count)
        cJSON_AddNumberToObject(o, "cnt", e->count);
    else
        cJSON_AddNullToObject(o, "cnt");
    col_json_u64(o, "off", e->offset);
    return o;
}

static cJSON *col_json_stats(const struct col_event_store *s, const struct cm_log_stats *st)
{
    cJSON *o = col_json_source_row(s, st->end_ns, &st->source);
    int64_t span = st->end_ns > st->start_ns ? st->end_ns - st->start_ns : 0;
    col_json_u64(o, "lines", st->lines);
    col_json_u64(o, "bytes", st->bytes);
    col_json_u64(o, "trunc", st->lines_truncated);
    col_json_u64(o, "inval", st->lines_invalid);
    cJSON_AddNumberToObject(o, "secs", (double)span / (double)CM_NS_PER_SEC);
    return o;
}

/* Runs sql with $1 = agent id, $2 = the rows; *affected = rows inserted
 * (the statement's one count). */
static int col_event_store_run(struct col_event_store *s, const char *sql, int64_t agent_id,
                               cJSON *rows, size_t *affected, char *err, size_t errlen)
{
    char id[24];
    PGresult *res = NULL;
    char *json = cJSON_PrintUnformatted(rows);
    if (!json) {
        snprintf(err, errlen, "events: out of memory");
        return -ENOMEM;
    }
    snprintf(id, sizeof id, "%" PRId64, agent_id);
    const char *const p[] = {id, json};
    int rc =
        col_db_statement(s->conn, sql, 2, p, NULL, NULL, &res, s->sqlstate, "events", err, errlen);
    if (rc == 0) *affected = PQntuples(res) == 1 ? strtoull(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    cJSON_free(json);
    return rc;
}

int col_event_store_batch(struct col_event_store *s, int64_t agent_id,
                          const struct cm_event_batch *b, struct col_event_counts *n, char *err,
                          size_t errlen)
{
    int rc = 0;
    size_t stored = 0, stats = 0;
    if (b->n_events > 0) {
        const struct col_rules *rules = s->rules ? col_rulebook_acquire(s->rules) : NULL;
        cJSON *rows = cJSON_CreateArray();
        for (size_t i = 0; i < b->n_events; i++)
            cJSON_AddItemToArray(rows, col_json_event(s, rules, &b->events[i]));
        if (s->rules) col_rulebook_release(s->rules, rules);
        rc = col_event_store_run(s, col_events_sql, agent_id, rows, &stored, err, errlen);
        cJSON_Delete(rows);
    }
    if (rc == 0 && b->n_stats > 0) {
        cJSON *rows = cJSON_CreateArray();
        for (size_t i = 0; i < b->n_stats; i++)
            cJSON_AddItemToArray(rows, col_json_stats(s, &b->stats[i]));
        rc = col_event_store_run(s, col_stats_sql, agent_id, rows, &stats, err, errlen);
        cJSON_Delete(rows);
    }
    if (rc == 0 && n) {
        n->stored += stored;
        n->duplicates += b->n_events - stored;
        n->stats += stats;
    }
    return rc;
}

int col_event_store_policy_ack(struct col_event_store *s, int64_t agent_id, uint64_t seq,
                               const struct cm_policy_ack *ack, char *err, size_t errlen)
{
    char id[24], sq[24], ver[24], compiled[24];
    snprintf(id, sizeof id, "%" PRId64, agent_id);
    snprintf(sq, sizeof sq, "%" PRIu64, seq > INT64_MAX ? (uint64_t)INT64_MAX : seq);
    snprintf(ver, sizeof ver, "%" PRIu32, ack->version);
    snprintf(compiled, sizeof compiled, "%" PRIu32, ack->rules_compiled);
    const char *const p[] = {id, sq, ver, ack->accepted ? "true" : "false", ack->error, compiled};
    return col_db_statement(s->conn,
                            "UPDATE agents SET policy_ack_seq = $2, policy_version = $3, "
                            "policy_accepted = $4, policy_error = nullif($5, ''), "
                            "policy_rules_compiled = $6, policy_acked_at = now() "
                            "WHERE id = $1 AND policy_ack_seq < $2",
                            6, p, NULL, NULL, NULL, s->sqlstate, "policy ack", err, errlen);
}

int col_event_store_prune(PGconn *conn, int64_t keep_s, char *err, size_t errlen)
{
    char keep[24];
    snprintf(keep, sizeof keep, "%" PRId64, keep_s);
    const char *const p[] = {keep};
    return col_db_exec(conn,
                       "DELETE FROM event_keys WHERE stored_at < now() - make_interval(secs => $1)",
                       1, p, err, errlen);
}
