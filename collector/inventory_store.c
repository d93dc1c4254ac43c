/* inventory_store.c - inventories in, findings with a lifecycle out (see
 * inventory_store.h).
 *
 * Per container two statements: one upserts the containers row and the
 * inventory (ON CONFLICT ... WHERE seq < new: a late older envelope changes
 * nothing), one diffs the open findings of that container against the
 * failing checks, passed as a jsonb array, in data-modifying CTEs (resolve
 * what passes, refresh what still fails, insert what newly fails). Host
 * findings are the same diff with container_ref NULL. Checks are evaluated
 * here in C (collector/checks.c is pure) so the SQL never needs to know
 * what a check means. It does not decide transactions for the writer, log,
 * or read agents' envelopes beyond the InventoryBatch it is given. */
#include "collector/inventory_store.h"

#include "collector/db.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/timeutil.h"
#include "proto/wire.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COL_INV_PAGE 256 /* containers per re-evaluation page */
#define COL_INV_STR2(x) #x
#define COL_INV_STR(x) COL_INV_STR2(x)

static const char col_inv_upsert_sql[] =
    "WITH c AS ("
    " INSERT INTO containers AS c (agent_id, container_id, runtime, name, cgroup_path, "
    "  first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $6) "
    " ON CONFLICT (agent_id, container_id) DO UPDATE SET name = coalesce(EXCLUDED.name, c.name), "
    "  cgroup_path = coalesce(c.cgroup_path, EXCLUDED.cgroup_path), "
    "  first_seen = least(c.first_seen, EXCLUDED.first_seen), "
    "  last_seen = greatest(c.last_seen, EXCLUDED.last_seen) "
    " RETURNING id) "
    "INSERT INTO container_inventory AS i (container_ref, agent_id, seq, doc, raw, state, image, "
    " first_seen, last_seen, gone_at) "
    "SELECT c.id, $1, $7, $8::jsonb, $9::bytea, $10, $11, $6, $6, "
    " CASE WHEN $10 = 'gone' THEN $6::timestamptz END FROM c "
    /* a gone record keeps the last configuration known, for the API; a
     * container's image never changes, so one not known now is the last one */
    "ON CONFLICT (container_ref) DO UPDATE SET seq = EXCLUDED.seq, state = EXCLUDED.state, "
    " doc = CASE WHEN EXCLUDED.gone_at IS NULL THEN EXCLUDED.doc ELSE i.doc END, "
    " raw = CASE WHEN EXCLUDED.gone_at IS NULL THEN EXCLUDED.raw ELSE i.raw END, "
    " image = coalesce(EXCLUDED.image, i.image), "
    " last_seen = greatest(i.last_seen, EXCLUDED.last_seen), gone_at = EXCLUDED.gone_at "
    "WHERE i.seq < EXCLUDED.seq "
    "RETURNING container_ref";

/* $1 agent, $2 container ref (NULL: host), $3 failing checks
 * [{check_id, severity, detail}], $4 time, $5 reason for what passes, $6
 * the checks that passed (jsonb array; NULL: every check not failing). */
static const char col_inv_diff_sql[] =
    "WITH f AS (SELECT * FROM jsonb_to_recordset($3::jsonb) "
    "  AS f(check_id text, severity text, detail text)), "
    "cur AS (SELECT id, check_id FROM findings WHERE agent_id = $1 "
    "  AND coalesce(container_ref, 0) = coalesce($2::bigint, 0) AND status = 'open'), "
    "res AS (UPDATE findings x SET status = 'resolved', resolved_reason = $5, "
    "  resolved_at = greatest(x.last_seen, $4::timestamptz) FROM cur "
    "  WHERE x.id = cur.id AND cur.check_id NOT IN (SELECT check_id FROM f) "
    "  AND ($6::jsonb IS NULL OR cur.check_id IN (SELECT jsonb_array_elements_text($6::jsonb))) "
    "  RETURNING 1), "
    "upd AS (UPDATE findings x SET last_seen = greatest(x.last_seen, $4::timestamptz), "
    "  severity = f.severity, detail = f.detail FROM cur JOIN f USING (check_id) "
    "  WHERE x.id = cur.id RETURNING 1), "
    "ins AS (INSERT INTO findings (agent_id, container_ref, check_id, severity, status, detail, "
    "  first_seen, last_seen) SELECT $1, $2, f.check_id, f.severity, 'open', f.detail, $4, $4 "
    "  FROM f WHERE f.check_id NOT IN (SELECT check_id FROM cur) RETURNING 1) "
    "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM res)";

