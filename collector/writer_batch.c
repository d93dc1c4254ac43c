/* writer_batch.c - the SQL of one writer batch (see writer_int.h).
 *
 * Per agent: lock its row (FOR UPDATE); drop seqs below its spool floor and
 * repeats inside the batch; record the rest in agent_seqs (ON CONFLICT DO
 * NOTHING RETURNING tells which are new: the others were stored before, in
 * any order, maybe before a restart); apply the new Hello/Heartbeat bodies,
 * store InventoryBatch bodies and their findings (inventory_store.c),
 * EventBatch and PolicyAck bodies (event_store.c),
 * upsert containers in one statement over unnest() arrays, prune agent_seqs
 * below the floor, add the agent's counters. Then one COPY of every sample
 * row of the batch. All of it is one transaction, so the dedup state and
 * the data commit together or not at all. It does not retry, sleep or ack;
 * writer.c does. */
#include "collector/writer_int.h"

#include "collector/db.h"
#include "collector/event_store.h"
#include "collector/inventory_store.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COL_BUF_MAX (256u * 1024 * 1024)
#define COL_COPY_CHUNK (1u << 20)
#define NS_PER_DAY (86400 * CM_NS_PER_SEC)

static const char col_upsert_sql[] =
    "INSERT INTO containers AS c (agent_id, container_id, runtime, cgroup_path, first_seen, "
    "last_seen) "
    "SELECT $1, u.cid, u.rt, nullif(u.path, ''), u.fs, u.ls FROM unnest($2::text[], $3::text[], "
    "$4::text[], $5::timestamptz[], $6::timestamptz[]) AS u(cid, rt, path, fs, ls) "
    "ON CONFLICT (agent_id, container_id) DO UPDATE SET runtime = EXCLUDED.runtime, "
    "cgroup_path = coalesce(EXCLUDED.cgroup_path, c.cgroup_path), "
    "first_seen = least(c.first_seen, EXCLUDED.first_seen), "
    "last_seen = greatest(c.last_seen, EXCLUDED.last_seen) "
    "RETURNING id, container_id";

static void col_batch_note_state(struct col_writer_db *db, const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s", s ? s : "");
}

/* Keeps the SQLSTATE of a failure so writer.c can tell data PostgreSQL
 * refuses from a database that is unwell. */
static int col_batch_sql(struct col_writer_db *db, const char *sql, int n,
                         const char *const *params, PGresult **out, char *err, size_t errlen)
{
    return col_db_statement(db->conn, sql, n, params, NULL, NULL, out, db->sqlstate, "database", err,
                      errlen);
}

void col_writer_db_init(struct col_writer_db *db, const struct col_config *cfg)
{
    struct cm_buf sql;
    memset(db, 0, sizeof *db);
    db->cfg = cfg;
    cm_buf_init(&db->buf, COL_BUF_MAX);
    /* The column list comes from the field table, so a new field needs only
     * a migration, not an edit here. */
    cm_buf_init(&sql, 4096);
    cm_buf_append_str(&sql, "COPY container_samples (ts, container_ref");
    for (int f = 0; f < CM_F__COUNT; f++)
        cm_buf_printf(&sql, ", %s", cm_fields[f].name);
    cm_buf_append_str(&sql, ") FROM STDIN");
    db->copy_sql = cm_buf_steal(&sql, NULL);
}

void col_writer_db_close(struct col_writer_db *db)
{
    PQfinish(db->conn);
    db->conn = NULL;
    cm_buf_close(&db->buf);
    free(db->copy_sql);
    db->copy_sql = NULL;
}

static int64_t col_day_of(int64_t ns)
{
    int64_t d = ns / NS_PER_DAY;
    return (ns < 0 && ns % NS_PER_DAY) ? d - 1 : d;
}

static void col_day_text(int64_t day, char out[16])
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static bool col_day_known(const struct col_writer_db *db, const struct col_batch *b, int64_t d)
{
    for (size_t i = 0; i < db->ndays; i++)
        if (db->days[i] == d) return true;
    for (size_t i = 0; i < b->nnew_days; i++)
        if (b->new_days[i] == d) return true;
    return false;
}

