/* test_server.c - ZAP + server + writer on a real loop, real CURVE DEALERs
 * on 127.0.0.1 and a real PostgreSQL. */
#include "collector/collector.h"
#include "collector/rulebook.h"
#include "collector/db.h"
#include "common/keys.h"
#include "common/timeutil.h"
#include "proto/wire.h"
#include "tests/util/pgutil.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static char conninfo[512];
static PGconn *conn;
static struct col_config cfg;
static struct col_stats stats;
static struct cm_keypair server_kp, agent_kp;
static uv_loop_t loop;
static uv_async_t stop_async, reload_async;
static atomic_int reloads_done;
static struct col_core *core;
static pthread_t loop_thread;
static char endpoint[256];
static void *cctx;

static void on_stop(uv_async_t *h)
{
    col_core_stop(core);
    uv_close((uv_handle_t *)h, NULL);
    uv_close((uv_handle_t *)&reload_async, NULL);
}

/* What SIGHUP does in `run`, on the loop thread. */
static void on_reload(uv_async_t *h)
{
    char err[512];
    (void)h;
    if (col_core_reload_rules(core, err, sizeof err) == 0) atomic_fetch_add(&reloads_done, 1);
}

static void *run_loop(void *arg)
{
    (void)arg;
    uv_run(&loop, UV_RUN_DEFAULT);
    return NULL;
}

/* The collector's core on its own loop thread; stop_core is a clean stop
 * (what is queued is committed and acked). */
static void start_core(void)
{
    char err[256];
    uv_loop_init(&loop);
    cr_assert_eq(col_core_start(&loop, &cfg, &server_kp, &stats, &core, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(col_core_endpoint(core, endpoint, sizeof endpoint), 0);
    cr_assert_neq(strstr(endpoint, "tcp://127.0.0.1:"), NULL, "%s", endpoint);
    uv_async_init(&loop, &stop_async, on_stop);
    uv_async_init(&loop, &reload_async, on_reload);
    cr_assert_eq(pthread_create(&loop_thread, NULL, run_loop, NULL), 0);
}

static void stop_core(void)
{
    if (!core) return;
    uv_async_send(&stop_async);
    pthread_join(loop_thread, NULL);
    col_core_free(core);
    core = NULL;
    uv_loop_close(&loop);
}

static void setup(void)
{
    const char *why = NULL;
    char err[256];
    if (!tu_pg_available(&why)) cr_skip_test("%s", why);
    cr_assert_eq(tu_pg_create_migrated_db(conninfo, sizeof conninfo), 0);
    cr_assert_eq(col_db_connect(conninfo, "test", &conn, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cm_keys_generate(&server_kp), 0);
    cr_assert_eq(tu_pg_add_agent(conn, "a1", &agent_kp), 0);
    memset(&cfg, 0, sizeof cfg);
    memset(&stats, 0, sizeof stats);
    cfg.database = conninfo;
    cfg.listen = "tcp://127.0.0.1:*";
    cfg.batch_max_samples = 1000;
    cfg.batch_max_delay_ms = 10;
    cfg.queue_max_envelopes = 16;
    cfg.max_sample_age_ms = 30ULL * 86400 * 1000;
    cfg.max_clock_skew_ms = 600 * 1000;
    start_core();
    cctx = zmq_ctx_new();
}

static void teardown(void)
{
    stop_core();
    if (cctx) zmq_ctx_term(cctx);
    cctx = NULL;
    PQfinish(conn);
    conn = NULL;
    tu_pg_drop_db(conninfo);
}

TestSuite(server, .init = setup, .fini = teardown, .timeout = 60);

static void *dealer(const struct cm_keypair *kp)
{
    void *d = zmq_socket(cctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, server_kp.public_z85, CM_KEY_Z85_LEN);
    zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, kp->public_z85, CM_KEY_Z85_LEN);
    zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, kp->secret_z85, CM_KEY_Z85_LEN);
    cr_assert_eq(zmq_connect(d, endpoint), 0);
    return d;
}

static void send_env(void *d, const struct cm_envelope *env)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(cm_wire_encode_envelope(env, &buf, &len), 0);
    cr_assert_eq(zmq_send(d, buf, len, 0), (int)len);
    free(buf);
}

