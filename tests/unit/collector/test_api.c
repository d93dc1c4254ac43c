/* test_api.c - the HTTP API end to end: col_api on its own libuv loop in a
 * thread, a real migrated PostgreSQL database with rows inserted by SQL, and
 * real HTTP over TCP from a small blocking client. */
#include "collector/api/api.h"
#include "collector/api/api_int.h"
#include "collector/config.h"
#include "common/timeutil.h"
#include "tests/util/httptest.h"
#include "tests/util/pgutil.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ_TOKEN "read-token-0123456789"
#define ADMIN_TOKEN "admin-token-0123456789"
#define C1 "4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2"
#define C2 "4fa6e0f0c678ffff0000111122223333444455556666777788889999aaaabbbb"
#define NSAMPLES 180
#define MEM_BYTES 104857600LL

extern char **environ;

static char conninfo[512];
static struct col_config cfg;
static struct col_stats stats;
static uv_loop_t loop;
static uv_async_t stopper;
static struct col_api *api;
static pthread_t loop_thread;
static int port;
static int64_t t0; /* first sample, seconds since the epoch */
static bool started;

/* ---- database rows ---------------------------------------------------- */

static void sql(PGconn *c, const char *q, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c, q, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQerrorMessage(c));
    PQclear(r);
}

/* One agent, two containers sharing a 12-char prefix; C1 gets a sample
 * every 10 s for 30 min: cpu 0.5 cores, memory constant, rx 1000 B/s, and
 * tx 2000 B/s with a counter reset half-way (the container restarted). */
static void seed_rows(void)
{
    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    char t0s[32];
    snprintf(t0s, sizeof t0s, "%lld", (long long)t0);
    const char *p1[] = {t0s};
    sql(c, "SELECT boxwatch_ensure_partitions((to_timestamp($1::float8) AT TIME ZONE 'UTC')::date - 1, 4)",
        1, p1);
    sql(c, "INSERT INTO agents (name, public_key, hostname, kernel, cgroup_mode, agent_version, "
           "first_seen, last_seen, last_seq, samples_stored) VALUES ('node-1', repeat('k', 40), "
           "'node-1.example', '6.1.0-18-amd64', 'v2', '0.1.0', now(), now(), 42, 180)",
        0, NULL);
    sql(c, "INSERT INTO containers (agent_id, container_id, runtime, name, cgroup_path, "
           "first_seen, last_seen) VALUES "
           "(1, '" C1 "', 'docker', 'web', '/system.slice/docker-" C1 ".scope', now(), now()), "
           "(1, '" C2 "', 'containerd', NULL, NULL, now(), now())",
        0, NULL);
    sql(c, "INSERT INTO container_samples (ts, container_ref, cpu_usage_ns, mem_usage_bytes, "
           "mem_working_set_bytes, mem_limit_bytes, pids_current, net_rx_bytes, net_tx_bytes) "
           "SELECT to_timestamp($1::float8 + 10 * g), 1, 1000000000000 + g * 5000000000, "
           "104857600, 52428800, 536870912, 7, g * 10000, "
           "CASE WHEN g < 90 THEN 500000 + g * 20000 ELSE (g - 90) * 20000 END "
           "FROM generate_series(0, 179) g",
        1, p1);
    PQfinish(c);
}

/* ---- the API on its own loop ------------------------------------------ */

static void on_stop(uv_async_t *a)
{
    col_api_stop(api);
    uv_close((uv_handle_t *)a, NULL);
}

static void *run_loop(void *arg)
{
    (void)arg;
    uv_run(&loop, UV_RUN_DEFAULT);
    return NULL;
}

static int load_config(const char *database, const char *read_token)
{
    char *argv[] = {"test", "--http-listen", "127.0.0.1:0", "--read-token", (char *)read_token,
                    "--admin-token", ADMIN_TOKEN, "--database", (char *)database,
                    "--api-db-connections", "2", NULL};
    char **pos = NULL;
    int npos = 0;
    bool help = false;
    char err[256];
    int rc = col_config_load(&cfg, 11, argv, &pos, &npos, &help, err, sizeof err);
    free(pos);
    cr_assert_eq(rc, 0, "config: %s", err);
    return rc;
}

