/* copy_ceiling.c - bench-copy-ceiling: what one PostgreSQL connection takes
 * when nothing but COPY stands between the rows and the table: the ceiling
 * for the collector's ingest, measured in the same run.
 *
 *   bench-copy-ceiling CONNINFO SECONDS MAX_ROWS BATCH CONTAINERS text|binary
 *
 * CONNINFO names a database migrated by `boxwatch-collector migrate`. Rows
 * go into the same day-partitioned container_samples table, with the same
 * columns filled as boxwatch-loadgen's samples (16 of the 23 counters, the
 * rest NULL, same value shapes), the same container_ref spread (CONTAINERS
 * refs, round robin) and ts near now, strictly growing per container. One
 * transaction (BEGIN, COPY, COMMIT) per BATCH rows, like the collector's
 * writer (batch_max_samples). "text" is the COPY format the collector
 * sends (same formatting code: RFC 3339 ts and decimal counters); "binary"
 * is PostgreSQL's binary COPY. Stops after SECONDS or MAX_ROWS, whichever
 * comes first, always at a batch boundary.
 *
 * Prints one JSON line: rows, batches, seconds, rows/s. Exit 1 on a
 * database error. It creates the day partitions it needs (the collector's
 * own function) and does not delete what it wrote. */
#include "tests/loadgen/synth.h"
#include "common/buf.h"
#include "common/sample.h"
#include "common/timeutil.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CC_CHUNK (1u << 20)
#define CC_PG_EPOCH_US INT64_C(946684800000000) /* 2000-01-01 in Unix µs */

struct cc_row {
    int64_t ts_ns;
    int64_t ref;
    struct cm_sample s;
};

/* The same 16 fields and value shapes as boxwatch-loadgen sends. */
static void cc_fill(struct cm_sample *s, size_t c, int64_t ts_ns)
{
    bw_synth_sample(s, c, (uint64_t)ts_ns / 1000 % (365ull * 86400 * 1000000));
}

/* The collector's text row (writer_batch.c col_copy_row). */
static int cc_text_row(struct cm_buf *b, const struct cc_row *r)
{
    char ts[40];
    cm_time_format_rfc3339(r->ts_ns, ts, sizeof ts);
    int rc = cm_buf_printf(b, "%s\t%" PRId64, ts, r->ref);
    for (int f = 0; f < CM_F__COUNT && rc == 0; f++) {
        if (!cm_sample_has(&r->s, (enum cm_field)f))
            rc = cm_buf_append(b, "\t\\N", 3);
        else
            rc = cm_buf_printf(b, "\t%" PRIu64, r->s.v[f] > INT64_MAX ? INT64_MAX : r->s.v[f]);
    }
    return rc == 0 ? cm_buf_append(b, "\n", 1) : rc;
}

static int cc_put_be(struct cm_buf *b, uint64_t v, int bytes)
{
    uint8_t x[8];
    for (int i = 0; i < bytes; i++)
        x[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return cm_buf_append(b, x, (size_t)bytes);
}

static int cc_binary_row(struct cm_buf *b, const struct cc_row *r)
{
    int rc = cc_put_be(b, 2 + CM_F__COUNT, 2);
    int64_t pg_us = r->ts_ns / 1000 - CC_PG_EPOCH_US;
    if (rc == 0) rc = cc_put_be(b, 8, 4);
    if (rc == 0) rc = cc_put_be(b, (uint64_t)pg_us, 8);
    if (rc == 0) rc = cc_put_be(b, 8, 4);
    if (rc == 0) rc = cc_put_be(b, (uint64_t)r->ref, 8);
    for (int f = 0; f < CM_F__COUNT && rc == 0; f++) {
        if (!cm_sample_has(&r->s, (enum cm_field)f)) {
            rc = cc_put_be(b, 0xffffffffu, 4);
            continue;
        }
        rc = cc_put_be(b, 8, 4);
        if (rc == 0) rc = cc_put_be(b, r->s.v[f] > INT64_MAX ? INT64_MAX : r->s.v[f], 8);
    }
    return rc;
}

static int cc_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) fprintf(stderr, "bench-copy-ceiling: %s: %s", sql, PQerrorMessage(c));
    PQclear(res);
    return ok ? 0 : -1;
}

static int cc_flush(PGconn *c, struct cm_buf *b)
{
    int rc = b->len > 0 && PQputCopyData(c, b->data, (int)b->len) != 1 ? -1 : 0;
    cm_buf_reset(b);
    return rc;
}

