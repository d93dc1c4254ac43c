/* rows.c - running the API's queries and turning result cells into JSON.
 *
 * Queries are always PQexecParams with text parameters; timestamps are
 * selected as microseconds since the epoch and formatted here, so every
 * route writes the same RFC 3339 UTC form. Runs on pool threads. */
#include "collector/api/api_int.h"

#include "common/err.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/timeutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t col_api_log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cm_ratelimit col_api_log_rl;

static void col_api_log_query_error(const char *msg)
{
    unsigned suppressed = 0;
    pthread_mutex_lock(&col_api_log_lock);
    bool allow = cm_ratelimit_allow(&col_api_log_rl, 5, 60000, &suppressed);
    pthread_mutex_unlock(&col_api_log_lock);
    if (allow)
        cm_warn(COL_API_MOD, "query failed", "err=\"%s\" suppressed=%u", msg, suppressed);
}

int col_api_exec(struct col_api_work *w, const char *sql, int n, const char *const *params,
                 PGresult **out)
{
    PGresult *res = PQexecParams(w->db, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        *out = res;
        return 0;
    }
    const char *msg = PQresultErrorMessage(res);
    char one[256];
    size_t l = 0;
    for (; msg && msg[l] && msg[l] != '\n' && l < sizeof one - 1; l++)
        one[l] = msg[l];
    one[l] = '\0';
    col_api_log_query_error(one);
    PQclear(res);
    col_api_resp_error(&w->resp, 503, "unavailable", "database query failed");
    return CM_EDB;
}

bool col_api_cell_is_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) != 0;
}

int64_t col_api_cell_i64(const PGresult *res, int row, int col)
{
    int64_t v = 0;
    if (PQgetisnull(res, row, col))
        return 0;
    const char *s = PQgetvalue(res, row, col);
    if (cm_parse_i64(s, strlen(s), &v) < 0)
        return 0;
    return v;
}

cJSON *col_api_ts_json(int64_t ns)
{
    char text[40];
    if (cm_time_format_rfc3339(ns, text, sizeof text) < 0)
        return cJSON_CreateNull();
    return cJSON_CreateString(text);
}

cJSON *col_api_cell_ts(const PGresult *res, int row, int col)
{
    int64_t us = col_api_cell_i64(res, row, col);
    if (PQgetisnull(res, row, col) || us > INT64_MAX / 1000 || us < INT64_MIN / 1000)
        return cJSON_CreateNull();
    return col_api_ts_json(us * 1000);
}

/* True for text that is a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
bool col_api_is_json_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        if (*++s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* PostgreSQL (12+) prints a float8 in its shortest exact form, which is
 * already valid JSON unless it is NaN or Infinity: pass it through instead
 * of parsing and re-printing it (half the CPU of a metrics request). */
cJSON *col_api_cell_f64(const PGresult *res, int row, int col)
{
    const char *s = PQgetvalue(res, row, col);
    if (PQgetisnull(res, row, col) || strlen(s) > 64 || !col_api_is_json_number(s))
        return cJSON_CreateNull();
    return cJSON_CreateRaw(s);
}

static cJSON *col_api_cell_i64_json(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return cJSON_CreateNull();
    return cJSON_CreateNumber((double)col_api_cell_i64(res, row, col));
}

void col_api_add_str(cJSON *obj, const char *key, const PGresult *res, int row, int col)
{
    cJSON_AddItemToObject(obj, key, PQgetisnull(res, row, col)
                                        ? cJSON_CreateNull()
                                        : cJSON_CreateString(PQgetvalue(res, row, col)));
}

void col_api_add_i64(cJSON *obj, const char *key, const PGresult *res, int row, int col)
{
    cJSON_AddItemToObject(obj, key, col_api_cell_i64_json(res, row, col));
}

void col_api_add_f64(cJSON *obj, const char *key, const PGresult *res, int row, int col)
{
    cJSON_AddItemToObject(obj, key, col_api_cell_f64(res, row, col));
}

void col_api_add_ts(cJSON *obj, const char *key, const PGresult *res, int row, int col)
{
    cJSON_AddItemToObject(obj, key, col_api_cell_ts(res, row, col));
}

int col_api_add_next_cursor(cJSON *root, const PGresult *res, int64_t limit, int keycol)
{
    int n = PQntuples(res);
    if (n <= limit) {
        cJSON_AddNullToObject(root, "next_cursor");
        return n;
    }
    char cur[32];
    col_api_cursor_format(col_api_cell_i64(res, (int)limit - 1, keycol), cur, sizeof cur);
    cJSON_AddStringToObject(root, "next_cursor", cur);
    return (int)limit;
}

void col_api_page_run(struct col_api_work *w, const struct col_api_page *pg)
{
    char after[24], limit[24];
    snprintf(after, sizeof after, "%" PRId64, pg->after);
    snprintf(limit, sizeof limit, "%" PRId64, pg->limit + 1);
    const char *params[] = {after, limit, pg->extra};
    PGresult *res = NULL;
    if (col_api_exec(w, pg->sql, 3, params, &res) < 0)
        return;
    cJSON *root = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(root, pg->list_key);
    int n = col_api_add_next_cursor(root, res, pg->limit, 0);
    for (int r = 0; r < n; r++)
        cJSON_AddItemToArray(list, pg->row_json(res, r));
    PQclear(res);
    col_api_resp_json(&w->resp, 200, root);
}