static void start_api(const char *database, int64_t max_conns)
{
    load_config(database, READ_TOKEN);
    cfg.http_max_connections = max_conns;
    memset(&stats, 0, sizeof stats);
    atomic_store(&stats.db_up, 1); /* as if the ingest writer were connected */
    cr_assert_eq(uv_loop_init(&loop), 0);
    char err[256] = "";
    cr_assert_eq(col_api_start(&loop, &cfg, &stats, &api, err, sizeof err), 0, "%s", err);
    port = col_api_port(api);
    cr_assert_gt(port, 0);
    uv_async_init(&loop, &stopper, on_stop);
    pthread_create(&loop_thread, NULL, run_loop, NULL);
    started = true;
}

static void stop_api(void)
{
    if (!started)
        return;
    started = false;
    uv_async_send(&stopper);
    pthread_join(loop_thread, NULL);
    cr_assert_eq(uv_loop_close(&loop), 0, "handles left open on the loop");
    col_config_free(&cfg);
}

static void setup_db(void)
{
    const char *why = NULL;
    if (!tu_pg_available(&why))
        cr_skip_test("%s", why);
    cr_assert_eq(tu_pg_create_migrated_db(conninfo, sizeof conninfo), 0);
    t0 = cm_time_now_ns() / CM_NS_PER_SEC / 60 * 60 - 3600;
    seed_rows();
    start_api(conninfo, 64);
}

static void teardown_db(void)
{
    stop_api();
    if (conninfo[0])
        tu_pg_drop_db(conninfo);
}

/* ---- requests (tests/util/httptest.h) ---------------------------------- */

static char *exchange(const char *raw, size_t len)
{
    return tu_http_exchange(port, raw, len);
}

static struct tu_http_resp request(const char *method, const char *target, const char *token)
{
    return tu_http_request(port, method, target, token);
}

static struct tu_http_resp get(const char *target)
{
    return request("GET", target, READ_TOKEN);
}

static bool has_header(const struct tu_http_resp *r, const char *line)
{
    const char *end = strstr(r->raw, "\r\n\r\n");
    const char *hit = strcasestr(r->raw, line);
    return hit && hit < end;
}

static const char *error_code(const struct tu_http_resp *r)
{
    cJSON *e = cJSON_GetObjectItem(r->json, "error");
    cJSON *c = cJSON_GetObjectItem(e, "code");
    cJSON *m = cJSON_GetObjectItem(e, "message");
    cr_assert(cJSON_IsString(c) && cJSON_IsString(m), "no error object in %s", r->body);
    return c->valuestring;
}

static const char *error_message(const struct tu_http_resp *r)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "error"), "message")->valuestring;
}

/* ---- tests with a database --------------------------------------------- */

TestSuite(api, .init = setup_db, .fini = teardown_db, .timeout = 60);

Test(api, tokens_are_required)
{
    struct tu_http_resp r = request("GET", "/api/v1/containers", NULL);
    cr_assert_eq(r.status, 401);
    cr_assert_str_eq(error_code(&r), "unauthorized");
    cr_assert(has_header(&r, "WWW-Authenticate: Bearer"));
    tu_http_resp_free(&r);
    r = request("GET", "/api/v1/containers", READ_TOKEN "x");
    cr_assert_eq(r.status, 401);
    tu_http_resp_free(&r);
    r = request("GET", "/metrics", "short");
    cr_assert_eq(r.status, 401);
    tu_http_resp_free(&r);
    r = request("GET", "/api/v1/nope", NULL);
    cr_assert_eq(r.status, 401, "unknown API paths do not leak before the token check");
    tu_http_resp_free(&r);
    r = request("GET", "/api/v1/agents", ADMIN_TOKEN);
    cr_assert_eq(r.status, 200, "the admin token may read");
    tu_http_resp_free(&r);
}

