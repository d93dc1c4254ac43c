/* inventory_json.c - a container's or host's inventory as a JSON object, for
 * the agent's --print and the collector's API.
 *
 * Keys are the proto field names (proto/boxwatch.proto), with three
 * spellings of our own: times are RFC 3339 UTC strings under "<name>_at"
 * (created_at, started_at), left out when 0 (unknown); enums are names
 * ("docker", "running"); bitmasks are arrays of names ("known": ["user",
 * "caps", ...], "host_namespaces": ["net", "pid", ...]). NULL strings, empty
 * lists and a pid of 0 are left out; other scalars are always there, 64-bit
 * ones as exact integers. Labels and daemon settings become objects;
 * a daemon setting's value is embedded as the JSON it holds (a string when
 * it does not parse). A socket's mode is an octal string ("0660").
 *
 * It does not parse JSON back into the model, and it never logs. */
#include "common/inventory.h"

#include "common/timeutil.h"

#include <inttypes.h>
#include <stdio.h>

struct js_bit {
    uint32_t bit;
    const char *name;
};

static const struct js_bit inv_known_names[] = {
    {CM_INV_K_USER, "user"},
    {CM_INV_K_PRIVILEGED, "privileged"},
    {CM_INV_K_CAPS, "caps"},
    {CM_INV_K_MOUNTS, "mounts"},
    {CM_INV_K_NAMESPACES, "namespaces"},
    {CM_INV_K_ROOTFS, "rootfs"},
    {CM_INV_K_SECCOMP, "seccomp"},
    {CM_INV_K_MAC, "mac"},
    {CM_INV_K_NNP, "nnp"},
    {CM_INV_K_LIMITS, "limits"},
    {CM_INV_K_PORTS, "ports"},
    {CM_INV_K_RESTART, "restart"},
    {CM_INV_K_HEALTH, "health"},
    {CM_INV_K_ENV, "env"},
    {CM_INV_K_LISTEN, "listen"},
    {CM_INV_K_PROCS, "procs"},
    {CM_INV_K_IMAGE, "image"},
};

static const struct js_bit inv_ns_names[] = {
    {CM_NS_NET, "net"}, {CM_NS_PID, "pid"},   {CM_NS_IPC, "ipc"},
    {CM_NS_UTS, "uts"}, {CM_NS_USER, "user"}, {CM_NS_CGROUP, "cgroup"},
};

/* Each helper returns 0, or -1 when cJSON could not allocate; callers fold
 * the results with | (not ||: every field is attempted) and give up once, at
 * the end. */

static int js_str(cJSON *o, const char *key, const char *s)
{
    return !s || cJSON_AddStringToObject(o, key, s) ? 0 : -1;
}

static int js_bool(cJSON *o, const char *key, bool b)
{
    return cJSON_AddBoolToObject(o, key, b) ? 0 : -1;
}

static int js_u32(cJSON *o, const char *key, uint32_t v)
{
    return cJSON_AddNumberToObject(o, key, (double)v) ? 0 : -1; /* exact in a double */
}

/* 64-bit integers as raw text: a double would round them above 2^53. */
static int js_u64(cJSON *o, const char *key, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v);
    return cJSON_AddRawToObject(o, key, num) ? 0 : -1;
}

static int js_i64(cJSON *o, const char *key, int64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRId64, v);
    return cJSON_AddRawToObject(o, key, num) ? 0 : -1;
}

static int js_time(cJSON *o, const char *key, int64_t ns)
{
    char ts[40];
    if (ns == 0 || cm_time_format_rfc3339(ns, ts, sizeof ts) < 0) return 0;
    return cJSON_AddStringToObject(o, key, ts) ? 0 : -1;
}

static int js_strv(cJSON *o, const char *key, const struct cm_strv *v)
{
    if (v->n == 0) return 0;
    cJSON *a = cJSON_AddArrayToObject(o, key);
    if (!a) return -1;
    for (size_t i = 0; i < v->n; i++) {
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(v->v[i] ? v->v[i] : ""))) return -1;
    }
    return 0;
}

