/* httptest.h - a small blocking HTTP client for the API tests: one request
 * per connection to 127.0.0.1:port, read until the server closes (20 s
 * timeout), status and JSON body picked out. Criterion asserts on transport
 * failures, so a test never hangs on a broken server. */
#ifndef TU_HTTPTEST_H
#define TU_HTTPTEST_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct tu_http_resp {
    int status;
    char *raw;        /* whole response, NUL-terminated */
    const char *body; /* into raw */
    cJSON *json;      /* parsed body, or NULL when it is not JSON */
};

/* A connected socket (20 s receive timeout); the caller closes it. */
int tu_http_connect(int port);
/* Sends raw bytes and returns everything the server wrote before closing. */
char *tu_http_exchange(int port, const char *raw, size_t len);
/* METHOD target with "Authorization: Bearer <token>" (none when NULL). */
struct tu_http_resp tu_http_request(int port, const char *method, const char *target,
                                    const char *token);
void tu_http_resp_free(struct tu_http_resp *r);

#endif
