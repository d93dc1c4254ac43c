/* sender.h - reliable delivery of the agent's envelopes to the collector.
 *
 * Glues the seq store, the disk spool and the ZeroMQ client together:
 *   submit: assign the next seq -> encode -> append to the spool -> send if
 *           the in-flight window has room;
 *   ack:    mark acked in the spool -> send the next unacked record;
 *   ack timeout (no ack at all, for the oldest in-flight record or any
 *           other, within the current timeout) or reconnect: resend
 *           everything unacked, oldest first, again through the window.
 *           The current timeout starts at ack_timeout_ms and doubles with
 *           each consecutive timeout (up to 5 min), back to ack_timeout_ms on
 *           any ack or reconnect: an overloaded collector that still acks is
 *           not flooded with resends.
 * Hello is sent on every (re)connect and Heartbeats on request; they take
 * seqs but are not spooled (they describe the moment, resending them has no
 * value). The same module drives the real agent and boxwatch-loadgen, so the
 * load and fault tests exercise the code that ships.
 *
 * Logs delivery trouble (rate-limited) and spool recovery; never payloads. */
#ifndef AG_SENDER_H
#define AG_SENDER_H

#include "agent/spool.h"
#include "common/keys.h"
#include "proto/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define AG_SENDER_DEFAULT_WINDOW 64
#define AG_SENDER_DEFAULT_ACK_TIMEOUT_MS 10000

typedef void (*ag_sender_refused_cb)(void *data);
/* Called after each ack or drop that changed the pending count. */
typedef void (*ag_sender_progress_cb)(void *data);
/* Called for each Policy the collector pushes (borrowed for the call). */
typedef void (*ag_sender_policy_cb)(void *data, const struct cm_policy *p);

struct ag_sender_opts {
    const char *state_dir;         /* seq store and spool/ live here */
    const char *endpoint;          /* collector, "tcp://host:port" */
    const char *server_public_z85; /* collector's public key */
    const struct cm_keypair *keys; /* this agent's key pair */
    const struct cm_hello *hello;  /* sent on every connect; copied */
    uint64_t spool_max_bytes;
    uint64_t spool_segment_bytes; /* 0 = spool default */
    enum ag_spool_fsync spool_fsync;
    size_t window;                     /* envelopes in flight; 0 = default */
    uint64_t ack_timeout_ms;           /* 0 = default */
    ag_sender_refused_cb on_refused;   /* may be NULL */
    ag_sender_progress_cb on_progress; /* may be NULL */
    ag_sender_policy_cb on_policy;     /* may be NULL */
    void *data;
};

/* Send->ack latency histogram: 4 buckets per power of two of microseconds
 * (bucket width <= 25 % of its lower bound), from 0 us up to ~2^33 us; the
 * last bucket also holds everything above. */
#define AG_SENDER_ACK_BUCKETS 128

struct ag_sender_stats {
    struct ag_spool_stats spool;
    uint64_t in_flight; /* sent, waiting for an ack */
    uint64_t sent;      /* sends handed to ZeroMQ, resends included */
    uint64_t resent;    /* of which resends */
    uint64_t acked;     /* STORED acks for spooled records */
    uint64_t rejected;  /* REJECTED acks (the record is removed, never resent) */
    uint64_t connects;
    uint64_t timeouts;         /* ack timeouts (each restarts the pass at the oldest unacked) */
    uint64_t failed_envelopes; /* submits that never reached the spool (counted as dropped) */
    uint64_t failed_samples;
    /* acks of spooled records sent by this process, by time from the last
     * send of that record to its ack (resends restart the clock) */
    uint64_t ack_us[AG_SENDER_ACK_BUCKETS];
};

struct ag_sender;

/* The histogram bucket of a latency of `us` microseconds. */
unsigned ag_sender_ack_bucket(uint64_t us);
/* Quantile q (0..1) of a histogram of AG_SENDER_ACK_BUCKETS counts (e.g.
 * summed over several senders), as the upper bound of its bucket in
 * microseconds (an overestimate by at most 25 %); 0 when it is empty. */
uint64_t ag_sender_ack_quantile_us(const uint64_t *hist, double q);

int ag_sender_new(uv_loop_t *loop, const struct ag_sender_opts *opts, struct ag_sender **out,
                  char *err, size_t errlen);
/* Spools and sends a metrics envelope: the sender sets env->version, seq
 * and sent_ns. `samples` is counted in the spool's totals. Returns 0 once
 * the envelope is durably in the spool (sent or not), or an error when it
 * could not be spooled (it is then lost and counted as dropped). */
int ag_sender_submit(struct ag_sender *s, struct cm_envelope *env, uint32_t samples);
/* Sends a Heartbeat built from the spool's counters (not spooled). Returns
 * 0, or -ENOTCONN / -EAGAIN when it was skipped (disconnected, queue full). */
int ag_sender_heartbeat(struct ag_sender *s, uint64_t containers);
/* Answers a Policy (not spooled: the collector pushes the policy again on
 * every connect). 0, or -ENOTCONN / -EAGAIN when it could not be sent now. */
int ag_sender_policy_ack(struct ag_sender *s, const struct cm_policy_ack *ack);
/* Every seq below this is acked (or dropped by a full spool and counted):
 * data read up to an envelope below it never needs reading again. */
uint64_t ag_sender_acked_floor(const struct ag_sender *s);
void ag_sender_get_stats(const struct ag_sender *s, struct ag_sender_stats *out);
/* True when nothing spooled is waiting for an ack. */
bool ag_sender_is_drained(const struct ag_sender *s);
/* Closes handles (run the loop afterwards) and syncs the spool; NULL is harmless. */
void ag_sender_free(struct ag_sender *s);

#endif
