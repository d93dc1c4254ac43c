/* test_event_store.c - EventBatch and PolicyAck envelopes through the real
 * writer thread into a real PostgreSQL: events exactly once by (agent,
 * file_key, offset, rule) also when resent in a new envelope, severities
 * from the rule set, source stats, policy acks (newest wins). */
#include "collector/db.h"
#include "collector/event_store.h"
#include "collector/rulebook.h"
#include "collector/writer.h"
#include "common/keys.h"
#include "common/timeutil.h"
#include "tests/util/pgutil.h"
#include "tests/util/writertest.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char conninfo[512];
static PGconn *conn;
static struct col_config cfg;
static struct col_stats stats;
static struct cm_keypair agent;
static struct col_rulebook *rules;

static struct tu_ack_count acks;

static void wait_acks(size_t n)
{
    size_t ok = 0, got = tu_ack_count_wait(&acks, n, &ok);
    cr_assert_geq(got, n, "expected %zu acks, got %zu", n, got);
    cr_assert_eq(ok, got, "an envelope was rejected");
}

static void setup(void)
{
    const char *why = NULL;
    char err[512];
    if (!tu_pg_available(&why)) cr_skip_test("%s", why);
    cr_assert_eq(tu_pg_create_migrated_db(conninfo, sizeof conninfo), 0);
    cr_assert_eq(col_db_connect(conninfo, "test", &conn, err, sizeof err), 0, "%s", err);
    cr_assert_eq(tu_pg_add_agent(conn, "a1", &agent), 0);
    cr_assert_eq(col_rulebook_new(NULL, &rules, err, sizeof err), 0, "%s", err);
    tu_writer_config(&cfg, conninfo);
    memset(&stats, 0, sizeof stats);
    tu_ack_count_init(&acks);
}

static void teardown(void)
{
    col_rulebook_free(rules);
    rules = NULL;
    PQfinish(conn);
    conn = NULL;
    tu_pg_drop_db(conninfo);
}

TestSuite(event_store, .init = setup, .fini = teardown, .timeout = 60);

static struct col_writer *start(void)
{
    struct col_writer *w = NULL;
    char err[256];
    cr_assert_eq(col_writer_start(&cfg, &stats, tu_ack_count_on_ack, &acks, &w, err, sizeof err), 0,
                 "%s", err);
    col_writer_set_rules(w, rules);
    return w;
}

static void push(struct col_writer *w, uint64_t seq, enum cm_body_kind kind,
                 const struct cm_event_batch *eb, const struct cm_policy_ack *pa)
{
    struct col_writer_item *it = calloc(1, sizeof *it);
    snprintf(it->agent_key, sizeof it->agent_key, "%s", agent.public_z85);
    it->env.version = CM_WIRE_VERSION;
    it->env.seq = seq;
    it->env.sent_ns = cm_time_now_ns();
    it->env.kind = kind;
    if (eb) it->env.body.events = *eb; /* borrowed: release is NULL */
    if (pa) it->env.body.policy_ack = *pa;
    cr_assert_eq(col_writer_push(w, it), 0);
}

static struct cm_kv fields[2] = {{"user", "root"}, {"src_ip", "203.0.113.9"}};

static void event(struct cm_log_event *e, const char *rule, const char *fk, uint64_t off,
                  const char *cid, int64_t ts)
{
    memset(e, 0, sizeof *e);
    e->ts_ns = ts;
    snprintf(e->rule_id, sizeof e->rule_id, "%s", rule);
    e->rule_version = 7;
    e->source.kind = cid ? CM_LOG_SRC_CONTAINER : CM_LOG_SRC_AUTH;
    e->source.path = cid ? "/var/lib/docker/containers/x/x-json.log" : "/var/log/auth.log";
    snprintf(e->source.container_id, sizeof e->source.container_id, "%s", cid ? cid : "");
    snprintf(e->source.stream, sizeof e->source.stream, "%s", cid ? "stdout" : "");
    snprintf(e->source.file_key, sizeof e->source.file_key, "%s", fk);
    e->offset = off;
    e->message = "Failed password for root from 203.0.113.9 port 22 ssh2 \"quoted\" \\ tab\t.";
    e->fields = fields;
    e->n_fields = 2;
}

