/* test_api_findings.c - the configuration audit routes end to end:
 * /api/v1/checks, /findings, /posture and /containers/{id}, with the API on
 * its own libuv loop, a real migrated PostgreSQL holding findings made by
 * the real inventory store, and real HTTP over TCP. */
#include "collector/api/api.h"
#include "collector/checks.h"
#include "collector/config.h"
#include "collector/db.h"
#include "collector/inventory_store.h"
#include "common/alloc.h"
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
/* CA and CB share a 12-character prefix; CC runs on the other host under
 * CA's name; CD was fixed (its finding is resolved). */
#define CA "4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2"
#define CB "4fa6e0f0c678ffff0000111122223333444455556666777788889999aaaabbbb"
#define CC "cc00000000000000000000000000000000000000000000000000000000000003"
#define CD "dd00000000000000000000000000000000000000000000000000000000000004"
#define CE "ee00000000000000000000000000000000000000000000000000000000000005"
#define DIGEST "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char conninfo[512];
static struct tu_api_server srv;
static int port;
/* Open findings: CA privileged and host network, CB and CC privileged, and
 * node-1's host findings; CD's is resolved. */
static size_t host_open; /* open host findings of node-1, as the evaluator says */

/* ---- seeding through the real store ----------------------------------- */

static void sql(PGconn *c, const char *q)
{
    char err[256];
    cr_assert_eq(col_db_exec(c, q, 0, NULL, err, sizeof err), 0, "%s: %s", q, err);
}

static void ctr(struct cm_container_inv *c, const char *id, const char *name, bool privileged)
{
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->runtime = CM_RT_DOCKER;
    c->state = CM_INV_STATE_RUNNING;
    c->name = cm_xstrdup(name);
    c->image = cm_xstrdup("registry.example.com/app" DIGEST);
    c->known = CM_INV_K_IMAGE | CM_INV_K_PRIVILEGED;
    c->privileged = privileged;
}

static struct cm_strlist none;
static struct col_check_policy pol = {&none};

static void store(PGconn *c, int64_t agent, uint64_t seq, struct cm_container_inv *v, size_t n,
                  struct cm_host_inv *host)
{
    struct col_inventory_store s = {c, &pol, ""};
    struct col_inventory_counts counts = {0};
    struct cm_inventory_batch b = {
        .collected_ns = cm_time_now_ns(), .containers = v, .n = n, .host = host};
    char err[512];
    sql(c, "BEGIN");
    cr_assert_eq(col_inventory_store_apply(&s, agent, seq, &b, &counts, err, sizeof err), 0, "%s",
                 err);
    sql(c, "COMMIT");
}

static void seed(void)
{
    struct cm_keypair kp;
    struct cm_container_inv v[3];
    struct cm_host_inv h = {.docker_present = true};
    struct col_check_result r[64];
    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    cr_assert_eq(tu_pg_add_agent(c, "node-1", &kp), 0);
    cr_assert_eq(tu_pg_add_agent(c, "node-2", &kp), 0);
    sql(c, "UPDATE agents SET hostname = name || '.example'");
    /* node-1: CA privileged and host network, CB privileged, CD fixed */
    ctr(&v[0], CA, "web", true);
    v[0].known |= CM_INV_K_NAMESPACES;
    v[0].host_namespaces = CM_NS_NET;
    ctr(&v[1], CB, "db", true);
    ctr(&v[2], CD, "cache", true);
    host_open = col_checks_eval_host(&h, &pol, r, 64);
    cr_assert_gt(host_open, 0, "a default Docker daemon fails some host checks");
    store(c, 1, 1, v, 3, &h);
    v[2].privileged = false;
    store(c, 1, 2, &v[2], 1, NULL);
    for (int i = 0; i < 3; i++)
        cm_container_inv_free(&v[i]);
    /* node-2: CC, named like CA */
    ctr(&v[0], CC, "web", true);
    store(c, 2, 1, v, 1, NULL);
    cm_container_inv_free(&v[0]);
    /* CE: known from its cgroup only, with one sample */
    sql(c, "INSERT INTO containers (agent_id, container_id, runtime, first_seen, last_seen) "
           "VALUES (2, '" CE "', 'containerd', now(), now())");
    sql(c, "SELECT boxwatch_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 1, 2)");
    sql(c, "INSERT INTO container_samples (ts, container_ref, pids_current) SELECT "
           "now() - interval '1 minute', id, 3 FROM containers WHERE container_id = '" CA "'");
    PQfinish(c);
}

