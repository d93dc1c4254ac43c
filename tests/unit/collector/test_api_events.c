/* test_api_events.c - GET /api/v1/events and /api/v1/rules end to end: the
 * API on its own libuv loop, a real migrated PostgreSQL holding events
 * stored by the real event store, the built-in rule set, real HTTP over TCP.
 * Filters, newest-first keyset pages (also across events of the same
 * second) and a 400 naming each bad parameter. */
#include "collector/api/api.h"
#include "collector/config.h"
#include "collector/db.h"
#include "collector/event_store.h"
#include "collector/rulebook.h"
#include "common/keys.h"
#include "common/timeutil.h"
#include "tests/util/apiserver.h"
#include "tests/util/httptest.h"
#include "tests/util/pgutil.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_TOKEN "read-token-0123456789"
#define ADMIN_TOKEN "admin-token-0123456789"
#define CA "4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2"
#define CB "bb00000000000000000000000000000000000000000000000000000000000002"

static char conninfo[512];
static struct col_rulebook *rules;
static struct tu_api_server srv;
static int port;

/* ---- seeding through the real event store ----------------------------- */

static void sql(PGconn *c, const char *q)
{
    char err[256];
    cr_assert_eq(col_db_exec(c, q, 0, NULL, err, sizeof err), 0, "%s: %s", q, err);
}

static struct cm_kv fields[1] = {{"src_ip", "198.51.100.7"}};

/* One event e<n> of rule at time ts (RFC 3339) from agent, a container's
 * log when cid is set. */
static void store(PGconn *c, int64_t agent, int n, const char *ts, const char *rule,
                  const char *cid, uint32_t count)
{
    struct cm_log_event e;
    struct col_event_store s = {c, rules, cm_time_now_ns(), INT64_C(3) << 60, 86400 * CM_NS_PER_SEC,
                                ""};
    struct cm_event_batch b = {&e, 1, NULL, 0};
    char msg[32], err[512];
    memset(&e, 0, sizeof e);
    cr_assert_eq(cm_time_parse(ts, &e.ts_ns), 0);
    snprintf(e.rule_id, sizeof e.rule_id, "%s", rule);
    e.rule_version = 1;
    e.source.kind = cid ? CM_LOG_SRC_CONTAINER : CM_LOG_SRC_AUTH;
    e.source.path = cid ? "/var/lib/docker/containers/c/c-json.log" : "/var/log/auth.log";
    snprintf(e.source.container_id, sizeof e.source.container_id, "%s", cid ? cid : "");
    snprintf(e.source.file_key, sizeof e.source.file_key, "2049:%d", n);
    e.offset = (uint64_t)n * 100;
    snprintf(msg, sizeof msg, "event e%d", n);
    e.message = msg;
    e.fields = fields;
    e.n_fields = 1;
    e.count = count;
    sql(c, "BEGIN");
    cr_assert_eq(col_event_store_batch(&s, agent, &b, NULL, err, sizeof err), 0, "%s", err);
    sql(c, "COMMIT");
}

static void seed(void)
{
    struct cm_keypair kp;
    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    cr_assert_eq(tu_pg_add_agent(c, "node-1", &kp), 0);
    cr_assert_eq(tu_pg_add_agent(c, "node-2", &kp), 0);
    sql(c, "UPDATE agents SET hostname = name || '.example'");
    sql(c, "SELECT boxwatch_ensure_partitions('2026-11-20', 2)");
    store(c, 1, 1, "2026-11-20T10:00:00Z", "ssh.failed_password", NULL, 0);
    store(c, 1, 2, "2026-11-20T10:00:01Z", "ssh.brute_force", NULL, 10);
    store(c, 1, 3, "2026-11-20T10:00:01Z", "web.sql_injection", CA, 0); /* same second */
    store(c, 2, 4, "2026-11-20T11:00:00Z", "process.reverse_shell", CB, 0);
    store(c, 2, 5, "2026-11-21T09:00:00Z", "kernel.oom_kill", NULL, 0);
    store(c, 1, 6, "2026-11-21T09:30:00Z", "ssh.failed_password", NULL, 0);
    sql(c, "UPDATE containers SET name = 'web' WHERE container_id = '" CA "'");
    PQfinish(c);
}

/* ---- the API on its own loop ------------------------------------------ */

static void setup(void)
{
    const char *why = NULL;
    char err[512] = "";
    if (!tu_pg_available(&why)) cr_skip_test("%s", why);
    cr_assert_eq(col_rulebook_new(NULL, &rules, err, sizeof err), 0, "%s", err);
    cr_assert_eq(tu_pg_create_migrated_db(conninfo, sizeof conninfo), 0);
    seed();
    tu_api_server_start(&srv, conninfo, READ_TOKEN, ADMIN_TOKEN, rules);
    port = srv.port;
}

