/* test_writer.c - the writer thread against a real PostgreSQL: envelopes go
 * in as C structs, rows and acks come out. The outage suite runs its own
 * private cluster (scripts/pg.sh, port 5511) so it can crash it mid-COPY. */
#include "collector/db.h"
#include "collector/writer.h"
#include "common/keys.h"
#include "common/timeutil.h"
#include "collector/migrate.h"
#include "tests/util/pgutil.h"
#include "tests/util/writertest.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ACKS 64

static char conninfo[512];
static PGconn *conn;
static struct col_config cfg;
static struct col_stats stats;
static struct cm_keypair agent;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct {
    uint64_t seq;
    enum cm_ack_status st;
} acks[MAX_ACKS];
static size_t nacks;

static void on_ack(void *arg, const struct col_writer_item *it, enum cm_ack_status st,
                   const char *reason)
{
    (void)arg;
    (void)reason;
    pthread_mutex_lock(&mu);
    if (nacks < MAX_ACKS) acks[nacks].seq = it->env.seq, acks[nacks].st = st, nacks++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void wait_acks(size_t n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&mu);
    while (nacks < n && pthread_cond_timedwait(&cv, &mu, &dl) == 0) {
    }
    size_t got = nacks;
    pthread_mutex_unlock(&mu);
    cr_assert_geq(got, n, "expected %zu acks, got %zu", n, got);
}

static void setup(void)
{
    const char *why = NULL;
    char err[256];
    if (!tu_pg_available(&why)) cr_skip_test("%s", why);
    cr_assert_eq(tu_pg_create_migrated_db(conninfo, sizeof conninfo), 0);
    cr_assert_eq(col_db_connect(conninfo, "test", &conn, err, sizeof err), 0, "%s", err);
    cr_assert_eq(tu_pg_add_agent(conn, "a1", &agent), 0);
    tu_writer_config(&cfg, conninfo);
    memset(&stats, 0, sizeof stats);
    nacks = 0;
}

static void teardown(void)
{
    PQfinish(conn);
    conn = NULL;
    tu_pg_drop_db(conninfo);
}

TestSuite(writer, .init = setup, .fini = teardown, .timeout = 60);

static struct col_writer *start(void)
{
    struct col_writer *w = NULL;
    char err[256];
    cr_assert_eq(col_writer_start(&cfg, &stats, on_ack, NULL, &w, err, sizeof err), 0, "%s", err);
    return w;
}

static void push(struct col_writer *w, const char *key, uint64_t seq, struct cm_sample *s, size_t n)
{
    struct col_writer_item *it = calloc(1, sizeof *it);
    snprintf(it->agent_key, sizeof it->agent_key, "%s", key);
    it->env.version = CM_WIRE_VERSION;
    it->env.seq = seq;
    it->env.sent_ns = cm_time_now_ns();
    it->env.kind = CM_BODY_METRICS;
    it->env.body.metrics.collected_ns = cm_time_now_ns();
    it->env.body.metrics.samples = s;
    it->env.body.metrics.n = n;
    cr_assert_eq(col_writer_push(w, it), 0);
}

static void sample(struct cm_sample *s, const char *cid, int64_t ts)
{
    memset(s, 0, sizeof *s);
    snprintf(s->container_id, sizeof s->container_id, "%s", cid);
    snprintf(s->cgroup_path, sizeof s->cgroup_path, "/docker/%s", cid);
    s->runtime = CM_RT_DOCKER;
    s->ts_ns = ts;
}

