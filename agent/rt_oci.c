/* rt_oci.c - a container's configuration from an OCI runtime-spec
 * config.json: containerd task bundles, runc/crun bundles and podman's
 * userdata/config.json (ag_rt_oci_parse in rt.h).
 *
 * The bundle is what the runtime actually applied, so most fields are read
 * as facts. Two are inferred and say so where they are decided: whether
 * the container is "privileged" (the spec has no such flag) and what a
 * seccomp filter amounts to. The spec has no ports, restart policy or
 * health check: those `known` bits stay clear, and id, name, image and
 * runtime are the caller's to fill from the runtime's other files. */
#include "agent/rt.h"

#include "agent/rt_json.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* "uid:gid"; just "uid" for a non-root uid in group 0 (Docker's way of
 * writing it); root is always "0:0". A process without a user runs as uid
 * 0 (the Go zero value runc reads). */
static void ag_rt_oci_user(struct ag_rt_json *x, const cJSON *proc, struct cm_container_inv *c)
{
    char buf[32];
    int64_t uid = 0, gid = 0;
    const cJSON *u = ag_rt_json_obj(x, proc, "user");
    x->where = "process.user";
    ag_rt_json_int(x, u, "uid", &uid);
    ag_rt_json_int(x, u, "gid", &gid);
    x->where = "process";
    if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX) {
        ag_rt_json_fail(x, CM_EPARSE, "process.user: uid or gid out of range");
        return;
    }
    if (gid == 0 && uid != 0)
        snprintf(buf, sizeof buf, "%lld", (long long)uid);
    else
        snprintf(buf, sizeof buf, "%lld:%lld", (long long)uid, (long long)gid);
    ag_rt_json_set(&c->user, buf);
    c->known |= CM_INV_K_USER;
}

/* Docker's --privileged (and podman's) gives every capability the host
 * has and turns seccomp off; nothing else in a bundle says "privileged".
 * The heuristic: the bounding set holds SYS_ADMIN and at least 37
 * capabilities (a whole set is 38 to 41 depending on the kernel, minus
 * what the host's own bounding set lacks), and there is no seccomp
 * filter. --cap-add ALL with the default seccomp profile is therefore not
 * "privileged"; its capabilities are reported all the same. Podman says
 * it outright in an annotation, which wins. */
static bool ag_rt_oci_privileged(const cJSON *doc, const cJSON *linux_,
                                 const struct cm_container_inv *c)
{
    const cJSON *ann = ag_rt_json_item(doc, "annotations");
    const cJSON *pm = ag_rt_json_item(ann, "io.podman.annotations.privileged");
    if (cJSON_IsString(pm) && strcasecmp(pm->valuestring, "TRUE") == 0) return true;
    return cm_strv_contains(&c->cap_bounding, "SYS_ADMIN") && c->cap_bounding.n >= 37 &&
           !ag_rt_json_item(linux_, "seccomp");
}

static void ag_rt_oci_process(struct ag_rt_json *x, const cJSON *doc, const cJSON *linux_,
                              struct cm_container_inv *c)
{
    const cJSON *proc = ag_rt_json_obj(x, doc, "process");
    if (!proc) return;
    ag_rt_oci_user(x, proc, c);
    /* No capabilities object: runc grants none. */
    const cJSON *caps = ag_rt_json_obj(x, proc, "capabilities");
    x->where = "process.capabilities";
    if (ag_rt_json_caps(x, ag_rt_json_arr(x, caps, "effective"), &c->cap_effective, "effective") ==
            0 &&
        ag_rt_json_caps(x, ag_rt_json_arr(x, caps, "bounding"), &c->cap_bounding, "bounding") == 0)
        c->known |= CM_INV_K_CAPS;
    x->where = "process";
    c->privileged = ag_rt_oci_privileged(doc, linux_, c);
    c->known |= CM_INV_K_PRIVILEGED;
    ag_rt_json_set(&c->apparmor_profile, ag_rt_json_str(x, proc, "apparmorProfile"));
    ag_rt_json_set(&c->selinux_label, ag_rt_json_str(x, proc, "selinuxLabel"));
    c->known |= CM_INV_K_MAC;
    ag_rt_json_bool(x, proc, "noNewPrivileges", &c->no_new_privileges);
    c->known |= CM_INV_K_NNP;
    if (ag_rt_json_env(x, ag_rt_json_arr(x, proc, "env"), c, "env") == 0) c->known |= CM_INV_K_ENV;
    x->where = NULL;
}

static void ag_rt_oci_mount(struct ag_rt_json *x, const cJSON *m, struct cm_container_inv *c)
{
    bool ro = false;
    const char *prop = NULL;
    const char *dst = cJSON_IsObject(m) ? ag_rt_json_str(x, m, "destination") : NULL;
    if (!dst) {
        ag_rt_json_fail(x, CM_EPARSE, "mounts: an entry without a destination");
        return;
    }
    const cJSON *opts = ag_rt_json_arr(x, m, "options");
    for (const cJSON *o = opts ? opts->child : NULL; o; o = o->next) {
        if (!cJSON_IsString(o)) {
            ag_rt_json_fail(x, CM_EPARSE, "mounts.options: expected an array of strings");
            return;
        }
        /* The last of "ro"/"rw" wins, as in mount(8). */
        if (strcmp(o->valuestring, "ro") == 0) ro = true;
        if (strcmp(o->valuestring, "rw") == 0) ro = false;
        if (ag_rt_json_propagation(o->valuestring)) prop = ag_rt_json_propagation(o->valuestring);
    }
    ag_rt_json_mount_add(x, c, ag_rt_json_str(x, m, "source"), dst, ro,
                         ag_rt_json_str(x, m, "type"), prop);
}

