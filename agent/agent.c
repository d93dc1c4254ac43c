/* agent.c - the agent's loop: timers, signals, the sweep -> envelopes ->
 * sender path, and the --once / --print modes.
 *
 * It owns the wiring, not the work: cgroup.c reads, sender.c numbers,
 * spools and delivers (over client.c), print.c renders. Everything runs on
 * one libuv loop; a stop closes every handle and lets the loop run dry, so
 * the process exits with nothing left allocated. Whatever is unacked at a
 * stop stays in the spool and goes out after the next start. */
#include "agent/agent.h"

#include "agent/cgroup.h"
#include "agent/hostinfo.h"
#include "agent/inventory.h"
#include "agent/logs.h"
#include "agent/print.h"
#include "agent/sender.h"
#include "agent/spool.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "proto/wire.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define AG_MOD "agent"
#define AG_LOG_EVERY_MS 60000
#define AG_ONCE_CHECK_MS 50

struct ag_agent {
    const struct ag_config *cfg;
    uv_loop_t loop;
    uv_timer_t sweep_timer; /* every interval_ms; once at 0 with --print */
    uv_timer_t hb_timer;    /* every heartbeat_interval_ms */
    uv_timer_t deadline;    /* --once: give up waiting for acks */
    uv_timer_t once_check;  /* --once: connected and drained yet? */
    uv_timer_t inv_timer;   /* every inventory_interval_ms, from the first sweep on */
    uv_signal_t sigint, sigterm;
    struct ag_cgroup *cg;
    struct ag_inventory *inv;        /* NULL when inventory_interval_ms is 0 */
    struct ag_logs *logs;            /* NULL with --once or --print */
    const struct cm_sample *samples; /* the last sweep's, owned by cg */
    size_t nsamples;
    bool swept;               /* the last sweep succeeded: samples are current */
    bool inv_begun;           /* the first inventory pass ran */
    cJSON *print_inv;         /* --once --print: the inventory envelopes */
    struct ag_sender *sender; /* NULL with --print */
    struct cm_hello hello;
    uint64_t containers; /* in the last sweep */
    bool once_failed;    /* --once: the sweep could not be read or spooled */
    bool stopping;
    int exit_code;
    struct cm_ratelimit rl_sweep;
};

/* Closes every handle; the sender syncs its spool, unacked records stay. */
static void ag_agent_stop(struct ag_agent *a, int code)
{
    if (a->stopping) return;
    a->stopping = true;
    a->exit_code = code;
    uv_handle_t *hs[] = {(uv_handle_t *)&a->sweep_timer, (uv_handle_t *)&a->hb_timer,
                         (uv_handle_t *)&a->deadline,    (uv_handle_t *)&a->once_check,
                         (uv_handle_t *)&a->inv_timer,   (uv_handle_t *)&a->sigint,
                         (uv_handle_t *)&a->sigterm};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        uv_close(hs[i], NULL);
    ag_logs_free(a->logs); /* its pending events go to the spool first */
    a->logs = NULL;
    ag_sender_free(a->sender);
    a->sender = NULL;
}

/* One envelope per max_samples_per_envelope samples, each spooled before it
 * is sent. The codec only reads the samples, so lending the sweep's const
 * storage is safe. Returns the first submit error (the sender counted it). */
static int ag_agent_submit_samples(struct ag_agent *a, const struct cm_sample *samples, size_t n,
                                   int64_t collected_ns)
{
    size_t max = (size_t)a->cfg->max_samples_per_envelope;
    int first = 0;
    for (size_t off = 0; off < n && a->sender; off += max) {
        struct cm_envelope env = {.kind = CM_BODY_METRICS};
        env.body.metrics.collected_ns = collected_ns;
        env.body.metrics.samples = (struct cm_sample *)(uintptr_t)(samples + off);
        env.body.metrics.n = n - off < max ? n - off : max;
        int rc = ag_sender_submit(a->sender, &env, (uint32_t)env.body.metrics.n);
        if (rc < 0 && first == 0) first = rc;
    }
    return first;
}