static void teardown(void)
{
    tu_api_server_stop(&srv);
    col_rulebook_free(rules);
    rules = NULL;
    if (conninfo[0]) tu_pg_drop_db(conninfo);
}

TestSuite(api_events, .init = setup, .fini = teardown, .timeout = 60);

/* ---- requests (tests/util/httptest.h) ---------------------------------- */

static struct tu_http_resp get(const char *target)
{
    struct tu_http_resp r = tu_http_request(port, "GET", target, READ_TOKEN);
    cr_assert_not_null(r.json, "not JSON: %s", r.body);
    return r;
}

/* The messages of the listed events, "e6 e5 ..." (newest first). */
static void expect(const char *target, const char *want)
{
    char got[256] = "";
    size_t o = 0;
    struct tu_http_resp r = get(target);
    cr_assert_eq(r.status, 200, "%s: %d %s", target, r.status, r.raw);
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(r.json, "events"))
    {
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
        o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", o ? " " : "", m ? m + 6 : "?");
    }
    cr_assert_str_eq(got, want, "%s", target);
    tu_http_resp_free(&r);
}

/* Status 400 whose message starts with the parameter's name. */
static void bad(const char *target, const char *param)
{
    struct tu_http_resp r = get(target);
    cr_assert_eq(r.status, 400, "%s: %d %s", target, r.status, r.raw);
    const char *msg =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "error"), "message"));
    cr_assert_not_null(msg);
    cr_assert_eq(strncmp(msg, param, strlen(param)), 0, "%s: %s", target, msg);
    tu_http_resp_free(&r);
}

static const char *severity_of(const char *id)
{
    static char sev[16];
    const struct col_rules *r = col_rulebook_acquire(rules);
    const struct cm_rule *rule = col_rules_find(r, id);
    snprintf(sev, sizeof sev, "%s", rule ? rule->severity : "(none)");
    col_rulebook_release(rules, r);
    return sev;
}

Test(api_events, newest_first_with_every_field)
{
    expect("/api/v1/events", "e6 e5 e4 e3 e2 e1");
    struct tu_http_resp r = get("/api/v1/events?rule=process.reverse_shell");
    cr_assert_eq(r.status, 200);
    cJSON *list = cJSON_GetObjectItem(r.json, "events");
    cr_assert_eq(cJSON_GetArraySize(list), 1);
    cJSON *e = cJSON_GetArrayItem(list, 0);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e, "ts")),
                     "2026-11-20T11:00:00.000000Z");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(e, "severity")),
                     severity_of("process.reverse_shell"));
    cJSON *rule = cJSON_GetObjectItem(e, "rule");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(rule, "id")),
                     "process.reverse_shell");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(rule, "version")), 1);
    cr_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "fields"), "src_ip")),
        "198.51.100.7");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(e, "count")));
    cJSON *src = cJSON_GetObjectItem(e, "source");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(src, "kind")), "container");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(src, "file_key")), "2049:4");
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(src, "offset")), 400);
    cJSON *h = cJSON_GetObjectItem(e, "host");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "agent")), "node-2");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(h, "hostname")), "node-2.example");
    cJSON *c = cJSON_GetObjectItem(e, "container");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "id")), CB);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next_cursor")));
    tu_http_resp_free(&r);
    r = get("/api/v1/events?rule=ssh.brute_force");
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "events"), 0);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(e, "count")), 10);
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(e, "container")));
    tu_http_resp_free(&r);
}

Test(api_events, filters)
{
    expect("/api/v1/events?since=2026-11-21T00:00:00Z", "e6 e5");
    expect("/api/v1/events?until=2026-11-20T10:00:01Z", "e1");
    expect("/api/v1/events?since=2026-11-20T10:00:01Z&until=2026-11-20T11:00:00Z", "e3 e2");
    expect("/api/v1/events?since=2026-11-20T12:00:00%2B02:00&until=1795176000", "e4 e3 e2 e1");
    /* the rule's severity: reverse shell critical, brute force and sensitive high */
    cr_assert_str_eq(severity_of("ssh.brute_force"), "high");
    expect("/api/v1/events?severity=high", "e4 e2");
    expect("/api/v1/events?severity=low,medium", "e6 e5 e3 e1");
    expect("/api/v1/events?host=node-2", "e5 e4");
    expect("/api/v1/events?host=node-1.example", "e6 e3 e2 e1");
    expect("/api/v1/events?container=web", "e3");
    expect("/api/v1/events?container=bb0000000000", "e4");
    expect("/api/v1/events?container=bb00000", ""); /* a prefix needs 12 characters */
    expect("/api/v1/events?rule=ssh.failed_password", "e6 e1");
    expect("/api/v1/events?rule=ssh.failed_password&host=node-1&since=2026-11-21T00:00:00Z", "e6");
    expect("/api/v1/events?rule=no.such.rule", "");
}

