/* server.c - ROUTER socket, decode/validate, backpressure, acks (see server.h).
 *
 * ZMQ_FD is edge-triggered: it signals that ZMQ_EVENTS may have changed, not
 * that a message is waiting. So every wake-up, every send and every resume
 * is followed by a drain with ZMQ_DONTWAIT until EAGAIN; stopping earlier
 * would lose the wake-up for what is left.
 *
 * Rules go out as a Policy right after the ack of a stored Hello (the
 * agent is enrolled and its session is new), and to every agent in the
 * peer table after a reload. The table holds each agent's last routing id;
 * a stale one only makes ROUTER drop the message. */
#include "collector/server.h"

#include "collector/rulebook.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

struct col_ack_node {
    struct col_ack_node *next;
    uint8_t rid[COL_WRITER_RID_MAX];
    size_t rid_len;
    struct cm_ack ack;
    bool policy; /* a stored Hello: the rules follow the ack */
};

/* An agent that sent something, where its last message came from. */
struct col_peer {
    char key[CM_KEY_Z85_LEN + 1];
    uint8_t rid[COL_WRITER_RID_MAX];
    size_t rid_len;
    int64_t last_ns; /* monotonic */
};

struct col_server {
    uv_loop_t *loop;
    void *sock;
    struct col_stats *stats;
    struct col_writer *writer;
    uv_poll_t poll;
    uv_async_t async;
    int open_handles;
    bool polling; /* uv_poll active */
    bool paused;  /* backpressure: the writer's queue was full */
    bool stopped;
    struct col_writer_item *pending; /* decoded but not yet queued */
    pthread_mutex_t mu;
    struct col_ack_node *acks, **acks_tail;
    struct cm_ratelimit rl;
    struct col_rulebook *rules; /* borrowed; NULL = no Policy is sent */
    struct col_peer *peers;     /* sorted by key, loop thread only */
    size_t npeers, peers_cap;
};

