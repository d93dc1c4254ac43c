/* test_http_request.c - the capped HTTP request parser (collector/api/request.c). */
#include "collector/api/request.h"

#include "common/err.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct col_http_parser hp;

static void setup(void)
{
    col_http_parser_init(&hp);
}

static void teardown(void)
{
    col_http_parser_close(&hp);
}

TestSuite(http_request, .init = setup, .fini = teardown, .timeout = 10);

static int feed_all(const char *s, size_t len, size_t *used)
{
    return col_http_parser_feed(&hp, s, len, used);
}

Test(http_request, get_with_query_and_headers)
{
    const char *s = "GET /api/v1/containers?limit=5&host=a%20b HTTP/1.1\r\n"
                    "Host: x\r\nAuthorization: Bearer abc\r\nX-Empty:\r\n\r\n";
    size_t used = 0;
    cr_assert_eq(feed_all(s, strlen(s), &used), COL_HTTP_DONE);
    cr_assert_eq(used, strlen(s));
    cr_assert_str_eq(hp.req.method, "GET");
    cr_assert_str_eq(hp.req.path, "/api/v1/containers");
    cr_assert_str_eq(hp.req.query, "limit=5&host=a%20b");
    cr_assert_eq(hp.req.nheaders, 3);
    cr_assert_str_eq(col_http_req_header(&hp.req, "authorization"), "Bearer abc");
    cr_assert_str_eq(col_http_req_header(&hp.req, "X-EMPTY"), "");
    cr_assert_null(col_http_req_header(&hp.req, "Cookie"));
    cr_assert(hp.req.keep_alive);
    cr_assert_eq(hp.req.body_len, 0);
}

Test(http_request, byte_by_byte_and_connection_close)
{
    const char *s = "GET /x HTTP/1.1\r\nConnection: close\r\nA-Long-Header-Name: value one\r\n\r\n";
    size_t n = strlen(s), used = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        cr_assert_eq(feed_all(s + i, 1, &used), COL_HTTP_MORE, "at byte %zu", i);
        cr_assert_eq(used, 1);
    }
    cr_assert_eq(feed_all(s + n - 1, 1, &used), COL_HTTP_DONE);
    cr_assert_str_eq(hp.req.path, "/x");
    cr_assert_str_eq(col_http_req_header(&hp.req, "a-long-header-name"), "value one");
    cr_assert_not(hp.req.keep_alive);
}

Test(http_request, pipelined_requests_one_at_a_time)
{
    const char *s = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                    "POST /b?q=1 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                    "GET /c HTTP/1.0\r\n\r\n";
    size_t len = strlen(s), off = 0, used = 0;
    cr_assert_eq(feed_all(s, len, &used), COL_HTTP_DONE);
    cr_assert_str_eq(hp.req.path, "/a");
    off += used;
    cr_assert_eq(feed_all(s + off, len - off, &used), COL_HTTP_DONE);
    cr_assert_str_eq(hp.req.method, "POST");
    cr_assert_str_eq(hp.req.path, "/b");
    cr_assert_str_eq(hp.req.query, "q=1");
    cr_assert_eq(hp.req.body_len, 5);
    cr_assert_str_eq(hp.req.body, "hello");
    off += used;
    cr_assert_eq(feed_all(s + off, len - off, &used), COL_HTTP_DONE);
    cr_assert_str_eq(hp.req.path, "/c");
    cr_assert_not(hp.req.keep_alive, "HTTP/1.0 without keep-alive closes");
    cr_assert_eq(off + used, len);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void expect_error(const char *s, size_t len, int status)
{
    size_t used = 0;
    cr_assert_eq(feed_all(s, len, &used), CM_EPARSE);
    cr_assert_eq(hp.status, status, "status %d, want %d (%s)", hp.status, status,
                 hp.error ? hp.error : "");
    cr_assert_not_null(hp.error);
    /* the stream stays failed */
    cr_assert_eq(feed_all("GET / HTTP/1.1\r\n\r\n", 18, &used), CM_EPARSE);
}

Test(http_request, url_too_long_is_414)
{
    char *path = repeat('a', COL_HTTP_MAX_URL + 10);
    char req[COL_HTTP_MAX_URL + 64];
    int n = snprintf(req, sizeof req, "GET /%s HTTP/1.1\r\n\r\n", path);
    expect_error(req, (size_t)n, 414);
    free(path);
}

Test(http_request, url_at_the_limit_is_fine)
{
    char *path = repeat('a', COL_HTTP_MAX_URL - 1);
    char req[COL_HTTP_MAX_URL + 64];
    int n = snprintf(req, sizeof req, "GET /%s HTTP/1.1\r\n\r\n", path);
    size_t used = 0;
    cr_assert_eq(feed_all(req, (size_t)n, &used), COL_HTTP_DONE);
    cr_assert_eq(strlen(hp.req.path), COL_HTTP_MAX_URL);
    free(path);
}

Test(http_request, header_block_too_large_is_431)
{
    char *v = repeat('v', COL_HTTP_MAX_HEADER_BLOCK);
    size_t cap = COL_HTTP_MAX_HEADER_BLOCK + 64;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "GET / HTTP/1.1\r\nX-Big: %s\r\n\r\n", v);
    expect_error(req, (size_t)n, 431);
    free(req);
    free(v);
}

Test(http_request, too_many_headers_is_431)
{
    char req[8192];
    size_t off = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < COL_HTTP_MAX_HEADERS + 1; i++)
        off += (size_t)snprintf(req + off, sizeof req - off, "H%d: x\r\n", i);
    off += (size_t)snprintf(req + off, sizeof req - off, "\r\n");
    expect_error(req, off, 431);
}

Test(http_request, declared_body_too_large_is_413)
{
    const char *s = "POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n";
    expect_error(s, strlen(s), 413);
}

Test(http_request, chunked_body_is_bounded)
{
    /* 2 chunks of 40000 bytes: 80000 > 64 KiB although no single chunk is */
    size_t cap = 90000;
    char *req = malloc(cap);
    char *chunk = repeat('z', 40000);
    int n = snprintf(req, cap,
                     "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "9c40\r\n%s\r\n9c40\r\n%s\r\n0\r\n\r\n",
                     chunk, chunk);
    expect_error(req, (size_t)n, 413);
    free(chunk);
    free(req);
}

Test(http_request, small_chunked_body_is_joined)
{
    const char *s = "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    size_t used = 0;
    cr_assert_eq(feed_all(s, strlen(s), &used), COL_HTTP_DONE);
    cr_assert_eq(hp.req.body_len, 5);
    cr_assert_str_eq(hp.req.body, "abcde");
}

Test(http_request, garbage_is_400)
{
    const char *s = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    expect_error(s, 11, 400);
}

Test(http_request, bad_version_is_400)
{
    const char *a = "GET / HTTP/9x\r\n\r\n";
    expect_error(a, strlen(a), 400);
}

Test(http_request, absolute_form_target_is_400)
{
    const char *a = "GET http://example.com/ HTTP/1.1\r\n\r\n";
    expect_error(a, strlen(a), 400);
}

Test(http_request, bare_newlines_between_requests)
{
    const char *s = "\r\nGET /ok HTTP/1.1\r\n\r\n";
    size_t used = 0;
    cr_assert_eq(feed_all(s, strlen(s), &used), COL_HTTP_DONE);
    cr_assert_str_eq(hp.req.path, "/ok");
}
