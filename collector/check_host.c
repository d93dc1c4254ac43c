/* check_host.c - the evaluators of the host checks: the Docker daemon's
 * settings (daemon.json with the running dockerd's flags merged over it,
 * as the agent reports them) and the runtimes' API sockets.
 *
 * Setting values arrive as JSON text; they are read with cJSON, which
 * allocates while a value is looked at and frees it before returning (the
 * only allocation in the check module; a value that cannot be parsed,
 * out of memory included, leaves its check unevaluated rather than
 * guessed). The daemon checks run only where Docker is present and its
 * configuration could be read; the socket check wherever sockets were
 * looked at. */
#include "collector/checks_int.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <strings.h>

enum setting_state { SET_ABSENT, SET_INVALID, SET_OK };

/* The parsed value of a daemon setting; *out is freed by the caller with
 * cJSON_Delete when SET_OK. The last entry wins, as when flags are merged
 * over the file. */
static enum setting_state setting_get(const struct cm_host_inv *h, const char *key, cJSON **out)
{
    const char *text = NULL;
    for (size_t i = 0; i < h->n_daemon_settings; i++)
        if (h->daemon_settings[i].key && strcmp(h->daemon_settings[i].key, key) == 0)
            text = h->daemon_settings[i].value;
    if (!text) return SET_ABSENT;
    *out = cJSON_ParseWithLength(text, strlen(text));
    return *out ? SET_OK : SET_INVALID;
}

/* JSON true/false; flags may also come through as the strings "true" and
 * "false". */
static bool json_bool(const cJSON *v, bool *b)
{
    if (cJSON_IsBool(v)) {
        *b = cJSON_IsTrue(v);
        return true;
    }
    if (cJSON_IsString(v) &&
        (strcmp(v->valuestring, "true") == 0 || strcmp(v->valuestring, "false") == 0)) {
        *b = v->valuestring[0] == 't';
        return true;
    }
    return false;
}

/* The boolean setting's value: 1 true, 0 false or absent-or-other, -1 not
 * parseable. absent (may be NULL) tells whether it was set at all. */
static int setting_true(const struct cm_host_inv *h, const char *key, bool *absent)
{
    cJSON *v = NULL;
    bool b = false;
    enum setting_state st = setting_get(h, key, &v);
    if (absent) *absent = st == SET_ABSENT;
    if (st == SET_INVALID) return -1;
    if (st == SET_OK && !json_bool(v, &b)) b = false;
    cJSON_Delete(v);
    return b ? 1 : 0;
}

bool col_host_nnp_default(const struct cm_host_inv *h)
{
    return h && setting_true(h, "no-new-privileges", NULL) == 1;
}

/* Daemon checks need Docker and a configuration that could be read. */
static bool daemon_auditable(const struct cm_host_inv *h)
{
    return h->docker_present && !h->daemon_config_error;
}

