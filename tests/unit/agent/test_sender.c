/* test_sender.c - reliable delivery against a real CURVE ROUTER on
 * 127.0.0.1 with a real spool in a temporary state directory: everything
 * submitted arrives and is acked; lost acks are resent after ack_timeout; a
 * router restart brings Hello and then the unacked records, oldest first; a
 * rejection is final; the window bounds what is in flight; a restarted
 * sender sends what the last one left; heartbeats carry the spool's
 * counters; a full spool drops the oldest and counts it; acks reach the
 * disk within a second even with fsync=always. */
#include "agent/sender.h"
#include "common/err.h"
#include "common/timeutil.h"
#include "tests/unit/agent/curve_router.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/stat.h>
#include <uv.h>

static char *dir;
static char state_dir[4096];

static void setup(void)
{
    dir = tu_mkdtemp();
    cr_assert_not_null(dir);
    snprintf(state_dir, sizeof state_dir, "%s/state", dir);
}

static void teardown(void)
{
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(sender, .init = setup, .fini = teardown, .timeout = 30);

struct harness;
/* Called every few ms on the loop; returns true when the test is done. */
typedef bool (*step_fn)(struct harness *h);

struct harness {
    uv_loop_t loop;
    uv_timer_t guard, step_timer;
    struct ag_sender *s;
    struct tr_router *r;
    step_fn step;
    int phase;
    int64_t t0_ms, phase_ms;
    bool timed_out;
    uint64_t submitted[256]; /* seqs in submit order */
    size_t n_submitted;
    int progress; /* on_progress calls */
    struct ag_sender_stats start, final;
};

static int64_t now_ms(void)
{
    return cm_time_mono_ns() / 1000000;
}

/* Submits one metrics envelope of `samples` samples; records its seq. */
static void submit(struct harness *h, size_t samples)
{
    static struct cm_sample ss[64];
    cr_assert_leq(samples, 64);
    for (size_t i = 0; i < samples; i++) {
        memset(&ss[i], 0, sizeof ss[i]);
        snprintf(ss[i].container_id, sizeof ss[i].container_id, "c%zu", i);
        snprintf(ss[i].cgroup_path, sizeof ss[i].cgroup_path, "/docker/c%zu", i);
        ss[i].runtime = CM_RT_DOCKER;
        ss[i].ts_ns = cm_time_now_ns();
        cm_sample_set(&ss[i], CM_F_CPU_USAGE_NS, 1000 + i);
    }
    struct cm_envelope env = {.kind = CM_BODY_METRICS};
    env.body.metrics.collected_ns = cm_time_now_ns();
    env.body.metrics.samples = ss;
    env.body.metrics.n = samples;
    cr_assert_eq(ag_sender_submit(h->s, &env, (uint32_t)samples), 0);
    cr_assert_gt(env.seq, 0);
    if (h->n_submitted > 0) cr_assert_gt(env.seq, h->submitted[h->n_submitted - 1]);
    if (h->n_submitted < 256) h->submitted[h->n_submitted++] = env.seq;
}

static void finish(struct harness *h)
{
    ag_sender_get_stats(h->s, &h->final);
    ag_sender_free(h->s);
    h->s = NULL;
    uv_close((uv_handle_t *)&h->guard, NULL);
    uv_close((uv_handle_t *)&h->step_timer, NULL);
}

static void on_step(uv_timer_t *t)
{
    struct harness *h = t->data;
    if (h->s && h->step(h)) finish(h);
}

static void on_guard(uv_timer_t *t)
{
    struct harness *h = t->data;
    h->timed_out = true;
    finish(h);
}

static void on_progress(void *data)
{
    struct harness *h = data;
    h->progress++;
}

struct run_opts {
    size_t window;
    uint64_t ack_timeout_ms;
    uint64_t spool_max_bytes, spool_segment_bytes;
    enum ag_spool_fsync fsync;
};

/* Runs a sender against r until step says done or guard_ms pass. */
static void run(struct harness *h, struct tr_router *r, const struct run_opts *ro, step_fn step,
                uint64_t guard_ms)
{
    struct cm_keypair mine;
    struct cm_hello hello = {.cgroup_mode = CM_CGROUP_V2};
    char err[512] = "";
    snprintf(hello.hostname, sizeof hello.hostname, "sender-test");
    snprintf(hello.agent_version, sizeof hello.agent_version, "t");
    cr_assert_eq(cm_keys_generate(&mine), 0);
    h->r = r;
    h->step = step;
    cr_assert_eq(uv_loop_init(&h->loop), 0);
    uv_timer_init(&h->loop, &h->guard);
    uv_timer_init(&h->loop, &h->step_timer);
    h->guard.data = h->step_timer.data = h;
    struct ag_sender_opts o = {
        .state_dir = state_dir,
        .endpoint = r->endpoint,
        .server_public_z85 = r->keys.public_z85,
        .keys = &mine,
        .hello = &hello,
        .spool_max_bytes = ro->spool_max_bytes ? ro->spool_max_bytes : 16u << 20,
        .spool_segment_bytes = ro->spool_segment_bytes,
        .spool_fsync = ro->fsync,
        .window = ro->window,
        .ack_timeout_ms = ro->ack_timeout_ms,
        .on_progress = on_progress,
        .data = h,
    };
    cr_assert_eq(ag_sender_new(&h->loop, &o, &h->s, err, sizeof err), 0, "%s", err);
    ag_sender_get_stats(h->s, &h->start);
    h->t0_ms = h->phase_ms = now_ms();
    uv_timer_start(&h->guard, on_guard, guard_ms, 0);
    uv_timer_start(&h->step_timer, on_step, 0, 5);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&h->loop), 0, "every handle was closed");
}

