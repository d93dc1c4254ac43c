/* agent.c - the agent's loop: timers, signals, the sweep -> envelopes ->
 * client path, and the --once / --print modes.
 *
 * It owns the wiring, not the work: cgroup.c reads, wire.c encodes, client.c
 * talks ZeroMQ, seqstore.c numbers, print.c renders. Everything runs on one
 * libuv loop; a stop closes every handle and lets the loop run dry, so the
 * process exits with nothing left allocated. */
#include "agent/agent.h"

#include "agent/cgroup.h"
#include "agent/client.h"
#include "agent/hostinfo.h"
#include "agent/print.h"
#include "agent/seqstore.h"
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

struct ag_agent {
    const struct ag_config *cfg;
    uv_loop_t loop;
    uv_timer_t sweep_timer; /* every interval_ms; once at 0 with --print */
    uv_timer_t hb_timer;    /* every heartbeat_interval_ms */
    uv_timer_t deadline;    /* --once: give up waiting for acks */
    uv_signal_t sigint, sigterm;
    struct ag_cgroup *cg;
    struct ag_client *client; /* NULL with --print */
    struct ag_seqstore *seq;  /* NULL with --print */
    struct cm_hello hello;
    uint64_t containers; /* in the last sweep */
    uint64_t dropped_envelopes, dropped_samples;
    bool hello_due;   /* connected, Hello not yet sent on this connection */
    bool once_sent;   /* --once: the sweep went out */
    bool once_failed; /* --once: the sweep could not be read */
    uint64_t rejected;
    bool stopping;
    int exit_code;
    struct cm_ratelimit rl_sweep, rl_send, rl_reject;
};

static void ag_agent_stop(struct ag_agent *a, int code)
{
    if (a->stopping) return;
    a->stopping = true;
    a->exit_code = code;
    uv_handle_t *hs[] = {(uv_handle_t *)&a->sweep_timer, (uv_handle_t *)&a->hb_timer,
                         (uv_handle_t *)&a->deadline, (uv_handle_t *)&a->sigint,
                         (uv_handle_t *)&a->sigterm};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        uv_close(hs[i], NULL);
    ag_client_free(a->client);
    a->client = NULL;
}

/* Counts what could not be sent; the Heartbeat reports it, so loss is never
 * silent. */
static void ag_agent_dropped(struct ag_agent *a, const struct cm_envelope *env, int rc)
{
    unsigned sup = 0;
    a->dropped_envelopes++;
    if (env->kind == CM_BODY_METRICS) a->dropped_samples += env->body.metrics.n;
    if (cm_ratelimit_allow(&a->rl_send, 1, AG_LOG_EVERY_MS, &sup))
        cm_warn(AG_MOD, "envelope not sent, dropped",
                "err=\"%s\" dropped_envelopes=%llu dropped_samples=%llu suppressed=%u",
                rc == -ENOTCONN ? "not connected to the collector" : cm_err_str(rc),
                (unsigned long long)a->dropped_envelopes, (unsigned long long)a->dropped_samples,
                sup);
}

/* Numbers, stamps, encodes and sends one envelope.
 *
 * TODO(spool): the durable disk spool (a later issue) slots in here: append
 * the encoded bytes under their seq to the spool first, then let the spool
 * feed ag_client_send whenever the link is up and drop entries on Ack.
 * Until then an envelope that cannot be sent right now is dropped and
 * counted, and nothing is resent after a reconnect. */
static int ag_agent_send(struct ag_agent *a, struct cm_envelope *env)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc;
    if (!a->client || !ag_client_is_connected(a->client)) {
        rc = -ENOTCONN;
        goto out;
    }
    env->version = CM_WIRE_VERSION;
    env->sent_ns = cm_time_now_ns();
    if ((rc = ag_seqstore_next(a->seq, &env->seq)) < 0) goto out;
    if ((rc = cm_wire_encode_envelope(env, &buf, &len)) < 0) goto out;
    rc = ag_client_send(a->client, env->seq, buf, len);
