/* invtest.h - inventory fixtures for tests: a fully populated container
 * and host inventory (every field and list set, odd values where a codec or
 * a database could lose them: 2^60+1, INT64_MIN, UINT32_MAX, non-ASCII
 * text, NULL next to "") and field-by-field comparisons of two of them.
 *
 * Header-only, for Criterion tests. What tu_inv_fill_* allocate is the
 * caller's: cm_container_inv_free / cm_host_inv_free. */
#ifndef BW_INVTEST_H
#define BW_INVTEST_H

#include "common/alloc.h"
#include "common/inventory.h"
#include "common/timeutil.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TU_INV_T0 (INT64_C(1790000000) * CM_NS_PER_SEC) /* 2026-09-21 */
#define TU_INV_BIG_U64 ((UINT64_C(1) << 60) + 1)        /* not exact in a double */

static inline char *tu_inv_dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline char *tu_inv_dupf(const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return cm_xstrdup(tmp);
}

static inline void tu_inv_fill_lists(struct cm_container_inv *c, size_t i)
{
    c->n_labels = 2;
    c->labels = cm_xcalloc(2, sizeof *c->labels);
    c->labels[0] = (struct cm_kv){cm_xstrdup("com.example.team"), tu_inv_dupf("team-%zu", i)};
    c->labels[1] = (struct cm_kv){cm_xstrdup("no-value"), NULL};
    cr_assert_eq(cm_strv_push(&c->cap_add, "NET_ADMIN"), 0);
    cr_assert_eq(cm_strv_push(&c->cap_add, "SYS_PTRACE"), 0);
    cr_assert_eq(cm_strv_push(&c->cap_drop, "ALL"), 0);
    cr_assert_eq(cm_strv_push(&c->cap_effective, "CHOWN"), 0);
    cr_assert_eq(cm_strv_push(&c->cap_bounding, "KILL"), 0);
    cr_assert_eq(cm_strv_push(&c->security_opt, "seccomp=unconfined"), 0);
    cr_assert_eq(cm_strv_push(&c->devices, "/dev/fuse"), 0);
    c->n_mounts = 2;
    c->mounts = cm_xcalloc(2, sizeof *c->mounts);
    c->mounts[0] =
        (struct cm_mount){cm_xstrdup("/var/run/docker.sock"), cm_xstrdup("/var/run/docker.sock"),
                          false, cm_xstrdup("bind"), cm_xstrdup("rprivate")};
    c->mounts[1] = (struct cm_mount){NULL, cm_xstrdup("/tmp"), true, cm_xstrdup("tmpfs"), NULL};
    c->n_ports = 2;
    c->ports = cm_xcalloc(2, sizeof *c->ports);
    c->ports[0] = (struct cm_port){80, cm_xstrdup("tcp"), cm_xstrdup("0.0.0.0"), true, 8080};
    c->ports[1] = (struct cm_port){65535, cm_xstrdup("udp"), NULL, false, 0};
    c->n_env = 2;
    c->env = cm_xcalloc(2, sizeof *c->env);
    c->env[0] = (struct cm_env){cm_xstrdup("PATH"), false, NULL};
    c->env[1] = (struct cm_env){cm_xstrdup("DB_PASSWORD"), true, cm_xstrdup("name:PASSWORD")};
    c->n_listening = 1;
    c->listening = cm_xcalloc(1, sizeof *c->listening);
    c->listening[0] = (struct cm_listen){cm_xstrdup("tcp6"), cm_xstrdup("::"), 22};
    c->n_processes = 2;
    c->processes = cm_xcalloc(2, sizeof *c->processes);
    c->processes[0] = (struct cm_process){cm_xstrdup("/usr/sbin/sshd"), cm_xstrdup("sshd"), 3, 0};
    c->processes[1] = (struct cm_process){cm_xstrdup("/bin/sh"), NULL, 1, 1000};
}

static inline void tu_inv_fill_container(struct cm_container_inv *c, size_t i)
{
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%064zx", i + 1);
    c->runtime = CM_RT_DOCKER;
    c->state = CM_INV_STATE_RUNNING;
    c->error = cm_xstrdup(""); /* known to be empty is not unknown */
    c->name = tu_inv_dupf("/web-%zu", i);
    c->image = cm_xstrdup("reg.example/app/web:1.25");
    c->image_digest = cm_xstrdup("sha256:0123456789abcdef");
    c->created_ns = TU_INV_T0 - 1000;
    c->started_ns = TU_INV_T0 - 1;
    c->cgroup_path = tu_inv_dupf("/system.slice/docker-%zu.scope", i);
    c->pid = 4194304;
    c->user = cm_xstrdup("1000:1000 (Ünïcode ✓)");
    c->privileged = true;
    c->host_namespaces = CM_NS_NET | CM_NS_PID | CM_NS_CGROUP;
    c->readonly_rootfs = true;
    c->seccomp_profile = cm_xstrdup("unconfined");
    c->apparmor_profile = cm_xstrdup("docker-default");
    c->selinux_label = cm_xstrdup("system_u:system_r:container_t:s0");
    c->no_new_privileges = true;
    c->memory_limit_bytes = TU_INV_BIG_U64;
    c->nano_cpus = 1500000000;
    c->cpu_shares = 512;
    c->cpu_quota_us = -1;
    c->cpu_period_us = 100000;
    c->pids_limit = INT64_MIN;
    c->restart_policy = cm_xstrdup("on-failure");
    c->restart_max_retries = UINT32_MAX;
    c->healthcheck = true;
    c->network_mode = cm_xstrdup("host");
    c->cgroup_parent = cm_xstrdup("");
    c->known = 0x1ffff;
    tu_inv_fill_lists(c, i);
}

