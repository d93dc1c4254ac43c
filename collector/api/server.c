/* server.c - the API's TCP side on the libuv loop: listen, accept,
 * connection lifecycle, keep-alive, timeouts, and sending responses.
 *
 * One request per connection is handled at a time; pipelined bytes wait in
 * the connection's input buffer (reading pauses when it fills). A connection
 * is freed when its two handles are closed and no deferred work refers to
 * it; the API itself is freed once stopped and every connection is gone. It
 * does not parse HTTP (request.c) nor decide what to answer (router.c). */
#include "collector/api/api_int.h"

#include "common/alloc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/parse.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COL_API_INBUF_MAX (256 * 1024)   /* hard cap of pending input */
#define COL_API_INBUF_PAUSE (128 * 1024) /* stop reading above this while busy */
#define COL_API_READ_CHUNK (64 * 1024)
#define COL_API_HEAD_MAX 1024

struct col_api_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct col_api *api;
    struct col_api_conn *prev, *next;
    struct col_http_parser hp;
    struct cm_buf in; /* received, not yet parsed */
    int refs;         /* open handles + deferred work */
    bool busy;        /* a request is being handled */
    bool closing;
    bool keep_alive; /* of the request being handled */
    bool done;       /* a non-keep-alive reply was sent: no more requests */
    bool reading;
};

struct col_api_write {
    uv_write_t req;
    struct col_api_conn *conn;
    char head[COL_API_HEAD_MAX];
    char *body;
    bool close_after;
};

static void col_api_conn_process(struct col_api_conn *c);
static void col_api_conn_read_start(struct col_api_conn *c);

static void col_api_maybe_free(struct col_api *api)
{
    if (!api->stopping || api->refs > 0)
        return;
    col_dbpool_free(api->pool);
    free(api);
}

static void col_api_conn_unref(struct col_api_conn *c)
{
    if (--c->refs > 0)
        return;
    struct col_api *api = c->api;
    if (c->prev)
        c->prev->next = c->next;
    else
        api->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    col_http_parser_close(&c->hp);
    cm_buf_close(&c->in);
    free(c);
    api->nconns--;
    api->refs--;
    col_api_maybe_free(api);
}

static void col_api_on_handle_closed(uv_handle_t *h)
{
    col_api_conn_unref(h->data);
}

static void col_api_conn_close(struct col_api_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, col_api_on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, col_api_on_handle_closed);
}

static void col_api_on_timeout(uv_timer_t *t)
{
    col_api_conn_close(t->data);
}

static void col_api_on_write(uv_write_t *w, int status)
{
    struct col_api_write *wr = (struct col_api_write *)w;
    struct col_api_conn *c = wr->conn;
    if ((status < 0 || wr->close_after) && !c->closing)
        col_api_conn_close(c);
    free(wr->body);
    free(wr);
}

/* Queues the response; writes go out in order, so pipelined replies do too. */
static void col_api_conn_send(struct col_api_conn *c, struct col_api_resp *r, bool keep_alive)
{
    struct col_api_write *wr = cm_xcalloc(1, sizeof *wr);
    size_t hlen = 0;
    if (col_api_resp_head(r, keep_alive, wr->head, sizeof wr->head, &hlen) < 0) {
        free(r->body); /* headers are ours and small; this cannot happen */
        r->body = NULL;
        r->len = 0;
        keep_alive = false;
        hlen = (size_t)snprintf(wr->head, sizeof wr->head,
                                "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n"
                                "Connection: close\r\n\r\n");
    }
    if (r->status >= 400)
        atomic_fetch_add(&c->api->stats->http_errors, 1);
    wr->conn = c;
    wr->body = r->body;
    wr->close_after = !keep_alive;
    r->body = NULL;
    uv_buf_t bufs[2] = {uv_buf_init(wr->head, (unsigned)hlen),
                        uv_buf_init(wr->body ? wr->body : "", (unsigned)r->len)};
    int rc = uv_write(&wr->req, (uv_stream_t *)&c->tcp, bufs, wr->body ? 2 : 1, col_api_on_write);
    if (rc < 0) {
        free(wr->body);
        free(wr);
        col_api_conn_close(c);
    }
}

