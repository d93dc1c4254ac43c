/* loadgen.c - boxwatch-loadgen: many enrolled agents on one libuv loop.
 *
 * Each agent is the agent's own delivery path (struct ag_sender: seq store,
 * disk spool, CURVE client) with its own key file and its own state
 * directory, so seqs continue and spools are resent when a state directory
 * is reused. Agents send MetricBatch envelopes of C synthetic containers at
 * a fixed rate for a given time, then wait until every sender is drained
 * (every spooled envelope acked), send a last Heartbeat each (so the
 * collector's view of the spool counters is current) and print one JSON line
 * of totals summed from the senders' stats, with the p50/p99 send->ack
 * latency of this run's acks (upper bounds of 25 % buckets). The spool
 * totals are cumulative across runs on the same state directory because
 * they live in the spool.
 *
 * It does not read cgroups, does not enroll agents (use `boxwatch-collector
 * enroll`), and does not check what the collector stored: the fault tests
 * compare its totals with the database. Exit 0 when drained, 1 otherwise. */
#include "agent/config.h"
#include "agent/sender.h"
#include "tests/loadgen/synth.h"
#include "common/alloc.h"
#include "common/config.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "proto/wire.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <uv.h>

#define LG_MOD "loadgen"
#define LG_TICK_MS 10
#define LG_DRAIN_CHECK_MS 20
#define LG_FINAL_GRACE_MS 300 /* after the last Heartbeats, before closing */
#define LG_AGENTS_MAX 10000
#define LG_NAME_MAX 63
#define LG_EPOCH_NS INT64_C(1704067200000000000) /* 2024-01-01: counters grow from here */

struct lg_config {
    char *collector;
    char *collector_public_key;
    char *collector_config;
    char *keys_dir;
    char *state_dir;
    int64_t agents;
    int64_t containers;
    int64_t rate;
    uint64_t duration_ms;
    uint64_t drain_timeout_ms;
    int64_t spool_max_bytes;
    char *spool_fsync;
    int64_t window;
    uint64_t ack_timeout_ms;
    uint64_t heartbeat_interval_ms;
    char *log_level;
};

#define OFF(f) offsetof(struct lg_config, f)
static const struct cm_opt lg_options[] = {
    {"collector", CM_OPT_STRING, OFF(collector), NULL, 0, 0, NULL, 0,
     "collector endpoint (tcp://host:port); default: from --collector-config"},
    {"collector_public_key", CM_OPT_STRING, OFF(collector_public_key), NULL, 0, 0, NULL, 0,
     "the collector's CURVE public key (Z85); default: from --collector-config"},
    {"collector_config", CM_OPT_STRING, OFF(collector_config), NULL, 0, 0, NULL, 0,
     "an enrolled agent's JSON config to take collector and its public key from"},
    {"keys_dir", CM_OPT_STRING, OFF(keys_dir), NULL, 0, 0, NULL, CM_OPT_REQUIRED,
     "directory of NAME.key files made by `boxwatch-collector enroll`; the first N sorted"},
    {"state_dir", CM_OPT_STRING, OFF(state_dir), NULL, 0, 0, NULL, CM_OPT_REQUIRED,
     "one subdirectory per agent (seqs, spool); reuse it to continue seqs and resend spools"},
    {"agents", CM_OPT_INT, OFF(agents), "1", 1, LG_AGENTS_MAX, NULL, 0, "agents to simulate"},
    {"containers", CM_OPT_INT, OFF(containers), "10", 1, CM_WIRE_MAX_SAMPLES, NULL, 0,
     "containers per agent = samples per envelope"},
    {"rate", CM_OPT_INT, OFF(rate), "1", 0, 100000, NULL, 0, "envelopes per second per agent"},
    {"duration", CM_OPT_DURATION_MS, OFF(duration_ms), "10s", 0, 24 * 3600 * 1000LL, NULL, 0,
     "generate for this long; 0 = only drain what the spools hold"},
    {"drain_timeout", CM_OPT_DURATION_MS, OFF(drain_timeout_ms), "30s", 0, 24 * 3600 * 1000LL,
     NULL, 0, "after generating, wait at most this long for every envelope to be acked"},
    {"spool_max_bytes", CM_OPT_INT, OFF(spool_max_bytes), "268435456", 4096, INT64_MAX, NULL, 0,
     "bound on each agent's spool"},
    {"spool_fsync", CM_OPT_ENUM, OFF(spool_fsync), "always", 0, 0, "always|interval|never", 0,
     "spool fsync policy (the agent's default: always)"},
    {"window", CM_OPT_INT, OFF(window), "64", 1, 100000, NULL, 0, "envelopes in flight per agent"},
    {"ack_timeout_ms", CM_OPT_DURATION_MS, OFF(ack_timeout_ms), "10s", 100, 3600 * 1000LL, NULL, 0,
     "resend the unacked when the oldest in flight waits longer than this"},
    {"heartbeat_interval", CM_OPT_DURATION_MS, OFF(heartbeat_interval_ms), "1s", 100,
     3600 * 1000LL, NULL, 0, "time between each agent's Heartbeats"},
    {"log_level", CM_OPT_ENUM, OFF(log_level), "warn", 0, 0, "debug|info|warn|error", 0,
     "least severe log level written (stderr)"},
    CM_OPT_END,
};
#undef OFF