static void next_phase(struct harness *h)
{
    h->phase++;
    h->phase_ms = now_ms();
}

/* How often the router received `seq`. */
static int times_seen(struct tr_router *r, uint64_t seq)
{
    int k = 0;
    for (size_t i = 0; i < r->n; i++)
        k += r->seqs[i] == seq && r->kinds[i] == CM_BODY_METRICS;
    return k;
}

static size_t metrics_seen(struct tr_router *r)
{
    size_t k = 0, n = atomic_load(&r->n);
    for (size_t i = 0; i < n; i++)
        k += r->kinds[i] == CM_BODY_METRICS;
    return k;
}

static bool step_submit_n_then_drain(struct harness *h, size_t n)
{
    if (h->phase == 0) {
        for (size_t i = 0; i < n; i++)
            submit(h, 1);
        next_phase(h);
    }
    return ag_sender_is_drained(h->s);
}

static bool step_20(struct harness *h)
{
    return step_submit_n_then_drain(h, 20);
}

Test(sender, delivers_everything_and_drains_the_spool)
{
    struct tr_router r = {.answer = CM_ACK_STORED};
    tr_router_start(&r);
    struct harness h = {0};
    struct run_opts ro = {0};
    run(&h, &r, &ro, step_20, 8000);
    tr_router_stop(&r);
    cr_assert(!h.timed_out, "not drained in 8 s: acked=%llu sent=%llu",
              (unsigned long long)h.final.acked, (unsigned long long)h.final.sent);
    cr_assert_eq(r.bad, 0);
    cr_assert_eq(r.kinds[0], CM_BODY_HELLO, "Hello comes first");
    cr_assert_str_eq(r.hostname, "sender-test");
    for (size_t i = 0; i < h.n_submitted; i++)
        cr_assert_eq(times_seen(&r, h.submitted[i]), 1, "seq %llu",
                     (unsigned long long)h.submitted[i]);
    cr_assert_eq(metrics_seen(&r), 20);
    cr_assert_eq(h.final.acked, 20);
    cr_assert_eq(h.final.sent, 20);
    cr_assert_eq(h.final.resent, 0);
    cr_assert_eq(h.final.in_flight, 0);
    cr_assert_eq(h.final.spool.pending, 0);
    cr_assert_eq(h.final.spool.envelopes_total, 20);
    cr_assert_eq(h.final.spool.samples_total, 20);
    cr_assert_eq(h.final.connects, 1);
    cr_assert_geq(h.progress, 20, "on_progress after each ack");
    uint64_t timed = 0;
    for (unsigned b = 0; b < AG_SENDER_ACK_BUCKETS; b++)
        timed += h.final.ack_us[b];
    cr_assert_eq(timed, 20, "every ack's latency is in the histogram");
    uint64_t p99 = ag_sender_ack_quantile_us(h.final.ack_us, 0.99);
    cr_assert(p99 > 0 && p99 < 8000000, "p99 %llu us within the run", (unsigned long long)p99);
    char spool[4200];
    struct stat st;
    snprintf(spool, sizeof spool, "%s/spool", state_dir);
    cr_assert_eq(stat(spool, &st), 0, "the spool lives under <state_dir>/spool");
    cr_assert(S_ISDIR(st.st_mode));
}