/* ---- the API on its own loop ------------------------------------------ */

static void setup(void)
{
    const char *why = NULL;
    if (!tu_pg_available(&why)) cr_skip_test("%s", why);
    cr_assert_eq(tu_pg_create_migrated_db(conninfo, sizeof conninfo), 0);
    seed();
    tu_api_server_start(&srv, conninfo, READ_TOKEN, ADMIN_TOKEN, NULL);
    port = srv.port;
}

static void teardown(void)
{
    tu_api_server_stop(&srv);
    if (conninfo[0]) tu_pg_drop_db(conninfo);
}

TestSuite(api_findings, .init = setup, .fini = teardown, .timeout = 60);

/* ---- requests (tests/util/httptest.h) ---------------------------------- */

static struct tu_http_resp get(const char *target)
{
    struct tu_http_resp r = tu_http_request(port, "GET", target, READ_TOKEN);
    cr_assert_not_null(r.json, "not JSON: %s", r.body);
    return r;
}

static cJSON *at(cJSON *o, const char *path) /* "a.b.c" */
{
    char key[64];
    for (const char *p = path; o && *p;) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, p);
        o = cJSON_GetObjectItem(o, key);
        p += n + (p[n] == '.');
    }
    cr_assert_not_null(o, "no %s", path);
    return o;
}

static const char *str(cJSON *o, const char *path)
{
    cJSON *v = at(o, path);
    cr_assert(cJSON_IsString(v), "%s is not a string", path);
    return v->valuestring;
}

static double num(cJSON *o, const char *path)
{
    cJSON *v = at(o, path);
    cr_assert(cJSON_IsNumber(v), "%s is not a number", path);
    return v->valuedouble;
}

/* Status 400 whose message starts with the parameter's name. */
static void bad(const char *target, const char *param)
{
    struct tu_http_resp r = get(target);
    cr_assert_eq(r.status, 400, "%s: %d %s", target, r.status, r.raw);
    cr_assert_str_eq(str(r.json, "error.code"), "bad_request");
    cr_assert_eq(strncmp(str(r.json, "error.message"), param, strlen(param)), 0, "%s: %s", target,
                 str(r.json, "error.message"));
    tu_http_resp_free(&r);
}

static int findings_count(const char *target)
{
    struct tu_http_resp r = get(target);
    cr_assert_eq(r.status, 200, "%s: %s", target, r.raw);
    int n = cJSON_GetArraySize(at(r.json, "findings"));
    tu_http_resp_free(&r);
    return n;
}

/* ---- tests ------------------------------------------------------------- */

Test(api_findings, checks_catalogue_with_open_counts)
{
    struct tu_http_resp r = get("/api/v1/checks");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cJSON *list = at(r.json, "checks");
    cr_assert_eq((size_t)cJSON_GetArraySize(list), col_checks_count());
    bool seen = false;
    cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        const struct col_check *k = col_checks_find(str(c, "id"));
        cr_assert_not_null(k, "%s", str(c, "id"));
        cr_assert_str_eq(str(c, "title"), k->title);
        cr_assert_str_eq(str(c, "severity"), col_severity_name(k->severity));
        cr_assert_str_eq(str(c, "rationale"), k->rationale);
        cr_assert_str_eq(str(c, "remediation"), k->remediation);
        cr_assert_str_eq(str(c, "scope"), k->scope == COL_SCOPE_HOST ? "host" : "container");
        cr_assert(k->cis ? strcmp(str(c, "cis"), k->cis) == 0 : cJSON_IsNull(at(c, "cis")));
        if (strcmp(k->id, "container.privileged") == 0) {
            cr_assert_eq(num(c, "open_findings"), 3); /* CA, CB, CC; not the fixed CD */
            seen = true;
        }
        if (strcmp(k->id, "container.host_pid") == 0) cr_assert_eq(num(c, "open_findings"), 0);
    }
    cr_assert(seen);
    tu_http_resp_free(&r);
}

