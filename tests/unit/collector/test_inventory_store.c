/* test_inventory_store.c - inventories and the findings lifecycle against a
 * real PostgreSQL: col_inventory_store_apply inside a transaction as the
 * writer runs it, the start-up re-evaluation under a changed policy, and
 * the real writer thread storing the same inventory envelope once. */
#include "collector/checks.h"
#include "collector/db.h"
#include "collector/inventory_store.h"
#include "collector/writer.h"
#include "common/alloc.h"
#include "common/keys.h"
#include "common/timeutil.h"
#include "tests/util/pgutil.h"
#include "tests/util/writertest.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CA "aaaa0000000000000000000000000000000000000000000000000000000000a1"
#define CB "bbbb0000000000000000000000000000000000000000000000000000000000b2"
#define DIGEST "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char conninfo[512];
static PGconn *conn;
static struct cm_keypair agent;
static int64_t agent_id;
static struct cm_strlist no_registries;
static struct col_check_policy policy = {&no_registries};

static char *q(const char *sql, const char *p1)
{
    static char out[1024];
    PGresult *res = NULL;
    char err[256];
    const char *const p[] = {p1};
    cr_assert_eq(col_db_query(conn, sql, p1 ? 1 : 0, p1 ? p : NULL, &res, err, sizeof err), 0,
                 "%s: %s", sql, err);
    cr_assert_eq(PQntuples(res), 1, "%s", sql);
    snprintf(out, sizeof out, "%s", PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

static long qn(const char *sql, const char *p1)
{
    return strtol(q(sql, p1), NULL, 10);
}

static void setup(void)
{
    const char *why = NULL;
    char err[256];
    if (!tu_pg_available(&why)) cr_skip_test("%s", why);
    cr_assert_eq(tu_pg_create_migrated_db(conninfo, sizeof conninfo), 0);
    cr_assert_eq(col_db_connect(conninfo, "test", &conn, err, sizeof err), 0, "%s", err);
    cr_assert_eq(tu_pg_add_agent(conn, "a1", &agent), 0);
    agent_id = qn("SELECT id FROM agents WHERE name = 'a1'", NULL);
    policy.allowed_registries = &no_registries;
}

static void teardown(void)
{
    PQfinish(conn);
    conn = NULL;
    tu_pg_drop_db(conninfo);
}

TestSuite(inventory_store, .init = setup, .fini = teardown, .timeout = 60);

/* A running Docker container the runtime told nothing about but its image:
 * no check has anything to fail on. */
static void ctr(struct cm_container_inv *c, const char *id, const char *name)
{
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->runtime = CM_RT_DOCKER;
    c->state = CM_INV_STATE_RUNNING;
    c->name = cm_xstrdup(name);
    c->image = cm_xstrdup("registry.example.com/app" DIGEST);
    c->known = CM_INV_K_IMAGE;
}

static void set_privileged(struct cm_container_inv *c, bool on)
{
    c->known |= CM_INV_K_PRIVILEGED;
    c->privileged = on;
}

static void host_with(struct cm_host_inv *h, const char *nnp, const char *icc)
{
    memset(h, 0, sizeof *h);
    h->docker_present = true;
    h->daemon_config_path = cm_xstrdup("/etc/docker/daemon.json");
    h->daemon_settings = cm_xcalloc(2, sizeof *h->daemon_settings);
    h->daemon_settings[0] = (struct cm_kv){cm_xstrdup("no-new-privileges"), cm_xstrdup(nnp)};
    h->daemon_settings[1] = (struct cm_kv){cm_xstrdup("icc"), cm_xstrdup(icc)};
    h->n_daemon_settings = 2;
}

struct batch {
    struct cm_container_inv *c;
    size_t n;
    struct cm_host_inv *host;
    bool complete;
    const char **present;
    size_t npresent;
};

/* Applies one batch in its own transaction, as the writer would. */
static struct col_inventory_counts apply_at(uint64_t seq, const struct batch *in)
{
    struct col_inventory_store s = {conn, &policy, ""};
    struct col_inventory_counts n = {0};
    struct cm_inventory_batch b = {.collected_ns = cm_time_now_ns(),
                                   .containers = in->c,
                                   .n = in->n,
                                   .host = in->host,
                                   .complete = in->complete,
                                   .present_ids = (char **)in->present,
                                   .n_present = in->npresent};
    char err[512];
    cr_assert_eq(col_db_exec(conn, "BEGIN", 0, NULL, err, sizeof err), 0);
    int rc = col_inventory_store_apply(&s, agent_id, seq, &b, &n, err, sizeof err);
    cr_assert_eq(rc, 0, "apply: %s (sqlstate %s)", err, s.sqlstate);
    cr_assert_eq(col_db_commit(conn, err, sizeof err), 0, "%s", err);
    return n;
}

static struct col_inventory_counts apply1(uint64_t seq, struct cm_container_inv *c)
{
    struct batch b = {.c = c, .n = 1};
    return apply_at(seq, &b);
}

static struct col_inventory_counts reevaluate(void)
{
    struct col_inventory_store s = {conn, &policy, ""};
    struct col_inventory_counts n = {0};
    char err[512];
    cr_assert_eq(col_inventory_store_reevaluate(&s, &n, err, sizeof err), 0, "%s", err);
    return n;
}

/* Open check ids of a container, sorted, comma-separated ("" when none). */
static char *open_of(const char *cid)
{
    char *v = q("SELECT coalesce(string_agg(f.check_id, ',' ORDER BY f.check_id), '') "
                "FROM findings f JOIN containers c ON c.id = f.container_ref "
                "WHERE c.container_id = $1 AND f.status = 'open'",
                cid);
    return v;
}

static char *open_host(void)
{
    return q("SELECT coalesce(string_agg(check_id, ',' ORDER BY check_id), '') FROM findings "
             "WHERE container_ref IS NULL AND status = 'open'",
             NULL);
}

Test(inventory_store, clean_container_has_no_findings)
{
    struct cm_container_inv c;
    struct col_check_result r[64];
    ctr(&c, CA, "web");
    /* the premise of every other test: nothing to fail on */
    cr_assert_eq(col_checks_eval_container(&c, NULL, &policy, r, 64), 0, "%s", r[0].check->id);
    struct col_inventory_counts n = apply1(1, &c);
    cr_assert_eq(n.stored, 1);
    cr_assert_eq(n.opened, 0);
    cr_assert_str_eq(open_of(CA), "");
    cr_assert_str_eq(q("SELECT name FROM containers WHERE container_id = $1", CA), "web");
    cr_assert_str_eq(q("SELECT image || ' ' || state || ' ' || (doc->>'name') "
                       "FROM container_inventory",
                       NULL),
                     "registry.example.com/app" DIGEST " running web");
    cm_container_inv_free(&c);
}

Test(inventory_store, failing_check_opens_once_across_repeats)
{
    struct cm_container_inv c;
    ctr(&c, CA, "web");
    set_privileged(&c, true);
    struct col_inventory_counts n = apply1(1, &c);
    cr_assert_eq(n.opened, 1);
    cr_assert_str_eq(open_of(CA), "container.privileged");
    cr_assert_str_eq(q("SELECT severity || ' ' || detail FROM findings", NULL),
                     "critical privileged: all capabilities and devices, no confinement");
    char *first = cm_xstrdup(q("SELECT last_seen FROM findings", NULL));
    struct timespec ms = {0, 2000000};
    nanosleep(&ms, NULL);
    for (uint64_t seq = 2; seq <= 4; seq++) {
        n = apply1(seq, &c);
        cr_assert_eq(n.opened + n.resolved, 0, "seq %llu", (unsigned long long)seq);
    }
    cr_assert_eq(qn("SELECT count(*) FROM findings", NULL), 1);
    cr_assert_eq(qn("SELECT count(*) FROM container_inventory", NULL), 1);
    cr_assert_eq(qn("SELECT seq FROM container_inventory", NULL), 4);
    cr_assert_str_eq(q("SELECT (last_seen > $1::timestamptz AND first_seen < last_seen)::text "
                       "FROM findings",
                       first),
                     "true");
    free(first);
    cm_container_inv_free(&c);
}

Test(inventory_store, shares_the_containers_row_with_metrics)
{
    struct cm_container_inv c;
    char err[256];
    cr_assert_eq(col_db_exec(conn,
                             "INSERT INTO containers (agent_id, container_id, runtime, "
                             "cgroup_path, first_seen, last_seen) VALUES (1, '" CA "', "
                             "'docker', '/docker/" CA "', now(), now())",
                             0, NULL, err, sizeof err),
                 0, "%s", err);
    ctr(&c, CA, "web");
    apply1(1, &c);
    cr_assert_eq(qn("SELECT count(*) FROM containers", NULL), 1);
    cr_assert_str_eq(q("SELECT name || ' ' || cgroup_path FROM containers", NULL),
                     "web /docker/" CA);
    cm_container_inv_free(&c);
}

Test(inventory_store, fix_resolves_as_passed_and_a_relapse_opens_a_new_one)
{
    struct cm_container_inv c;
    ctr(&c, CA, "web");
    set_privileged(&c, true);
    apply1(1, &c);
    set_privileged(&c, false);
    struct col_inventory_counts n = apply1(2, &c);
    cr_assert_eq(n.resolved, 1);
    cr_assert_str_eq(open_of(CA), "");
    cr_assert_str_eq(q("SELECT status || ' ' || resolved_reason || ' ' || "
                       "(resolved_at >= last_seen)::text FROM findings",
                       NULL),
                     "resolved passed true");
    set_privileged(&c, true);
    n = apply1(3, &c);
    cr_assert_eq(n.opened, 1);
    cr_assert_eq(qn("SELECT count(*) FROM findings", NULL), 2);
    cr_assert_str_eq(open_of(CA), "container.privileged");
    cm_container_inv_free(&c);
}

Test(inventory_store, a_check_that_cannot_tell_leaves_its_finding_open)
{
    struct cm_container_inv c;
    ctr(&c, CA, "web");
    set_privileged(&c, true);
    apply1(1, &c);
    /* the runtime's config vanished before the cgroup did: nothing known */
    c.known = CM_INV_K_PROCS;
    free(c.image);
    c.image = NULL;
    struct col_inventory_counts n = apply1(2, &c);
    cr_assert_eq(n.resolved, 0);
    cr_assert_str_eq(open_of(CA), "container.privileged");
    cr_assert_str_eq(q("SELECT image FROM container_inventory", NULL),
                     "registry.example.com/app" DIGEST, "the image known before stays");
    /* a config that cannot be read: that finding, the others stay as they were */
    c.known = CM_INV_K_IMAGE | CM_INV_K_PRIVILEGED;
    c.privileged = false;
    c.error = cm_xstrdup("hostconfig.json: truncated");
    n = apply1(3, &c);
    cr_assert_eq(n.opened, 1);
    cr_assert_eq(n.resolved, 0);
    cr_assert_str_eq(open_of(CA), "container.config_unreadable,container.privileged");
    free(c.error);
    c.error = NULL; /* readable again, and fixed */
    n = apply1(4, &c);
    cr_assert_eq(n.resolved, 2);
    cr_assert_str_eq(open_of(CA), "");
    cr_assert_str_eq(q("SELECT string_agg(DISTINCT resolved_reason, ',') FROM findings", NULL),
                     "passed");
    cm_container_inv_free(&c);
}

Test(inventory_store, late_older_envelope_changes_nothing)
{
    struct cm_container_inv c;
    ctr(&c, CA, "web");
    apply1(5, &c);
    set_privileged(&c, true);
    struct col_inventory_counts n = apply1(4, &c);
    cr_assert_eq(n.stale, 1);
    cr_assert_eq(n.stored, 0);
    cr_assert_str_eq(open_of(CA), "");
    cr_assert_str_eq(q("SELECT (doc->>'privileged') IS NULL OR doc->>'privileged' = 'false' "
                       "FROM container_inventory",
                       NULL),
                     "t");
    cm_container_inv_free(&c);
}

Test(inventory_store, gone_state_resolves_and_keeps_the_last_config)
{
    struct cm_container_inv c;
    ctr(&c, CA, "web");
    set_privileged(&c, true);
    apply1(1, &c);
    c.state = CM_INV_STATE_GONE;
    c.known = 0;
    struct col_inventory_counts n = apply1(2, &c);
    cr_assert_eq(n.gone, 1);
    cr_assert_eq(n.resolved, 1);
    cr_assert_str_eq(q("SELECT resolved_reason FROM findings", NULL), "gone");
    cr_assert_str_eq(q("SELECT state || ' ' || (gone_at IS NOT NULL)::text || ' ' || "
                       "(doc->>'privileged') FROM container_inventory",
                       NULL),
                     "gone true true");
    cm_container_inv_free(&c);
}

Test(inventory_store, stopped_container_is_not_audited)
{
    struct cm_container_inv c;
    ctr(&c, CA, "web");
    set_privileged(&c, true);
    apply1(1, &c);
    c.state = CM_INV_STATE_EXITED;
    struct col_inventory_counts n = apply1(2, &c);
    cr_assert_eq(n.resolved, 1);
    cr_assert_eq(n.opened, 0);
    cr_assert_str_eq(q("SELECT resolved_reason FROM findings", NULL), "stopped");
    cr_assert_str_eq(q("SELECT state FROM container_inventory", NULL), "exited");
    c.state = CM_INV_STATE_RUNNING; /* started again: audited again */
    n = apply1(3, &c);
    cr_assert_eq(n.opened, 1);
    cm_container_inv_free(&c);
}

Test(inventory_store, complete_set_marks_the_missing_ones_gone)
{
    struct cm_container_inv c[2];
    ctr(&c[0], CA, "web");
    ctr(&c[1], CB, "db");
    set_privileged(&c[0], true);
    set_privileged(&c[1], true);
    struct batch b = {.c = c, .n = 2};
    apply_at(1, &b);
    cr_assert_eq(qn("SELECT count(*) FROM findings WHERE status = 'open'", NULL), 2);
    /* a full report listing only CA, without records (nothing changed) */
    const char *present[] = {CA};
    struct batch full = {.complete = true, .present = present, .npresent = 1};
    struct col_inventory_counts n = apply_at(2, &full);
    cr_assert_eq(n.gone, 1);
    cr_assert_eq(n.resolved, 1);
    cr_assert_str_eq(open_of(CA), "container.privileged");
    cr_assert_str_eq(open_of(CB), "");
    cr_assert_str_eq(q("SELECT string_agg(c.container_id || '=' || i.state, ',' ORDER BY "
                       "c.container_id) FROM container_inventory i JOIN containers c ON "
                       "c.id = i.container_ref WHERE i.gone_at IS NOT NULL",
                       NULL),
                     CB "=gone");
    cr_assert_str_eq(q("SELECT f.resolved_reason FROM findings f JOIN containers c ON "
                       "c.id = f.container_ref WHERE c.container_id = $1",
                       CB),
                     "gone");
    /* the same complete set again: nothing more */
    n = apply_at(3, &full);
    cr_assert_eq(n.gone + n.resolved + n.opened, 0);
    cm_container_inv_free(&c[0]);
    cm_container_inv_free(&c[1]);
}

/* The store's host findings are exactly what the evaluator says. */
static char *expected_host(const struct cm_host_inv *h)
{
    static char out[1024];
    struct col_check_result r[64];
    size_t n = col_checks_eval_host(h, &policy, r, 64);
    const char *ids[64];
    for (size_t i = 0; i < n; i++)
        ids[i] = r[i].check->id;
    for (size_t i = 1; i < n; i++) /* insertion sort, like ORDER BY check_id */
        for (size_t j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0; j--) {
            const char *t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", i ? "," : "", ids[i]);
    return out;
}

Test(inventory_store, host_findings_open_once_and_resolve)
{
    struct cm_host_inv h;
    host_with(&h, "true", "true");
    struct batch b = {.host = &h};
    struct col_inventory_counts n = apply_at(1, &b);
    cr_assert_str_eq(open_host(), expected_host(&h));
    cr_assert(strstr(open_host(), "host.icc_enabled"), "%s", open_host());
    cr_assert_eq(n.opened, (size_t)qn("SELECT count(*) FROM findings", NULL));
    n = apply_at(2, &b);
    cr_assert_eq(n.opened + n.resolved, 0);
    cm_host_inv_free(&h);
    host_with(&h, "true", "false");
    n = apply_at(3, &b);
    cr_assert_eq(n.resolved, 1);
    cr_assert_str_eq(open_host(), expected_host(&h));
    cr_assert_null(strstr(open_host(), "host.icc_enabled"));
    cr_assert_str_eq(
        q("SELECT resolved_reason FROM findings WHERE check_id = 'host.icc_enabled'", NULL),
        "passed");
    cr_assert_eq(qn("SELECT seq FROM host_inventory", NULL), 3);
    cr_assert_str_eq(q("SELECT doc->>'docker_present' FROM host_inventory", NULL), "true");
    cm_host_inv_free(&h);
}

Test(inventory_store, new_host_defaults_reevaluate_stored_containers)
{
    struct cm_container_inv c;
    struct cm_host_inv h;
    ctr(&c, CA, "web");
    c.known |= CM_INV_K_NNP; /* no-new-privileges not set on the container */
    apply1(1, &c);
    cr_assert_str_eq(open_of(CA), "container.no_new_privileges");
    /* the daemon now defaults to no-new-privileges; only the host part comes */
    host_with(&h, "true", "false");
    struct batch b = {.host = &h};
    apply_at(2, &b);
    cr_assert_str_eq(open_of(CA), "");
    cr_assert_str_eq(q("SELECT resolved_reason FROM findings WHERE check_id = "
                       "'container.no_new_privileges'",
                       NULL),
                     "passed");
    /* the next container record is checked against the stored host part */
    apply1(3, &c);
    cr_assert_str_eq(open_of(CA), "");
    cm_host_inv_free(&h);
    host_with(&h, "false", "false");
    apply_at(4, &b);
    cr_assert_str_eq(open_of(CA), "container.no_new_privileges");
    cm_host_inv_free(&h);
    cm_container_inv_free(&c);
}

Test(inventory_store, policy_change_reevaluates_stored_inventory)
{
    struct cm_container_inv c[2];
    struct cm_strlist allowed = {0};
    char err[256];
    ctr(&c[0], CA, "web");
    ctr(&c[1], CB, "db");
    free(c[1].image);
    c[1].image = cm_xstrdup("docker.io/library/nginx" DIGEST);
    struct batch b = {.c = c, .n = 2};
    apply_at(1, &b);
    cr_assert_eq(qn("SELECT count(*) FROM findings", NULL), 0);
    /* restart with allowed_registries = [registry.example.com] */
    cm_strlist_add(&allowed, "registry.example.com");
    policy.allowed_registries = &allowed;
    struct col_inventory_counts n = reevaluate();
    cr_assert_eq(n.opened, 1);
    cr_assert_eq(n.evaluated, 2);
    cr_assert_str_eq(open_of(CB), "container.untrusted_registry");
    cr_assert_str_eq(open_of(CA), "");
    n = reevaluate(); /* the same policy again: nothing changes */
    cr_assert_eq(n.opened + n.resolved, 0);
    /* a check that left the catalogue, and docker.io allowed too */
    cr_assert_eq(col_db_exec(conn,
                             "INSERT INTO findings (agent_id, container_ref, check_id, severity, "
                             "status, first_seen, last_seen) SELECT 1, id, 'container.retired', "
                             "'low', 'open', now(), now() FROM containers WHERE container_id = '" CA
                             "'",
                             0, NULL, err, sizeof err),
                 0, "%s", err);
    cm_strlist_add(&allowed, "docker.io");
    n = reevaluate();
    cr_assert_eq(n.resolved, 2);
    cr_assert_str_eq(q("SELECT string_agg(check_id || '=' || resolved_reason, ',' ORDER BY "
                       "check_id) FROM findings",
                       NULL),
                     "container.retired=check_removed,container.untrusted_registry=policy");
    cm_strlist_free(&allowed);
    policy.allowed_registries = &no_registries;
    cm_container_inv_free(&c[0]);
    cm_container_inv_free(&c[1]);
}

Test(inventory_store, gone_containers_are_not_reevaluated)
{
    struct cm_container_inv c;
    struct cm_strlist allowed = {0};
    ctr(&c, CB, "db");
    apply1(1, &c);
    c.state = CM_INV_STATE_GONE;
    apply1(2, &c);
    cm_strlist_add(&allowed, "nowhere.example.com");
    policy.allowed_registries = &allowed;
    struct col_inventory_counts n = reevaluate();
    cr_assert_eq(n.evaluated, 0);
    cr_assert_eq(qn("SELECT count(*) FROM findings", NULL), 0);
    cm_strlist_free(&allowed);
    policy.allowed_registries = &no_registries;
    cm_container_inv_free(&c);
}

/* ---- through the writer thread ---------------------------------------- */

static struct tu_ack_count acks;

static void wait_acks(size_t n)
{
    size_t stored = 0, got = tu_ack_count_wait(&acks, n, &stored);
    cr_assert_eq(got, n, "acks");
    cr_assert_eq(stored, n, "every ack is STORED (a duplicate too)");
}

static void push_inventory(struct col_writer *w, uint64_t seq, struct cm_inventory_batch *b)
{
    struct col_writer_item *it = calloc(1, sizeof *it);
    snprintf(it->agent_key, sizeof it->agent_key, "%s", agent.public_z85);
    it->env.version = CM_WIRE_VERSION;
    it->env.seq = seq;
    it->env.sent_ns = cm_time_now_ns();
    it->env.kind = CM_BODY_INVENTORY;
    it->env.body.inventory = *b; /* borrowed: release is NULL */
    cr_assert_eq(col_writer_push(w, it), 0);
}

Test(inventory_store, writer_stores_the_same_envelope_once)
{
    struct col_config cfg;
    struct col_stats stats;
    struct col_writer *w = NULL;
    struct cm_container_inv c;
    char err[256];
    memset(&stats, 0, sizeof stats);
    tu_writer_config(&cfg, conninfo);
    tu_ack_count_init(&acks);
    ctr(&c, CA, "web");
    set_privileged(&c, true);
    struct cm_inventory_batch b = {.collected_ns = cm_time_now_ns(), .containers = &c, .n = 1};
    cr_assert_eq(col_writer_start(&cfg, &stats, tu_ack_count_on_ack, &acks, &w, err, sizeof err), 0, "%s", err);
    push_inventory(w, 7, &b); /* twice in one batch */
    push_inventory(w, 7, &b);
    wait_acks(2);
    push_inventory(w, 7, &b); /* and again after it committed */
    wait_acks(3);
    col_writer_stop(w);
    cr_assert_eq(qn("SELECT count(*) FROM container_inventory", NULL), 1);
    cr_assert_eq(qn("SELECT count(*) FROM findings", NULL), 1);
    cr_assert_str_eq(q("SELECT envelopes_stored || ' ' || duplicates_dropped FROM agents", NULL),
                     "1 2");
    cr_assert_str_eq(open_of(CA), "container.privileged");
    cm_container_inv_free(&c);
}
