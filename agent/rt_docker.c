/* rt_docker.c - a Docker container's configuration from Docker's own JSON:
 * config.v2.json (+ hostconfig.json), `docker inspect` output, or a create
 * request (ag_rt_docker_parse in rt.h).
 *
 * All three carry the same Config and HostConfig objects; they differ in
 * where those sit and in what else is there (State, MountPoints or Mounts,
 * NetworkSettings). Each decision about what a field means is commented
 * where it is made. This file does not read files, join with cgroups or
 * judge the result: the collector's checks do that. */
#include "agent/rt.h"

#include "agent/rt_json.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/parse.h"
#include "common/timeutil.h"
#include "proto/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AG_RT_DOCKER_TIME_MAX (INT64_C(7258118400) * CM_NS_PER_SEC) /* 2200-01-01 */
#define AG_RT_DOCKER_PID_MAX 4194304                                /* the kernel's PID_MAX_LIMIT */

/* Where the parts of one document are. */
struct ag_rt_docker {
    const cJSON *root; /* config.v2.json, the inspect object, or the create request */
    const cJSON *cfg;  /* Config; the root itself in a create request */
    const cJSON *hc;   /* HostConfig (its own file or inside root); NULL when absent */
    bool create;       /* a create request: no State, no id, nothing resolved yet */
};

static int ag_rt_docker_shape(struct ag_rt_json *x, cJSON *doc, const cJSON *hdoc,
                              struct ag_rt_docker *d)
{
    const cJSON *root = doc;
    memset(d, 0, sizeof *d);
    /* `docker inspect` prints an array; one container per call here. */
    if (cJSON_IsArray(doc)) {
        int n = cJSON_GetArraySize(doc);
        if (n != 1) {
            ag_rt_json_fail(x, CM_EPARSE, "config: an array of %d documents, expected one", n);
            return CM_EPARSE;
        }
        root = doc->child;
    }
    if (!cJSON_IsObject(root)) {
        ag_rt_json_fail(x, CM_EPARSE, "config: not a JSON object");
        return CM_EPARSE;
    }
    d->root = root;
    d->cfg = ag_rt_json_obj(x, root, "Config");
    /* No Config object: the create request shape, Config's fields at the top. */
    d->create = d->cfg == NULL;
    if (d->create) d->cfg = root;
    if (hdoc && !cJSON_IsObject(hdoc)) {
        ag_rt_json_fail(x, CM_EPARSE, "hostconfig: not a JSON object");
        return CM_EPARSE;
    }
    d->hc = hdoc ? hdoc : ag_rt_json_obj(x, root, "HostConfig");
    return 0;
}

/* RFC 3339 with nanoseconds; Go's zero time "0001-01-01T00:00:00Z" (never
 * started), anything unparsable and anything outside 1970..2200 (what the
 * wire carries) are "unknown" (0): a bad timestamp says nothing about
 * security, so it is not worth failing the container for. */
static int64_t ag_rt_docker_time(struct ag_rt_json *x, const cJSON *obj, const char *key)
{
    int64_t ns = 0;
    const char *s = ag_rt_json_str(x, obj, key);
    if (!s || cm_time_parse(s, &ns) < 0 || ns <= 0 || ns >= AG_RT_DOCKER_TIME_MAX) return 0;
    return ns;
}

