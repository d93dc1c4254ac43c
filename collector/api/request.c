/* request.c - http_parser wrapper with capped buffers (see request.h).
 *
 * Callbacks copy into cm_bufs whose caps are the request limits; a callback
 * returning non-zero stops http_parser, and hp->status says which limit was
 * hit. After a complete message the parser is paused so that the caller sees
 * exactly one request per DONE. */
#include "collector/api/request.h"

#include "common/err.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

enum { CB_NONE = 0, CB_FIELD, CB_VALUE };

static struct col_http_parser *hp_of(http_parser *p)
{
    return p->data;
}

static int hp_fail(struct col_http_parser *hp, int status, const char *why)
{
    hp->status = status;
    hp->error = why;
    return -1;
}

static int on_message_begin(http_parser *p)
{
    struct col_http_parser *hp = hp_of(p);
    cm_buf_reset(&hp->url);
    cm_buf_reset(&hp->hdrs);
    cm_buf_reset(&hp->body);
    hp->req.nheaders = 0;
    hp->last_cb = CB_NONE;
    hp->in_message = true;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct col_http_parser *hp = hp_of(p);
    if (cm_buf_append(&hp->url, at, len) < 0)
        return hp_fail(hp, 414, "request target too long");
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct col_http_parser *hp = hp_of(p);
    if (hp->last_cb != CB_FIELD) {
        if (hp->req.nheaders >= COL_HTTP_MAX_HEADERS)
            return hp_fail(hp, 431, "too many header fields");
        if (hp->last_cb == CB_VALUE && cm_buf_append(&hp->hdrs, "", 1) < 0)
            return hp_fail(hp, 431, "header block too large");
        hp->hoff[hp->req.nheaders++][0] = hp->hdrs.len;
        hp->last_cb = CB_FIELD;
    }
    if (cm_buf_append(&hp->hdrs, at, len) < 0)
        return hp_fail(hp, 431, "header block too large");
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct col_http_parser *hp = hp_of(p);
    if (hp->last_cb == CB_FIELD) {
        if (cm_buf_append(&hp->hdrs, "", 1) < 0)
            return hp_fail(hp, 431, "header block too large");
        hp->hoff[hp->req.nheaders - 1][1] = hp->hdrs.len;
        hp->last_cb = CB_VALUE;
    }
    if (hp->last_cb != CB_VALUE)
        return hp_fail(hp, 400, "header value without a name");
    if (cm_buf_append(&hp->hdrs, at, len) < 0)
        return hp_fail(hp, 431, "header block too large");
    return 0;
}

/* A header name with an empty value never gets a value callback. */
static int hp_finish_headers(struct col_http_parser *hp)
{
    if (hp->last_cb == CB_FIELD) {
        if (cm_buf_append(&hp->hdrs, "", 1) < 0)
            return hp_fail(hp, 431, "header block too large");
        hp->hoff[hp->req.nheaders - 1][1] = hp->hdrs.len;
    }
    if (cm_buf_append(&hp->hdrs, "", 1) < 0)
        return hp_fail(hp, 431, "header block too large");
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct col_http_parser *hp = hp_of(p);
    if (hp_finish_headers(hp) < 0)
        return -1;
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > COL_HTTP_MAX_BODY)
        return hp_fail(hp, 413, "request body too large");
    if (hp->url.len == 0 || hp->url.data[0] != '/')
        return hp_fail(hp, 400, "request target must be an absolute path");
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct col_http_parser *hp = hp_of(p);
    if (cm_buf_append(&hp->body, at, len) < 0)
        return hp_fail(hp, 413, "request body too large");
    return 0;
}

static void hp_fill_req(struct col_http_parser *hp)
{
    struct col_http_req *r = &hp->req;
    char *q = memchr(hp->url.data, '?', hp->url.len);
    if (q)
        *q = '\0';
    r->path = hp->url.data;
    r->query = q ? q + 1 : "";
    for (size_t i = 0; i < r->nheaders; i++) {
        r->headers[i].name = hp->hdrs.data + hp->hoff[i][0];
        r->headers[i].value = hp->hdrs.data + hp->hoff[i][1];
    }
    r->body = hp->body.data ? hp->body.data : "";
    r->body_len = hp->body.len;
    r->method = http_method_str((enum http_method)hp->p.method);
    /* no protocol upgrades here: such a connection is closed after the reply */
    r->keep_alive = http_should_keep_alive(&hp->p) != 0 && !hp->p.upgrade;
}

static int on_message_complete(http_parser *p)
{
    struct col_http_parser *hp = hp_of(p);
    hp_fill_req(hp);
    hp->in_message = false;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings col_http_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void col_http_parser_init(struct col_http_parser *hp)
{
    memset(hp, 0, sizeof *hp);
    http_parser_init(&hp->p, HTTP_REQUEST);
    hp->p.data = hp;
    cm_buf_init(&hp->url, COL_HTTP_MAX_URL);
    cm_buf_init(&hp->hdrs, COL_HTTP_MAX_HEADER_BLOCK);
    cm_buf_init(&hp->body, COL_HTTP_MAX_BODY);
}

void col_http_parser_close(struct col_http_parser *hp)
{
    cm_buf_close(&hp->url);
    cm_buf_close(&hp->hdrs);
    cm_buf_close(&hp->body);
}

int col_http_parser_feed(struct col_http_parser *hp, const char *data, size_t len,
                         size_t *consumed)
{
    *consumed = 0;
    if (hp->status)
        return CM_EPARSE;
    if (HTTP_PARSER_ERRNO(&hp->p) == HPE_PAUSED)
        http_parser_pause(&hp->p, 0);
    size_t n = http_parser_execute(&hp->p, &col_http_settings, data, len);
    *consumed = n;
    enum http_errno e = HTTP_PARSER_ERRNO(&hp->p);
    if (e == HPE_PAUSED)
        return COL_HTTP_DONE;
    if (e == HPE_OK && n == len)
        return COL_HTTP_MORE;
    if (!hp->status) {
        if (e == HPE_HEADER_OVERFLOW)
            hp_fail(hp, 431, "header block too large");
        else if (e == HPE_INVALID_METHOD)
            hp_fail(hp, 400, "unknown request method");
        else
            hp_fail(hp, 400, e == HPE_OK ? "unexpected data" : http_errno_description(e));
    }
    return CM_EPARSE;
}

bool col_http_parser_is_mid_request(const struct col_http_parser *hp)
{
    return hp->in_message;
}

const char *col_http_req_header(const struct col_http_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}