static inline void tu_inv_fill_host(struct cm_host_inv *h)
{
    memset(h, 0, sizeof *h);
    h->docker_present = true;
    h->daemon_config_path = cm_xstrdup("/etc/docker/daemon.json");
    h->daemon_config_error = cm_xstrdup("line 3: unexpected '}'");
    h->n_daemon_settings = 3;
    h->daemon_settings = cm_xcalloc(3, sizeof *h->daemon_settings);
    h->daemon_settings[0] = (struct cm_kv){cm_xstrdup("icc"), cm_xstrdup("false")};
    h->daemon_settings[1] =
        (struct cm_kv){cm_xstrdup("hosts"), cm_xstrdup("[\"tcp://0.0.0.0:2375\"]")};
    h->daemon_settings[2] = (struct cm_kv){cm_xstrdup("log-level"), NULL};
    h->n_runtime_sockets = 2;
    h->runtime_sockets = cm_xcalloc(2, sizeof *h->runtime_sockets);
    h->runtime_sockets[0] = (struct cm_socket_info){cm_xstrdup("/run/docker.sock"),
                                                    true,
                                                    0,
                                                    998,
                                                    0660,
                                                    cm_xstrdup("root"),
                                                    cm_xstrdup("docker")};
    h->runtime_sockets[1] = (struct cm_socket_info){
        cm_xstrdup("/run/containerd/containerd.sock"), false, 0, 0, 0, NULL, NULL};
}

/* Two inventories hold the same values (strings compared by content; two
 * non-NULL strings must be distinct copies). */
static inline void tu_inv_str_eq(const char *a, const char *b, const char *what)
{
    if (!a || !b) {
        cr_assert(a == b, "%s: %s vs %s", what, a ? a : "(null)", b ? b : "(null)");
        return;
    }
    cr_assert_str_eq(a, b, "%s", what);
    cr_assert_neq(a, b, "%s: decoded string must be a copy", what);
}

static inline void tu_inv_strv_eq(const struct cm_strv *a, const struct cm_strv *b,
                                  const char *what)
{
    cr_assert_eq(a->n, b->n, "%s: %zu vs %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        tu_inv_str_eq(a->v[i], b->v[i], what);
}

static inline void tu_inv_kvs_eq(const struct cm_kv *a, const struct cm_kv *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tu_inv_str_eq(a[i].key, b[i].key, "kv.key");
        tu_inv_str_eq(a[i].value, b[i].value, "kv.value");
    }
}

static inline void tu_inv_lists_eq(const struct cm_container_inv *a,
                                   const struct cm_container_inv *b)
{
    cr_assert_eq(a->n_labels, b->n_labels);
    tu_inv_kvs_eq(a->labels, b->labels, a->n_labels);
    tu_inv_strv_eq(&a->cap_add, &b->cap_add, "cap_add");
    tu_inv_strv_eq(&a->cap_drop, &b->cap_drop, "cap_drop");
    tu_inv_strv_eq(&a->cap_effective, &b->cap_effective, "cap_effective");
    tu_inv_strv_eq(&a->cap_bounding, &b->cap_bounding, "cap_bounding");
    tu_inv_strv_eq(&a->security_opt, &b->security_opt, "security_opt");
    tu_inv_strv_eq(&a->devices, &b->devices, "devices");
    cr_assert_eq(a->n_mounts, b->n_mounts);
    for (size_t i = 0; i < a->n_mounts; i++) {
        tu_inv_str_eq(a->mounts[i].source, b->mounts[i].source, "mount.source");
        tu_inv_str_eq(a->mounts[i].destination, b->mounts[i].destination, "mount.destination");
        cr_assert_eq(a->mounts[i].read_only, b->mounts[i].read_only);
        tu_inv_str_eq(a->mounts[i].type, b->mounts[i].type, "mount.type");
        tu_inv_str_eq(a->mounts[i].propagation, b->mounts[i].propagation, "mount.propagation");
    }
    cr_assert_eq(a->n_ports, b->n_ports);
    for (size_t i = 0; i < a->n_ports; i++) {
        cr_assert_eq(a->ports[i].container_port, b->ports[i].container_port);
        tu_inv_str_eq(a->ports[i].protocol, b->ports[i].protocol, "port.protocol");
        tu_inv_str_eq(a->ports[i].host_ip, b->ports[i].host_ip, "port.host_ip");
        cr_assert_eq(a->ports[i].published, b->ports[i].published);
        cr_assert_eq(a->ports[i].host_port, b->ports[i].host_port);
    }
    cr_assert_eq(a->n_env, b->n_env);
    for (size_t i = 0; i < a->n_env; i++) {
        tu_inv_str_eq(a->env[i].name, b->env[i].name, "env.name");
        cr_assert_eq(a->env[i].secret_like, b->env[i].secret_like);
        tu_inv_str_eq(a->env[i].secret_reason, b->env[i].secret_reason, "env.secret_reason");
    }
    cr_assert_eq(a->n_listening, b->n_listening);
    for (size_t i = 0; i < a->n_listening; i++) {
        tu_inv_str_eq(a->listening[i].protocol, b->listening[i].protocol, "listen.protocol");
        tu_inv_str_eq(a->listening[i].address, b->listening[i].address, "listen.address");
        cr_assert_eq(a->listening[i].port, b->listening[i].port);
    }
    cr_assert_eq(a->n_processes, b->n_processes);
    for (size_t i = 0; i < a->n_processes; i++) {
        tu_inv_str_eq(a->processes[i].exe, b->processes[i].exe, "process.exe");
        tu_inv_str_eq(a->processes[i].comm, b->processes[i].comm, "process.comm");
        cr_assert_eq(a->processes[i].count, b->processes[i].count);
        cr_assert_eq(a->processes[i].uid, b->processes[i].uid);
    }
}