/* Bits without a name are left out: the wire decoder rejects them anyway. */
static int js_bits(cJSON *o, const char *key, uint32_t bits, const struct js_bit *names,
                   size_t count)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    if (!a) return -1;
    for (size_t i = 0; i < count; i++) {
        if ((bits & names[i].bit) && !cJSON_AddItemToArray(a, cJSON_CreateString(names[i].name)))
            return -1;
    }
    return 0;
}

/* A daemon setting's value is JSON text; anything else is kept as a string. */
static cJSON *js_setting_value(const char *text)
{
    if (!text) return cJSON_CreateNull();
    cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
    return v ? v : cJSON_CreateString(text);
}

static int js_kv(cJSON *o, const char *key, const struct cm_kv *kv, size_t n, bool json_values)
{
    if (n == 0) return 0;
    cJSON *obj = cJSON_AddObjectToObject(o, key);
    if (!obj) return -1;
    for (size_t i = 0; i < n; i++) {
        cJSON *v = json_values   ? js_setting_value(kv[i].value)
                   : kv[i].value ? cJSON_CreateString(kv[i].value)
                                 : cJSON_CreateNull();
        if (!cJSON_AddItemToObject(obj, kv[i].key ? kv[i].key : "", v)) {
            cJSON_Delete(v);
            return -1;
        }
    }
    return 0;
}

typedef cJSON *(*js_item_cb)(const void *item);

/* An array of objects, one per element of `base` (n elements of `size`). */
static int js_list(cJSON *o, const char *key, const void *base, size_t n, size_t size,
                   js_item_cb item)
{
    if (n == 0) return 0;
    cJSON *a = cJSON_AddArrayToObject(o, key);
    if (!a) return -1;
    for (size_t i = 0; i < n; i++) {
        if (!cJSON_AddItemToArray(a, item((const char *)base + i * size))) return -1;
    }
    return 0;
}

/* Finishes an object: NULL when building it failed somewhere. */
static cJSON *js_done(cJSON *o, int rc)
{
    if (rc == 0) return o;
    cJSON_Delete(o);
    return NULL;
}

static cJSON *js_mount(const void *p)
{
    const struct cm_mount *m = p;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    return js_done(o, js_str(o, "source", m->source) | js_str(o, "destination", m->destination) |
                          js_bool(o, "read_only", m->read_only) | js_str(o, "type", m->type) |
                          js_str(o, "propagation", m->propagation));
}

static cJSON *js_port(const void *p)
{
    const struct cm_port *pt = p;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int rc = js_u32(o, "container_port", pt->container_port) | js_str(o, "protocol", pt->protocol) |
             js_str(o, "host_ip", pt->host_ip);
    if (pt->published) rc |= js_u32(o, "host_port", pt->host_port);
    return js_done(o, rc);
}

static cJSON *js_env(const void *p)
{
    const struct cm_env *e = p;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    return js_done(o, js_str(o, "name", e->name) | js_bool(o, "secret_like", e->secret_like) |
                          js_str(o, "secret_reason", e->secret_reason));
}

static cJSON *js_listen(const void *p)
{
    const struct cm_listen *l = p;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    return js_done(o, js_str(o, "protocol", l->protocol) | js_str(o, "address", l->address) |
                          js_u32(o, "port", l->port));
}

static cJSON *js_process(const void *p)
{
    const struct cm_process *pr = p;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    return js_done(o, js_str(o, "exe", pr->exe) | js_str(o, "comm", pr->comm) |
                          js_u32(o, "count", pr->count) | js_u32(o, "uid", pr->uid));
}

static cJSON *js_socket(const void *p)
{
    const struct cm_socket_info *s = p;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int rc = js_str(o, "path", s->path) | js_bool(o, "exists", s->exists);
    if (s->exists) {
        char mode[16];
        snprintf(mode, sizeof mode, "%04o", (unsigned)(s->mode & 07777));
        rc |= js_u32(o, "uid", s->uid) | js_u32(o, "gid", s->gid) | js_str(o, "mode", mode) |
              js_str(o, "owner", s->owner) | js_str(o, "group", s->group);
    }
    return js_done(o, rc);
}

