/* test_migrate.c - the embedded migrations against a real PostgreSQL. */
#include "collector/db.h"
#include "collector/migrate.h"
#include "tests/util/pgutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static char conninfo[512];
static PGconn *conn;

static void setup(void)
{
    const char *why = NULL;
    if (!tu_pg_available(&why)) cr_skip_test("%s", why);
    cr_assert_eq(tu_pg_create_db(conninfo, sizeof conninfo), 0);
    char err[256];
    cr_assert_eq(col_db_connect(conninfo, "test", &conn, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
    PQfinish(conn);
    conn = NULL;
    tu_pg_drop_db(conninfo);
}

static long scalar(const char *sql)
{
    PGresult *res = NULL;
    char err[256];
    cr_assert_eq(col_db_query(conn, sql, 0, NULL, &res, err, sizeof err), 0, "%s", err);
    long v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

TestSuite(migrate, .init = setup, .fini = teardown, .timeout = 60);

Test(migrate, fresh_database_is_version_zero)
{
    int v = -1;
    char err[256];
    cr_assert_eq(col_migrate_current(conn, &v, err, sizeof err), 0, "%s", err);
    cr_assert_eq(v, 0);
}

Test(migrate, applies_and_records_version)
{
    int applied = -1, v = -1;
    char err[256];
    cr_assert_eq(col_migrate_apply(conn, &applied, err, sizeof err), 0, "%s", err);
    cr_assert_gt(applied, 0);
    cr_assert_eq(col_migrate_current(conn, &v, err, sizeof err), 0, "%s", err);
    cr_assert_eq(v, col_migrate_latest());
    cr_assert_geq(v, 1);
    cr_assert_eq(scalar("SELECT count(*) FROM schema_migrations WHERE version = 1 "
                        "AND name = '001_init.sql' AND applied_at IS NOT NULL"),
                 1);
    cr_assert_eq(scalar("SELECT count(*) FROM agents"), 0);
    cr_assert_eq(scalar("SELECT boxwatch_ensure_partitions('2024-02-28', 2)"), 2);
}

Test(migrate, second_run_is_a_no_op)
{
    int applied = -1;
    char err[256];
    cr_assert_eq(col_migrate_apply(conn, &applied, err, sizeof err), 0, "%s", err);
    long rows = scalar("SELECT count(*) FROM schema_migrations");
    cr_assert_eq(col_migrate_apply(conn, &applied, err, sizeof err), 0, "%s", err);
    cr_assert_eq(applied, 0);
    cr_assert_eq(scalar("SELECT count(*) FROM schema_migrations"), rows);
}

Test(migrate, failed_migration_leaves_no_trace)
{
    char err[256];
    /* A table the first migration wants to create already exists: the
     * migration fails as a whole and is not recorded. */
    cr_assert_eq(col_db_exec(conn, "CREATE TABLE agents (x int)", 0, NULL, err, sizeof err), 0);
    int applied = -1, v = -1;
    cr_assert_lt(col_migrate_apply(conn, &applied, err, sizeof err), 0);
    cr_assert_neq(strstr(err, "001_init.sql"), NULL, "%s", err);
    cr_assert_eq(col_migrate_current(conn, &v, err, sizeof err), 0, "%s", err);
    cr_assert_eq(v, 0);
    cr_assert_eq(scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'containers'"), 0);
}
