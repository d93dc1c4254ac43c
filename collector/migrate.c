/* migrate.c - applies the embedded schema/ migrations (see migrate.h).
 *
 * Every migration runs in its own transaction that first takes a
 * transaction-scoped advisory lock, then checks schema_migrations, so two
 * collectors starting at once apply each file exactly once. It does not
 * roll migrations back and does not read schema/ from disk: a collector
 * always carries the schema it was built for. */
#include "collector/migrate.h"

#include "collector/db.h"
#include "collector/embedded.h"
#include "common/err.h"
#include "common/parse.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Arbitrary but fixed: "boxwatch" in ASCII, as a bigint. */
#define COL_MIGRATE_LOCK "7089074616326547560"

static const char col_migrate_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                            " version integer PRIMARY KEY,"
                                            " name text NOT NULL,"
                                            " applied_at timestamptz NOT NULL DEFAULT now())";

/* "001_init.sql" -> 1. */
static int col_migrate_version(const char *name, int *version)
{
    size_t n = strspn(name, "0123456789");
    uint64_t v;
    if (n == 0 || name[n] != '_' || cm_parse_u64(name, n, &v) < 0 || v == 0 || v > 1000000)
        return CM_EPARSE;
    *version = (int)v;
    return 0;
}

/* One migration in one transaction; *ran is set when it was applied now. */
static int col_migrate_one(PGconn *conn, const struct col_embedded_file *f, int version, int *ran,
                           char *err, size_t errlen)
{
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", version);
    const char *const params[] = {vbuf, f->name};
    PGresult *res = NULL;
    int rc = col_db_exec(conn, "BEGIN", 0, NULL, err, errlen);
    if (rc < 0) return rc;
    rc = col_db_exec(conn, "SELECT pg_advisory_xact_lock(" COL_MIGRATE_LOCK ")", 0, NULL, err,
                     errlen);
    if (rc == 0) rc = col_db_exec(conn, col_migrate_table_sql, 0, NULL, err, errlen);
    if (rc == 0)
        rc = col_db_query(conn, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, params,
                          &res, err, errlen);
    if (rc < 0) goto out;
    if (PQntuples(res) > 0) {
        rc = col_db_commit(conn, err, errlen);
        goto out;
    }
    rc = col_db_exec(conn, f->data, 0, NULL, err, errlen);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, errlen, "migration %s: %s", f->name, why);
        goto out;
    }
    rc = col_db_exec(conn, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                     params, err, errlen);
    if (rc == 0) rc = col_db_commit(conn, err, errlen);
    if (rc == 0) *ran = 1;
out:
    PQclear(res);
    if (rc < 0) col_db_rollback(conn);
    return rc;
}

int col_migrate_apply(PGconn *conn, int *applied, char *err, size_t errlen)
{
    int count = 0;
    int prev = 0;
    for (size_t i = 0; i < col_migrations_count; i++) {
        const struct col_embedded_file *f = &col_migrations[i];
        int version, ran = 0;
        if (col_migrate_version(f->name, &version) < 0 || version <= prev) {
            snprintf(err, errlen, "migration %s: name must be NNN_name.sql, in order", f->name);
            return CM_ECONFIG;
        }
        prev = version;
        int rc = col_migrate_one(conn, f, version, &ran, err, errlen);
        if (rc < 0) return rc;
        count += ran;
    }
    if (applied) *applied = count;
    return 0;
}

int col_migrate_current(PGconn *conn, int *version, char *err, size_t errlen)
{
    PGresult *res = NULL;
    int64_t v = 0;
    /* Two queries: the second would not even parse without the table. */
    int rc = col_db_query(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL,
                          &res, err, errlen);
    if (rc < 0) return rc;
    bool exists = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    res = NULL;
    if (exists) {
        rc = col_db_query(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL,
                          &res, err, errlen);
        if (rc < 0) return rc;
        const char *s = PQgetvalue(res, 0, 0);
        rc = cm_parse_i64(s, strlen(s), &v);
        PQclear(res);
        if (rc < 0 || v < 0 || v > 1000000) {
            snprintf(err, errlen, "schema_migrations: bad version");
            return CM_EDB;
        }
    }
    *version = (int)v;
    return 0;
}

int col_migrate_latest(void)
{
    int v = 0;
    if (col_migrations_count > 0)
        col_migrate_version(col_migrations[col_migrations_count - 1].name, &v);
    return v;
}
