/* wire_inventory.c - the inventory bodies of the wire codec: InventoryBatch
 * inside an Envelope, and one ContainerInventory on its own.
 *
 * Decoding follows wire.c's path (size cap, unpack under the allocation
 * budget, canonical size): every list's length is checked against its cap
 * before anything is allocated for it, strings are copied as they are, and
 * then the C model is validated by the same checks the encoder runs before
 * packing. Rules: strings valid UTF-8 without NUL and at most
 * CM_INV_STR_MAX bytes; a required proto string is non-NULL; lists at most
 * CM_INV_LIST_MAX; enums, ports, modes, pids and bitmasks in range; times 0
 * (unknown) or 1970..2200. Encoding maps the C model onto protobuf-c
 * structs that borrow its strings; a scalar equal to 0/false is left
 * absent, which decodes back to the same value.
 *
 * It never logs, and it does not judge the inventory (collector/checks)
 * or keep state across messages (which containers are gone is the
 * collector's business, from `complete` and present_ids). */
#include "common/alloc.h"
#include "common/err.h"
#include "proto/wire_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define INV_PID_MAX 4194304u /* the kernel's PID_MAX_LIMIT */
#define INV_PORT_MAX 65535u
#define INV_MODE_MAX 07777u
#define INV_NS_ALL 0x3fu       /* CM_NS_NET .. CM_NS_CGROUP */
#define INV_KNOWN_ALL 0x1ffffu /* CM_INV_K_USER .. CM_INV_K_IMAGE */

typedef Boxwatch__V1__ContainerInventory PbInv;

/* ---- the container's plain fields, by table -------------------------- */

/* Optional strings: same name in the C model and the proto. */
struct inv_str_field {
    const char *name;
    size_t c_off, pb_off;
};

#define INV_S(f)                                                                                   \
    {                                                                                              \
#f, offsetof(struct cm_container_inv, f), offsetof(PbInv, f)                               \
    }
static const struct inv_str_field inv_strs[] = {
    INV_S(error),         INV_S(name),           INV_S(image),           INV_S(image_digest),
    INV_S(cgroup_path),   INV_S(user),           INV_S(seccomp_profile), INV_S(apparmor_profile),
    INV_S(selinux_label), INV_S(restart_policy), INV_S(network_mode),    INV_S(cgroup_parent),
};
#undef INV_S

/* Repeated strings (struct cm_strv <-> n_<f>, <f>). */
struct inv_strv_field {
    const char *name;
    size_t c_off, pb_n_off, pb_v_off;
};

#define INV_V(f)                                                                                   \
    {                                                                                              \
#f, offsetof(struct cm_container_inv, f), offsetof(PbInv, n_##f), offsetof(PbInv, f)       \
    }
static const struct inv_strv_field inv_strvs[] = {
    INV_V(cap_add),      INV_V(cap_drop),     INV_V(cap_effective),
    INV_V(cap_bounding), INV_V(security_opt), INV_V(devices),
};
#undef INV_V

#define INV_NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char **inv_str_at(struct cm_container_inv *c, const struct inv_str_field *f)
{
    return (char **)((char *)c + f->c_off);
}

static const struct cm_strv *inv_strv_at(const struct cm_container_inv *c,
                                         const struct inv_strv_field *f)
{
    return (const struct cm_strv *)((const char *)c + f->c_off);
}

/* ---- failure labels, built only on failure --------------------------- */

/* Where in the item a field is: "list", "list[idx]" or "list[idx].field". */
struct inv_at {
    const char *list;
    long idx; /* -1: not in a list */
    const char *field;
};

#define INV_AT(list, idx, field) ((struct inv_at){(list), (long)(idx), (field)})

