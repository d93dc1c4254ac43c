/* inventory_store.h - stores inventories and keeps configuration findings.
 *
 * Called by the writer inside the transaction of an envelope's batch (so an
 * InventoryBatch is applied exactly once, with its seq in agent_seqs), and
 * once at collector start to re-evaluate every stored current inventory
 * under the configured policy. For each container it upserts the
 * containers row (shared with the metrics path), keeps the latest
 * inventory (doc for the API, raw wire bytes for re-evaluation), runs
 * collector/checks.h on it and turns the result into findings: open a
 * finding for a failing check that has none open, refresh those still
 * failing, resolve the ones whose check passes (all of them when the
 * container is gone or not running); a check that cannot tell (inputs not
 * reported, config unreadable) leaves its finding as it was. An inventory
 * older (by seq) than the stored one is ignored. It never logs or retries,
 * and apply never begins or commits a transaction: the caller decides.
 * Parameterized SQL only. */
#ifndef COL_INVENTORY_STORE_H
#define COL_INVENTORY_STORE_H

#include "collector/checks.h"
#include "common/inventory.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* What one call did (added to, never reset). */
struct col_inventory_counts {
    size_t stored;    /* container inventories stored */
    size_t stale;     /* older than the stored one: ignored */
    size_t gone;      /* containers marked gone (state GONE or missing from a complete set) */
    size_t evaluated; /* containers and hosts whose checks ran */
    size_t skipped;   /* stored inventories that no longer decode (re-evaluation only) */
    size_t opened;    /* findings opened */
    size_t resolved;  /* findings resolved */
};

struct col_inventory_store {
    PGconn *conn;                          /* borrowed for the call */
    const struct col_check_policy *policy; /* borrowed for the call */
    char sqlstate[6]; /* out: SQLSTATE of the statement that failed, "" when none */
};

/* Applies one InventoryBatch of agent agent_id that came in envelope seq
 * (stored for the first time). Runs inside the caller's transaction. On a
 * database error returns CM_EDB with err and s->sqlstate set (the caller
 * rolls back). A record the wire codec will not encode again fails too,
 * with sqlstate "22000" (data exception): the envelope's fault. */
int col_inventory_store_apply(struct col_inventory_store *s, int64_t agent_id, uint64_t seq,
                              const struct cm_inventory_batch *b,
                              struct col_inventory_counts *counts, char *err, size_t errlen);

/* Re-evaluates every stored host and current (not gone) container
 * inventory of every agent under s->policy and the current catalogue:
 * findings that pass now are resolved with reason "policy", open findings
 * of checks no longer in the catalogue with "check_removed", and new
 * failures open. Commits in pages of a few hundred containers (it runs
 * outside the writer, at start). A stored inventory that no longer decodes
 * is counted in skipped and left as it is. */
int col_inventory_store_reevaluate(struct col_inventory_store *s,
                                   struct col_inventory_counts *counts, char *err, size_t errlen);

#endif
