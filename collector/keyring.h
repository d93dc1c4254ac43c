/* keyring.h - the set of admitted agent public keys, for the ZAP handler.
 *
 * A sorted snapshot of (z85 public key -> agent id) for enrolled, unrevoked
 * agents, replaced whole by each refresh from the agents table. Lookups and
 * refreshes may come from any thread (one mutex). It does not decide when to
 * refresh; the ZAP handler does. */
#ifndef COL_KEYRING_H
#define COL_KEYRING_H

#include "common/keys.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COL_KEYRING_MAX 1000000 /* agents; a bigger table is refused */

struct col_keyring;

struct col_keyring *col_keyring_new(void);
void col_keyring_free(struct col_keyring *kr);
/* Replaces the set with the table's content; on error the old set stays. */
int col_keyring_refresh(struct col_keyring *kr, PGconn *conn, char *err, size_t errlen);
/* True (and *agent_id, may be NULL) when z85 is admitted. */
bool col_keyring_lookup(struct col_keyring *kr, const char *z85, int64_t *agent_id);
size_t col_keyring_size(struct col_keyring *kr);

#endif