static int inv_fail(struct cm_wire_ctx *c, enum cm_wire_reason r, struct inv_at at, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static int inv_fail(struct cm_wire_ctx *c, enum cm_wire_reason r, struct inv_at at, const char *fmt,
                    ...)
{
    char idx[24] = "", text[160];
    if (at.idx >= 0) snprintf(idx, sizeof idx, "[%ld]", at.idx);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return cm_wire_fail(c, r, "%s%s%s%s: %s", at.list, idx, at.field ? "." : "",
                        at.field ? at.field : "", text);
}

/* ---- checks on the C model (encode and decode) ----------------------- */

static int inv_check_str(struct cm_wire_ctx *c, struct inv_at at, const char *s, bool required)
{
    if (!s) return required ? inv_fail(c, CM_WIRE_BAD_FIELD, at, "missing") : 0;
    size_t len = strnlen(s, CM_INV_STR_MAX + 1);
    if (len > CM_INV_STR_MAX)
        return inv_fail(c, CM_WIRE_BAD_FIELD, at, "longer than %d bytes", CM_INV_STR_MAX);
    if (cm_wire_check_utf8(s, len) < 0)
        return inv_fail(c, CM_WIRE_BAD_FIELD, at, "not valid UTF-8");
    return 0;
}

static int inv_check_count(struct cm_wire_ctx *c, const char *what, size_t n, size_t max)
{
    if (n > max)
        return inv_fail(c, CM_WIRE_TOO_MANY, INV_AT(what, -1, NULL), "%zu entries, at most %zu", n,
                        max);
    return 0;
}

/* A list's array may only be NULL when the list is empty. */
static int inv_check_list(struct cm_wire_ctx *c, const char *what, const void *v, size_t n)
{
    int rc = inv_check_count(c, what, n, CM_INV_LIST_MAX);
    if (rc == 0 && n && !v) rc = inv_fail(c, CM_WIRE_BAD_FIELD, INV_AT(what, -1, NULL), "missing");
    return rc;
}

static int inv_check_max(struct cm_wire_ctx *c, struct inv_at at, uint64_t v, uint64_t lo,
                         uint64_t hi)
{
    if (v < lo || v > hi)
        return inv_fail(c, CM_WIRE_BAD_FIELD, at, "%llu not in %llu..%llu", (unsigned long long)v,
                        (unsigned long long)lo, (unsigned long long)hi);
    return 0;
}

static int inv_check_kvs(struct cm_wire_ctx *c, const char *what, const struct cm_kv *kv, size_t n)
{
    int rc = inv_check_list(c, what, kv, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = inv_check_str(c, INV_AT(what, i, "key"), kv[i].key, true)) == 0)
            rc = inv_check_str(c, INV_AT(what, i, "value"), kv[i].value, false);
    }
    return rc;
}

static int inv_check_strvs(struct cm_wire_ctx *c, const struct cm_container_inv *ci)
{
    int rc = 0;
    for (size_t f = 0; f < INV_NELEM(inv_strvs) && rc == 0; f++) {
        const struct cm_strv *v = inv_strv_at(ci, &inv_strvs[f]);
        rc = inv_check_list(c, inv_strvs[f].name, v->v, v->n);
        for (size_t i = 0; i < v->n && rc == 0; i++)
            rc = inv_check_str(c, INV_AT(inv_strvs[f].name, i, NULL), v->v[i], true);
    }
    return rc;
}

static int inv_check_mounts(struct cm_wire_ctx *c, const struct cm_mount *m, size_t n)
{
    int rc = inv_check_list(c, "mounts", m, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = inv_check_str(c, INV_AT("mounts", i, "source"), m[i].source, false)) < 0 ||
            (rc = inv_check_str(c, INV_AT("mounts", i, "destination"), m[i].destination, true)) <
                0 ||
            (rc = inv_check_str(c, INV_AT("mounts", i, "type"), m[i].type, false)) < 0)
            return rc;
        rc = inv_check_str(c, INV_AT("mounts", i, "propagation"), m[i].propagation, false);
    }
    return rc;
}

static int inv_check_ports(struct cm_wire_ctx *c, const struct cm_port *p, size_t n)
{
    int rc = inv_check_list(c, "ports", p, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = inv_check_max(c, INV_AT("ports", i, "container_port"), p[i].container_port, 1,
                                INV_PORT_MAX)) < 0 ||
            (rc = inv_check_str(c, INV_AT("ports", i, "protocol"), p[i].protocol, true)) < 0 ||
            (rc = inv_check_str(c, INV_AT("ports", i, "host_ip"), p[i].host_ip, false)) < 0)
            return rc;
        if (p[i].published)
            rc = inv_check_max(c, INV_AT("ports", i, "host_port"), p[i].host_port, 0, INV_PORT_MAX);
    }
    return rc;
}

static int inv_check_env(struct cm_wire_ctx *c, const struct cm_env *e, size_t n)
{
    int rc = inv_check_list(c, "env", e, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = inv_check_str(c, INV_AT("env", i, "name"), e[i].name, true)) < 0 ||
            (rc = inv_check_str(c, INV_AT("env", i, "secret_reason"), e[i].secret_reason, false)) <
                0)
            return rc;
        if (e[i].secret_reason && !e[i].secret_like)
            rc = inv_fail(c, CM_WIRE_BAD_FIELD, INV_AT("env", i, "secret_reason"),
                          "set but secret_like is false");
    }
    return rc;
}

static int inv_check_listening(struct cm_wire_ctx *c, const struct cm_listen *l, size_t n)
{
    int rc = inv_check_list(c, "listening", l, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = inv_check_str(c, INV_AT("listening", i, "protocol"), l[i].protocol, true)) < 0 ||
            (rc = inv_check_str(c, INV_AT("listening", i, "address"), l[i].address, true)) < 0)
            return rc;
        rc = inv_check_max(c, INV_AT("listening", i, "port"), l[i].port, 0, INV_PORT_MAX);
    }
    return rc;
}