/* The partitions of the day of ns, unless this writer made or saw them;
 * remembered in b->new_days until the commit. */
static int col_batch_ensure_day(struct col_writer_db *db, struct col_batch *b, int64_t ns,
                                char *err, size_t errlen)
{
    int64_t d = col_day_of(ns);
    if (col_day_known(db, b, d)) return 0;
    char day[16];
    col_day_text(d, day);
    const char *const params[] = {day};
    int rc = col_batch_sql(db, "SELECT boxwatch_ensure_partitions($1::date, 1)", 1, params, NULL,
                           err, errlen);
    if (rc == 0 && b->nnew_days < sizeof b->new_days / sizeof b->new_days[0])
        b->new_days[b->nnew_days++] = d;
    return rc;
}

/* Partitions for every day among the sample rows. */
static int col_batch_partitions(struct col_writer_db *db, struct col_batch *b, char *err,
                                size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < b->nrows && rc == 0; i++)
        rc = col_batch_ensure_day(db, b, b->rows[i].s->ts_ns, err, errlen);
    return rc;
}

int col_writer_batch_ensure_ahead(struct col_writer_db *db, char *err, size_t errlen)
{
    int rc = col_db_exec(db->conn,
                         "SELECT boxwatch_ensure_partitions((now() AT TIME ZONE 'UTC')::date, 3)",
                         0, NULL, err, errlen);
    /* hourly too: event keys older than any resend */
    return rc == 0 ? col_event_store_prune(db->conn, COL_EVENT_KEYS_KEEP_S, err, errlen) : rc;
}

/* Appends a quoted element of a PostgreSQL array literal. */
static int col_array_elem(struct cm_buf *b, const char *s, bool first)
{
    int rc = cm_buf_append_str(b, first ? "\"" : ",\"");
    for (const char *p = s; rc == 0 && *p; p++) {
        if (*p == '"' || *p == '\\') rc = cm_buf_append(b, "\\", 1);
        if (rc == 0) rc = cm_buf_append(b, p, 1);
    }
    return rc == 0 ? cm_buf_append(b, "\"", 1) : rc;
}

static int col_cmp_sample_cid(const void *a, const void *b)
{
    const struct col_writer_row *x = a, *y = b;
    int c = strcmp(x->s->container_id, y->s->container_id);
    if (c) return c;
    return x->s->ts_ns < y->s->ts_ns ? -1 : x->s->ts_ns > y->s->ts_ns;
}

struct col_groups {
    struct cm_buf arr[5]; /* cid, runtime, path, first_seen, last_seen */
    size_t *start;        /* index of each container's first row */
    size_t n;
};

/* rows[from..to) sorted by container id -> one array element per container. */
static int col_groups_build(struct col_batch *b, size_t from, size_t to, struct col_groups *g)
{
    int rc = 0;
    g->start = cm_xcalloc(to - from, sizeof *g->start);
    for (int a = 0; a < 5; a++)
        cm_buf_init(&g->arr[a], COL_BUF_MAX), cm_buf_append(&g->arr[a], "{", 1);
    for (size_t i = from; i < to && rc == 0;) {
        size_t j = i;
        while (j < to && strcmp(b->rows[j].s->container_id, b->rows[i].s->container_id) == 0)
            j++;
        const struct cm_sample *first = b->rows[i].s, *last = b->rows[j - 1].s;
        char t0[40], t1[40];
        cm_time_format_rfc3339(first->ts_ns, t0, sizeof t0);
        cm_time_format_rfc3339(last->ts_ns, t1, sizeof t1);
        bool f = g->n == 0;
        rc = col_array_elem(&g->arr[0], first->container_id, f);
        rc = rc ? rc : col_array_elem(&g->arr[1], cm_runtime_name(last->runtime), f);
        rc = rc ? rc : col_array_elem(&g->arr[2], last->cgroup_path, f);
        rc = rc ? rc : col_array_elem(&g->arr[3], t0, f);
        rc = rc ? rc : col_array_elem(&g->arr[4], t1, f);
        g->start[g->n++] = i;
        i = j;
    }
    for (int a = 0; a < 5 && rc == 0; a++)
        rc = cm_buf_append(&g->arr[a], "}", 1);
    return rc;
}

