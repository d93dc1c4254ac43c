/* Tests for agent/logs.c: the log pipeline end to end on the agent side,
 * with a real file, the real tailer, matcher, sender and spool, and a real
 * CURVE router that pushes a Policy after each Hello and acks everything.
 * What arrives is checked by offset, so a repeat or a gap shows. */
#include "agent/logs.h"
#include "common/err.h"
#include "common/timeutil.h"
#include "tests/unit/agent/curve_router.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

TestSuite(logs, .timeout = 60);

struct harness {
    uv_loop_t loop;
    uv_timer_t check, guard;
    struct ag_sender *sender;
    struct ag_logs *logs;
    struct tr_router *r;
    size_t want_events;   /* stop once the router has this many ... */
    bool want_committed;  /* ... and (optionally) a checkpoint was committed */
    bool want_stats;      /* ... and (optionally) per-source stats arrived */
    bool timed_out;
    struct cm_strlist sources;
    char *src_item;
};

static char *dir;
static char logfile[4096];

static void setup(void)
{
    dir = tu_mkdtemp();
    snprintf(logfile, sizeof logfile, "%s/auth.log", dir);
}

static void teardown(void)
{
    tu_rm_rf(dir);
    free(dir);
}

static struct cm_rule rule = {
    .id = "ssh.failed_password",
    .title = "SSH failed password",
    .severity = "medium",
    .sources = 1u << CM_LOG_SRC_AUTH,
    .regex = "Failed password for (?<user>\\S+) from (?<src_ip>\\S+)",
};
static struct cm_policy policy = {.version = 3, .rules = &rule, .n = 1};

static void finish(struct harness *h)
{
    ag_logs_free(h->logs);
    h->logs = NULL;
    ag_sender_free(h->sender);
    h->sender = NULL;
    uv_close((uv_handle_t *)&h->check, NULL);
    uv_close((uv_handle_t *)&h->guard, NULL);
}

static void on_check(uv_timer_t *t)
{
    struct harness *h = t->data;
    struct ag_logs_stats st;
    ag_logs_get_stats(h->logs, &st);
    if (atomic_load(&h->r->events) >= h->want_events &&
        (!h->want_committed || st.checkpoints_committed > 0) &&
        (!h->want_stats || atomic_load(&h->r->stats_seen) > 0))
        finish(h);
}

static void on_guard(uv_timer_t *t)
{
    struct harness *h = t->data;
    h->timed_out = true;
    finish(h);
}

static void on_policy(void *data, const struct cm_policy *p)
{
    struct harness *h = data;
    struct cm_policy_ack ack;
    ag_logs_set_policy(h->logs, p, &ack);
    cr_assert(ack.accepted, "%s", ack.error);
    (void)ag_sender_policy_ack(h->sender, &ack);
}

static void on_progress(void *data)
{
    struct harness *h = data;
    if (h->logs) ag_logs_on_progress(h->logs);
}

/* One agent life: sender + log pipeline on dir's state, until the router
 * has want events (and a committed checkpoint when asked). */
static void run(struct harness *h, struct tr_router *r)
{
    char err[256] = "", state[4096];
    struct cm_keypair keys;
    struct cm_hello hello = {.cgroup_mode = CM_CGROUP_V2};
    snprintf(hello.hostname, sizeof hello.hostname, "logs-test");
    snprintf(hello.agent_version, sizeof hello.agent_version, "t");
    snprintf(state, sizeof state, "%s/state", dir);
    cr_assert_eq(cm_keys_generate(&keys), 0);
    h->r = r;
    cr_assert_eq(uv_loop_init(&h->loop), 0);
    uv_timer_init(&h->loop, &h->check);
    uv_timer_init(&h->loop, &h->guard);
    h->check.data = h->guard.data = h;
    struct ag_sender_opts so = {.state_dir = state,
                                .endpoint = r->endpoint,
                                .server_public_z85 = r->keys.public_z85,
                                .keys = &keys,
                                .hello = &hello,
                                .spool_max_bytes = 1 << 20,
                                .spool_fsync = AG_SPOOL_FSYNC_NEVER,
                                .on_progress = on_progress,
                                .on_policy = on_policy,
                                .data = h};
    cr_assert_eq(ag_sender_new(&h->loop, &so, &h->sender, err, sizeof err), 0, "%s", err);
    char item[4200];
    snprintf(item, sizeof item, "auth=%s", logfile);
    char *items[] = {item};
    struct cm_strlist sources = {.items = items, .n = 1};
    struct ag_logs_opts lo = {.host_root = "/",
                              .state_dir = state,
                              .sources = &sources,
                              .stats_interval_ms = 200,
                              .flush_ms = 50,
                              .start_at_end = false,
                              .sender = h->sender};
    cr_assert_eq(ag_logs_new(&h->loop, &lo, &h->logs, err, sizeof err), 0, "%s", err);
    uv_timer_start(&h->check, on_check, 20, 20);
    uv_timer_start(&h->guard, on_guard, 20000, 0);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&h->loop), 0, "every handle was closed");
}