Test(sender, ack_latency_histogram_quantiles)
{
    uint64_t hist[AG_SENDER_ACK_BUCKETS] = {0};
    cr_assert_eq(ag_sender_ack_quantile_us(hist, 0.5), 0, "empty");
    for (uint64_t us = 0; us < 4; us++)
        cr_assert_eq(ag_sender_ack_bucket(us), us);
    unsigned prev = 0;
    for (uint64_t us = 4; us < 1000000; us = us * 9 / 8 + 1) { /* monotonic, <= 25 % wide */
        unsigned b = ag_sender_ack_bucket(us);
        cr_assert_geq(b, prev);
        prev = b;
        hist[b] = 1;
        uint64_t up = ag_sender_ack_quantile_us(hist, 1.0);
        cr_assert(up > us && up <= us + us / 4 + 1, "us=%llu bound=%llu", (unsigned long long)us,
                  (unsigned long long)up);
        hist[b] = 0;
    }
    cr_assert_eq(ag_sender_ack_bucket(UINT64_MAX), AG_SENDER_ACK_BUCKETS - 1);
    hist[ag_sender_ack_bucket(100)] = 98; /* 98 acks at 100 us, 2 at 10 ms */
    hist[ag_sender_ack_bucket(10000)] = 2;
    uint64_t p50 = ag_sender_ack_quantile_us(hist, 0.5),
             p99 = ag_sender_ack_quantile_us(hist, 0.99);
    cr_assert(p50 > 100 && p50 <= 125, "p50 %llu", (unsigned long long)p50);
    cr_assert(p99 > 10000 && p99 <= 12500, "p99 %llu", (unsigned long long)p99);
}

static bool step_3(struct harness *h)
{
    return step_submit_n_then_drain(h, 3);
}

Test(sender, lost_acks_are_resent_after_the_ack_timeout)
{
    struct tr_router r = {.answer = CM_ACK_STORED, .withhold = 3};
    tr_router_start(&r);
    struct harness h = {0};
    struct run_opts ro = {.ack_timeout_ms = 300};
    run(&h, &r, &ro, step_3, 8000);
    int64_t took = now_ms() - h.t0_ms;
    tr_router_stop(&r);
    cr_assert(!h.timed_out, "not drained: sent=%llu resent=%llu", (unsigned long long)h.final.sent,
              (unsigned long long)h.final.resent);
    cr_assert_geq(took, 300, "resent before the ack timeout");
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(times_seen(&r, h.submitted[i]), 2, "seq %llu not resent exactly once",
                     (unsigned long long)h.submitted[i]);
    cr_assert_eq(h.final.resent, 3);
    cr_assert_eq(h.final.sent, 6);
    cr_assert_geq(h.final.timeouts, 1);
    cr_assert_eq(h.final.acked, 3);
    cr_assert_eq(h.final.spool.pending, 0);
}

static bool step_1_then_wait_1600ms(struct harness *h)
{
    if (h->phase == 0) {
        submit(h, 1);
        next_phase(h);
    }
    return now_ms() - h->t0_ms >= 1600;
}

/* A collector that never acks must not get a resend every ack_timeout_ms:
 * the wait doubles (150, 300, 600 ms ...), so 1.6 s see three resends, not
 * ten. */
