/* curve_router.h - a real collector-side ROUTER with CURVE for the agent's
 * tests: bound on tcp://127.0.0.1:* (endpoint read back), run in a thread,
 * decoding every envelope with the real codec and answering with an Ack.
 * With `deny`, a ZAP handler refuses every client key (what the collector
 * does for an agent it has not enrolled).
 *
 * Faults for the delivery tests, all counted in metrics envelopes received
 * (Hello and Heartbeat are always answered at once unless `silent`):
 *   withhold       the first N get no Ack (lost acks; resends are answered)
 *   reject_nth     the Nth is answered REJECTED
 *   batch_idle_ms  Acks are held until no envelope came for this long, and
 *                  max_waiting records how many were held at once
 *   restart_after  after the Nth (unanswered) the socket is closed and bound
 *                  again on the same port; later ones are answered
 * With `policy` set, a Policy message follows the Ack of every Hello, as the
 * collector pushes its rules; PolicyAcks are recorded (policy_ack).
 * Header-only (static functions) so the agent's tests share it without a
 * separate library; it is not a test file of its own. */
#ifndef BW_TEST_CURVE_ROUTER_H
#define BW_TEST_CURVE_ROUTER_H

#include "common/keys.h"
#include "common/timeutil.h"
#include "proto/wire.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define TR_MAX 1024
#define TR_HELD_MAX 256

struct tr_held {
    uint8_t id[256];
    size_t idlen;
    uint64_t seq;
    enum cm_ack_status status;
};

struct tr_router {
    void *ctx, *sock; /* sock: created here, used and closed by the thread */
    void *zap;        /* with deny: the ZAP handler's REP socket, same ownership */
    bool deny;
    char endpoint[256];
    struct cm_keypair keys;
    enum cm_ack_status answer; /* what every Ack says */
    bool silent;               /* send no Acks at all */
    size_t withhold, reject_nth, restart_after;
    int64_t batch_idle_ms;
    atomic_bool stop;
    pthread_t thread;
    /* results: written by the thread; n is published last, so entries below
     * a loaded n may be read while the thread runs */
    atomic_size_t n;
    enum cm_body_kind kinds[TR_MAX];
    uint64_t seqs[TR_MAX];
    size_t samples[TR_MAX];
    char hostname[CM_WIRE_HOSTNAME_MAX + 1];
    struct cm_heartbeat hb; /* the last Heartbeat */
    const struct cm_policy *policy; /* pushed after each Hello when set */
    struct cm_policy_ack policy_ack; /* the last PolicyAck */
    atomic_int policy_acks;
    /* EventBatch envelopes: every event's offset and first field value, in
     * arrival order (a resent envelope shows up twice), and stats seen */
    atomic_size_t events;
    uint64_t ev_offset[TR_MAX];
    char ev_field[TR_MAX][32];
    atomic_int stats_seen;
    atomic_int heartbeats;
    size_t metrics;     /* metrics envelopes received */
    size_t restart_at;  /* n when the socket was closed (0 = never) */
    size_t max_waiting; /* most Acks held at once (batch_idle_ms) */
    int bad;            /* undecodable envelopes */
    int denials;        /* ZAP requests refused */
    /* thread-private */
    struct tr_held held[TR_HELD_MAX];
    size_t n_held;
    int64_t last_rx_ms;
};

static void tr_router_reply(struct tr_router *r, const void *id, size_t idlen, uint64_t seq,
                            enum cm_ack_status status)
{
    struct cm_server_msg msg = {.kind = CM_SERVER_ACK};
    msg.body.ack.seq = seq;
    msg.body.ack.status = status;
    if (status == CM_ACK_REJECTED)
        snprintf(msg.body.ack.reason, sizeof msg.body.ack.reason, "test says no");
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cm_wire_encode_server(&msg, &buf, &len) < 0) {
        r->bad++;
        return;
    }
    zmq_send(r->sock, id, idlen, ZMQ_SNDMORE);
    zmq_send(r->sock, buf, len, 0);
    free(buf);
}

