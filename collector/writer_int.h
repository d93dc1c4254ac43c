/* writer_int.h - internals shared by writer.c (thread, queue, retries) and
 * writer_batch.c (the SQL of one batch). Not for other modules. */
#ifndef COL_WRITER_INT_H
#define COL_WRITER_INT_H

#include "collector/writer.h"
#include "common/buf.h"
#include "common/log.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>

#define COL_WRITER_DAY_CACHE 64

enum col_item_state {
    COL_ITEM_STORED = 0,
    COL_ITEM_DUPLICATE, /* seq already in agent_seqs, below the floor, or repeated in the batch */
    COL_ITEM_REJECTED,  /* unknown or revoked agent, or a seq beyond bigint */
    COL_ITEM_COUNTED,   /* count_only: added to the agent's counters, never acked */
};

/* One sample row bound for COPY. */
struct col_writer_row {
    const struct cm_sample *s;
    int64_t ref; /* containers.id */
};

struct col_batch {
    struct col_writer_item **items; /* sorted by (agent_key, seq) */
    enum col_item_state *state;     /* per item, recomputed on every attempt */
    size_t n, cap;
    size_t samples; /* samples in all items (for the batch size limit) */
    /* per attempt */
    struct col_writer_row *rows;
    size_t nrows, rows_cap;
    size_t dropped; /* samples too old or too far ahead */
    int64_t new_days[COL_WRITER_DAY_CACHE * 2];
    size_t nnew_days;
};

struct col_writer_db {
    PGconn *conn;
    const struct col_config *cfg;
    int64_t days[COL_WRITER_DAY_CACHE]; /* partitions known to exist (days since epoch) */
    size_t ndays, days_next;
    struct cm_buf buf; /* COPY data and array literals */
    char *copy_sql;
    char sqlstate[6]; /* of the last failed statement of an attempt, "" when none */
    struct col_rulebook *_Atomic rules; /* severities of events; NULL = none (tests) */
};

/* One attempt at the whole batch inside one transaction (BEGIN..COMMIT).
 * On error returns CM_EDB with err set; the caller rolls back. */
int col_writer_batch_write(struct col_writer_db *db, struct col_batch *b, int64_t now_ns, char *err,
                           size_t errlen);
/* In its own statement, outside a batch: counts one envelope the database
 * kept refusing as received and rejected for its agent. */
int col_writer_batch_count_refused(struct col_writer_db *db, const char *agent_key, char *err,
                                   size_t errlen);
/* Creates partitions for today .. today+2 in its own transaction. */
int col_writer_batch_ensure_ahead(struct col_writer_db *db, char *err, size_t errlen);
void col_writer_db_init(struct col_writer_db *db, const struct col_config *cfg);
void col_writer_db_close(struct col_writer_db *db);

#endif
