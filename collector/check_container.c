/* check_container.c - the evaluators of the per-container checks (user,
 * privileges, capabilities, mounts, namespaces, limits, confinement,
 * processes and sockets, ports, environment, restart, health).
 *
 * Each one reads only the inventory fields of its `known` group and
 * returns COL_OUT_NA when the runtime could not tell them; it never
 * allocates or logs. The image checks are in check_image.c, the catalogue
 * text in checks.c. */
#include "collector/checks_int.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool has(const struct cm_container_inv *c, uint32_t bits)
{
    return (c->known & bits) == bits;
}

static bool empty(const char *s)
{
    return !s || !*s;
}

enum col_outcome col_chk_config_unreadable(const struct col_check_ctx *x, struct col_detail *d)
{
    if (!x->c->error) return COL_OUT_PASS;
    col_detail_add(d, "%s", x->c->error);
    return COL_OUT_FAIL;
}

/* "root" or uid 0 ("0", "00": the runtime reads it as a number), with or
 * without ":<group>". */
static bool user_is_root(const char *u)
{
    size_t n = strcspn(u, ":");
    if (n == 4 && strncmp(u, "root", 4) == 0) return true;
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (u[i] != '0') return false;
    return true;
}

enum col_outcome col_chk_root_user(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    if (!has(c, CM_INV_K_USER)) return COL_OUT_NA;
    if (empty(c->user)) {
        col_detail_add(d, "no user set: the image default, root");
        return COL_OUT_FAIL;
    }
    if (!user_is_root(c->user)) return COL_OUT_PASS;
    col_detail_add(d, "user \"%s\"", c->user);
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_privileged(const struct col_check_ctx *x, struct col_detail *d)
{
    if (!has(x->c, CM_INV_K_PRIVILEGED)) return COL_OUT_NA;
    if (!x->c->privileged) return COL_OUT_PASS;
    col_detail_add(d, "privileged: all capabilities and devices, no confinement");
    return COL_OUT_FAIL;
}

/* Linux capabilities by number, so that a capability named in several
 * sets is reported once. */
static const char *const cap_names[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};
#define N_CAPS (sizeof cap_names / sizeof cap_names[0])
#define CAP_BIT_ALL 63

#define B(n) (UINT64_C(1) << (n))
/* AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID KILL MKNOD NET_BIND_SERVICE
 * NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_CHROOT */
static const uint64_t cap_default = B(29) | B(0) | B(1) | B(3) | B(4) | B(5) | B(27) | B(10) |
                                    B(13) | B(31) | B(6) | B(8) | B(7) | B(18);
/* SYS_ADMIN SYS_PTRACE SYS_MODULE DAC_READ_SEARCH NET_ADMIN SYS_RAWIO BPF PERFMON */
static const uint64_t cap_dangerous =
    B(21) | B(19) | B(16) | B(2) | B(12) | B(17) | B(39) | B(38) | B(CAP_BIT_ALL);
#undef B

/* The capability's number, CAP_BIT_ALL for ALL, -1 when unknown. The CAP_
 * prefix and case do not matter (Docker accepts both). */
static int cap_index(const char *name)
{
    if (strncasecmp(name, "CAP_", 4) == 0) name += 4;
    if (strcasecmp(name, "ALL") == 0) return CAP_BIT_ALL;
    for (size_t i = 0; i < N_CAPS; i++)
        if (strcasecmp(name, cap_names[i]) == 0) return (int)i;
    return -1;
}

/* Adds the capabilities of v outside the default set to the detail, each
 * once (seen), under `label`. Returns how many were added. */
static size_t caps_extra(const struct cm_strv *v, const char *label, uint64_t *seen,
                         struct col_detail *d)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++) {
        const char *name = v->v[i];
        int k = name ? cap_index(name) : -1;
        if (!name || (k >= 0 && ((cap_default | *seen) >> k & 1))) continue;
        if (k >= 0) *seen |= UINT64_C(1) << k;
        if (n++ == 0)
            col_detail_add(d, "%s%s: ", d->len ? "; " : "", label);
        else
            col_detail_add(d, ", ");
        col_detail_add(d, "%s%s", k >= 0 && k != CAP_BIT_ALL ? cap_names[k] : name,
                       k >= 0 && (cap_dangerous >> k & 1) ? " (dangerous)" : "");
    }
    return n;
}