Test(api_findings, open_findings_newest_first_with_host_and_container)
{
    struct tu_http_resp r = get("/api/v1/findings");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cJSON *list = at(r.json, "findings");
    cr_assert_eq((size_t)cJSON_GetArraySize(list), 4 + host_open);
    cr_assert(cJSON_IsNull(at(r.json, "next_cursor")));
    double prev = 1e18;
    size_t hosts = 0;
    cJSON *f;
    cJSON_ArrayForEach(f, list)
    {
        cr_assert_lt(num(f, "id"), prev, "newest first");
        prev = num(f, "id");
        cr_assert_str_eq(str(f, "status"), "open");
        cr_assert(cJSON_IsNull(at(f, "resolved_at")) && cJSON_IsNull(at(f, "resolved_reason")));
        cr_assert_str_eq(str(f, "severity"), str(f, "check.severity"));
        cr_assert(cJSON_IsString(at(f, "check.title")));
        cr_assert(cJSON_IsString(at(f, "first_seen")) && cJSON_IsString(at(f, "last_seen")));
        cr_assert(cJSON_IsString(at(f, "host.hostname")));
        if (cJSON_IsNull(at(f, "container"))) {
            hosts++;
            cr_assert_eq(strncmp(str(f, "check.id"), "host.", 5), 0);
            cr_assert_str_eq(str(f, "host.agent"), "node-1");
            continue;
        }
        cr_assert_str_eq(str(f, "container.image"), "registry.example.com/app" DIGEST);
        if (strcmp(str(f, "check.id"), "container.host_network") == 0) {
            cr_assert_str_eq(str(f, "container.id"), CA);
            cr_assert_str_eq(str(f, "container.name"), "web");
            cr_assert_str_eq(str(f, "check.cis"), "5.10");
            cr_assert_str_eq(str(f, "host.agent"), "node-1");
            cr_assert_str_eq(str(f, "host.hostname"), "node-1.example");
            cr_assert_gt(strlen(str(f, "detail")), 0);
        }
    }
    cr_assert_eq(hosts, host_open);
    tu_http_resp_free(&r);
}

Test(api_findings, status_filter)
{
    struct tu_http_resp r = get("/api/v1/findings?status=resolved");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cr_assert_eq(cJSON_GetArraySize(at(r.json, "findings")), 1);
    cJSON *f = cJSON_GetArrayItem(at(r.json, "findings"), 0);
    cr_assert_str_eq(str(f, "container.id"), CD);
    cr_assert_str_eq(str(f, "status"), "resolved");
    cr_assert_str_eq(str(f, "resolved_reason"), "passed");
    cr_assert(cJSON_IsString(at(f, "resolved_at")));
    tu_http_resp_free(&r);
    cr_assert_eq((size_t)findings_count("/api/v1/findings?status=all"), 5 + host_open);
    cr_assert_eq((size_t)findings_count("/api/v1/findings?status=open"), 4 + host_open);
    bad("/api/v1/findings?status=closed", "status:");
}

Test(api_findings, severity_filter_minimum_or_list)
{
    cr_assert_eq(findings_count("/api/v1/findings?severity=critical"), 3);
    cr_assert_eq(findings_count("/api/v1/findings?severity=critical&status=all"), 4);
    int high = findings_count("/api/v1/findings?severity=high");
    cr_assert_geq(high, 4, "critical ones and CA's host network");
    int only_high = findings_count("/api/v1/findings?severity=high,high");
    cr_assert_eq(only_high, high - 3);
    cr_assert_eq(findings_count("/api/v1/findings?severity=info,low,medium,high,critical"),
                 findings_count("/api/v1/findings?severity=info"));
    bad("/api/v1/findings?severity=urgent", "severity:");
    bad("/api/v1/findings?severity=high,", "severity:");
    bad("/api/v1/findings?severity=", "severity:");
}

