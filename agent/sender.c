/* sender.c - the seq store, the spool and the client glued into
 * at-least-once delivery.
 *
 * State kept here is small: a cursor (the seq of the last record handed to
 * ZeroMQ in the current pass over the spool) and the in-flight list (seq and
 * send time of each record sent and not yet acked, ascending by seq because
 * each pass walks the spool in seq order). The payloads stay on disk and are
 * read back with ag_spool_next when they are (re)sent. A reconnect or an ack
 * timeout forgets the in-flight list and starts a new pass at the spool's
 * oldest unacked record; the collector drops the duplicates by (agent, seq).
 *
 * One timer ("tick") serves both the ack timeout of the oldest in-flight
 * record and the retry after a full ZeroMQ queue (-EAGAIN) or a spool read
 * error; a second one syncs the spool every second (fsync=interval for the
 * data; fsync=always too, for the ack floor).
 * Does not read cgroups or build metrics: callers hand in envelopes. */
#include "agent/sender.h"

#include "agent/client.h"
#include "agent/seqstore.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AG_SENDER_MOD "sender"
#define AG_SENDER_LOG_EVERY_MS 60000
#define AG_SENDER_SYNC_MS 1000
#define AG_SENDER_RETRY_BUSY_MS 20    /* after -EAGAIN from ZeroMQ */
#define AG_SENDER_RETRY_ERROR_MS 1000 /* after a spool read or seq store error */
#define AG_SENDER_WINDOW_MAX 100000
/* Consecutive ack timeouts double the wait up to this: an overloaded
 * collector must not be answered with ever more resends. */
#define AG_SENDER_ACK_TIMEOUT_MAX_MS (5 * 60 * 1000)

struct ag_sender_flight {
    uint64_t seq;
    int64_t sent_ms; /* monotonic */
    int64_t sent_us; /* monotonic, for the ack latency histogram */
};

struct ag_sender {
    uv_loop_t *loop;
    struct ag_seqstore *seq;
    struct ag_spool *spool;
    struct ag_client *client;
    uv_timer_t tick;       /* ack timeout of the oldest in flight, or a retry */
    uv_timer_t sync_timer; /* every second unless fsync=never */
    int open_handles;
    bool closing;
    struct cm_hello hello;
    size_t window;
    uint64_t ack_timeout_ms;     /* configured */
    uint64_t cur_timeout_ms;     /* now: doubles per timeout, back to configured on progress */
    int64_t last_progress_ms;    /* last ack of a spooled record */
    /* in flight: flight[head .. tail), ascending seq */
    struct ag_sender_flight *flight;
    size_t head, tail;
    uint64_t cursor;       /* the next pass continues after this seq */
    uint64_t max_sent_seq; /* highest seq ever sent by this process: below it is a resend */
    bool hello_due;        /* connected, Hello not yet sent on this connection */
    int64_t retry_at_ms;   /* 0 = no retry pending */
    uint64_t failed_envelopes, failed_samples; /* could not be spooled */
    uint64_t timeouts;
    struct ag_sender_stats stats;
    ag_sender_refused_cb on_refused;
    ag_sender_progress_cb on_progress;
    ag_sender_policy_cb on_policy;
    void *data;
    struct cm_ratelimit rl_reject, rl_timeout, rl_spool, rl_drop, rl_send, rl_sync;
};

static int64_t ag_sender_now_ms(void)
{
    return cm_time_mono_ns() / 1000000;
}

static size_t ag_sender_in_flight(const struct ag_sender *s)
{
    return s->tail - s->head;
}

static void ag_sender_flight_push(struct ag_sender *s, uint64_t seq)
{
    if (s->tail == s->window) { /* slide the live part back to the start */
        size_t n = ag_sender_in_flight(s);
        memmove(s->flight, s->flight + s->head, n * sizeof *s->flight);
        s->head = 0;
        s->tail = n;
    }
    int64_t now_ns = cm_time_mono_ns();
    s->flight[s->tail].seq = seq;
    s->flight[s->tail].sent_ms = now_ns / 1000000;
    s->flight[s->tail].sent_us = now_ns / 1000;
    s->tail++;
}

unsigned ag_sender_ack_bucket(uint64_t us)
{
    if (us < 4) return (unsigned)us;
    unsigned e = 63u - (unsigned)__builtin_clzll(us); /* us >= 4: e >= 2 */
    unsigned b = 4 * (e - 1) + (unsigned)((us >> (e - 2)) & 3);
    return b < AG_SENDER_ACK_BUCKETS ? b : AG_SENDER_ACK_BUCKETS - 1;
}