/* $1 agent, $2 seq, $3 present ids (jsonb array), $4 time. The containers
 * of this very batch have seq $2 and are never marked here. */
static const char col_inv_gone_sql[] =
    "WITH g AS (UPDATE container_inventory i SET gone_at = $4::timestamptz, state = 'gone', "
    "  seq = $2 FROM containers c WHERE c.id = i.container_ref AND i.agent_id = $1 "
    "  AND i.gone_at IS NULL AND i.seq < $2 "
    "  AND c.container_id NOT IN (SELECT jsonb_array_elements_text($3::jsonb)) "
    "  RETURNING i.container_ref), "
    "r AS (UPDATE findings f SET status = 'resolved', resolved_reason = 'gone', "
    "  resolved_at = greatest(f.last_seen, $4::timestamptz) FROM g "
    "  WHERE f.container_ref = g.container_ref AND f.status = 'open' RETURNING 1) "
    "SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM r)";

static const char col_inv_host_sql[] =
    "INSERT INTO host_inventory AS h (agent_id, seq, doc, raw, updated_at) "
    "VALUES ($1, $2, $3::jsonb, $4::bytea, $5) "
    "ON CONFLICT (agent_id) DO UPDATE SET seq = EXCLUDED.seq, doc = EXCLUDED.doc, "
    " raw = EXCLUDED.raw, updated_at = EXCLUDED.updated_at WHERE h.seq < EXCLUDED.seq "
    "RETURNING agent_id";

/* Current containers after (agent, ref); $3 NULL: every agent, else only
 * agent $3's containers stored before seq $4. */
static const char col_inv_page_sql[] =
    "SELECT agent_id, container_ref, raw FROM container_inventory "
    "WHERE gone_at IS NULL AND (agent_id, container_ref) > ($1::bigint, $2::bigint) "
    " AND ($3::bigint IS NULL OR (agent_id = $3 AND seq < $4::bigint)) "
    "ORDER BY agent_id, container_ref LIMIT " COL_INV_STR(COL_INV_PAGE);

/* What one call works with. */
struct col_inv_run {
    struct col_inventory_store *s;
    struct col_inventory_counts *counts;
    int64_t agent_id;
    char agent[24];
    char ts[40];                    /* time of this inventory (or of the re-evaluation) */
    const struct cm_host_inv *host; /* for the container checks; may be NULL */
    struct col_check_result *res;   /* col_checks_count() entries */
    enum col_check_answer *answers; /* col_checks_count() entries */
    size_t max;
    char *err;
    size_t errlen;
};

static int col_inv_sql(struct col_inv_run *r, const char *sql, int n, const char *const *p,
                       const int *lens, const int *fmts, PGresult **out)
{
    return col_db_statement(r->s->conn, sql, n, p, lens, fmts, out, r->s->sqlstate, "inventory", r->err,
                      r->errlen);
}

/* A record the codec will not encode is this envelope's fault, like data
 * PostgreSQL refuses: SQLSTATE 22000 lets the writer reject only it. */
static void col_inv_data_fault(struct col_inv_run *r)
{
    snprintf(r->s->sqlstate, sizeof r->s->sqlstate, "22000");
}

/* Adds the two counts a statement selected (column 0 to *a, 1 to *b). */
static void col_inv_add2(const PGresult *res, size_t *a, size_t *b)
{
    if (PQntuples(res) != 1) return;
    *a += strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    *b += strtoull(PQgetvalue(res, 0, 1), NULL, 10);
}