enum col_outcome col_chk_dangerous_caps(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    uint64_t seen = 0;
    size_t n;
    if (!has(c, CM_INV_K_CAPS)) return COL_OUT_NA;
    n = caps_extra(&c->cap_add, "added", &seen, d);
    /* A privileged OCI container holds every capability: that is the
     * privileged finding, not this one. */
    if (!(has(c, CM_INV_K_PRIVILEGED) && c->privileged)) {
        n += caps_extra(&c->cap_effective, "effective", &seen, d);
        n += caps_extra(&c->cap_bounding, "bounding", &seen, d);
    }
    return n ? COL_OUT_FAIL : COL_OUT_PASS;
}

/* An absolute host path cleaned lexically: "//" and "." dropped, ".."
 * taken back, no trailing slash ("/" stays), so that "/etc/", "//etc" and
 * "/var/lib/docker/volumes/v/_data/../../.." are seen for what they are.
 * Relative sources (tmpfs, proc, volume names) come back as given. */
static void path_norm(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    if (in[0] != '/') {
        snprintf(out, cap, "%s", in);
        return;
    }
    while (*in && o + 1 < cap) {
        while (*in == '/')
            in++;
        size_t n = strcspn(in, "/");
        if (n == 0 || (n == 1 && in[0] == '.')) {
            in += n;
            continue;
        }
        if (n == 2 && in[0] == '.' && in[1] == '.') {
            while (o > 0 && out[--o] != '/')
                ;
        } else {
            if (o + 1 + n + 1 > cap) n = cap - o - 2;
            out[o++] = '/';
            memcpy(out + o, in, n);
            o += n;
        }
        in += strcspn(in, "/");
    }
    if (o == 0) out[o++] = '/';
    out[o] = '\0';
}

/* path is root or lies below it. */
static bool path_under(const char *path, const char *root)
{
    size_t n = strlen(root);
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool path_in(const char *path, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(path, list[i]) == 0) return true;
    return false;
}

static const char *const sensitive_rw[] = {"/boot", "/dev", "/etc", "/lib",
                                           "/proc", "/sys", "/usr"};
static const char *const data_roots[] = {
    "/var/lib/docker",     "/var/lib/containerd", "/var/lib/containers", "/run/containerd",
    "/var/run/containerd", "/var/run/docker",     "/run/docker"};

/* The runtimes' own per-container files (hostname, hosts, resolv.conf,
 * shm) and named volumes live under their data roots and are mounted into
 * every container: they expose nothing of the host. "@" is this
 * container's id, "*" any one path component. */
static const char *const runtime_managed[] = {
    "/var/lib/docker/containers/@",
    "/var/lib/docker/volumes/*/_data",
    "/var/lib/containers/storage/overlay-containers/@/userdata",
    "/var/lib/containers/storage/volumes/*/_data",
    "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/*",
    "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/*",
    "/var/run/containerd/io.containerd.grpc.v1.cri/sandboxes/*",
};

/* path begins with the components of pattern (see runtime_managed). */
static bool path_matches(const char *path, const char *pat, const char *id)
{
    while (*pat) {
        size_t pn = strcspn(pat + 1, "/") + 1, qn = strcspn(path + 1, "/") + 1;
        if (*path != '/' || qn == 1) return false;
        if (pat[1] == '@' && pn == 2) {
            if (!*id || qn - 1 != strlen(id) || strncmp(path + 1, id, qn - 1) != 0) return false;
        } else if (!(pat[1] == '*' && pn == 2) && (pn != qn || strncmp(path, pat, pn) != 0)) {
            return false;
        }
        pat += pn;
        path += qn;
    }
    return true;
}