/* Inventory envelopes: spooled like metrics (0 samples), or printed. */
static int ag_agent_emit_inventory(void *data, const struct cm_inventory_batch *b)
{
    struct ag_agent *a = data;
    if (a->cfg->print && a->cfg->once) {
        cJSON *o = ag_print_inventory(b);
        if (!o || !cJSON_AddItemToArray(a->print_inv, o)) return -ENOMEM;
        return 0;
    }
    if (a->cfg->print) {
        cJSON *doc = cJSON_CreateObject();
        if (!doc) return -ENOMEM;
        cJSON_AddItemToObject(doc, "inventory", ag_print_inventory(b));
        int rc = ag_print_write(stdout, doc, false);
        cJSON_Delete(doc);
        return rc;
    }
    if (!a->sender) return -ENOTCONN;
    struct cm_envelope env = {.kind = CM_BODY_INVENTORY};
    env.body.inventory = *b; /* borrowed: the codec only reads */
    return ag_sender_submit(a->sender, &env, 0);
}

/* One inventory pass over the last sweep's containers. */
static int ag_agent_inventory(struct ag_agent *a)
{
    if (!a->inv || !a->swept || a->stopping) return 0;
    int rc = ag_inventory_pass(a->inv, a->samples, a->nsamples, cm_time_now_ns(),
                               ag_agent_emit_inventory, a);
    if (!a->inv_begun) {
        struct ag_inventory_stats st;
        ag_inventory_get_stats(a->inv, &st);
        cm_info(AG_MOD, "first inventory",
                "containers=%zu config_errors=%zu envelopes=%llu us=%lld", st.containers, st.errors,
                (unsigned long long)st.envelopes, (long long)(st.last_pass_ns / 1000));
        a->inv_begun = true;
    }
    return rc;
}

static void ag_agent_on_inv_timer(uv_timer_t *t)
{
    (void)ag_agent_inventory(t->data);
}

/* {"hello": {...}, "metrics": [{"collected_at", "samples"}, ...],
 *  "inventory": [{...}, ...]} */
static int ag_agent_print_sweep(struct ag_agent *a, const struct cm_sample *samples, size_t n,
                                int64_t collected_ns)
{
    size_t max = (size_t)a->cfg->max_samples_per_envelope;
    cJSON *doc = cJSON_CreateObject();
    if (!doc) return -ENOMEM;
    cJSON_AddItemToObject(doc, "hello", ag_print_hello(&a->hello));
    cJSON *arr = cJSON_AddArrayToObject(doc, "metrics");
    for (size_t off = 0; arr && off < n; off += max) {
        struct cm_metric_batch m = {collected_ns, (struct cm_sample *)(uintptr_t)(samples + off),
                                    n - off < max ? n - off : max};
        cJSON_AddItemToArray(arr, ag_print_metrics(&m));
    }
    if (a->print_inv) {
        cJSON_AddItemToObject(doc, "inventory", a->print_inv);
        a->print_inv = NULL;
    }
    int rc = ag_print_write(stdout, doc, a->cfg->once);
    cJSON_Delete(doc);
    return rc;
}

/* The first inventory pass runs right after the first sweep; later ones
 * on their own timer, over the latest sweep. */
static int ag_agent_first_inventory(struct ag_agent *a)
{
    if (a->cfg->print && a->cfg->once) a->print_inv = cJSON_CreateArray();
    int rc = ag_agent_inventory(a);
    if (!a->cfg->once)
        uv_timer_start(&a->inv_timer, ag_agent_on_inv_timer, a->cfg->inventory_interval_ms,
                       a->cfg->inventory_interval_ms);
    return rc;
}

/* One sweep, then print or submit (and the first inventory pass). Returns
 * the sweep's error, if any, else the inventory's. */
