/* checks.c - the check catalogue (ids, titles, severities, rationale,
 * remediation, CIS items), its lookup, severity names, and the dispatch that
 * runs the evaluators of check_container.c and check_host.c in catalogue
 * order. It does not decide what a check means (the evaluators do) nor keep
 * findings (the writer does). Ids are stable: a check that changes meaning
 * gets a new id. */
#include "collector/checks_int.h"

#include "common/err.h"

#include <stdio.h>
#include <string.h>

struct col_check_def {
    struct col_check check;
    col_check_eval_cb eval;
};

#define C COL_SCOPE_CONTAINER
#define H COL_SCOPE_HOST

static const struct col_check_def defs[] = {
    {{"container.config_unreadable", C, COL_SEV_MEDIUM, "Container configuration could not be read",
      "The runtime's state files for this container are missing, truncated or invalid, so none "
      "of its configuration could be audited; a container nobody can audit may hide any of the "
      "other findings. Applies to every runtime. No docker-bench equivalent: it asks the daemon.",
      "Check the state files the agent names in the detail (permissions, disk full, a "
      "half-written file); recreate the container if they are damaged.",
      NULL},
     col_chk_config_unreadable},
    {{"container.root_user", C, COL_SEV_MEDIUM, "Container runs as root",
      "A process running as uid 0 in the container is root on the host too unless user "
      "namespaces remap it, so any escape or writable host mount is a root compromise. Fails "
      "when no user is set (the image default, root) or the user is 0 or root, with or "
      "without a group: docker-bench misses \"0:0\" and \"root:root\".",
      "Create an unprivileged user in the image (USER in the Dockerfile) or run with --user "
      "<uid>:<gid> (Kubernetes: runAsNonRoot, runAsUser).",
      "4.1"},
     col_chk_root_user},
    {{"container.privileged", C, COL_SEV_CRITICAL, "Container is privileged",
      "A privileged container gets every capability, all host devices, and no seccomp, "
      "AppArmor or SELinux confinement: it is root on the host with one step. Same as the "
      "benchmark (HostConfig.Privileged; for OCI bundles, the runtime's privileged marker).",
      "Do not use --privileged; grant the one capability or device the workload needs "
      "(--cap-add, --device) instead.",
      "5.5"},
     col_chk_privileged},
    {{"container.dangerous_caps", C, COL_SEV_HIGH,
      "Container has capabilities beyond Docker's default set",
      "Capabilities outside Docker's default set (AUDIT_WRITE CHOWN DAC_OVERRIDE FOWNER FSETID "
      "KILL MKNOD NET_BIND_SERVICE NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_CHROOT) widen "
      "what a compromised process can do to the host; SYS_ADMIN, SYS_PTRACE, SYS_MODULE, "
      "DAC_READ_SEARCH, NET_ADMIN, SYS_RAWIO, BPF and PERFMON allow known escapes and are "
      "marked dangerous. Docker: CapAdd, as the benchmark. OCI bundles (containerd, podman, "
      "runc): the effective and bounding sets, which docker-bench never sees; not for "
      "privileged containers, which have their own finding.",
      "Drop the added capabilities, or add only the one needed; start from --cap-drop ALL.", "5.4"},
     col_chk_dangerous_caps},
    {{"container.sensitive_mount", C, COL_SEV_HIGH, "Sensitive host directory mounted",
      "Mounting /boot, /dev, /etc, /lib, /proc, /sys or /usr read-write lets the container "
      "change the host; the host's / exposes everything even read-only; a runtime's data or "
      "state directory (/var/lib/docker, /var/lib/containerd, /var/lib/containers, "
      "/run/containerd, /run/docker) exposes every other container in any mode (the "
      "container's own files and named volumes there are not counted). Only the host side "
      "(source) counts: docker-bench also matches the container-side path, a false result.",
      "Mount only the specific subdirectory needed, read-only (:ro); never the host's root or "
      "a runtime's data directory.",
      "5.6"},
     col_chk_sensitive_mount},
    {{"container.runtime_socket", C, COL_SEV_CRITICAL, "Container runtime socket mounted",
      "Whoever can talk to docker.sock, containerd.sock, crio.sock or podman.sock can start a "
      "privileged container: it is root on the host. Matches the socket on either side of the "
      "mount, and host directories holding the sockets (/run, /var/run, ...); docker-bench "
      "only looks for docker.sock.",
      "Remove the mount. Tools that need the API should use a narrowly scoped proxy, or run "
      "outside containers.",
      "5.32"},
     col_chk_runtime_socket},
    {{"container.host_network", C, COL_SEV_HIGH, "Container shares the host's network namespace",
      "With the host network the container sees every host interface, can bind any host port "
      "and reach services listening on localhost. Same as the benchmark (NetworkMode host; "
      "OCI: no network namespace of its own).",
      "Use a bridge or user-defined network and publish only the ports needed.", "5.10"},
     col_chk_host_network},
    {{"container.host_pid", C, COL_SEV_HIGH, "Container shares the host's PID namespace",
      "Sharing the host PID namespace shows every host process and, with enough privilege, "
      "lets the container signal or ptrace them. Same as the benchmark.",
      "Do not use --pid=host (Kubernetes: hostPID).", "5.16"},
     col_chk_host_pid},
    {{"container.host_ipc", C, COL_SEV_HIGH, "Container shares the host's IPC namespace",
      "Sharing the host IPC namespace exposes the host's shared memory and semaphores to the "
      "container. Same as the benchmark.",
      "Do not use --ipc=host (Kubernetes: hostIPC).", "5.17"},
     col_chk_host_ipc},
    {{"container.host_uts", C, COL_SEV_MEDIUM, "Container shares the host's UTS namespace",
      "Sharing the host UTS namespace lets the container change the host's hostname. Same as "
      "the benchmark.",
      "Do not use --uts=host.", "5.21"},
     col_chk_host_uts},
    {{"container.host_userns", C, COL_SEV_MEDIUM, "Container shares the host's user namespace",
      "In the host user namespace, uid 0 in the container is uid 0 on the host. Docker: "
      "UsernsMode host, as the benchmark; OCI bundles: no user namespace of their own.",
      "Enable user namespace remapping and do not override it with --userns=host; for OCI "
      "runtimes, give the container a user namespace with uid/gid mappings.",
      "5.31"},
     col_chk_host_userns},
    {{"container.writable_rootfs", C, COL_SEV_LOW, "Container root filesystem is writable",
      "A writable root filesystem lets an intruder change binaries and configuration inside "
      "the container and persist there. Same as the benchmark.",
      "Run with --read-only and mount writable volumes or tmpfs only where the application "
      "writes.",
      "5.13"},
     col_chk_writable_rootfs},
    {{"container.no_memory_limit", C, COL_SEV_MEDIUM, "Container has no memory limit",
      "Without a memory limit one container can exhaust the host's memory and get other "
      "workloads killed. Same as the benchmark.",
      "Set --memory (Kubernetes: resources.limits.memory).", "5.11"},
     col_chk_no_memory_limit},
    {{"container.no_cpu_limit", C, COL_SEV_LOW, "Container has no CPU limit or priority",
      "Without CPU shares, a CPU count or a CFS quota one container can starve the others. "
      "docker-bench reads only CpuShares and NanoCpus and fails a container limited by "
      "--cpu-quota; a quota counts here.",
      "Set --cpus, --cpu-quota/--cpu-period or --cpu-shares (Kubernetes: resources.limits.cpu).",
      "5.12"},
     col_chk_no_cpu_limit},
    {{"container.no_pids_limit", C, COL_SEV_MEDIUM, "Container has no PIDs limit",
      "Without a PIDs limit a fork bomb in one container exhausts the host's process table. "
      "Same as the benchmark (0, -1 or unset fail).",
      "Set --pids-limit (Kubernetes: the kubelet's podPidsLimit).", "5.29"},
     col_chk_no_pids_limit},
    {{"container.seccomp_unconfined", C, COL_SEV_HIGH, "Container runs without seccomp",
      "The default seccomp profile blocks around 44 system calls used in kernel exploits and "
      "escapes; unconfined removes that. Docker: seccomp=unconfined, as the benchmark; OCI "
      "bundles: no seccomp section at all.",
      "Remove seccomp=unconfined, or supply a custom profile that allows only what the "
      "workload needs.",
      "5.22"},
     col_chk_seccomp_unconfined},
    {{"container.no_mac_profile", C, COL_SEV_MEDIUM,
      "Container has no AppArmor profile or SELinux label",
      "A mandatory access control profile limits what even root in the container may touch. "
      "Fails when there is neither an AppArmor profile (other than unconfined) nor an SELinux "
      "label; docker-bench checks the two separately, so every container fails one of them on "
      "any host that has only one of the two. Docker sets neither for privileged containers.",
      "Run on a host with AppArmor or SELinux enabled in the runtime and do not set "
      "apparmor=unconfined or label=disable.",
      "5.2,5.3"},
     col_chk_no_mac_profile},
    {{"container.no_new_privileges", C, COL_SEV_MEDIUM,
      "Container processes may gain privileges (setuid)",
      "Without no-new-privileges a setuid binary in the image can raise a process's "
      "privileges. Passes when the container sets it or, for Docker containers, the daemon "
      "sets it by default. docker-bench matches the text no-new-privileges anywhere in "
      "SecurityOpt, so no-new-privileges:false passes there; here it fails.",
      "Run with --security-opt no-new-privileges, or set \"no-new-privileges\": true in "
      "daemon.json (Kubernetes: allowPrivilegeEscalation: false).",
      "5.26"},
     col_chk_no_new_privileges},
    {{"container.sshd", C, COL_SEV_MEDIUM, "SSH server running in the container",
      "An SSH daemon in a container is one more service to patch and a way in that bypasses "
      "the runtime's access controls. Found from the container's processes (sshd) or a socket "
      "listening on port 22; docker-bench needs docker exec and cannot see the socket.",
      "Remove sshd from the image; use docker exec (or kubectl exec) to get a shell.", "5.7"},
     col_chk_sshd},
    {{"container.privileged_port_all_interfaces", C, COL_SEV_MEDIUM,
      "Privileged port published on all host interfaces",
      "A host port below 1024 published on every interface (0.0.0.0, ::, or no address) "
      "exposes the service to every network the host is on and takes a port reserved for "
      "system services. docker-bench checks the port and the address separately and misses "
      "IPv6 wildcard bindings; here both must hold.",
      "Publish on a specific address (-p 10.0.0.5:443:8443) and, where possible, an "
      "unprivileged host port.",
      "5.8,5.14"},
     col_chk_priv_port_all_ifaces},
    {{"container.untrusted_registry", C, COL_SEV_HIGH, "Image not from an allowed registry",
      "The collector's allowed_registries policy lists the registries (or registry/namespace "
      "prefixes) images may come from; anything else is outside the organisation's supply "
      "chain. Evaluated only when the policy is set. Image ids without a name and references "
      "that do not parse fail, since their origin cannot be told. No CIS item (4.2 is "
      "manual).",
      "Pull the image through an allowed registry or mirror, or add its registry to "
      "allowed_registries if it is trusted.",
      NULL},
     col_chk_untrusted_registry},
    {{"container.mutable_image", C, COL_SEV_LOW, "Image referenced by a mutable tag",
      "A tag (\":latest\" above all, which is also what no tag means) can be moved to another "
      "image at any time, so what runs is not what was reviewed and a restart may change it. "
      "Passes when the reference pins a digest (@sha256:...) or is an image id. docker-bench "
      "has no automated check (5.28 is manual).",
      "Reference images by digest (name@sha256:...), or at least by an immutable version tag "
      "that your registry protects.",
      NULL},
     col_chk_mutable_image},
    {{"container.secret_env", C, COL_SEV_HIGH, "Secret-looking environment variable",
      "Environment variables are readable by anyone who can inspect the container or read "
      "/proc, and end up in logs and crash reports. Flagged by name (PASSWORD, TOKEN, ...) or "
      "by the value's shape on the host; the values never leave the host. No docker-bench "
      "equivalent (4.10 is manual).",
      "Pass secrets as files (Docker or Kubernetes secrets, a mounted tmpfs) and rotate any "
      "that were exposed.",
      NULL},
     col_chk_secret_env},
    {{"container.restart_unbounded", C, COL_SEV_LOW, "Restart policy without a retry limit",
      "A container that restarts forever hides crash loops and can keep a broken or "
      "compromised service coming back. Fails for always, unless-stopped, and on-failure with "
      "no limit or more than 5 retries. docker-bench looks only at the retry count, so "
      "always passes there.",
      "Use --restart on-failure:5 (or fewer), and alert on restarts.", "5.15"},
     col_chk_restart_unbounded},
    {{"container.no_healthcheck", C, COL_SEV_LOW, "Container has no health check",
      "Without a health check the runtime cannot tell a hung service from a healthy one and "
      "nothing restarts or reports it. Evaluated only where the runtime records health checks "
      "(Docker, podman).",
      "Add HEALTHCHECK to the image or --health-cmd to the container (Kubernetes: liveness "
      "and readiness probes).",
      "5.27,4.6"},
     col_chk_no_healthcheck},

    {{"host.daemon_config_invalid", H, COL_SEV_MEDIUM, "Docker daemon configuration unreadable",
      "daemon.json exists but cannot be read or is not valid JSON: the daemon will refuse to "
      "(re)start, and none of its settings can be audited (the other daemon checks are not "
      "evaluated while it is broken).",
      "Fix the file (dockerd --validate --config-file ...), keeping it owned by root and not "
      "writable by others.",
      NULL},
     col_chk_daemon_config_invalid},
    {{"host.icc_enabled", H, COL_SEV_MEDIUM, "Inter-container communication on the default bridge",
      "With icc on (the default) every container on the default bridge can reach every other "
      "one's ports. Fails unless icc is set to false, as the benchmark.",
      "Set \"icc\": false in daemon.json and link the containers that need to talk through "
      "user-defined networks.",
      "2.2"},
     col_chk_icc_enabled},
    {{"host.userns_remap_off", H, COL_SEV_MEDIUM, "User namespace remapping not enabled",
      "Without userns-remap, root in a container is root on the host. Fails when userns-remap "
      "is unset or empty, as the benchmark.",
      "Set \"userns-remap\": \"default\" (or a dedicated user) in daemon.json.", "2.9"},
     col_chk_userns_remap_off},
    {{"host.live_restore_off", H, COL_SEV_LOW, "Live restore not enabled",
      "Without live-restore, containers stop whenever the daemon stops or is upgraded, which "
      "tempts operators to delay daemon security updates. Fails unless live-restore is true; "
      "docker-bench also passes swarm nodes, which the agent cannot tell from daemon.json.",
      "Set \"live-restore\": true in daemon.json (not supported with swarm mode).", "2.15"},
     col_chk_live_restore_off},
    {{"host.tcp_without_tls", H, COL_SEV_CRITICAL, "Docker API on TCP without TLS verification",
      "A daemon listening on TCP without tlsverify gives root on the host to anyone who can "
      "reach the port; tls without verify encrypts but authenticates no client, so it fails "
      "too, as the benchmark. A host address without a scheme (\":2375\") is TCP.",
      "Listen on the Unix socket only, or set tlsverify with tlscacert, tlscert and tlskey "
      "so that only clients with a certificate from your CA get in.",
      "2.7"},
     col_chk_tcp_without_tls},
    {{"host.no_new_privileges_default_off", H, COL_SEV_LOW,
      "no-new-privileges not the daemon default",
      "With no-new-privileges as the daemon's default, no container can gain privileges "
      "through setuid binaries unless it opts out. Fails unless it is true, as the benchmark.",
      "Set \"no-new-privileges\": true in daemon.json.", "2.14"},
     col_chk_nnp_default_off},
    {{"host.insecure_registries", H, COL_SEV_HIGH, "Insecure registries configured",
      "Images pulled from an insecure registry travel without TLS (or without certificate "
      "checks), so anyone on the path can replace them. Fails when insecure-registries is "
      "not empty, as the benchmark.",
      "Remove insecure-registries and give those registries valid TLS certificates.", "2.5"},
     col_chk_insecure_registries},
    {{"host.runtime_socket_permissions", H, COL_SEV_CRITICAL,
      "Runtime socket owned or accessible beyond root",
      "Access to a runtime socket (docker.sock, containerd.sock, ...) is root on the host. "
      "Fails when a socket is not owned by root, its group is other than root or docker, or "
      "others have any permission bit. Checked on every runtime's socket, not only Docker's; "
      "the benchmark checks the owner and the mode (660 or stricter) separately.",
      "chown root:docker (root:root for containerd, crio, podman) and chmod 660 the socket, "
      "through the service's socket unit so that it stays so.",
      "3.15,3.16"},
     col_chk_socket_permissions},
};