static void col_server_send_raw(struct col_server *s, const uint8_t *rid, size_t rid_len,
                                const uint8_t *buf, size_t len)
{
    if (zmq_send(s->sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(s->sock, buf, len, ZMQ_DONTWAIT);
}

static void col_server_send(struct col_server *s, const uint8_t *rid, size_t rid_len,
                            const struct cm_ack *ack)
{
    struct cm_server_msg m = {.kind = CM_SERVER_ACK};
    uint8_t *buf = NULL;
    size_t len = 0;
    m.body.ack = *ack;
    if (cm_wire_encode_server(&m, &buf, &len) < 0)
        return; /* only a reason over the cap could do this; none of ours is */
    /* A peer that is gone or over its HWM loses the ack; it resends. */
    col_server_send_raw(s, rid, rid_len, buf, len);
    free(buf);
}

static void col_server_reject(struct col_server *s, const zmq_msg_t *rid, const char *agent,
                              uint64_t seq, enum cm_wire_reason reason, const char *why)
{
    struct cm_ack ack = {.seq = seq, .status = CM_ACK_REJECTED};
    unsigned supp = 0;
    atomic_fetch_add(&s->stats->envelopes_rejected[reason], 1);
    snprintf(ack.reason, sizeof ack.reason, "%s", cm_wire_reason_name(reason));
    if (cm_ratelimit_allow(&s->rl, 10, 10000, &supp))
        cm_warn("server", "envelope rejected",
                "agent=%s seq=%llu reason=%s why=\"%s\" suppressed=%u", agent,
                (unsigned long long)seq, cm_wire_reason_name(reason), why, supp);
    /* Without a seq the agent could not match an ack (and an honest agent's
     * encoder cannot produce such bytes): counted and logged only. */
    if (seq > 0)
        col_server_send(s, zmq_msg_data((zmq_msg_t *)rid), zmq_msg_size((zmq_msg_t *)rid), &ack);
}

static void col_server_drain(struct col_server *s);

static int col_peer_cmp(const void *key, const void *peer)
{
    return strcmp(key, ((const struct col_peer *)peer)->key);
}

/* Index of the peer not heard from for the longest time. */
static size_t col_server_peer_oldest(const struct col_server *s)
{
    size_t o = 0;
    for (size_t i = 1; i < s->npeers; i++)
        if (s->peers[i].last_ns < s->peers[o].last_ns) o = i;
    return o;
}

/* Remembers where the agent's last message came from (a reconnect gets a
 * new routing id). Bounded: when full, the longest silent one goes. */
static void col_server_peer_seen(struct col_server *s, const char *key, const uint8_t *rid,
                                 size_t rid_len)
{
    size_t lo = 0, hi = s->npeers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = col_peer_cmp(key, &s->peers[mid]);
        if (c == 0) {
            lo = mid;
            goto found;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (s->npeers == COL_SERVER_PEERS_MAX) {
        size_t o = col_server_peer_oldest(s);
        memmove(&s->peers[o], &s->peers[o + 1], (s->npeers - o - 1) * sizeof *s->peers);
        s->npeers--;
        if (o < lo) lo--;
    }
    if (s->npeers == s->peers_cap) {
        s->peers_cap = s->peers_cap ? s->peers_cap * 2 : 16;
        s->peers = cm_xrealloc(s->peers, s->peers_cap * sizeof *s->peers);
    }
    memmove(&s->peers[lo + 1], &s->peers[lo], (s->npeers - lo) * sizeof *s->peers);
    s->npeers++;
    snprintf(s->peers[lo].key, sizeof s->peers[lo].key, "%s", key);
found:
    memcpy(s->peers[lo].rid, rid, rid_len);
    s->peers[lo].rid_len = rid_len;
    s->peers[lo].last_ns = cm_time_mono_ns();
}

/* The rule set in force as an encoded ServerMessage; NULL without one. */
static uint8_t *col_server_policy_msg(struct col_server *s, size_t *len)
{
    if (!s->rules) return NULL;
    const struct col_rules *r = col_rulebook_acquire(s->rules);
    struct cm_server_msg m = {.kind = CM_SERVER_POLICY};
    uint8_t *buf = NULL;
    m.body.policy = r->policy;
    int rc = cm_wire_encode_server(&m, &buf, len);
    uint32_t version = r->policy.version;
    col_rulebook_release(s->rules, r);
    if (rc < 0) {
        cm_warn("server", "cannot encode the rule set", "version=%u err=\"%s\"", version,
                cm_err_str(rc));
        return NULL;
    }
    return buf;
}

static void col_server_send_policy(struct col_server *s, const uint8_t *rid, size_t rid_len)
{
    size_t len = 0;
    uint8_t *buf = col_server_policy_msg(s, &len);
    if (buf) col_server_send_raw(s, rid, rid_len, buf, len);
    free(buf);
}

void col_server_set_rules(struct col_server *s, struct col_rulebook *rules)
{
    s->rules = rules;
}

size_t col_server_push_policy(struct col_server *s)
{
    size_t len = 0, sent = 0;
    if (s->stopped) return 0;
    uint8_t *buf = col_server_policy_msg(s, &len);
    for (size_t i = 0; buf && i < s->npeers; i++, sent++)
        col_server_send_raw(s, s->peers[i].rid, s->peers[i].rid_len, buf, len);
    free(buf);
    /* Sending may have consumed the fd's edge. */
    col_server_drain(s);
    return sent;
}

size_t col_server_peer_count(const struct col_server *s)
{
    return s->npeers;
}

static void col_server_release(struct cm_envelope *env)
{
    cm_wire_envelope_close(env);
}

/* Decodes one [rid][payload] message; a valid envelope becomes s->pending.
 * So does a rejected one, as a count_only item: the server has no database,
 * the writer adds it to the agent's received and rejected counters. */
static void col_server_handle(struct col_server *s, zmq_msg_t *rid, zmq_msg_t *body, bool extra)
{
    const char *agent = zmq_msg_gets(body, "User-Id");
    enum cm_wire_reason reason = CM_WIRE_MALFORMED;
    char why[256] = "extra frames";
    atomic_fetch_add(&s->stats->envelopes_received, 1);
    if (!agent || !cm_keys_is_z85(agent) || zmq_msg_size(rid) > COL_WRITER_RID_MAX)
        return; /* cannot happen behind ZAP; nobody to answer */
    struct col_writer_item *it = cm_xcalloc(1, sizeof *it);
    if (extra || cm_wire_decode_envelope(zmq_msg_data(body), zmq_msg_size(body), &it->env, &reason,
                                         why, sizeof why) < 0) {
        uint64_t seq = 0;
        cm_wire_peek_seq(zmq_msg_data(body), zmq_msg_size(body), &seq);
        col_server_reject(s, rid, agent, seq, reason, why);
        memset(&it->env, 0, sizeof it->env);
        it->count_only = true;
    }
    col_server_peer_seen(s, agent, zmq_msg_data(rid), zmq_msg_size(rid));
    memcpy(it->agent_key, agent, CM_KEY_Z85_LEN + 1);
    memcpy(it->rid, zmq_msg_data(rid), zmq_msg_size(rid));
    it->rid_len = zmq_msg_size(rid);
    it->release = it->count_only ? NULL : col_server_release;
    s->pending = it;
}

/* Drops the remaining frames of a message that has more than two. */
static void col_server_skip_rest(void *sock)
{
    int more = 1;
    while (more) {
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        if (zmq_msg_recv(&junk, sock, ZMQ_DONTWAIT) < 0)
            more = 0;
        else
            more = zmq_msg_more(&junk);
        zmq_msg_close(&junk);
    }
}

/* Receives one whole message. Returns 1 when one was handled, 0 on EAGAIN. */
static int col_server_recv_one(struct col_server *s)
{
    zmq_msg_t rid, body;
    zmq_msg_init(&rid);
    if (zmq_msg_recv(&rid, s->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&rid);
        return 0;
    }
    zmq_msg_init(&body);
    /* Frames of one message arrive together, so these do not block. */
    if (zmq_msg_more(&rid) && zmq_msg_recv(&body, s->sock, ZMQ_DONTWAIT) >= 0) {
        bool extra = zmq_msg_more(&body);
        if (extra) col_server_skip_rest(s->sock);
        col_server_handle(s, &rid, &body, extra);
    }
    zmq_msg_close(&body);
    zmq_msg_close(&rid);
    return 1;
}

static void col_server_poll_set(struct col_server *s, bool on);

static void col_server_drain(struct col_server *s)
{
    while (!s->stopped) {
        if (s->pending) {
            int rc = col_writer_push(s->writer, s->pending);
            if (rc == -EAGAIN) {
                s->paused = true;
                col_server_poll_set(s, false);
                return;
            }
            if (rc < 0) {
                if (s->pending->release) s->pending->release(&s->pending->env);
                free(s->pending);
            }
            s->pending = NULL;
            if (s->paused) {
                s->paused = false;
                col_server_poll_set(s, true);
            }
        }
        if (!col_server_recv_one(s)) return;
    }
}

static void col_server_on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    col_server_drain(h->data);
}

static void col_server_poll_set(struct col_server *s, bool on)
{
    if (on && !s->polling && !s->stopped)
        s->polling = uv_poll_start(&s->poll, UV_READABLE, col_server_on_poll) == 0;
    else if (!on && s->polling) {
        uv_poll_stop(&s->poll);
        s->polling = false;
    }
}

void col_server_on_ack(void *server, const struct col_writer_item *item, enum cm_ack_status status,
                       const char *reason)
{
    struct col_server *s = server;
    struct col_ack_node *n = cm_xcalloc(1, sizeof *n);
    memcpy(n->rid, item->rid, item->rid_len);
    n->rid_len = item->rid_len;
    n->ack.seq = item->env.seq;
    n->ack.status = status;
    n->policy = status == CM_ACK_STORED && item->env.kind == CM_BODY_HELLO;
    snprintf(n->ack.reason, sizeof n->ack.reason, "%s", reason ? reason : "");
    pthread_mutex_lock(&s->mu);
    *s->acks_tail = n;
    s->acks_tail = &n->next;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->async);
}

static void col_server_flush_acks(struct col_server *s)
{
    pthread_mutex_lock(&s->mu);
    struct col_ack_node *n = s->acks;
    s->acks = NULL;
    s->acks_tail = &s->acks;
    pthread_mutex_unlock(&s->mu);
    while (n) {
        struct col_ack_node *next = n->next;
        col_server_send(s, n->rid, n->rid_len, &n->ack);
        if (n->policy) col_server_send_policy(s, n->rid, n->rid_len);
        free(n);
        n = next;
    }
}

static void col_server_on_async(uv_async_t *h)
{
    struct col_server *s = h->data;
    col_server_flush_acks(s);
    /* Sending may have consumed the fd's edge; and the queue has room now. */
    col_server_drain(s);
}

static int col_server_setup(struct col_server *s, const struct col_config *cfg,
                            const struct cm_keypair *kp, char *err, size_t errlen)
{
    int one = 1, linger = 1000;
    int64_t maxmsg = (int64_t)CM_WIRE_MAX_MESSAGE + 1024;
    const char *dom = COL_SERVER_ZAP_DOMAIN;
    if (zmq_setsockopt(s->sock, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, kp->secret_z85, CM_KEY_Z85_LEN) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_ZAP_DOMAIN, dom, strlen(dom)) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0) {
        snprintf(err, errlen, "zmq socket options: %s", zmq_strerror(errno));
        return -errno;
    }
    if (zmq_bind(s->sock, cfg->listen) < 0) {
        snprintf(err, errlen, "listen: cannot bind %s: %s", cfg->listen, zmq_strerror(errno));
        return -errno;
    }
    return 0;
}