static void tr_router_push_policy(struct tr_router *r, zmq_msg_t *id)
{
    struct cm_server_msg msg = {.kind = CM_SERVER_POLICY};
    msg.body.policy = *r->policy;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cm_wire_encode_server(&msg, &buf, &len) < 0) {
        r->bad++;
        return;
    }
    zmq_send(r->sock, zmq_msg_data(id), zmq_msg_size(id), ZMQ_SNDMORE);
    zmq_send(r->sock, buf, len, 0);
    free(buf);
}

static void tr_router_flush(struct tr_router *r)
{
    for (size_t i = 0; i < r->n_held; i++)
        tr_router_reply(r, r->held[i].id, r->held[i].idlen, r->held[i].seq, r->held[i].status);
    r->n_held = 0;
}

static void tr_router_open(struct tr_router *r)
{
    int one = 1, linger = 0;
    r->sock = zmq_socket(r->ctx, ZMQ_ROUTER);
    cr_assert_not_null(r->sock);
    cr_assert_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    cr_assert_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_SECRETKEY, r->keys.secret_z85, 41), 0);
    cr_assert_eq(zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof linger), 0);
}

/* Closes the socket (the agent sees a disconnect) and binds a new one on
 * the same port; the old listener goes away asynchronously, so retry. */
static void tr_router_restart(struct tr_router *r)
{
    r->restart_at = atomic_load(&r->n);
    r->n_held = 0;
    zmq_close(r->sock);
    tr_router_open(r);
    for (int i = 0; i < 200 && zmq_bind(r->sock, r->endpoint) != 0; i++)
        usleep(10 * 1000);
}

/* Decides the Ack of a metrics envelope: none, now, or held. */
static void tr_router_answer_metrics(struct tr_router *r, zmq_msg_t *id, uint64_t seq)
{
    size_t m = ++r->metrics;
    enum cm_ack_status status = m == r->reject_nth ? CM_ACK_REJECTED : r->answer;
    if (r->restart_after && !r->restart_at) {
        if (m >= r->restart_after) tr_router_restart(r);
        return;
    }
    if (m <= r->withhold) return;
    if (r->batch_idle_ms <= 0 || r->n_held == TR_HELD_MAX) {
        tr_router_reply(r, zmq_msg_data(id), zmq_msg_size(id), seq, status);
        return;
    }
    struct tr_held *h = &r->held[r->n_held++];
    h->idlen = zmq_msg_size(id) < sizeof h->id ? zmq_msg_size(id) : sizeof h->id;
    memcpy(h->id, zmq_msg_data(id), h->idlen);
    h->seq = seq;
    h->status = status;
    if (r->n_held > r->max_waiting) r->max_waiting = r->n_held;
}

static void tr_router_handle(struct tr_router *r, zmq_msg_t *id, zmq_msg_t *body)
{
    struct cm_envelope env;
    enum cm_wire_reason reason;
    char why[160];
    if (cm_wire_decode_envelope(zmq_msg_data(body), zmq_msg_size(body), &env, &reason, why,
                                sizeof why) < 0) {
        r->bad++;
        return;
    }
    size_t n = atomic_load(&r->n);
    if (n < TR_MAX) {
        r->kinds[n] = env.kind;
        r->seqs[n] = env.seq;
        r->samples[n] = env.kind == CM_BODY_METRICS ? env.body.metrics.n : 0;
        atomic_store(&r->n, n + 1);
    }
    if (env.kind == CM_BODY_HELLO) memcpy(r->hostname, env.body.hello.hostname, sizeof r->hostname);
    if (env.kind == CM_BODY_HEARTBEAT) {
        r->hb = env.body.heartbeat;
        atomic_fetch_add(&r->heartbeats, 1);
    }
    if (env.kind == CM_BODY_EVENTS) {
        const struct cm_event_batch *b = &env.body.events;
        size_t e = atomic_load(&r->events);
        for (size_t i = 0; i < b->n_events && e < TR_MAX; i++, e++) {
            r->ev_offset[e] = b->events[i].offset;
            snprintf(r->ev_field[e], sizeof r->ev_field[e], "%s",
                     b->events[i].n_fields ? b->events[i].fields[0].value : "");
        }
        atomic_store(&r->events, e);
        atomic_fetch_add(&r->stats_seen, (int)b->n_stats);
    }
    if (env.kind == CM_BODY_POLICY_ACK) {
        r->policy_ack = env.body.policy_ack;
        atomic_fetch_add(&r->policy_acks, 1);
    }
    if (!r->silent) {
        if (env.kind == CM_BODY_METRICS)
            tr_router_answer_metrics(r, id, env.seq);
        else
            tr_router_reply(r, zmq_msg_data(id), zmq_msg_size(id), env.seq, r->answer);
        if (env.kind == CM_BODY_HELLO && r->policy) tr_router_push_policy(r, id);
    }
    cm_wire_envelope_close(&env);
}

