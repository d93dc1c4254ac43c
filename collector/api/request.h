/* request.h - one HTTP/1.1 request at a time out of a byte stream.
 *
 * A thin wrapper around http_parser that copies the request line, headers
 * and body into capped buffers and stops after each complete request, so
 * pipelined requests are handled one by one in order. Pure: no sockets, no
 * logging, no allocation beyond the capped buffers, so it can be fuzzed.
 * It does not interpret headers beyond what http_parser does (keep-alive,
 * Content-Length, chunked transfer coding). */
#ifndef COL_API_REQUEST_H
#define COL_API_REQUEST_H

#include "common/buf.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#define COL_HTTP_MAX_URL 4096                  /* request target; more -> 414 */
#define COL_HTTP_MAX_HEADER_BLOCK (16 * 1024)  /* names + values; more -> 431 */
#define COL_HTTP_MAX_HEADERS 64                /* more -> 431 */
#define COL_HTTP_MAX_BODY (64 * 1024)          /* decoded body; more -> 413 */

enum { COL_HTTP_MORE = 0, COL_HTTP_DONE = 1 };

struct col_http_header {
    const char *name;  /* as sent; compare case-insensitively */
    const char *value; /* leading/trailing blanks removed by http_parser */
};

/* A parsed request. Every pointer points into the parser's buffers and is
 * valid until the next col_http_parser_feed() or _close(). */
struct col_http_req {
    const char *method; /* "GET", ... (static string) */
    const char *path;   /* target up to '?', never NULL */
    const char *query;  /* after '?', "" when none; not decoded */
    struct col_http_header headers[COL_HTTP_MAX_HEADERS];
    size_t nheaders;
    const char *body; /* NUL-terminated; "" when none */
    size_t body_len;
    bool keep_alive;
};

struct col_http_parser {
    http_parser p;
    struct col_http_req req;
    struct cm_buf url;  /* path '\0' query */
    struct cm_buf hdrs; /* name '\0' value '\0' ... */
    struct cm_buf body;
    size_t hoff[COL_HTTP_MAX_HEADERS][2]; /* name, value offsets into hdrs */
    int last_cb;                          /* 0 none, 1 header field, 2 header value */
    bool in_message;                      /* between message begin and complete */
    int status;                           /* HTTP status of the error, 0 when none */
    const char *error;                    /* static text of the error */
};

/* The caller owns the storage; _close releases the buffers. */
void col_http_parser_init(struct col_http_parser *hp);
void col_http_parser_close(struct col_http_parser *hp);

/* Parses from data[0..len). Returns COL_HTTP_DONE when a request is
 * complete (hp->req filled; *consumed bytes belong to it, the rest is the
 * next request), COL_HTTP_MORE when every byte was consumed and the request
 * is not complete yet, or CM_EPARSE with hp->status (400, 413, 414, 431)
 * and hp->error set; after an error the stream cannot be resumed. */
int col_http_parser_feed(struct col_http_parser *hp, const char *data, size_t len,
                         size_t *consumed);

/* True when a request has started but is not complete yet. */
bool col_http_parser_is_mid_request(const struct col_http_parser *hp);

/* The first header named `name` (case-insensitive), or NULL. */
const char *col_http_req_header(const struct col_http_req *r, const char *name);

#endif