/* The smallest latency of bucket b (b <= AG_SENDER_ACK_BUCKETS). */
static uint64_t ag_sender_ack_bucket_low(unsigned b)
{
    if (b < 4) return b;
    return (uint64_t)(4 + b % 4) << (b / 4 - 1);
}

uint64_t ag_sender_ack_quantile_us(const uint64_t *hist, double q)
{
    uint64_t total = 0, seen = 0;
    for (unsigned b = 0; b < AG_SENDER_ACK_BUCKETS; b++)
        total += hist[b];
    if (total == 0) return 0;
    double want = q <= 0 ? 1 : q >= 1 ? (double)total : q * (double)total;
    for (unsigned b = 0; b < AG_SENDER_ACK_BUCKETS; b++) {
        seen += hist[b];
        if (hist[b] > 0 && (double)seen >= want) return ag_sender_ack_bucket_low(b + 1);
    }
    return ag_sender_ack_bucket_low(AG_SENDER_ACK_BUCKETS);
}

/* Acks mostly come in send order, so the oldest is checked first; the list
 * is sorted, so anything else is found by binary search. Returns the send
 * time (us) of the removed record, or -1 when it was not in flight. */
static int64_t ag_sender_flight_remove(struct ag_sender *s, uint64_t seq)
{
    if (s->head == s->tail) return -1;
    if (s->flight[s->head].seq == seq) return s->flight[s->head++].sent_us;
    size_t lo = s->head + 1, hi = s->tail;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->flight[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->tail || s->flight[lo].seq != seq) return -1;
    int64_t sent_us = s->flight[lo].sent_us;
    memmove(s->flight + lo, s->flight + lo + 1, (s->tail - lo - 1) * sizeof *s->flight);
    s->tail--;
    return sent_us;
}

/* Records the spool dropped (size bound) will never be acked. */
static void ag_sender_flight_prune(struct ag_sender *s, uint64_t floor_seq)
{
    while (s->head < s->tail && s->flight[s->head].seq < floor_seq)
        s->head++;
}

/* Forgets what is in flight; the next pass starts at the oldest unacked. */
static void ag_sender_restart_pass(struct ag_sender *s)
{
    s->head = s->tail = 0;
    s->cursor = 0;
}

static void ag_sender_on_tick(uv_timer_t *t);

/* The path counts as lost when neither the oldest record in flight nor any
 * other was acked for cur_timeout_ms: acks still arriving mean the
 * collector is working through a queue, and resending would only deepen it. */
static int64_t ag_sender_ack_deadline(const struct ag_sender *s)
{
    int64_t since = s->flight[s->head].sent_ms;
    if (s->last_progress_ms > since) since = s->last_progress_ms;
    return since + (int64_t)s->cur_timeout_ms;
}

/* Arms the tick for the earlier of a pending retry and the oldest in-flight
 * record's deadline; stops it when neither exists. */
static void ag_sender_arm(struct ag_sender *s)
{
    if (s->closing) return;
    int64_t due = s->retry_at_ms;
    if (s->head < s->tail) {
        int64_t d = ag_sender_ack_deadline(s);
        if (due == 0 || d < due) due = d;
    }
    if (due == 0) {
        uv_timer_stop(&s->tick);
        return;
    }
    /* at least 1 ms: a 0 ms timer re-armed from its own callback would run
     * again in the same loop turn */
    int64_t now = ag_sender_now_ms();
    uv_timer_start(&s->tick, ag_sender_on_tick, due > now ? (uint64_t)(due - now) : 1, 0);
}

static void ag_sender_retry_in(struct ag_sender *s, int64_t ms)
{
    int64_t at = ag_sender_now_ms() + ms;
    if (s->retry_at_ms == 0 || at < s->retry_at_ms) s->retry_at_ms = at;
}

/* Numbers, stamps and encodes an envelope; caller frees *buf. */
static int ag_sender_encode(struct ag_sender *s, struct cm_envelope *env, uint8_t **buf,
                            size_t *len)
{
    int rc = ag_seqstore_next(s->seq, &env->seq);
    if (rc < 0) return rc;
    env->version = CM_WIRE_VERSION;
    env->sent_ns = cm_time_now_ns();
    return cm_wire_encode_envelope(env, buf, len);
}