static void ag_rt_docker_identity(struct ag_rt_json *x, const struct ag_rt_docker *d,
                                  struct cm_container_inv *c)
{
    /* "ID" in config.v2.json, "Id" in inspect: one case-insensitive key. */
    const char *id = d->create ? NULL : ag_rt_json_str(x, d->root, "ID");
    if (id && cm_wire_check_container_id(id) < 0)
        ag_rt_json_fail(x, CM_EPARSE, "ID: not 1..%d bytes of [A-Za-z0-9_.:@-]",
                        CM_CONTAINER_ID_MAX);
    else if (id)
        memcpy(c->id, id, strlen(id) + 1);
    const char *name = d->create ? NULL : ag_rt_json_str(x, d->root, "Name");
    if (name && name[0] == '/') name++; /* Docker keeps names as "/name" */
    if (name && name[0]) ag_rt_json_set(&c->name, name);
    x->where = d->create ? NULL : "Config";
    /* Config.Image is the reference the user asked for; the top-level Image
     * of inspect/config.v2.json is the image id, not a registry digest. */
    const char *image = ag_rt_json_str(x, d->cfg, "Image");
    if (image) {
        ag_rt_json_set(&c->image, image);
        const char *at = strrchr(image, '@');
        if (at && strncmp(at + 1, "sha256:", 7) == 0 && at[8])
            ag_rt_json_set(&c->image_digest, at + 1);
        c->known |= CM_INV_K_IMAGE;
    }
    ag_rt_json_labels(x, ag_rt_json_obj(x, d->cfg, "Labels"), c, "Labels");
    x->where = NULL;
    if (!d->create) c->created_ns = ag_rt_docker_time(x, d->root, "Created");
}

static void ag_rt_docker_state(struct ag_rt_json *x, const struct ag_rt_docker *d,
                               struct cm_container_inv *c)
{
    bool running = false, paused = false, restarting = false, dead = false;
    int64_t pid = 0;
    const cJSON *st = d->create ? NULL : ag_rt_json_obj(x, d->root, "State");
    if (!st) return;
    x->where = "State";
    ag_rt_json_bool(x, st, "Running", &running);
    ag_rt_json_bool(x, st, "Paused", &paused);
    ag_rt_json_bool(x, st, "Restarting", &restarting);
    ag_rt_json_bool(x, st, "Dead", &dead);
    c->started_ns = ag_rt_docker_time(x, st, "StartedAt");
    /* The order of Docker's own State.StateString(). The model has no
     * "dead": a dead container has exited and will not run again. */
    if (running)
        c->state = paused       ? CM_INV_STATE_PAUSED
                   : restarting ? CM_INV_STATE_RESTARTING
                                : CM_INV_STATE_RUNNING;
    else if (dead || c->started_ns)
        c->state = CM_INV_STATE_EXITED;
    else
        c->state = CM_INV_STATE_CREATED;
    if (ag_rt_json_int(x, st, "Pid", &pid) && pid > 0 && pid <= AG_RT_DOCKER_PID_MAX)
        c->pid = (uint32_t)pid;
    /* Any State.Health means a health check runs (5.27: any status passes). */
    if (ag_rt_json_obj(x, st, "Health")) c->healthcheck = true;
    x->where = NULL;
}

/* Config.Healthcheck: a Test other than [] (inherit) and ["NONE"] (off). */
static bool ag_rt_docker_has_healthcheck(struct ag_rt_json *x, const cJSON *hc_obj)
{
    const cJSON *test = ag_rt_json_arr(x, hc_obj, "Test");
    if (!test) return false;
    if (!cJSON_IsString(test->child)) return false;
    return strcmp(test->child->valuestring, "NONE") != 0;
}

static void ag_rt_docker_config(struct ag_rt_json *x, const struct ag_rt_docker *d,
                                struct cm_container_inv *c)
{
    x->where = d->create ? NULL : "Config";
    /* Docker merged the image's User into Config at create, so "" (or no
     * key) is known: the image default, root. A create request is not
     * merged yet; "" there is the image's default too, reported the same. */
    const char *user = ag_rt_json_str(x, d->cfg, "User");
    ag_rt_json_set(&c->user, user ? user : "");
    c->known |= CM_INV_K_USER;
    if (ag_rt_json_env(x, ag_rt_json_arr(x, d->cfg, "Env"), c, "Env") == 0)
        c->known |= CM_INV_K_ENV;
    const cJSON *hcheck = ag_rt_json_obj(x, d->cfg, "Healthcheck");
    if (ag_rt_docker_has_healthcheck(x, hcheck)) c->healthcheck = true;
    /* Config already holds the image's HEALTHCHECK once the container
     * exists (State present). A create request without one may still get
     * the image's: unknown unless it says so itself. */
    if (!d->create || hcheck) c->known |= CM_INV_K_HEALTH;
    x->where = NULL;
}

