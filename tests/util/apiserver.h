/* apiserver.h - the collector's HTTP API on its own libuv loop thread, for
 * the API tests: configured from flags (127.0.0.1 on a free port, the given
 * tokens and database, two database connections), stopped through a
 * uv_async so the loop closes every handle. Criterion asserts on failures. */
#ifndef TU_APISERVER_H
#define TU_APISERVER_H

#include "collector/api/api.h"
#include "collector/config.h"
#include "collector/rulebook.h"
#include "collector/stats.h"

#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

struct tu_api_server {
    struct col_config cfg;
    struct col_stats stats;
    uv_loop_t loop;
    uv_async_t stopper;
    struct col_api *api;
    pthread_t thread;
    int port;
    bool started;
};

/* rules may be NULL (no /api/v1/rules). */
void tu_api_server_start(struct tu_api_server *s, const char *conninfo, const char *read_token,
                         const char *admin_token, struct col_rulebook *rules);
/* Harmless when not started. */
void tu_api_server_stop(struct tu_api_server *s);

#endif