/* ZAP request: version, request id, domain, address, identity, mechanism,
 * key. The reply refuses with 400, as the collector does for a stranger. */
static void tr_router_zap_deny(struct tr_router *r)
{
    char frames[2][64];
    size_t lens[2] = {0, 0};
    int more = 1, i = 0;
    size_t sz = sizeof more;
    while (more) {
        char buf[256];
        int n = zmq_recv(r->zap, buf, sizeof buf, 0);
        if (n < 0) return;
        if (i < 2) {
            lens[i] = (size_t)n < sizeof frames[i] ? (size_t)n : sizeof frames[i];
            memcpy(frames[i], buf, lens[i]);
        }
        i++;
        zmq_getsockopt(r->zap, ZMQ_RCVMORE, &more, &sz);
    }
    zmq_send(r->zap, frames[0], lens[0], ZMQ_SNDMORE);
    zmq_send(r->zap, frames[1], lens[1], ZMQ_SNDMORE);
    zmq_send(r->zap, "400", 3, ZMQ_SNDMORE);
    zmq_send(r->zap, "not enrolled", 12, ZMQ_SNDMORE);
    zmq_send(r->zap, "", 0, ZMQ_SNDMORE);
    zmq_send(r->zap, "", 0, 0);
    r->denials++;
}

static void *tr_router_main(void *arg)
{
    struct tr_router *r = arg;
    while (!atomic_load(&r->stop)) {
        zmq_pollitem_t its[2] = {{r->sock, 0, ZMQ_POLLIN, 0}, {r->zap, 0, ZMQ_POLLIN, 0}};
        int64_t now = cm_time_mono_ns() / 1000000;
        if (r->n_held > 0 && now - r->last_rx_ms >= r->batch_idle_ms) tr_router_flush(r);
        if (zmq_poll(its, r->zap ? 2 : 1, 10) <= 0) continue;
        if (r->zap && (its[1].revents & ZMQ_POLLIN)) tr_router_zap_deny(r);
        if (!(its[0].revents & ZMQ_POLLIN)) continue;
        r->last_rx_ms = cm_time_mono_ns() / 1000000;
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        if (zmq_msg_recv(&id, r->sock, 0) >= 0 && zmq_msg_more(&id) &&
            zmq_msg_recv(&body, r->sock, 0) >= 0)
            tr_router_handle(r, &id, &body);
        zmq_msg_close(&body);
        zmq_msg_close(&id);
    }
    zmq_close(r->sock);
    if (r->zap) zmq_close(r->zap);
    return NULL;
}

static void tr_router_start(struct tr_router *r)
{
    int linger = 0;
    size_t len = sizeof r->endpoint;
    cr_assert_eq(cm_keys_generate(&r->keys), 0);
    r->ctx = zmq_ctx_new();
    if (r->deny) { /* bound before any handshake can ask for it */
        r->zap = zmq_socket(r->ctx, ZMQ_REP);
        cr_assert_eq(zmq_setsockopt(r->zap, ZMQ_LINGER, &linger, sizeof linger), 0);
        cr_assert_eq(zmq_bind(r->zap, "inproc://zeromq.zap.01"), 0);
    }
    tr_router_open(r);
    cr_assert_eq(zmq_bind(r->sock, "tcp://127.0.0.1:*"), 0);
    cr_assert_eq(zmq_getsockopt(r->sock, ZMQ_LAST_ENDPOINT, r->endpoint, &len), 0);
    atomic_store(&r->n, 0);
    atomic_store(&r->stop, false);
    cr_assert_eq(pthread_create(&r->thread, NULL, tr_router_main, r), 0);
}

static void tr_router_stop(struct tr_router *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    zmq_ctx_term(r->ctx);
}

#endif