Test(api, health_ok)
{
    struct tu_http_resp r = get("/api/v1/health");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(cJSON_GetObjectItem(r.json, "status")->valuestring, "ok");
    cr_assert_str_eq(cJSON_GetObjectItem(r.json, "database")->valuestring, "ok");
    cr_assert_str_eq(cJSON_GetObjectItem(r.json, "writer")->valuestring, "ok");
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(r.json, "version")));
    cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(r.json, "uptime_s")));
    cr_assert(has_header(&r, "Content-Type: application/json"));
    cr_assert(has_header(&r, "Cache-Control: no-store"));
    cr_assert(has_header(&r, "X-Content-Type-Options: nosniff"));
    tu_http_resp_free(&r);
}

Test(api, health_503_while_the_writer_reconnects)
{
    atomic_store(&stats.db_up, 0);
    struct tu_http_resp r = get("/api/v1/health");
    cr_assert_eq(r.status, 503, "%s", r.body);
    cr_assert_str_eq(cJSON_GetObjectItem(r.json, "status")->valuestring, "degraded");
    cr_assert_str_eq(cJSON_GetObjectItem(r.json, "database")->valuestring, "ok",
                     "the API's own query worked");
    cr_assert_str_eq(cJSON_GetObjectItem(r.json, "writer")->valuestring, "reconnecting");
    tu_http_resp_free(&r);
    atomic_store(&stats.db_up, 1);
    r = get("/api/v1/health");
    cr_assert_eq(r.status, 200, "%s", r.body);
    tu_http_resp_free(&r);
}

static double counter(cJSON *agent, const char *name)
{
    cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(agent, "counters"), name);
    cr_assert(v, "no counter %s", name);
    return cJSON_IsNull(v) ? -1 : v->valuedouble;
}

Test(api, agents_delivery_counters_before_and_after_a_heartbeat)
{
    struct tu_http_resp r = get("/api/v1/agents");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "agents"), 0);
    cr_assert_eq(counter(a, "envelopes_received"), 0);
    cr_assert_eq(counter(a, "samples_reported"), -1, "null before the first heartbeat");
    cr_assert_eq(counter(a, "samples_in_flight"), -1, "null before the first heartbeat");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(a, "spool")));
    tu_http_resp_free(&r);
    r = get("/metrics");
    cr_assert(strstr(r.body, "boxwatch_agent_envelopes_received_total{agent=\"node-1\"} 0\n"),
              "%s", r.body);
    cr_assert_null(strstr(r.body, "boxwatch_agent_samples_in_flight{"), "no value, no series");
    tu_http_resp_free(&r);

    PGconn *c = PQconnectdb(conninfo);
    sql(c, "UPDATE agents SET envelopes_received = 50, spool_samples_total = 200, "
           "spool_dropped_samples = 5, spool_envelopes_total = 45, spool_unacked = 3, "
           "spool_bytes = 4096, spool_floor_seq = 40, last_heartbeat = now()",
        0, NULL);
    r = get("/api/v1/agents");
    a = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "agents"), 0);
    cr_assert_eq(counter(a, "envelopes_received"), 50);
    cr_assert_eq(counter(a, "samples_reported"), 200);
    cr_assert_eq(counter(a, "samples_in_flight"), 15, "200 reported - 5 dropped - 180 stored");
    cJSON *sp = cJSON_GetObjectItem(a, "spool");
    cr_assert_eq(cJSON_GetObjectItem(sp, "unacked")->valuedouble, 3);
    cr_assert_eq(cJSON_GetObjectItem(sp, "bytes")->valuedouble, 4096);
    cr_assert_eq(cJSON_GetObjectItem(sp, "floor_seq")->valuedouble, 40);
    cr_assert_eq(cJSON_GetObjectItem(sp, "envelopes_total")->valuedouble, 45);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(sp, "last_heartbeat")));
    tu_http_resp_free(&r);
    r = get("/metrics");
    cr_assert(strstr(r.body, "boxwatch_agent_samples_in_flight{agent=\"node-1\"} 15\n"), "%s",
              r.body);
    cr_assert(strstr(r.body, "boxwatch_agent_samples_reported_total{agent=\"node-1\"} 200\n"));
    cr_assert(strstr(r.body, "boxwatch_agent_spool_unacked_envelopes{agent=\"node-1\"} 3\n"));
    tu_http_resp_free(&r);

    /* stored ahead of an old heartbeat: never a negative backlog */
    sql(c, "UPDATE agents SET spool_samples_total = 100", 0, NULL);
    r = get("/api/v1/agents");
    a = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "agents"), 0);
    cr_assert_eq(counter(a, "samples_in_flight"), 0);
    tu_http_resp_free(&r);
    PQfinish(c);
}