/* Encodes and sends an envelope that is not spooled (Hello, Heartbeat). */
static int ag_sender_send_unspooled(struct ag_sender *s, struct cm_envelope *env)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = ag_sender_encode(s, env, &buf, &len);
    if (rc == 0) rc = ag_client_send(s->client, buf, len);
    free(buf);
    return rc;
}

static void ag_sender_log_send_error(struct ag_sender *s, const char *what, int rc)
{
    unsigned sup = 0;
    if (cm_ratelimit_allow(&s->rl_send, 1, AG_SENDER_LOG_EVERY_MS, &sup))
        cm_warn(AG_SENDER_MOD, "cannot send to the collector, will retry",
                "what=%s err=\"%s\" suppressed=%u", what, cm_err_str(rc), sup);
}

/* Hands the next unacked records to ZeroMQ while the window has room.
 * Returns false when the pass must pause (queue full or an error). */
static bool ag_sender_send_records(struct ag_sender *s)
{
    while (ag_sender_in_flight(s) < s->window) {
        struct ag_spool_record rec;
        int rc = ag_spool_next(s->spool, s->cursor, &rec);
        if (rc == CM_ENOTFOUND) return true;
        if (rc == 0) rc = ag_client_send(s->client, rec.data, rec.len);
        if (rc == -ENOTCONN) return false; /* on_connect starts a new pass */
        if (rc < 0) {
            if (rc != -EAGAIN) ag_sender_log_send_error(s, "record", rc);
            ag_sender_retry_in(s,
                               rc == -EAGAIN ? AG_SENDER_RETRY_BUSY_MS : AG_SENDER_RETRY_ERROR_MS);
            return false;
        }
        ag_sender_flight_push(s, rec.seq);
        s->cursor = rec.seq;
        s->stats.sent++;
        if (rec.seq <= s->max_sent_seq)
            s->stats.resent++;
        else
            s->max_sent_seq = rec.seq;
    }
    return true;
}

/* Hello first on each connection, then records through the window. */
static void ag_sender_pump(struct ag_sender *s)
{
    if (s->closing || !ag_client_is_connected(s->client)) goto out;
    if (s->hello_due) {
        struct cm_envelope env = {.kind = CM_BODY_HELLO};
        env.body.hello = s->hello;
        int rc = ag_sender_send_unspooled(s, &env);
        if (rc < 0) {
            if (rc != -ENOTCONN && rc != -EAGAIN) ag_sender_log_send_error(s, "hello", rc);
            if (rc != -ENOTCONN)
                ag_sender_retry_in(s, rc == -EAGAIN ? AG_SENDER_RETRY_BUSY_MS
                                                    : AG_SENDER_RETRY_ERROR_MS);
            goto out;
        }
        s->hello_due = false;
    }
    ag_sender_send_records(s);
out:
    ag_sender_arm(s);
}

static void ag_sender_on_tick(uv_timer_t *t)
{
    struct ag_sender *s = t->data;
    struct ag_spool_stats st;
    unsigned sup = 0;
    int64_t now = ag_sender_now_ms();
    s->retry_at_ms = 0;
    ag_spool_get_stats(s->spool, &st);
    ag_sender_flight_prune(s, st.floor_seq);
    if (s->head < s->tail && now >= ag_sender_ack_deadline(s)) {
        s->timeouts++;
        if (cm_ratelimit_allow(&s->rl_timeout, 1, AG_SENDER_LOG_EVERY_MS, &sup))
            cm_warn(AG_SENDER_MOD, "no ack in time, resending everything unacked",
                    "oldest_seq=%llu in_flight=%zu ack_timeout_ms=%llu suppressed=%u",
                    (unsigned long long)s->flight[s->head].seq, ag_sender_in_flight(s),
                    (unsigned long long)s->cur_timeout_ms, sup);
        s->cur_timeout_ms = s->cur_timeout_ms * 2 > AG_SENDER_ACK_TIMEOUT_MAX_MS
                                ? AG_SENDER_ACK_TIMEOUT_MAX_MS
                                : s->cur_timeout_ms * 2;
        if (s->cur_timeout_ms < s->ack_timeout_ms) s->cur_timeout_ms = s->ack_timeout_ms;
        ag_sender_restart_pass(s);
    }
    ag_sender_pump(s);
}

static void ag_sender_on_connect(void *data)
{
    struct ag_sender *s = data;
    s->stats.connects++;
    s->hello_due = true;
    s->cur_timeout_ms = s->ack_timeout_ms; /* a new path: no reason to wait longer */
    ag_sender_restart_pass(s);
    ag_sender_pump(s);
}