/* Follows next_cursor with the given limit; returns all messages in order. */
static void pages(int limit, const char *want, int want_pages)
{
    char target[256], all[256] = "", cursor[64] = "";
    size_t o = 0;
    int n = 0;
    for (;; n++) {
        cr_assert_lt(n, 10, "cursor loops");
        snprintf(target, sizeof target, "/api/v1/events?limit=%d%s%s", limit,
                 cursor[0] ? "&cursor=" : "", cursor);
        struct tu_http_resp r = get(target);
        cr_assert_eq(r.status, 200, "%s: %s", target, r.raw);
        cJSON *list = cJSON_GetObjectItem(r.json, "events"), *e;
        cr_assert_leq(cJSON_GetArraySize(list), limit);
        cJSON_ArrayForEach(e, list)
        {
            o += (size_t)snprintf(all + o, sizeof all - o, "%s%s", o ? " " : "",
                                  cJSON_GetStringValue(cJSON_GetObjectItem(e, "message")) + 6);
        }
        cJSON *next = cJSON_GetObjectItem(r.json, "next_cursor");
        bool last = cJSON_IsNull(next);
        if (!last) snprintf(cursor, sizeof cursor, "%s", cJSON_GetStringValue(next));
        tu_http_resp_free(&r);
        if (last) break;
    }
    cr_assert_str_eq(all, want, "limit %d", limit);
    cr_assert_eq(n + 1, want_pages, "limit %d: %d pages", limit, n + 1);
}

Test(api_events, keyset_pages_cover_everything_once)
{
    pages(2, "e6 e5 e4 e3 e2 e1", 3);
    pages(4, "e6 e5 e4 e3 e2 e1", 2); /* the page ends between two events of one second */
    pages(5, "e6 e5 e4 e3 e2 e1", 2);
    pages(100, "e6 e5 e4 e3 e2 e1", 1);
    /* a cursor keeps the filters it is used with */
    struct tu_http_resp r = get("/api/v1/events?limit=1&rule=ssh.failed_password");
    char target[128];
    snprintf(target, sizeof target, "/api/v1/events?rule=ssh.failed_password&cursor=%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "next_cursor")));
    tu_http_resp_free(&r);
    expect(target, "e1");
}

Test(api_events, bad_parameters_are_400_naming_them)
{
    bad("/api/v1/events?since=yesterday", "since");
    bad("/api/v1/events?until=2026-13-01T00:00:00Z", "until");
    bad("/api/v1/events?since=2026-11-21T00:00:00Z&until=2026-11-20T00:00:00Z", "until");
    bad("/api/v1/events?severity=urgent", "severity");
    bad("/api/v1/events?severity=high,", "severity");
    bad("/api/v1/events?limit=0", "limit");
    bad("/api/v1/events?limit=1001", "limit");
    bad("/api/v1/events?cursor=abc", "cursor");
    bad("/api/v1/events?cursor=e0000000000000001000000000000000g", "cursor");
    bad("/api/v1/events?cursor=k0000000000000001", "cursor");
    bad("/api/v1/events?rule=bad%20id", "rule");
    bad("/api/v1/events?rule=.starts.with.dot", "rule");
    bad("/api/v1/events?host=", "host");
    bad("/api/v1/events?container=a%09b", "container");
    bad("/api/v1/events?rule=a&rule=b", "rule");
}

Test(api_events, rules_route_shows_the_set_in_force)
{
    struct tu_http_resp r = get("/api/v1/rules");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    const struct col_rules *set = col_rulebook_acquire(rules);
    cr_assert_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(r.json, "version")), set->policy.version);
    cJSON *list = cJSON_GetObjectItem(r.json, "rules");
    cr_assert_eq((size_t)cJSON_GetArraySize(list), set->policy.n);
    cr_assert_gt(set->policy.n, 0);
    for (size_t i = 0; i < set->policy.n; i++) {
        cJSON *rule = cJSON_GetArrayItem(list, (int)i);
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(rule, "id")),
                         set->policy.rules[i].id);
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(rule, "severity")),
                         set->policy.rules[i].severity);
    }
    col_rulebook_release(rules, set);
    tu_http_resp_free(&r);
}