static inline void tu_inv_container_eq(const struct cm_container_inv *a,
                                       const struct cm_container_inv *b)
{
    cr_assert_str_eq(a->id, b->id);
    cr_assert_eq(a->runtime, b->runtime);
    cr_assert_eq(a->state, b->state);
    const char *const as[] = {
        a->error,         a->name,           a->image,           a->image_digest,
        a->cgroup_path,   a->user,           a->seccomp_profile, a->apparmor_profile,
        a->selinux_label, a->restart_policy, a->network_mode,    a->cgroup_parent};
    const char *const bs[] = {
        b->error,         b->name,           b->image,           b->image_digest,
        b->cgroup_path,   b->user,           b->seccomp_profile, b->apparmor_profile,
        b->selinux_label, b->restart_policy, b->network_mode,    b->cgroup_parent};
    for (size_t i = 0; i < sizeof as / sizeof as[0]; i++)
        tu_inv_str_eq(as[i], bs[i], "string field");
    cr_assert_eq(a->created_ns, b->created_ns);
    cr_assert_eq(a->started_ns, b->started_ns);
    cr_assert_eq(a->pid, b->pid);
    cr_assert_eq(a->privileged, b->privileged);
    cr_assert_eq(a->host_namespaces, b->host_namespaces);
    cr_assert_eq(a->readonly_rootfs, b->readonly_rootfs);
    cr_assert_eq(a->no_new_privileges, b->no_new_privileges);
    cr_assert_eq(a->memory_limit_bytes, b->memory_limit_bytes);
    cr_assert_eq(a->nano_cpus, b->nano_cpus);
    cr_assert_eq(a->cpu_shares, b->cpu_shares);
    cr_assert_eq(a->cpu_quota_us, b->cpu_quota_us);
    cr_assert_eq(a->cpu_period_us, b->cpu_period_us);
    cr_assert_eq(a->pids_limit, b->pids_limit);
    cr_assert_eq(a->restart_max_retries, b->restart_max_retries);
    cr_assert_eq(a->healthcheck, b->healthcheck);
    cr_assert_eq(a->known, b->known);
    tu_inv_lists_eq(a, b);
}

static inline void tu_inv_host_eq(const struct cm_host_inv *a, const struct cm_host_inv *b)
{
    cr_assert_eq(a->docker_present, b->docker_present);
    tu_inv_str_eq(a->daemon_config_path, b->daemon_config_path, "daemon_config_path");
    tu_inv_str_eq(a->daemon_config_error, b->daemon_config_error, "daemon_config_error");
    cr_assert_eq(a->n_daemon_settings, b->n_daemon_settings);
    tu_inv_kvs_eq(a->daemon_settings, b->daemon_settings, a->n_daemon_settings);
    cr_assert_eq(a->n_runtime_sockets, b->n_runtime_sockets);
    for (size_t i = 0; i < a->n_runtime_sockets; i++) {
        const struct cm_socket_info *x = &a->runtime_sockets[i], *y = &b->runtime_sockets[i];
        tu_inv_str_eq(x->path, y->path, "socket.path");
        cr_assert_eq(x->exists, y->exists);
        cr_assert_eq(x->uid, y->uid);
        cr_assert_eq(x->gid, y->gid);
        cr_assert_eq(x->mode, y->mode);
        tu_inv_str_eq(x->owner, y->owner, "socket.owner");
        tu_inv_str_eq(x->group, y->group, "socket.group");
    }
}

#endif
