/* event_store.h - the SQL of an EventBatch and a PolicyAck, inside the
 * writer's transaction.
 *
 * Events go to the day-partitioned `events` table exactly once by (agent,
 * file_key, line_offset, rule_id): the key is claimed in `event_keys` in the
 * same statement, and an event whose key is already there (the agent read
 * the line again after a restart, in a new envelope) is dropped. Each event
 * gets the severity of its rule in the collector's rule set in force when
 * it is stored (a rule no longer in it: "unknown"). Source stats go to
 * `log_source_stats` (once per envelope: the writer's (agent, seq) dedup).
 * A container id seen in a log makes sure its containers row exists. A
 * PolicyAck updates the agents row, only when newer than the one stored.
 * It does not begin, commit or retry, make partitions (the writer does,
 * for col_event_store_ts of every event and stat) or log. */
#ifndef COL_EVENT_STORE_H
#define COL_EVENT_STORE_H

#include "collector/rulebook.h"
#include "common/logevent.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define COL_EVENT_KEYS_KEEP_S (14 * 86400) /* event_keys rows kept this long */

struct col_event_store {
    PGconn *conn;               /* borrowed, inside a transaction */
    struct col_rulebook *rules; /* borrowed; NULL = every severity "unknown" */
    int64_t now_ns;
    int64_t max_age_ns, max_skew_ns; /* a ts outside [now - age, now + skew] is stored as now */
    char sqlstate[6];                /* of a failed statement */
};

struct col_event_counts {
    size_t stored, duplicates, stats;
};

/* The ts an event or stat is stored under (its own, or now when out of range). */
int64_t col_event_store_ts(const struct col_event_store *s, int64_t ts_ns);

int col_event_store_batch(struct col_event_store *s, int64_t agent_id,
                          const struct cm_event_batch *b, struct col_event_counts *n, char *err,
                          size_t errlen);
int col_event_store_policy_ack(struct col_event_store *s, int64_t agent_id, uint64_t seq,
                               const struct cm_policy_ack *ack, char *err, size_t errlen);
/* Deletes event_keys older than keep_s seconds (own statement). */
int col_event_store_prune(PGconn *conn, int64_t keep_s, char *err, size_t errlen);

#endif