Test(api, agents_list)
{
    struct tu_http_resp r = get("/api/v1/agents");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *list = cJSON_GetObjectItem(r.json, "agents");
    cr_assert_eq(cJSON_GetArraySize(list), 1);
    cJSON *a = cJSON_GetArrayItem(list, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(a, "name")->valuestring, "node-1");
    cr_assert_str_eq(cJSON_GetObjectItem(a, "hostname")->valuestring, "node-1.example");
    cr_assert_str_eq(cJSON_GetObjectItem(a, "cgroup_mode")->valuestring, "v2");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(a, "online")));
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(a, "revoked")));
    cr_assert_eq(cJSON_GetObjectItem(a, "last_seq")->valuedouble, 42);
    cJSON *cnt = cJSON_GetObjectItem(a, "counters");
    cr_assert_eq(cJSON_GetObjectItem(cnt, "samples_stored")->valuedouble, 180);
    cr_assert_eq(cJSON_GetObjectItem(cnt, "spool_dropped_samples")->valuedouble, 0);
    const char *enrolled = cJSON_GetObjectItem(a, "enrolled_at")->valuestring;
    cr_assert(strlen(enrolled) > 20 && enrolled[strlen(enrolled) - 1] == 'Z', "%s", enrolled);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next_cursor")));
    tu_http_resp_free(&r);
}

Test(api, containers_list_with_latest)
{
    struct tu_http_resp r = get("/api/v1/containers");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *list = cJSON_GetObjectItem(r.json, "containers");
    cr_assert_eq(cJSON_GetArraySize(list), 2);
    cJSON *c = cJSON_GetArrayItem(list, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(c, "id")->valuestring, C1);
    cr_assert_str_eq(cJSON_GetObjectItem(c, "name")->valuestring, "web");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "host")->valuestring, "node-1.example");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "agent")->valuestring, "node-1");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "runtime")->valuestring, "docker");
    cJSON *l = cJSON_GetObjectItem(c, "latest");
    cr_assert_float_eq(cJSON_GetObjectItem(l, "cpu_cores")->valuedouble, 0.5, 1e-9);
    cr_assert_eq(cJSON_GetObjectItem(l, "memory_bytes")->valuedouble, MEM_BYTES);
    cr_assert_eq(cJSON_GetObjectItem(l, "memory_limit_bytes")->valuedouble, 536870912);
    cr_assert_eq(cJSON_GetObjectItem(l, "pids")->valuedouble, 7);
    char want_ts[40];
    cm_time_format_rfc3339((t0 + 10 * (NSAMPLES - 1)) * CM_NS_PER_SEC, want_ts, sizeof want_ts);
    cr_assert_str_eq(cJSON_GetObjectItem(l, "ts")->valuestring, want_ts);
    cJSON *c2 = cJSON_GetArrayItem(list, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(c2, "name")->valuestring, "4fa6e0f0c678");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(c2, "latest")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(c2, "cgroup_path")));
    tu_http_resp_free(&r);
}