struct lg;

struct lg_agent {
    struct lg *lg;
    char name[LG_NAME_MAX + 1];
    struct ag_sender *snd;
    struct cm_sample *samples; /* containers of them, reused for every envelope */
    uint64_t made;             /* envelopes generated by this run */
    int64_t last_ts_ns;        /* strictly growing, whole microseconds */
};

enum lg_phase { LG_GENERATE, LG_DRAIN, LG_FINAL, LG_STOPPED };

struct lg_totals {
    uint64_t envelopes, samples, dropped_envelopes, dropped_samples, acked, pending, resent;
    uint64_t ack_us[AG_SENDER_ACK_BUCKETS]; /* send->ack latency, summed over the agents */
    bool drained;
};

struct lg {
    struct lg_config cfg;
    char *public_key; /* resolved */
    char *endpoint;   /* resolved */
    uv_loop_t loop;
    uv_timer_t tick, hb, deadline;
    uv_signal_t sigint, sigterm;
    struct lg_agent *agents;
    size_t n;
    int64_t start_mono_ns;
    enum lg_phase phase;
    struct lg_totals totals; /* taken when stopping */
    double elapsed_s;
    struct cm_ratelimit rl_submit;
};

/* Counters of a container that uses a steady share of a CPU, a slowly
 * breathing amount of memory and some network: a pure function of (c, ts),
 * so runs on the same state directory continue the same series. */
static void lg_fill_sample(struct cm_sample *s, size_t c, int64_t ts_ns)
{
    bw_synth_sample(s, c, (uint64_t)(ts_ns - LG_EPOCH_NS) / 1000);
    s->ts_ns = ts_ns;
}

/* One envelope of every container, stamped with a time no earlier than now
 * and strictly after the previous one (the database keeps microseconds), so
 * (container, ts) is unique and a duplicate row can only come from the
 * delivery path. */
static void lg_agent_make(struct lg_agent *ag)
{
    struct lg *lg = ag->lg;
    size_t nc = (size_t)lg->cfg.containers;
    int64_t ts = cm_time_now_ns() / 1000 * 1000;
    unsigned sup = 0;
    if (ts <= ag->last_ts_ns) ts = ag->last_ts_ns + 1000;
    ag->last_ts_ns = ts;
    for (size_t c = 0; c < nc; c++)
        lg_fill_sample(&ag->samples[c], c, ts);
    struct cm_envelope env = {.kind = CM_BODY_METRICS};
    env.body.metrics.collected_ns = ts;
    env.body.metrics.samples = ag->samples;
    env.body.metrics.n = nc;
    int rc = ag_sender_submit(ag->snd, &env, (uint32_t)nc);
    ag->made++;
    if (rc < 0 && cm_ratelimit_allow(&lg->rl_submit, 1, 5000, &sup))
        cm_warn(LG_MOD, "envelope not spooled", "agent=%s err=\"%s\" suppressed=%u", ag->name,
                cm_err_str(rc), sup);
}

