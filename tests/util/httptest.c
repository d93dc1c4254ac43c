/* httptest.c - see httptest.h. */
#include "tests/util/httptest.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int tu_http_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 20};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

char *tu_http_exchange(int port, const char *raw, size_t len)
{
    int fd = tu_http_connect(port);
    cr_assert_eq(write(fd, raw, len), (ssize_t)len);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
        ssize_t got = read(fd, buf + n, cap - n);
        cr_assert_geq(got, 0, "read timed out or failed");
        if (got == 0) break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    close(fd);
    return buf;
}

struct tu_http_resp tu_http_request(int port, const char *method, const char *target,
                                    const char *token)
{
    char raw[8192], auth[256] = "";
    if (token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    int n = snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n",
                     method, target, auth);
    struct tu_http_resp r = {0};
    r.raw = tu_http_exchange(port, raw, (size_t)n);
    cr_assert_eq(strncmp(r.raw, "HTTP/1.1 ", 9), 0, "not HTTP: %.80s", r.raw);
    r.status = (int)strtol(r.raw + 9, NULL, 10);
    const char *sep = strstr(r.raw, "\r\n\r\n");
    cr_assert_not_null(sep);
    r.body = sep + 4;
    r.json = cJSON_Parse(r.body);
    return r;
}

void tu_http_resp_free(struct tu_http_resp *r)
{
    cJSON_Delete(r->json);
    free(r->raw);
    memset(r, 0, sizeof *r);
}
