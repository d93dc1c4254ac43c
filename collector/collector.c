/* collector.c - wires the collector's parts together (see collector.h).
 *
 * Order matters: the ZAP handler is bound before the CURVE socket, the
 * writer before the server reads, and on shutdown the server stops reading
 * before the writer flushes, so every envelope taken off the socket is
 * either committed and acked or left for the agent to resend. */
#include "collector/collector.h"

#include "collector/api/api.h"
#include "collector/db.h"
#include "collector/inventory_store.h"
#include "collector/keyring.h"
#include "collector/migrate.h"
#include "collector/rulebook.h"
#include "collector/server.h"
#include "collector/writer.h"
#include "collector/zap.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define COL_PARTITION_TIMER_MS (3600 * 1000)

struct col_core {
    void *zctx;
    struct col_rulebook *rules;
    struct col_keyring *kr;
    struct col_zap *zap;
    struct col_writer *writer;
    struct col_server *server;
    bool stopped;
};

int col_core_start(uv_loop_t *loop, const struct col_config *cfg, const struct cm_keypair *kp,
                   struct col_stats *stats, struct col_core **out, char *err, size_t errlen)
{
    struct col_core *c = cm_xcalloc(1, sizeof *c);
    int rc = -ENOMEM;
    c->zctx = zmq_ctx_new();
    if (!c->zctx) {
        snprintf(err, errlen, "zmq_ctx_new: %s", zmq_strerror(errno));
        goto out;
    }
    c->kr = col_keyring_new();
    rc = col_rulebook_new(cfg->rules_file, &c->rules, err, errlen);
    if (rc == 0) rc = col_zap_start(c->zctx, cfg->database, c->kr, stats, &c->zap, err, errlen);
    if (rc == 0) rc = col_server_new(loop, c->zctx, cfg, kp, stats, &c->server, err, errlen);
    if (rc == 0)
        rc = col_writer_start(cfg, stats, col_server_on_ack, c->server, &c->writer, err, errlen);
    if (rc == 0) {
        col_writer_set_rules(c->writer, c->rules);
        col_server_set_rules(c->server, c->rules);
    }
    if (rc == 0 && (rc = col_server_start(c->server, c->writer)) < 0)
        snprintf(err, errlen, "cannot poll the ZeroMQ socket: %s", cm_err_str(rc));
out:
    if (rc < 0) {
        col_core_stop(c);
        /* Start-up runs before anything else is on the loop, so one
         * iteration only finishes our closes. */
        uv_run(loop, UV_RUN_NOWAIT);
        col_core_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int col_core_endpoint(const struct col_core *c, char *out, size_t outlen)
{
    return col_server_endpoint(c->server, out, outlen);
}

struct col_rulebook *col_core_rules(const struct col_core *c)
{
    return c->rules;
}

int col_core_reload_rules(struct col_core *c, char *err, size_t errlen)
{
    int rc = col_rulebook_reload(c->rules, err, errlen);
    if (rc < 0) return rc;
    if (c->server && !c->stopped) col_server_push_policy(c->server);
    return 0;
}

void col_core_ensure_partitions(struct col_core *c)
{
    if (c->writer) col_writer_request_partitions(c->writer);
}

void col_core_stop(struct col_core *c)
{
    if (!c || c->stopped) return;
    c->stopped = true;
    col_server_stop(c->server);
    col_writer_stop(c->writer); /* commits and acks what was queued */
    c->writer = NULL;
    col_server_free(c->server); /* sends those acks, closes handles */
    c->server = NULL;
    col_zap_stop(c->zap);
    c->zap = NULL;
}

void col_core_free(struct col_core *c)
{
    if (!c) return;
    col_core_stop(c);
    if (c->zctx) zmq_ctx_term(c->zctx);
    col_keyring_free(c->kr);
    col_rulebook_free(c->rules);
    free(c);
}

struct col_run_state {
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t timer;
    struct col_core *core;
    struct col_api *api;
};

static void col_run_on_timer(uv_timer_t *t)
{
    struct col_run_state *st = t->data;
    col_core_ensure_partitions(st->core);
}

static void col_run_on_signal(uv_signal_t *h, int signum)
{
    struct col_run_state *st = h->data;
    cm_info("collector", "shutting down", "signal=%d", signum);
    col_api_stop(st->api);
    st->api = NULL;
    col_core_stop(st->core);
    uv_close((uv_handle_t *)&st->sigint, NULL);
    uv_close((uv_handle_t *)&st->sigterm, NULL);
    uv_close((uv_handle_t *)&st->sighup, NULL);
    uv_close((uv_handle_t *)&st->timer, NULL);
}

/* SIGHUP: the rules only (the config file is read at start). A bad file
 * keeps the rules in force; agents get a new set only when there is one. */
static void col_run_on_hup(uv_signal_t *h, int signum)
{
    struct col_run_state *st = h->data;
    char err[512] = "";
    (void)signum;
    if (col_core_reload_rules(st->core, err, sizeof err) < 0) {
        cm_error("collector", "rules not reloaded; the old ones stay in force",
                 "version=%u err=\"%s\"", col_rulebook_version(col_core_rules(st->core)), err);
        return;
    }
    cm_info("collector", "rules reloaded", "version=%u",
            col_rulebook_version(col_core_rules(st->core)));
}

/* Findings follow the policy and catalogue of this start, not of the run
 * that stored them: every stored current inventory is checked again. A
 * failure is logged and start-up goes on (ingest matters more; the next
 * inventory of each container re-evaluates it anyway). */
static void col_run_reevaluate(PGconn *conn, const struct col_config *cfg)
{
    struct col_check_policy policy = {&cfg->allowed_registries};
    struct col_inventory_store s = {conn, &policy, ""};
    struct col_inventory_counts n = {0};
    char err[512] = "";
    int64_t t0 = cm_time_mono_ns();
    if (col_inventory_store_reevaluate(&s, &n, err, sizeof err) < 0) {
        cm_warn("collector", "cannot re-evaluate stored inventory", "err=\"%s\"", err);
        return;
    }
    cm_info("collector", "inventory re-evaluated",
            "evaluated=%zu opened=%zu resolved=%zu undecodable=%zu allowed_registries=%zu "
            "ms=%lld",
            n.evaluated, n.opened, n.resolved, n.skipped, cfg->allowed_registries.n,
            (long long)((cm_time_mono_ns() - t0) / 1000000));
}

/* The key pair and a database at the schema version this build expects. */
static int col_run_preflight(const struct col_config *cfg, struct cm_keypair *kp, char *err,
                             size_t errlen)
{
    PGconn *conn = NULL;
    int version = 0;
    int rc = cm_keys_read_secret(cfg->key_file, kp, err, errlen);
    if (rc < 0) return rc;
    rc = col_db_connect(cfg->database, "boxwatch-collector", &conn, err, errlen);
    if (rc == 0) rc = col_migrate_current(conn, &version, err, errlen);
    if (rc == 0 && version != col_migrate_latest()) {
        snprintf(err, errlen,
                 "database schema is at version %d, this collector needs %d "
                 "(run `boxwatch-collector migrate`)",
                 version, col_migrate_latest());
        rc = CM_EDB;
    }
    if (rc == 0) col_run_reevaluate(conn, cfg);
    PQfinish(conn);
    return rc;
}

static int col_run_start(uv_loop_t *loop, const struct col_config *cfg, const struct cm_keypair *kp,
                         struct col_stats *stats, struct col_run_state *st, char *err,
                         size_t errlen)
{
    char ep[256] = "";
    int rc = col_core_start(loop, cfg, kp, stats, &st->core, err, errlen);
    if (rc < 0) return rc;
    rc = col_api_start(loop, cfg, stats, &st->api, err, errlen);
    if (rc < 0) {
        col_core_stop(st->core);
        uv_run(loop, UV_RUN_DEFAULT);
        col_core_free(st->core);
        return rc;
    }
    uv_timer_init(loop, &st->timer);
    uv_signal_init(loop, &st->sigint);
    uv_signal_init(loop, &st->sigterm);
    uv_signal_init(loop, &st->sighup);
    st->timer.data = st->sigint.data = st->sigterm.data = st->sighup.data = st;
    uv_timer_start(&st->timer, col_run_on_timer, COL_PARTITION_TIMER_MS, COL_PARTITION_TIMER_MS);
    uv_signal_start(&st->sigint, col_run_on_signal, SIGINT);
    uv_signal_start(&st->sigterm, col_run_on_signal, SIGTERM);
    uv_signal_start(&st->sighup, col_run_on_hup, SIGHUP);
    col_api_set_rules(st->api, col_core_rules(st->core));
    col_core_endpoint(st->core, ep, sizeof ep);
    cm_info("collector", "started", "listen=%s http_port=%d rules_version=%u", ep,
            col_api_port(st->api), col_rulebook_version(col_core_rules(st->core)));
    return 0;
}

int col_run(const struct col_config *cfg)
{
    struct col_stats stats;
    struct col_run_state st = {0};
    struct cm_keypair kp;
    uv_loop_t loop;
    char err[512] = "";
    memset(&stats, 0, sizeof stats);
    int rc = col_run_preflight(cfg, &kp, err, sizeof err);
    if (rc < 0) {
        cm_error("collector", "cannot start", "err=\"%s\"", err);
        return rc;
    }
    uv_loop_init(&loop);
    rc = col_run_start(&loop, cfg, &kp, &stats, &st, err, sizeof err);
    if (rc < 0)
        cm_error("collector", "cannot start", "err=\"%s\"", err);
    else {
        uv_run(&loop, UV_RUN_DEFAULT);
        col_core_free(st.core);
        cm_info("collector", "stopped", "stored=%llu rejected_malformed=%llu",
                (unsigned long long)atomic_load(&stats.envelopes_stored),
                (unsigned long long)atomic_load(&stats.envelopes_rejected[CM_WIRE_MALFORMED]));
    }
    memset(&kp, 0, sizeof kp);
    uv_loop_close(&loop);
    return rc;
}