#undef C
#undef H

#define N_DEFS (sizeof defs / sizeof defs[0])

size_t col_checks_count(void)
{
    return N_DEFS;
}

const struct col_check *col_checks_at(size_t i)
{
    return i < N_DEFS ? &defs[i].check : NULL;
}

static const struct col_check_def *def_find(const char *id)
{
    if (!id) return NULL;
    for (size_t i = 0; i < N_DEFS; i++)
        if (strcmp(defs[i].check.id, id) == 0) return &defs[i];
    return NULL;
}

const struct col_check *col_checks_find(const char *id)
{
    const struct col_check_def *d = def_find(id);
    return d ? &d->check : NULL;
}

static const char *const sev_names[COL_SEV__COUNT] = {"info", "low", "medium", "high", "critical"};

const char *col_severity_name(enum col_severity s)
{
    return (unsigned)s < COL_SEV__COUNT ? sev_names[s] : "unknown";
}

int col_severity_parse(const char *name, enum col_severity *out)
{
    if (!name) return CM_EPARSE;
    for (int i = 0; i < COL_SEV__COUNT; i++) {
        if (strcmp(sev_names[i], name) == 0) {
            *out = (enum col_severity)i;
            return 0;
        }
    }
    return CM_EPARSE;
}

bool col_checks_applies_to_state(enum cm_inv_state s)
{
    switch (s) {
    case CM_INV_STATE_UNKNOWN:
    case CM_INV_STATE_RUNNING:
    case CM_INV_STATE_PAUSED:
    case CM_INV_STATE_RESTARTING:
        return true;
    default:
        return false;
    }
}