Test(api, containers_pagination_and_host_filter)
{
    struct tu_http_resp r = get("/api/v1/containers?limit=1");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *list = cJSON_GetObjectItem(r.json, "containers");
    cr_assert_eq(cJSON_GetArraySize(list), 1);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "id")->valuestring, C1);
    cJSON *cur = cJSON_GetObjectItem(r.json, "next_cursor");
    cr_assert(cJSON_IsString(cur), "%s", r.body);
    char target[256];
    snprintf(target, sizeof target, "/api/v1/containers?limit=1&cursor=%s", cur->valuestring);
    tu_http_resp_free(&r);
    r = get(target);
    cr_assert_eq(r.status, 200, "%s", r.body);
    list = cJSON_GetObjectItem(r.json, "containers");
    cr_assert_eq(cJSON_GetArraySize(list), 1);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "id")->valuestring, C2);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next_cursor")), "%s", r.body);
    tu_http_resp_free(&r);
    r = get("/api/v1/containers?host=node-1.example");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "containers")), 2);
    tu_http_resp_free(&r);
    r = get("/api/v1/containers?host=other%2Dhost");
    cr_assert_eq(r.status, 200);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "containers")), 0);
    tu_http_resp_free(&r);
}

static cJSON *metrics_series(const char *query, const char *name, struct tu_http_resp *r)
{
    char target[512];
    snprintf(target, sizeof target, "/api/v1/containers/%s/metrics?%s", C1, query);
    *r = get(target);
    cr_assert_eq(r->status, 200, "%s", r->body);
    cJSON *s = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "series"), name);
    cr_assert(cJSON_IsArray(s), "no series %s in %s", name, r->body);
    return s;
}

Test(api, metrics_series_values)
{
    char q[128];
    snprintf(q, sizeof q, "from=%lld&to=%lld&step=60s", (long long)t0 + 300,
             (long long)t0 + 1500);
    struct tu_http_resp r;
    cJSON *cpu = metrics_series(q, "cpu_cores", &r);
    cr_assert_eq(cJSON_GetArraySize(cpu), 20, "%s", r.body);
    cJSON *pt;
    cJSON_ArrayForEach(pt, cpu) {
        cr_assert(cJSON_IsString(cJSON_GetArrayItem(pt, 0)));
        cr_assert_float_eq(cJSON_GetArrayItem(pt, 1)->valuedouble, 0.5, 1e-9);
    }
    char first[40];
    cm_time_format_rfc3339((t0 + 300) * CM_NS_PER_SEC, first, sizeof first);
    cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetArrayItem(cpu, 0), 0)->valuestring, first);
    cJSON *mem = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "series"), "memory_bytes");
    cJSON_ArrayForEach(pt, mem)
        cr_assert_float_eq(cJSON_GetArrayItem(pt, 1)->valuedouble, (double)MEM_BYTES, 1e-3);
    cJSON *rx = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "series"), "net_rx_bytes_per_s");
    cJSON_ArrayForEach(pt, rx)
        cr_assert_float_eq(cJSON_GetArrayItem(pt, 1)->valuedouble, 1000.0, 1e-6);
    cJSON *tx = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "series"), "net_tx_bytes_per_s");
    cJSON_ArrayForEach(pt, tx) /* the reset at sample 90 is skipped, not negative */
        cr_assert_float_eq(cJSON_GetArrayItem(pt, 1)->valuedouble, 2000.0, 1e-6);
    cr_assert_eq(cJSON_GetObjectItem(r.json, "step_s")->valuedouble, 60);
    cJSON *c = cJSON_GetObjectItem(r.json, "container");
    cr_assert_str_eq(cJSON_GetObjectItem(c, "name")->valuestring, "web");
    tu_http_resp_free(&r);
}

