/* apiserver.c - see apiserver.h. */
#include "tests/util/apiserver.h"

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static void tu_api_server_on_stop(uv_async_t *a)
{
    struct tu_api_server *s = a->data;
    col_api_stop(s->api);
    uv_close((uv_handle_t *)a, NULL);
}

static void *tu_api_server_run(void *arg)
{
    struct tu_api_server *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

void tu_api_server_start(struct tu_api_server *s, const char *conninfo, const char *read_token,
                         const char *admin_token, struct col_rulebook *rules)
{
    char *argv[] = {"test",
                    "--http-listen",
                    "127.0.0.1:0",
                    "--read-token",
                    (char *)read_token,
                    "--admin-token",
                    (char *)admin_token,
                    "--database",
                    (char *)conninfo,
                    "--api-db-connections",
                    "2",
                    NULL};
    char **pos = NULL, err[512] = "";
    int npos = 0;
    bool help = false;
    memset(s, 0, sizeof *s);
    cr_assert_eq(col_config_load(&s->cfg, 11, argv, &pos, &npos, &help, err, sizeof err), 0,
                 "%s", err);
    free(pos);
    atomic_store(&s->stats.db_up, 1);
    cr_assert_eq(uv_loop_init(&s->loop), 0);
    cr_assert_eq(col_api_start(&s->loop, &s->cfg, &s->stats, &s->api, err, sizeof err), 0, "%s",
                 err);
    if (rules) col_api_set_rules(s->api, rules);
    s->port = col_api_port(s->api);
    uv_async_init(&s->loop, &s->stopper, tu_api_server_on_stop);
    s->stopper.data = s;
    pthread_create(&s->thread, NULL, tu_api_server_run, s);
    s->started = true;
}

void tu_api_server_stop(struct tu_api_server *s)
{
    if (!s->started) return;
    s->started = false;
    uv_async_send(&s->stopper);
    pthread_join(s->thread, NULL);
    cr_assert_eq(uv_loop_close(&s->loop), 0, "handles left open on the loop");
    col_config_free(&s->cfg);
}