enum col_outcome col_chk_daemon_config_invalid(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_host_inv *h = x->host;
    if (!h->docker_present) return COL_OUT_NA;
    if (!h->daemon_config_error) return COL_OUT_PASS;
    col_detail_add(d, "%s: %s", h->daemon_config_path ? h->daemon_config_path : "daemon.json",
                   h->daemon_config_error);
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_icc_enabled(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_host_inv *h = x->host;
    cJSON *v = NULL;
    bool b = true;
    if (!daemon_auditable(h)) return COL_OUT_NA;
    enum setting_state st = setting_get(h, "icc", &v);
    if (st == SET_INVALID) return COL_OUT_NA;
    bool is_bool = st == SET_OK && json_bool(v, &b);
    cJSON_Delete(v);
    if (is_bool && !b) return COL_OUT_PASS;
    col_detail_add(d, "%s", st == SET_ABSENT ? "icc not set (on by default)" : "icc is not false");
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_userns_remap_off(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_host_inv *h = x->host;
    cJSON *v = NULL;
    if (!daemon_auditable(h)) return COL_OUT_NA;
    enum setting_state st = setting_get(h, "userns-remap", &v);
    if (st == SET_INVALID) return COL_OUT_NA;
    bool on = st == SET_OK && cJSON_IsString(v) && v->valuestring[0];
    cJSON_Delete(v);
    if (on) return COL_OUT_PASS;
    col_detail_add(d, "%s", st == SET_ABSENT ? "userns-remap not set" : "userns-remap is empty");
    return COL_OUT_FAIL;
}

/* A boolean setting that must be true to pass. */
static enum col_outcome must_be_true(const struct cm_host_inv *h, const char *key,
                                     struct col_detail *d)
{
    bool absent;
    if (!daemon_auditable(h)) return COL_OUT_NA;
    int t = setting_true(h, key, &absent);
    if (t < 0) return COL_OUT_NA;
    if (t == 1) return COL_OUT_PASS;
    col_detail_add(d, "%s %s", key, absent ? "not set (off by default)" : "is not true");
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_live_restore_off(const struct col_check_ctx *x, struct col_detail *d)
{
    return must_be_true(x->host, "live-restore", d);
}

enum col_outcome col_chk_nnp_default_off(const struct col_check_ctx *x, struct col_detail *d)
{
    return must_be_true(x->host, "no-new-privileges", d);
}

/* dockerd treats an address without a scheme (":2375", "0.0.0.0:2375")
 * as TCP. */
static bool host_is_tcp(const char *s)
{
    if (!*s) return false;
    return strncasecmp(s, "tcp://", 6) == 0 || !strstr(s, "://");
}

enum col_outcome col_chk_tcp_without_tls(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_host_inv *h = x->host;
    cJSON *hosts = NULL, *one;
    bool failed = false;
    if (!daemon_auditable(h)) return COL_OUT_NA;
    enum setting_state st = setting_get(h, "hosts", &hosts);
    int verify = setting_true(h, "tlsverify", NULL), tls = setting_true(h, "tls", NULL);
    if (st == SET_INVALID || verify < 0) {
        cJSON_Delete(hosts);
        return COL_OUT_NA;
    }
    /* -H given once may come through as a plain string (a parsed root's
     * next is NULL, so the loop then sees it alone). */
    for (one = cJSON_IsArray(hosts) ? hosts->child : hosts; one && verify == 0; one = one->next) {
        if (!cJSON_IsString(one) || !host_is_tcp(one->valuestring)) continue;
        col_detail_item(d, "%s", one->valuestring);
        failed = true;
    }
    cJSON_Delete(hosts);
    if (!failed) return COL_OUT_PASS;
    col_detail_add(d, " %s",
                   tls == 1 ? "with tls but without tlsverify (clients not authenticated)"
                            : "without tlsverify");
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_insecure_registries(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_host_inv *h = x->host;
    cJSON *v = NULL, *one;
    bool failed = false;
    if (!daemon_auditable(h)) return COL_OUT_NA;
    enum setting_state st = setting_get(h, "insecure-registries", &v);
    if (st == SET_INVALID) return COL_OUT_NA;
    /* A list, or a single string. */
    for (one = cJSON_IsArray(v) ? v->child : v; one; one = one->next) {
        if (cJSON_IsString(one) && one->valuestring[0]) {
            col_detail_item(d, "%s", one->valuestring);
            failed = true;
        }
    }
    cJSON_Delete(v);
    return failed ? COL_OUT_FAIL : COL_OUT_PASS;
}

/* Root, the docker group, or gid 0 under any name. */
static bool group_ok(const struct cm_socket_info *s)
{
    if (s->gid == 0) return true;
    return s->group && (strcmp(s->group, "root") == 0 || strcmp(s->group, "docker") == 0);
}

static void socket_problems(const struct cm_socket_info *s, struct col_detail *d)
{
    col_detail_add(d, "%s%s:", d->len ? "; " : "", s->path ? s->path : "?");
    if (s->uid != 0) col_detail_add(d, " owner %s (uid %u)", s->owner ? s->owner : "?", s->uid);
    if (!group_ok(s)) col_detail_add(d, " group %s (gid %u)", s->group ? s->group : "?", s->gid);
    if (s->mode & 0007) col_detail_add(d, " mode %04o (others have access)", s->mode & 07777);
}

enum col_outcome col_chk_socket_permissions(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_host_inv *h = x->host;
    bool failed = false;
    if (h->n_runtime_sockets == 0) return COL_OUT_NA;
    for (size_t i = 0; i < h->n_runtime_sockets; i++) {
        const struct cm_socket_info *s = &h->runtime_sockets[i];
        if (!s->exists || (s->uid == 0 && group_ok(s) && !(s->mode & 0007))) continue;
        socket_problems(s, d);
        failed = true;
    }
    return failed ? COL_OUT_FAIL : COL_OUT_PASS;
}