/* UsernsMode is compared without case (5.31); the other modes are exact
 * "host" (container:<id> shares another container's namespace, not the
 * host's). CgroupnsMode left empty follows the daemon's default, which is
 * "host" on cgroup v1: only an explicit "host" is reported here. */
static void ag_rt_docker_namespaces(struct ag_rt_json *x, const cJSON *hc,
                                    struct cm_container_inv *c)
{
    static const struct {
        const char *key;
        uint32_t bit;
    } modes[] = {{"NetworkMode", CM_NS_NET},
                 {"PidMode", CM_NS_PID},
                 {"IpcMode", CM_NS_IPC},
                 {"UTSMode", CM_NS_UTS},
                 {"CgroupnsMode", CM_NS_CGROUP}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        const char *v = ag_rt_json_str(x, hc, modes[i].key);
        if (v && strcmp(v, "host") == 0) c->host_namespaces |= modes[i].bit;
    }
    const char *userns = ag_rt_json_str(x, hc, "UsernsMode");
    if (userns && strcasecmp(userns, "host") == 0) c->host_namespaces |= CM_NS_USER;
    ag_rt_json_set(&c->network_mode, ag_rt_json_str(x, hc, "NetworkMode"));
    c->known |= CM_INV_K_NAMESPACES;
}

static void ag_rt_docker_limits(struct ag_rt_json *x, const struct ag_rt_docker *d,
                                struct cm_container_inv *c)
{
    const cJSON *hc = d->hc;
    int64_t pids = 0;
    /* Memory moved from Config to HostConfig in API 1.19; read both. */
    if (!ag_rt_json_uint(x, hc, "Memory", &c->memory_limit_bytes) || !c->memory_limit_bytes) {
        x->where = d->create ? NULL : "Config";
        ag_rt_json_uint(x, d->cfg, "Memory", &c->memory_limit_bytes);
        x->where = "HostConfig";
    }
    ag_rt_json_uint(x, hc, "NanoCpus", &c->nano_cpus);
    ag_rt_json_uint(x, hc, "CpuShares", &c->cpu_shares);
    ag_rt_json_int(x, hc, "CpuQuota", &c->cpu_quota_us);
    ag_rt_json_uint(x, hc, "CpuPeriod", &c->cpu_period_us);
    /* null or missing PidsLimit: no limit (0), like 0 and -1. */
    if (ag_rt_json_int(x, hc, "PidsLimit", &pids)) c->pids_limit = pids;
    c->known |= CM_INV_K_LIMITS;
}

static void ag_rt_docker_restart(struct ag_rt_json *x, const cJSON *hc, struct cm_container_inv *c)
{
    int64_t retries = 0;
    const cJSON *rp = ag_rt_json_obj(x, hc, "RestartPolicy");
    const char *name = ag_rt_json_str(x, rp, "Name");
    /* Docker reads an empty or absent policy name as "no". */
    ag_rt_json_set(&c->restart_policy, name ? name : "no");
    if (ag_rt_json_int(x, rp, "MaximumRetryCount", &retries) && retries > 0)
        c->restart_max_retries = retries > UINT32_MAX ? UINT32_MAX : (uint32_t)retries;
    c->known |= CM_INV_K_RESTART;
}

static void ag_rt_docker_devices(struct ag_rt_json *x, const cJSON *hc, struct cm_container_inv *c)
{
    const cJSON *devs = ag_rt_json_arr(x, hc, "Devices");
    for (const cJSON *it = devs ? devs->child : NULL; it; it = it->next) {
        if (!cJSON_IsObject(it)) {
            ag_rt_json_fail(x, CM_EPARSE, "HostConfig.Devices: expected an array of objects");
            return;
        }
        const char *path = ag_rt_json_str(x, it, "PathOnHost");
        if (path && ag_rt_json_push(x, &c->devices, path, "Devices") < 0) return;
    }
}