static int ag_agent_sweep(struct ag_agent *a)
{
    const struct cm_sample *samples = NULL;
    size_t n = 0;
    int64_t now = cm_time_now_ns();
    unsigned sup = 0;
    int rc = ag_cgroup_sweep(a->cg, now, &samples, &n);
    if (rc < 0) {
        a->swept = false; /* no inventory pass without a current sweep */
        if (cm_ratelimit_allow(&a->rl_sweep, 1, AG_LOG_EVERY_MS, &sup))
            cm_warn(AG_MOD, "cgroup sweep failed", "err=\"%s\" suppressed=%u", cm_err_str(rc), sup);
        return rc;
    }
    a->containers = n;
    a->samples = samples;
    a->nsamples = n;
    a->swept = true;
    bool first_inv = !a->inv_begun && a->inv;
    if (!a->cfg->print) {
        rc = ag_agent_submit_samples(a, samples, n, now);
        if (a->logs) ag_logs_set_containers(a->logs, samples, n);
        int irc = first_inv ? ag_agent_first_inventory(a) : 0;
        return rc < 0 ? rc : irc;
    }
    if (first_inv) (void)ag_agent_first_inventory(a);
    rc = ag_agent_print_sweep(a, samples, n, now);
    if (rc < 0) { /* nobody is reading: no point in sweeping on */
        cm_error(AG_MOD, "cannot write to stdout", "err=\"%s\"", cm_err_str(rc));
        ag_agent_stop(a, 1);
    }
    return rc;
}

static void ag_agent_on_sweep_timer(uv_timer_t *t)
{
    struct ag_agent *a = t->data;
    int rc = ag_agent_sweep(a);
    if (a->cfg->print && a->cfg->once) ag_agent_stop(a, rc < 0 ? 1 : 0);
}

static void ag_agent_on_hb_timer(uv_timer_t *t)
{
    struct ag_agent *a = t->data;
    ag_sender_heartbeat(a->sender, a->containers); /* skipped while disconnected */
}

/* --once is done when we reached the collector (Hello went out) and every
 * spooled envelope was answered. */
static void ag_agent_check_once(struct ag_agent *a)
{
    struct ag_sender_stats st;
    if (!a->cfg->once || !a->sender) return;
    ag_sender_get_stats(a->sender, &st);
    if (st.connects == 0 || !ag_sender_is_drained(a->sender)) return;
    if (st.rejected > 0) {
        cm_error(AG_MOD, "the collector rejected envelopes", "rejected=%llu",
                 (unsigned long long)st.rejected);
        ag_agent_stop(a, 1);
        return;
    }
    cm_info(AG_MOD, "all envelopes acked", "containers=%llu acked=%llu",
            (unsigned long long)a->containers, (unsigned long long)st.acked);
    ag_agent_stop(a, a->once_failed || st.spool.dropped_envelopes > 0 ? 1 : 0);
}

static void ag_agent_on_once_check(uv_timer_t *t)
{
    ag_agent_check_once(t->data);
}

static void ag_agent_on_progress(void *data)
{
    struct ag_agent *a = data;
    if (a->logs) ag_logs_on_progress(a->logs);
    ag_agent_check_once(a);
}

/* The collector's rules: compiled for the log pipeline, answered with a
 * PolicyAck (the collector pushes them again on every connect). */
static void ag_agent_on_policy(void *data, const struct cm_policy *p)
{
    struct ag_agent *a = data;
    if (!a->logs || !a->sender) return;
    struct cm_policy_ack ack;
    ag_logs_set_policy(a->logs, p, &ack);
    (void)ag_sender_policy_ack(a->sender, &ack);
}

/* --once cannot succeed with a key the collector does not know; a daemon
 * keeps retrying (it may be enrolled later) and the client keeps logging. */
static void ag_agent_on_refused(void *data)
{
    struct ag_agent *a = data;
    if (a->cfg->once) ag_agent_stop(a, 1);
}

static void ag_agent_on_deadline(uv_timer_t *t)
{
    struct ag_agent *a = t->data;
    struct ag_sender_stats st;
    ag_sender_get_stats(a->sender, &st);
    cm_error(AG_MOD, "--once: not every envelope was acked in time; they stay spooled",
             "wait_ms=%d connects=%llu unacked=%llu in_flight=%llu", AG_ONCE_WAIT_MS,
             (unsigned long long)st.connects, (unsigned long long)st.spool.pending,
             (unsigned long long)st.in_flight);
    ag_agent_stop(a, 1);
}

static void ag_agent_on_signal(uv_signal_t *s, int signum)
{
    struct ag_agent *a = s->data;
    cm_info(AG_MOD, "stopping", "signal=%d", signum);
    ag_agent_stop(a, a->cfg->once ? 1 : 0);
}