/* A check's detail as valid UTF-8 (the checks cut it at a byte count). */
static void col_inv_detail(const char *d, char *out, size_t outlen)
{
    size_t n = strnlen(d, outlen - 1);
    for (int cut = 0; cut < 4 && n > 0 && cm_wire_check_utf8(d, n) < 0; cut++)
        n--;
    if (cm_wire_check_utf8(d, n) < 0) n = 0;
    memcpy(out, d, n);
    out[n] = '\0';
}

static char *col_inv_failures_json(const struct col_check_result *res, size_t n)
{
    char detail[COL_CHECK_DETAIL_MAX];
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        col_inv_detail(res[i].detail, detail, sizeof detail);
        cJSON_AddItemToArray(a, o);
        if (!cJSON_AddStringToObject(o, "check_id", res[i].check->id) ||
            !cJSON_AddStringToObject(o, "severity", col_severity_name(res[i].check->severity)) ||
            !cJSON_AddStringToObject(o, "detail", detail)) {
            cJSON_Delete(a);
            return NULL;
        }
    }
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return text;
}

/* The ids of the checks that answered PASS, as a jsonb array text. */
static char *col_inv_passed_json(const enum col_check_answer *answers, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        if (answers[i] == COL_CHECK_PASS &&
            !cJSON_AddItemToArray(a, cJSON_CreateString(col_checks_at(i)->id))) {
            cJSON_Delete(a);
            return NULL;
        }
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return text;
}

/* Opens or refreshes a finding for each of res[0..n) of (agent, ref), ref
 * 0 = the host, and resolves the other open ones with `reason`: those whose
 * check answered PASS, or all of them when answers is NULL (gone, stopped).
 * A check that could not tell leaves its finding as it was. */
static int col_inv_diff(struct col_inv_run *r, int64_t ref, const struct col_check_result *res,
                        size_t n, const enum col_check_answer *answers, const char *reason)
{
    PGresult *out = NULL;
    char refs[24];
    char *failing = col_inv_failures_json(res, n);
    char *passed = answers ? col_inv_passed_json(answers, r->max) : NULL;
    int rc = 0;
    if (!failing || (answers && !passed)) {
        snprintf(r->err, r->errlen, "inventory: out of memory");
        rc = -ENOMEM;
        goto out;
    }
    snprintf(refs, sizeof refs, "%" PRId64, ref);
    const char *const p[] = {r->agent, ref ? refs : NULL, failing, r->ts, reason, passed};
    rc = col_inv_sql(r, col_inv_diff_sql, 6, p, NULL, NULL, &out);
    if (rc == 0) col_inv_add2(out, &r->counts->opened, &r->counts->resolved);
    r->counts->evaluated++;
out:
    PQclear(out);
    free(passed);
    free(failing);
    return rc;
}

/* Evaluates one container (as stored at ref) and diffs its findings. */
static int col_inv_judge_container(struct col_inv_run *r, int64_t ref,
                                   const struct cm_container_inv *c, const char *pass_reason)
{
    if (c->state == CM_INV_STATE_GONE) return col_inv_diff(r, ref, NULL, 0, NULL, "gone");
    if (!col_checks_applies_to_state(c->state))
        return col_inv_diff(r, ref, NULL, 0, NULL, "stopped");
    size_t n =
        col_checks_eval_container_answers(c, r->host, r->s->policy, r->res, r->max, r->answers);
    return col_inv_diff(r, ref, r->res, n < r->max ? n : r->max, r->answers, pass_reason);
}

static int col_inv_judge_host(struct col_inv_run *r, const struct cm_host_inv *h,
                              const char *pass_reason)
{
    size_t n = col_checks_eval_host_answers(h, r->s->policy, r->res, r->max, r->answers);
    return col_inv_diff(r, 0, r->res, n < r->max ? n : r->max, r->answers, pass_reason);
}