Test(api, short_prefix_is_not_a_match)
{
    /* under 12 characters only an exact id matches: a short prefix is unknown */
    struct tu_http_resp r = get("/api/v1/containers/4fa6/metrics");
    cr_assert_eq(r.status, 404, "%s", r.body);
    tu_http_resp_free(&r);
}

Test(api, metrics_default_window_and_prefix)
{
    struct tu_http_resp r = get("/api/v1/containers/4fa6e0f0c6786/metrics");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *cpu = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "series"), "cpu_cores");
    /* last hour at 60 s: the 30 min of samples give 29 to 31 steps */
    cr_assert(cJSON_GetArraySize(cpu) >= 28 && cJSON_GetArraySize(cpu) <= 31, "%d",
              cJSON_GetArraySize(cpu));
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "container"), "id")->valuestring, C1);
    tu_http_resp_free(&r);
}

static void expect_400(const char *target, const char *names)
{
    struct tu_http_resp r = get(target);
    cr_assert_eq(r.status, 400, "%s -> %d %s", target, r.status, r.body);
    cr_assert_str_eq(error_code(&r), "bad_request");
    cr_assert(strstr(error_message(&r), names), "%s: message '%s' does not name %s", target,
              error_message(&r), names);
    tu_http_resp_free(&r);
}

Test(api, bad_parameters_are_400_naming_them)
{
    expect_400("/api/v1/containers?limit=0", "limit");
    expect_400("/api/v1/containers?limit=1001", "limit");
    expect_400("/api/v1/containers?limit=ten", "limit");
    expect_400("/api/v1/containers?limit=1&limit=2", "limit");
    expect_400("/api/v1/agents?cursor=zzz", "cursor");
    expect_400("/api/v1/containers?host=%ZZ", "host");
    expect_400("/api/v1/containers/" C1 "/metrics?from=yesterday", "from");
    expect_400("/api/v1/containers/" C1 "/metrics?to=2026-13-01T00:00:00Z", "to");
    expect_400("/api/v1/containers/" C1 "/metrics?step=5s", "step");
    expect_400("/api/v1/containers/" C1 "/metrics?step=banana", "step");
    expect_400("/api/v1/containers/" C1 "/metrics?from=0&to=1000000&step=10s", "step");
    expect_400("/api/v1/containers/" C1 "/metrics?from=2000&to=1000", "from");
    expect_400("/api/v1/containers/4fa6!/metrics", "id");
}

Test(api, ambiguous_prefix_is_409)
{
    /* C1 and C2 share these 12 characters: not a bad request, a conflict */
    struct tu_http_resp r = get("/api/v1/containers/4fa6e0f0c678/metrics");
    cr_assert_eq(r.status, 409, "-> %d %s", r.status, r.body);
    cr_assert_str_eq(error_code(&r), "ambiguous");
    cr_assert(strstr(error_message(&r), "4fa6e0f0c678"), "%s", error_message(&r));
    tu_http_resp_free(&r);
}

Test(api, not_found_and_wrong_method)
{
    struct tu_http_resp r = get("/api/v1/nothing");
    cr_assert_eq(r.status, 404);
    cr_assert_str_eq(error_code(&r), "not_found");
    tu_http_resp_free(&r);
    r = get("/api/v1/containers/ffffffffffffffffffff/metrics");
    cr_assert_eq(r.status, 404, "%s", r.body);
    cr_assert_str_eq(error_code(&r), "not_found");
    tu_http_resp_free(&r);
    r = request("POST", "/api/v1/containers", READ_TOKEN);
    cr_assert_eq(r.status, 405);
    cr_assert_str_eq(error_code(&r), "method_not_allowed");
    cr_assert(has_header(&r, "Allow: GET"));
    tu_http_resp_free(&r);
    r = request("GET", "/no-such-file.txt", NULL);
    cr_assert_eq(r.status, 404);
    tu_http_resp_free(&r);
}

