/* api_int.h - what the API's files share; not for use outside collector/api.
 *
 * Flow: server.c reads bytes and hands each complete request to router.c,
 * which checks the token (auth.c) and calls one handler. A handler answers
 * at once (col_api_reply) or parses its parameters on the loop thread and
 * defers the database part to libuv's thread pool (col_api_defer); the
 * run callback fills w->resp there and server.c sends it back on the loop. */
#ifndef COL_API_INT_H
#define COL_API_INT_H

#include "collector/api/api.h"
#include "collector/api/dbpool.h"
#include "collector/api/request.h"

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define COL_API_MOD "api"
#define COL_API_PARAM_MAX 128 /* a {id} path segment */
#define COL_API_REQUEST_TIMEOUT_MS 10000 /* to receive one whole request */
#define COL_API_IDLE_TIMEOUT_MS 30000    /* keep-alive connection without a request */

struct col_api_conn;    /* server.c */
struct col_api_refused; /* server.c: connections over the limit, lingering */

struct col_api {
    uv_loop_t *loop;
    const struct col_config *cfg; /* borrowed */
    struct col_stats *stats;      /* borrowed */
    uv_tcp_t server;
    struct col_dbpool *pool; /* owned */
    int port;
    int64_t started_mono_ns;
    size_t nconns;
    size_t refs; /* server handle + connections (also refused); freed at 0 once stopping */
    struct col_api_conn *conns;
    struct col_api_refused *refused;
    struct col_rulebook *rules; /* borrowed, NULL until col_api_set_rules */
    bool stopping;
};

/* A response; body is owned (malloc'd) and freed by whoever sends it. */
struct col_api_resp {
    int status;
    const char *ctype; /* static */
    char *body;
    size_t len;
    const char *extra; /* static header lines, each ending in "\r\n", or NULL */
};

/* One request being handled; valid for the duration of the handler call. */
struct col_api_req {
    struct col_api *api;
    struct col_api_conn *conn;
    const struct col_http_req *http;
    char param[COL_API_PARAM_MAX + 1]; /* the {id} segment, "" when none */
};

/* Work deferred to the thread pool. run() is called off the loop thread with
 * a pooled connection (db NULL and dberr set only when nodb_ok) and fills
 * resp; it must not touch the loop, the connection or the request. */
struct col_api_work;
typedef void (*col_api_run_cb)(struct col_api_work *w);
struct col_api_work {
    uv_work_t uv;
    struct col_api *api;
    struct col_api_conn *conn;
    col_api_run_cb run;
    void *arg; /* owned, free()d after run; flat structs only */
    bool nodb_ok;
    PGconn *db;
    char dberr[256];
    struct col_api_resp resp;
};

typedef void (*col_api_handler_cb)(struct col_api_req *req);

/* server.c */
void col_api_reply(struct col_api_req *req, struct col_api_resp *resp); /* takes resp->body */
void col_api_defer(struct col_api_req *req, col_api_run_cb run, void *arg, bool nodb_ok);

/* router.c */
void col_api_route(struct col_api_req *req);

/* auth.c */
int col_api_auth_check_config(const struct col_config *cfg, char *err, size_t errlen);
bool col_api_auth_is_reader(const struct col_config *cfg, const struct col_http_req *r);