static int inv_check_processes(struct cm_wire_ctx *c, const struct cm_process *p, size_t n)
{
    int rc = inv_check_list(c, "processes", p, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = inv_check_str(c, INV_AT("processes", i, "exe"), p[i].exe, true)) == 0)
            rc = inv_check_str(c, INV_AT("processes", i, "comm"), p[i].comm, false);
    }
    return rc;
}

static int inv_check_time(struct cm_wire_ctx *c, const char *what, int64_t ns)
{
    return ns == 0 ? 0 : cm_wire_check_ts(c, what, ns); /* 0 = unknown */
}

static int inv_check_scalars(struct cm_wire_ctx *c, const struct cm_container_inv *ci)
{
    int rc;
    if ((rc = cm_wire_check_enum(c, "runtime", (unsigned)ci->runtime, CM_RT__COUNT)) < 0 ||
        (rc = cm_wire_check_enum(c, "state", (unsigned)ci->state, CM_INV_STATE__COUNT)) < 0 ||
        (rc = inv_check_time(c, "created", ci->created_ns)) < 0 ||
        (rc = inv_check_time(c, "started", ci->started_ns)) < 0 ||
        (rc = inv_check_max(c, INV_AT("pid", -1, NULL), ci->pid, 0, INV_PID_MAX)) < 0)
        return rc;
    if (ci->host_namespaces & ~INV_NS_ALL)
        return inv_fail(c, CM_WIRE_BAD_FIELD, INV_AT("host_namespaces", -1, NULL),
                        "unknown bits %#x", ci->host_namespaces & ~INV_NS_ALL);
    if (ci->known & ~INV_KNOWN_ALL)
        return inv_fail(c, CM_WIRE_BAD_FIELD, INV_AT("known", -1, NULL), "unknown bits %#x",
                        ci->known & ~INV_KNOWN_ALL);
    return 0;
}

static int inv_check_container(struct cm_wire_ctx *c, const struct cm_container_inv *ci)
{
    int rc;
    if (strnlen(ci->id, sizeof ci->id) == sizeof ci->id || cm_wire_check_container_id(ci->id) < 0)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD,
                            "container_id: not 1..%d bytes of [A-Za-z0-9_.:@-]",
                            CM_CONTAINER_ID_MAX);
    if ((rc = inv_check_scalars(c, ci)) < 0) return rc;
    for (size_t f = 0; f < INV_NELEM(inv_strs); f++) {
        const char *s = *inv_str_at((struct cm_container_inv *)ci, &inv_strs[f]);
        if ((rc = inv_check_str(c, INV_AT(inv_strs[f].name, -1, NULL), s, false)) < 0) return rc;
    }
    if ((rc = inv_check_kvs(c, "labels", ci->labels, ci->n_labels)) < 0 ||
        (rc = inv_check_strvs(c, ci)) < 0 ||
        (rc = inv_check_mounts(c, ci->mounts, ci->n_mounts)) < 0 ||
        (rc = inv_check_ports(c, ci->ports, ci->n_ports)) < 0 ||
        (rc = inv_check_env(c, ci->env, ci->n_env)) < 0 ||
        (rc = inv_check_listening(c, ci->listening, ci->n_listening)) < 0)
        return rc;
    return inv_check_processes(c, ci->processes, ci->n_processes);
}

static int inv_check_host(struct cm_wire_ctx *c, const struct cm_host_inv *h)
{
    int rc;
    if ((rc = inv_check_str(c, INV_AT("daemon_config_path", -1, NULL), h->daemon_config_path,
                            false)) < 0 ||
        (rc = inv_check_str(c, INV_AT("daemon_config_error", -1, NULL), h->daemon_config_error,
                            false)) < 0 ||
        (rc = inv_check_kvs(c, "daemon_settings", h->daemon_settings, h->n_daemon_settings)) < 0 ||
        (rc = inv_check_list(c, "runtime_sockets", h->runtime_sockets, h->n_runtime_sockets)) < 0)
        return rc;
    for (size_t i = 0; i < h->n_runtime_sockets && rc == 0; i++) {
        const struct cm_socket_info *s = &h->runtime_sockets[i];
        if ((rc = inv_check_str(c, INV_AT("runtime_sockets", i, "path"), s->path, true)) < 0 ||
            (rc = inv_check_str(c, INV_AT("runtime_sockets", i, "owner"), s->owner, false)) < 0 ||
            (rc = inv_check_str(c, INV_AT("runtime_sockets", i, "group"), s->group, false)) < 0)
            return rc;
        rc = inv_check_max(c, INV_AT("runtime_sockets", i, "mode"), s->mode, 0, INV_MODE_MAX);
    }
    return rc;
}

