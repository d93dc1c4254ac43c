/* collector.h - the collector daemon: ingest core and `run`.
 *
 * The core is the ZeroMQ context, the keyring, the ZAP handler, the writer
 * thread and the ROUTER server, started on a caller's loop; col_run adds the
 * HTTP API, the hourly partition timer and signal handling around it
 * (SIGINT/SIGTERM stop, SIGHUP reloads the rules). Tests
 * start the core alone. */
#ifndef COL_COLLECTOR_H
#define COL_COLLECTOR_H

#include "collector/config.h"
#include "collector/stats.h"
#include "common/keys.h"

#include <stddef.h>
#include <uv.h>

struct col_core;

/* Starts everything that receives and stores. cfg, kp and stats are
 * borrowed and must outlive the core. */
int col_core_start(uv_loop_t *loop, const struct col_config *cfg, const struct cm_keypair *kp,
                   struct col_stats *stats, struct col_core **out, char *err, size_t errlen);
/* The bound ZeroMQ endpoint (useful with "tcp://127.0.0.1:*"). */
int col_core_endpoint(const struct col_core *core, char *out, size_t outlen);
/* The rule set (built-in + cfg->rules_file, loaded by col_core_start; a bad
 * file stops start-up with "rules file <path>: rule <id>: <reason>"). */
struct col_rulebook *col_core_rules(const struct col_core *core);
/* Loop thread: reads the rules again and, on success, pushes them to every
 * connected agent. On error the old rules stay in force and err says why. */
int col_core_reload_rules(struct col_core *core, char *err, size_t errlen);
/* Asks the writer for partitions today .. today+2 (non-blocking). */
void col_core_ensure_partitions(struct col_core *core);
/* On the loop thread: stops reading, writes what is queued and acks it,
 * joins the threads and closes the handles; run the loop afterwards to
 * finish the closes, then call col_core_free. NULL is harmless. */
void col_core_stop(struct col_core *core);
/* After the loop has run out: terminates the ZeroMQ context, frees. */
void col_core_free(struct col_core *core);

/* `boxwatch-collector run`: until SIGINT/SIGTERM. Logs its own errors.
 * Returns 0 after a clean shutdown, a negative error when start-up failed. */
int col_run(const struct col_config *cfg);

#endif