static void col_groups_free(struct col_groups *g)
{
    for (int a = 0; a < 5; a++)
        cm_buf_close(&g->arr[a]);
    free(g->start);
}

/* Sets rows[...].ref of the container named cid from the upsert's result. */
static void col_groups_assign(struct col_batch *b, size_t to, const struct col_groups *g,
                              const char *cid, int64_t id)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(b->rows[g->start[mid]].s->container_id, cid);
        if (c == 0) {
            size_t end = mid + 1 < g->n ? g->start[mid + 1] : to;
            for (size_t i = g->start[mid]; i < end; i++)
                b->rows[i].ref = id;
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
}

static int col_batch_upsert(struct col_writer_db *db, struct col_batch *b, int64_t agent_id,
                            size_t from, size_t to, char *err, size_t errlen)
{
    struct col_groups g = {0};
    PGresult *res = NULL;
    char idbuf[24];
    if (from == to) return 0;
    qsort(b->rows + from, to - from, sizeof *b->rows, col_cmp_sample_cid);
    int rc = col_groups_build(b, from, to, &g);
    if (rc < 0) {
        snprintf(err, errlen, "container list too big");
        goto out;
    }
    snprintf(idbuf, sizeof idbuf, "%" PRId64, agent_id);
    const char *const params[] = {idbuf,         g.arr[0].data, g.arr[1].data,
                                  g.arr[2].data, g.arr[3].data, g.arr[4].data};
    rc = col_batch_sql(db, col_upsert_sql, 6, params, &res, err, errlen);
    if (rc < 0) goto out;
    for (int r = 0; r < PQntuples(res); r++)
        col_groups_assign(b, to, &g, PQgetvalue(res, r, 1),
                          strtoll(PQgetvalue(res, r, 0), NULL, 10));
out:
    PQclear(res);
    col_groups_free(&g);
    return rc;
}

/* Appends the agent's samples that are neither too old nor too far ahead. */
static void col_batch_add_rows(const struct col_writer_db *db, struct col_batch *b,
                               const struct cm_metric_batch *m, int64_t now_ns)
{
    int64_t max_age = (int64_t)db->cfg->max_sample_age_ms * 1000000;
    int64_t max_skew = (int64_t)db->cfg->max_clock_skew_ms * 1000000;
    for (size_t k = 0; k < m->n; k++) {
        const struct cm_sample *s = &m->samples[k];
        if (s->ts_ns < now_ns - max_age || s->ts_ns > now_ns + max_skew) {
            b->dropped++;
            continue;
        }
        if (b->nrows == b->rows_cap) {
            b->rows_cap = b->rows_cap ? b->rows_cap * 2 : 256;
            b->rows = cm_xrealloc(b->rows, b->rows_cap * sizeof *b->rows);
        }
        b->rows[b->nrows++] = (struct col_writer_row){s, 0};
    }
}

/* A bigint parameter; counters above 2^63-1 are clamped like sample values. */
static void col_i64_text(char out[24], uint64_t v)
{
    snprintf(out, 24, "%" PRIu64, v > INT64_MAX ? (uint64_t)INT64_MAX : v);
}

/* in[0..n) as text parameters p[0..n), stored in v. */
static void col_i64_params(const uint64_t *in, size_t n, char (*v)[24], const char **p)
{
    for (size_t i = 0; i < n; i++) {
        col_i64_text(v[i], in[i]);
        p[i] = v[i];
    }
}

/* Only a Hello newer than the one stored applies: an old one resent late
 * must not roll the host facts back. */