static int inv_check_present(struct cm_wire_ctx *c, const struct cm_inventory_batch *b)
{
    int rc = inv_check_count(c, "inventory.present_ids", b->n_present, CM_WIRE_MAX_PRESENT_IDS);
    if (rc < 0) return rc;
    if (b->n_present && !b->complete)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "inventory.present_ids: sent without complete");
    if (b->n_present && !b->present_ids)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "inventory.present_ids: missing");
    for (size_t i = 0; i < b->n_present; i++) {
        if (cm_wire_check_container_id(b->present_ids[i]) < 0 ||
            strnlen(b->present_ids[i], CM_CONTAINER_ID_MAX + 1) > CM_CONTAINER_ID_MAX)
            return cm_wire_fail(c, CM_WIRE_BAD_FIELD,
                                "inventory.present_ids[%zu]: not 1..%d bytes of [A-Za-z0-9_.:@-]",
                                i, CM_CONTAINER_ID_MAX);
    }
    return 0;
}

/* Runs `check` on one item with failures prefixed "<name>[i]." (or
 * "<name>." when i is -1). */
static int inv_check_item(struct cm_wire_ctx *c, const char *name, long i,
                          int (*check)(struct cm_wire_ctx *, const void *), const void *item)
{
    c->item_name = name;
    c->item = i;
    int rc = check(c, item);
    c->item_name = NULL;
    c->item = -1;
    return rc;
}

static int inv_check_container_cb(struct cm_wire_ctx *c, const void *item)
{
    return inv_check_container(c, item);
}

static int inv_check_host_cb(struct cm_wire_ctx *c, const void *item)
{
    return inv_check_host(c, item);
}

int cm_wire_check_inventory(struct cm_wire_ctx *c, const struct cm_inventory_batch *b)
{
    int rc;
    if ((rc = cm_wire_check_ts(c, "inventory.collected", b->collected_ns)) < 0 ||
        (rc = inv_check_count(c, "inventory.containers", b->n, CM_INV_MAX_CONTAINERS)) < 0)
        return rc;
    if (b->n && !b->containers)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "inventory.containers: missing");
    for (size_t i = 0; i < b->n && rc == 0; i++)
        rc = inv_check_item(c, "containers", (long)i, inv_check_container_cb, &b->containers[i]);
    if (rc == 0 && b->host) rc = inv_check_item(c, "host", -1, inv_check_host_cb, b->host);
    return rc < 0 ? rc : inv_check_present(c, b);
}

/* ---- protobuf -> C ---------------------------------------------------- */

static char *inv_dup(const char *s)
{
    return s ? cm_xstrdup(s) : NULL;
}

/* Lists' lengths, checked before anything is allocated for them. */
static int inv_pb_counts(struct cm_wire_ctx *c, const PbInv *p)
{
    const struct {
        const char *name;
        size_t n;
    } lists[] = {
        {"labels", p->n_labels}, {"mounts", p->n_mounts},       {"ports", p->n_ports},
        {"env", p->n_env},       {"listening", p->n_listening}, {"processes", p->n_processes},
    };
    int rc = 0;
    for (size_t i = 0; i < INV_NELEM(lists) && rc == 0; i++)
        rc = inv_check_count(c, lists[i].name, lists[i].n, CM_INV_LIST_MAX);
    for (size_t f = 0; f < INV_NELEM(inv_strvs) && rc == 0; f++) {
        size_t n = *(const size_t *)((const char *)p + inv_strvs[f].pb_n_off);
        rc = inv_check_count(c, inv_strvs[f].name, n, CM_INV_LIST_MAX);
    }
    return rc;
}

static void *inv_array(size_t n, size_t size)
{
    return n ? cm_xcalloc(n, size) : NULL;
}

static struct cm_kv *inv_kvs_from_pb(Boxwatch__V1__KeyValue *const *p, size_t n)
{
    struct cm_kv *kv = inv_array(n, sizeof *kv);
    for (size_t i = 0; i < n; i++) {
        kv[i].key = inv_dup(p[i]->key);
        kv[i].value = inv_dup(p[i]->value);
    }
    return kv;
}

static void inv_strvs_from_pb(const PbInv *p, struct cm_container_inv *ci)
{
    for (size_t f = 0; f < INV_NELEM(inv_strvs); f++) {
        struct cm_strv *v = (struct cm_strv *)((char *)ci + inv_strvs[f].c_off);
        size_t n = *(const size_t *)((const char *)p + inv_strvs[f].pb_n_off);
        char *const *src = *(char **const *)((const char *)p + inv_strvs[f].pb_v_off);
        v->v = inv_array(n, sizeof *v->v);
        v->n = n;
        for (size_t i = 0; i < n; i++)
            v->v[i] = inv_dup(src[i]);
    }
}

