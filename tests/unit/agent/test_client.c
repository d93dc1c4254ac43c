/* test_client.c - the agent's DEALER against a real CURVE ROUTER on
 * 127.0.0.1: Hello on handshake, an envelope, Acks back through the
 * callback; nothing is queued while disconnected; a wrong server key never
 * connects. */
#include "agent/client.h"
#include "common/err.h"
#include "common/timeutil.h"
#include "tests/unit/agent/curve_router.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <uv.h>

TestSuite(client, .timeout = 30);

struct harness {
    uv_loop_t loop;
    uv_timer_t guard;
    struct ag_client *client;
    int connects;
    int acks;
    uint64_t acked[8];
    enum cm_ack_status status[8];
    bool timed_out;
    int send_rc[2];
    /* policy test: what on_policy saw */
    int policies;
    uint32_t policy_version;
    size_t policy_rules;
    char first_rule[CM_RULE_ID_MAX + 1];
};

static void send_env(struct harness *h, struct cm_envelope *env, int slot)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(cm_wire_encode_envelope(env, &buf, &len), 0);
    h->send_rc[slot] = ag_client_send(h->client, buf, len);
    free(buf);
}

static void finish(struct harness *h)
{
    ag_client_free(h->client);
    h->client = NULL;
    uv_close((uv_handle_t *)&h->guard, NULL);
}

/* As the agent does: Hello first on every connection, then data. */
static void on_connect(void *data)
{
    struct harness *h = data;
    h->connects++;
    struct cm_envelope hello = {
        .version = 1, .seq = 1, .sent_ns = cm_time_now_ns(), .kind = CM_BODY_HELLO};
    snprintf(hello.body.hello.hostname, sizeof hello.body.hello.hostname, "test-host");
    snprintf(hello.body.hello.agent_version, sizeof hello.body.hello.agent_version, "t");
    hello.body.hello.cgroup_mode = CM_CGROUP_V2;
    send_env(h, &hello, 0);

    struct cm_sample s;
    memset(&s, 0, sizeof s);
    snprintf(s.container_id, sizeof s.container_id, "abc123");
    snprintf(s.cgroup_path, sizeof s.cgroup_path, "/docker/abc123");
    s.runtime = CM_RT_DOCKER;
    s.ts_ns = cm_time_now_ns();
    cm_sample_set(&s, CM_F_CPU_USAGE_NS, 12345);
    struct cm_envelope m = {
        .version = 1, .seq = 2, .sent_ns = cm_time_now_ns(), .kind = CM_BODY_METRICS};
    m.body.metrics.collected_ns = s.ts_ns;
    m.body.metrics.samples = &s;
    m.body.metrics.n = 1;
    send_env(h, &m, 1);
}

static void on_ack(void *data, const struct cm_ack *ack)
{
    struct harness *h = data;
    if (h->acks < 8) {
        h->acked[h->acks] = ack->seq;
        h->status[h->acks] = ack->status;
    }
    if (++h->acks == 2) finish(h);
}

static void on_policy(void *data, const struct cm_policy *p)
{
    struct harness *h = data;
    h->policies++;
    h->policy_version = p->version;
    h->policy_rules = p->n;
    if (p->n) snprintf(h->first_rule, sizeof h->first_rule, "%s", p->rules[0].id);
    struct cm_envelope ack = {
        .version = 1, .seq = 3, .sent_ns = cm_time_now_ns(), .kind = CM_BODY_POLICY_ACK};
    ack.body.policy_ack.version = p->version;
    ack.body.policy_ack.accepted = true;
    ack.body.policy_ack.rules_compiled = (uint32_t)p->n;
    send_env(h, &ack, 0);
}

static void on_guard(uv_timer_t *t)
{
    struct harness *h = t->data;
    h->timed_out = true;
    finish(h);
}

static void run_client(struct harness *h, const char *endpoint, const char *server_key,
                       uint64_t guard_ms)
{
    struct cm_keypair mine;
    char err[256] = "";
    cr_assert_eq(cm_keys_generate(&mine), 0);
    cr_assert_eq(uv_loop_init(&h->loop), 0);
    uv_timer_init(&h->loop, &h->guard);
    h->guard.data = h;
    uv_timer_start(&h->guard, on_guard, guard_ms, 0);
    struct ag_client_opts opts = {.endpoint = endpoint,
                                  .server_public_z85 = server_key,
                                  .keys = &mine,
                                  .on_connect = on_connect,
                                  .on_ack = on_ack,
                                  .on_policy = on_policy,
                                  .data = h};
    cr_assert_eq(ag_client_new(&h->loop, &opts, &h->client, err, sizeof err), 0, "%s", err);
    cr_assert(!ag_client_is_connected(h->client));
    uint8_t junk[4] = {1, 2, 3, 4};
    cr_assert_eq(ag_client_send(h->client, junk, sizeof junk), -ENOTCONN,
                 "nothing is queued before the handshake");
    uv_run(&h->loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&h->loop), 0, "every handle was closed");
}