static char *q(const char *sql)
{
    static char out[512];
    PGresult *res = NULL;
    char err[256];
    cr_assert_eq(col_db_query(conn, sql, 0, NULL, &res, err, sizeof err), 0, "%s: %s", sql, err);
    cr_assert_eq(PQntuples(res), 1, "%s", sql);
    snprintf(out, sizeof out, "%s", PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

Test(writer, stores_values_nulls_and_clamps)
{
    static struct cm_sample s[2];
    int64_t now = cm_time_now_ns();
    sample(&s[0], "c1", now - CM_NS_PER_SEC);
    cm_sample_set(&s[0], CM_F_CPU_USAGE_NS, 123456789);
    cm_sample_set(&s[0], CM_F_MEM_USAGE_BYTES, 4096);
    cm_sample_set(&s[0], CM_F_NET_TX_PACKETS, UINT64_MAX); /* clamped */
    sample(&s[1], "c2", now);
    cm_sample_set(&s[1], CM_F_PIDS_CURRENT, 7);
    struct col_writer *w = start();
    push(w, agent.public_z85, 1, s, 2);
    wait_acks(1);
    col_writer_stop(w);
    cr_assert_eq(acks[0].st, CM_ACK_STORED);
    cr_assert_str_eq(q("SELECT count(*) FROM container_samples"), "2");
    cr_assert_str_eq(q("SELECT cpu_usage_ns::text || '/' || mem_usage_bytes || '/' || "
                       "net_tx_packets FROM container_samples s JOIN containers c "
                       "ON c.id = s.container_ref WHERE c.container_id = 'c1'"),
                     "123456789/4096/9223372036854775807");
    cr_assert_str_eq(q("SELECT cpu_user_ns FROM container_samples s JOIN containers c "
                       "ON c.id = s.container_ref WHERE c.container_id = 'c1'"),
                     "NULL");
    cr_assert_str_eq(q("SELECT pids_current::text || coalesce(cpu_usage_ns::text, '-') "
                       "FROM container_samples s JOIN containers c "
                       "ON c.id = s.container_ref WHERE c.container_id = 'c2'"),
                     "7-");
    cr_assert_str_eq(q("SELECT runtime || ' ' || cgroup_path FROM containers "
                       "WHERE container_id = 'c2'"),
                     "docker /docker/c2");
    cr_assert_str_eq(q("SELECT last_seq || ' ' || samples_stored || ' ' || envelopes_stored "
                       "|| ' ' || (last_seen IS NOT NULL) FROM agents"),
                     "1 2 1 true");
    cr_assert_eq(atomic_load(&stats.samples_stored), 2);
    cr_assert_eq(atomic_load(&stats.batches_committed), 1);
}

Test(writer, duplicates_dropped_also_after_restart)
{
    static struct cm_sample s[3];
    int64_t now = cm_time_now_ns();
    for (int i = 0; i < 3; i++)
        sample(&s[i], "c1", now - (3 - i) * CM_NS_PER_SEC);
    struct col_writer *w = start();
    push(w, agent.public_z85, 1, &s[0], 1);
    push(w, agent.public_z85, 2, &s[1], 1);
    push(w, agent.public_z85, 2, &s[1], 1); /* resent in the same batch */
    wait_acks(3);
    push(w, agent.public_z85, 1, &s[0], 1); /* resent later */
    wait_acks(4);
    col_writer_stop(w);
    w = start();
    push(w, agent.public_z85, 2, &s[1], 1); /* resent after a restart */
    push(w, agent.public_z85, 3, &s[2], 1);
    wait_acks(6);
    col_writer_stop(w);
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(acks[i].st, CM_ACK_STORED, "duplicates are acked STORED too");
    cr_assert_str_eq(q("SELECT count(*) FROM container_samples"), "3");
    cr_assert_str_eq(q("SELECT last_seq || ' ' || duplicates_dropped FROM agents"), "3 3");
    cr_assert_eq(atomic_load(&stats.envelopes_duplicate), 3);
    cr_assert_str_eq(q("SELECT count(*) FROM containers"), "1");
}

Test(writer, creates_partition_for_a_past_day)
{
    static struct cm_sample s;
    int64_t ts = cm_time_now_ns() - 5 * 86400 * CM_NS_PER_SEC;
    sample(&s, "old", ts);
    char sql[256], day[16];
    time_t t = (time_t)(ts / CM_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y%m%d", &tm);
    snprintf(sql, sizeof sql, "SELECT to_regclass('container_samples_%s') IS NOT NULL", day);
    cr_assert_str_eq(q(sql), "f");
    struct col_writer *w = start();
    push(w, agent.public_z85, 1, &s, 1);
    wait_acks(1);
    col_writer_stop(w);
    cr_assert_str_eq(q(sql), "t");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM container_samples_%s", day);
    cr_assert_str_eq(q(sql), "1");
}

Test(writer, too_old_and_future_samples_dropped)
{
    static struct cm_sample s[3];
    int64_t now = cm_time_now_ns();
    sample(&s[0], "c1", now - 31LL * 86400 * CM_NS_PER_SEC);
    sample(&s[1], "c1", now + 3600 * CM_NS_PER_SEC);
    sample(&s[2], "c1", now);
    struct col_writer *w = start();
    push(w, agent.public_z85, 1, s, 3);
    wait_acks(1);
    col_writer_stop(w);
    cr_assert_eq(acks[0].st, CM_ACK_STORED);
    cr_assert_str_eq(q("SELECT count(*) FROM container_samples"), "1");
    cr_assert_eq(atomic_load(&stats.samples_dropped), 2);
    cr_assert_eq(atomic_load(&stats.samples_stored), 1);
}

Test(writer, unknown_or_revoked_agent_rejected)
{
    static struct cm_sample s;
    struct cm_keypair other;
    char err[256];
    sample(&s, "c1", cm_time_now_ns());
    cr_assert_eq(cm_keys_generate(&other), 0);
    struct col_writer *w = start();
    push(w, other.public_z85, 1, &s, 1);
    wait_acks(1);
    cr_assert_eq(
        col_db_exec(conn, "UPDATE agents SET revoked_at = now()", 0, NULL, err, sizeof err), 0);
    push(w, agent.public_z85, 1, &s, 1);
    wait_acks(2);
    col_writer_stop(w);
    cr_assert_eq(acks[0].st, CM_ACK_REJECTED);
    cr_assert_eq(acks[1].st, CM_ACK_REJECTED);
    cr_assert_str_eq(q("SELECT count(*) FROM container_samples"), "0");
}

Test(writer, hello_and_heartbeat_update_agent)
{
    struct col_writer *w = start();
    struct col_writer_item *it = calloc(1, sizeof *it);
    snprintf(it->agent_key, sizeof it->agent_key, "%s", agent.public_z85);
    it->env.version = CM_WIRE_VERSION;
    it->env.seq = 10;
    it->env.kind = CM_BODY_HELLO;
    snprintf(it->env.body.hello.hostname, sizeof it->env.body.hello.hostname, "host-a");
    snprintf(it->env.body.hello.agent_version, sizeof it->env.body.hello.agent_version, "0.1");
    it->env.body.hello.cgroup_mode = CM_CGROUP_V2;
    cr_assert_eq(col_writer_push(w, it), 0);
    it = calloc(1, sizeof *it);
    snprintf(it->agent_key, sizeof it->agent_key, "%s", agent.public_z85);
    it->env.version = CM_WIRE_VERSION;
    it->env.seq = 11;
    it->env.kind = CM_BODY_HEARTBEAT;
    it->env.body.heartbeat.spool_dropped_envelopes = 5;
    it->env.body.heartbeat.spool_dropped_samples = 50;
    cr_assert_eq(col_writer_push(w, it), 0);
    wait_acks(2);
    col_writer_stop(w);
    cr_assert_str_eq(q("SELECT hostname || ' ' || cgroup_mode || ' ' || agent_version || ' ' "
                       "|| coalesce(kernel, '-') || ' ' || spool_dropped_envelopes || ' ' || "
                       "spool_dropped_samples || ' ' || last_seq FROM agents"),
                     "host-a v2 0.1 - 5 50 11");
}

/* ---- arrival order, floor, counters ------------------------------------- */

static struct col_writer_item *item(const char *key, uint64_t seq, enum cm_body_kind kind)
{
    struct col_writer_item *it = calloc(1, sizeof *it);
    snprintf(it->agent_key, sizeof it->agent_key, "%s", key);
    it->env.version = CM_WIRE_VERSION;
    it->env.seq = seq;
    it->env.sent_ns = cm_time_now_ns();
    it->env.kind = kind;
    return it;
}

static void push_heartbeat(struct col_writer *w, uint64_t seq, uint64_t floor, uint64_t samples)
{
    struct col_writer_item *it = item(agent.public_z85, seq, CM_BODY_HEARTBEAT);
    struct cm_heartbeat *hb = &it->env.body.heartbeat;
    hb->spool_floor_seq = floor;
    hb->samples_total = samples;
    hb->envelopes_total = seq;
    hb->spool_dropped_envelopes = 1;
    hb->spool_dropped_samples = 1;
    hb->unacked = 2;
    hb->spool_bytes = 100 + seq;
    cr_assert_eq(col_writer_push(w, it), 0);
}

static void push_hello(struct col_writer *w, uint64_t seq, const char *host)
{
    struct col_writer_item *it = item(agent.public_z85, seq, CM_BODY_HELLO);
    snprintf(it->env.body.hello.hostname, sizeof it->env.body.hello.hostname, "%s", host);
    snprintf(it->env.body.hello.agent_version, sizeof it->env.body.hello.agent_version, "0.2");
    cr_assert_eq(col_writer_push(w, it), 0);
}

Test(writer, out_of_order_and_interleaved_resends_stored_once)
{
    static struct cm_sample s[6];
    int64_t now = cm_time_now_ns();
    for (int i = 1; i <= 5; i++)
        sample(&s[i], "c1", now - (10 - i) * CM_NS_PER_SEC);
    struct col_writer *w = start();
    /* reconnect: a fresh Hello first, then older unacked records, and a
     * window of resends that overlaps what is being stored */
    push_hello(w, 9, "h");
    push(w, agent.public_z85, 5, &s[5], 1);
    push(w, agent.public_z85, 3, &s[3], 1);
    wait_acks(3);
    push(w, agent.public_z85, 4, &s[4], 1);
    push(w, agent.public_z85, 3, &s[3], 1);
    push(w, agent.public_z85, 1, &s[1], 1);
    wait_acks(6);
    push(w, agent.public_z85, 2, &s[2], 1);
    push(w, agent.public_z85, 5, &s[5], 1);
    push(w, agent.public_z85, 4, &s[4], 1);
    push_hello(w, 9, "h");
    wait_acks(10);
    col_writer_stop(w);
    for (size_t i = 0; i < 10; i++)
        cr_assert_eq(acks[i].st, CM_ACK_STORED);
    cr_assert_str_eq(q("SELECT count(*) || ' ' || count(DISTINCT ts) FROM container_samples"),
                     "5 5", "every seq below last_seq that arrived late is stored, once");
    cr_assert_str_eq(q("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM agent_seqs"),
                     "1,2,3,4,5,9");
    cr_assert_str_eq(q("SELECT last_seq || ' ' || envelopes_stored || ' ' || duplicates_dropped "
                       "|| ' ' || envelopes_received || ' ' || samples_stored FROM agents"),
                     "9 6 4 10 5");
    cr_assert_eq(atomic_load(&stats.envelopes_duplicate), 4);
}

Test(writer, floor_prunes_seqs_and_makes_stale_copies_duplicates)
{
    static struct cm_sample s[9];
    int64_t now = cm_time_now_ns();
    for (int i = 1; i <= 8; i++)
        sample(&s[i], "c1", now - (10 - i) * CM_NS_PER_SEC);
    struct col_writer *w = start();
    push(w, agent.public_z85, 1, &s[1], 1);
    push(w, agent.public_z85, 2, &s[2], 1);
    push(w, agent.public_z85, 4, &s[4], 1); /* 3 was dropped by the agent's full spool */
    push_hello(w, 10, "new-host");
    push_heartbeat(w, 7, 5, 30);
    wait_acks(5);
    cr_assert_str_eq(q("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM agent_seqs"), "7,10",
                     "seqs below the floor need no row");
    cr_assert_str_eq(q("SELECT spool_floor_seq || ' ' || spool_samples_total || ' ' || "
                       "spool_envelopes_total || ' ' || spool_unacked || ' ' || spool_bytes || "
                       "' ' || spool_dropped_samples || ' ' || (last_heartbeat IS NOT NULL) "
                       "FROM agents"),
                     "5 30 7 2 107 1 true");
    push(w, agent.public_z85, 3, &s[3], 1); /* a late copy of the dropped one */
    push(w, agent.public_z85, 2, &s[2], 1); /* stored, pruned, resent late */
    push_heartbeat(w, 6, 2, 20);            /* an older heartbeat resent late */
    push_hello(w, 9, "old-host");           /* an older hello resent late */
    push(w, agent.public_z85, 8, &s[8], 1);
    wait_acks(10);
    col_writer_stop(w);
    for (size_t i = 0; i < 10; i++)
        cr_assert_eq(acks[i].st, CM_ACK_STORED);
    cr_assert_str_eq(q("SELECT count(*) FROM container_samples"), "4", "1, 2, 4 and 8");
    cr_assert_str_eq(q("SELECT spool_floor_seq || ' ' || spool_samples_total || ' ' || hostname "
                       "|| ' ' || heartbeat_seq || ' ' || hello_seq FROM agents"),
                     "5 30 new-host 7 10", "a late old Heartbeat or Hello changes nothing");
    cr_assert_str_eq(q("SELECT envelopes_received || ' ' || envelopes_stored || ' ' || "
                       "duplicates_dropped || ' ' || last_seq FROM agents"),
                     "10 8 2 10");
}

Test(writer, codec_rejects_counted_for_the_agent_without_ack)
{
    static struct cm_sample s;
    sample(&s, "c1", cm_time_now_ns());
    struct col_writer *w = start();
    struct col_writer_item *it = item(agent.public_z85, 0, CM_BODY_NONE);
    it->count_only = true;
    cr_assert_eq(col_writer_push(w, it), 0);
    push(w, agent.public_z85, 1, &s, 1);
    wait_acks(1);
    col_writer_stop(w);
    cr_assert_eq(nacks, 1, "the server already answered the rejected one");
    cr_assert_eq(acks[0].seq, 1);
    cr_assert_str_eq(q("SELECT envelopes_received || ' ' || rejected || ' ' || envelopes_stored "
                       "FROM agents"),
                     "2 1 1");
}

Test(writer, data_postgresql_refuses_rejects_only_the_guilty_envelope)
{
    static struct cm_sample s[4];
    char err[256];
    int64_t now = cm_time_now_ns();
    for (int i = 1; i <= 3; i++) {
        sample(&s[i], "c1", now - (10 - i) * CM_NS_PER_SEC);
        cm_sample_set(&s[i], CM_F_CPU_USAGE_NS, i == 2 ? 666 : (uint64_t)i);
    }
    /* a constraint stands in for whatever the server might refuse (23514) */
    cr_assert_eq(col_db_exec(conn,
                             "ALTER TABLE container_samples ADD CONSTRAINT not_666 "
                             "CHECK (cpu_usage_ns <> 666)",
                             0, NULL, err, sizeof err),
                 0, "%s", err);
    struct col_writer *w = start();
    for (uint64_t seq = 1; seq <= 3; seq++)
        push(w, agent.public_z85, seq, &s[seq], 1);
    wait_acks(3);
    col_writer_stop(w);
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(acks[i].st, acks[i].seq == 2 ? CM_ACK_REJECTED : CM_ACK_STORED, "seq %llu",
                     (unsigned long long)acks[i].seq);
    cr_assert_str_eq(q("SELECT string_agg(cpu_usage_ns::text, ',' ORDER BY ts) "
                       "FROM container_samples"),
                     "1,3");
    cr_assert_str_eq(q("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM agent_seqs"), "1,3",
                     "a refused seq is not remembered as stored");
    cr_assert_str_eq(q("SELECT rejected || ' ' || envelopes_received || ' ' || envelopes_stored "
                       "FROM agents"),
                     "1 3 2");
    cr_assert_eq(atomic_load(&stats.envelopes_rejected_storage), 1);
}

/* ---- database outages mid-COPY (a private cluster of our own) ---------- */

#define OUTAGE_PORT "5511"
#define OUTAGE_ENVELOPES 30 /* after the first one */
#define OUTAGE_SAMPLES 10000 /* per envelope, the same array each time */

static char *pgdir;
static struct cm_sample *big;

/* scripts/pg.sh with args; its exit status, or -1. */
static int pg_sh(const char *cmd, const char *arg)
{
    const char *src = getenv("BOXWATCH_SOURCE_DIR");
    char script[1024];
    if (!src) return -1;
    snprintf(script, sizeof script, "%s/scripts/pg.sh", src);
    char *argv[] = {"bash", script, (char *)cmd, pgdir, (char *)arg, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int st = -1;
    int rc = posix_spawn(&pid, "/bin/bash", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void outage_setup(void)
{
    char err[256];
    if (!getenv("BOXWATCH_SOURCE_DIR"))
        cr_skip_test("BOXWATCH_SOURCE_DIR is not set (run through ctest): no scripts/pg.sh");
    pgdir = tu_mkdtemp();
    cr_assert(pgdir);
    if (pg_sh("start", OUTAGE_PORT) != 0)
        cr_skip_test("cannot start a private PostgreSQL on port " OUTAGE_PORT " in %s", pgdir);
    snprintf(conninfo, sizeof conninfo, "host=%s/sock port=" OUTAGE_PORT
             " user=boxwatch dbname=boxwatch", pgdir);
    cr_assert_eq(col_db_connect(conninfo, "test", &conn, err, sizeof err), 0, "%s", err);
    cr_assert_eq(col_migrate_apply(conn, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(tu_pg_add_agent(conn, "a1", &agent), 0);
    tu_writer_config(&cfg, conninfo);
    memset(&stats, 0, sizeof stats);
    cfg.batch_max_samples = (OUTAGE_ENVELOPES + 1) * OUTAGE_SAMPLES;
    cfg.batch_max_delay_ms = 50;
    nacks = 0;
    big = calloc(OUTAGE_SAMPLES, sizeof *big);
    int64_t now = cm_time_now_ns();
    for (int i = 0; i < OUTAGE_SAMPLES; i++) {
        char cid[16];
        snprintf(cid, sizeof cid, "c%d", i % 50);
        sample(&big[i], cid, now - (int64_t)(i / 50) * CM_NS_PER_SEC);
        cm_sample_set(&big[i], CM_F_CPU_USAGE_NS, (uint64_t)i);
    }
}

static void outage_teardown(void)
{
    PQfinish(conn);
    conn = NULL;
    if (pgdir) {
        pg_sh("stop", "immediate");
        tu_rm_rf(pgdir);
        free(pgdir);
        pgdir = NULL;
    }
    free(big);
    big = NULL;
}

TestSuite(writer_outage, .init = outage_setup, .fini = outage_teardown, .timeout = 180);

/* Waits until the writer's backend is running its COPY; returns its pid. */
static long wait_for_copy(void)
{
    for (int i = 0; i < 4000; i++) {
        PGresult *res = PQexec(conn, "SELECT pid FROM pg_stat_activity WHERE application_name = "
                                     "'boxwatch-collector-writer' AND state = 'active' "
                                     "AND query LIKE 'COPY container_samples%'");
        long pid = PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        PQclear(res);
        if (pid > 0) return pid;
        usleep(5000);
    }
    cr_assert_fail("the writer never got to its COPY");
    return 0;
}

static size_t acks_now(void)
{
    pthread_mutex_lock(&mu);
    size_t n = nacks;
    pthread_mutex_unlock(&mu);
    return n;
}

/* One stored envelope (the database works), then a big batch whose COPY is
 * interrupted by `interrupt`; afterwards every envelope is acked STORED
 * once and stored exactly once. */
static void outage_run(void (*interrupt)(long pid))
{
    char err[256];
    struct col_writer *w = start();
    push(w, agent.public_z85, 1, big, 1);
    wait_acks(1);
    for (uint64_t seq = 2; seq <= OUTAGE_ENVELOPES + 1; seq++)
        push(w, agent.public_z85, seq, big, OUTAGE_SAMPLES);
    long pid = wait_for_copy();
    cr_assert_eq(acks_now(), 1, "acked before the COPY even finished");
    interrupt(pid);
    wait_acks(OUTAGE_ENVELOPES + 1);
    col_writer_stop(w);
    for (size_t i = 0; i < OUTAGE_ENVELOPES + 1; i++)
        cr_assert_eq(acks[i].st, CM_ACK_STORED);
    cr_assert_eq(acks_now(), OUTAGE_ENVELOPES + 1, "each envelope acked once");
    if (PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        conn = NULL;
        cr_assert_eq(col_db_connect(conninfo, "test", &conn, err, sizeof err), 0, "%s", err);
    }
    char want[64];
    snprintf(want, sizeof want, "%d", 1 + OUTAGE_ENVELOPES * OUTAGE_SAMPLES);
    cr_assert_str_eq(q("SELECT count(*) FROM container_samples"), want,
                     "the interrupted batch is stored once, whole");
    cr_assert_str_eq(q("SELECT count(*) FROM agent_seqs"), "31");
    cr_assert_str_eq(q("SELECT envelopes_stored || ' ' || duplicates_dropped FROM agents"),
                     "31 0");
    cr_assert_geq(atomic_load(&stats.db_errors), 1);
    cr_assert_eq(atomic_load(&stats.db_up), 1);
}

static void crash_and_restart(long pid)
{
    (void)pid;
    PQfinish(conn); /* ours dies with the server */
    conn = NULL;
    cr_assert_eq(pg_sh("stop", "immediate"), 0);
    /* Down: the writer keeps the batch, acks nothing and says so. */
    for (int i = 0; i < 300 && atomic_load(&stats.db_up); i++)
        usleep(10000);
    cr_assert_eq(atomic_load(&stats.db_up), 0, "db_up still 1 with PostgreSQL down");
    usleep(2500 * 1000); /* past the backoff cap: several failed reconnects */
    cr_assert_eq(acks_now(), 1, "acked while PostgreSQL was down");
    cr_assert_eq(pg_sh("start", OUTAGE_PORT), 0);
}

Test(writer_outage, immediate_shutdown_mid_copy_retries_the_whole_batch)
{
    outage_run(crash_and_restart);
}

static void terminate(long pid)
{
    char p[24], err[256];
    snprintf(p, sizeof p, "%ld", pid);
    const char *const params[] = {p};
    cr_assert_eq(col_db_exec(conn, "SELECT pg_terminate_backend($1::int)", 1, params, err,
                             sizeof err),
                 0, "%s", err);
}

Test(writer_outage, terminated_backend_mid_copy_retries_the_whole_batch)
{
    outage_run(terminate);
}