Test(api_findings, check_host_and_container_filters)
{
    cr_assert_eq(findings_count("/api/v1/findings?check=container.privileged"), 3);
    cr_assert_eq(findings_count("/api/v1/findings?check=container.privileged&host=node-2"), 1);
    cr_assert_eq(findings_count("/api/v1/findings?host=node-2.example"), 1);
    cr_assert_eq((size_t)findings_count("/api/v1/findings?host=node-1"), 3 + host_open);
    cr_assert_eq(findings_count("/api/v1/findings?host=node-3"), 0);
    cr_assert_eq(findings_count("/api/v1/findings?container=" CA), 2);
    cr_assert_eq(findings_count("/api/v1/findings?container=4fa6e0f0c6786"), 2, "unique prefix");
    cr_assert_eq(findings_count("/api/v1/findings?container=4fa6e0f0c678"), 3, "CA and CB");
    cr_assert_eq(findings_count("/api/v1/findings?container=4fa6e0f0c67"), 0, "too short");
    cr_assert_eq(findings_count("/api/v1/findings?container=web"), 3, "by name, both hosts");
    cr_assert_eq(findings_count("/api/v1/findings?container=web&host=node-2"), 1);
    bad("/api/v1/findings?check=container.nope", "check:");
    bad("/api/v1/findings?host=a%20b", "host:");
    bad("/api/v1/findings?container=", "container:");
}

Test(api_findings, cursor_walks_every_finding_once)
{
    double ids[64];
    size_t n = 0;
    char target[256] = "/api/v1/findings?status=all&limit=2";
    for (int page = 0; page < 32; page++) {
        struct tu_http_resp r = get(target);
        cr_assert_eq(r.status, 200, "%s", r.raw);
        cJSON *f;
        cJSON_ArrayForEach(f, at(r.json, "findings"))
        {
            cr_assert_lt(n, 64);
            ids[n] = num(f, "id");
            cr_assert(n == 0 || ids[n] < ids[n - 1], "strictly newest first across pages");
            n++;
        }
        cJSON *next = at(r.json, "next_cursor");
        if (cJSON_IsNull(next)) {
            tu_http_resp_free(&r);
            break;
        }
        cr_assert_eq(cJSON_GetArraySize(at(r.json, "findings")), 2);
        snprintf(target, sizeof target, "/api/v1/findings?status=all&limit=2&cursor=%s",
                 next->valuestring);
        tu_http_resp_free(&r);
    }
    cr_assert_eq(n, 5 + host_open);
    bad("/api/v1/findings?cursor=zzz", "cursor:");
    bad("/api/v1/findings?limit=0", "limit:");
    bad("/api/v1/findings?limit=1001", "limit:");
}

Test(api_findings, container_with_inventory_and_open_findings)
{
    struct tu_http_resp r = get("/api/v1/containers/4fa6e0f0c6786");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cr_assert_str_eq(str(r.json, "id"), CA);
    cr_assert_str_eq(str(r.json, "name"), "web");
    cr_assert_str_eq(str(r.json, "host"), "node-1.example");
    cr_assert_str_eq(str(r.json, "state"), "running");
    cr_assert_str_eq(str(r.json, "image"), "registry.example.com/app" DIGEST);
    cr_assert(cJSON_IsTrue(at(r.json, "inventory.privileged")));
    cr_assert_str_eq(str(r.json, "inventory.name"), "web");
    cr_assert(cJSON_IsString(at(r.json, "last_sample")));
    cr_assert(cJSON_IsNull(at(r.json, "gone_at")));
    cJSON *list = at(r.json, "findings");
    cr_assert_eq(cJSON_GetArraySize(list), 2);
    cJSON *f;
    cJSON_ArrayForEach(f, list)
    {
        cr_assert_str_eq(str(f, "status"), "open");
        cr_assert_str_eq(str(f, "container.id"), CA);
    }
    tu_http_resp_free(&r);
    /* a container only its cgroup told of */
    r = get("/api/v1/containers/" CE);
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cr_assert(cJSON_IsNull(at(r.json, "inventory")));
    cr_assert(cJSON_IsNull(at(r.json, "image")));
    cr_assert(cJSON_IsNull(at(r.json, "last_sample")));
    cr_assert_eq(cJSON_GetArraySize(at(r.json, "findings")), 0);
    tu_http_resp_free(&r);
}