static int col_batch_hello(struct col_writer_db *db, const char *id, uint64_t seq,
                           const struct cm_hello *h, char *err, size_t errlen)
{
    char sq[24];
    col_i64_text(sq, seq);
    const char *const p[] = {id,
                             h->hostname,
                             h->machine_id,
                             h->kernel,
                             cm_cgroup_mode_name(h->cgroup_mode),
                             h->agent_version,
                             sq};
    return col_batch_sql(db,
                         "UPDATE agents SET hostname = $2, machine_id = nullif($3, ''), "
                         "kernel = nullif($4, ''), cgroup_mode = $5, agent_version = $6, "
                         "hello_seq = $7 WHERE id = $1 AND hello_seq < $7",
                         7, p, NULL, err, errlen);
}

/* The totals are cumulative, so only the newest Heartbeat counts; the floor
 * never goes back. */
static int col_batch_heartbeat(struct col_writer_db *db, const char *id, uint64_t seq,
                               const struct cm_heartbeat *hb, char *err, size_t errlen)
{
    const uint64_t in[8] = {seq,
                            hb->spool_dropped_envelopes,
                            hb->spool_dropped_samples,
                            hb->envelopes_total,
                            hb->samples_total,
                            hb->spool_floor_seq,
                            hb->unacked,
                            hb->spool_bytes};
    char v[8][24];
    const char *p[9] = {id};
    col_i64_params(in, 8, v, p + 1);
    return col_batch_sql(db,
                         "UPDATE agents SET heartbeat_seq = $2, last_heartbeat = now(), "
                         "spool_dropped_envelopes = $3, spool_dropped_samples = $4, "
                         "spool_envelopes_total = $5, spool_samples_total = $6, "
                         "spool_floor_seq = greatest(spool_floor_seq, $7::bigint), "
                         "spool_unacked = $8, spool_bytes = $9 "
                         "WHERE id = $1 AND heartbeat_seq < $2",
                         9, p, NULL, err, errlen);
}

/* What one agent's items of this batch came to. */
struct col_agent_tally {
    size_t received, stored, samples, dups, rejected;
    uint64_t last_seq; /* highest stored */
};

static int col_batch_finish_agent(struct col_writer_db *db, const char *id,
                                  const struct col_agent_tally *t, char *err, size_t errlen)
{
    char v[6][24];
    const uint64_t in[6] = {t->last_seq, t->received, t->stored, t->samples, t->dups, t->rejected};
    const char *p[7] = {id};
    col_i64_params(in, 6, v, p + 1);
    /* A duplicate is a sign of life too; a refused envelope is not. */
    return col_batch_sql(db,
                         "UPDATE agents SET last_seq = greatest(last_seq, $2::bigint), "
                         "last_seen = CASE WHEN $4::bigint + $6 > 0 THEN now() ELSE last_seen END, "
                         "first_seen = CASE WHEN $4::bigint + $6 > 0 "
                         "THEN coalesce(first_seen, now()) ELSE first_seen END, "
                         "envelopes_received = envelopes_received + $3, "
                         "envelopes_stored = envelopes_stored + $4, "
                         "samples_stored = samples_stored + $5, "
                         "duplicates_dropped = duplicates_dropped + $6, "
                         "rejected = rejected + $7 WHERE id = $1",
                         7, p, NULL, err, errlen);
}

/* First pass, without SQL: what the agent's floor and the batch itself
 * already decide. Items are sorted by seq, so a resent copy inside the
 * batch sits right after the first one. STORED is tentative here. */
static void col_batch_mark(struct col_batch *b, size_t from, size_t to, uint64_t floor, bool refuse)
{
    uint64_t prev = 0;
    for (size_t i = from; i < to; i++) {
        const struct col_writer_item *it = b->items[i];
        if (it->count_only)
            b->state[i] = COL_ITEM_COUNTED;
        else if (refuse || it->env.seq > INT64_MAX)
            b->state[i] = COL_ITEM_REJECTED;
        else if (it->env.seq < floor || it->env.seq == prev)
            b->state[i] = COL_ITEM_DUPLICATE;
        else
            b->state[i] = COL_ITEM_STORED;
        if (!it->count_only) prev = it->env.seq;
    }
}

static int col_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Records the tentative seqs in agent_seqs; the ones already there (stored
 * by an earlier batch, maybe before a restart) become duplicates. */