Test(api, static_page_needs_no_token)
{
    struct tu_http_resp r = request("GET", "/", NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(has_header(&r, "Content-Type: text/html"));
    cr_assert(strstr(r.body, "<html") || strstr(r.body, "<!doctype"), "%.100s", r.body);
    tu_http_resp_free(&r);
    r = request("GET", "/index.html", NULL);
    cr_assert_eq(r.status, 200);
    tu_http_resp_free(&r);
}

Test(api, pipelined_requests_on_one_connection)
{
    const char *raw = "GET /api/v1/health HTTP/1.1\r\nAuthorization: Bearer " READ_TOKEN "\r\n\r\n"
                      "GET /nope/nope HTTP/1.1\r\n\r\n"
                      "GET /api/v1/agents HTTP/1.1\r\nAuthorization: Bearer " READ_TOKEN
                      "\r\nConnection: close\r\n\r\n";
    char *out = exchange(raw, strlen(raw));
    const char *a = strstr(out, "HTTP/1.1 200");
    const char *b = a ? strstr(a + 1, "HTTP/1.1 404") : NULL;
    const char *c = b ? strstr(b + 1, "HTTP/1.1 200") : NULL;
    cr_assert(a && b && c, "responses out of order or missing: %s", out);
    cr_assert(strstr(c, "\"agents\""));
    free(out);
}

Test(api, malformed_and_oversized_requests)
{
    char *out = exchange("BREW /pot HTCPCP/1.0\r\n\r\n", 24);
    cr_assert(strncmp(out, "HTTP/1.1 400", 12) == 0, "%s", out);
    cr_assert(strstr(out, "\"bad_request\""));
    free(out);
    char big[4096 + 64];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /", 5);
    memcpy(big + sizeof big - 13, " HTTP/1.1\r\n\r\n", 13);
    out = exchange(big, sizeof big);
    cr_assert(strncmp(out, "HTTP/1.1 414", 12) == 0, "%.60s", out);
    free(out);
}

/* Runs `promtool check metrics` on text; -1 when promtool is not installed. */
static int promtool_check(const char *text)
{
    const char *paths[] = {"/usr/bin/promtool", "/usr/local/bin/promtool"};
    const char *tool = NULL;
    for (size_t i = 0; i < 2 && !tool; i++)
        if (access(paths[i], X_OK) == 0)
            tool = paths[i];
    if (!tool)
        return -1;
    char path[] = "/tmp/bw-metrics-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, path, O_RDONLY, 0);
    char *argv[] = {(char *)tool, "check", "metrics", NULL};
    pid_t pid;
    int st = -1;
    cr_assert_eq(posix_spawn(&pid, tool, &fa, NULL, argv, environ), 0);
    waitpid(pid, &st, 0);
    posix_spawn_file_actions_destroy(&fa);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

Test(api, prometheus_metrics)
{
    atomic_store(&stats.envelopes_received, 12345);
    atomic_store(&stats.envelopes_rejected[CM_WIRE_MALFORMED], 3);
    atomic_store(&stats.db_up, 1);
    struct tu_http_resp r = get("/metrics");
    cr_assert_eq(r.status, 200);
    cr_assert(has_header(&r, "Content-Type: text/plain; version=0.0.4"));
    cr_assert(strstr(r.body, "# TYPE boxwatch_envelopes_received_total counter\n"
                             "boxwatch_envelopes_received_total 12345\n"), "%s", r.body);
    cr_assert(strstr(r.body, "boxwatch_envelopes_rejected_total{reason=\"malformed\"} 3\n"));
    cr_assert(strstr(r.body, "boxwatch_envelopes_rejected_total{reason=\"storage\"} 0\n"));
    cr_assert(strstr(r.body, "boxwatch_db_up 1\n"));
    cr_assert(strstr(r.body, "boxwatch_api_db_up 1\n"));
    cr_assert(strstr(r.body, "boxwatch_agent_last_seq{agent=\"node-1\"} 42\n"), "%s", r.body);
    cr_assert(strstr(r.body, "boxwatch_agent_samples_stored_total{agent=\"node-1\"} 180\n"));
    cr_assert(strstr(r.body, "# TYPE boxwatch_http_requests_total counter\n"));
    cr_assert_eq(r.body[strlen(r.body) - 1], '\n');
    int rc = promtool_check(r.body);
    if (rc >= 0)
        cr_assert_eq(rc, 0, "promtool check metrics exit %d on:\n%s", rc, r.body);
    else
        cr_log_warn("promtool not installed; exposition checked by hand only");
    tu_http_resp_free(&r);
}

/* ---- without a database ------------------------------------------------- */

static void setup_dead_db(void)
{
    conninfo[0] = '\0';
    start_api("host=/nonexistent/boxwatch-sock port=5433 dbname=none user=none", 3);
}

static void teardown_dead_db(void)
{
    stop_api();
}

TestSuite(api_nodb, .init = setup_dead_db, .fini = teardown_dead_db, .timeout = 60);

Test(api_nodb, health_is_503_when_database_is_down)
{
    struct tu_http_resp r = get("/api/v1/health");
    cr_assert_eq(r.status, 503, "%s", r.body);
    cr_assert_str_eq(cJSON_GetObjectItem(r.json, "status")->valuestring, "degraded");
    cr_assert_str_eq(cJSON_GetObjectItem(r.json, "database")->valuestring, "unreachable");
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(r.json, "error")));
    tu_http_resp_free(&r);
    r = get("/api/v1/containers");
    cr_assert_eq(r.status, 503, "%s", r.body);
    cr_assert_str_eq(error_code(&r), "unavailable");
    tu_http_resp_free(&r);
    r = get("/metrics");
    cr_assert_eq(r.status, 200, "/metrics still answers from memory");
    cr_assert(strstr(r.body, "boxwatch_api_db_up 0\n"));
    tu_http_resp_free(&r);
    cr_assert_geq(atomic_load(&stats.http_errors), 2);
    cr_assert_geq(atomic_load(&stats.http_requests), 3);
}

