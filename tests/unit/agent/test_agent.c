/* test_agent.c - ag_run end to end on a fixture host root: --once --print
 * without collector or keys, --once against a real CURVE ROUTER (all acked ->
 * 0, rejected -> 1), seqs growing across runs, a sweep refused by the
 * collector delivered by the next run, a normal run stopped by SIGTERM
 * (unacked envelopes stay spooled), and the start-up refusals (unsafe key
 * file, no collector key). */
#include "agent/agent.h"
#include "agent/config.h"
#include "agent/spool.h"
#include "common/timeutil.h"
#include "tests/unit/agent/curve_router.h"
#include "tests/util/testutil.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static char key_path[4096], state_dir[4096], out_path[4096];

static void setup(void)
{
    dir = tu_mkdtemp();
    cr_assert_not_null(dir);
    snprintf(key_path, sizeof key_path, "%s/agent.key", dir);
    snprintf(state_dir, sizeof state_dir, "%s/state", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
}

static void teardown(void)
{
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(agent, .init = setup, .fini = teardown, .timeout = 40);

/* Runs ag_run with fd `fd` (1 or 2) going to out_path; returns the code. */
static int run_captured(int fd, const char **args)
{
    int argc = 0;
    while (args[argc])
        argc++;
    struct ag_config cfg;
    char err[CM_CONFIG_ERRLEN] = "";
    bool help = false;
    cr_assert_eq(ag_config_load(&cfg, argc, (char **)args, &help, err, sizeof err), 0, "%s", err);
    fflush(fd == 1 ? stdout : stderr);
    int saved = dup(fd);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(saved >= 0 && out >= 0);
    dup2(out, fd);
    close(out);
    int code = ag_run(&cfg);
    fflush(fd == 1 ? stdout : stderr);
    dup2(saved, fd);
    close(saved);
    ag_config_free(&cfg);
    return code;
}

static const char *fixture_root(void)
{
    static char root[4096];
    snprintf(root, sizeof root, "%s", tu_fixture_path("hostroot-v2"));
    return root;
}

static int print_once(const char *max, cJSON **doc)
{
    const char *args[] = {
        "x", "--once",      "--print", "--host-root", fixture_root(), "--max-samples-per-envelope",
        max, "--log-level", "error",   NULL};
    int code = run_captured(1, args);
    char *text = tu_read_file(out_path, NULL);
    cr_assert_not_null(text);
    *doc = cJSON_Parse(text);
    cr_assert_not_null(*doc, "stdout is not one JSON document: %s", text);
    free(text);
    return code;
}

static int count_samples(const cJSON *metrics)
{
    int n = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, metrics)
    {
        const cJSON *samples = cJSON_GetObjectItem(m, "samples");
        cr_assert(cJSON_IsArray(samples));
        cr_assert(cJSON_IsString(cJSON_GetObjectItem(m, "collected_at")));
        n += cJSON_GetArraySize(samples);
    }
    return n;
}

Test(agent, once_print_needs_no_collector_or_keys)
{
    cJSON *doc = NULL;
    cr_assert_eq(print_once("1000", &doc), 0);
    const cJSON *hello = cJSON_GetObjectItem(doc, "hello");
    cr_assert_str_eq(cJSON_GetObjectItem(hello, "cgroup_mode")->valuestring, "v2");
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(hello, "hostname")));
    const cJSON *metrics = cJSON_GetObjectItem(doc, "metrics");
    cr_assert_eq(cJSON_GetArraySize(metrics), 1);
    int total = count_samples(metrics);
    cr_assert_gt(total, 1, "the fixture has several containers");
    const cJSON *s =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(metrics, 0), "samples"), 0);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(s, "container_id")));
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(s, "cpu_usage_ns")));
    /* the first inventory pass, right after the sweep: one complete batch */
    const cJSON *inv = cJSON_GetObjectItem(doc, "inventory");
    cr_assert_eq(cJSON_GetArraySize(inv), 1);
    const cJSON *batch = cJSON_GetArrayItem(inv, 0);
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(batch, "complete")));
    cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(batch, "containers")), total,
                 "every container of the sweep is in the inventory");
    cr_expect(cJSON_IsObject(cJSON_GetObjectItem(batch, "host")));
    cJSON_Delete(doc);

    /* split into one envelope per sample, nothing lost */
    cr_assert_eq(print_once("1", &doc), 0);
    metrics = cJSON_GetObjectItem(doc, "metrics");
    cr_assert_eq(cJSON_GetArraySize(metrics), total);
    cr_assert_eq(count_samples(metrics), total);
    cJSON_Delete(doc);
}

