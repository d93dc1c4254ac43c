/* inventory.c - lifetime of the inventory model (common/inventory.h): freeing
 * what a container or host inventory owns, state names, string lists.
 *
 * It does not read runtimes' files (agent/rt_*.c), carry anything over the
 * wire (proto/wire_inventory.c) or render JSON (common/inventory_json.c). */
#include "common/inventory.h"

#include "common/alloc.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

static void inv_kv_free(struct cm_kv *kv, size_t n)
{
    for (size_t i = 0; kv && i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static void inv_strv_free(struct cm_strv *v)
{
    for (size_t i = 0; v->v && i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

static void inv_mounts_free(struct cm_mount *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++) {
        free(m[i].source);
        free(m[i].destination);
        free(m[i].type);
        free(m[i].propagation);
    }
    free(m);
}

static void inv_ports_free(struct cm_port *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        free(p[i].protocol);
        free(p[i].host_ip);
    }
    free(p);
}

static void inv_env_free(struct cm_env *e, size_t n)
{
    for (size_t i = 0; e && i < n; i++) {
        free(e[i].name);
        free(e[i].secret_reason);
    }
    free(e);
}

static void inv_listen_free(struct cm_listen *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        free(l[i].protocol);
        free(l[i].address);
    }
    free(l);
}

static void inv_procs_free(struct cm_process *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++) {
        free(p[i].exe);
        free(p[i].comm);
    }
    free(p);
}

void cm_container_inv_free(struct cm_container_inv *c)
{
    if (!c) return;
    char *strs[] = {
        c->error,         c->name,           c->image,           c->image_digest,
        c->cgroup_path,   c->user,           c->seccomp_profile, c->apparmor_profile,
        c->selinux_label, c->restart_policy, c->network_mode,    c->cgroup_parent,
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(strs[i]);
    inv_kv_free(c->labels, c->n_labels);
    inv_strv_free(&c->cap_add);
    inv_strv_free(&c->cap_drop);
    inv_strv_free(&c->cap_effective);
    inv_strv_free(&c->cap_bounding);
    inv_strv_free(&c->security_opt);
    inv_strv_free(&c->devices);
    inv_mounts_free(c->mounts, c->n_mounts);
    inv_ports_free(c->ports, c->n_ports);
    inv_env_free(c->env, c->n_env);
    inv_listen_free(c->listening, c->n_listening);
    inv_procs_free(c->processes, c->n_processes);
    memset(c, 0, sizeof *c);
}

void cm_host_inv_free(struct cm_host_inv *h)
{
    if (!h) return;
    free(h->daemon_config_path);
    free(h->daemon_config_error);
    inv_kv_free(h->daemon_settings, h->n_daemon_settings);
    for (size_t i = 0; h->runtime_sockets && i < h->n_runtime_sockets; i++) {
        struct cm_socket_info *s = &h->runtime_sockets[i];
        free(s->path);
        free(s->owner);
        free(s->group);
    }
    free(h->runtime_sockets);
    memset(h, 0, sizeof *h);
}

void cm_inventory_batch_free(struct cm_inventory_batch *b)
{
    if (!b) return;
    for (size_t i = 0; b->containers && i < b->n; i++)
        cm_container_inv_free(&b->containers[i]);
    free(b->containers);
    cm_host_inv_free(b->host);
    free(b->host);
    for (size_t i = 0; b->present_ids && i < b->n_present; i++)
        free(b->present_ids[i]);
    free(b->present_ids);
    memset(b, 0, sizeof *b);
}

static const char *const inv_state_names[CM_INV_STATE__COUNT] = {
    "unknown", "created", "running", "paused", "restarting", "exited", "gone",
};

const char *cm_inv_state_name(enum cm_inv_state s)
{
    return (unsigned)s < CM_INV_STATE__COUNT ? inv_state_names[s] : "unknown";
}

int cm_inv_state_parse(const char *name, enum cm_inv_state *out)
{
    for (int i = 0; name && i < CM_INV_STATE__COUNT; i++) {
        if (strcmp(name, inv_state_names[i]) == 0) {
            *out = (enum cm_inv_state)i;
            return 0;
        }
    }
    return CM_EPARSE;
}

/* Grows by one each time: lists are short (<= CM_INV_LIST_MAX) and a strv
 * built elsewhere (the wire decoder, a test) carries no capacity to trust.
 * Allocation failure aborts (common/alloc.h), so CM_ENOMEM never comes back. */
int cm_strv_push(struct cm_strv *v, const char *s)
{
    if (!s) return CM_EPARSE;
    if (v->n >= CM_INV_LIST_MAX || strnlen(s, CM_INV_STR_MAX + 1) > CM_INV_STR_MAX)
        return CM_ETOOBIG;
    v->v = cm_xrealloc(v->v, (v->n + 1) * sizeof *v->v);
    v->v[v->n++] = cm_xstrdup(s);
    return 0;
}

bool cm_strv_contains(const struct cm_strv *v, const char *s)
{
    for (size_t i = 0; v && s && v->v && i < v->n; i++) {
        if (v->v[i] && strcmp(v->v[i], s) == 0) return true;
    }
    return false;
}
