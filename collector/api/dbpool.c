/* dbpool.c - fixed pool of PGconn guarded by a mutex and a condition.
 *
 * Only the thread holding a slot touches its PGconn (one connection per
 * thread at a time); the lock protects the busy flags alone, so a slow
 * connect never blocks the others. */
#include "collector/api/dbpool.h"

#include "common/alloc.h"
#include "common/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COL_DBPOOL_MAX 64

struct col_dbslot {
    PGconn *conn; /* owned; NULL until first use or after it broke */
    bool busy;
};

struct col_dbpool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    char *conninfo;
    int n;
    struct col_dbslot slots[COL_DBPOOL_MAX];
};

int col_dbpool_new(const char *conninfo, int n, struct col_dbpool **out)
{
    if (n < 1 || n > COL_DBPOOL_MAX || !conninfo)
        return CM_ERANGE;
    struct col_dbpool *pool = cm_xcalloc(1, sizeof *pool);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->freed, NULL);
    pool->conninfo = cm_xstrdup(conninfo);
    pool->n = n;
    *out = pool;
    return 0;
}

void col_dbpool_free(struct col_dbpool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->n; i++)
        PQfinish(pool->slots[i].conn);
    pthread_cond_destroy(&pool->freed);
    pthread_mutex_destroy(&pool->lock);
    free(pool->conninfo);
    free(pool);
}

/* A bounded connect: the user's conninfo wins where it sets the same key
 * (expand_dbname processes it after our defaults). Queries are capped too,
 * so a stuck statement cannot hold a slot for ever. */
static PGconn *col_dbpool_connect(const char *conninfo)
{
    const char *keys[] = {"connect_timeout", "options", "application_name", "dbname", NULL};
    const char *vals[] = {"5", "-c statement_timeout=15000", "boxwatch-api", conninfo, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

static void col_dbpool_errtext(PGconn *conn, char *err, size_t errlen)
{
    const char *m = conn ? PQerrorMessage(conn) : "out of memory";
    snprintf(err, errlen, "%s", m && *m ? m : "connection failed");
    size_t l = strlen(err);
    while (l > 0 && (err[l - 1] == '\n' || err[l - 1] == ' '))
        err[--l] = '\0';
    for (char *p = err; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
}

static void col_dbpool_put(struct col_dbpool *pool, struct col_dbslot *slot)
{
    pthread_mutex_lock(&pool->lock);
    slot->busy = false;
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}

int col_dbpool_acquire(struct col_dbpool *pool, PGconn **out, int *slot_out, char *err,
                       size_t errlen)
{
    pthread_mutex_lock(&pool->lock);
    struct col_dbslot *slot = NULL;
    for (;;) {
        for (int i = 0; i < pool->n && !slot; i++)
            if (!pool->slots[i].busy)
                slot = &pool->slots[i];
        if (slot)
            break;
        pthread_cond_wait(&pool->freed, &pool->lock);
    }
    slot->busy = true;
    pthread_mutex_unlock(&pool->lock);

    if (slot->conn && PQstatus(slot->conn) != CONNECTION_OK) {
        PQfinish(slot->conn);
        slot->conn = NULL;
    }
    if (!slot->conn) {
        PGconn *c = col_dbpool_connect(pool->conninfo);
        if (PQstatus(c) != CONNECTION_OK) {
            col_dbpool_errtext(c, err, errlen);
            PQfinish(c);
            col_dbpool_put(pool, slot);
            return CM_EDB;
        }
        slot->conn = c;
    }
    *out = slot->conn;
    *slot_out = (int)(slot - pool->slots);
    return 0;
}

void col_dbpool_release(struct col_dbpool *pool, int slot)
{
    if (slot >= 0 && slot < pool->n)
        col_dbpool_put(pool, &pool->slots[slot]);
}
