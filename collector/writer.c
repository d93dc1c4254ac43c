/* writer.c - the writer thread: bounded queue, batching, retries, acks
 * (see writer.h; the SQL of a batch is in writer_batch.c).
 *
 * A batch closes when it holds batch_max_samples samples or its first item
 * waited batch_max_delay_ms. Failed attempts roll back and are retried with
 * exponential backoff (100 ms doubling to 2 s) on a fresh connection when
 * the old one broke, for as long as it takes: while it waits nothing is
 * acked, the queue fills and the server stops reading. A fresh connection
 * assumes nothing about partitions (the cache is emptied, today .. today+2
 * are ensured again). When idle, the connection is probed once a second so
 * stats->db_up (and /api/v1/health) notice an outage without traffic.
 * Acks are handed out only after COMMIT. */
#include "collector/writer_int.h"

#include "collector/db.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COL_BACKOFF_MIN_MS 100
#define COL_BACKOFF_MAX_MS 2000
#define COL_IDLE_PROBE_MS 1000
#define COL_STOP_ATTEMPTS 3 /* tries left for the last batch at shutdown */
#define COL_DATA_ATTEMPTS 3 /* tries of a batch the server refuses as invalid data */

struct col_writer {
    const struct col_config *cfg;
    struct col_stats *stats;
    col_writer_ack_cb ack;
    void *ack_arg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* CLOCK_MONOTONIC */
    struct col_writer_item **q; /* ring */
    size_t qcap, qhead, qlen;
    bool stopping;
    bool want_partitions;
    /* thread-only */
    struct col_writer_db db;
    struct cm_ratelimit rl;
    int64_t next_probe_ns; /* monotonic; idle reconnect attempts */
    int64_t probe_backoff_ms;
};

static void col_deadline(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

int col_writer_push(struct col_writer *w, struct col_writer_item *item)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (w->stopping)
        rc = -ESHUTDOWN;
    else if (w->qlen == w->qcap)
        rc = -EAGAIN;
    else {
        w->q[(w->qhead + w->qlen) % w->qcap] = item;
        w->qlen++;
        atomic_store(&w->stats->queue_depth, w->qlen);
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void col_writer_set_rules(struct col_writer *w, struct col_rulebook *rules)
{
    atomic_store(&w->db.rules, rules);
}

void col_writer_request_partitions(struct col_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->want_partitions = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void col_batch_add(struct col_batch *b, struct col_writer_item *it)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = cm_xrealloc(b->items, b->cap * sizeof *b->items);
        b->state = cm_xrealloc(b->state, b->cap * sizeof *b->state);
    }
    b->items[b->n++] = it;
    if (it->env.kind == CM_BODY_METRICS) b->samples += it->env.body.metrics.n;
}

/* Called with mu held: moves queued items into b up to the sample limit. */
static void col_take(struct col_writer *w, struct col_batch *b)
{
    while (w->qlen > 0 && b->samples < (size_t)w->cfg->batch_max_samples) {
        col_batch_add(b, w->q[w->qhead]);
        w->qhead = (w->qhead + 1) % w->qcap;
        w->qlen--;
    }
    atomic_store(&w->stats->queue_depth, w->qlen);
}

/* Blocks for the next batch (or COL_IDLE_PROBE_MS when idle: b stays
 * empty). Returns false when stopping with nothing left; *partitions is set
 * when the hourly request is pending. */
static bool col_collect(struct col_writer *w, struct col_batch *b, bool *partitions)
{
    struct timespec dl;
    pthread_mutex_lock(&w->mu);
    col_deadline(&dl, COL_IDLE_PROBE_MS);
    while (w->qlen == 0 && !w->stopping && !w->want_partitions)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT) break;
    *partitions = w->want_partitions;
    w->want_partitions = false;
    col_take(w, b);
    col_deadline(&dl, (int64_t)w->cfg->batch_max_delay_ms);
    while (b->n > 0 && !w->stopping && b->samples < (size_t)w->cfg->batch_max_samples) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT) {
            col_take(w, b);
            break;
        }
        col_take(w, b);
    }
    bool more = b->n > 0 || *partitions || !w->stopping;
    pthread_mutex_unlock(&w->mu);
    return more;
}

static int col_cmp_item(const void *a, const void *b)
{
    const struct col_writer_item *x = *(struct col_writer_item *const *)a;
    const struct col_writer_item *y = *(struct col_writer_item *const *)b;
    int c = strcmp(x->agent_key, y->agent_key);
    if (c) return c;
    if (x->env.seq != y->env.seq) return x->env.seq < y->env.seq ? -1 : 1;
    return 0; /* a resent copy: whichever comes second is the duplicate */
}