Test(sender, consecutive_timeouts_back_off)
{
    struct tr_router r = {.answer = CM_ACK_STORED, .withhold = 1000};
    tr_router_start(&r);
    struct harness h = {0};
    struct run_opts ro = {.ack_timeout_ms = 150};
    run(&h, &r, &ro, step_1_then_wait_1600ms, 8000);
    tr_router_stop(&r);
    cr_assert(!h.timed_out);
    int seen = times_seen(&r, h.submitted[0]);
    cr_assert(seen >= 3 && seen <= 5, "sent %d times in 1.6 s (a fixed 150 ms timeout sends ~10)",
              seen);
    cr_assert(h.final.timeouts >= 2 && h.final.timeouts <= 4, "timeouts %llu",
              (unsigned long long)h.final.timeouts);
}

Test(sender, router_restart_brings_hello_then_the_unacked_oldest_first)
{
    struct tr_router r = {.answer = CM_ACK_STORED, .restart_after = 3};
    tr_router_start(&r);
    struct harness h = {0};
    struct run_opts ro = {.ack_timeout_ms = 8000}; /* the reconnect must do it, not the timer */
    run(&h, &r, &ro, step_3, 7000);
    tr_router_stop(&r);
    cr_assert(!h.timed_out, "not drained: connects=%llu", (unsigned long long)h.final.connects);
    cr_assert_eq(r.restart_at, 4, "Hello and three records before the restart");
    cr_assert_eq(r.n, 8, "Hello and three records after it");
    cr_assert_eq(r.kinds[4], CM_BODY_HELLO, "Hello first on the new connection");
    cr_assert_gt(r.seqs[4], r.seqs[0], "a new Hello takes a new seq");
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(r.kinds[5 + i], CM_BODY_METRICS);
        cr_assert_eq(r.seqs[5 + i], h.submitted[i], "resent oldest first");
    }
    cr_assert_eq(h.final.connects, 2);
    cr_assert_eq(h.final.timeouts, 0);
    cr_assert_eq(h.final.resent, 3);
    cr_assert_eq(h.final.acked, 3);
}

/* After draining, waits past two ack timeouts for any resend to show. */
static bool step_4_then_linger(struct harness *h)
{
    if (h->phase == 0) {
        for (size_t i = 0; i < 4; i++)
            submit(h, 1);
        next_phase(h);
    }
    if (h->phase == 1 && ag_sender_is_drained(h->s)) next_phase(h);
    return h->phase == 2 && now_ms() - h->phase_ms >= 700;
}

Test(sender, a_rejected_record_is_removed_and_never_resent)
{
    struct tr_router r = {.answer = CM_ACK_STORED, .reject_nth = 2};
    tr_router_start(&r);
    struct harness h = {0};
    struct run_opts ro = {.ack_timeout_ms = 300};
    run(&h, &r, &ro, step_4_then_linger, 8000);
    tr_router_stop(&r);
    cr_assert(!h.timed_out);
    cr_assert_eq(times_seen(&r, h.submitted[1]), 1, "the rejected record was resent");
    cr_assert_eq(metrics_seen(&r), 4);
    cr_assert_eq(h.final.rejected, 1);
    cr_assert_eq(h.final.acked, 3);
    cr_assert_eq(h.final.resent, 0);
    cr_assert_eq(h.final.spool.pending, 0);
}

Test(sender, never_more_than_window_in_flight)
{
    struct tr_router r = {.answer = CM_ACK_STORED, .batch_idle_ms = 100};
    tr_router_start(&r);
    struct harness h = {0};
    struct run_opts ro = {.window = 4, .ack_timeout_ms = 5000};
    run(&h, &r, &ro, step_20, 9000);
    tr_router_stop(&r);
    cr_assert(!h.timed_out, "acked=%llu", (unsigned long long)h.final.acked);
    cr_assert_eq(r.max_waiting, 4, "the router held %zu unacked at once, window is 4",
                 r.max_waiting);
    cr_assert_eq(h.final.acked, 20);
    cr_assert_eq(h.final.resent, 0);
}

/* Phase 1 against a router that never answers: leaves three unacked. */
static bool step_3_unanswered(struct harness *h)
{
    if (h->phase == 0) {
        for (size_t i = 0; i < 3; i++)
            submit(h, 2);
        next_phase(h);
    }
    return metrics_seen(h->r) >= 3;
}