Test(api_findings, container_unknown_ambiguous_or_bad)
{
    struct tu_http_resp r = get("/api/v1/containers/4fa6e0f0c678");
    cr_assert_eq(r.status, 409, "%s", r.raw);
    cr_assert_str_eq(str(r.json, "error.code"), "ambiguous");
    tu_http_resp_free(&r);
    r = get("/api/v1/containers/ffff00000000");
    cr_assert_eq(r.status, 404, "%s", r.raw);
    cr_assert_str_eq(str(r.json, "error.code"), "not_found");
    tu_http_resp_free(&r);
    r = get("/api/v1/containers/4fa6e0f0c67"); /* too short for a prefix, not an id */
    cr_assert_eq(r.status, 404, "%s", r.raw);
    tu_http_resp_free(&r);
    bad("/api/v1/containers/a%20b", "id:");
}

static cJSON *find_by(cJSON *list, const char *key, const char *value)
{
    cJSON *o;
    cJSON_ArrayForEach(o, list) if (strcmp(str(o, key), value) == 0) return o;
    cr_assert_fail("no %s=%s", key, value);
    return NULL;
}

Test(api_findings, posture_per_check_and_per_host)
{
    struct tu_http_resp r = get("/api/v1/posture");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cr_assert_eq(num(r.json, "totals.hosts"), 2);
    cr_assert_eq(num(r.json, "totals.containers_audited"), 4, "CA, CB, CD, CC; not CE");
    cr_assert_eq(num(r.json, "totals.containers_failing"), 3);
    cr_assert_eq(num(r.json, "totals.open_findings.critical"), 3);
    cr_assert_eq(num(r.json, "totals.open_findings_total"), (double)(4 + host_open));
    cJSON *checks = at(r.json, "checks");
    cr_assert_eq((size_t)cJSON_GetArraySize(checks), col_checks_count());
    cJSON *p = find_by(checks, "id", "container.privileged");
    cr_assert_eq(num(p, "failing_containers"), 3);
    cr_assert_eq(num(p, "failing_hosts"), 2);
    cJSON *n = find_by(checks, "id", "container.host_network");
    cr_assert_eq(num(n, "failing_containers"), 1);
    cr_assert_eq(num(find_by(checks, "id", "container.host_pid"), "failing_containers"), 0);
    cJSON *hosts = at(r.json, "hosts");
    cr_assert_eq(cJSON_GetArraySize(hosts), 2);
    cJSON *h1 = find_by(hosts, "agent", "node-1");
    cr_assert_str_eq(str(h1, "hostname"), "node-1.example");
    cr_assert_eq(num(h1, "containers"), 3);
    cr_assert_eq(num(h1, "failing_containers"), 2);
    cr_assert_eq(num(h1, "open_findings.critical"), 2);
    cr_assert_eq(num(h1, "open_findings.high"), num(r.json, "totals.open_findings.high"),
                 "node-2 has only a critical one");
    cJSON *h2 = find_by(hosts, "agent", "node-2");
    cr_assert_eq(num(h2, "containers"), 1);
    cr_assert_eq(num(h2, "failing_containers"), 1);
    cr_assert_eq(num(h2, "open_findings.critical"), 1);
    tu_http_resp_free(&r);
}

Test(api_findings, containers_list_shows_inventory_name_and_image)
{
    struct tu_http_resp r = get("/api/v1/containers?limit=10");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cJSON *list = at(r.json, "containers");
    cJSON *a = find_by(list, "id", CA);
    cr_assert_str_eq(str(a, "name"), "web");
    cr_assert_str_eq(str(a, "image"), "registry.example.com/app" DIGEST);
    cr_assert_str_eq(str(a, "state"), "running");
    cJSON *e = find_by(list, "id", CE);
    cr_assert_str_eq(str(e, "name"), "ee0000000000");
    cr_assert(cJSON_IsNull(at(e, "image")) && cJSON_IsNull(at(e, "state")));
    tu_http_resp_free(&r);
}