static void inv_lists_from_pb(const PbInv *p, struct cm_container_inv *ci)
{
    ci->mounts = inv_array(ci->n_mounts = p->n_mounts, sizeof *ci->mounts);
    for (size_t i = 0; i < p->n_mounts; i++) {
        const Boxwatch__V1__Mount *m = p->mounts[i];
        ci->mounts[i] = (struct cm_mount){inv_dup(m->source), inv_dup(m->destination), m->read_only,
                                          inv_dup(m->type), inv_dup(m->propagation)};
    }
    ci->ports = inv_array(ci->n_ports = p->n_ports, sizeof *ci->ports);
    for (size_t i = 0; i < p->n_ports; i++) {
        const Boxwatch__V1__PortBinding *pt = p->ports[i];
        ci->ports[i] = (struct cm_port){pt->container_port, inv_dup(pt->protocol),
                                        inv_dup(pt->host_ip), pt->has_host_port, pt->host_port};
    }
    ci->env = inv_array(ci->n_env = p->n_env, sizeof *ci->env);
    for (size_t i = 0; i < p->n_env; i++) {
        const Boxwatch__V1__EnvVar *e = p->env[i];
        ci->env[i] = (struct cm_env){inv_dup(e->name), e->secret_like, inv_dup(e->secret_reason)};
    }
    ci->listening = inv_array(ci->n_listening = p->n_listening, sizeof *ci->listening);
    for (size_t i = 0; i < p->n_listening; i++) {
        const Boxwatch__V1__ListenSocket *l = p->listening[i];
        ci->listening[i] = (struct cm_listen){inv_dup(l->protocol), inv_dup(l->address), l->port};
    }
    ci->processes = inv_array(ci->n_processes = p->n_processes, sizeof *ci->processes);
    for (size_t i = 0; i < p->n_processes; i++) {
        const Boxwatch__V1__Process *pr = p->processes[i];
        ci->processes[i] =
            (struct cm_process){inv_dup(pr->exe), inv_dup(pr->comm), pr->count, pr->uid};
    }
}

/* Absent optional scalars unpack as 0/false, which is what the model means
 * by "none"/"unknown"; out-of-range values are kept for the checks. */
static void inv_scalars_from_pb(const PbInv *p, struct cm_container_inv *ci)
{
    ci->runtime = (enum cm_runtime)p->runtime;
    ci->state = (enum cm_inv_state)p->state;
    ci->created_ns = p->created_unix_ns;
    ci->started_ns = p->started_unix_ns;
    ci->pid = p->pid;
    ci->privileged = p->privileged;
    ci->host_namespaces = p->host_namespaces;
    ci->readonly_rootfs = p->readonly_rootfs;
    ci->no_new_privileges = p->no_new_privileges;
    ci->memory_limit_bytes = p->memory_limit_bytes;
    ci->nano_cpus = p->nano_cpus;
    ci->cpu_shares = p->cpu_shares;
    ci->cpu_quota_us = p->cpu_quota_us;
    ci->cpu_period_us = p->cpu_period_us;
    ci->pids_limit = p->pids_limit;
    ci->restart_max_retries = p->restart_max_retries;
    ci->healthcheck = p->healthcheck;
    ci->known = p->known;
}

static int inv_container_from_pb(struct cm_wire_ctx *c, const PbInv *p, struct cm_container_inv *ci)
{
    size_t len = strnlen(p->container_id, sizeof ci->id);
    if (len == sizeof ci->id)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "container_id: longer than %d bytes",
                            CM_CONTAINER_ID_MAX);
    int rc = inv_pb_counts(c, p);
    if (rc < 0) return rc;
    memcpy(ci->id, p->container_id, len);
    ci->id[len] = '\0';
    inv_scalars_from_pb(p, ci);
    for (size_t f = 0; f < INV_NELEM(inv_strs); f++)
        *inv_str_at(ci, &inv_strs[f]) =
            inv_dup(*(char *const *)((const char *)p + inv_strs[f].pb_off));
    ci->labels = inv_kvs_from_pb(p->labels, ci->n_labels = p->n_labels);
    inv_strvs_from_pb(p, ci);
    inv_lists_from_pb(p, ci);
    return 0;
}