/* Identity, image and lifecycle. */
static int js_container_head(cJSON *o, const struct cm_container_inv *c)
{
    int rc = js_str(o, "container_id", c->id) | js_str(o, "runtime", cm_runtime_name(c->runtime)) |
             js_str(o, "state", cm_inv_state_name(c->state)) | js_str(o, "error", c->error) |
             js_str(o, "name", c->name) | js_str(o, "image", c->image) |
             js_str(o, "image_digest", c->image_digest) |
             js_kv(o, "labels", c->labels, c->n_labels, false) |
             js_time(o, "created_at", c->created_ns) | js_time(o, "started_at", c->started_ns) |
             js_str(o, "cgroup_path", c->cgroup_path);
    if (c->pid) rc |= js_u32(o, "pid", c->pid);
    return rc;
}

/* Privileges, isolation and limits. */
static int js_container_security(cJSON *o, const struct cm_container_inv *c)
{
    return js_str(o, "user", c->user) | js_bool(o, "privileged", c->privileged) |
           js_strv(o, "cap_add", &c->cap_add) | js_strv(o, "cap_drop", &c->cap_drop) |
           js_strv(o, "cap_effective", &c->cap_effective) |
           js_strv(o, "cap_bounding", &c->cap_bounding) |
           js_list(o, "mounts", c->mounts, c->n_mounts, sizeof *c->mounts, js_mount) |
           js_bits(o, "host_namespaces", c->host_namespaces, inv_ns_names,
                   sizeof inv_ns_names / sizeof inv_ns_names[0]) |
           js_bool(o, "readonly_rootfs", c->readonly_rootfs) |
           js_str(o, "seccomp_profile", c->seccomp_profile) |
           js_str(o, "apparmor_profile", c->apparmor_profile) |
           js_str(o, "selinux_label", c->selinux_label) |
           js_bool(o, "no_new_privileges", c->no_new_privileges) |
           js_strv(o, "security_opt", &c->security_opt) |
           js_u64(o, "memory_limit_bytes", c->memory_limit_bytes) |
           js_u64(o, "nano_cpus", c->nano_cpus) | js_u64(o, "cpu_shares", c->cpu_shares) |
           js_i64(o, "cpu_quota_us", c->cpu_quota_us) |
           js_u64(o, "cpu_period_us", c->cpu_period_us) | js_i64(o, "pids_limit", c->pids_limit);
}

/* Network, restart, health, environment and what runs inside. */
static int js_container_runtime(cJSON *o, const struct cm_container_inv *c)
{
    return js_list(o, "ports", c->ports, c->n_ports, sizeof *c->ports, js_port) |
           js_str(o, "restart_policy", c->restart_policy) |
           js_u32(o, "restart_max_retries", c->restart_max_retries) |
           js_bool(o, "healthcheck", c->healthcheck) |
           js_list(o, "env", c->env, c->n_env, sizeof *c->env, js_env) |
           js_list(o, "listening", c->listening, c->n_listening, sizeof *c->listening, js_listen) |
           js_list(o, "processes", c->processes, c->n_processes, sizeof *c->processes, js_process) |
           js_str(o, "network_mode", c->network_mode) | js_strv(o, "devices", &c->devices) |
           js_str(o, "cgroup_parent", c->cgroup_parent) |
           js_bits(o, "known", c->known, inv_known_names,
                   sizeof inv_known_names / sizeof inv_known_names[0]);
}

cJSON *cm_container_inv_to_json(const struct cm_container_inv *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    return js_done(o, js_container_head(o, c) | js_container_security(o, c) |
                          js_container_runtime(o, c));
}

cJSON *cm_host_inv_to_json(const struct cm_host_inv *h)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    return js_done(o,
                   js_bool(o, "docker_present", h->docker_present) |
                       js_str(o, "daemon_config_path", h->daemon_config_path) |
                       js_str(o, "daemon_config_error", h->daemon_config_error) |
                       js_kv(o, "daemon_settings", h->daemon_settings, h->n_daemon_settings, true) |
                       js_list(o, "runtime_sockets", h->runtime_sockets, h->n_runtime_sockets,
                               sizeof *h->runtime_sockets, js_socket));
}