static void ag_rt_docker_host(struct ag_rt_json *x, const struct ag_rt_docker *d,
                              struct cm_container_inv *c)
{
    const cJSON *hc = d->hc;
    x->where = "HostConfig";
    /* Absent Privileged or ReadonlyRootfs is false, as Docker reads it. */
    ag_rt_json_bool(x, hc, "Privileged", &c->privileged);
    c->known |= CM_INV_K_PRIVILEGED;
    if (ag_rt_json_caps(x, ag_rt_json_arr(x, hc, "CapAdd"), &c->cap_add, "CapAdd") == 0 &&
        ag_rt_json_caps(x, ag_rt_json_arr(x, hc, "CapDrop"), &c->cap_drop, "CapDrop") == 0)
        c->known |= CM_INV_K_CAPS;
    ag_rt_json_bool(x, hc, "ReadonlyRootfs", &c->readonly_rootfs);
    c->known |= CM_INV_K_ROOTFS;
    ag_rt_docker_namespaces(x, hc, c);
    ag_rt_docker_limits(x, d, c);
    ag_rt_docker_restart(x, hc, c);
    ag_rt_docker_devices(x, hc, c);
    ag_rt_json_set(&c->cgroup_parent, ag_rt_json_str(x, hc, "CgroupParent"));
    x->where = NULL;
}

/* ---- security options ---- */

struct ag_rt_docker_sec {
    const char *seccomp;  /* seccomp=<value>, borrowed from the document */
    const char *apparmor; /* apparmor=<value> */
    struct cm_buf label;  /* label=<value>s joined with ',' */
    bool nnp;
};

/* One SecurityOpt entry, split the way Docker's parseSecurityOpt does: at
 * the first '=', or when there is none at the first ':' (the old syntax). */
static void ag_rt_docker_secopt(struct ag_rt_json *x, const char *opt, struct ag_rt_docker_sec *s,
                                struct cm_container_inv *c)
{
    size_t klen = strchr(opt, '=') ? strcspn(opt, "=") : strcspn(opt, ":");
    const char *val = opt[klen] ? opt + klen + 1 : NULL;
    bool nnp = true, inline_json = false;
    if (klen == 7 && strncmp(opt, "seccomp", 7) == 0) {
        s->seccomp = val;
        inline_json = val && val[0] == '{';
    } else if (klen == 8 && strncmp(opt, "apparmor", 8) == 0) {
        s->apparmor = val;
    } else if ((klen == 5 && strncmp(opt, "label", 5) == 0 && val && val[0]) ||
               strcmp(opt, "disable") == 0) {
        if (s->label.len) cm_buf_append_str(&s->label, ",");
        cm_buf_append_str(&s->label, val && klen == 5 ? val : "disable");
    } else if (klen == 17 && strncmp(opt, "no-new-privileges", 17) == 0) {
        /* True for the bare key and for ParseBool's true values only:
         * "no-new-privileges:false" is false (docker-bench's substring test
         * passes it). A value Docker could not parse is read as false. */
        if (val && ag_rt_json_parse_bool(val, &nnp) < 0) nnp = false;
        s->nnp = nnp;
    }
    /* The CLI inlines a --security-opt seccomp=<file> as the file's JSON:
     * keep the entry's meaning, not kilobytes of syscall lists. */
    if (inline_json)
        ag_rt_json_push(x, &c->security_opt, "seccomp=<inline JSON profile>", "SecurityOpt");
    else
        ag_rt_json_push(x, &c->security_opt, opt, "SecurityOpt");
}

/* What a seccomp option value means: "unconfined"; the daemon's profile
 * ("builtin" or nothing given); an inline JSON profile described by what it
 * does (ag_rt_json_seccomp_kind); else a profile name or path as given. */
static const char *ag_rt_docker_seccomp_name(const char *v)
{
    if (!v || strcmp(v, "builtin") == 0) return "default";
    if (v[0] != '{') return v;
    cJSON *prof = cJSON_Parse(v);
    const char *kind = prof ? ag_rt_json_seccomp_kind(prof) : "custom"; /* a literal */
    cJSON_Delete(prof);
    return kind;
}