static void lg_totals_take(struct lg *lg)
{
    struct lg_totals *t = &lg->totals;
    memset(t, 0, sizeof *t);
    t->drained = true;
    for (size_t i = 0; i < lg->n; i++) {
        struct ag_sender_stats st;
        if (!lg->agents[i].snd) {
            t->drained = false;
            continue;
        }
        ag_sender_get_stats(lg->agents[i].snd, &st);
        /* As in the Heartbeat: what never reached the spool was produced
         * and dropped. */
        t->envelopes += st.spool.envelopes_total + st.failed_envelopes;
        t->samples += st.spool.samples_total + st.failed_samples;
        t->dropped_envelopes += st.spool.dropped_envelopes + st.failed_envelopes;
        t->dropped_samples += st.spool.dropped_samples + st.failed_samples;
        t->pending += st.spool.pending;
        t->acked += st.acked;
        t->resent += st.resent;
        for (unsigned b = 0; b < AG_SENDER_ACK_BUCKETS; b++)
            t->ack_us[b] += st.ack_us[b];
        if (!ag_sender_is_drained(lg->agents[i].snd)) t->drained = false;
    }
}

static void lg_stop(struct lg *lg)
{
    if (lg->phase == LG_STOPPED) return;
    lg->phase = LG_STOPPED;
    lg->elapsed_s = (double)(cm_time_mono_ns() - lg->start_mono_ns) / 1e9;
    lg_totals_take(lg);
    uv_close((uv_handle_t *)&lg->tick, NULL);
    uv_close((uv_handle_t *)&lg->hb, NULL);
    uv_close((uv_handle_t *)&lg->deadline, NULL);
    uv_close((uv_handle_t *)&lg->sigint, NULL);
    uv_close((uv_handle_t *)&lg->sigterm, NULL);
    for (size_t i = 0; i < lg->n; i++) {
        ag_sender_free(lg->agents[i].snd);
        lg->agents[i].snd = NULL;
    }
}

static void lg_heartbeat_all(struct lg *lg)
{
    for (size_t i = 0; i < lg->n; i++)
        if (lg->agents[i].snd) ag_sender_heartbeat(lg->agents[i].snd, (uint64_t)lg->cfg.containers);
}

static bool lg_all_drained(const struct lg *lg)
{
    for (size_t i = 0; i < lg->n; i++)
        if (!lg->agents[i].snd || !ag_sender_is_drained(lg->agents[i].snd)) return false;
    return true;
}

static void lg_on_deadline(uv_timer_t *t)
{
    struct lg *lg = t->data;
    if (lg->phase == LG_DRAIN)
        cm_warn(LG_MOD, "not drained within the drain timeout", "drain_timeout_ms=%llu",
                (unsigned long long)lg->cfg.drain_timeout_ms);
    lg_stop(lg);
}

static void lg_enter_drain(struct lg *lg)
{
    lg->phase = LG_DRAIN;
    uv_timer_start(&lg->deadline, lg_on_deadline, lg->cfg.drain_timeout_ms, 0);
}

/* Drained: a last Heartbeat each, then a short grace for them to leave
 * (ZeroMQ also lingers on close). */
static void lg_enter_final(struct lg *lg)
{
    lg->phase = LG_FINAL;
    lg_heartbeat_all(lg);
    uv_timer_stop(&lg->deadline);
    uv_timer_start(&lg->deadline, lg_on_deadline, LG_FINAL_GRACE_MS, 0);
}

/* Generation follows the clock: each agent catches up to rate * elapsed
 * envelopes, so a slow tick does not lower the rate (at most one second's
 * worth per tick, so a stalled loop does not burst). */
static void lg_on_tick(uv_timer_t *t)
{
    struct lg *lg = t->data;
    int64_t elapsed_ms = (cm_time_mono_ns() - lg->start_mono_ns) / 1000000;
    if (lg->phase == LG_GENERATE && (uint64_t)elapsed_ms >= lg->cfg.duration_ms)
        lg_enter_drain(lg);
    if (lg->phase == LG_GENERATE) {
        uint64_t due = (uint64_t)elapsed_ms * (uint64_t)lg->cfg.rate / 1000 + 1;
        for (size_t i = 0; i < lg->n; i++) {
            struct lg_agent *ag = &lg->agents[i];
            for (int64_t k = 0; ag->made < due && k < lg->cfg.rate; k++)
                lg_agent_make(ag);
        }
        return;
    }
    if (lg->phase == LG_DRAIN && lg_all_drained(lg)) lg_enter_final(lg);
}