/* Why the host path src is sensitive, or NULL. */
static const char *mount_sensitive(const char *src, bool ro, const char *id)
{
    if (strcmp(src, "/") == 0) return "the whole host";
    if (!ro && path_in(src, sensitive_rw, sizeof sensitive_rw / sizeof sensitive_rw[0]))
        return "host system directory, read-write";
    for (size_t i = 0; i < sizeof data_roots / sizeof data_roots[0]; i++) {
        if (!path_under(src, data_roots[i])) continue;
        for (size_t k = 0; k < sizeof runtime_managed / sizeof runtime_managed[0]; k++)
            if (path_matches(src, runtime_managed[k], id)) return NULL;
        return "a container runtime's data";
    }
    return NULL;
}

enum col_outcome col_chk_sensitive_mount(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    char src[CM_INV_STR_MAX + 1];
    bool failed = false;
    if (!has(c, CM_INV_K_MOUNTS)) return COL_OUT_NA;
    for (size_t i = 0; i < c->n_mounts; i++) {
        const struct cm_mount *m = &c->mounts[i];
        if (empty(m->source) || m->source[0] != '/') continue;
        path_norm(m->source, src, sizeof src);
        const char *why = mount_sensitive(src, m->read_only, c->id);
        if (!why) continue;
        col_detail_item(d, "%s -> %s (%s, %s)", src, m->destination ? m->destination : "?",
                        m->read_only ? "ro" : "rw", why);
        failed = true;
    }
    return failed ? COL_OUT_FAIL : COL_OUT_PASS;
}

static const char *const socket_names[] = {"docker.sock", "containerd.sock",
                                           "containerd.sock.ttrpc", "crio.sock", "podman.sock"};
/* Host directories holding runtime sockets. Only as a source: a tmpfs the
 * container mounts on its own /run is harmless. */
static const char *const socket_dirs[] = {
    "/run",      "/var/run",      "/run/containerd", "/var/run/containerd",
    "/run/crio", "/var/run/crio", "/run/podman",     "/var/run/podman"};

static bool is_socket_path(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    return path_in(base, socket_names, sizeof socket_names / sizeof socket_names[0]);
}

enum col_outcome col_chk_runtime_socket(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    char src[CM_INV_STR_MAX + 1], dst[CM_INV_STR_MAX + 1];
    bool failed = false;
    if (!has(c, CM_INV_K_MOUNTS)) return COL_OUT_NA;
    for (size_t i = 0; i < c->n_mounts; i++) {
        const struct cm_mount *m = &c->mounts[i];
        path_norm(m->source ? m->source : "", src, sizeof src);
        path_norm(m->destination ? m->destination : "", dst, sizeof dst);
        if (!is_socket_path(src) && !is_socket_path(dst) &&
            !path_in(src, socket_dirs, sizeof socket_dirs / sizeof socket_dirs[0]))
            continue;
        col_detail_item(d, "%s -> %s", *src ? src : "?", dst);
        failed = true;
    }
    return failed ? COL_OUT_FAIL : COL_OUT_PASS;
}