/* Appends lines; returns the offsets of those that the rule matches. */
static size_t append(const char *const *lines, size_t n, uint64_t *match_off)
{
    FILE *f = fopen(logfile, "a");
    cr_assert_not_null(f);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        long at = ftell(f);
        if (strstr(lines[i], "Failed password")) match_off[k++] = (uint64_t)at;
        fprintf(f, "%s\n", lines[i]);
    }
    fclose(f);
    return k;
}

static const char *const first[] = {
    "Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking getaddrinfo for ns.marryaldkfaczcz.com",
    "Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for root from 173.234.31.186 port 38926 ssh2",
    "Dec 10 07:02:47 LabSZ sshd[24203]: Connection closed by 212.47.254.145 [preauth]",
    "Dec 10 07:07:38 LabSZ sshd[24206]: Failed password for invalid from 52.80.34.196 port 36060 ssh2",
    "Dec 10 07:08:28 LabSZ sshd[24208]: Failed password for webmaster from 173.234.31.186 port 39257 ssh2",
};
static const char *const second[] = {
    "Dec 10 07:11:42 LabSZ sshd[24224]: Failed password for admin from 5.36.59.76 port 42393 ssh2",
    "Dec 10 07:13:43 LabSZ sshd[24227]: Received disconnect from 5.36.59.76: 11: Bye Bye [preauth]",
    "Dec 10 07:27:50 LabSZ sshd[24235]: Failed password for guest from 5.36.59.76 port 42939 ssh2",
};

Test(logs, matched_lines_arrive_with_their_offsets_and_captures, .init = setup, .fini = teardown)
{
    uint64_t off[8];
    size_t k = append(first, 5, off);
    struct tr_router r = {.answer = CM_ACK_STORED, .policy = &policy};
    tr_router_start(&r);
    struct harness h = {.want_events = k};
    run(&h, &r);
    tr_router_stop(&r);
    cr_assert(!h.timed_out, "only %zu of %zu events arrived", atomic_load(&r.events), k);
    cr_assert_eq(r.bad, 0);
    cr_assert_eq(atomic_load(&r.events), 3);
    cr_assert_eq(atomic_load(&r.policy_acks), 1);
    cr_assert(r.policy_ack.accepted);
    cr_assert_eq(r.policy_ack.version, 3);
    for (size_t i = 0; i < k; i++)
        cr_assert_eq(r.ev_offset[i], off[i], "event %zu at %llu, line at %llu", i,
                     (unsigned long long)r.ev_offset[i], (unsigned long long)off[i]);
    /* fields come in the regex's name-table order: src_ip before user */
    cr_assert_str_eq(r.ev_field[0], "173.234.31.186");
    cr_assert_str_eq(r.ev_field[1], "52.80.34.196");
}

Test(logs, restart_resumes_after_what_was_acked, .init = setup, .fini = teardown)
{
    uint64_t off1[8], off2[8];
    size_t k1 = append(first, 5, off1);
    struct tr_router r = {.answer = CM_ACK_STORED, .policy = &policy};
    tr_router_start(&r);
    struct harness h1 = {.want_events = k1, .want_committed = true};
    run(&h1, &r);
    cr_assert(!h1.timed_out, "first life: events=%zu", atomic_load(&r.events));
    size_t before = atomic_load(&r.events);
    cr_assert_eq(before, k1);

    /* more lines while the agent is down, then a new life on the same state */
    size_t k2 = append(second, 3, off2);
    struct harness h2 = {.want_events = before + k2, .want_committed = true, .want_stats = true};
    run(&h2, &r);
    tr_router_stop(&r);
    cr_assert(!h2.timed_out, "second life: events=%zu", atomic_load(&r.events));
    /* give a repeat a moment to show up if there were one */
    cr_assert_eq(atomic_load(&r.events), k1 + k2, "no line was sent twice");
    for (size_t i = 0; i < k2; i++)
        cr_assert_eq(r.ev_offset[before + i], off2[i]);
    cr_assert_str_eq(r.ev_field[before], "5.36.59.76");
    cr_assert(atomic_load(&r.stats_seen) > 0, "per-source volume was sent");
}

Test(logs, bad_sources_are_refused_naming_the_key)
{
    uv_loop_t loop;
    char err[256] = "";
    struct ag_logs *l = NULL;
    char *items[] = {"nonsense=/var/log/x"};
    struct cm_strlist sources = {.items = items, .n = 1};
    struct ag_logs_opts lo = {.host_root = "/", .state_dir = "/tmp", .sources = &sources};
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(ag_logs_new(&loop, &lo, &l, err, sizeof err), CM_ECONFIG);
    cr_assert(strstr(err, "log_sources") && strstr(err, "nonsense"), "%s", err);
    items[0] = "auth=relative/path";
    cr_assert_eq(ag_logs_new(&loop, &lo, &l, err, sizeof err), CM_ECONFIG);
    cr_assert(strstr(err, "KIND=/ABSOLUTE/PATH"), "%s", err);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