static int col_batch_claim(struct col_writer_db *db, struct col_batch *b, size_t from, size_t to,
                           const char *id, char *err, size_t errlen)
{
    struct cm_buf arr;
    PGresult *res = NULL;
    uint64_t *fresh = NULL;
    size_t n = 0;
    cm_buf_init(&arr, COL_BUF_MAX);
    int rc = cm_buf_append(&arr, "{", 1);
    for (size_t i = from; i < to && rc == 0; i++)
        if (b->state[i] == COL_ITEM_STORED)
            rc = cm_buf_printf(&arr, "%s%" PRIu64, n++ ? "," : "", b->items[i]->env.seq);
    if (rc == 0) rc = cm_buf_append(&arr, "}", 1);
    if (rc < 0) snprintf(err, errlen, "seq list too big");
    if (rc < 0 || n == 0) goto out;
    const char *const p[] = {id, arr.data};
    rc = col_batch_sql(db,
                       "INSERT INTO agent_seqs (agent_id, seq) SELECT $1, unnest($2::bigint[]) "
                       "ON CONFLICT DO NOTHING RETURNING seq",
                       2, p, &res, err, errlen);
    if (rc < 0) goto out;
    size_t nf = (size_t)PQntuples(res);
    fresh = cm_xcalloc(nf ? nf : 1, sizeof *fresh);
    for (size_t r = 0; r < nf; r++)
        fresh[r] = strtoull(PQgetvalue(res, (int)r, 0), NULL, 10);
    qsort(fresh, nf, sizeof *fresh, col_cmp_u64);
    for (size_t i = from; i < to; i++)
        if (b->state[i] == COL_ITEM_STORED &&
            !bsearch(&b->items[i]->env.seq, fresh, nf, sizeof *fresh, col_cmp_u64))
            b->state[i] = COL_ITEM_DUPLICATE;
out:
    free(fresh);
    PQclear(res);
    cm_buf_close(&arr);
    return rc;
}

/* The inventory, its containers rows and findings in this transaction:
 * exactly once by (agent, seq), like the samples. */
static int col_batch_inventory(struct col_writer_db *db, const char *id, uint64_t seq,
                               const struct cm_inventory_batch *inv, char *err, size_t errlen)
{
    struct col_check_policy policy = {&db->cfg->allowed_registries};
    struct col_inventory_store s = {db->conn, &policy, ""};
    struct col_inventory_counts counts = {0};
    int rc = col_inventory_store_apply(&s, strtoll(id, NULL, 10), seq, inv, &counts, err, errlen);
    if (rc < 0) memcpy(db->sqlstate, s.sqlstate, sizeof db->sqlstate);
    return rc;
}

/* Log events and source stats (exactly once by their own key, see
 * event_store.h) and policy acks, in this transaction. */
static int col_batch_events(struct col_writer_db *db, struct col_batch *b, const char *id,
                            const struct cm_envelope *e, int64_t now_ns, char *err, size_t errlen)
{
    struct col_event_store s = {db->conn,
                                atomic_load(&db->rules),
                                now_ns,
                                (int64_t)db->cfg->max_sample_age_ms * 1000000,
                                (int64_t)db->cfg->max_clock_skew_ms * 1000000,
                                ""};
    int rc = 0;
    if (e->kind == CM_BODY_POLICY_ACK)
        rc = col_event_store_policy_ack(&s, strtoll(id, NULL, 10), e->seq, &e->body.policy_ack, err,
                                        errlen);
    else {
        const struct cm_event_batch *eb = &e->body.events;
        for (size_t i = 0; i < eb->n_events && rc == 0; i++)
            rc = col_batch_ensure_day(db, b, col_event_store_ts(&s, eb->events[i].ts_ns), err,
                                      errlen);
        for (size_t i = 0; i < eb->n_stats && rc == 0; i++)
            rc = col_batch_ensure_day(db, b, col_event_store_ts(&s, eb->stats[i].end_ns), err,
                                      errlen);
        if (rc == 0) rc = col_event_store_batch(&s, strtoll(id, NULL, 10), eb, NULL, err, errlen);
    }
    if (rc < 0 && s.sqlstate[0]) memcpy(db->sqlstate, s.sqlstate, sizeof db->sqlstate);
    return rc;
}

