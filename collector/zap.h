/* zap.h - the ZeroMQ authentication handler (ZAP, RFC 27) for CURVE.
 *
 * A thread answering inproc://zeromq.zap.01 on the collector's ZeroMQ
 * context: 200 with User-Id = the client's z85 public key for enrolled,
 * unrevoked agents, 400 for everyone else. On a miss it re-reads the agents
 * table (at most once a second) so a just-enrolled agent gets in, and it
 * re-reads it every few seconds anyway so a revocation takes effect. It owns
 * its PGconn. It does not look at messages after the handshake. */
#ifndef COL_ZAP_H
#define COL_ZAP_H

#include "collector/keyring.h"
#include "collector/stats.h"

#include <stddef.h>

#define COL_ZAP_ENDPOINT "inproc://zeromq.zap.01"

struct col_zap;

/* Binds the handler socket on zctx (before any CURVE server socket binds)
 * and starts the thread. conninfo, kr and stats are borrowed and must
 * outlive the handler. A database that is down at start is not an error:
 * the handler denies everyone until it can read the keys. */
int col_zap_start(void *zctx, const char *conninfo, struct col_keyring *kr, struct col_stats *stats,
                  struct col_zap **out, char *err, size_t errlen);
/* Stops and joins the thread, closes its socket and connection. NULL is harmless. */
void col_zap_stop(struct col_zap *zap);

#endif