static void send_hello(void *d, uint64_t seq)
{
    struct cm_envelope env = {.version = CM_WIRE_VERSION,
                              .seq = seq,
                              .sent_ns = cm_time_now_ns(),
                              .kind = CM_BODY_HELLO};
    snprintf(env.body.hello.hostname, sizeof env.body.hello.hostname, "host-1");
    snprintf(env.body.hello.agent_version, sizeof env.body.hello.agent_version, "0.1.0");
    env.body.hello.cgroup_mode = CM_CGROUP_V2;
    send_env(d, &env);
}

static void send_metrics(void *d, uint64_t seq, const char *cid)
{
    struct cm_sample s;
    memset(&s, 0, sizeof s);
    snprintf(s.container_id, sizeof s.container_id, "%s", cid);
    snprintf(s.cgroup_path, sizeof s.cgroup_path, "/x/%s", cid);
    s.runtime = CM_RT_CONTAINERD;
    s.ts_ns = cm_time_now_ns();
    cm_sample_set(&s, CM_F_MEM_USAGE_BYTES, 1234);
    struct cm_envelope env = {.version = CM_WIRE_VERSION,
                              .seq = seq,
                              .sent_ns = cm_time_now_ns(),
                              .kind = CM_BODY_METRICS};
    env.body.metrics.collected_ns = s.ts_ns;
    env.body.metrics.samples = &s;
    env.body.metrics.n = 1;
    send_env(d, &env);
}

/* 0 and the next server message, or -1 when none came within timeout_ms;
 * *m is the caller's to close (cm_wire_server_close). */
static int recv_msg(void *d, int timeout_ms, struct cm_server_msg *m)
{
    zmq_msg_t msg;
    enum cm_wire_reason r;
    zmq_setsockopt(d, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, d, 0) < 0) {
        zmq_msg_close(&msg);
        return -1;
    }
    int rc = cm_wire_decode_server(zmq_msg_data(&msg), zmq_msg_size(&msg), m, &r, NULL, 0);
    zmq_msg_close(&msg);
    cr_assert_eq(rc, 0);
    return 0;
}

/* 0 and the next ack (a Policy on the way is skipped), or -1 when none
 * came within timeout_ms. */
static int recv_ack(void *d, int timeout_ms, struct cm_ack *ack)
{
    struct cm_server_msg m;
    for (;;) {
        if (recv_msg(d, timeout_ms, &m) < 0) return -1;
        if (m.kind != CM_SERVER_POLICY) break;
        cm_wire_server_close(&m);
    }
    cr_assert_eq(m.kind, CM_SERVER_ACK);
    *ack = m.body.ack;
    return 0;
}