/* Every handle is initialised up front so that a failed start can stop
 * through the same path as a signal. */
static void ag_agent_init_handles(struct ag_agent *a)
{
    uv_timer_init(&a->loop, &a->sweep_timer);
    uv_timer_init(&a->loop, &a->hb_timer);
    uv_timer_init(&a->loop, &a->deadline);
    uv_timer_init(&a->loop, &a->once_check);
    uv_timer_init(&a->loop, &a->inv_timer);
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    a->sweep_timer.data = a->hb_timer.data = a->deadline.data = a->once_check.data = a;
    a->inv_timer.data = a;
    a->sigint.data = a->sigterm.data = a;
}

static int ag_agent_open_sources(struct ag_agent *a)
{
    const struct ag_config *cfg = a->cfg;
    struct ag_hostinfo hi;
    char err[CM_CONFIG_ERRLEN];
    struct ag_cgroup_opts opts = {
        .host_root = cfg->host_root,
        .cgroup_root = cfg->cgroup_root && *cfg->cgroup_root ? cfg->cgroup_root : NULL,
        .patterns = &cfg->container_patterns,
    };
    int rc = ag_cgroup_new(&opts, &a->cg, err, sizeof err);
    if (rc < 0) {
        cm_error(AG_MOD, "cannot read cgroups", "err=\"%s\"", err);
        return rc;
    }
    if ((rc = ag_hostinfo_read(cfg->host_root, &hi)) < 0) {
        cm_error(AG_MOD, "cannot find this host's name", "host_root=%s", cfg->host_root);
        return rc;
    }
    if (cfg->inventory_interval_ms > 0) {
        struct ag_inventory_opts io = {
            .host_root = cfg->host_root,
            .docker_root = cfg->docker_root,
            .docker_exec_root = cfg->docker_exec_root,
            .containerd_state = cfg->containerd_state,
            .podman_root = cfg->podman_root,
            .runc_root = cfg->runc_root,
            .crun_root = cfg->crun_root,
            .docker_daemon_config = cfg->docker_daemon_config,
            .runtime_sockets = &cfg->runtime_sockets,
            .full_interval_ms = cfg->inventory_full_interval_ms,
        };
        if ((rc = ag_inventory_new(&io, &a->inv, err, sizeof err)) < 0) {
            cm_error(AG_MOD, "cannot start the inventory", "err=\"%s\"", err);
            return rc;
        }
    }
    memcpy(a->hello.hostname, hi.hostname, sizeof a->hello.hostname);
    memcpy(a->hello.machine_id, hi.machine_id, sizeof a->hello.machine_id);
    memcpy(a->hello.kernel, hi.kernel, sizeof a->hello.kernel);
    snprintf(a->hello.agent_version, sizeof a->hello.agent_version, "%s", BOXWATCH_VERSION);
    a->hello.cgroup_mode = ag_cgroup_mode(a->cg);
    a->hello.boot_ns = cm_time_now_ns();
    return 0;
}