static char *q(const char *sql)
{
    static char out[1024];
    PGresult *res = NULL;
    char err[256];
    cr_assert_eq(col_db_query(conn, sql, 0, NULL, &res, err, sizeof err), 0, "%s: %s", sql, err);
    cr_assert_eq(PQntuples(res), 1, "%s", sql);
    snprintf(out, sizeof out, "%s", PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

static const char *rule_severity(const char *id)
{
    static char sev[16];
    const struct col_rules *r = col_rulebook_acquire(rules);
    const struct cm_rule *rule = col_rules_find(r, id);
    snprintf(sev, sizeof sev, "%s", rule ? rule->severity : "(none)");
    col_rulebook_release(rules, r);
    return sev;
}

Test(event_store, events_stored_once_even_when_resent_in_a_new_envelope)
{
    int64_t now = cm_time_now_ns();
    struct cm_log_event ev[5];
    event(&ev[0], "ssh.failed_password", "2049:100", 0, NULL, now - CM_NS_PER_SEC);
    event(&ev[1], "ssh.brute_force", "2049:100", 0, NULL, now - CM_NS_PER_SEC); /* same line */
    ev[1].count = 10;
    event(&ev[2], "ssh.failed_password", "2049:100", 120, NULL, now);
    event(&ev[3], "gone.rule", "64768:7", 4096, "c0ffee000001", now);
    event(&ev[4], "ssh.failed_password", "2049:100", 120, NULL, now); /* repeated in the batch */
    struct cm_event_batch b = {ev, 5, NULL, 0};
    struct col_writer *w = start();
    push(w, 1, CM_BODY_EVENTS, &b, NULL);
    wait_acks(1);
    cr_assert_str_eq(q("SELECT count(*) FROM events"), "4");
    cr_assert_str_eq(q("SELECT count(*) FROM event_keys"), "4");

    /* The agent restarted before the ack: the same lines again, read later
     * (a new ts for lines without one), in a new envelope, plus a new one. */
    struct cm_log_event again[4];
    event(&again[0], "ssh.failed_password", "2049:100", 0, NULL, now + CM_NS_PER_SEC);
    event(&again[1], "ssh.brute_force", "2049:100", 0, NULL, now + CM_NS_PER_SEC);
    event(&again[2], "gone.rule", "64768:7", 4096, "c0ffee000001", now + CM_NS_PER_SEC);
    event(&again[3], "ssh.failed_password", "2049:100", 240, NULL, now + CM_NS_PER_SEC);
    struct cm_event_batch b2 = {again, 4, NULL, 0};
    push(w, 2, CM_BODY_EVENTS, &b2, NULL);
    wait_acks(2);
    col_writer_stop(w);
    cr_assert_str_eq(q("SELECT count(*) FROM events"), "5");
    cr_assert_str_eq(q("SELECT count(*) FROM events WHERE line_offset = 240"), "1");
    cr_assert_str_eq(q("SELECT count(*) FROM (SELECT DISTINCT agent_id, file_key, line_offset, "
                       "rule_id FROM events) d"),
                     "5");
    /* the columns */
    cr_assert_str_eq(q("SELECT severity FROM events WHERE rule_id = 'ssh.brute_force'"),
                     rule_severity("ssh.brute_force"));
    cr_assert_str_eq(q("SELECT severity FROM events WHERE rule_id = 'gone.rule'"), "unknown");
    cr_assert_str_eq(q("SELECT count FROM events WHERE rule_id = 'ssh.brute_force'"), "10");
    cr_assert_str_eq(q("SELECT count FROM events WHERE line_offset = 120"), "NULL");
    cr_assert_str_eq(q("SELECT fields->>'src_ip' FROM events WHERE line_offset = 120"),
                     "203.0.113.9");
    cr_assert_str_eq(q("SELECT message FROM events WHERE line_offset = 120"), ev[2].message);
    cr_assert_str_eq(q("SELECT rule_version FROM events WHERE line_offset = 120"), "7");
    cr_assert_str_eq(q("SELECT source_kind || ' ' || source_path || ' ' || coalesce(stream, '-') "
                       "FROM events WHERE line_offset = 120"),
                     "auth /var/log/auth.log -");
    cr_assert_str_eq(q("SELECT c.container_id || ' ' || c.runtime || ' ' || e.stream FROM events "
                       "e JOIN containers c ON c.id = e.container_ref"),
                     "c0ffee000001 unknown stdout");
    cr_assert_str_eq(q("SELECT count(*) FROM events WHERE container_ref IS NULL"), "4");
    cr_assert_str_eq(q("SELECT count(*) FROM agent_seqs"), "2");
}

Test(event_store, source_stats_stored)
{
    int64_t now = cm_time_now_ns();
    struct cm_log_stats st[2];
    memset(st, 0, sizeof st);
    st[0].source.kind = CM_LOG_SRC_SYSLOG;
    st[0].source.path = "/var/log/syslog";
    snprintf(st[0].source.file_key, sizeof st[0].source.file_key, "2049:5");
    st[0].lines = 1000;
    st[0].bytes = 81234;
    st[0].lines_truncated = 2;
    st[0].lines_invalid = 0;
    st[0].start_ns = now - 10 * CM_NS_PER_SEC;
    st[0].end_ns = now;
    st[1] = st[0];
    st[1].source.kind = CM_LOG_SRC_CONTAINER;
    st[1].source.path = "/var/log/pods/x/0.log";
    snprintf(st[1].source.container_id, sizeof st[1].source.container_id, "abc123def456");
    snprintf(st[1].source.file_key, sizeof st[1].source.file_key, "2049:6");
    st[1].lines = UINT64_MAX; /* clamped to bigint */
    st[1].lines_invalid = 3;
    struct cm_event_batch b = {NULL, 0, st, 2};
    struct col_writer *w = start();
    push(w, 1, CM_BODY_EVENTS, &b, NULL);
    push(w, 1, CM_BODY_EVENTS, &b, NULL); /* a resend of the same envelope */
    wait_acks(2);
    col_writer_stop(w);
    cr_assert_str_eq(q("SELECT count(*) FROM log_source_stats"), "2");
    cr_assert_str_eq(q("SELECT lines || ' ' || bytes || ' ' || lines_truncated || ' ' || "
                       "lines_invalid || ' ' || interval_seconds FROM log_source_stats "
                       "WHERE source_kind = 'syslog'"),
                     "1000 81234 2 0 10");
    cr_assert_str_eq(q("SELECT lines FROM log_source_stats WHERE container_ref IS NOT NULL"),
                     "9223372036854775807");
    cr_assert_str_eq(q("SELECT c.container_id FROM log_source_stats s JOIN containers c "
                       "ON c.id = s.container_ref"),
                     "abc123def456");
    cr_assert_str_eq(q("SELECT count(*) FROM log_source_stats WHERE abs(extract(epoch FROM ts) - "
                       "extract(epoch FROM now())) < 60"),
                     "2");
}

Test(event_store, out_of_range_times_are_stored_as_now)
{
    int64_t now = cm_time_now_ns();
    struct cm_log_event ev[2];
    event(&ev[0], "ssh.failed_password", "2049:9", 0, NULL,
          1418198400LL * CM_NS_PER_SEC); /* 2014 */
    event(&ev[1], "ssh.failed_password", "2049:9", 80, NULL, now + 86400 * CM_NS_PER_SEC);
    struct cm_event_batch b = {ev, 2, NULL, 0};
    struct col_writer *w = start();
    push(w, 1, CM_BODY_EVENTS, &b, NULL);
    wait_acks(1);
    col_writer_stop(w);
    cr_assert_str_eq(q("SELECT count(*) FROM events WHERE abs(extract(epoch FROM ts) - "
                       "extract(epoch FROM now())) < 60"),
                     "2");
    cr_assert_str_eq(q("SELECT count(*) FROM pg_class WHERE relname LIKE 'events_2014%'"), "0");
}

Test(event_store, policy_ack_recorded_newest_wins)
{
    struct cm_policy_ack a1 = {.version = 5, .accepted = true, .rules_compiled = 30};
    struct cm_policy_ack a3 = {.version = 7, .accepted = false, .rules_compiled = 29};
    struct cm_policy_ack a2 = {.version = 6, .accepted = true, .rules_compiled = 30};
    snprintf(a3.error, sizeof a3.error, "rule x.y: PCRE2 JIT out of memory");
    struct col_writer *w = start();
    push(w, 1, CM_BODY_POLICY_ACK, NULL, &a1);
    wait_acks(1);
    cr_assert_str_eq(q("SELECT policy_version || ' ' || policy_accepted || ' ' || "
                       "coalesce(policy_error, '-') || ' ' || policy_rules_compiled FROM agents"),
                     "5 true - 30");
    push(w, 3, CM_BODY_POLICY_ACK, NULL, &a3);
    wait_acks(2);
    push(w, 2, CM_BODY_POLICY_ACK, NULL, &a2); /* late: must not roll back */
    wait_acks(3);
    col_writer_stop(w);
    cr_assert_str_eq(q("SELECT policy_version || ' ' || policy_accepted || ' ' || "
                       "policy_error || ' ' || policy_rules_compiled FROM agents"),
                     "7 false rule x.y: PCRE2 JIT out of memory 29");
    cr_assert_str_eq(q("SELECT policy_acked_at IS NOT NULL FROM agents"), "t");
}

Test(event_store, prune_drops_only_old_keys)
{
    char err[256];
    cr_assert_eq(col_db_exec(conn,
                             "INSERT INTO event_keys (agent_id, file_key, line_offset, rule_id, "
                             "stored_at) SELECT id, '1:1', 0, 'r', now() - interval '30 days' "
                             "FROM agents UNION ALL SELECT id, '1:1', 1, 'r', now() FROM agents",
                             0, NULL, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(col_event_store_prune(conn, COL_EVENT_KEYS_KEEP_S, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(q("SELECT string_agg(line_offset::text, ',') FROM event_keys"), "1");
}

/* An accepted login, user from address, at offset off of one auth log. */
static void login(struct cm_log_event *e, struct cm_kv *f, const char *user, const char *ip,
                  uint64_t off, int64_t ts)
{
    event(e, "ssh.accepted_login", "2049:300", off, NULL, ts);
    f[0] = (struct cm_kv){"user", (char *)user};
    f[1] = (struct cm_kv){"src_ip", (char *)ip};
    e->fields = f;
    e->message = "Accepted password for alice from 198.51.100.1 port 50022 ssh2";
}

Test(event_store, login_from_a_new_address_is_derived_once)
{
    int64_t now = cm_time_now_ns();
    struct cm_kv f[4][2];
    struct cm_log_event ev[4];
    /* alice's first login has nothing to compare with; bob likewise */
    login(&ev[0], f[0], "alice", "198.51.100.1", 0, now);
    login(&ev[1], f[1], "bob", "198.51.100.9", 100, now);
    struct cm_event_batch b = {ev, 2, NULL, 0};
    struct col_writer *w = start();
    push(w, 1, CM_BODY_EVENTS, &b, NULL);
    wait_acks(1);
    cr_assert_str_eq(q("SELECT count(*) FROM events WHERE rule_id = 'ssh.login_new_address'"), "0");
    /* alice again from the same address, then from a new one (twice in the batch) */
    login(&ev[0], f[0], "alice", "198.51.100.1", 200, now);
    login(&ev[1], f[1], "alice", "203.0.113.50", 300, now);
    login(&ev[2], f[2], "alice", "203.0.113.50", 400, now);
    struct cm_event_batch b2 = {ev, 3, NULL, 0};
    push(w, 2, CM_BODY_EVENTS, &b2, NULL);
    wait_acks(2);
    /* the agent restarts and sends the new-address line again in a new envelope */
    login(&ev[0], f[0], "alice", "203.0.113.50", 300, now);
    struct cm_event_batch b3 = {ev, 1, NULL, 0};
    push(w, 3, CM_BODY_EVENTS, &b3, NULL);
    wait_acks(3);
    col_writer_stop(w);
    cr_assert_str_eq(q("SELECT count(*) FROM events WHERE rule_id = 'ssh.login_new_address'"), "1");
    cr_assert_str_eq(q("SELECT line_offset || ' ' || severity || ' ' || (fields->>'src_ip') FROM "
                       "events WHERE rule_id = 'ssh.login_new_address'"),
                     "300 medium 203.0.113.50");
    cr_assert_str_eq(q("SELECT count(*) FROM login_sources"), "3");
}
