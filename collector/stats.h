/* stats.h - the collector's own health counters, served by /metrics.
 *
 * Written by the socket loop and the writer thread, read by the API; plain
 * C11 atomics, no locks. Per-agent counters live in the agents table
 * (added by the writer in the transaction of each batch). */
#ifndef COL_STATS_H
#define COL_STATS_H

#include "proto/wire.h"

#include <stdatomic.h>

struct col_stats {
    atomic_ullong envelopes_received;
    atomic_ullong envelopes_stored;
    atomic_ullong envelopes_duplicate;
    atomic_ullong envelopes_rejected[CM_WIRE_REASON__COUNT]; /* by the codec, by reason */
    atomic_ullong envelopes_rejected_storage; /* by the writer: agent unknown or revoked, or
                                                 data PostgreSQL refuses */
    atomic_ullong samples_stored;
    atomic_ullong samples_dropped; /* too old or too far in the future */
    atomic_ullong batches_committed;
    atomic_ullong db_errors;
    atomic_ullong queue_depth; /* gauge */
    atomic_ullong zap_accepted;
    atomic_ullong zap_denied;
    atomic_ullong http_requests;
    atomic_ullong http_errors; /* 4xx and 5xx */
    atomic_int db_up;          /* writer's view: 1 connected, 0 down or reconnecting */
};

#endif
