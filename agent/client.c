/* client.c - DEALER + CURVE on a libuv loop.
 *
 * ZeroMQ's ZMQ_FD is edge-triggered and only says "look at ZMQ_EVENTS": a
 * wake-up can stand for many messages, and a zmq_send can consume the edge
 * that announced incoming data. So every wake-up drains with ZMQ_DONTWAIT
 * until EAGAIN, and after every send ZMQ_EVENTS is checked; pending input
 * is then drained on the next loop turn (a zero timer), which also keeps Ack
 * callbacks from running inside the caller's send. */
#include "agent/client.h"

#include "common/alloc.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define AG_CLIENT_MOD "client"
#define AG_CLIENT_LOG_EVERY_MS 60000
#define AG_CLIENT_MON_EVENTS                                                                       \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |                             \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                  \
     ZMQ_EVENT_DISCONNECTED)

struct ag_client {
    void *ctx;
    void *dealer;
    void *monitor; /* PAIR connected to the dealer's monitor endpoint */
    uv_poll_t dealer_poll;
    uv_poll_t monitor_poll;
    uv_timer_t drain_timer;
    int open_handles; /* handles initialised and not yet closed */
    bool closing;
    bool connected;
    char *endpoint;
    char public_z85[CM_KEY_Z85_LEN + 1];
    struct ag_client_stats stats;
    ag_client_connect_cb on_connect;
    ag_client_ack_cb on_ack;
    ag_client_policy_cb on_policy;
    ag_client_refused_cb on_refused;
    void *data;
    struct cm_ratelimit rl_auth, rl_handshake, rl_conn, rl_bad;
};

static void ag_client_release(struct ag_client *c)
{
    if (c->monitor) zmq_close(c->monitor);
    if (c->dealer) {
        zmq_socket_monitor(c->dealer, NULL, 0);
        zmq_close(c->dealer);
    }
    if (c->ctx) zmq_ctx_term(c->ctx);
    free(c->endpoint);
    free(c);
}

static void ag_client_on_close(uv_handle_t *h)
{
    struct ag_client *c = h->data;
    if (--c->open_handles == 0) ag_client_release(c);
}

void ag_client_free(struct ag_client *c)
{
    if (!c || c->closing) return;
    c->closing = true;
    if (c->open_handles == 0) {
        ag_client_release(c);
        return;
    }
    uv_handle_t *hs[] = {(uv_handle_t *)&c->drain_timer, (uv_handle_t *)&c->dealer_poll,
                         (uv_handle_t *)&c->monitor_poll};
    for (int i = 0; i < c->open_handles; i++)
        uv_close(hs[i], ag_client_on_close);
}

static void ag_client_handle_message(struct ag_client *c, const void *data, size_t len)
{
    struct cm_server_msg msg;
    enum cm_wire_reason reason;
    char why[160];
    unsigned suppressed = 0;
    if (cm_wire_decode_server(data, len, &msg, &reason, why, sizeof why) < 0) {
        c->stats.bad_messages++;
        if (cm_ratelimit_allow(&c->rl_bad, 1, AG_CLIENT_LOG_EVERY_MS, &suppressed))
            cm_warn(AG_CLIENT_MOD, "undecodable message from collector",
                    "reason=%s why=\"%s\" suppressed=%u", cm_wire_reason_name(reason), why,
                    suppressed);
        return;
    }
    if (msg.kind == CM_SERVER_POLICY) {
        c->stats.policies++;
        if (c->on_policy) c->on_policy(c->data, &msg.body.policy);
        cm_wire_server_close(&msg);
        return;
    }
    if (msg.kind != CM_SERVER_ACK) return;
    if (msg.body.ack.status == CM_ACK_STORED)
        c->stats.acked++;
    else
        c->stats.rejected++;
    if (c->on_ack) c->on_ack(c->data, &msg.body.ack);
}

static void ag_client_on_handshake(struct ag_client *c, uint16_t event, uint32_t value)
{
    unsigned sup = 0;
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        c->connected = true;
        c->stats.connects++;
        if (cm_ratelimit_allow(&c->rl_conn, 3, AG_CLIENT_LOG_EVERY_MS, &sup))
            cm_info(AG_CLIENT_MOD, "connected to collector", "endpoint=%s suppressed=%u",
                    c->endpoint, sup);
        if (c->on_connect) c->on_connect(c->data);
        return;
    }
    bool was_connected = c->connected;
    c->connected = false;
    if (event == ZMQ_EVENT_DISCONNECTED) {
        /* a failed handshake also disconnects; it was already reported */
        if (was_connected && cm_ratelimit_allow(&c->rl_conn, 3, AG_CLIENT_LOG_EVERY_MS, &sup))
            cm_warn(AG_CLIENT_MOD, "disconnected from collector", "endpoint=%s suppressed=%u",
                    c->endpoint, sup);
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        c->stats.refused++;
        if (cm_ratelimit_allow(&c->rl_auth, 1, AG_CLIENT_LOG_EVERY_MS, &sup))
            cm_error(AG_CLIENT_MOD, "collector refused our key: is this agent enrolled?",
                     "endpoint=%s public_key=%s status=%u suppressed=%u", c->endpoint,
                     c->public_z85, (unsigned)value, sup);
        if (c->on_refused) c->on_refused(c->data);
    } else if (cm_ratelimit_allow(&c->rl_handshake, 1, AG_CLIENT_LOG_EVERY_MS, &sup)) {
        cm_warn(AG_CLIENT_MOD,
                "CURVE handshake with collector failed: is collector_public_key right?",
                "endpoint=%s event=0x%x suppressed=%u", c->endpoint, (unsigned)event, sup);
    }
}