static void answers_clear(enum col_check_answer *answers)
{
    for (size_t i = 0; answers && i < N_DEFS; i++)
        answers[i] = COL_CHECK_UNKNOWN;
}

static enum col_check_answer answer_of(enum col_outcome o)
{
    return o == COL_OUT_FAIL ? COL_CHECK_FAIL : o == COL_OUT_PASS ? COL_CHECK_PASS
                                                                  : COL_CHECK_UNKNOWN;
}

/* Runs every check of one scope; `only_first` stops after the first check
 * (a container whose config could not be read gets that finding alone).
 * answers (may be NULL) gets every check's answer, by catalogue index. */
static size_t eval_scope(enum col_check_scope scope, const struct col_check_ctx *x, bool only_first,
                         struct col_check_result *out, size_t max,
                         enum col_check_answer *answers)
{
    size_t failed = 0;
    bool done = false;
    answers_clear(answers);
    for (size_t i = 0; i < N_DEFS && !done; i++) {
        if (defs[i].check.scope != scope) continue;
        char scratch[COL_CHECK_DETAIL_MAX];
        struct col_detail d;
        bool keep = failed < max && out;
        col_detail_init(&d, keep ? out[failed].detail : scratch, COL_CHECK_DETAIL_MAX);
        enum col_outcome o = defs[i].eval(x, &d);
        if (answers) answers[i] = answer_of(o);
        if (o == COL_OUT_FAIL) {
            if (keep) out[failed].check = &defs[i].check;
            failed++;
        }
        done = only_first;
    }
    return failed;
}