static void ag_rt_docker_seccomp(struct ag_rt_json *x, const struct ag_rt_docker *d,
                                 const struct ag_rt_docker_sec *s, struct cm_container_inv *c)
{
    const char *v = s->seccomp;
    /* config.v2.json keeps the container's resolved option in SeccompProfile. */
    if (!v && !d->create) v = ag_rt_json_str(x, d->root, "SeccompProfile");
    /* Docker applies no seccomp filter to a privileged container, whatever
     * SecurityOpt says. */
    if (c->privileged) v = "unconfined";
    ag_rt_json_set(&c->seccomp_profile, ag_rt_docker_seccomp_name(v));
    c->known |= CM_INV_K_SECCOMP;
}

static void ag_rt_docker_security(struct ag_rt_json *x, const struct ag_rt_docker *d,
                                  struct cm_container_inv *c)
{
    struct ag_rt_docker_sec s = {NULL, NULL, {NULL, 0, 0, 0}, false};
    cm_buf_init(&s.label, CM_INV_STR_MAX);
    x->where = "HostConfig";
    const cJSON *opts = ag_rt_json_arr(x, d->hc, "SecurityOpt");
    for (const cJSON *it = opts ? opts->child : NULL; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            ag_rt_json_fail(x, CM_EPARSE, "HostConfig.SecurityOpt: expected an array of strings");
            break;
        }
        ag_rt_docker_secopt(x, it->valuestring, &s, c);
    }
    x->where = NULL;
    if (d->hc) ag_rt_docker_seccomp(x, d, &s, c);
    /* config.v2.json keeps the resolved value: the daemon's
     * no-new-privileges default at create time, then SecurityOpt over it.
     * Elsewhere only SecurityOpt is known; the daemon default is the
     * host's (cm_host_inv), for the collector to combine. */
    bool resolved = false;
    bool has_resolved = !d->create && ag_rt_json_bool(x, d->root, "NoNewPrivileges", &resolved);
    if (has_resolved || d->hc) {
        c->no_new_privileges = has_resolved ? resolved : s.nnp;
        c->known |= CM_INV_K_NNP;
    }
    /* The resolved profile (config.v2.json, inspect) first, then the
     * option; Docker runs a privileged container without AppArmor. */
    const char *aa = d->create ? NULL : ag_rt_json_str(x, d->root, "AppArmorProfile");
    if (!aa) aa = s.apparmor && s.apparmor[0] ? s.apparmor : NULL;
    if (!aa && c->privileged) aa = "unconfined";
    ag_rt_json_set(&c->apparmor_profile, aa);
    const char *se = d->create ? NULL : ag_rt_json_str(x, d->root, "ProcessLabel");
    ag_rt_json_set(&c->selinux_label, se ? se : s.label.len ? s.label.data : NULL);
    if (d->hc || c->apparmor_profile || c->selinux_label) c->known |= CM_INV_K_MAC;
    cm_buf_close(&s.label);
}

/* ---- mounts ---- */

/* A MountPoints value (config.v2.json) or a Mounts entry (inspect):
 * Source, Destination, RW, Type, Propagation. RW absent is false, as Go
 * reads it, and Docker then mounts read-only. */
static void ag_rt_docker_mount_obj(struct ag_rt_json *x, const cJSON *m, const char *key_dest,
                                   struct cm_container_inv *c)
{
    bool rw = false;
    if (!cJSON_IsObject(m)) {
        ag_rt_json_fail(x, CM_EPARSE, "%s: expected objects", x->where);
        return;
    }
    const char *dst = ag_rt_json_str(x, m, "Destination");
    if (!dst) dst = key_dest;
    if (!dst || !dst[0]) return;
    ag_rt_json_bool(x, m, "RW", &rw);
    ag_rt_json_mount_add(x, c, ag_rt_json_str(x, m, "Source"), dst, !rw,
                         ag_rt_json_str(x, m, "Type"), ag_rt_json_str(x, m, "Propagation"));
}