static char *col_inv_json_text(cJSON *doc)
{
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    return text;
}

/* Stores c; *ref is its containers.id when it was newer than what is
 * stored, 0 when it was stale. */
static int col_inv_store_container(struct col_inv_run *r, uint64_t seq,
                                   const struct cm_container_inv *c, int64_t *ref)
{
    PGresult *out = NULL;
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    char seqs[24];
    char *doc = col_inv_json_text(cm_container_inv_to_json(c));
    int rc = doc ? cm_wire_encode_container_inv(c, &raw, &rawlen) : -ENOMEM;
    if (rc < 0) {
        snprintf(r->err, r->errlen, "inventory of %.64s: cannot encode: %s", c->id, cm_err_str(rc));
        col_inv_data_fault(r);
        goto out;
    }
    snprintf(seqs, sizeof seqs, "%" PRIu64, seq);
    const char *const p[] = {r->agent,
                             c->id,
                             cm_runtime_name(c->runtime),
                             c->name,
                             c->cgroup_path,
                             r->ts,
                             seqs,
                             doc,
                             (const char *)raw,
                             cm_inv_state_name(c->state),
                             c->image};
    const int lens[11] = {[8] = (int)rawlen};
    const int fmts[11] = {[8] = 1};
    rc = col_inv_sql(r, col_inv_upsert_sql, 11, p, lens, fmts, &out);
    if (rc < 0) goto out;
    *ref = PQntuples(out) == 1 ? strtoll(PQgetvalue(out, 0, 0), NULL, 10) : 0;
out:
    PQclear(out);
    free(raw);
    free(doc);
    return rc;
}

/* The host part as a stored record: an Envelope holding only it. */
static int col_inv_store_host(struct col_inv_run *r, uint64_t seq, int64_t ts_ns,
                              const struct cm_host_inv *h, bool *applied)
{
    PGresult *out = NULL;
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    char seqs[24];
    struct cm_envelope e = {
        .version = CM_WIRE_VERSION, .seq = seq, .sent_ns = ts_ns, .kind = CM_BODY_INVENTORY};
    e.body.inventory.collected_ns = ts_ns;
    e.body.inventory.host = (struct cm_host_inv *)h; /* borrowed; encode does not write */
    char *doc = col_inv_json_text(cm_host_inv_to_json(h));
    int rc = doc ? cm_wire_encode_envelope(&e, &raw, &rawlen) : -ENOMEM;
    if (rc < 0) {
        snprintf(r->err, r->errlen, "host inventory: cannot encode: %s", cm_err_str(rc));
        col_inv_data_fault(r);
        goto out;
    }
    snprintf(seqs, sizeof seqs, "%" PRIu64, seq);
    const char *const p[] = {r->agent, seqs, doc, (const char *)raw, r->ts};
    const int lens[5] = {[3] = (int)rawlen};
    const int fmts[5] = {[3] = 1};
    rc = col_inv_sql(r, col_inv_host_sql, 5, p, lens, fmts, &out);
    if (rc == 0) *applied = PQntuples(out) == 1;
out:
    PQclear(out);
    free(raw);
    free(doc);
    return rc;
}

/* A bytea cell of a text result (hex form) as bytes; *out is the
 * caller's (PQfreemem). */
static int col_inv_cell_bytes(const PGresult *res, int row, int col, uint8_t **out, size_t *len)
{
    *out = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), len);
    return *out ? 0 : -ENOMEM;
}

/* The agent's stored host part into *env (zeroed when there is none or it
 * no longer decodes); release with cm_wire_envelope_close. */