/* Called by handlers (sync) and by the work completion: the request is done. */
static void col_api_conn_finish(struct col_api_conn *c, struct col_api_resp *r)
{
    c->busy = false;
    if (c->closing || c->api->stopping) {
        free(r->body);
        r->body = NULL;
        col_api_conn_close(c);
        return;
    }
    col_api_conn_send(c, r, c->keep_alive);
    if (!c->keep_alive) {
        c->done = true;
        return;
    }
    uv_timer_start(&c->timer, col_api_on_timeout, COL_API_IDLE_TIMEOUT_MS, 0);
    col_api_conn_read_start(c);
}

void col_api_reply(struct col_api_req *req, struct col_api_resp *resp)
{
    col_api_conn_finish(req->conn, resp);
}

static void col_api_work_run(uv_work_t *uw)
{
    struct col_api_work *w = uw->data;
    int slot = -1;
    if (col_dbpool_acquire(w->api->pool, &w->db, &slot, w->dberr, sizeof w->dberr) < 0) {
        w->db = NULL;
        if (!w->nodb_ok) {
            col_api_resp_error(&w->resp, 503, "unavailable", "database unreachable");
            return;
        }
    }
    w->run(w);
    if (w->db)
        col_dbpool_release(w->api->pool, slot);
    w->db = NULL;
}

static void col_api_work_done(uv_work_t *uw, int status)
{
    struct col_api_work *w = uw->data;
    struct col_api_conn *c = w->conn;
    if (status < 0) /* cancelled: never ran */
        col_api_resp_error(&w->resp, 503, "unavailable", "shutting down");
    col_api_conn_finish(c, &w->resp);
    free(w->resp.body);
    free(w->arg);
    free(w);
    if (!c->closing)
        col_api_conn_process(c);
    col_api_conn_unref(c);
}

void col_api_defer(struct col_api_req *req, col_api_run_cb run, void *arg, bool nodb_ok)
{
    struct col_api_work *w = cm_xcalloc(1, sizeof *w);
    w->uv.data = w;
    w->api = req->api;
    w->conn = req->conn;
    w->run = run;
    w->arg = arg;
    w->nodb_ok = nodb_ok;
    req->conn->refs++;
    int rc = uv_queue_work(req->api->loop, &w->uv, col_api_work_run, col_api_work_done);
    if (rc < 0) {
        req->conn->refs--;
        free(arg);
        free(w);
        col_api_fail(req, 503, "unavailable", "cannot queue the query");
    }
}

static void col_api_conn_consume(struct col_api_conn *c, size_t n)
{
    memmove(c->in.data, c->in.data + n, c->in.len - n);
    c->in.len -= n;
    c->in.data[c->in.len] = '\0';
}

/* Bad request bytes: answer with the parser's status, then close. */
static void col_api_conn_reject(struct col_api_conn *c)
{
    struct col_api_resp r = {0};
    int st = c->hp.status ? c->hp.status : 400;
    const char *code = st == 413 ? "payload_too_large"
                       : st == 414 ? "uri_too_long"
                       : st == 431 ? "header_fields_too_large"
                                   : "bad_request";
    col_api_resp_error(&r, st, code, "%s", c->hp.error ? c->hp.error : "malformed request");
    atomic_fetch_add(&c->api->stats->http_requests, 1);
    c->busy = true;
    c->keep_alive = false;
    col_api_conn_finish(c, &r);
}

static void col_api_conn_process(struct col_api_conn *c)
{
    while (!c->busy && !c->closing && !c->done && c->in.len > 0) {
        size_t used = 0;
        int rc = col_http_parser_feed(&c->hp, c->in.data, c->in.len, &used);
        col_api_conn_consume(c, used);
        if (rc < 0) {
            col_api_conn_reject(c);
            return;
        }
        if (rc == COL_HTTP_MORE) {
            /* a request has begun: it must arrive whole in time */
            if (col_http_parser_is_mid_request(&c->hp) && !uv_is_active((uv_handle_t *)&c->timer))
                uv_timer_start(&c->timer, col_api_on_timeout, COL_API_REQUEST_TIMEOUT_MS, 0);
            break;
        }
        uv_timer_stop(&c->timer);
        c->busy = true;
        c->keep_alive = c->hp.req.keep_alive;
        struct col_api_req req = {.api = c->api, .conn = c, .http = &c->hp.req};
        col_api_route(&req);
    }
}

static void col_api_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    buf->base = cm_xmalloc(COL_API_READ_CHUNK);
    buf->len = COL_API_READ_CHUNK;
}