static int inv_host_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__HostInventory *p,
                            struct cm_host_inv *h)
{
    int rc;
    if ((rc = inv_check_count(c, "daemon_settings", p->n_daemon_settings, CM_INV_LIST_MAX)) < 0 ||
        (rc = inv_check_count(c, "runtime_sockets", p->n_runtime_sockets, CM_INV_LIST_MAX)) < 0)
        return rc;
    h->docker_present = p->docker_present;
    h->daemon_config_path = inv_dup(p->daemon_config_path);
    h->daemon_config_error = inv_dup(p->daemon_config_error);
    h->daemon_settings = inv_kvs_from_pb(p->daemon_settings, p->n_daemon_settings);
    h->n_daemon_settings = p->n_daemon_settings;
    h->runtime_sockets = inv_array(p->n_runtime_sockets, sizeof *h->runtime_sockets);
    h->n_runtime_sockets = p->n_runtime_sockets;
    for (size_t i = 0; i < p->n_runtime_sockets; i++) {
        const Boxwatch__V1__SocketInfo *s = p->runtime_sockets[i];
        h->runtime_sockets[i] =
            (struct cm_socket_info){inv_dup(s->path), s->exists,         s->uid,           s->gid,
                                    s->mode,          inv_dup(s->owner), inv_dup(s->group)};
    }
    return 0;
}

int cm_wire_inventory_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__InventoryBatch *p,
                              struct cm_inventory_batch *b)
{
    int rc;
    if ((rc = inv_check_count(c, "inventory.containers", p->n_containers, CM_INV_MAX_CONTAINERS)) <
            0 ||
        (rc = inv_check_count(c, "inventory.present_ids", p->n_present_ids,
                              CM_WIRE_MAX_PRESENT_IDS)) < 0)
        return rc;
    b->collected_ns = p->collected_unix_ns;
    b->complete = p->complete;
    b->present_ids = inv_array(b->n_present = p->n_present_ids, sizeof *b->present_ids);
    for (size_t i = 0; i < p->n_present_ids; i++)
        b->present_ids[i] = cm_xstrdup(p->present_ids[i]);
    b->containers = inv_array(b->n = p->n_containers, sizeof *b->containers);
    for (size_t i = 0; i < p->n_containers && rc == 0; i++) {
        c->item_name = "containers";
        c->item = (long)i;
        rc = inv_container_from_pb(c, p->containers[i], &b->containers[i]);
    }
    c->item_name = NULL;
    c->item = -1;
    if (rc == 0 && p->host) {
        b->host = cm_xcalloc(1, sizeof *b->host);
        c->item_name = "host";
        rc = inv_host_from_pb(c, p->host, b->host);
        c->item_name = NULL;
    }
    return rc;
}

/* ---- C -> protobuf ---------------------------------------------------- */

/* A scalar that is 0/false is left absent: it decodes back to the same. */
#define INV_PB_SET(p, f, v) ((p)->has_##f = (v) != 0, (p)->f = (v))

static Boxwatch__V1__KeyValue **inv_kvs_to_pb(struct cm_wire_arena *a, const struct cm_kv *kv,
                                              size_t n)
{
    Boxwatch__V1__KeyValue *pb = cm_wire_arena_alloc(a, n, sizeof *pb);
    Boxwatch__V1__KeyValue **ptrs = cm_wire_arena_alloc(a, n, sizeof *ptrs);
    for (size_t i = 0; i < n; i++) {
        boxwatch__v1__key_value__init(&pb[i]);
        pb[i].key = kv[i].key;
        pb[i].value = kv[i].value;
        ptrs[i] = &pb[i];
    }
    return ptrs;
}

static void inv_mounts_to_pb(struct cm_wire_arena *a, const struct cm_container_inv *ci, PbInv *p)
{
    Boxwatch__V1__Mount *pb = cm_wire_arena_alloc(a, ci->n_mounts, sizeof *pb);
    p->mounts = cm_wire_arena_alloc(a, ci->n_mounts, sizeof *p->mounts);
    p->n_mounts = ci->n_mounts;
    for (size_t i = 0; i < ci->n_mounts; i++) {
        const struct cm_mount *m = &ci->mounts[i];
        boxwatch__v1__mount__init(&pb[i]);
        pb[i].source = m->source;
        pb[i].destination = m->destination;
        INV_PB_SET(&pb[i], read_only, m->read_only);
        pb[i].type = m->type;
        pb[i].propagation = m->propagation;
        p->mounts[i] = &pb[i];
    }
}

static void inv_ports_to_pb(struct cm_wire_arena *a, const struct cm_container_inv *ci, PbInv *p)
{
    Boxwatch__V1__PortBinding *pb = cm_wire_arena_alloc(a, ci->n_ports, sizeof *pb);
    p->ports = cm_wire_arena_alloc(a, ci->n_ports, sizeof *p->ports);
    p->n_ports = ci->n_ports;
    for (size_t i = 0; i < ci->n_ports; i++) {
        const struct cm_port *pt = &ci->ports[i];
        boxwatch__v1__port_binding__init(&pb[i]);
        pb[i].container_port = pt->container_port;
        pb[i].protocol = pt->protocol;
        pb[i].host_ip = pt->host_ip;
        pb[i].has_host_port = pt->published; /* a published port 0 is still published */
        pb[i].host_port = pt->published ? pt->host_port : 0;
        p->ports[i] = &pb[i];
    }
}

