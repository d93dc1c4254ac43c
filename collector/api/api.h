/* api.h - the collector's HTTP API on the libuv loop.
 *
 * Serves /api/v1/... (JSON), /metrics (Prometheus text) and the embedded web
 * page at /. Requests are parsed by http_parser with capped header and body
 * sizes; database queries run on libuv's thread pool over a small pool of
 * PostgreSQL connections, never on the loop thread. */
#ifndef COL_API_H
#define COL_API_H

#include "collector/config.h"
#include "collector/stats.h"

#include <uv.h>

struct col_api;

/* Binds cfg->http_listen and starts serving on `loop`. cfg and stats are
 * borrowed and must outlive the API. Returns 0 or a negative error (err
 * says why, e.g. the address is in use). */
int col_api_start(uv_loop_t *loop, const struct col_config *cfg, struct col_stats *stats,
                  struct col_api **out, char *err, size_t errlen);
/* The port actually bound (useful with port 0 in tests). */
int col_api_port(const struct col_api *api);
/* The rule set GET /api/v1/rules shows (borrowed, must outlive the API);
 * until it is set that route answers 503. */
struct col_rulebook;
void col_api_set_rules(struct col_api *api, struct col_rulebook *rules);
/* Stops accepting, closes connections; frees once the handles are closed
 * (run the loop afterwards). NULL is harmless. */
void col_api_stop(struct col_api *api);

#endif
