/* router.c - method + path pattern table, token check, 404/405.
 *
 * A pattern segment "{}" matches one non-empty path segment and is copied
 * to req->param. Paths under /api/ and /metrics need a token before anything
 * else is said about them; the static page needs none. */
#include "collector/api/api_int.h"

#include <stdio.h>
#include <string.h>

struct col_api_route {
    const char *method;
    const char *pattern;
    col_api_handler_cb fn;
};

static const struct col_api_route col_api_routes[] = {
    {"GET", "/api/v1/health", col_api_health},
    {"GET", "/api/v1/agents", col_api_agents},
    {"GET", "/api/v1/containers", col_api_containers},
    {"GET", "/api/v1/containers/{}", col_api_container},
    {"GET", "/api/v1/containers/{}/metrics", col_api_container_metrics},
    {"GET", "/api/v1/checks", col_api_checks},
    {"GET", "/api/v1/findings", col_api_findings},
    {"GET", "/api/v1/posture", col_api_posture},
    {"GET", "/api/v1/events", col_api_events},
    {"GET", "/api/v1/rules", col_api_rules},
    {"GET", "/metrics", col_api_prom},
    {"GET", "/", col_api_static},
    {"GET", "/{}", col_api_static},
};

#define COL_API_NROUTES (sizeof col_api_routes / sizeof col_api_routes[0])

/* Matches path against pattern; fills param (size COL_API_PARAM_MAX + 1). */
static bool col_api_match(const char *pattern, const char *path, char *param)
{
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t seg = strcspn(path, "/");
            if (seg == 0 || seg > COL_API_PARAM_MAX)
                return false;
            memcpy(param, path, seg);
            param[seg] = '\0';
            path += seg;
            pattern += 2;
            continue;
        }
        if (*pattern != *path)
            return false;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

static bool col_api_needs_token(const char *path)
{
    return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
           strcmp(path, "/metrics") == 0;
}

void col_api_route(struct col_api_req *req)
{
    const char *path = req->http->path;
    atomic_fetch_add(&req->api->stats->http_requests, 1);
    if (col_api_needs_token(path) && !col_api_auth_is_reader(req->api->cfg, req->http)) {
        struct col_api_resp r = {0};
        col_api_resp_error(&r, 401, "unauthorized",
                           "missing or wrong bearer token (Authorization: Bearer <token>)");
        r.extra = "WWW-Authenticate: Bearer realm=\"boxwatch\"\r\n";
        col_api_reply(req, &r);
        return;
    }
    bool path_known = false;
    for (size_t i = 0; i < COL_API_NROUTES; i++) {
        const struct col_api_route *rt = &col_api_routes[i];
        if (!col_api_match(rt->pattern, path, req->param))
            continue;
        if (strcmp(rt->method, req->http->method) == 0) {
            rt->fn(req);
            return;
        }
        path_known = true;
    }
    req->param[0] = '\0';
    if (path_known) {
        struct col_api_resp r = {0};
        col_api_resp_error(&r, 405, "method_not_allowed", "%s is not allowed here (use GET)",
                           req->http->method);
        r.extra = "Allow: GET\r\n";
        col_api_reply(req, &r);
        return;
    }
    col_api_fail(req, 404, "not_found", "no such route");
}