/* respond.c */
const char *col_api_status_text(int status);
void col_api_resp_json(struct col_api_resp *r, int status, cJSON *root); /* frees root */
void col_api_resp_error(struct col_api_resp *r, int status, const char *code, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* Builds the status line and headers into out; returns CM_ETOOBIG if it does not fit. */
int col_api_resp_head(const struct col_api_resp *r, bool keep_alive, char *out, size_t outlen,
                      size_t *len);
/* Replies with an error at once. */
void col_api_fail(struct col_api_req *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* rows.c: queries and result cells -> JSON */
/* Runs a parameterized query (text results). On failure fills w->resp with
 * a 503 and returns CM_EDB; *out is the caller's to PQclear. */
int col_api_exec(struct col_api_work *w, const char *sql, int n, const char *const *params,
                 PGresult **out);
/* Pagination: res holds up to limit + 1 rows ordered by the key in column
 * keycol; adds "next_cursor" (null on the last page) to root and returns how
 * many rows to render. */
int col_api_add_next_cursor(cJSON *root, const PGresult *res, int64_t limit, int keycol);
/* A keyset-paged list: sql takes $1 after-key, $2 limit + 1, $3 extra (may
 * be NULL) and returns the key in column 0; row_json renders one row. */
struct col_api_page {
    const char *sql;
    const char *list_key;
    int64_t limit, after;
    const char *extra;
    cJSON *(*row_json)(const PGresult *res, int row);
};
void col_api_page_run(struct col_api_work *w, const struct col_api_page *pg);
/* SQL for a timestamptz as microseconds since the epoch (what add_ts reads) */
#define COL_API_SQL_US(col) "(extract(epoch FROM " col ") * 1000000)::bigint"
bool col_api_cell_is_null(const PGresult *res, int row, int col);
int64_t col_api_cell_i64(const PGresult *res, int row, int col); /* 0 when NULL/bad */
/* Adds res[row][col] to obj under key as JSON null or: */
void col_api_add_str(cJSON *obj, const char *key, const PGresult *res, int row, int col);
void col_api_add_i64(cJSON *obj, const char *key, const PGresult *res, int row, int col);
void col_api_add_f64(cJSON *obj, const char *key, const PGresult *res, int row, int col);
/* a cell holding microseconds since the epoch, as an RFC 3339 string */
void col_api_add_ts(cJSON *obj, const char *key, const PGresult *res, int row, int col);
cJSON *col_api_ts_json(int64_t ns);
/* single cells as new JSON items (null when NULL or unparsable) */
cJSON *col_api_cell_ts(const PGresult *res, int row, int col);
cJSON *col_api_cell_f64(const PGresult *res, int row, int col);
/* True when s is a JSON number as the grammar of RFC 8259 spells it. */
bool col_api_is_json_number(const char *s);

/* params.c */
#define COL_API_QUERY_MAX_PAIRS 32
struct col_api_query {
    char buf[2 * COL_HTTP_MAX_URL]; /* decoded keys and values */
    const char *key[COL_API_QUERY_MAX_PAIRS];
    const char *val[COL_API_QUERY_MAX_PAIRS];
    size_t n;
};
#define COL_API_LIMIT_DEFAULT 100
#define COL_API_LIMIT_MAX 1000
#define COL_API_STEP_MIN_MS 10000
#define COL_API_MAX_POINTS 11000
/* Each returns 0 or CM_EPARSE with err naming the parameter. */
int col_api_query_parse(const char *qs, struct col_api_query *q, char *err, size_t errlen);
const char *col_api_query_get(const struct col_api_query *q, const char *key);
int col_api_param_limit(const struct col_api_query *q, int64_t *limit, char *err, size_t errlen);
/* *after is 0 when no cursor was given */
int col_api_param_cursor(const struct col_api_query *q, int64_t *after, char *err,
                         size_t errlen);
/* from/to (ns) and step (ms) with their defaults and limits */
int col_api_param_window(const struct col_api_query *q, int64_t now_ns, int64_t *from,
                         int64_t *to, uint64_t *step_ms, char *err, size_t errlen);
/* Writes the opaque cursor for "after this key" (needs 24 bytes). */
void col_api_cursor_format(int64_t key, char *out, size_t outlen);
/* Parses query and limit/cursor in one go, replying 400 itself on error. */
int col_api_page_params(struct col_api_req *req, struct col_api_query *q, int64_t *limit,
                        int64_t *after);

/* containers.c: columns 0..8 of a containers+agents row (id, container_id,
 * name, hostname, agent name, runtime, cgroup_path, first/last seen in us) */
cJSON *col_api_container_base(const PGresult *res, int r);
#define COL_API_HOST_MAX 255 /* host= and container= values */
/* 1..max bytes of printable ASCII without spaces */
bool col_api_is_printable(const char *s, size_t max);

/* checks.c: a finding's "check" {id, title, severity, cis} from the
 * catalogue; for an id it no longer has, title and cis are null and the
 * severity is `fallback` (what the finding was stored with). */
cJSON *col_api_check_ref(const char *id, const char *fallback);
/* The bigint in column vcol of the row whose column kcol equals key; 0 when
 * there is none (GROUP BY results). */
int64_t col_api_count_of(const PGresult *res, int kcol, const char *key, int vcol);

/* findings.c: the columns col_api_finding_json reads, FROM findings f with
 * agents a, containers c and container_inventory i joined; callers add
 * WHERE and ORDER BY. */
#define COL_API_FINDING_SQL                                                                    \
    "SELECT f.id, f.check_id, f.severity, f.status, f.detail, " COL_API_SQL_US("f.first_seen") \
    ", " COL_API_SQL_US("f.last_seen") ", " COL_API_SQL_US("f.resolved_at") ", "             \
    "f.resolved_reason, a.name, a.hostname, c.container_id, "                                \
    "coalesce(c.name, left(c.container_id, 12)), i.image "                                   \
    "FROM findings f JOIN agents a ON a.id = f.agent_id "                                    \
    "LEFT JOIN containers c ON c.id = f.container_ref "                                      \
    "LEFT JOIN container_inventory i ON i.container_ref = f.container_ref "
cJSON *col_api_finding_json(const PGresult *res, int r);
/* severity=high (a minimum) or severity=low,high (exactly those) as a text[]
 * literal ("{high,critical}") in out (64 bytes); -1 with err on a bad name. */
int col_api_param_severity(const char *v, char *out, size_t outlen, char *err, size_t errlen);

/* handlers */
void col_api_health(struct col_api_req *req);
void col_api_agents(struct col_api_req *req);
void col_api_containers(struct col_api_req *req);
void col_api_container_metrics(struct col_api_req *req);
void col_api_container(struct col_api_req *req);
void col_api_checks(struct col_api_req *req);
void col_api_findings(struct col_api_req *req);
void col_api_posture(struct col_api_req *req);
void col_api_prom(struct col_api_req *req);
void col_api_static(struct col_api_req *req);
void col_api_events(struct col_api_req *req); /* events.c */
void col_api_rules(struct col_api_req *req);  /* events.c */

/* Runs sql ($1 = id: a container id, or a prefix of at least 12 characters;
 * the query orders an exact match first and returns at most 2 rows, the
 * runtime's id in column 1) and settles which container id names: 0 with
 * *out holding its row first, or -1 with w->resp set (404 unknown, 409 a
 * prefix of more than one container). */
int col_api_container_lookup(struct col_api_work *w, const char *sql, const char *id,
                             PGresult **out);

#endif
