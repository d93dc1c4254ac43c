/* db.c - libpq connection and statement helpers (see db.h).
 *
 * Does not pool connections, retry or log: the caller decides what a failure
 * means (the writer reconnects with backoff, a subcommand exits). */
#include "collector/db.h"

#include "common/err.h"

#include <stdio.h>
#include <string.h>

static void col_db_trim(char *s)
{
    size_t n = strcspn(s, "\n");
    s[n] = '\0';
}

int col_db_connect(const char *conninfo, const char *appname, PGconn **out, char *err,
                   size_t errlen)
{
    char options[64];
    snprintf(options, sizeof options, "-c statement_timeout=%d -c client_min_messages=warning",
             COL_DB_STATEMENT_TIMEOUT_MS);
    /* expand_dbname=1: the first "dbname" is the whole conninfo; the later
     * keywords override anything of the same name inside it. */
    const char *const keys[] = {"dbname", "application_name", "options", "connect_timeout", NULL};
    const char *const vals[] = {conninfo ? conninfo : "", appname, options, "10", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        snprintf(err, errlen, "database connect: out of memory");
        return CM_EDB;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        col_db_fail(conn, NULL, "database connect", err, errlen);
        PQfinish(conn);
        return CM_EDB;
    }
    *out = conn;
    return 0;
}

int col_db_fail(PGconn *conn, const PGresult *res, const char *context, char *err, size_t errlen)
{
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg) msg = conn ? PQerrorMessage(conn) : "no connection";
    if (!msg || !*msg) msg = "unexpected result";
    snprintf(err, errlen, "%s: %s", context, msg);
    col_db_trim(err);
    return CM_EDB;
}

bool col_db_is_state(const PGresult *res, const char *state)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s && strcmp(s, state) == 0;
}

static PGresult *col_db_run(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
    if (nparams == 0 && !params) return PQexec(conn, sql);
    return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

int col_db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
                size_t errlen)
{
    PGresult *res = col_db_run(conn, sql, nparams, params);
    int rc = 0;
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = col_db_fail(conn, res, "database", err, errlen);
    PQclear(res);
    return rc;
}

int col_db_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                 PGresult **res, char *err, size_t errlen)
{
    PGresult *r = col_db_run(conn, sql, nparams, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = col_db_fail(conn, r, "database", err, errlen);
        PQclear(r);
        return rc;
    }
    *res = r;
    return 0;
}

int col_db_commit(PGconn *conn, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, "COMMIT");
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = col_db_fail(conn, res, "commit", err, errlen);
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        snprintf(err, errlen, "commit: the transaction was rolled back");
        rc = CM_EDB;
    }
    PQclear(res);
    return rc;
}

void col_db_rollback(PGconn *conn)
{
    if (!conn || PQstatus(conn) != CONNECTION_OK) return;
    PQclear(PQexec(conn, "ROLLBACK"));
}

int col_db_statement(PGconn *conn, const char *sql, int n, const char *const *params,
                     const int *lens, const int *fmts, PGresult **out, char sqlstate[6],
                     const char *context, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, lens, fmts, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || (st == PGRES_COMMAND_OK && !out)) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return 0;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(sqlstate, 6, "%s", state ? state : "");
    int rc = col_db_fail(conn, res, context, err, errlen);
    PQclear(res);
    return rc;
}
