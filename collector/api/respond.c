/* respond.c - response bodies and headers.
 *
 * Every error, from any layer, leaves as {"error":{"code","message"}} with
 * a fitting status; every response carries the same safety headers. It does
 * not write to sockets (server.c does). */
#include "collector/api/api_int.h"

#include "common/alloc.h"
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COL_API_JSON "application/json; charset=utf-8"

const char *col_api_status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

void col_api_resp_json(struct col_api_resp *r, int status, cJSON *root)
{
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!text) {
        /* cJSON only fails on allocation; keep the contract of a JSON body */
        text = cm_xstrdup("{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
        status = 500;
    }
    r->status = status;
    r->ctype = COL_API_JSON;
    r->body = text;
    r->len = strlen(text);
}

__attribute__((format(printf, 4, 0))) static void
col_api_resp_verror(struct col_api_resp *r, int status, const char *code, const char *fmt,
                    va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    cJSON *root = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    col_api_resp_json(r, status, root);
}

void col_api_resp_error(struct col_api_resp *r, int status, const char *code, const char *fmt,
                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    col_api_resp_verror(r, status, code, fmt, ap);
    va_end(ap);
}

void col_api_fail(struct col_api_req *req, int status, const char *code, const char *fmt, ...)
{
    struct col_api_resp r = {0};
    va_list ap;
    va_start(ap, fmt);
    col_api_resp_verror(&r, status, code, fmt, ap);
    va_end(ap);
    col_api_reply(req, &r);
}

int col_api_resp_head(const struct col_api_resp *r, bool keep_alive, char *out, size_t outlen,
                      size_t *len)
{
    int n = snprintf(out, outlen,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Cache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Connection: %s\r\n"
                     "%s\r\n",
                     r->status, col_api_status_text(r->status), r->ctype, r->len,
                     keep_alive ? "keep-alive" : "close", r->extra ? r->extra : "");
    if (n < 0 || (size_t)n >= outlen)
        return CM_ETOOBIG;
    *len = (size_t)n;
    return 0;
}