static void lg_on_hb(uv_timer_t *t)
{
    struct lg *lg = t->data;
    if (lg->phase == LG_GENERATE || lg->phase == LG_DRAIN) lg_heartbeat_all(lg);
}

static void lg_on_signal(uv_signal_t *s, int signum)
{
    struct lg *lg = s->data;
    cm_info(LG_MOD, "stopping", "signal=%d", signum);
    lg_stop(lg);
}

static void lg_on_refused(void *data)
{
    struct lg_agent *ag = data;
    cm_error(LG_MOD, "the collector refused this agent's key (not enrolled?)", "agent=%s",
             ag->name);
    lg_stop(ag->lg);
}

static int lg_key_filter(const struct dirent *d)
{
    size_t len = strlen(d->d_name);
    return len > 4 && len - 4 <= LG_NAME_MAX && strcmp(d->d_name + len - 4, ".key") == 0 &&
           d->d_name[0] != '.';
}

/* Names of the first lg->cfg.agents key files in keys_dir, sorted. */
static int lg_list_agents(struct lg *lg, char *err, size_t errlen)
{
    struct dirent **list = NULL;
    int n = scandir(lg->cfg.keys_dir, &list, lg_key_filter, alphasort);
    int rc = 0;
    if (n < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot list --keys-dir %s: %s", lg->cfg.keys_dir, strerror(errno));
        return rc;
    }
    if (n < lg->cfg.agents) {
        snprintf(err, errlen, "--keys-dir %s holds %d NAME.key files, --agents wants %lld",
                 lg->cfg.keys_dir, n, (long long)lg->cfg.agents);
        rc = CM_ECONFIG;
        goto out;
    }
    lg->n = (size_t)lg->cfg.agents;
    lg->agents = cm_xcalloc(lg->n, sizeof *lg->agents);
    for (size_t i = 0; i < lg->n; i++) {
        size_t len = strlen(list[i]->d_name) - 4;
        memcpy(lg->agents[i].name, list[i]->d_name, len);
        lg->agents[i].name[len] = '\0';
    }
out:
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    return rc;
}

/* The collector endpoint and key: flags win over --collector-config, which
 * is read with the agent's own option table (so it is validated the same). */
static int lg_resolve_collector(struct lg *lg, char *err, size_t errlen)
{
    struct ag_config ac;
    bool help = false;
    int rc = 0;
    memset(&ac, 0, sizeof ac);
    if (lg->cfg.collector_config) {
        char *argv[] = {"boxwatch-loadgen", "--config", lg->cfg.collector_config, NULL};
        if ((rc = ag_config_load(&ac, 3, argv, &help, err, errlen)) < 0) goto out;
    }
    const char *ep = lg->cfg.collector ? lg->cfg.collector : ac.collector;
    const char *key = lg->cfg.collector_public_key ? lg->cfg.collector_public_key
                                                   : ac.collector_public_key;
    if (!ep || !key || !cm_keys_is_z85(key)) {
        snprintf(err, errlen, "need --collector and --collector-public-key (Z85), or "
                              "--collector-config with both");
        rc = CM_ECONFIG;
        goto out;
    }
    lg->endpoint = cm_xstrdup(ep);
    lg->public_key = cm_xstrdup(key);
out:
    ag_config_free(&ac);
    return rc;
}

static void lg_fill_hello(struct cm_hello *h, const char *name)
{
    struct utsname u;
    memset(h, 0, sizeof *h);
    snprintf(h->hostname, sizeof h->hostname, "%s", name);
    snprintf(h->machine_id, sizeof h->machine_id, "loadgen-%s", name);
    if (uname(&u) == 0) snprintf(h->kernel, sizeof h->kernel, "%s", u.release);
    h->cgroup_mode = CM_CGROUP_V2;
    snprintf(h->agent_version, sizeof h->agent_version, "%s-loadgen", BOXWATCH_VERSION);
    h->boot_ns = cm_time_now_ns();
}