static int col_inv_load_host(struct col_inv_run *r, int64_t agent_id, struct cm_envelope *env)
{
    PGresult *out = NULL;
    uint8_t *raw = NULL;
    size_t len = 0;
    char id[24];
    enum cm_wire_reason why;
    memset(env, 0, sizeof *env);
    snprintf(id, sizeof id, "%" PRId64, agent_id);
    const char *const p[] = {id};
    int rc = col_inv_sql(r, "SELECT raw FROM host_inventory WHERE agent_id = $1", 1, p, NULL, NULL,
                         &out);
    if (rc == 0 && PQntuples(out) == 1) rc = col_inv_cell_bytes(out, 0, 0, &raw, &len);
    if (rc == 0 && raw && cm_wire_decode_envelope(raw, len, env, &why, NULL, 0) < 0)
        r->counts->skipped++;
    if (rc == -ENOMEM) snprintf(r->err, r->errlen, "inventory: out of memory");
    PQfreemem(raw);
    PQclear(out);
    return rc;
}

static const struct cm_host_inv *col_inv_env_host(const struct cm_envelope *env)
{
    return env->kind == CM_BODY_INVENTORY ? env->body.inventory.host : NULL;
}

/* Marks gone every current container of the agent missing from b's
 * complete set, and resolves their findings. */
static int col_inv_mark_missing(struct col_inv_run *r, uint64_t seq,
                                const struct cm_inventory_batch *b)
{
    PGresult *out = NULL;
    char seqs[24];
    char *present = NULL;
    cJSON *ids = cJSON_CreateArray();
    for (size_t i = 0; ids && i < b->n_present; i++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(b->present_ids[i]));
    present = col_inv_json_text(ids);
    if (!present) {
        snprintf(r->err, r->errlen, "inventory: out of memory");
        return -ENOMEM;
    }
    snprintf(seqs, sizeof seqs, "%" PRIu64, seq);
    const char *const p[] = {r->agent, seqs, present, r->ts};
    int rc = col_inv_sql(r, col_inv_gone_sql, 4, p, NULL, NULL, &out);
    if (rc == 0) col_inv_add2(out, &r->counts->gone, &r->counts->resolved);
    PQclear(out);
    free(present);
    return rc;
}

static void col_inv_set_agent(struct col_inv_run *r, int64_t agent_id)
{
    r->agent_id = agent_id;
    snprintf(r->agent, sizeof r->agent, "%" PRId64, agent_id);
}

/* ts_ns: when the agent collected it; never later than now (a skewed agent
 * clock must not date findings in the future). 0 = now. */
static void col_inv_run_init(struct col_inv_run *r, struct col_inventory_store *s,
                             struct col_inventory_counts *counts, int64_t ts_ns, char *err,
                             size_t errlen)
{
    int64_t now = cm_time_now_ns();
    memset(r, 0, sizeof *r);
    r->s = s;
    r->counts = counts;
    r->err = err;
    r->errlen = errlen;
    if (ts_ns <= 0 || ts_ns > now || cm_time_format_rfc3339(ts_ns, r->ts, sizeof r->ts) < 0)
        cm_time_format_rfc3339(now, r->ts, sizeof r->ts);
    r->max = col_checks_count();
    r->res = cm_xcalloc(r->max ? r->max : 1, sizeof *r->res);
    r->answers = cm_xcalloc(r->max ? r->max : 1, sizeof *r->answers);
    s->sqlstate[0] = '\0';
    err[0] = '\0';
}

static void col_inv_run_close(struct col_inv_run *r)
{
    free(r->answers);
    free(r->res);
}

/* Re-evaluates the stored container of row `row` (agent, ref, raw). */
static int col_inv_reeval_one(struct col_inv_run *r, const PGresult *res, int row,
                              const char *reason)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    char why[128];
    struct cm_container_inv c;
    memset(&c, 0, sizeof c);
    int64_t ref = strtoll(PQgetvalue(res, row, 1), NULL, 10);
    int rc = col_inv_cell_bytes(res, row, 2, &raw, &len);
    if (rc < 0)
        snprintf(r->err, r->errlen, "inventory: out of memory");
    else if (cm_wire_decode_container_inv(raw, len, &c, why, sizeof why) < 0)
        r->counts->skipped++;
    else
        rc = col_inv_judge_container(r, ref, &c, reason);
    cm_container_inv_free(&c);
    PQfreemem(raw);
    return rc;
}