static void ag_sender_on_refused(void *data)
{
    struct ag_sender *s = data;
    if (s->on_refused) s->on_refused(s->data);
}

/* A rejected envelope would be rejected again: it leaves the spool like a
 * stored one, and the reason is logged. Acks for seqs the spool does not
 * hold (Hello, Heartbeat, a duplicate) change nothing. */
static void ag_sender_on_ack(void *data, const struct cm_ack *ack)
{
    struct ag_sender *s = data;
    unsigned sup = 0;
    int rc = ag_spool_ack(s->spool, ack->seq);
    int64_t sent_us = ag_sender_flight_remove(s, ack->seq);
    if (rc == 0 && sent_us >= 0) {
        int64_t took = cm_time_mono_ns() / 1000 - sent_us;
        s->stats.ack_us[ag_sender_ack_bucket(took > 0 ? (uint64_t)took : 0)]++;
    }
    if (ack->status == CM_ACK_REJECTED &&
        cm_ratelimit_allow(&s->rl_reject, 1, AG_SENDER_LOG_EVERY_MS, &sup))
        cm_warn(AG_SENDER_MOD, "collector rejected an envelope",
                "seq=%llu reason=\"%s\" spooled=%s suppressed=%u", (unsigned long long)ack->seq,
                ack->reason, rc == 0 ? "yes" : "no", sup);
    if (rc == 0) {
        s->last_progress_ms = ag_sender_now_ms();
        s->cur_timeout_ms = s->ack_timeout_ms;
        if (ack->status == CM_ACK_STORED)
            s->stats.acked++;
        else
            s->stats.rejected++;
        if (s->on_progress) s->on_progress(s->data);
    } else if (rc != CM_ENOTFOUND &&
               cm_ratelimit_allow(&s->rl_spool, 1, AG_SENDER_LOG_EVERY_MS, &sup)) {
        cm_error(AG_SENDER_MOD, "cannot mark a record acked in the spool",
                 "seq=%llu err=\"%s\" suppressed=%u", (unsigned long long)ack->seq, cm_err_str(rc),
                 sup);
    }
    ag_sender_pump(s); /* no-op when on_progress freed the sender */
}

static void ag_sender_on_sync(uv_timer_t *t)
{
    struct ag_sender *s = t->data;
    unsigned sup = 0;
    int rc = ag_spool_sync(s->spool);
    if (rc < 0 && cm_ratelimit_allow(&s->rl_sync, 1, AG_SENDER_LOG_EVERY_MS, &sup))
        cm_error(AG_SENDER_MOD, "cannot sync the spool", "err=\"%s\" suppressed=%u", cm_err_str(rc),
                 sup);
}

/* Counts what was lost to the spool's size bound (the spool already did)
 * and forgets those records if they were in flight. */
static void ag_sender_after_append(struct ag_sender *s, const struct ag_spool_stats *before)
{
    struct ag_spool_stats st;
    unsigned sup = 0;
    ag_spool_get_stats(s->spool, &st);
    if (st.dropped_envelopes == before->dropped_envelopes) return;
    ag_sender_flight_prune(s, st.floor_seq);
    if (cm_ratelimit_allow(&s->rl_drop, 1, AG_SENDER_LOG_EVERY_MS, &sup))
        cm_warn(AG_SENDER_MOD, "spool full, dropped the oldest unacked envelopes",
                "dropped_envelopes=%llu dropped_samples=%llu spool_bytes=%llu suppressed=%u",
                (unsigned long long)st.dropped_envelopes, (unsigned long long)st.dropped_samples,
                (unsigned long long)st.bytes, sup);
    if (s->on_progress) s->on_progress(s->data);
}

int ag_sender_submit(struct ag_sender *s, struct cm_envelope *env, uint32_t samples)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct ag_spool_stats before;
    unsigned sup = 0;
    int rc = -ESHUTDOWN;
    if (s->closing) goto out;
    if ((rc = ag_sender_encode(s, env, &buf, &len)) < 0) goto out;
    ag_spool_get_stats(s->spool, &before);
    if ((rc = ag_spool_append(s->spool, env->seq, samples, buf, len)) < 0) goto out;
    ag_sender_after_append(s, &before);
    ag_sender_pump(s);
