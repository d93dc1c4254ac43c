/* db.h - thin helpers over libpq for the collector's threads.
 *
 * Connects with an application_name and a statement_timeout so a stuck query
 * cannot hang a thread forever, runs parameterized statements and turns
 * failures into one-line error texts. It never logs, and never writes the
 * conninfo anywhere (it can hold a password). Each PGconn belongs to the one
 * thread that made it. */
#ifndef COL_DB_H
#define COL_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define COL_DB_STATEMENT_TIMEOUT_MS 30000

/* Connects; on success *out is the caller's (close with PQfinish). On failure
 * returns CM_EDB, err holds libpq's reason and *out is untouched. */
int col_db_connect(const char *conninfo, const char *appname, PGconn **out, char *err,
                   size_t errlen);

/* Runs one statement (or, with nparams 0, a script of several) expecting no
 * rows. Returns 0 or CM_EDB with err set. */
int col_db_exec(PGconn *conn, const char *sql, int nparams, const char *const *params, char *err,
                size_t errlen);

/* Runs a statement that returns rows; *res is the caller's (PQclear). */
int col_db_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
                 PGresult **res, char *err, size_t errlen);

/* One parameterized statement for callers that must tell data PostgreSQL
 * refuses from a database that is unwell (the writer): out NULL expects no
 * rows, else *out gets them (PQclear). lens/fmts may be NULL (text
 * parameters). On failure returns CM_EDB with err ("context: message") and
 * sqlstate (6 bytes) set; on success sqlstate is left alone. */
int col_db_statement(PGconn *conn, const char *sql, int n, const char *const *params,
                     const int *lens, const int *fmts, PGresult **out, char sqlstate[6],
                     const char *context, char *err, size_t errlen);

/* Writes "context: libpq message" (first line, no trailing newline) into err;
 * returns CM_EDB so callers can `return col_db_fail(...)`. res may be NULL. */
int col_db_fail(PGconn *conn, const PGresult *res, const char *context, char *err, size_t errlen);

/* True when res failed with SQLSTATE `state` (e.g. "23505"). */
bool col_db_is_state(const PGresult *res, const char *state);

/* COMMIT that fails (CM_EDB) when the server rolled the transaction back
 * instead (PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK). */
int col_db_commit(PGconn *conn, char *err, size_t errlen);

/* Best-effort ROLLBACK after a failed transaction; ignores its own errors. */
void col_db_rollback(PGconn *conn);

#endif