/* One transaction of `n` rows starting at row number `first`. */
static int cc_batch(PGconn *c, const char *copy_sql, bool binary, struct cm_buf *b, uint64_t first,
                    size_t n, size_t containers, int64_t base_ns)
{
    struct cc_row r;
    memset(&r, 0, sizeof r);
    if (cc_exec(c, "BEGIN") < 0) return -1;
    PGresult *res = PQexec(c, copy_sql);
    int st = PQresultStatus(res);
    PQclear(res);
    if (st != PGRES_COPY_IN) {
        fprintf(stderr, "bench-copy-ceiling: COPY: %s", PQerrorMessage(c));
        cc_exec(c, "ROLLBACK");
        return -1;
    }
    cm_buf_reset(b);
    int rc = binary ? cm_buf_append(b, "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19) : 0;
    for (uint64_t i = first; i < first + n && rc == 0; i++) {
        r.ref = (int64_t)(i % containers) + 1;
        r.ts_ns = base_ns + (int64_t)i * 1000; /* 1 µs a row: growing per container */
        cc_fill(&r.s, (size_t)(i % containers), r.ts_ns);
        rc = binary ? cc_binary_row(b, &r) : cc_text_row(b, &r);
        if (rc == 0 && b->len >= CC_CHUNK) rc = cc_flush(c, b);
    }
    if (rc == 0 && binary) rc = cc_put_be(b, 0xffff, 2);
    if (rc == 0) rc = cc_flush(c, b);
    if (PQputCopyEnd(c, rc == 0 ? NULL : "aborted") != 1) rc = -1;
    while ((res = PQgetResult(c)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench-copy-ceiling: COPY: %s", PQerrorMessage(c));
            rc = -1;
        }
        PQclear(res);
    }
    if (rc == 0) rc = cc_exec(c, "COMMIT");
    if (rc < 0) cc_exec(c, "ROLLBACK");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: bench-copy-ceiling CONNINFO SECONDS MAX_ROWS BATCH CONTAINERS "
                        "text|binary\n");
        return 2;
    }
    double secs = strtod(argv[2], NULL);
    uint64_t max_rows = strtoull(argv[3], NULL, 10);
    size_t batch = strtoul(argv[4], NULL, 10), containers = strtoul(argv[5], NULL, 10);
    bool binary = strcmp(argv[6], "binary") == 0;
    if (secs <= 0 || secs > 3600 || batch < 1 || batch > 1000000 || containers < 1 ||
        (!binary && strcmp(argv[6], "text") != 0)) {
        fprintf(stderr, "bench-copy-ceiling: bad arguments\n");
        return 2;
    }
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench-copy-ceiling: connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    struct cm_buf b, sql;
    cm_buf_init(&b, 256u * 1024 * 1024);
    cm_buf_init(&sql, 4096);
    cm_buf_append_str(&sql, "COPY container_samples (ts, container_ref");
    for (int f = 0; f < CM_F__COUNT; f++)
        cm_buf_printf(&sql, ", %s", cm_fields[f].name);
    cm_buf_printf(&sql, ") FROM STDIN%s", binary ? " (FORMAT binary)" : "");
    int rc = cc_exec(c, "SELECT boxwatch_ensure_partitions(current_date - 1, 4)");
    int64_t base_ns = cm_time_now_ns() / 1000 * 1000;
    int64_t t0 = cm_time_mono_ns(), end = t0 + (int64_t)(secs * 1e9);
    uint64_t rows = 0, batches = 0;
    while (rc == 0 && rows < max_rows && cm_time_mono_ns() < end) {
        size_t n = max_rows - rows < batch ? (size_t)(max_rows - rows) : batch;
        rc = cc_batch(c, sql.data, binary, &b, rows, n, containers, base_ns);
        if (rc == 0) rows += n, batches++;
    }
    double dt = (double)(cm_time_mono_ns() - t0) / 1e9;
    if (rc == 0)
        printf("{\"format\":\"%s\",\"rows\":%llu,\"batches\":%llu,\"batch_rows\":%zu,"
               "\"containers\":%zu,\"seconds\":%.3f,\"rows_per_s\":%.0f}\n",
               binary ? "binary" : "text", (unsigned long long)rows, (unsigned long long)batches,
               batch, containers, dt, (double)rows / dt);
    cm_buf_close(&b);
    cm_buf_close(&sql);
    PQfinish(c);
    return rc == 0 ? 0 : 1;
}
