/* curve_router.h - a real collector-side ROUTER with CURVE for the agent's
 * tests: bound on tcp://127.0.0.1:* (endpoint read back), run in a thread,
 * decoding every envelope with the real codec and answering with an Ack.
 * Header-only (static functions) so test_client.c and test_agent.c share it
 * without a separate library; it is not a test file of its own. */
#ifndef BW_TEST_CURVE_ROUTER_H
#define BW_TEST_CURVE_ROUTER_H

#include "common/keys.h"
#include "proto/wire.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define TR_MAX 256

struct tr_router {
    void *ctx, *sock; /* sock: created here, used and closed by the thread */
    char endpoint[256];
    struct cm_keypair keys;
    enum cm_ack_status answer; /* what every Ack says */
    bool silent;               /* send no Acks at all */
    atomic_bool stop;
    pthread_t thread;
    /* results: written by the thread, read after tr_router_stop */
    size_t n;
    enum cm_body_kind kinds[TR_MAX];
    uint64_t seqs[TR_MAX];
    size_t samples[TR_MAX];
    char hostname[CM_WIRE_HOSTNAME_MAX + 1];
    int bad; /* undecodable envelopes */
};

static void tr_router_reply(struct tr_router *r, zmq_msg_t *id, uint64_t seq)
{
    struct cm_server_msg msg = {.kind = CM_SERVER_ACK};
    msg.body.ack.seq = seq;
    msg.body.ack.status = r->answer;
    if (r->answer == CM_ACK_REJECTED)
        snprintf(msg.body.ack.reason, sizeof msg.body.ack.reason, "test says no");
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
    if (r->n < TR_MAX) {
        r->kinds[r->n] = env.kind;
        r->seqs[r->n] = env.seq;
        r->samples[r->n] = env.kind == CM_BODY_METRICS ? env.body.metrics.n : 0;
        r->n++;
    }
    if (env.kind == CM_BODY_HELLO)
        memcpy(r->hostname, env.body.hello.hostname, sizeof r->hostname);
    if (!r->silent)
        tr_router_reply(r, id, env.seq);
    cm_wire_envelope_close(&env);
}

static void *tr_router_main(void *arg)
{
    struct tr_router *r = arg;
    while (!atomic_load(&r->stop)) {
        zmq_pollitem_t it = {r->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 50) <= 0)
            continue;
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
    return NULL;
}

static void tr_router_start(struct tr_router *r)
{
    int one = 1, linger = 0;
    size_t len = sizeof r->endpoint;
    cr_assert_eq(cm_keys_generate(&r->keys), 0);
    r->ctx = zmq_ctx_new();
    r->sock = zmq_socket(r->ctx, ZMQ_ROUTER);
    cr_assert_not_null(r->sock);
    cr_assert_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    cr_assert_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_SECRETKEY, r->keys.secret_z85, 41), 0);
    cr_assert_eq(zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof linger), 0);
    cr_assert_eq(zmq_bind(r->sock, "tcp://127.0.0.1:*"), 0);
    cr_assert_eq(zmq_getsockopt(r->sock, ZMQ_LAST_ENDPOINT, r->endpoint, &len), 0);
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