static bool step_2_more_then_drain(struct harness *h)
{
    return step_submit_n_then_drain(h, 2);
}

Test(sender, a_restarted_sender_sends_what_the_last_one_left)
{
    struct tr_router r1 = {.silent = true}, r2 = {.answer = CM_ACK_STORED};
    struct run_opts ro = {.ack_timeout_ms = 5000};
    struct harness h1 = {0}, h2 = {0};
    tr_router_start(&r1);
    run(&h1, &r1, &ro, step_3_unanswered, 5000);
    tr_router_stop(&r1);
    cr_assert(!h1.timed_out);
    cr_assert_eq(h1.final.spool.pending, 3);

    tr_router_start(&r2);
    run(&h2, &r2, &ro, step_2_more_then_drain, 8000);
    tr_router_stop(&r2);
    cr_assert(!h2.timed_out, "not drained after restart");
    cr_assert_eq(h2.start.spool.pending, 3, "the spool kept the unacked records");
    cr_assert_eq(h2.start.spool.recovered_records, 3);
    cr_assert_eq(r2.kinds[0], CM_BODY_HELLO);
    cr_assert_gt(r2.seqs[0], h1.submitted[2], "seqs keep growing across restarts");
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(times_seen(&r2, h1.submitted[i]), 1, "left record %zu not sent", i);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_gt(h2.submitted[i], h1.submitted[2], "seqs keep growing across restarts");
        cr_assert_eq(times_seen(&r2, h2.submitted[i]), 1);
    }
    for (size_t i = 2; i < r2.n; i++)
        cr_assert_gt(r2.seqs[i], r2.seqs[i - 1], "records go out oldest first");
    cr_assert_eq(h2.final.acked, 5);
    cr_assert_eq(h2.final.spool.envelopes_total, 5, "totals survive the restart");
    cr_assert_eq(h2.final.spool.samples_total, 8);
}

/* Three records unanswered, then a Heartbeat once they all arrived. */
static bool step_heartbeat(struct harness *h)
{
    if (step_3_unanswered(h) && h->phase == 1) {
        ag_sender_get_stats(h->s, &h->start);
        cr_assert_eq(ag_sender_heartbeat(h->s, 7), 0);
        next_phase(h);
    }
    return h->phase == 2 && atomic_load(&h->r->heartbeats) > 0;
}

Test(sender, heartbeat_carries_the_spool_counters)
{
    struct tr_router r = {.silent = true};
    tr_router_start(&r);
    struct harness h = {0};
    struct run_opts ro = {.ack_timeout_ms = 5000};
    run(&h, &r, &ro, step_heartbeat, 6000);
    tr_router_stop(&r);
    cr_assert(!h.timed_out);
    const struct ag_spool_stats *sp = &h.start.spool; /* as of the heartbeat */
    cr_assert_eq(r.hb.containers, 7);
    cr_assert_eq(r.hb.envelopes_total, 3);
    cr_assert_eq(r.hb.samples_total, 6);
    cr_assert_eq(r.hb.unacked, 3);
    cr_assert_eq(r.hb.unacked, sp->pending);
    cr_assert_eq(r.hb.spool_floor_seq, h.submitted[0], "nothing acked: the floor is the oldest");
    cr_assert_eq(r.hb.spool_floor_seq, sp->floor_seq);
    cr_assert_eq(r.hb.spool_bytes, sp->bytes);
    cr_assert_gt(r.hb.spool_bytes, 0);
    cr_assert_eq(r.hb.spool_dropped_envelopes, 0);
    cr_assert_eq(r.hb.spool_dropped_samples, 0);
    cr_assert_eq(h.start.in_flight, 3);
}

/* Big envelopes into a small spool while nobody acks. */
static bool step_overfill(struct harness *h)
{
    if (h->phase == 0) {
        for (size_t i = 0; i < 120; i++)
            submit(h, 64);
        ag_sender_get_stats(h->s, &h->start);
        next_phase(h);
    }
    if (h->phase == 1 && ag_sender_heartbeat(h->s, 1) == 0) next_phase(h);
    return h->phase == 2 && atomic_load(&h->r->heartbeats) > 0;
}