out:
    if (rc < 0) ag_agent_dropped(a, env, rc);
    free(buf);
    return rc;
}

static void ag_agent_send_hello(struct ag_agent *a)
{
    struct cm_envelope env = {.kind = CM_BODY_HELLO};
    env.body.hello = a->hello;
    if (ag_agent_send(a, &env) == 0) a->hello_due = false;
}

/* One envelope per max_samples_per_envelope samples. The codec only reads
 * the samples, so lending the sweep's const storage is safe. */
static void ag_agent_send_samples(struct ag_agent *a, const struct cm_sample *samples, size_t n,
                                  int64_t collected_ns)
{
    size_t max = (size_t)a->cfg->max_samples_per_envelope;
    for (size_t off = 0; off < n; off += max) {
        struct cm_envelope env = {.kind = CM_BODY_METRICS};
        env.body.metrics.collected_ns = collected_ns;
        env.body.metrics.samples = (struct cm_sample *)(uintptr_t)(samples + off);
        env.body.metrics.n = n - off < max ? n - off : max;
        ag_agent_send(a, &env);
    }
}

/* {"hello": {...}, "metrics": [{"collected_at", "samples"}, ...]} */
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
    int rc = ag_print_write(stdout, doc, a->cfg->once);
    cJSON_Delete(doc);
    return rc;
}

/* One sweep, then print or send. Returns the sweep's error, if any. */
static int ag_agent_sweep(struct ag_agent *a)
{
    const struct cm_sample *samples = NULL;
    size_t n = 0;
    int64_t now = cm_time_now_ns();
    unsigned sup = 0;
    int rc = ag_cgroup_sweep(a->cg, now, &samples, &n);
    if (rc < 0) {
        if (cm_ratelimit_allow(&a->rl_sweep, 1, AG_LOG_EVERY_MS, &sup))
            cm_warn(AG_MOD, "cgroup sweep failed", "err=\"%s\" suppressed=%u", cm_err_str(rc), sup);
        return rc;
    }
    a->containers = n;
    if (a->cfg->print) {
        rc = ag_agent_print_sweep(a, samples, n, now);
        if (rc < 0) { /* nobody is reading: no point in sweeping on */
            cm_error(AG_MOD, "cannot write to stdout", "err=\"%s\"", cm_err_str(rc));
            ag_agent_stop(a, 1);
        }
        return rc;
    }
    if (a->hello_due) ag_agent_send_hello(a);
    ag_agent_send_samples(a, samples, n, now);
    return 0;
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
    struct cm_envelope env = {.kind = CM_BODY_HEARTBEAT};
    env.body.heartbeat.containers = a->containers;
    env.body.heartbeat.unacked = a->client ? ag_client_unacked(a->client) : 0;
    /* Until the spool exists, "dropped" is what could not be sent since
     * this process started. */
    env.body.heartbeat.spool_dropped_envelopes = a->dropped_envelopes;
    env.body.heartbeat.spool_dropped_samples = a->dropped_samples;
    if (a->hello_due) ag_agent_send_hello(a);
    ag_agent_send(a, &env);
}

/* --once is done when the sweep went out and every envelope was answered. */
static void ag_agent_check_once(struct ag_agent *a)
{
    if (!a->cfg->once || !a->once_sent || !a->client || ag_client_unacked(a->client) > 0) return;
    if (a->rejected > 0) {
        cm_error(AG_MOD, "the collector rejected envelopes", "rejected=%llu",
                 (unsigned long long)a->rejected);
        ag_agent_stop(a, 1);
        return;
    }
    cm_info(AG_MOD, "all envelopes acked", "containers=%llu", (unsigned long long)a->containers);
    ag_agent_stop(a, a->dropped_envelopes > 0 || a->once_failed ? 1 : 0);
}