/* Re-evaluates one page of stored current containers after
 * (*agent, *ref): of every agent (only_agent NULL, each with its own stored
 * host part), or of r's agent stored before seq `before` (with r->host).
 * *more is false after the last page. */
static int col_inv_reeval_page(struct col_inv_run *r, bool only_agent, const char *before,
                               int64_t *agent, int64_t *ref, const char *reason, bool *more)
{
    PGresult *out = NULL;
    struct cm_envelope henv;
    char a[24], c[24];
    memset(&henv, 0, sizeof henv);
    snprintf(a, sizeof a, "%" PRId64, *agent);
    snprintf(c, sizeof c, "%" PRId64, *ref);
    const char *const p[] = {a, c, only_agent ? r->agent : NULL, before};
    int rc = col_inv_sql(r, col_inv_page_sql, 4, p, NULL, NULL, &out);
    int n = rc == 0 ? PQntuples(out) : 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int64_t row_agent = strtoll(PQgetvalue(out, i, 0), NULL, 10);
        if (!only_agent && (i == 0 || row_agent != r->agent_id)) {
            cm_wire_envelope_close(&henv);
            col_inv_set_agent(r, row_agent);
            rc = col_inv_load_host(r, row_agent, &henv);
            r->host = col_inv_env_host(&henv);
        }
        if (rc == 0) rc = col_inv_reeval_one(r, out, i, reason);
        *agent = row_agent;
        *ref = strtoll(PQgetvalue(out, i, 1), NULL, 10);
    }
    *more = rc == 0 && n == COL_INV_PAGE;
    if (!only_agent) r->host = NULL; /* henv goes now */
    cm_wire_envelope_close(&henv);
    PQclear(out);
    return rc;
}

static int col_inv_apply_container(struct col_inv_run *r, uint64_t seq,
                                   const struct cm_container_inv *c)
{
    int64_t ref = 0;
    int rc = col_inv_store_container(r, seq, c, &ref);
    if (rc < 0) return rc;
    if (ref == 0) {
        r->counts->stale++;
        return 0;
    }
    r->counts->stored++;
    if (c->state == CM_INV_STATE_GONE) r->counts->gone++;
    return col_inv_judge_container(r, ref, c, "passed");
}

/* A new host part changes daemon-wide defaults the container checks read:
 * re-evaluate the agent's containers this batch did not carry. */
static int col_inv_reeval_agent(struct col_inv_run *r, uint64_t seq)
{
    char before[24];
    int64_t agent = r->agent_id, ref = 0;
    bool more = true;
    int rc = 0;
    snprintf(before, sizeof before, "%" PRIu64, seq);
    while (rc == 0 && more)
        rc = col_inv_reeval_page(r, true, before, &agent, &ref, "passed", &more);
    return rc;
}

int col_inventory_store_apply(struct col_inventory_store *s, int64_t agent_id, uint64_t seq,
                              const struct cm_inventory_batch *b,
                              struct col_inventory_counts *counts, char *err, size_t errlen)
{
    struct col_inv_run r;
    struct cm_envelope henv;
    bool host_new = false;
    int rc = 0;
    memset(&henv, 0, sizeof henv);
    col_inv_run_init(&r, s, counts, b->collected_ns, err, errlen);
    col_inv_set_agent(&r, agent_id);
    if (b->host) rc = col_inv_store_host(&r, seq, b->collected_ns, b->host, &host_new);
    if (rc == 0 && host_new) {
        r.host = b->host;
        rc = col_inv_judge_host(&r, b->host, "passed");
    } else if (rc == 0 && b->n > 0) {
        rc = col_inv_load_host(&r, agent_id, &henv); /* a stale b->host is not the latest */
        r.host = col_inv_env_host(&henv);
    }
    for (size_t i = 0; i < b->n && rc == 0; i++)
        rc = col_inv_apply_container(&r, seq, &b->containers[i]);
    if (rc == 0 && b->complete) rc = col_inv_mark_missing(&r, seq, b);
    if (rc == 0 && host_new) rc = col_inv_reeval_agent(&r, seq);
    cm_wire_envelope_close(&henv);
    col_inv_run_close(&r);
    return rc;
}