/* Applies the bodies of the items that are new, in seq order. */
static int col_batch_apply(struct col_writer_db *db, struct col_batch *b, size_t from, size_t to,
                           const char *id, int64_t now_ns, char *err, size_t errlen)
{
    size_t rows0 = b->nrows;
    bool heartbeat = false;
    int rc = 0;
    for (size_t i = from; i < to && rc == 0; i++) {
        const struct cm_envelope *e = &b->items[i]->env;
        if (b->state[i] != COL_ITEM_STORED) continue;
        if (e->kind == CM_BODY_HELLO)
            rc = col_batch_hello(db, id, e->seq, &e->body.hello, err, errlen);
        else if (e->kind == CM_BODY_HEARTBEAT) {
            rc = col_batch_heartbeat(db, id, e->seq, &e->body.heartbeat, err, errlen);
            heartbeat = true;
        } else if (e->kind == CM_BODY_METRICS)
            col_batch_add_rows(db, b, &e->body.metrics, now_ns);
        else if (e->kind == CM_BODY_INVENTORY)
            rc = col_batch_inventory(db, id, e->seq, &e->body.inventory, err, errlen);
        else if (e->kind == CM_BODY_EVENTS || e->kind == CM_BODY_POLICY_ACK)
            rc = col_batch_events(db, b, id, e, now_ns, err, errlen);
    }
    if (rc == 0) rc = col_batch_upsert(db, b, strtoll(id, NULL, 10), rows0, b->nrows, err, errlen);
    /* Below the floor the agent sends nothing again: those seqs need no row. */
    const char *const p[] = {id};
    if (rc == 0 && heartbeat)
        rc = col_batch_sql(db,
                           "DELETE FROM agent_seqs WHERE agent_id = $1 AND seq < "
                           "(SELECT spool_floor_seq FROM agents WHERE id = $1)",
                           1, p, NULL, err, errlen);
    return rc;
}

static void col_batch_tally(const struct col_batch *b, size_t from, size_t to,
                            struct col_agent_tally *t)
{
    t->received = to - from;
    for (size_t i = from; i < to; i++) {
        switch (b->state[i]) {
        case COL_ITEM_STORED:
            t->stored++;
            if (b->items[i]->env.seq > t->last_seq) t->last_seq = b->items[i]->env.seq;
            break;
        case COL_ITEM_DUPLICATE:
            t->dups++;
            break;
        default:
            t->rejected++;
            break;
        }
    }
}