/* A monitor event is two frames: 6 bytes (u16 event, u32 value), then the
 * endpoint text (dropped by ag_client_drain). */
static void ag_client_on_monitor_frame(struct ag_client *c, const void *data, size_t len, bool more)
{
    uint16_t event;
    uint32_t value;
    if (len != 6) return;
    memcpy(&event, data, sizeof event);
    memcpy(&value, (const char *)data + 2, sizeof value);
    ag_client_on_handshake(c, event, value);
}

static void ag_client_on_dealer_frame(struct ag_client *c, const void *data, size_t len, bool more)
{
    if (!more) /* the collector sends single-frame messages only */
        ag_client_handle_message(c, data, len);
    else
        c->stats.bad_messages++;
}

typedef void (*ag_client_frame_fn)(struct ag_client *c, const void *data, size_t len, bool more);

/* Receives until EAGAIN; gives each message's first frame to fn (with
 * whether more followed) and drops the rest. fn may free the client: the
 * memory stays valid until the close callbacks, and `closing` ends the loop. */
static void ag_client_drain(struct ag_client *c, void *sock, ag_client_frame_fn fn)
{
    while (!c->closing) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            break;
        }
        bool more = zmq_msg_more(&msg);
        fn(c, zmq_msg_data(&msg), zmq_msg_size(&msg), more);
        while (more) {
            zmq_msg_close(&msg);
            zmq_msg_init(&msg);
            more = zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&msg);
        }
        zmq_msg_close(&msg);
    }
}

static void ag_client_on_dealer(uv_poll_t *h, int status, int events)
{
    struct ag_client *c = h->data;
    ag_client_drain(c, c->dealer, ag_client_on_dealer_frame);
}

static void ag_client_on_monitor(uv_poll_t *h, int status, int events)
{
    struct ag_client *c = h->data;
    ag_client_drain(c, c->monitor, ag_client_on_monitor_frame);
}

static void ag_client_on_drain_timer(uv_timer_t *t)
{
    struct ag_client *c = t->data;
    ag_client_drain(c, c->monitor, ag_client_on_monitor_frame);
    ag_client_drain(c, c->dealer, ag_client_on_dealer_frame);
}

static int ag_client_zfail(char *err, size_t errlen, const char *what)
{
    int e = errno;
    snprintf(err, errlen, "%s: %s", what, zmq_strerror(e));
    return e ? -e : -EIO;
}

static int ag_client_setopt_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v) == 0 ? 0 : -errno;
}

/* Socket options: CURVE client keys, bounded linger and message size, no
 * queueing for connections that are not up, keepalive heartbeats. */
static int ag_client_configure(struct ag_client *c, const struct ag_client_opts *o, char *err,
                               size_t errlen)
{
    int64_t maxmsg = CM_WIRE_MAX_MESSAGE;
    if (!cm_keys_is_z85(o->server_public_z85) || !cm_keys_is_z85(o->keys->public_z85) ||
        !cm_keys_is_z85(o->keys->secret_z85)) {
        snprintf(err, errlen, "collector key or agent key pair is not 40 characters of Z85");
        return CM_ECONFIG;
    }
    if (zmq_setsockopt(c->dealer, ZMQ_CURVE_SERVERKEY, o->server_public_z85, CM_KEY_Z85_LEN + 1) ||
        zmq_setsockopt(c->dealer, ZMQ_CURVE_PUBLICKEY, o->keys->public_z85, CM_KEY_Z85_LEN + 1) ||
        zmq_setsockopt(c->dealer, ZMQ_CURVE_SECRETKEY, o->keys->secret_z85, CM_KEY_Z85_LEN + 1)) {
        return ag_client_zfail(err, errlen, "cannot set CURVE keys");
    }
    if (ag_client_setopt_int(c->dealer, ZMQ_LINGER, AG_CLIENT_LINGER_MS) ||
        ag_client_setopt_int(c->dealer, ZMQ_IMMEDIATE, 1) ||
        ag_client_setopt_int(c->dealer, ZMQ_RECONNECT_IVL, 1000) ||
        ag_client_setopt_int(c->dealer, ZMQ_RECONNECT_IVL_MAX, 30000) ||
        ag_client_setopt_int(c->dealer, ZMQ_HEARTBEAT_IVL, 10000) ||
        ag_client_setopt_int(c->dealer, ZMQ_HEARTBEAT_TIMEOUT, 30000) ||
        zmq_setsockopt(c->dealer, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg)) {
        return ag_client_zfail(err, errlen, "cannot set socket options");
    }
    return 0;
}