static bool col_writer_is_stopping(struct col_writer *w)
{
    pthread_mutex_lock(&w->mu);
    bool s = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* Sleeps up to ms, waking early when stop is requested. */
static void col_writer_sleep(struct col_writer *w, int64_t ms)
{
    struct timespec dl;
    col_deadline(&dl, ms);
    pthread_mutex_lock(&w->mu);
    while (!w->stopping && pthread_cond_timedwait(&w->cv, &w->mu, &dl) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&w->mu);
}

static int col_writer_connect(struct col_writer *w, char *err, size_t errlen)
{
    if (w->db.conn && PQstatus(w->db.conn) == CONNECTION_OK) return 0;
    PQfinish(w->db.conn);
    w->db.conn = NULL;
    atomic_store(&w->stats->db_up, 0);
    int rc =
        col_db_connect(w->cfg->database, "boxwatch-collector-writer", &w->db.conn, err, errlen);
    if (rc < 0) return rc;
    /* A new server (restored, failed over) may lack partitions we made. */
    w->db.ndays = 0;
    rc = col_writer_batch_ensure_ahead(&w->db, err, errlen);
    if (rc < 0 && PQstatus(w->db.conn) != CONNECTION_OK) return rc;
    atomic_store(&w->stats->db_up, 1);
    cm_info("writer", "database connected", NULL);
    return 0; /* a failed ensure on a live connection: batches make theirs */
}

static void col_writer_failed(struct col_writer *w, const char *what, const char *err)
{
    unsigned supp = 0;
    col_db_rollback(w->db.conn);
    atomic_fetch_add(&w->stats->db_errors, 1);
    if (!w->db.conn || PQstatus(w->db.conn) != CONNECTION_OK) atomic_store(&w->stats->db_up, 0);
    /* A retention job may have dropped a partition we remember. */
    w->db.ndays = 0;
    if (cm_ratelimit_allow(&w->rl, 3, 10000, &supp))
        cm_warn("writer", what, "err=\"%s\" suppressed=%u", err, supp);
}

/* SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the
 * data is at fault and the same attempt will fail the same way. Anything
 * else (connection, resources, read-only, timeouts) is the database's
 * trouble and worth waiting out. */
static bool col_writer_is_data_fault(const struct col_writer *w)
{
    return strncmp(w->db.sqlstate, "22", 2) == 0 || strncmp(w->db.sqlstate, "23", 2) == 0;
}

/* Writes b until it commits. Returns 0 when committed, CM_EDB when it gave
 * up (stopping with the database down), CM_EPROTO when PostgreSQL refused
 * the data itself COL_DATA_ATTEMPTS times in a row. */
static int col_writer_write(struct col_writer *w, struct col_batch *b)
{
    char err[512];
    int64_t backoff = COL_BACKOFF_MIN_MS;
    int stop_tries = 0, data_tries = 0;
    for (;;) {
        w->db.sqlstate[0] = '\0';
        int rc = col_writer_connect(w, err, sizeof err);
        if (rc == 0) rc = col_writer_batch_write(&w->db, b, cm_time_now_ns(), err, sizeof err);
        if (rc == 0) return 0;
        bool live = w->db.conn && PQstatus(w->db.conn) == CONNECTION_OK;
        bool data = live && col_writer_is_data_fault(w);
        col_writer_failed(w, live ? "batch failed; retrying" : "database down; retrying", err);
        data_tries = data ? data_tries + 1 : 0;
        if (data_tries >= COL_DATA_ATTEMPTS) return CM_EPROTO;
        if (col_writer_is_stopping(w) && ++stop_tries >= COL_STOP_ATTEMPTS) return CM_EDB;
        col_writer_sleep(w, backoff);
        backoff = backoff * 2 > COL_BACKOFF_MAX_MS ? COL_BACKOFF_MAX_MS : backoff * 2;
    }
}

static void col_writer_ack_one(struct col_writer *w, const struct col_batch *b, size_t i, int rc)
{
    const struct col_writer_item *it = b->items[i];
    if (rc == 0 && b->state[i] == COL_ITEM_COUNTED) return;
    if (rc == 0 && b->state[i] != COL_ITEM_REJECTED) {
        w->ack(w->ack_arg, it, CM_ACK_STORED, "");
        return;
    }
    if (rc != 0 && rc != CM_EPROTO) return; /* not settled: the agent resends */
    atomic_fetch_add(&w->stats->envelopes_rejected_storage, 1);
    if (it->count_only) return;
    w->ack(w->ack_arg, it, CM_ACK_REJECTED,
           rc == 0 ? (b->items[i]->env.seq > INT64_MAX ? "seq out of range"
                                                       : "agent not enrolled or revoked")
                   : "storage refused the data");
}

/* Acks (when rc says the batch is settled), counts, releases, empties b. */
static void col_writer_finish(struct col_writer *w, struct col_batch *b, int rc)
{
    size_t stored = 0, dups = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct col_writer_item *it = b->items[i];
        col_writer_ack_one(w, b, i, rc);
        stored += rc == 0 && b->state[i] == COL_ITEM_STORED;
        dups += rc == 0 && b->state[i] == COL_ITEM_DUPLICATE;
        if (it->release) it->release(&it->env);
        free(it);
    }
    if (rc == 0) {
        atomic_fetch_add(&w->stats->envelopes_stored, stored);
        atomic_fetch_add(&w->stats->envelopes_duplicate, dups);
        atomic_fetch_add(&w->stats->samples_stored, b->nrows);
        atomic_fetch_add(&w->stats->samples_dropped, b->dropped);
        atomic_fetch_add(&w->stats->batches_committed, 1);
    }
    b->n = 0;
    b->samples = 0;
}