/* The synthetic containers' fixed parts: "lg-<agent>-<n>". */
static void lg_agent_containers(struct lg_agent *ag, size_t nc)
{
    ag->samples = cm_xcalloc(nc, sizeof *ag->samples);
    for (size_t c = 0; c < nc; c++) {
        struct cm_sample *s = &ag->samples[c];
        snprintf(s->container_id, sizeof s->container_id, "lg-%s-%zu", ag->name, c);
        snprintf(s->cgroup_path, sizeof s->cgroup_path, "/loadgen/%s/%zu", ag->name, c);
        s->runtime = CM_RT_CUSTOM;
    }
}

static int lg_agent_open(struct lg *lg, struct lg_agent *ag, char *err, size_t errlen)
{
    char key_path[PATH_MAX], state[PATH_MAX];
    struct cm_keypair keys;
    struct cm_hello hello;
    enum ag_spool_fsync fs = AG_SPOOL_FSYNC_ALWAYS;
    int rc;
    ag->lg = lg;
    lg_agent_containers(ag, (size_t)lg->cfg.containers);
    if (snprintf(key_path, sizeof key_path, "%s/%s.key", lg->cfg.keys_dir, ag->name) >=
            (int)sizeof key_path ||
        snprintf(state, sizeof state, "%s/%s", lg->cfg.state_dir, ag->name) >=
            (int)sizeof state) {
        snprintf(err, errlen, "path too long for agent %s", ag->name);
        return CM_ETOOBIG;
    }
    if ((rc = cm_keys_read_secret(key_path, &keys, err, errlen)) < 0) return rc;
    ag_spool_fsync_parse(lg->cfg.spool_fsync, &fs);
    lg_fill_hello(&hello, ag->name);
    struct ag_sender_opts o = {
        .state_dir = state,
        .endpoint = lg->endpoint,
        .server_public_z85 = lg->public_key,
        .keys = &keys,
        .hello = &hello,
        .spool_max_bytes = (uint64_t)lg->cfg.spool_max_bytes,
        .spool_fsync = fs,
        .window = (size_t)lg->cfg.window,
        .ack_timeout_ms = lg->cfg.ack_timeout_ms,
        .on_refused = lg_on_refused,
        .data = ag,
    };
    rc = ag_sender_new(&lg->loop, &o, &ag->snd, err, errlen);
    memset(&keys, 0, sizeof keys);
    return rc;
}