int col_server_new(uv_loop_t *loop, void *zctx, const struct col_config *cfg,
                   const struct cm_keypair *kp, struct col_stats *stats, struct col_server **out,
                   char *err, size_t errlen)
{
    struct col_server *s = cm_xcalloc(1, sizeof *s);
    int fd = -1, rc;
    size_t fdlen = sizeof fd;
    s->loop = loop;
    s->stats = stats;
    s->acks_tail = &s->acks;
    s->sock = zmq_socket(zctx, ZMQ_ROUTER);
    if (!s->sock) {
        snprintf(err, errlen, "zmq socket: %s", zmq_strerror(errno));
        rc = -errno;
        goto out;
    }
    rc = col_server_setup(s, cfg, kp, err, errlen);
    if (rc == 0 && zmq_getsockopt(s->sock, ZMQ_FD, &fd, &fdlen) < 0) {
        snprintf(err, errlen, "zmq fd: %s", zmq_strerror(errno));
        rc = -errno;
    }
    if (rc == 0 && (rc = uv_poll_init(loop, &s->poll, fd)) < 0)
        snprintf(err, errlen, "uv_poll_init: %s", uv_strerror(rc));
out:
    if (rc < 0) {
        if (s->sock) zmq_close(s->sock);
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    uv_async_init(loop, &s->async, col_server_on_async);
    s->poll.data = s->async.data = s;
    s->open_handles = 2;
    *out = s;
    return 0;
}

int col_server_endpoint(const struct col_server *s, char *out, size_t outlen)
{
    size_t len = outlen;
    if (zmq_getsockopt(s->sock, ZMQ_LAST_ENDPOINT, out, &len) < 0) return -errno;
    return 0;
}

int col_server_start(struct col_server *s, struct col_writer *w)
{
    s->writer = w;
    col_server_poll_set(s, true);
    if (!s->polling) return -EIO;
    col_server_drain(s); /* messages may already be waiting: no edge for those */
    return 0;
}

void col_server_stop(struct col_server *s)
{
    if (!s || s->stopped) return;
    col_server_poll_set(s, false);
    s->stopped = true;
    if (s->pending) {
        if (s->pending->release) s->pending->release(&s->pending->env);
        free(s->pending);
        s->pending = NULL;
    }
}

static void col_server_on_close(uv_handle_t *h)
{
    struct col_server *s = h->data;
    if (--s->open_handles > 0) return;
    /* Closed only now: libuv may touch the fd until the poll handle is gone.
     * The linger lets the last acks go out before zmq_ctx_term returns. */
    zmq_close(s->sock);
    pthread_mutex_destroy(&s->mu);
    free(s->peers);
    free(s);
}

void col_server_free(struct col_server *s)
{
    if (!s) return;
    col_server_stop(s);
    col_server_flush_acks(s);
    uv_close((uv_handle_t *)&s->poll, col_server_on_close);
    uv_close((uv_handle_t *)&s->async, col_server_on_close);
}
