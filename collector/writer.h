/* writer.h - the database writer: envelopes in, committed rows and acks out.
 *
 * One thread with its own PGconn takes envelopes from a bounded queue and
 * writes them in batches, one transaction per batch: duplicates by
 * (agent, seq) are dropped, Hello/Heartbeat update the agents row, samples
 * go in with COPY into day partitions it creates on demand. Dedup is by
 * (agent, seq) in any arrival order (table agent_seqs, written in the same
 * transaction as the data; seqs below the agent's reported spool floor are
 * duplicates too). Only after COMMIT does it report each envelope through
 * the ack callback (STORED, also for a duplicate; or REJECTED for an agent
 * that is unknown or revoked). A database error rolls back, reconnects with
 * backoff (capped at 2 s) and retries the same batch; it never exits and
 * never acks what was not committed. Only data that PostgreSQL itself
 * refuses as invalid (SQLSTATE class 22/23, again and again) is retried one
 * envelope at a time and the guilty ones REJECTED. Per-agent counters
 * (received, stored, duplicates, rejected) are added in the same
 * transaction. It does not touch sockets. */
#ifndef COL_WRITER_H
#define COL_WRITER_H

#include "collector/config.h"
#include "collector/stats.h"
#include "common/keys.h"
#include "proto/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COL_WRITER_RID_MAX 256 /* bytes of a ZeroMQ routing id */

struct col_writer_item {
    char agent_key[CM_KEY_Z85_LEN + 1]; /* z85 public key from the transport */
    uint8_t rid[COL_WRITER_RID_MAX];    /* opaque to the writer; for the ack */
    size_t rid_len;
    struct cm_envelope env;
    /* Set by the server for an envelope the codec rejected (and the server
     * already answered): the writer only counts it as received and rejected
     * for agent_key; env is zeroed and never acked. */
    bool count_only;
    /* Called (from the writer thread) when the writer is done with env; NULL
     * when the caller owns what env points to and keeps it alive until the
     * ack (tests). The server passes cm_wire_envelope_close. */
    void (*release)(struct cm_envelope *env);
};

/* Called on the writer thread after the batch holding `item` committed (or
 * was refused); item is valid only during the call. reason is "" for STORED. */
typedef void (*col_writer_ack_cb)(void *arg, const struct col_writer_item *item,
                                  enum cm_ack_status status, const char *reason);

struct col_writer;

/* Starts the thread. cfg (database, batch_*, queue_max_envelopes,
 * max_sample_age_ms, max_clock_skew_ms) and stats are borrowed and must
 * outlive the writer. A database that is down at start is retried. */
int col_writer_start(const struct col_config *cfg, struct col_stats *stats, col_writer_ack_cb ack,
                     void *ack_arg, struct col_writer **out, char *err, size_t errlen);

/* The rule set events get their severity from (borrowed; must outlive the
 * writer). May be called while running; until then events are stored with
 * severity "unknown". */
struct col_rulebook;
void col_writer_set_rules(struct col_writer *w, struct col_rulebook *rules);

/* Queues an item (ownership passes on success). -EAGAIN when the queue is
 * full: the caller keeps the item and should stop reading until an ack
 * arrives; -ESHUTDOWN once stopping. Thread-safe. */
int col_writer_push(struct col_writer *w, struct col_writer_item *item);

/* Asks the writer to create the partitions for today .. today+2 (the hourly
 * timer); cheap, returns at once. */
void col_writer_request_partitions(struct col_writer *w);

/* Writes what is queued (acking it), then joins the thread and frees. If the
 * database is down at that moment, the remaining items are released
 * unacked (the agents resend them). NULL is harmless. */
void col_writer_stop(struct col_writer *w);

#endif