/* Items [from, to) all belong to one agent and are sorted by seq. */
static int col_batch_agent(struct col_writer_db *db, struct col_batch *b, size_t from, size_t to,
                           int64_t now_ns, char *err, size_t errlen)
{
    PGresult *res = NULL;
    struct col_agent_tally t = {0};
    const char *const key[] = {b->items[from]->agent_key};
    int rc = col_batch_sql(db,
                           "SELECT id, spool_floor_seq, revoked_at IS NOT NULL FROM agents "
                           "WHERE public_key = $1 FOR UPDATE",
                           1, key, &res, err, errlen);
    if (rc < 0) return rc;
    bool known = PQntuples(res) == 1;
    bool revoked = known && PQgetvalue(res, 0, 2)[0] == 't';
    char id[24] = "";
    uint64_t floor = 0;
    if (known) {
        snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
        floor = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    col_batch_mark(b, from, to, floor, !known || revoked);
    if (!known) return 0; /* no row to count it against */
    size_t rows0 = b->nrows;
    if (!revoked) rc = col_batch_claim(db, b, from, to, id, err, errlen);
    if (rc == 0 && !revoked) rc = col_batch_apply(db, b, from, to, id, now_ns, err, errlen);
    col_batch_tally(b, from, to, &t);
    t.samples = b->nrows - rows0;
    if (rc == 0) rc = col_batch_finish_agent(db, id, &t, err, errlen);
    return rc;
}

int col_writer_batch_count_refused(struct col_writer_db *db, const char *agent_key, char *err,
                                   size_t errlen)
{
    const char *const p[] = {agent_key};
    return col_batch_sql(db,
                         "UPDATE agents SET rejected = rejected + 1, "
                         "envelopes_received = envelopes_received + 1 WHERE public_key = $1",
                         1, p, NULL, err, errlen);
}

static int col_copy_row(struct cm_buf *buf, const struct col_writer_row *r)
{
    char ts[40];
    cm_time_format_rfc3339(r->s->ts_ns, ts, sizeof ts);
    int rc = cm_buf_printf(buf, "%s\t%" PRId64, ts, r->ref);
    for (int f = 0; f < CM_F__COUNT && rc == 0; f++) {
        if (!cm_sample_has(r->s, (enum cm_field)f)) {
            rc = cm_buf_append(buf, "\t\\N", 3);
            continue;
        }
        uint64_t v = r->s->v[f] > INT64_MAX ? (uint64_t)INT64_MAX : r->s->v[f];
        rc = cm_buf_printf(buf, "\t%" PRIu64, v);
    }
    return rc == 0 ? cm_buf_append(buf, "\n", 1) : rc;
}

static int col_copy_flush(struct col_writer_db *db)
{
    int rc = 0;
    if (db->buf.len > 0 && PQputCopyData(db->conn, db->buf.data, (int)db->buf.len) != 1)
        rc = CM_EDB;
    cm_buf_reset(&db->buf);
    return rc;
}

static int col_batch_copy(struct col_writer_db *db, struct col_batch *b, char *err, size_t errlen)
{
    if (b->nrows == 0) return 0;
    PGresult *res = PQexec(db->conn, db->copy_sql);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        col_batch_note_state(db, res);
        rc = col_db_fail(db->conn, res, "copy", err, errlen);
    }
    PQclear(res);
    if (rc < 0) return rc;
    cm_buf_reset(&db->buf);
    for (size_t i = 0; i < b->nrows && rc == 0; i++) {
        rc = col_copy_row(&db->buf, &b->rows[i]);
        if (rc == 0 && db->buf.len >= COL_COPY_CHUNK) rc = col_copy_flush(db);
    }
    if (rc == 0) rc = col_copy_flush(db);
    if (PQputCopyEnd(db->conn, rc == 0 ? NULL : "boxwatch: copy aborted") != 1) rc = CM_EDB;
    while ((res = PQgetResult(db->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
            col_batch_note_state(db, res);
            rc = col_db_fail(db->conn, res, "copy", err, errlen);
        } else if (rc < 0 && !err[0])
            col_db_fail(db->conn, res, "copy", err, errlen);
        PQclear(res);
    }
    cm_buf_reset(&db->buf);
    return rc;
}

int col_writer_batch_write(struct col_writer_db *db, struct col_batch *b, int64_t now_ns, char *err,
                           size_t errlen)
{
    b->nrows = 0;
    b->dropped = 0;
    b->nnew_days = 0;
    err[0] = '\0';
    db->sqlstate[0] = '\0';
    int rc = col_db_exec(db->conn, "BEGIN", 0, NULL, err, errlen);
    for (size_t i = 0; i < b->n && rc == 0;) {
        size_t j = i + 1;
        while (j < b->n && strcmp(b->items[j]->agent_key, b->items[i]->agent_key) == 0)
            j++;
        rc = col_batch_agent(db, b, i, j, now_ns, err, errlen);
        i = j;
    }
    if (rc == 0) rc = col_batch_partitions(db, b, err, errlen);
    if (rc == 0) rc = col_batch_copy(db, b, err, errlen);
    if (rc == 0) rc = col_db_commit(db->conn, err, errlen);
    if (rc < 0 && !err[0]) snprintf(err, errlen, "batch: %s", cm_err_str(rc));
    if (rc < 0) return CM_EDB;
    for (size_t i = 0; i < b->nnew_days; i++) {
        db->days[db->days_next] = b->new_days[i];
        db->days_next = (db->days_next + 1) % COL_WRITER_DAY_CACHE;
        if (db->ndays < COL_WRITER_DAY_CACHE) db->ndays++;
    }
    return 0;
}
