/* static.c - the embedded web page (files of web/) at / and /<file>.
 *
 * Files are compiled in (collector/embedded.h), so nothing is read from disk
 * and no request path ever reaches the file system. Needs no token: the page
 * asks for it and sends it with its own API calls. */
#include "collector/api/api_int.h"

#include "collector/embedded.h"
#include "common/alloc.h"

#include <string.h>

static const char *col_api_static_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".json") == 0)
        return "application/json; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    return "application/octet-stream";
}

void col_api_static(struct col_api_req *req)
{
    const char *name = req->param[0] ? req->param : "index.html";
    for (size_t i = 0; i < col_web_files_count; i++) {
        const struct col_embedded_file *f = &col_web_files[i];
        if (!f->name || strcmp(f->name, name) != 0)
            continue;
        struct col_api_resp r = {0};
        r.status = 200;
        r.ctype = col_api_static_type(f->name);
        r.body = cm_xmalloc(f->len + 1);
        memcpy(r.body, f->data, f->len);
        r.len = f->len;
        r.extra = "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
                  "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
                  "frame-ancestors 'none'\r\n";
        col_api_reply(req, &r);
        return;
    }
    col_api_fail(req, 404, "not_found", "no such file");
}