static void inv_env_to_pb(struct cm_wire_arena *a, const struct cm_container_inv *ci, PbInv *p)
{
    Boxwatch__V1__EnvVar *pb = cm_wire_arena_alloc(a, ci->n_env, sizeof *pb);
    p->env = cm_wire_arena_alloc(a, ci->n_env, sizeof *p->env);
    p->n_env = ci->n_env;
    for (size_t i = 0; i < ci->n_env; i++) {
        boxwatch__v1__env_var__init(&pb[i]);
        pb[i].name = ci->env[i].name;
        INV_PB_SET(&pb[i], secret_like, ci->env[i].secret_like);
        pb[i].secret_reason = ci->env[i].secret_reason;
        p->env[i] = &pb[i];
    }
}

static void inv_listening_to_pb(struct cm_wire_arena *a, const struct cm_container_inv *ci,
                                PbInv *p)
{
    Boxwatch__V1__ListenSocket *pb = cm_wire_arena_alloc(a, ci->n_listening, sizeof *pb);
    p->listening = cm_wire_arena_alloc(a, ci->n_listening, sizeof *p->listening);
    p->n_listening = ci->n_listening;
    for (size_t i = 0; i < ci->n_listening; i++) {
        boxwatch__v1__listen_socket__init(&pb[i]);
        pb[i].protocol = ci->listening[i].protocol;
        pb[i].address = ci->listening[i].address;
        pb[i].port = ci->listening[i].port;
        p->listening[i] = &pb[i];
    }
}

static void inv_processes_to_pb(struct cm_wire_arena *a, const struct cm_container_inv *ci,
                                PbInv *p)
{
    Boxwatch__V1__Process *pb = cm_wire_arena_alloc(a, ci->n_processes, sizeof *pb);
    p->processes = cm_wire_arena_alloc(a, ci->n_processes, sizeof *p->processes);
    p->n_processes = ci->n_processes;
    for (size_t i = 0; i < ci->n_processes; i++) {
        const struct cm_process *pr = &ci->processes[i];
        boxwatch__v1__process__init(&pb[i]);
        pb[i].exe = pr->exe;
        pb[i].comm = pr->comm;
        INV_PB_SET(&pb[i], count, pr->count);
        INV_PB_SET(&pb[i], uid, pr->uid);
        p->processes[i] = &pb[i];
    }
}

static void inv_scalars_to_pb(const struct cm_container_inv *ci, PbInv *p)
{
    p->runtime = (Boxwatch__V1__Runtime)ci->runtime;
    INV_PB_SET(p, state, (Boxwatch__V1__ContainerState)ci->state);
    INV_PB_SET(p, created_unix_ns, ci->created_ns);
    INV_PB_SET(p, started_unix_ns, ci->started_ns);
    INV_PB_SET(p, pid, ci->pid);
    INV_PB_SET(p, privileged, ci->privileged);
    INV_PB_SET(p, host_namespaces, ci->host_namespaces);
    INV_PB_SET(p, readonly_rootfs, ci->readonly_rootfs);
    INV_PB_SET(p, no_new_privileges, ci->no_new_privileges);
    INV_PB_SET(p, memory_limit_bytes, ci->memory_limit_bytes);
    INV_PB_SET(p, nano_cpus, ci->nano_cpus);
    INV_PB_SET(p, cpu_shares, ci->cpu_shares);
    INV_PB_SET(p, cpu_quota_us, ci->cpu_quota_us);
    INV_PB_SET(p, cpu_period_us, ci->cpu_period_us);
    INV_PB_SET(p, pids_limit, ci->pids_limit);
    INV_PB_SET(p, restart_max_retries, ci->restart_max_retries);
    INV_PB_SET(p, healthcheck, ci->healthcheck);
    INV_PB_SET(p, known, ci->known);
}