/* Writes b; when PostgreSQL refuses its data, writes each envelope alone
 * so only the guilty ones are rejected (and counted for their agent). */
static void col_writer_settle(struct col_writer *w, struct col_batch *b)
{
    int rc = col_writer_write(w, b);
    if (rc != CM_EPROTO || b->n == 1) {
        if (rc == CM_EPROTO) {
            char err[512];
            if (col_writer_batch_count_refused(&w->db, b->items[0]->agent_key, err, sizeof err) < 0)
                col_writer_failed(w, "cannot count a refused envelope", err);
        }
        col_writer_finish(w, b, rc);
        return;
    }
    struct col_batch one = {0};
    for (size_t i = 0; i < b->n; i++) {
        col_batch_add(&one, b->items[i]);
        col_writer_settle(w, &one); /* frees the item */
    }
    b->n = 0;
    b->samples = 0;
    free(one.items);
    free(one.state);
    free(one.rows);
}

static void col_writer_partitions(struct col_writer *w)
{
    char err[512];
    int rc = col_writer_connect(w, err, sizeof err);
    if (rc == 0) rc = col_writer_batch_ensure_ahead(&w->db, err, sizeof err);
    if (rc < 0) col_writer_failed(w, "cannot create partitions ahead", err);
}

/* Idle: notice a connection the server closed (restart, terminate) and
 * reconnect with backoff, so db_up tells the truth without traffic. */
static void col_writer_probe(struct col_writer *w)
{
    char err[512];
    int64_t now = cm_time_mono_ns();
    if (w->db.conn && (!PQconsumeInput(w->db.conn) || PQstatus(w->db.conn) != CONNECTION_OK)) {
        PQfinish(w->db.conn);
        w->db.conn = NULL;
        atomic_store(&w->stats->db_up, 0);
        cm_warn("writer", "database connection lost", NULL);
    }
    if (w->db.conn || now < w->next_probe_ns) return;
    if (col_writer_connect(w, err, sizeof err) == 0) {
        w->probe_backoff_ms = 0;
        return;
    }
    col_writer_failed(w, "database down; retrying", err);
    w->probe_backoff_ms = w->probe_backoff_ms ? w->probe_backoff_ms * 2 : COL_BACKOFF_MIN_MS;
    if (w->probe_backoff_ms > COL_BACKOFF_MAX_MS) w->probe_backoff_ms = COL_BACKOFF_MAX_MS;
    w->next_probe_ns = now + w->probe_backoff_ms * 1000000;
}

static void *col_writer_main(void *arg)
{
    struct col_writer *w = arg;
    struct col_batch b = {0};
    bool partitions = false;
    col_writer_partitions(w);
    while (col_collect(w, &b, &partitions)) {
        if (partitions) col_writer_partitions(w);
        if (b.n == 0) {
            col_writer_probe(w);
            continue;
        }
        qsort(b.items, b.n, sizeof *b.items, col_cmp_item);
        col_writer_settle(w, &b);
    }
    free(b.items);
    free(b.state);
    free(b.rows);
    return NULL;
}

int col_writer_start(const struct col_config *cfg, struct col_stats *stats, col_writer_ack_cb ack,
                     void *ack_arg, struct col_writer **out, char *err, size_t errlen)
{
    struct col_writer *w = cm_xcalloc(1, sizeof *w);
    pthread_condattr_t ca;
    w->cfg = cfg;
    w->stats = stats;
    w->ack = ack;
    w->ack_arg = ack_arg;
    w->qcap = (size_t)cfg->queue_max_envelopes;
    w->q = cm_xcalloc(w->qcap, sizeof *w->q);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    col_writer_db_init(&w->db, cfg);
    int rc = pthread_create(&w->thread, NULL, col_writer_main, w);
    if (rc != 0) {
        snprintf(err, errlen, "writer: cannot start thread: %s", strerror(rc));
        col_writer_db_close(&w->db);
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w->q);
        free(w);
        return -rc;
    }
    *out = w;
    return 0;
}

void col_writer_stop(struct col_writer *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    col_writer_db_close(&w->db);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->q);
    free(w);
}
