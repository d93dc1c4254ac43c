/* fuzz_http_request.c - feeds arbitrary bytes to the API's HTTP request
 * parser the way server.c does (in pieces, resuming after each complete
 * request) and checks the invariants of every request it yields. */
#include "collector/api/request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_request(const struct col_http_req *r)
{
    if (!r->method || !r->path || !r->query || !r->body || r->path[0] != '/')
        abort();
    if (strlen(r->path) > COL_HTTP_MAX_URL || r->body_len > COL_HTTP_MAX_BODY ||
        r->nheaders > COL_HTTP_MAX_HEADERS)
        abort();
    for (size_t i = 0; i < r->nheaders; i++)
        if (!r->headers[i].name || !r->headers[i].value)
            abort();
    (void)col_http_req_header(r, "authorization");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct col_http_parser hp;
    col_http_parser_init(&hp);
    /* the first byte picks the read size, like varying TCP segments */
    size_t chunk = size ? (size_t)data[0] % 64 + 1 : 1;
    const char *p = (const char *)data + (size ? 1 : 0);
    size_t left = size ? size - 1 : 0;
    while (left > 0) {
        size_t n = left < chunk ? left : chunk, used = 0;
        int rc = col_http_parser_feed(&hp, p, n, &used);
        if (used > n)
            abort();
        if (rc < 0) {
            if (hp.status < 400 || hp.status > 431 || !hp.error)
                abort();
            break;
        }
        if (rc == COL_HTTP_DONE)
            check_request(&hp.req);
        else if (used != n)
            abort();
        p += used;
        left -= used;
    }
    col_http_parser_close(&hp);
    return 0;
}