static int lg_open(struct lg *lg, char *err, size_t errlen)
{
    int rc;
    if ((rc = lg_resolve_collector(lg, err, errlen)) < 0) return rc;
    if ((rc = lg_list_agents(lg, err, errlen)) < 0) return rc;
    if (mkdir(lg->cfg.state_dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(err, errlen, "cannot create --state-dir %s: %s", lg->cfg.state_dir,
                 strerror(errno));
        return rc;
    }
    for (size_t i = 0; i < lg->n; i++)
        if ((rc = lg_agent_open(lg, &lg->agents[i], err, errlen)) < 0) return rc;
    return 0;
}

static void lg_init_handles(struct lg *lg)
{
    uv_timer_init(&lg->loop, &lg->tick);
    uv_timer_init(&lg->loop, &lg->hb);
    uv_timer_init(&lg->loop, &lg->deadline);
    uv_signal_init(&lg->loop, &lg->sigint);
    uv_signal_init(&lg->loop, &lg->sigterm);
    lg->tick.data = lg->hb.data = lg->deadline.data = lg;
    lg->sigint.data = lg->sigterm.data = lg;
}

static void lg_start(struct lg *lg)
{
    lg->start_mono_ns = cm_time_mono_ns();
    lg->phase = LG_GENERATE;
    if (lg->cfg.duration_ms == 0) lg_enter_drain(lg);
    uv_signal_start(&lg->sigint, lg_on_signal, SIGINT);
    uv_signal_start(&lg->sigterm, lg_on_signal, SIGTERM);
    uv_timer_start(&lg->tick, lg_on_tick, 0, lg->phase == LG_DRAIN ? LG_DRAIN_CHECK_MS : LG_TICK_MS);
    uv_timer_start(&lg->hb, lg_on_hb, lg->cfg.heartbeat_interval_ms, lg->cfg.heartbeat_interval_ms);
}

static void lg_print_totals(const struct lg *lg)
{
    const struct lg_totals *t = &lg->totals;
    printf("{\"agents\":%zu,\"envelopes_total\":%llu,\"samples_total\":%llu,"
           "\"dropped_envelopes\":%llu,\"dropped_samples\":%llu,\"acked\":%llu,"
           "\"pending\":%llu,\"resent\":%llu,\"ack_p50_us\":%llu,\"ack_p99_us\":%llu,"
           "\"drained\":%s,\"elapsed_s\":%.3f}\n",
           lg->n, (unsigned long long)t->envelopes, (unsigned long long)t->samples,
           (unsigned long long)t->dropped_envelopes, (unsigned long long)t->dropped_samples,
           (unsigned long long)t->acked, (unsigned long long)t->pending,
           (unsigned long long)t->resent,
           (unsigned long long)ag_sender_ack_quantile_us(t->ack_us, 0.50),
           (unsigned long long)ag_sender_ack_quantile_us(t->ack_us, 0.99),
           t->drained ? "true" : "false", lg->elapsed_s);
    fflush(stdout);
}

static int lg_load_config(struct lg *lg, int argc, char **argv, char *err, size_t errlen)
{
    char **pos = NULL;
    int npos = 0;
    bool help = false;
    int rc = cm_config_defaults(lg_options, &lg->cfg, err, errlen);
    if (rc == 0)
        rc = cm_config_from_args(lg_options, &lg->cfg, argc, argv, &pos, &npos, &help, err,
                                 errlen);
    if (rc == 0 && help) {
        printf("usage: boxwatch-loadgen --keys-dir DIR --state-dir DIR [options]\n");
        cm_config_help(lg_options, stdout);
        rc = 1;
    } else if (rc == 0 && npos > 0) {
        snprintf(err, errlen, "unexpected argument '%s'", pos[0]);
        rc = CM_ECONFIG;
    } else if (rc == 0) {
        rc = cm_config_check_required(lg_options, &lg->cfg, err, errlen);
    }
    free(pos);
    return rc;
}

static void lg_free(struct lg *lg)
{
    for (size_t i = 0; i < lg->n; i++)
        free(lg->agents[i].samples);
    free(lg->agents);
    free(lg->endpoint);
    free(lg->public_key);
    cm_config_free(lg_options, &lg->cfg);
    free(lg);
}

int main(int argc, char **argv)
{
    char err[CM_CONFIG_ERRLEN] = "";
    enum cm_log_level level;
    struct lg *lg = cm_xcalloc(1, sizeof *lg);
    signal(SIGPIPE, SIG_IGN);
    int rc = lg_load_config(lg, argc, argv, err, sizeof err);
    if (rc != 0) {
        if (rc < 0) fprintf(stderr, "boxwatch-loadgen: %s\n", err);
        lg_free(lg);
        return rc == 1 ? 0 : 2;
    }
    if (cm_log_level_parse(lg->cfg.log_level, &level) == 0) cm_log_set_level(level);
    if ((rc = uv_loop_init(&lg->loop)) < 0) {
        fprintf(stderr, "boxwatch-loadgen: event loop: %s\n", uv_strerror(rc));
        lg_free(lg);
        return 2;
    }
    lg_init_handles(lg);
    rc = lg_open(lg, err, sizeof err);
    if (rc < 0) {
        cm_error(LG_MOD, "cannot start", "err=\"%s\"", err);
        lg_stop(lg);
    } else {
        lg_start(lg);
    }
    uv_run(&lg->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&lg->loop) < 0) cm_warn(LG_MOD, "event loop closed with handles open", NULL);
    if (rc == 0) lg_print_totals(lg);
    int code = rc < 0 ? 2 : lg->totals.drained ? 0 : 1;
    lg_free(lg);
    return code;
}
