/* pgutil.c - per-test databases in the suite's private cluster. */
#include "tests/util/pgutil.h"

#include "collector/migrate.h"
#include "common/keys.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int tu_pg_counter;

bool tu_pg_available(const char **why)
{
    const char *c = getenv("BOXWATCH_TEST_PG");
    if (c && *c)
        return true;
    if (why)
        *why = "BOXWATCH_TEST_PG is not set (run the suite through scripts/test.sh, which "
               "starts a private PostgreSQL)";
    return false;
}

/* Creating and force-dropping databases runs as the cluster's superuser:
 * DROP ... WITH (FORCE) must be able to end autovacuum workers too. Later
 * conninfo keys win, so appending user= overrides the suite's role. */
static int tu_pg_exec_admin(const char *sql)
{
    char conninfo[1024];
    snprintf(conninfo, sizeof conninfo, "%s user=postgres", getenv("BOXWATCH_TEST_PG"));
    PGconn *conn = PQconnectdb(conninfo);
    int rc = -1;
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult *res = PQexec(conn, sql);
        if (PQresultStatus(res) == PGRES_COMMAND_OK)
            rc = 0;
        else
            fprintf(stderr, "pgutil: %s: %s", sql, PQerrorMessage(conn));
        PQclear(res);
    } else {
        fprintf(stderr, "pgutil: connect: %s", PQerrorMessage(conn));
    }
    PQfinish(conn);
    return rc;
}

int tu_pg_create_db(char *out, size_t outlen)
{
    if (!tu_pg_available(NULL))
        return -1;
    char name[64], sql[128];
    snprintf(name, sizeof name, "bwt_%ld_%d", (long)getpid(), atomic_fetch_add(&tu_pg_counter, 1));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s OWNER boxwatch", name);
    if (tu_pg_exec_admin(sql) < 0)
        return -1;
    snprintf(out, outlen, "%s dbname=%s", getenv("BOXWATCH_TEST_PG"), name);
    return 0;
}

int tu_pg_create_migrated_db(char *out, size_t outlen)
{
    if (tu_pg_create_db(out, outlen) < 0)
        return -1;
    PGconn *conn = PQconnectdb(out);
    char err[256] = "";
    int rc = PQstatus(conn) == CONNECTION_OK ? col_migrate_apply(conn, NULL, err, sizeof err) : -1;
    if (rc < 0)
        fprintf(stderr, "pgutil: migrate: %s %s", err, PQerrorMessage(conn));
    PQfinish(conn);
    return rc < 0 ? -1 : 0;
}

void tu_pg_drop_db(const char *conninfo)
{
    const char *p = conninfo ? strstr(conninfo, "dbname=bwt_") : NULL;
    if (!p)
        return;
    char name[64];
    snprintf(name, sizeof name, "%s", p + strlen("dbname="));
    name[strcspn(name, " ")] = '\0';
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    tu_pg_exec_admin(sql);
}

int tu_pg_add_agent(PGconn *conn, const char *name, struct cm_keypair *kp)
{
    if (cm_keys_generate(kp) < 0)
        return -1;
    const char *const params[] = {name, kp->public_z85};
    PGresult *res = PQexecParams(conn, "INSERT INTO agents (name, public_key) VALUES ($1, $2)", 2,
                                 NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc < 0)
        fprintf(stderr, "pgutil: add agent %s: %s", name, PQerrorMessage(conn));
    PQclear(res);
    return rc;
}
