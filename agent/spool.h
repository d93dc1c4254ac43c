/* spool.h - the agent's durable queue of encoded envelopes.
 *
 * Every metric envelope is appended here before it is sent and stays until
 * the collector acks its seq: a crash, a restart or a collector outage loses
 * nothing that was appended. Storage is a directory of segment files; each
 * record carries its length, a CRC, its seq, its sample count and the
 * spool's cumulative counters as of that record, so the counters are exactly
 * as durable as the data. A record torn off by a crash before it was fully
 * written was never counted; one torn off after the counters were persisted
 * (a clean stop, then a power loss or disk error) is counted as dropped, so
 * produced = stored + dropped + pending always holds.
 *
 * Bounds: when appending would take the spool over max_bytes, whole oldest
 * segments are dropped; their unacked records are counted as dropped
 * (envelopes and samples), never silently lost. On open, a torn or corrupt
 * tail (power loss) is cut at the last valid record; what was cut is
 * reported in ag_spool_stats for the caller to log. The module never logs.
 *
 * Not thread-safe: one owner (the agent's loop thread). */
#ifndef AG_SPOOL_H
#define AG_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_SPOOL_RECORD_MAX (16u * 1024 * 1024) /* payload bytes of one record */

enum ag_spool_fsync {
    AG_SPOOL_FSYNC_ALWAYS,   /* fsync after every append: nothing appended is lost on power loss */
    AG_SPOOL_FSYNC_INTERVAL, /* fsync when the owner calls ag_spool_sync (e.g. every second) */
    AG_SPOOL_FSYNC_NEVER,    /* leave it to the kernel (survives process crashes, not power loss) */
};

int ag_spool_fsync_parse(const char *s, enum ag_spool_fsync *out); /* "always"|"interval"|"never" */

struct ag_spool_opts {
    const char *dir;          /* created (0700) if missing; copied */
    uint64_t max_bytes;       /* bound on the bytes of all segments */
    uint64_t segment_bytes;   /* a new segment starts after this; 0 = min(4 MiB, max_bytes / 4) */
    enum ag_spool_fsync fsync;
};

struct ag_spool_stats {
    uint64_t envelopes_total;   /* ever appended (since the spool directory was created) */
    uint64_t samples_total;
    uint64_t dropped_envelopes; /* unacked records lost to the size bound */
    uint64_t dropped_samples;
    uint64_t pending;           /* records appended and not yet acked */
    uint64_t bytes;             /* on disk now */
    uint64_t floor_seq;         /* every seq below this is acked or dropped; next_seq when empty */
    uint64_t last_seq;          /* highest seq ever appended, 0 when none */
    uint64_t recovered_cut_bytes;   /* cut from a torn/corrupt tail at open (0 = clean) */
    uint64_t recovered_records;     /* valid records found at open */
};

/* A record handed out for sending; data is owned by the spool and valid
 * until the next call on it. */
struct ag_spool_record {
    uint64_t seq;
    uint32_t samples;
    const uint8_t *data;
    size_t len;
};

struct ag_spool;

/* Opens (recovering) or creates the spool. err says why on failure. */
int ag_spool_open(const struct ag_spool_opts *opts, struct ag_spool **out, char *err,
                  size_t errlen);
/* Appends one record. seq must be above every seq appended before
 * (CM_EPROTO otherwise). May drop oldest segments to stay within max_bytes.
 * Returns 0, CM_ETOOBIG (record above AG_SPOOL_RECORD_MAX or above
 * max_bytes), or -errno from the file system (the record is then not in the
 * spool and not counted). */
int ag_spool_append(struct ag_spool *sp, uint64_t seq, uint32_t samples, const void *data,
                    size_t len);
/* Marks seq acked. Unknown or already-acked seqs are ignored (returns
 * CM_ENOTFOUND). Segments whose records are all acked are deleted; -errno
 * when that failed (the ack itself is kept, deletion is retried later). */
int ag_spool_ack(struct ag_spool *sp, uint64_t seq);
/* The oldest unacked record with seq > after (after = 0: the oldest of all).
 * Returns 0, CM_ENOTFOUND when there is none, or -errno reading it. A
 * record that no longer passes its CRC is counted as dropped and skipped. */
int ag_spool_next(struct ag_spool *sp, uint64_t after, struct ag_spool_record *rec);
/* Flushes to disk (fsync) and persists the ack floor; cheap when clean. */
int ag_spool_sync(struct ag_spool *sp);
void ag_spool_get_stats(const struct ag_spool *sp, struct ag_spool_stats *out);
/* Syncs and closes; NULL is harmless. */
void ag_spool_free(struct ag_spool *sp);

#endif