static enum col_outcome host_ns(const struct col_check_ctx *x, uint32_t bit, const char *what,
                                struct col_detail *d)
{
    if (!has(x->c, CM_INV_K_NAMESPACES)) return COL_OUT_NA;
    if (!(x->c->host_namespaces & bit)) return COL_OUT_PASS;
    col_detail_add(d, "shares the host's %s namespace", what);
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_host_network(const struct col_check_ctx *x, struct col_detail *d)
{
    return host_ns(x, CM_NS_NET, "network", d);
}

enum col_outcome col_chk_host_pid(const struct col_check_ctx *x, struct col_detail *d)
{
    return host_ns(x, CM_NS_PID, "PID", d);
}

enum col_outcome col_chk_host_ipc(const struct col_check_ctx *x, struct col_detail *d)
{
    return host_ns(x, CM_NS_IPC, "IPC", d);
}

enum col_outcome col_chk_host_uts(const struct col_check_ctx *x, struct col_detail *d)
{
    return host_ns(x, CM_NS_UTS, "UTS", d);
}

enum col_outcome col_chk_host_userns(const struct col_check_ctx *x, struct col_detail *d)
{
    return host_ns(x, CM_NS_USER, "user", d);
}

enum col_outcome col_chk_writable_rootfs(const struct col_check_ctx *x, struct col_detail *d)
{
    if (!has(x->c, CM_INV_K_ROOTFS)) return COL_OUT_NA;
    if (x->c->readonly_rootfs) return COL_OUT_PASS;
    col_detail_add(d, "root filesystem is read-write");
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_no_memory_limit(const struct col_check_ctx *x, struct col_detail *d)
{
    if (!has(x->c, CM_INV_K_LIMITS)) return COL_OUT_NA;
    if (x->c->memory_limit_bytes > 0) return COL_OUT_PASS;
    col_detail_add(d, "no memory limit");
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_no_cpu_limit(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    if (!has(c, CM_INV_K_LIMITS)) return COL_OUT_NA;
    if (c->nano_cpus > 0 || c->cpu_shares > 0 || c->cpu_quota_us > 0) return COL_OUT_PASS;
    col_detail_add(d, "no CPU shares, CPU count or CFS quota");
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_no_pids_limit(const struct col_check_ctx *x, struct col_detail *d)
{
    if (!has(x->c, CM_INV_K_LIMITS)) return COL_OUT_NA;
    if (x->c->pids_limit > 0) return COL_OUT_PASS;
    col_detail_add(d, "no PIDs limit");
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_seccomp_unconfined(const struct col_check_ctx *x, struct col_detail *d)
{
    const char *p = x->c->seccomp_profile;
    if (!has(x->c, CM_INV_K_SECCOMP) || !p) return COL_OUT_NA;
    if (strcasecmp(p, "unconfined") != 0) return COL_OUT_PASS;
    col_detail_add(d, "seccomp profile: unconfined");
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_no_mac_profile(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    const char *aa = c->apparmor_profile;
    if (!has(c, CM_INV_K_MAC)) return COL_OUT_NA;
    bool aa_none = empty(aa) || strcasecmp(aa, "unconfined") == 0;
    /* Docker records "label=disable" for privileged, host-pid and host-ipc
     * containers (and on request): SELinux labelling switched off, which is
     * no label at all, not a confining one. */
    const char *se = c->selinux_label;
    bool se_none = empty(se) || strstr(se, "disable") != NULL;
    if (!aa_none || !se_none) return COL_OUT_PASS;
    col_detail_add(
        d, "%s, %s%s", empty(aa) ? "no AppArmor profile" : "AppArmor unconfined",
        empty(se) ? "no SELinux label" : "SELinux labelling disabled",
        has(c, CM_INV_K_PRIVILEGED) && c->privileged ? " (privileged: the runtime applies none)"
                                                     : "");
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_no_new_privileges(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    if (!has(c, CM_INV_K_NNP)) return COL_OUT_NA;
    if (c->no_new_privileges) return COL_OUT_PASS;
    /* The daemon's default reaches only Docker's own containers; for OCI
     * bundles the flag in config.json is already the final word. */
    if (c->runtime != CM_RT_DOCKER) {
        col_detail_add(d, "noNewPrivileges not set");
        return COL_OUT_FAIL;
    }
    if (x->host && x->host->docker_present && col_host_nnp_default(x->host)) return COL_OUT_PASS;
    col_detail_add(d, "no-new-privileges not set on the container; daemon default %s",
                   x->host && x->host->docker_present ? "off" : "not known");
    return COL_OUT_FAIL;
}

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

enum col_outcome col_chk_sshd(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    bool procs = has(c, CM_INV_K_PROCS), listen = has(c, CM_INV_K_LISTEN), failed = false;
    if (!procs && !listen) return COL_OUT_NA;
    for (size_t i = 0; procs && i < c->n_processes; i++) {
        const struct cm_process *p = &c->processes[i];
        if ((p->exe && strcmp(basename_of(p->exe), "sshd") == 0) ||
            (p->comm && strcmp(p->comm, "sshd") == 0)) {
            col_detail_item(d, "process sshd (%s)", p->exe ? p->exe : p->comm);
            failed = true;
        }
    }
    for (size_t i = 0; listen && i < c->n_listening; i++) {
        const struct cm_listen *l = &c->listening[i];
        if (l->port != 22) continue;
        col_detail_item(d, "listening on %s port 22 (%s)", l->address ? l->address : "?",
                        l->protocol ? l->protocol : "tcp");
        failed = true;
    }
    return failed ? COL_OUT_FAIL : COL_OUT_PASS;
}

/* The host address as docker port shows it, or NULL when it is not a
 * wildcard (all interfaces). */
static const char *wildcard_ip(const char *ip)
{
    if (empty(ip) || strcmp(ip, "0.0.0.0") == 0) return "0.0.0.0";
    if (strcmp(ip, "::") == 0 || strcmp(ip, "[::]") == 0) return "[::]";
    return NULL;
}

enum col_outcome col_chk_priv_port_all_ifaces(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    bool failed = false;
    if (!has(c, CM_INV_K_PORTS)) return COL_OUT_NA;
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct cm_port *p = &c->ports[i];
        const char *ip = wildcard_ip(p->host_ip);
        if (!p->published || p->host_port < 1 || p->host_port > 1023 || !ip) continue;
        col_detail_item(d, "%s:%u->%u/%s", ip, p->host_port, p->container_port,
                        empty(p->protocol) ? "tcp" : p->protocol);
        failed = true;
    }
    return failed ? COL_OUT_FAIL : COL_OUT_PASS;
}

enum col_outcome col_chk_secret_env(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    bool failed = false;
    if (!has(c, CM_INV_K_ENV)) return COL_OUT_NA;
    for (size_t i = 0; i < c->n_env; i++) {
        const struct cm_env *e = &c->env[i];
        if (!e->secret_like || !e->name) continue;
        col_detail_item(d, "%s (%s)", e->name, e->secret_reason ? e->secret_reason : "secret-like");
        failed = true;
    }
    return failed ? COL_OUT_FAIL : COL_OUT_PASS;
}

enum col_outcome col_chk_restart_unbounded(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    const char *p = c->restart_policy;
    if (!has(c, CM_INV_K_RESTART)) return COL_OUT_NA;
    if (!empty(p) && (strcmp(p, "always") == 0 || strcmp(p, "unless-stopped") == 0)) {
        col_detail_add(d, "restart policy %s (no retry limit)", p);
        return COL_OUT_FAIL;
    }
    if (!empty(p) && strcmp(p, "on-failure") == 0) {
        if (c->restart_max_retries == 0) {
            col_detail_add(d, "restart policy on-failure with no retry limit");
            return COL_OUT_FAIL;
        }
        if (c->restart_max_retries > 5) {
            col_detail_add(d, "restart policy on-failure:%u (more than 5)", c->restart_max_retries);
            return COL_OUT_FAIL;
        }
    }
    return COL_OUT_PASS;
}

enum col_outcome col_chk_no_healthcheck(const struct col_check_ctx *x, struct col_detail *d)
{
    if (!has(x->c, CM_INV_K_HEALTH)) return COL_OUT_NA;
    if (x->c->healthcheck) return COL_OUT_PASS;
    col_detail_add(d, "no health check");
    return COL_OUT_FAIL;
}