static void write_key(mode_t mode)
{
    struct cm_keypair kp;
    char err[256];
    cr_assert_eq(cm_keys_generate(&kp), 0);
    cr_assert_eq(cm_keys_write_secret(key_path, &kp, err, sizeof err), 0, "%s", err);
    cr_assert_eq(chmod(key_path, mode), 0);
}

static int send_once(struct tr_router *r)
{
    const char *args[] = {"x",
                          "--once",
                          "--host-root",
                          fixture_root(),
                          "--collector",
                          r->endpoint,
                          "--collector-public-key",
                          r->keys.public_z85,
                          "--key-file",
                          key_path,
                          "--state-dir",
                          state_dir,
                          "--max-samples-per-envelope",
                          "1",
                          NULL};
    return run_captured(2, args);
}

Test(agent, once_sends_hello_then_samples_and_exits_0_when_acked)
{
    write_key(0600);
    struct tr_router r = {.answer = CM_ACK_STORED};
    tr_router_start(&r);
    int code = send_once(&r);
    int code2 = send_once(&r);
    tr_router_stop(&r);
    char *log = tu_read_file(out_path, NULL);
    cr_assert_eq(code, 0, "first --once run failed: %s", log);
    cr_assert_eq(code2, 0, "second --once run failed: %s", log);
    free(log);
    cr_assert_eq(r.bad, 0);
    cr_assert_eq(r.n % 2, 0);
    size_t per_run = r.n / 2;
    cr_assert_geq(per_run, 4, "Hello, at least two one-sample envelopes and an inventory");
    for (size_t run = 0; run < 2; run++) {
        size_t first = run * per_run;
        cr_assert_eq(r.kinds[first], CM_BODY_HELLO, "Hello first on each connection");
        size_t inventories = 0;
        for (size_t i = first + 1; i < first + per_run; i++) {
            if (r.kinds[i] == CM_BODY_INVENTORY) { /* the first pass, after the sweep */
                inventories++;
                continue;
            }
            cr_assert_eq(r.kinds[i], CM_BODY_METRICS);
            cr_assert_eq(r.samples[i], 1, "max_samples_per_envelope=1");
        }
        cr_assert_geq(inventories, 1, "each run sends a full inventory after its sweep");
    }
    /* The sweep is spooled before the connection is up, so each run's Hello
     * (numbered on connect) comes first on the wire with the highest seq. */
    for (size_t run = 0; run < 2; run++) {
        size_t first = run * per_run;
        for (size_t i = first + 2; i < first + per_run; i++)
            cr_assert_gt(r.seqs[i], r.seqs[i - 1], "records go out in seq order");
        cr_assert_gt(r.seqs[first], r.seqs[first + per_run - 1]);
    }
    cr_assert_gt(r.seqs[per_run + 1], r.seqs[0], "seqs grow across runs");
}

static int count_kind(const struct tr_router *r, enum cm_body_kind kind)
{
    int k = 0;
    for (size_t i = 0; i < r->n; i++)
        k += r->kinds[i] == kind;
    return k;
}

/* The sweep of a run whose key was refused stays spooled; the next run
 * delivers it along with its own: nothing lost. */
Test(agent, a_refused_run_leaves_its_sweep_for_the_next)
{
    cJSON *doc = NULL;
    cr_assert_eq(print_once("1", &doc), 0);
    int per_sweep = count_samples(cJSON_GetObjectItem(doc, "metrics"));
    cJSON_Delete(doc);
    write_key(0600);
    struct tr_router deny = {.deny = true}, ok = {.answer = CM_ACK_STORED};
    tr_router_start(&deny);
    cr_assert_eq(send_once(&deny), 1);
    tr_router_stop(&deny);
    tr_router_start(&ok);
    int code = send_once(&ok);
    tr_router_stop(&ok);
    char *log = tu_read_file(out_path, NULL);
    cr_assert_eq(code, 0, "%s", log);
    free(log);
    cr_assert_eq(count_kind(&ok, CM_BODY_METRICS), 2 * per_sweep, "both sweeps arrive, once each");
}

/* One --once run with a key of `key_mode` against a ROUTER that answers
 * `answer`; returns the exit code, the router's record in *r. */
static int once_against(mode_t key_mode, enum cm_ack_status answer, struct tr_router *r)
{
    write_key(key_mode);
    r->answer = answer;
    tr_router_start(r);
    int code = send_once(r);
    tr_router_stop(r);
    return code;
}

static void assert_log_has(const char *needle)
{
    char *log = tu_read_file(out_path, NULL);
    cr_assert_not_null(log);
    cr_assert(strstr(log, needle) != NULL, "'%s' not logged: %s", needle, log);
    free(log);
}