/* A HostConfig.Binds entry, "src:dst[:options]" (options: ro/rw, z/Z,
 * nocopy and a propagation mode, comma-separated). */
static void ag_rt_docker_bind(struct ag_rt_json *x, const char *spec, struct cm_container_inv *c)
{
    char *src = NULL, *dst = NULL;
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || c1 == spec || c2 == c1 + 1 || !c1[1] || (c2 && strchr(c2 + 1, ':'))) {
        ag_rt_json_fail(x, CM_EPARSE, "HostConfig.Binds: \"%.64s\" is not src:dst[:options]", spec);
        return;
    }
    bool ro = false;
    const char *prop = NULL;
    char opt[16];
    for (const char *o = c2 ? c2 + 1 : ""; *o;) {
        size_t n = strcspn(o, ",");
        if (n < sizeof opt) {
            memcpy(opt, o, n);
            opt[n] = '\0';
            if (strcmp(opt, "ro") == 0) ro = true;
            if (ag_rt_json_propagation(opt)) prop = ag_rt_json_propagation(opt);
        }
        o += n + (o[n] == ',');
    }
    src = ag_rt_json_strndup(spec, (size_t)(c1 - spec));
    dst = ag_rt_json_strndup(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1));
    /* A source that is not a path names a volume. */
    ag_rt_json_mount_add(x, c, src, dst, ro, src[0] == '/' ? "bind" : "volume", prop);
    free(dst);
    free(src);
}

/* HostConfig.Mounts (--mount): Type, Source, Target, ReadOnly,
 * BindOptions.Propagation. Read only when nothing resolved is there. */
static void ag_rt_docker_hc_mounts(struct ag_rt_json *x, const cJSON *hc,
                                   struct cm_container_inv *c)
{
    const cJSON *binds = ag_rt_json_arr(x, hc, "Binds");
    for (const cJSON *it = binds ? binds->child : NULL; it; it = it->next) {
        if (!cJSON_IsString(it)) {
            ag_rt_json_fail(x, CM_EPARSE, "HostConfig.Binds: expected an array of strings");
            return;
        }
        ag_rt_docker_bind(x, it->valuestring, c);
    }
    const cJSON *ms = ag_rt_json_arr(x, hc, "Mounts");
    for (const cJSON *it = ms ? ms->child : NULL; it; it = it->next) {
        bool ro = false;
        const char *dst = cJSON_IsObject(it) ? ag_rt_json_str(x, it, "Target") : NULL;
        if (!dst) continue; /* no target: Docker refuses it at create */
        ag_rt_json_bool(x, it, "ReadOnly", &ro);
        const cJSON *bo = ag_rt_json_obj(x, it, "BindOptions");
        ag_rt_json_mount_add(x, c, ag_rt_json_str(x, it, "Source"), dst, ro,
                             ag_rt_json_str(x, it, "Type"), ag_rt_json_str(x, bo, "Propagation"));
    }
}

/* The resolved list when there is one: MountPoints (config.v2.json, keyed
 * by destination) or Mounts (inspect); else what was asked for (create). */
static void ag_rt_docker_mounts(struct ag_rt_json *x, const struct ag_rt_docker *d,
                                struct cm_container_inv *c)
{
    const cJSON *mp = d->create ? NULL : ag_rt_json_item(d->root, "MountPoints");
    const cJSON *ms = d->create ? NULL : ag_rt_json_item(d->root, "Mounts");
    if (mp) {
        x->where = "MountPoints";
        if (!cJSON_IsObject(mp)) ag_rt_json_fail(x, CM_EPARSE, "MountPoints: expected an object");
        for (const cJSON *it = cJSON_IsObject(mp) ? mp->child : NULL; it; it = it->next)
            ag_rt_docker_mount_obj(x, it, it->string, c);
    } else if (ms) {
        x->where = "Mounts";
        if (!cJSON_IsArray(ms)) ag_rt_json_fail(x, CM_EPARSE, "Mounts: expected an array");
        for (const cJSON *it = cJSON_IsArray(ms) ? ms->child : NULL; it; it = it->next)
            ag_rt_docker_mount_obj(x, it, NULL, c);
    } else if (d->hc) {
        x->where = "HostConfig";
        ag_rt_docker_hc_mounts(x, d->hc, c);
    }
    if (mp || ms || d->hc) c->known |= CM_INV_K_MOUNTS;
    x->where = NULL;
}