/* p borrows ci's strings (protobuf-c only reads them while packing). */
static void inv_container_to_pb(struct cm_wire_arena *a, const struct cm_container_inv *ci,
                                PbInv *p)
{
    boxwatch__v1__container_inventory__init(p);
    p->container_id = (char *)ci->id;
    inv_scalars_to_pb(ci, p);
    for (size_t f = 0; f < INV_NELEM(inv_strs); f++)
        *(char **)((char *)p + inv_strs[f].pb_off) =
            *inv_str_at((struct cm_container_inv *)ci, &inv_strs[f]);
    for (size_t f = 0; f < INV_NELEM(inv_strvs); f++) {
        const struct cm_strv *v = inv_strv_at(ci, &inv_strvs[f]);
        *(size_t *)((char *)p + inv_strvs[f].pb_n_off) = v->n;
        *(char ***)((char *)p + inv_strvs[f].pb_v_off) = v->v;
    }
    p->labels = inv_kvs_to_pb(a, ci->labels, ci->n_labels);
    p->n_labels = ci->n_labels;
    inv_mounts_to_pb(a, ci, p);
    inv_ports_to_pb(a, ci, p);
    inv_env_to_pb(a, ci, p);
    inv_listening_to_pb(a, ci, p);
    inv_processes_to_pb(a, ci, p);
}

static Boxwatch__V1__HostInventory *inv_host_to_pb(struct cm_wire_arena *a,
                                                   const struct cm_host_inv *h)
{
    Boxwatch__V1__HostInventory *p = cm_wire_arena_alloc(a, 1, sizeof *p);
    boxwatch__v1__host_inventory__init(p);
    INV_PB_SET(p, docker_present, h->docker_present);
    p->daemon_config_path = h->daemon_config_path;
    p->daemon_config_error = h->daemon_config_error;
    p->daemon_settings = inv_kvs_to_pb(a, h->daemon_settings, h->n_daemon_settings);
    p->n_daemon_settings = h->n_daemon_settings;
    Boxwatch__V1__SocketInfo *pb = cm_wire_arena_alloc(a, h->n_runtime_sockets, sizeof *pb);
    p->runtime_sockets = cm_wire_arena_alloc(a, h->n_runtime_sockets, sizeof *p->runtime_sockets);
    p->n_runtime_sockets = h->n_runtime_sockets;
    for (size_t i = 0; i < h->n_runtime_sockets; i++) {
        const struct cm_socket_info *s = &h->runtime_sockets[i];
        boxwatch__v1__socket_info__init(&pb[i]);
        pb[i].path = s->path;
        INV_PB_SET(&pb[i], exists, s->exists);
        INV_PB_SET(&pb[i], uid, s->uid);
        INV_PB_SET(&pb[i], gid, s->gid);
        INV_PB_SET(&pb[i], mode, s->mode);
        pb[i].owner = s->owner;
        pb[i].group = s->group;
        p->runtime_sockets[i] = &pb[i];
    }
    return p;
}

void cm_wire_inventory_to_pb(struct cm_wire_arena *a, const struct cm_inventory_batch *b,
                             Boxwatch__V1__InventoryBatch *p)
{
    boxwatch__v1__inventory_batch__init(p);
    p->collected_unix_ns = b->collected_ns;
    PbInv *pb = cm_wire_arena_alloc(a, b->n, sizeof *pb);
    p->containers = cm_wire_arena_alloc(a, b->n, sizeof *p->containers);
    p->n_containers = b->n;
    for (size_t i = 0; i < b->n; i++) {
        inv_container_to_pb(a, &b->containers[i], &pb[i]);
        p->containers[i] = &pb[i];
    }
    p->host = b->host ? inv_host_to_pb(a, b->host) : NULL;
    INV_PB_SET(p, complete, b->complete);
    p->present_ids = b->present_ids;
    p->n_present_ids = b->n_present;
}

/* ---- one ContainerInventory on its own -------------------------------- */

int cm_wire_encode_container_inv(const struct cm_container_inv *c, uint8_t **out, size_t *out_len)
{
    struct cm_wire_ctx ctx = CM_WIRE_CTX_INIT(NULL, 0);
    struct cm_wire_arena a = {0};
    PbInv p;
    int rc = inv_check_container(&ctx, c);
    if (rc < 0) return rc;
    inv_container_to_pb(&a, c, &p);
    rc = cm_wire_pack(&p.base, out, out_len);
    cm_wire_arena_free(&a);
    return rc;
}

static int inv_container_from_msg(struct cm_wire_ctx *c, const ProtobufCMessage *m, void *out)
{
    int rc = inv_container_from_pb(c, (const PbInv *)m, out);
    return rc < 0 ? rc : inv_check_container(c, out);
}

static void inv_container_reset(void *out)
{
    cm_container_inv_free(out);
}

int cm_wire_decode_container_inv(const uint8_t *buf, size_t len, struct cm_container_inv *c,
                                 char *why, size_t whylen)
{
    memset(c, 0, sizeof *c);
    return cm_wire_decode_msg(&boxwatch__v1__container_inventory__descriptor,
                              inv_container_from_msg, inv_container_reset, c, buf, len, NULL, why,
                              whylen);
}