static void col_api_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct col_api_conn *c = s->data;
    if (nread < 0) {
        c->reading = false;
        if (nread == UV_EOF && c->busy)
            c->keep_alive = false; /* half-closed: answer, then close */
        else
            col_api_conn_close(c);
    } else if (nread > 0 && !c->closing && !c->done) {
        if (cm_buf_append(&c->in, buf->base, (size_t)nread) < 0) {
            col_api_conn_close(c); /* cannot happen: reading pauses earlier */
        } else {
            /* a new request on an idle keep-alive connection: idle timer off */
            if (!c->busy && !col_http_parser_is_mid_request(&c->hp))
                uv_timer_stop(&c->timer);
            col_api_conn_process(c);
            if (!c->busy && !c->closing && !c->done &&
                !uv_is_active((uv_handle_t *)&c->timer))
                uv_timer_start(&c->timer, col_api_on_timeout, COL_API_IDLE_TIMEOUT_MS, 0);
            if (c->busy && c->in.len >= COL_API_INBUF_PAUSE && c->reading) {
                uv_read_stop(s);
                c->reading = false;
            }
        }
    }
    free(buf->base);
}

static void col_api_conn_read_start(struct col_api_conn *c)
{
    if (c->reading || c->closing)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, col_api_on_alloc, col_api_on_read) == 0)
        c->reading = true;
    else
        col_api_conn_close(c);
}

/* A refused connection lingers briefly: it answers, half-closes and drains
 * what the client sent, because closing with unread bytes would reset the
 * connection and the client might never see the 503. */
#define COL_API_LINGER_MS 2000

struct col_api_refused {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t sd;
    struct col_api *api;
    struct col_api_refused *prev, *next;
    int open_handles;
};

static void col_api_refused_closed(uv_handle_t *h)
{
    struct col_api_refused *rf = h->data;
    if (--rf->open_handles > 0)
        return;
    struct col_api *api = rf->api;
    if (rf->prev)
        rf->prev->next = rf->next;
    else
        api->refused = rf->next;
    if (rf->next)
        rf->next->prev = rf->prev;
    free(rf);
    api->refs--;
    col_api_maybe_free(api);
}

static void col_api_refused_close(struct col_api_refused *rf)
{
    if (!uv_is_closing((uv_handle_t *)&rf->tcp)) {
        uv_close((uv_handle_t *)&rf->tcp, col_api_refused_closed);
        uv_close((uv_handle_t *)&rf->timer, col_api_refused_closed);
    }
}

static void col_api_refused_timeout(uv_timer_t *t)
{
    col_api_refused_close(t->data);
}

static void col_api_refused_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    free(buf->base);
    if (nread < 0)
        col_api_refused_close(s->data);
}

static void col_api_refused_shut(uv_shutdown_t *sd, int status)
{
}