/* ---- ports ---- */

static bool ag_rt_docker_same_ip(const char *a, const char *b)
{
    return (!a || !a[0]) ? (!b || !b[0]) : (b && strcmp(a, b) == 0);
}

/* One port, merged with what is listed: an exposed port already listed is
 * not repeated, a published binding upgrades an exposed entry, and an
 * unresolved binding (host port 0: picked by the engine at start) is
 * dropped when a binding of that port is listed (NetworkSettings.Ports,
 * read first, has the resolved ones). */
static int ag_rt_docker_port_add(struct ag_rt_json *x, struct cm_container_inv *c, uint32_t port,
                                 const char *proto, const char *host_ip, bool published,
                                 uint32_t host_port)
{
    for (size_t i = 0; i < c->n_ports; i++) {
        struct cm_port *p = &c->ports[i];
        if (p->container_port != port || strcmp(p->protocol, proto) != 0) continue;
        if (!published || (p->published && host_port == 0)) return 0;
        if (!p->published) {
            p->published = true;
            p->host_port = host_port;
            ag_rt_json_set(&p->host_ip, host_ip);
            return 0;
        }
        if (ag_rt_docker_same_ip(p->host_ip, host_ip) && p->host_port == host_port) return 0;
    }
    if (c->n_ports >= CM_INV_LIST_MAX) {
        ag_rt_json_fail(x, CM_ETOOBIG, "ports: more than %u entries", (unsigned)CM_INV_LIST_MAX);
        return CM_ETOOBIG;
    }
    c->ports = cm_xrealloc(c->ports, (c->n_ports + 1) * sizeof *c->ports);
    struct cm_port *p = &c->ports[c->n_ports++];
    memset(p, 0, sizeof *p);
    p->container_port = port;
    p->protocol = ag_rt_json_strdup(proto);
    p->host_ip = ag_rt_json_strdup(host_ip); /* NULL: all interfaces */
    p->published = published;
    p->host_port = host_port;
    return 0;
}

/* "22/tcp" -> 22, "tcp"; no protocol means tcp, as in Docker. */
static int ag_rt_docker_port_key(const char *key, uint32_t *port, const char **proto)
{
    const char *slash = strchr(key, '/');
    size_t n = slash ? (size_t)(slash - key) : strlen(key);
    uint64_t v;
    if (cm_parse_u64(key, n, &v) < 0 || v == 0 || v > 65535) return CM_EPARSE;
    *port = (uint32_t)v;
    *proto = slash && slash[1] ? slash + 1 : "tcp";
    return 0;
}

/* HostPort: "" or "0" = picked by the engine at start (0 here); a range
 * "8000-8010" = its first port. */
static int ag_rt_docker_host_port(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (s && (cm_parse_u64(s, strcspn(s, "-"), &v) < 0 || v > 65535)) return CM_EPARSE;
    *out = (uint32_t)v;
    return 0;
}

static int ag_rt_docker_bindings(struct ag_rt_json *x, struct cm_container_inv *c, uint32_t port,
                                 const char *proto, const cJSON *list, const char *what)
{
    for (const cJSON *b = list->child; b; b = b->next) {
        uint32_t hport;
        const char *hp = cJSON_IsObject(b) ? ag_rt_json_str(x, b, "HostPort") : NULL;
        if (!cJSON_IsObject(b) || ag_rt_docker_host_port(hp, &hport) < 0) {
            ag_rt_json_fail(x, CM_EPARSE, "%s: a binding of %u/%.16s is not {HostIp, HostPort}",
                            what, port, proto);
            return CM_EPARSE;
        }
        /* HostIp "" (or none) means every interface of the host. */
        int rc =
            ag_rt_docker_port_add(x, c, port, proto, ag_rt_json_str(x, b, "HostIp"), true, hport);
        if (rc < 0) return rc;
    }
    return 0;
}