/* A namespace type missing from linux.namespaces is not unshared, so the
 * container is in the host's; one joined by path under /proc/1/ns/ is the
 * host's too. The user namespace is never reported here: no user
 * namespace is every rootful runtime's default, and only Docker's explicit
 * UsernsMode=host means "the host's" in the sense of CIS 5.31. */
static void ag_rt_oci_namespaces(struct ag_rt_json *x, const cJSON *linux_,
                                 struct cm_container_inv *c)
{
    static const struct {
        const char *type;
        uint32_t bit;
    } kinds[] = {{"network", CM_NS_NET},
                 {"pid", CM_NS_PID},
                 {"ipc", CM_NS_IPC},
                 {"uts", CM_NS_UTS},
                 {"cgroup", CM_NS_CGROUP}};
    const cJSON *nss = ag_rt_json_arr(x, linux_, "namespaces");
    uint32_t own = 0;
    for (const cJSON *ns = nss ? nss->child : NULL; ns; ns = ns->next) {
        const char *type = cJSON_IsObject(ns) ? ag_rt_json_str(x, ns, "type") : NULL;
        if (!type) {
            ag_rt_json_fail(x, CM_EPARSE, "linux.namespaces: an entry without a type");
            return;
        }
        const char *path = ag_rt_json_str(x, ns, "path");
        bool host = path && strncmp(path, "/proc/1/ns/", 11) == 0;
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (strcmp(type, kinds[i].type) == 0 && !host) own |= kinds[i].bit;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!(own & kinds[i].bit)) c->host_namespaces |= kinds[i].bit;
    c->known |= CM_INV_K_NAMESPACES;
}

/* linux.resources: memory.limit (-1 = none), cpu.quota/period/shares,
 * pids.limit. No resources at all: no limits, which is known. */
static void ag_rt_oci_limits(struct ag_rt_json *x, const cJSON *linux_, struct cm_container_inv *c)
{
    int64_t mem = 0;
    const cJSON *res = ag_rt_json_obj(x, linux_, "resources");
    x->where = "linux.resources.memory";
    if (ag_rt_json_int(x, ag_rt_json_obj(x, res, "memory"), "limit", &mem) && mem > 0)
        c->memory_limit_bytes = (uint64_t)mem;
    const cJSON *cpu = ag_rt_json_obj(x, res, "cpu");
    x->where = "linux.resources.cpu";
    ag_rt_json_int(x, cpu, "quota", &c->cpu_quota_us);
    ag_rt_json_uint(x, cpu, "period", &c->cpu_period_us);
    ag_rt_json_uint(x, cpu, "shares", &c->cpu_shares);
    x->where = "linux.resources.pids";
    ag_rt_json_int(x, ag_rt_json_obj(x, res, "pids"), "limit", &c->pids_limit);
    c->known |= CM_INV_K_LIMITS;
}

/* No linux.seccomp: no filter at all. A filter is described by what it
 * does (ag_rt_json_seccomp_kind): "default" when it denies by default
 * (Docker's, podman's and containerd's profiles), "denylist" when it allows
 * by default and denies some calls, "unconfined" when it can deny nothing. */
static void ag_rt_oci_linux(struct ag_rt_json *x, const cJSON *linux_, struct cm_container_inv *c)
{
    const cJSON *sc = ag_rt_json_obj(x, linux_, "seccomp");
    ag_rt_json_set(&c->seccomp_profile, sc ? ag_rt_json_seccomp_kind(sc) : "unconfined");
    c->known |= CM_INV_K_SECCOMP;
    ag_rt_oci_namespaces(x, linux_, c);
    ag_rt_oci_limits(x, linux_, c);
    x->where = NULL;
}

int ag_rt_oci_parse(const char *config, size_t len, struct cm_container_inv *out, char *err,
                    size_t errlen)
{
    cJSON *doc = NULL;
    struct ag_rt_json x;
    ag_rt_json_init(&x, err, errlen);
    int rc = ag_rt_json_parse(config, len, "config.json", &doc, err, errlen);
    if (rc < 0) goto out;
    if (!cJSON_IsObject(doc)) {
        ag_rt_json_fail(&x, CM_EPARSE, "config.json: not a JSON object");
        goto done;
    }
    x.where = NULL;
    const cJSON *linux_ = ag_rt_json_obj(&x, doc, "linux");
    ag_rt_oci_process(&x, doc, linux_, out);
    const cJSON *root = ag_rt_json_obj(&x, doc, "root");
    if (root) {
        x.where = "root";
        ag_rt_json_bool(&x, root, "readonly", &out->readonly_rootfs);
        out->known |= CM_INV_K_ROOTFS;
        x.where = NULL;
    }
    const cJSON *mounts = ag_rt_json_arr(&x, doc, "mounts");
    for (const cJSON *m = mounts ? mounts->child : NULL; m; m = m->next)
        ag_rt_oci_mount(&x, m, out);
    /* A spec without mounts still mounts nothing: known. */
    out->known |= CM_INV_K_MOUNTS;
    if (linux_) ag_rt_oci_linux(&x, linux_, out);
    ag_rt_json_labels(&x, ag_rt_json_obj(&x, doc, "annotations"), out, "annotations");
done:
    rc = x.rc;
out:
    cJSON_Delete(doc);
    return rc;
}