out:
    if (rc < 0) {
        s->failed_envelopes++;
        s->failed_samples += samples;
        if (cm_ratelimit_allow(&s->rl_spool, 1, AG_SENDER_LOG_EVERY_MS, &sup))
            cm_error(AG_SENDER_MOD, "cannot spool an envelope, dropped",
                     "err=\"%s\" failed_envelopes=%llu suppressed=%u", cm_err_str(rc),
                     (unsigned long long)s->failed_envelopes, sup);
    }
    free(buf);
    return rc;
}

void ag_sender_get_stats(const struct ag_sender *s, struct ag_sender_stats *out)
{
    *out = s->stats;
    ag_spool_get_stats(s->spool, &out->spool);
    out->in_flight = ag_sender_in_flight(s);
    out->timeouts = s->timeouts;
    out->failed_envelopes = s->failed_envelopes;
    out->failed_samples = s->failed_samples;
}

int ag_sender_heartbeat(struct ag_sender *s, uint64_t containers)
{
    struct ag_spool_stats st;
    if (s->closing) return -ESHUTDOWN;
    if (!ag_client_is_connected(s->client)) return -ENOTCONN;
    ag_sender_pump(s); /* Hello first, if it is still due */
    if (s->hello_due) return -EAGAIN;
    ag_spool_get_stats(s->spool, &st);
    struct cm_envelope env = {.kind = CM_BODY_HEARTBEAT};
    struct cm_heartbeat *hb = &env.body.heartbeat;
    hb->containers = containers;
    /* Envelopes that never reached the spool count as produced and dropped. */
    hb->envelopes_total = st.envelopes_total + s->failed_envelopes;
    hb->samples_total = st.samples_total + s->failed_samples;
    hb->spool_dropped_envelopes = st.dropped_envelopes + s->failed_envelopes;
    hb->spool_dropped_samples = st.dropped_samples + s->failed_samples;
    hb->spool_bytes = st.bytes;
    hb->unacked = st.pending;
    hb->spool_floor_seq = st.floor_seq;
    int rc = ag_sender_send_unspooled(s, &env);
    if (rc < 0 && rc != -ENOTCONN && rc != -EAGAIN) ag_sender_log_send_error(s, "heartbeat", rc);
    return rc;
}

int ag_sender_policy_ack(struct ag_sender *s, const struct cm_policy_ack *ack)
{
    if (s->closing) return -ESHUTDOWN;
    if (!ag_client_is_connected(s->client)) return -ENOTCONN;
    ag_sender_pump(s); /* Hello first: the collector knows the agent by then */
    if (s->hello_due) return -EAGAIN;
    struct cm_envelope env = {.kind = CM_BODY_POLICY_ACK};
    env.body.policy_ack = *ack;
    int rc = ag_sender_send_unspooled(s, &env);
    if (rc < 0 && rc != -ENOTCONN && rc != -EAGAIN) ag_sender_log_send_error(s, "policy ack", rc);
    return rc;
}

uint64_t ag_sender_acked_floor(const struct ag_sender *s)
{
    struct ag_spool_stats st;
    ag_spool_get_stats(s->spool, &st);
    return st.floor_seq;
}

bool ag_sender_is_drained(const struct ag_sender *s)
{
    struct ag_spool_stats st;
    ag_spool_get_stats(s->spool, &st);
    return st.pending == 0;
}

static void ag_sender_release(struct ag_sender *s)
{
    ag_spool_free(s->spool);
    ag_seqstore_free(s->seq);
    free(s->flight);
    free(s);
}

static void ag_sender_on_close(uv_handle_t *h)
{
    struct ag_sender *s = h->data;
    if (--s->open_handles == 0) ag_sender_release(s);
}

void ag_sender_free(struct ag_sender *s)
{
    if (!s || s->closing) return;
    s->closing = true;
    ag_client_free(s->client);
    s->client = NULL;
    if (s->spool) ag_sender_on_sync(&s->sync_timer);
    if (s->open_handles == 0) {
        ag_sender_release(s);
        return;
    }
    uv_close((uv_handle_t *)&s->tick, ag_sender_on_close);
    uv_close((uv_handle_t *)&s->sync_timer, ag_sender_on_close);
}

/* Opens the seq store and the spool under state_dir and logs what the
 * spool recovered. */