size_t col_checks_eval_container_answers(const struct cm_container_inv *c,
                                         const struct cm_host_inv *host,
                                         const struct col_check_policy *policy,
                                         struct col_check_result *out, size_t max,
                                         enum col_check_answer *answers)
{
    struct col_check_ctx x = {.c = c, .host = host, .policy = policy};
    if (!c) {
        answers_clear(answers);
        return 0;
    }
    /* config_unreadable is the catalogue's first container check. */
    return eval_scope(COL_SCOPE_CONTAINER, &x, c->error != NULL, out, max, answers);
}

size_t col_checks_eval_container(const struct cm_container_inv *c, const struct cm_host_inv *host,
                                 const struct col_check_policy *policy,
                                 struct col_check_result *out, size_t max)
{
    return col_checks_eval_container_answers(c, host, policy, out, max, NULL);
}

size_t col_checks_eval_host_answers(const struct cm_host_inv *h,
                                    const struct col_check_policy *policy,
                                    struct col_check_result *out, size_t max,
                                    enum col_check_answer *answers)
{
    struct col_check_ctx x = {.host = h, .policy = policy};
    if (!h) {
        answers_clear(answers);
        return 0;
    }
    return eval_scope(COL_SCOPE_HOST, &x, false, out, max, answers);
}