Test(client, hello_envelope_and_acks_over_curve)
{
    struct tr_router r = {.answer = CM_ACK_STORED};
    tr_router_start(&r);
    struct harness h = {0};
    run_client(&h, r.endpoint, r.keys.public_z85, 15000);
    tr_router_stop(&r);

    cr_assert(!h.timed_out, "no acks within 15 s (connects=%d acks=%d)", h.connects, h.acks);
    cr_assert_eq(h.connects, 1);
    cr_assert_eq(h.send_rc[0], 0);
    cr_assert_eq(h.send_rc[1], 0);
    cr_assert_eq(h.acks, 2);
    cr_assert_eq(h.acked[0], 1);
    cr_assert_eq(h.acked[1], 2);
    cr_assert_eq(h.status[0], CM_ACK_STORED);
    cr_assert_eq(r.bad, 0);
    cr_assert_eq(r.n, 2);
    cr_assert_eq(r.kinds[0], CM_BODY_HELLO, "Hello comes first");
    cr_assert_str_eq(r.hostname, "test-host");
    cr_assert_eq(r.kinds[1], CM_BODY_METRICS);
    cr_assert_eq(r.samples[1], 1);
}

Test(client, policy_pushed_after_hello_reaches_the_callback)
{
    struct cm_rule rules[2] = {0};
    snprintf(rules[0].id, sizeof rules[0].id, "ssh.failed_password");
    rules[0].title = "SSH failed password";
    snprintf(rules[0].severity, sizeof rules[0].severity, "medium");
    rules[0].sources = 1u << CM_LOG_SRC_AUTH;
    rules[0].regex = "Failed password for (?<user>\\S+)";
    snprintf(rules[1].id, sizeof rules[1].id, "kernel.oom_kill");
    rules[1].title = "OOM kill";
    snprintf(rules[1].severity, sizeof rules[1].severity, "high");
    rules[1].regex = "Out of memory: Killed process";
    struct cm_policy pol = {.version = 7, .rules = rules, .n = 2};
    struct tr_router r = {.answer = CM_ACK_STORED, .policy = &pol};
    tr_router_start(&r);
    struct harness h = {0};
    run_client(&h, r.endpoint, r.keys.public_z85, 15000);
    /* the PolicyAck was sent before the second ack closed the client */
    for (int i = 0; i < 200 && atomic_load(&r.policy_acks) == 0; i++)
        usleep(10 * 1000);
    tr_router_stop(&r);

    cr_assert(!h.timed_out, "no acks within 15 s");
    cr_assert_eq(r.bad, 0);
    cr_assert_eq(h.policies, 1, "one Policy per Hello");
    cr_assert_eq(h.policy_version, 7);
    cr_assert_eq(h.policy_rules, 2);
    cr_assert_str_eq(h.first_rule, "ssh.failed_password");
    cr_assert_eq(atomic_load(&r.policy_acks), 1);
    cr_assert_eq(r.policy_ack.version, 7);
    cr_assert(r.policy_ack.accepted);
    cr_assert_eq(r.policy_ack.rules_compiled, 2);
}

Test(client, wrong_server_key_never_connects)
{
    struct tr_router r = {.answer = CM_ACK_STORED};
    tr_router_start(&r);
    struct cm_keypair other;
    cr_assert_eq(cm_keys_generate(&other), 0);
    struct harness h = {0};
    run_client(&h, r.endpoint, other.public_z85, 1500);
    tr_router_stop(&r);
    cr_assert(h.timed_out);
    cr_assert_eq(h.connects, 0, "a handshake with the wrong server key succeeded");
    cr_assert_eq(r.n, 0);
}

Test(client, bad_keys_and_endpoint_are_refused)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    struct cm_keypair mine, server;
    cr_assert_eq(cm_keys_generate(&mine), 0);
    cr_assert_eq(cm_keys_generate(&server), 0);
    struct ag_client *c = NULL;
    char err[256] = "";
    struct ag_client_opts opts = {
        .endpoint = "tcp://127.0.0.1:1", .server_public_z85 = "short", .keys = &mine};
    cr_assert_lt(ag_client_new(&loop, &opts, &c, err, sizeof err), 0);
    cr_assert_null(c);
    opts.server_public_z85 = server.public_z85;
    opts.endpoint = "nonsense";
    cr_assert_eq(ag_client_new(&loop, &opts, &c, err, sizeof err), CM_ECONFIG);
    cr_assert(strstr(err, "collector") != NULL, "%s", err);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

/* The agent's key must not be readable by others; the client is never
 * started with such a key (ag_run reads it with cm_keys_read_secret). */
Test(client, key_file_readable_by_others_is_refused)
{
    char *dir = tu_mkdtemp();
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s/agent.key", dir);
    struct cm_keypair kp, back;
    cr_assert_eq(cm_keys_generate(&kp), 0);
    cr_assert_eq(cm_keys_write_secret(path, &kp, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cm_keys_read_secret(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(back.public_z85, kp.public_z85);
    cr_assert_eq(chmod(path, 0640), 0);
    cr_assert_eq(cm_keys_read_secret(path, &back, err, sizeof err), CM_EPERM);
    cr_assert(strstr(err, "chmod 600") != NULL, "%s", err);
    tu_rm_rf(dir);
    free(dir);
}