Test(agent, once_exits_1_when_rejected)
{
    struct tr_router r = {0};
    cr_assert_eq(once_against(0600, CM_ACK_REJECTED, &r), 1);
    cr_assert_gt(r.n, 0);
    assert_log_has("test says no");
}

Test(agent, refuses_a_key_file_others_can_read)
{
    struct tr_router r = {0};
    cr_assert_neq(once_against(0644, CM_ACK_STORED, &r), 0);
    cr_assert_eq(r.n, 0, "nothing may be sent with an unsafe key");
    assert_log_has("chmod 600");
}

Test(agent, once_fails_fast_when_the_collector_refuses_our_key)
{
    struct tr_router r = {.deny = true};
    int64_t t0 = cm_time_mono_ns();
    cr_assert_eq(once_against(0600, CM_ACK_STORED, &r), 1);
    cr_assert_lt(cm_time_mono_ns() - t0, (int64_t)AG_ONCE_WAIT_MS * 1000000,
                 "a refused key should not wait for the ack deadline");
    cr_assert_geq(r.denials, 1);
    cr_assert_eq(r.n, 0);
    assert_log_has("collector refused our key: is this agent enrolled?");
}

Test(agent, needs_the_collector_key_to_send)
{
    write_key(0600);
    const char *args[] = {"x",          "--once", "--host-root", fixture_root(),
                          "--key-file", key_path, "--state-dir", state_dir,
                          NULL};
    cr_assert_neq(run_captured(2, args), 0);
    assert_log_has("collector_public_key");
}

static void *send_sigterm(void *arg)
{
    usleep(1500 * 1000);
    kill(getpid(), SIGTERM);
    return NULL;
}

/* Runs the daemon (sweeps every 100 ms, heartbeats every second, spool
 * fsync `fsync`) against r until SIGTERM after 1.5 s; asserts exit 0. */
static void run_until_sigterm(struct tr_router *r, const char *fsync)
{
    write_key(0600);
    tr_router_start(r);
    const char *args[] = {"x",
                          "--host-root",
                          fixture_root(),
                          "--collector",
                          r->endpoint,
                          "--collector-public-key",
                          r->keys.public_z85,
                          "--key-file",
                          key_path,
                          "--state-dir",
                          state_dir,
                          "--interval-ms",
                          "100ms",
                          "--heartbeat-interval-ms",
                          "1s",
                          "--spool-fsync",
                          fsync,
                          NULL};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, send_sigterm, NULL), 0);
    int code = run_captured(2, args);
    pthread_join(t, NULL);
    tr_router_stop(r);
    char *log = tu_read_file(out_path, NULL);
    cr_assert_eq(code, 0, "%s", log);
    cr_assert(strstr(log, "stopping") != NULL, "%s", log);
    free(log);
}

Test(agent, runs_until_sigterm_with_heartbeats)
{
    struct tr_router r = {.answer = CM_ACK_STORED};
    run_until_sigterm(&r, "always");
    cr_assert_gt(r.n, 2);
    cr_assert_eq(r.kinds[0], CM_BODY_HELLO);
    cr_assert_geq(count_kind(&r, CM_BODY_METRICS), 3, "sweeps every 100 ms for 1.5 s");
    cr_assert_geq(count_kind(&r, CM_BODY_HEARTBEAT), 1);
    cr_assert_eq(r.hb.unacked, 0, "everything before the heartbeat was acked");
    cr_assert_gt(r.hb.envelopes_total, 0);
}

/* Nobody acks: SIGTERM still exits 0 and every envelope stays spooled. */
Test(agent, sigterm_keeps_the_unacked_in_the_spool)
{
    struct tr_router r = {.silent = true};
    run_until_sigterm(&r, "interval");
    int metrics = count_kind(&r, CM_BODY_METRICS);
    cr_assert_geq(metrics, 3);

    char spool_dir[4200], err[256] = "";
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", state_dir);
    struct ag_spool_opts so = {.dir = spool_dir, .max_bytes = 256u << 20};
    struct ag_spool *sp = NULL;
    struct ag_spool_stats st;
    cr_assert_eq(ag_spool_open(&so, &sp, err, sizeof err), 0, "%s", err);
    ag_spool_get_stats(sp, &st);
    ag_spool_free(sp);
    cr_assert_geq(st.pending, (uint64_t)metrics, "what was sent and not acked is still spooled");
    cr_assert_eq(st.pending, st.envelopes_total, "nothing was acked or dropped");
    cr_assert_eq(st.recovered_cut_bytes, 0, "a clean stop leaves no torn tail");
}
