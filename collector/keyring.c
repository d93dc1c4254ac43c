/* keyring.c - admitted public keys (see keyring.h).
 *
 * A refresh builds the new array outside the lock and swaps it in, so a
 * slow query never blocks lookups. Keys are fixed-width, so lookups are a
 * bsearch over a flat array. */
#include "collector/keyring.h"

#include "collector/db.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/parse.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct col_keyring_entry {
    char key[CM_KEY_Z85_LEN + 1];
    int64_t id;
};

struct col_keyring {
    pthread_mutex_t mu;
    struct col_keyring_entry *v; /* sorted by key */
    size_t n;
};

static int col_keyring_cmp(const void *a, const void *b)
{
    return strcmp(((const struct col_keyring_entry *)a)->key,
                  ((const struct col_keyring_entry *)b)->key);
}

struct col_keyring *col_keyring_new(void)
{
    struct col_keyring *kr = cm_xcalloc(1, sizeof *kr);
    pthread_mutex_init(&kr->mu, NULL);
    return kr;
}

void col_keyring_free(struct col_keyring *kr)
{
    if (!kr) return;
    pthread_mutex_destroy(&kr->mu);
    free(kr->v);
    free(kr);
}

int col_keyring_refresh(struct col_keyring *kr, PGconn *conn, char *err, size_t errlen)
{
    PGresult *res = NULL;
    struct col_keyring_entry *v = NULL;
    size_t n = 0;
    int rc = col_db_query(conn,
                          "SELECT id, public_key FROM agents WHERE revoked_at IS NULL "
                          "LIMIT 1000001",
                          0, NULL, &res, err, errlen);
    if (rc < 0) return rc;
    size_t rows = (size_t)PQntuples(res);
    if (rows > COL_KEYRING_MAX) {
        snprintf(err, errlen, "more than %d enrolled agents", COL_KEYRING_MAX);
        rc = CM_ETOOBIG;
        goto out;
    }
    v = cm_xcalloc(rows ? rows : 1, sizeof *v);
    for (size_t i = 0; i < rows; i++) {
        const char *id = PQgetvalue(res, (int)i, 0), *key = PQgetvalue(res, (int)i, 1);
        if (!cm_keys_is_z85(key) || cm_parse_i64(id, strlen(id), &v[n].id) < 0)
            continue; /* not a key a client could present; skip it */
        memcpy(v[n].key, key, CM_KEY_Z85_LEN + 1);
        n++;
    }
    qsort(v, n, sizeof *v, col_keyring_cmp);
    pthread_mutex_lock(&kr->mu);
    struct col_keyring_entry *old = kr->v;
    kr->v = v;
    kr->n = n;
    pthread_mutex_unlock(&kr->mu);
    v = old;
out:
    free(v);
    PQclear(res);
    return rc;
}

bool col_keyring_lookup(struct col_keyring *kr, const char *z85, int64_t *agent_id)
{
    struct col_keyring_entry probe;
    if (!cm_keys_is_z85(z85)) return false;
    memcpy(probe.key, z85, CM_KEY_Z85_LEN + 1);
    pthread_mutex_lock(&kr->mu);
    const struct col_keyring_entry *e =
        kr->n ? bsearch(&probe, kr->v, kr->n, sizeof *kr->v, col_keyring_cmp) : NULL;
    if (e && agent_id) *agent_id = e->id;
    pthread_mutex_unlock(&kr->mu);
    return e != NULL;
}

size_t col_keyring_size(struct col_keyring *kr)
{
    pthread_mutex_lock(&kr->mu);
    size_t n = kr->n;
    pthread_mutex_unlock(&kr->mu);
    return n;
}