/* The monitor is attached before connecting so no handshake event is lost. */
static int ag_client_open_sockets(struct ag_client *c, const struct ag_client_opts *o, char *err,
                                  size_t errlen)
{
    char mon_ep[64];
    int rc;
    c->ctx = zmq_ctx_new();
    c->dealer = c->ctx ? zmq_socket(c->ctx, ZMQ_DEALER) : NULL;
    c->monitor = c->ctx ? zmq_socket(c->ctx, ZMQ_PAIR) : NULL;
    if (!c->dealer || !c->monitor) {
        return ag_client_zfail(err, errlen, "cannot create ZeroMQ sockets");
    }
    if ((rc = ag_client_configure(c, o, err, errlen)) < 0) return rc;
    snprintf(mon_ep, sizeof mon_ep, "inproc://boxwatch-agent-monitor-%p", (void *)c);
    if (zmq_socket_monitor(c->dealer, mon_ep, AG_CLIENT_MON_EVENTS) != 0 ||
        zmq_connect(c->monitor, mon_ep) != 0 || ag_client_setopt_int(c->monitor, ZMQ_LINGER, 0)) {
        return ag_client_zfail(err, errlen, "cannot monitor the socket");
    }
    if (zmq_connect(c->dealer, o->endpoint) != 0) {
        snprintf(err, errlen, "config key 'collector': cannot connect to '%s': %s", o->endpoint,
                 zmq_strerror(errno));
        return CM_ECONFIG;
    }
    return 0;
}

static int ag_client_start_polls(struct ag_client *c, uv_loop_t *loop, char *err, size_t errlen)
{
    int dfd, mfd, rc;
    size_t sz = sizeof dfd;
    if (zmq_getsockopt(c->dealer, ZMQ_FD, &dfd, &sz) != 0 ||
        (sz = sizeof mfd, zmq_getsockopt(c->monitor, ZMQ_FD, &mfd, &sz)) != 0) {
        return ag_client_zfail(err, errlen, "cannot get ZMQ_FD");
    }
    uv_timer_init(loop, &c->drain_timer);
    c->drain_timer.data = c;
    c->open_handles = 1;
    if ((rc = uv_poll_init(loop, &c->dealer_poll, dfd)) < 0) goto fail;
    c->dealer_poll.data = c;
    c->open_handles = 2;
    if ((rc = uv_poll_init(loop, &c->monitor_poll, mfd)) < 0) goto fail;
    c->monitor_poll.data = c;
    c->open_handles = 3;
    if ((rc = uv_poll_start(&c->dealer_poll, UV_READABLE, ag_client_on_dealer)) < 0 ||
        (rc = uv_poll_start(&c->monitor_poll, UV_READABLE, ag_client_on_monitor)) < 0)
        goto fail;
    /* Anything that arrived before the polls were armed left no edge. */
    uv_timer_start(&c->drain_timer, ag_client_on_drain_timer, 0, 0);
    return 0;
fail:
    snprintf(err, errlen, "cannot watch the ZeroMQ socket: %s", uv_strerror(rc));
    return rc;
}

int ag_client_new(uv_loop_t *loop, const struct ag_client_opts *opts, struct ag_client **out,
                  char *err, size_t errlen)
{
    struct ag_client *c = cm_xcalloc(1, sizeof *c);
    c->endpoint = cm_xstrdup(opts->endpoint);
    c->on_connect = opts->on_connect;
    c->on_ack = opts->on_ack;
    c->on_refused = opts->on_refused;
    c->on_policy = opts->on_policy;
    c->data = opts->data;
    snprintf(c->public_z85, sizeof c->public_z85, "%s", opts->keys->public_z85);
    int rc = ag_client_open_sockets(c, opts, err, errlen);
    if (rc == 0) rc = ag_client_start_polls(c, loop, err, errlen);
    if (rc < 0) {
        ag_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

bool ag_client_is_connected(const struct ag_client *c)
{
    return c->connected;
}

int ag_client_send(struct ag_client *c, const void *buf, size_t len)
{
    if (c->closing) return -ESHUTDOWN;
    if (!c->connected) return -ENOTCONN;
    if (zmq_send(c->dealer, buf, len, ZMQ_DONTWAIT) < 0) return -errno;
    c->stats.sent++;
    /* The send may have consumed the edge that announced an Ack. */
    int events = 0;
    size_t sz = sizeof events;
    if (zmq_getsockopt(c->dealer, ZMQ_EVENTS, &events, &sz) == 0 && (events & ZMQ_POLLIN))
        uv_timer_start(&c->drain_timer, ag_client_on_drain_timer, 0, 0);
    return 0;
}

void ag_client_get_stats(const struct ag_client *c, struct ag_client_stats *out)
{
    *out = c->stats;
}