/* Over http_max_connections: a short 503 without reading the request. */
static void col_api_refuse(struct col_api *api)
{
    static const char resp[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Content-Length: 65\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
        "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections\"}}";
    struct col_api_refused *rf = cm_xcalloc(1, sizeof *rf);
    uv_tcp_init(api->loop, &rf->tcp);
    uv_timer_init(api->loop, &rf->timer);
    rf->tcp.data = rf->timer.data = rf;
    rf->open_handles = 2;
    rf->api = api;
    rf->next = api->refused;
    if (api->refused)
        api->refused->prev = rf;
    api->refused = rf;
    api->refs++;
    atomic_fetch_add(&api->stats->http_errors, 1);
    uv_buf_t b = uv_buf_init((char *)resp, sizeof resp - 1);
    if (uv_accept((uv_stream_t *)&api->server, (uv_stream_t *)&rf->tcp) < 0 ||
        uv_try_write((uv_stream_t *)&rf->tcp, &b, 1) != (int)b.len ||
        uv_shutdown(&rf->sd, (uv_stream_t *)&rf->tcp, col_api_refused_shut) < 0 ||
        uv_read_start((uv_stream_t *)&rf->tcp, col_api_on_alloc, col_api_refused_read) < 0) {
        col_api_refused_close(rf);
        return;
    }
    uv_timer_start(&rf->timer, col_api_refused_timeout, COL_API_LINGER_MS, 0);
}

static void col_api_on_connection(uv_stream_t *server, int status)
{
    struct col_api *api = server->data;
    if (status < 0 || api->stopping)
        return;
    if (api->nconns >= (size_t)api->cfg->http_max_connections) {
        col_api_refuse(api);
        return;
    }
    struct col_api_conn *c = cm_xcalloc(1, sizeof *c);
    c->api = api;
    c->refs = 2;
    col_http_parser_init(&c->hp);
    cm_buf_init(&c->in, COL_API_INBUF_MAX);
    uv_tcp_init(api->loop, &c->tcp);
    uv_timer_init(api->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->next = api->conns;
    if (api->conns)
        api->conns->prev = c;
    api->conns = c;
    api->nconns++;
    api->refs++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        col_api_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_timer_start(&c->timer, col_api_on_timeout, COL_API_REQUEST_TIMEOUT_MS, 0);
    col_api_conn_read_start(c);
}

/* "host:port", "[v6]:port"; the host must be a literal address. */
static int col_api_parse_listen(const char *s, struct sockaddr_storage *ss, char *err,
                                size_t errlen)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    int64_t port = -1;
    size_t hlen = colon ? (size_t)(colon - s) : 0;
    if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
        s++;
        hlen -= 2;
    }
    if (!colon || hlen == 0 || hlen >= sizeof host ||
        cm_parse_i64(colon + 1, strlen(colon + 1), &port) < 0 || port < 0 || port > 65535) {
        snprintf(err, errlen, "http_listen: expected host:port, e.g. 127.0.0.1:8080");
        return CM_ECONFIG;
    }
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) != 0 &&
        uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) != 0) {
        snprintf(err, errlen, "http_listen: '%s' is not an IP address", host);
        return CM_ECONFIG;
    }
    return 0;
}

static int col_api_bind(struct col_api *api, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    int rc = col_api_parse_listen(api->cfg->http_listen ? api->cfg->http_listen : "",
                                  &ss, err, errlen);
    if (rc < 0)
        return rc;
    uv_tcp_init(api->loop, &api->server);
    api->server.data = api;
    api->refs = 1;
    rc = uv_tcp_bind(&api->server, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&api->server, 128, col_api_on_connection);
    if (rc < 0) {
        snprintf(err, errlen, "http_listen: cannot listen on %s: %s", api->cfg->http_listen,
                 uv_strerror(rc));
        return rc;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&api->server, (struct sockaddr *)&bound, &len);
    api->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    return 0;
}

static void col_api_on_server_closed(uv_handle_t *h)
{
    struct col_api *api = h->data;
    api->refs--;
    col_api_maybe_free(api);
}

int col_api_start(uv_loop_t *loop, const struct col_config *cfg, struct col_stats *stats,
                  struct col_api **out, char *err, size_t errlen)
{
    int rc = col_api_auth_check_config(cfg, err, errlen);
    if (rc < 0)
        return rc;
    struct col_api *api = cm_xcalloc(1, sizeof *api);
    api->loop = loop;
    api->cfg = cfg;
    api->stats = stats;
    api->started_mono_ns = cm_time_mono_ns();
    rc = col_dbpool_new(cfg->database ? cfg->database : "", (int)cfg->api_db_connections,
                        &api->pool);
    if (rc < 0) {
        snprintf(err, errlen, "api_db_connections: must be 1..64");
        free(api);
        return CM_ECONFIG;
    }
    rc = col_api_bind(api, err, errlen);
    if (rc < 0) {
        api->stopping = true;
        if (api->refs) /* the handle was initialised: free once it is closed */
            uv_close((uv_handle_t *)&api->server, col_api_on_server_closed);
        else
            col_api_maybe_free(api);
        return rc;
    }
    cm_info(COL_API_MOD, "listening", "addr=%s port=%d", cfg->http_listen, api->port);
    *out = api;
    return 0;
}

int col_api_port(const struct col_api *api)
{
    return api ? api->port : -1;
}

void col_api_stop(struct col_api *api)
{
    if (!api || api->stopping)
        return;
    api->stopping = true;
    for (struct col_api_conn *c = api->conns; c; c = c->next)
        col_api_conn_close(c);
    for (struct col_api_refused *rf = api->refused; rf; rf = rf->next)
        col_api_refused_close(rf);
    uv_close((uv_handle_t *)&api->server, col_api_on_server_closed);
}
