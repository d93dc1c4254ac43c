/* dbpool.h - a small fixed pool of PostgreSQL connections for the API.
 *
 * Used from libuv's thread pool only (blocking calls): a thread takes a
 * connection, runs its queries and gives it back. Connections are opened
 * lazily on first use and reopened on the next use after one broke, so the
 * API starts (and answers /health with 503) while PostgreSQL is down. It does
 * not run queries itself and never logs. */
#ifndef COL_API_DBPOOL_H
#define COL_API_DBPOOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

struct col_dbpool;

/* conninfo is copied. n is the number of connections (1..64). */
int col_dbpool_new(const char *conninfo, int n, struct col_dbpool **out);
/* All connections must have been released. NULL is harmless. */
void col_dbpool_free(struct col_dbpool *pool);

/* Waits for a free connection and makes sure it is connected. On success
 * *out is borrowed until col_dbpool_release(pool, *slot). On failure returns
 * CM_EDB and err holds libpq's reason (nothing to release). */
int col_dbpool_acquire(struct col_dbpool *pool, PGconn **out, int *slot, char *err,
                       size_t errlen);
/* Gives a connection back; one that broke meanwhile is reopened on next use. */
void col_dbpool_release(struct col_dbpool *pool, int slot);

#endif