Test(sender, a_full_spool_drops_the_oldest_and_counts_it)
{
    struct tr_router r = {.silent = true};
    tr_router_start(&r);
    struct harness h = {0};
    struct run_opts ro = {.ack_timeout_ms = 5000,
                          .spool_max_bytes = 64 * 1024,
                          .spool_segment_bytes = 16 * 1024,
                          .fsync = AG_SPOOL_FSYNC_NEVER};
    run(&h, &r, &ro, step_overfill, 6000);
    tr_router_stop(&r);
    cr_assert(!h.timed_out);
    const struct ag_spool_stats *sp = &h.start.spool;
    cr_assert_gt(sp->dropped_envelopes, 0, "120 big envelopes fit in 64 KiB?");
    cr_assert_leq(sp->bytes, 64 * 1024);
    cr_assert_eq(sp->envelopes_total, 120);
    cr_assert_eq(sp->pending + sp->dropped_envelopes, 120, "produced = pending + dropped");
    cr_assert_eq(sp->dropped_samples, sp->dropped_envelopes * 64);
    cr_assert_eq(r.hb.spool_dropped_envelopes, sp->dropped_envelopes);
    cr_assert_eq(r.hb.spool_dropped_samples, sp->dropped_samples);
    cr_assert_eq(r.hb.envelopes_total, 120);
    cr_assert_geq(h.progress, 1, "on_progress after a drop");
    cr_assert_leq(h.start.in_flight, 64);
}

Test(sender, refuses_a_state_dir_it_cannot_use)
{
    struct tr_router r = {.answer = CM_ACK_STORED};
    tr_router_start(&r);
    cr_assert_eq(tu_write_file(dir, "state", "not a directory\n"), 0);
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    struct cm_keypair mine;
    cr_assert_eq(cm_keys_generate(&mine), 0);
    struct ag_sender *s = NULL;
    char err[512] = "";
    struct ag_sender_opts o = {.state_dir = state_dir,
                               .endpoint = r.endpoint,
                               .server_public_z85 = r.keys.public_z85,
                               .keys = &mine,
                               .spool_max_bytes = 1 << 20};
    cr_assert_lt(ag_sender_new(&loop, &o, &s, err, sizeof err), 0);
    cr_assert_null(s);
    cr_assert_neq(err[0], '\0');
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    tr_router_stop(&r);
}

/* What a crash would leave: the spool as a second reader finds it on disk
 * while the sender still runs (nothing is written meanwhile). */
static struct ag_spool_stats on_disk;

/* Drained, then the disk is looked at once the sync timer ran. */
static bool step_drain_then_look(struct harness *h)
{
    if (h->phase < 2 && step_submit_n_then_drain(h, 3) && h->phase == 1) next_phase(h);
    if (h->phase < 2 || now_ms() - h->phase_ms < 1300) return false;
    char spool_dir[4200], err[256] = "";
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", state_dir);
    struct ag_spool_opts so = {.dir = spool_dir, .max_bytes = 16u << 20};
    struct ag_spool *sp = NULL;
    cr_assert_eq(ag_spool_open(&so, &sp, err, sizeof err), 0, "%s", err);
    ag_spool_get_stats(sp, &on_disk);
    ag_spool_free(sp);
    return true;
}

/* With fsync=always the ack floor still reaches the disk within a second,
 * so a crash does not resend what was acked before it. */
Test(sender, acks_reach_the_disk_within_a_second_with_fsync_always)
{
    struct tr_router r = {.answer = CM_ACK_STORED};
    tr_router_start(&r);
    struct harness h = {0};
    struct run_opts ro = {.fsync = AG_SPOOL_FSYNC_ALWAYS};
    run(&h, &r, &ro, step_drain_then_look, 6000);
    tr_router_stop(&r);
    cr_assert(!h.timed_out);
    cr_assert_eq(on_disk.envelopes_total, 3);
    cr_assert_eq(on_disk.pending, 0, "acked records would be resent after a crash");
}