size_t col_checks_eval_host(const struct cm_host_inv *h, const struct col_check_policy *policy,
                            struct col_check_result *out, size_t max)
{
    return col_checks_eval_host_answers(h, policy, out, max, NULL);
}

enum col_outcome col_checks_eval_one(const char *id, const struct cm_container_inv *c,
                                     const struct cm_host_inv *host,
                                     const struct col_check_policy *policy, char *detail,
                                     size_t detail_cap)
{
    const struct col_check_def *def = def_find(id);
    char scratch[COL_CHECK_DETAIL_MAX];
    struct col_detail d;
    if (!def || (def->check.scope == COL_SCOPE_CONTAINER ? !c : !host)) return COL_OUT_NA;
    struct col_check_ctx x = {.c = c, .host = host, .policy = policy};
    if (detail && detail_cap >= 4)
        col_detail_init(&d, detail, detail_cap);
    else
        col_detail_init(&d, scratch, sizeof scratch);
    return def->eval(&x, &d);
}

void col_detail_init(struct col_detail *d, char *s, size_t cap)
{
    d->s = s;
    d->cap = cap;
    d->len = 0;
    d->full = false;
    s[0] = '\0';
}

/* Cuts the text so that "..." fits, without splitting a UTF-8 sequence. */
static void detail_mark_full(struct col_detail *d)
{
    size_t at = d->cap - 4;
    while (at > 0 && ((unsigned char)d->s[at] & 0xC0) == 0x80)
        at--;
    memcpy(d->s + at, "...", 4);
    d->len = at + 3;
    d->full = true;
}

__attribute__((format(printf, 2, 0))) static void detail_vadd(struct col_detail *d, const char *fmt,
                                                             va_list ap)
{
    if (d->full) return;
    int n = vsnprintf(d->s + d->len, d->cap - d->len, fmt, ap);
    if (n < 0) {
        d->s[d->len] = '\0';
        return;
    }
    if ((size_t)n >= d->cap - d->len)
        detail_mark_full(d);
    else
        d->len += (size_t)n;
}

void col_detail_add(struct col_detail *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    detail_vadd(d, fmt, ap);
    va_end(ap);
}

void col_detail_item(struct col_detail *d, const char *fmt, ...)
{
    va_list ap;
    if (d->len > 0) col_detail_add(d, ", ");
    va_start(ap, fmt);
    detail_vadd(d, fmt, ap);
    va_end(ap);
}