static int ag_sender_open_state(struct ag_sender *s, const struct ag_sender_opts *o, char *err,
                                size_t errlen)
{
    char dir[4096];
    struct ag_spool_stats st;
    int rc = ag_seqstore_new(o->state_dir, 0, &s->seq, err, errlen);
    if (rc < 0) return rc;
    if ((size_t)snprintf(dir, sizeof dir, "%s/spool", o->state_dir) >= sizeof dir) {
        snprintf(err, errlen, "config key 'state_dir': path too long");
        return CM_ECONFIG;
    }
    struct ag_spool_opts so = {.dir = dir,
                               .max_bytes = o->spool_max_bytes,
                               .segment_bytes = o->spool_segment_bytes,
                               .fsync = o->spool_fsync};
    if ((rc = ag_spool_open(&so, &s->spool, err, errlen)) < 0) return rc;
    ag_spool_get_stats(s->spool, &st);
    if (st.last_seq > ag_seqstore_reserved(s->seq)) {
        snprintf(err, errlen,
                 "%s holds seq %llu above the seq file's bound %llu: the state directory "
                 "was mixed up; move the spool away to start over",
                 dir, (unsigned long long)st.last_seq,
                 (unsigned long long)ag_seqstore_reserved(s->seq));
        return CM_EPROTO;
    }
    if (st.recovered_cut_bytes > 0)
        cm_warn(AG_SENDER_MOD, "spool had a torn or corrupt tail, cut at the last valid record",
                "dir=%s cut_bytes=%llu records_recovered=%llu", dir,
                (unsigned long long)st.recovered_cut_bytes,
                (unsigned long long)st.recovered_records);
    cm_info(AG_SENDER_MOD, "spool opened",
            "dir=%s records_recovered=%llu unacked=%llu bytes=%llu floor_seq=%llu", dir,
            (unsigned long long)st.recovered_records, (unsigned long long)st.pending,
            (unsigned long long)st.bytes, (unsigned long long)st.floor_seq);
    return 0;
}

static void ag_sender_on_policy(void *data, const struct cm_policy *p)
{
    struct ag_sender *s = data;
    if (s->on_policy) s->on_policy(s->data, p);
}

static int ag_sender_open_client(struct ag_sender *s, const struct ag_sender_opts *o, char *err,
                                 size_t errlen)
{
    struct ag_client_opts co = {
        .endpoint = o->endpoint,
        .server_public_z85 = o->server_public_z85,
        .keys = o->keys,
        .on_connect = ag_sender_on_connect,
        .on_ack = ag_sender_on_ack,
        .on_refused = ag_sender_on_refused,
        .on_policy = ag_sender_on_policy,
        .data = s,
    };
    return ag_client_new(s->loop, &co, &s->client, err, errlen);
}

int ag_sender_new(uv_loop_t *loop, const struct ag_sender_opts *opts, struct ag_sender **out,
                  char *err, size_t errlen)
{
    struct ag_sender *s = cm_xcalloc(1, sizeof *s);
    int rc = CM_ECONFIG;
    s->loop = loop;
    s->window = opts->window ? opts->window : AG_SENDER_DEFAULT_WINDOW;
    s->ack_timeout_ms =
        opts->ack_timeout_ms ? opts->ack_timeout_ms : AG_SENDER_DEFAULT_ACK_TIMEOUT_MS;
    s->cur_timeout_ms = s->ack_timeout_ms;
    if (opts->hello) s->hello = *opts->hello;
    s->on_refused = opts->on_refused;
    s->on_progress = opts->on_progress;
    s->on_policy = opts->on_policy;
    s->data = opts->data;
    if (s->window > AG_SENDER_WINDOW_MAX) {
        snprintf(err, errlen, "config key 'window': at most %d", AG_SENDER_WINDOW_MAX);
        goto out;
    }
    s->flight = cm_xcalloc(s->window, sizeof *s->flight);
    uv_timer_init(loop, &s->tick);
    uv_timer_init(loop, &s->sync_timer);
    s->tick.data = s->sync_timer.data = s;
    s->open_handles = 2;
    if ((rc = ag_sender_open_state(s, opts, err, errlen)) < 0) goto out;
    if ((rc = ag_sender_open_client(s, opts, err, errlen)) < 0) goto out;
    /* interval: the data's fsync. always: the data is already synced, but
     * the ack floor is persisted only by a sync, and a crash would resend
     * everything acked since. never: left to segment deletion and stop. */
    if (opts->spool_fsync != AG_SPOOL_FSYNC_NEVER)
        uv_timer_start(&s->sync_timer, ag_sender_on_sync, AG_SENDER_SYNC_MS, AG_SENDER_SYNC_MS);
    *out = s;
out:
    if (rc < 0) ag_sender_free(s);
    return rc;
}