/* Open findings of checks the catalogue no longer has. */
static int col_inv_resolve_removed(struct col_inv_run *r)
{
    PGresult *out = NULL;
    cJSON *ids = cJSON_CreateArray();
    for (size_t i = 0; ids && i < col_checks_count(); i++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(col_checks_at(i)->id));
    char *known = col_inv_json_text(ids);
    if (!known) {
        snprintf(r->err, r->errlen, "inventory: out of memory");
        return -ENOMEM;
    }
    const char *const p[] = {known, r->ts};
    int rc = col_inv_sql(r,
                         "WITH x AS (UPDATE findings SET status = 'resolved', resolved_reason = "
                         "'check_removed', resolved_at = greatest(last_seen, $2::timestamptz) "
                         "WHERE status = 'open' AND check_id NOT IN "
                         "(SELECT jsonb_array_elements_text($1::jsonb)) RETURNING 1) "
                         "SELECT count(*) FROM x",
                         2, p, NULL, NULL, &out);
    if (rc == 0 && PQntuples(out) == 1)
        r->counts->resolved += strtoull(PQgetvalue(out, 0, 0), NULL, 10);
    PQclear(out);
    free(known);
    return rc;
}

/* Every stored host part, under the current policy. */
static int col_inv_reeval_hosts(struct col_inv_run *r)
{
    PGresult *out = NULL;
    int rc = col_inv_sql(r, "SELECT agent_id, raw FROM host_inventory ORDER BY agent_id", 0, NULL,
                         NULL, NULL, &out);
    for (int i = 0; rc == 0 && i < PQntuples(out); i++) {
        uint8_t *raw = NULL;
        size_t len = 0;
        struct cm_envelope env;
        enum cm_wire_reason why;
        memset(&env, 0, sizeof env);
        col_inv_set_agent(r, strtoll(PQgetvalue(out, i, 0), NULL, 10));
        rc = col_inv_cell_bytes(out, i, 1, &raw, &len);
        if (rc < 0)
            snprintf(r->err, r->errlen, "inventory: out of memory");
        else if (cm_wire_decode_envelope(raw, len, &env, &why, NULL, 0) < 0 ||
                 !col_inv_env_host(&env))
            r->counts->skipped++;
        else
            rc = col_inv_judge_host(r, col_inv_env_host(&env), "policy");
        cm_wire_envelope_close(&env);
        PQfreemem(raw);
    }
    PQclear(out);
    return rc;
}

static int col_inv_begin(struct col_inv_run *r)
{
    return col_inv_sql(r, "BEGIN", 0, NULL, NULL, NULL, NULL);
}

int col_inventory_store_reevaluate(struct col_inventory_store *s,
                                   struct col_inventory_counts *counts, char *err, size_t errlen)
{
    struct col_inv_run r;
    int64_t agent = 0, ref = 0;
    bool more = true;
    col_inv_run_init(&r, s, counts, 0, err, errlen);
    int rc = col_inv_begin(&r);
    if (rc == 0) rc = col_inv_resolve_removed(&r);
    if (rc == 0) rc = col_inv_reeval_hosts(&r);
    if (rc == 0) rc = col_db_commit(s->conn, err, errlen);
    /* One transaction per page: a large fleet never holds one long one. */
    while (rc == 0 && more) {
        rc = col_inv_begin(&r);
        if (rc == 0) rc = col_inv_reeval_page(&r, false, NULL, &agent, &ref, "policy", &more);
        if (rc == 0) rc = col_db_commit(s->conn, err, errlen);
    }
    if (rc < 0) col_db_rollback(s->conn);
    col_inv_run_close(&r);
    return rc;
}