/* A map "22/tcp" -> [{HostIp, HostPort}] (null or [] = not published), or
 * ExposedPorts' "22/tcp" -> {} (bindings = false). */
static void ag_rt_docker_port_map(struct ag_rt_json *x, const cJSON *map, bool bindings,
                                  const char *what, struct cm_container_inv *c)
{
    for (const cJSON *it = map ? map->child : NULL; it; it = it->next) {
        uint32_t port;
        const char *proto;
        if (!it->string || ag_rt_docker_port_key(it->string, &port, &proto) < 0) {
            ag_rt_json_fail(x, CM_EPARSE, "%s: \"%.32s\" is not port/protocol", what,
                            it->string ? it->string : "");
            return;
        }
        int rc;
        if (bindings && cJSON_IsArray(it) && it->child)
            rc = ag_rt_docker_bindings(x, c, port, proto, it, what);
        else if (!bindings || cJSON_IsNull(it) || cJSON_IsArray(it))
            rc = ag_rt_docker_port_add(x, c, port, proto, NULL, false, 0);
        else
            rc = CM_EPARSE;
        if (rc == CM_EPARSE) ag_rt_json_fail(x, rc, "%s: expected arrays of bindings", what);
        if (rc < 0) return;
    }
}

/* Resolved bindings first (NetworkSettings.Ports of a running container),
 * then the requested ones (HostConfig.PortBindings), then the exposed. */
static void ag_rt_docker_ports(struct ag_rt_json *x, const struct ag_rt_docker *d,
                               struct cm_container_inv *c)
{
    const cJSON *ns = d->create ? NULL : ag_rt_json_obj(x, d->root, "NetworkSettings");
    x->where = "NetworkSettings";
    ag_rt_docker_port_map(x, ag_rt_json_obj(x, ns, "Ports"), true, "NetworkSettings.Ports", c);
    x->where = "HostConfig";
    ag_rt_docker_port_map(x, ag_rt_json_obj(x, d->hc, "PortBindings"), true,
                          "HostConfig.PortBindings", c);
    x->where = d->create ? NULL : "Config";
    ag_rt_docker_port_map(x, ag_rt_json_obj(x, d->cfg, "ExposedPorts"), false, "ExposedPorts", c);
    x->where = NULL;
    if (d->hc || ns) c->known |= CM_INV_K_PORTS;
}

int ag_rt_docker_parse(const char *config, size_t config_len, const char *hostconfig,
                       size_t hostconfig_len, struct cm_container_inv *out, char *err,
                       size_t errlen)
{
    cJSON *doc = NULL, *hdoc = NULL;
    struct ag_rt_json x;
    struct ag_rt_docker d;
    char herr[256];
    ag_rt_json_init(&x, err, errlen);
    out->runtime = CM_RT_DOCKER;
    int rc = ag_rt_json_parse(config, config_len, "config", &doc, err, errlen);
    if (rc < 0) goto out;
    /* A broken hostconfig.json still leaves the identity, state and Config
     * worth reporting; the error is returned all the same. */
    if (hostconfig) {
        rc = ag_rt_json_parse(hostconfig, hostconfig_len, "hostconfig", &hdoc, herr, sizeof herr);
        if (rc < 0) ag_rt_json_fail(&x, rc, "%s", herr);
    }
    if (ag_rt_docker_shape(&x, doc, hdoc, &d) < 0) goto done;
    ag_rt_docker_identity(&x, &d, out);
    ag_rt_docker_state(&x, &d, out);
    ag_rt_docker_config(&x, &d, out);
    if (d.hc) ag_rt_docker_host(&x, &d, out);
    ag_rt_docker_security(&x, &d, out);
    ag_rt_docker_mounts(&x, &d, out);
    ag_rt_docker_ports(&x, &d, out);
done:
    rc = x.rc;
out:
    cJSON_Delete(doc);
    cJSON_Delete(hdoc);
    return rc;
}
