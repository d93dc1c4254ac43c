/* server.h - the ZeroMQ side of ingest, on the libuv loop.
 *
 * A ROUTER socket with CURVE (server role, the collector's secret key) and
 * the ZAP domain "boxwatch", bound to cfg->listen. Each message is
 * [routing id][Envelope]; the sender is the User-Id the ZAP handler set
 * (its public key), never a field of the payload. Valid envelopes go to the
 * writer; invalid ones are counted by reason, logged rate-limited,
 * answered with Ack REJECTED and passed to the writer as count_only items
 * (per-agent counters live in the database, which the server never
 * touches). When the writer's queue is full the server
 * stops reading (backpressure) and resumes when acks come back. Acks from
 * the writer thread are queued under a mutex and sent on the loop thread.
 * After the ack of a stored Hello the server sends the rule set in force
 * (Policy); col_server_push_policy sends it to every agent it has heard
 * from (a bounded table of agent key -> last routing id).
 * It does not touch the database. */
#ifndef COL_SERVER_H
#define COL_SERVER_H

#include "collector/config.h"
#include "collector/stats.h"
#include "collector/writer.h"
#include "common/keys.h"

#include <stddef.h>
#include <uv.h>

#define COL_SERVER_ZAP_DOMAIN "boxwatch"
#define COL_SERVER_PEERS_MAX 16384 /* agents remembered for a Policy push */

struct col_rulebook;

struct col_server;

/* Creates and binds the socket (the ZAP handler must already be bound on
 * zctx). Nothing is read before col_server_start. cfg, kp and stats are
 * borrowed and must outlive the server. */
int col_server_new(uv_loop_t *loop, void *zctx, const struct col_config *cfg,
                   const struct cm_keypair *kp, struct col_stats *stats, struct col_server **out,
                   char *err, size_t errlen);
/* The bound endpoint (e.g. "tcp://127.0.0.1:41234" for a "*" port). */
int col_server_endpoint(const struct col_server *s, char *out, size_t outlen);
/* The writer's ack callback; pass the server as its argument. Thread-safe. */
void col_server_on_ack(void *server, const struct col_writer_item *item, enum cm_ack_status status,
                       const char *reason);
/* The rules sent as Policy (borrowed, must outlive the server; NULL = none).
 * Loop thread, before col_server_start. */
void col_server_set_rules(struct col_server *s, struct col_rulebook *rules);
/* Loop thread: sends the rule set in force to every agent heard from;
 * returns to how many. */
size_t col_server_push_policy(struct col_server *s);
/* Agents in the peer table (tests). */
size_t col_server_peer_count(const struct col_server *s);
/* Starts reading; w is borrowed until col_server_free. */
int col_server_start(struct col_server *s, struct col_writer *w);
/* Stops reading (an envelope held back by backpressure is dropped unacked;
 * the agent resends it). Acks keep being sent. */
void col_server_stop(struct col_server *s);
/* Sends the acks still queued, closes the socket and the loop handles; the
 * memory goes once the handles are closed (run the loop). Call after the
 * writer has stopped. NULL is harmless. */
void col_server_free(struct col_server *s);

#endif