/* Keys, the sender (seq store, spool, socket): only for modes that send. */
static int ag_agent_open_link(struct ag_agent *a)
{
    const struct ag_config *cfg = a->cfg;
    struct cm_keypair keys;
    enum ag_spool_fsync fsync = AG_SPOOL_FSYNC_ALWAYS;
    char err[CM_CONFIG_ERRLEN];
    int rc = ag_config_check_run(cfg, err, sizeof err);
    if (rc < 0) goto out;
    if ((rc = ag_spool_fsync_parse(cfg->spool_fsync, &fsync)) < 0) {
        snprintf(err, sizeof err, "config key 'spool_fsync': must be always|interval|never");
        goto out;
    }
    if ((rc = cm_keys_read_secret(cfg->key_file, &keys, err, sizeof err)) < 0) goto out;
    struct ag_sender_opts opts = {
        .state_dir = cfg->state_dir,
        .endpoint = cfg->collector,
        .server_public_z85 = cfg->collector_public_key,
        .keys = &keys,
        .hello = &a->hello,
        .spool_max_bytes = (uint64_t)cfg->spool_max_bytes,
        .spool_segment_bytes = (uint64_t)cfg->spool_segment_bytes,
        .spool_fsync = fsync,
        .window = (size_t)cfg->window,
        .ack_timeout_ms = cfg->ack_timeout_ms,
        .on_refused = ag_agent_on_refused,
        .on_progress = ag_agent_on_progress,
        .on_policy = ag_agent_on_policy,
        .data = a,
    };
    rc = ag_sender_new(&a->loop, &opts, &a->sender, err, sizeof err);
    if (rc == 0 && !cfg->once) {
        struct ag_logs_opts lo = {
            .host_root = cfg->host_root,
            .state_dir = cfg->state_dir,
            .sources = &cfg->log_sources,
            .container_logs = cfg->container_logs,
            .docker_root = cfg->docker_root,
            .podman_root = cfg->podman_root,
            .max_line_bytes = (size_t)cfg->log_max_line_bytes,
            .stats_interval_ms = cfg->log_stats_interval_ms,
            .start_at_end = cfg->log_start_at_end,
            .sender = a->sender,
        };
        rc = ag_logs_new(&a->loop, &lo, &a->logs, err, sizeof err);
    }
out:
    memset(&keys, 0, sizeof keys);
    if (rc < 0) cm_error(AG_MOD, "cannot start", "err=\"%s\"", err);
    return rc;
}

static void ag_agent_start(struct ag_agent *a)
{
    const struct ag_config *cfg = a->cfg;
    uv_signal_start(&a->sigint, ag_agent_on_signal, SIGINT);
    uv_signal_start(&a->sigterm, ag_agent_on_signal, SIGTERM);
    if (cfg->print) {
        uv_timer_start(&a->sweep_timer, ag_agent_on_sweep_timer, 0,
                       cfg->once ? 0 : cfg->interval_ms);
        return;
    }
    if (cfg->once) {
        /* Spooled now, sent after Hello once connected; kept if not acked. */
        a->once_failed = ag_agent_sweep(a) < 0;
        uv_timer_start(&a->deadline, ag_agent_on_deadline, AG_ONCE_WAIT_MS, 0);
        uv_timer_start(&a->once_check, ag_agent_on_once_check, AG_ONCE_CHECK_MS, AG_ONCE_CHECK_MS);
        return;
    }
    uv_timer_start(&a->sweep_timer, ag_agent_on_sweep_timer, cfg->interval_ms, cfg->interval_ms);
    uv_timer_start(&a->hb_timer, ag_agent_on_hb_timer, cfg->heartbeat_interval_ms,
                   cfg->heartbeat_interval_ms);
    cm_info(AG_MOD, "started", "collector=%s interval_ms=%llu cgroup_mode=%s window=%lld",
            cfg->collector, (unsigned long long)cfg->interval_ms,
            cm_cgroup_mode_name(a->hello.cgroup_mode), (long long)cfg->window);
}

int ag_run(const struct ag_config *cfg)
{
    cJSON_Hooks hooks = {cm_xmalloc, free}; /* no half-built JSON on OOM */
    enum cm_log_level level;
    cJSON_InitHooks(&hooks);
    if (cm_log_level_parse(cfg->log_level, &level) == 0) cm_log_set_level(level);
    struct ag_agent *a = cm_xcalloc(1, sizeof *a);
    a->cfg = cfg;
    int rc = uv_loop_init(&a->loop);
    if (rc < 0) {
        cm_error(AG_MOD, "cannot create the event loop", "err=\"%s\"", uv_strerror(rc));
        free(a);
        return 1;
    }
    ag_agent_init_handles(a);
    rc = ag_agent_open_sources(a);
    if (rc == 0 && !cfg->print) rc = ag_agent_open_link(a);
    if (rc == 0)
        ag_agent_start(a);
    else
        ag_agent_stop(a, 1);
    uv_run(&a->loop, UV_RUN_DEFAULT);
    if ((rc = uv_loop_close(&a->loop)) < 0)
        cm_warn(AG_MOD, "event loop closed with handles open", "err=\"%s\"", uv_strerror(rc));
    int code = a->exit_code;
    ag_inventory_free(a->inv);
    cJSON_Delete(a->print_inv);
    ag_cgroup_free(a->cg);
    free(a);
    return code;
}