Test(api_nodb, short_token_refused_at_start)
{
    struct col_config c2 = cfg;
    c2.read_token = "too-short";
    uv_loop_t l2;
    uv_loop_init(&l2);
    struct col_api *a2 = NULL;
    char err[256] = "";
    cr_assert_lt(col_api_start(&l2, &c2, &stats, &a2, err, sizeof err), 0);
    cr_assert(strstr(err, "read_token"), "%s", err);
    c2.read_token = READ_TOKEN;
    c2.http_listen = "localhost-not-an-ip:1";
    cr_assert_lt(col_api_start(&l2, &c2, &stats, &a2, err, sizeof err), 0);
    cr_assert(strstr(err, "http_listen"), "%s", err);
    uv_run(&l2, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&l2), 0);
}

Test(api_nodb, connections_over_the_limit_are_refused)
{
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = tu_http_connect(port);
    usleep(200 * 1000); /* let the loop accept them */
    struct tu_http_resp r = request("GET", "/", NULL);
    cr_assert_eq(r.status, 503, "%s", r.raw);
    cr_assert_str_eq(error_code(&r), "unavailable");
    tu_http_resp_free(&r);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    usleep(200 * 1000);
    r = request("GET", "/", NULL);
    cr_assert_eq(r.status, 200);
    tu_http_resp_free(&r);
}

/* float8 text from PostgreSQL goes to clients as is: only JSON numbers may. */
Test(api_json, float8_text_passes_only_as_a_json_number)
{
    const char *ok[] = {"0", "-0", "0.5", "667648", "0.49981989254461084", "1e+20", "-1.5E-07"};
    const char *bad[] = {"NaN", "Infinity", "-Infinity", "", "-", "01", "1.", ".5", "1e", "1e+",
                         "0x10", "1 ", "+1"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_assert(col_api_is_json_number(ok[i]), "%s should pass", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert(!col_api_is_json_number(bad[i]), "'%s' should be refused", bad[i]);
}