static long count(const char *sql)
{
    PGresult *res = NULL;
    char err[256];
    cr_assert_eq(col_db_query(conn, sql, 0, NULL, &res, err, sizeof err), 0, "%s", err);
    long v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

Test(server, enrolled_agent_gets_stored_ack_and_rows)
{
    void *d = dealer(&agent_kp);
    struct cm_ack ack;
    send_metrics(d, 7, "ctr-1");
    cr_assert_eq(recv_ack(d, 10000, &ack), 0, "no ack");
    cr_assert_eq(ack.seq, 7);
    cr_assert_eq(ack.status, CM_ACK_STORED);
    cr_assert_eq(count("SELECT count(*) FROM container_samples WHERE mem_usage_bytes = 1234"), 1);
    cr_assert_eq(count("SELECT last_seq FROM agents WHERE name = 'a1'"), 7);
    send_metrics(d, 7, "ctr-1"); /* a resend is acked but not stored twice */
    cr_assert_eq(recv_ack(d, 10000, &ack), 0, "no ack");
    cr_assert_eq(ack.status, CM_ACK_STORED);
    cr_assert_eq(count("SELECT count(*) FROM container_samples"), 1);
    cr_assert_geq(atomic_load(&stats.zap_accepted), 1);
    cr_assert_eq(atomic_load(&stats.envelopes_duplicate), 1);
    zmq_close(d);
}

Test(server, unenrolled_key_is_refused)
{
    struct cm_keypair stranger;
    struct cm_ack ack;
    cr_assert_eq(cm_keys_generate(&stranger), 0);
    void *d = dealer(&stranger);
    send_metrics(d, 1, "ctr-x");
    cr_assert_eq(recv_ack(d, 1000, &ack), -1, "a stranger got an answer");
    zmq_close(d);
    cr_assert_geq(atomic_load(&stats.zap_denied), 1);
    cr_assert_eq(atomic_load(&stats.envelopes_received), 0);
    cr_assert_eq(count("SELECT count(*) FROM container_samples"), 0);
    cr_assert_eq(count("SELECT count(*) FROM containers"), 0);
}

Test(server, agent_enrolled_after_start_gets_in)
{
    struct cm_keypair late;
    struct cm_ack ack;
    usleep(1100 * 1000); /* past the ZAP miss-refresh rate limit */
    cr_assert_eq(tu_pg_add_agent(conn, "late", &late), 0);
    void *d = dealer(&late);
    send_metrics(d, 1, "ctr-late");
    cr_assert_eq(recv_ack(d, 10000, &ack), 0, "no ack for a just-enrolled agent");
    cr_assert_eq(ack.status, CM_ACK_STORED);
    zmq_close(d);
}

static unsigned long long rejected_total(void)
{
    unsigned long long n = 0;
    for (int r = 0; r < CM_WIRE_REASON__COUNT; r++)
        n += atomic_load(&stats.envelopes_rejected[r]);
    return n;
}

Test(server, invalid_envelope_gets_rejected_ack_garbage_is_counted)
{
    void *d = dealer(&agent_kp);
    struct cm_ack ack;
    /* Protobuf-valid Envelope: version 99, seq 5, sent 1, no body. */
    const uint8_t bad_version[] = {0x08, 0x63, 0x10, 0x05, 0x18, 0x01};
    cr_assert_eq(zmq_send(d, bad_version, sizeof bad_version, 0), (int)sizeof bad_version);
    cr_assert_eq(recv_ack(d, 10000, &ack), 0, "no ack for an invalid envelope");
    cr_assert_eq(ack.status, CM_ACK_REJECTED);
    cr_assert_eq(ack.seq, 5);
    cr_assert_str_eq(ack.reason, "bad_version");
    cr_assert_eq(atomic_load(&stats.envelopes_rejected[CM_WIRE_BAD_VERSION]), 1);
    /* Bytes that are no Envelope at all carry no seq to ack: counted only. */
    const char junk[] = "\xff\xff\xff\xff garbage, not protobuf";
    cr_assert_eq(zmq_send(d, junk, sizeof junk - 1, 0), (int)sizeof junk - 1);
    cr_assert_eq(recv_ack(d, 500, &ack), -1);
    cr_assert_eq(rejected_total(), 2);
    cr_assert_eq(count("SELECT count(*) FROM container_samples"), 0);
    /* the connection still works afterwards */
    send_metrics(d, 6, "ctr-2");
    cr_assert_eq(recv_ack(d, 10000, &ack), 0, "no ack");
    cr_assert_eq(ack.status, CM_ACK_STORED);
    cr_assert_eq(ack.seq, 6);
    zmq_close(d);
    /* the writer counted both rejects against this agent's key */
    cr_assert_eq(count("SELECT rejected FROM agents WHERE name = 'a1'"), 2);
    cr_assert_eq(count("SELECT envelopes_received FROM agents WHERE name = 'a1'"), 3);
    cr_assert_eq(count("SELECT envelopes_stored FROM agents WHERE name = 'a1'"), 1);
}

/* Collector killed right after COMMIT, before the acks went out: the agent
 * never saw them, reconnects to a new collector with a fresh Hello and
 * resends everything, out of order. Nothing is stored twice. */
Test(server, acks_lost_after_commit_resends_to_a_restarted_collector_are_dropped)
{
    void *d = dealer(&agent_kp);
    for (uint64_t seq = 1; seq <= 5; seq++)
        send_metrics(d, seq, "ctr-1");
    for (int i = 0; i < 1000 && count("SELECT count(*) FROM container_samples") < 5; i++)
        usleep(10000);
    cr_assert_eq(count("SELECT count(*) FROM container_samples"), 5);
    zmq_close(d); /* the acks are lost with the connection */
    stop_core();
    start_core();
    d = dealer(&agent_kp);
    send_hello(d, 6);
    const uint64_t resend[] = {3, 1, 5, 2, 4, 7, 3};
    for (size_t i = 0; i < sizeof resend / sizeof resend[0]; i++)
        send_metrics(d, resend[i], "ctr-1");
    bool seen[8] = {false};
    for (int i = 0; i < 8; i++) {
        struct cm_ack ack;
        cr_assert_eq(recv_ack(d, 10000, &ack), 0, "ack %d missing", i);
        cr_assert_eq(ack.status, CM_ACK_STORED, "seq %llu", (unsigned long long)ack.seq);
        cr_assert(ack.seq >= 1 && ack.seq <= 7);
        seen[ack.seq] = true;
    }
    for (int seq = 1; seq <= 7; seq++)
        cr_assert(seen[seq], "no ack for seq %d", seq);
    zmq_close(d);
    cr_assert_eq(count("SELECT count(*) FROM container_samples"), 6, "1..5 once, and 7");
    cr_assert_eq(count("SELECT count(*) FROM agent_seqs"), 7);
    cr_assert_eq(count("SELECT duplicates_dropped FROM agents"), 6);
    cr_assert_eq(count("SELECT envelopes_received FROM agents"), 13);
    cr_assert_eq(count("SELECT last_seq FROM agents"), 7);
    cr_assert_eq(count("SELECT count(*) FROM agents WHERE hostname = 'host-1'"), 1);
}

static void expect_policy(void *d, uint32_t version)
{
    struct cm_server_msg m;
    cr_assert_eq(recv_msg(d, 10000, &m), 0, "no Policy");
    cr_assert_eq(m.kind, CM_SERVER_POLICY, "kind %d, not a Policy", m.kind);
    cr_assert_eq(m.body.policy.version, version);
    const struct col_rules *r = col_rulebook_acquire(col_core_rules(core));
    cr_assert_eq(m.body.policy.n, r->policy.n);
    for (size_t i = 0; i < r->policy.n; i++) {
        cr_assert_str_eq(m.body.policy.rules[i].id, r->policy.rules[i].id);
        cr_assert_str_eq(m.body.policy.rules[i].regex, r->policy.rules[i].regex);
    }
    col_rulebook_release(col_core_rules(core), r);
    cm_wire_server_close(&m);
}

Test(server, agent_gets_the_rules_after_its_hello_and_after_a_reload)
{
    struct cm_server_msg m;
    struct cm_ack ack;
    uint32_t v1 = col_rulebook_version(col_core_rules(core));
    cr_assert_gt(v1, 0);
    void *d = dealer(&agent_kp);
    send_hello(d, 1);
    cr_assert_eq(recv_msg(d, 10000, &m), 0, "no ack");
    cr_assert_eq(m.kind, CM_SERVER_ACK, "the ack comes first");
    cr_assert_eq(m.body.ack.seq, 1);
    expect_policy(d, v1);
    /* other envelopes are acked without a Policy */
    send_metrics(d, 2, "ctr-1");
    cr_assert_eq(recv_msg(d, 10000, &m), 0, "no ack");
    cr_assert_eq(m.kind, CM_SERVER_ACK);
    cr_assert_eq(recv_msg(d, 300, &m), -1, "a Policy without a Hello");

    /* a second agent that has only sent metrics also gets a reload's push */
    struct cm_keypair other;
    usleep(1100 * 1000); /* past the ZAP miss-refresh rate limit */
    cr_assert_eq(tu_pg_add_agent(conn, "a2", &other), 0);
    void *d2 = dealer(&other);
    send_metrics(d2, 1, "ctr-2");
    cr_assert_eq(recv_ack(d2, 10000, &ack), 0, "no ack");
    sleep(1); /* the new version is the load time in seconds, or one more */
    uv_async_send(&reload_async);
    for (int i = 0; i < 500 && atomic_load(&reloads_done) == 0; i++)
        usleep(10000);
    cr_assert_eq(atomic_load(&reloads_done), 1);
    uint32_t v2 = col_rulebook_version(col_core_rules(core));
    cr_assert_gt(v2, v1);
    expect_policy(d, v2);
    expect_policy(d2, v2);
    zmq_close(d2);
    zmq_close(d);
}

Test(server, bad_rules_file_stops_start_up_naming_file_and_rule)
{
    char dir[] = "/tmp/bw-rules-XXXXXX", path[64], err[512] = "";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/rules.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"rules\":[{\"id\":\"local.bad\",\"title\":\"t\",\"severity\":\"low\","
          "\"regex\":\"(unclosed\"}]}",
          f);
    fclose(f);
    stop_core();
    cfg.rules_file = path;
    uv_loop_t l2;
    struct col_core *c2 = NULL;
    uv_loop_init(&l2);
    int rc = col_core_start(&l2, &cfg, &server_kp, &stats, &c2, err, sizeof err);
    uv_run(&l2, UV_RUN_DEFAULT);
    uv_loop_close(&l2);
    cfg.rules_file = NULL;
    unlink(path);
    rmdir(dir);
    cr_assert_lt(rc, 0);
    cr_assert_null(c2);
    char want[128];
    snprintf(want, sizeof want, "rules file %s: rule local.bad: ", path);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "error '%s'", err);
}