static void ag_agent_on_connect(void *data)
{
    struct ag_agent *a = data;
    a->hello_due = true;
    ag_agent_send_hello(a);
    if (a->cfg->once && !a->once_sent && !a->hello_due) {
        a->once_sent = true;
        a->once_failed = ag_agent_sweep(a) < 0;
        ag_agent_check_once(a);
    }
}

static void ag_agent_on_ack(void *data, const struct cm_ack *ack)
{
    struct ag_agent *a = data;
    unsigned sup = 0;
    if (ack->status == CM_ACK_REJECTED) {
        a->rejected++;
        if (cm_ratelimit_allow(&a->rl_reject, 1, AG_LOG_EVERY_MS, &sup))
            cm_warn(AG_MOD, "collector rejected an envelope",
                    "seq=%llu reason=\"%s\" suppressed=%u", (unsigned long long)ack->seq,
                    ack->reason, sup);
    }
    ag_agent_check_once(a);
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
    cm_error(AG_MOD, "--once: not every envelope was acked in time",
             "wait_ms=%d connected=%s sent=%s unacked=%zu", AG_ONCE_WAIT_MS,
             a->client && ag_client_is_connected(a->client) ? "yes" : "no",
             a->once_sent ? "yes" : "no", a->client ? ag_client_unacked(a->client) : 0);
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
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    a->sweep_timer.data = a->hb_timer.data = a->deadline.data = a;
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
    memcpy(a->hello.hostname, hi.hostname, sizeof a->hello.hostname);
    memcpy(a->hello.machine_id, hi.machine_id, sizeof a->hello.machine_id);
    memcpy(a->hello.kernel, hi.kernel, sizeof a->hello.kernel);
    snprintf(a->hello.agent_version, sizeof a->hello.agent_version, "%s", BOXWATCH_VERSION);
    a->hello.cgroup_mode = ag_cgroup_mode(a->cg);
    a->hello.boot_ns = cm_time_now_ns();
    return 0;
}

/* Keys, sequence numbers and the socket: only for modes that send. */
static int ag_agent_open_link(struct ag_agent *a)
{
    const struct ag_config *cfg = a->cfg;
    struct cm_keypair keys;
    char err[CM_CONFIG_ERRLEN];
    int rc = ag_config_check_run(cfg, err, sizeof err);
    if (rc < 0) goto out;
    if ((rc = cm_keys_read_secret(cfg->key_file, &keys, err, sizeof err)) < 0) goto out;
    if ((rc = ag_seqstore_new(cfg->state_dir, 0, &a->seq, err, sizeof err)) < 0) goto out;
    struct ag_client_opts opts = {
        .endpoint = cfg->collector,
        .server_public_z85 = cfg->collector_public_key,
        .keys = &keys,
        .on_connect = ag_agent_on_connect,
        .on_ack = ag_agent_on_ack,
        .on_refused = ag_agent_on_refused,
        .data = a,
    };
    rc = ag_client_new(&a->loop, &opts, &a->client, err, sizeof err);
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
        /* The sweep goes out from on_connect, right after Hello. */
        uv_timer_start(&a->deadline, ag_agent_on_deadline, AG_ONCE_WAIT_MS, 0);
        return;
    }
    uv_timer_start(&a->sweep_timer, ag_agent_on_sweep_timer, cfg->interval_ms, cfg->interval_ms);
    uv_timer_start(&a->hb_timer, ag_agent_on_hb_timer, cfg->heartbeat_interval_ms,
                   cfg->heartbeat_interval_ms);
    cm_info(AG_MOD, "started", "collector=%s interval_ms=%llu cgroup_mode=%s", cfg->collector,
            (unsigned long long)cfg->interval_ms, cm_cgroup_mode_name(a->hello.cgroup_mode));
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
    ag_cgroup_free(a->cg);
    ag_seqstore_free(a->seq);
    free(a);
    return code;
}
