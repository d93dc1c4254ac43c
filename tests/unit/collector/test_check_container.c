/* test_check_container.c - every container check on hand-built inventory:
 * a hardened container passes all of them, one changed field fails exactly
 * the check that reads it, and a cleared `known` bit leaves it unevaluated. */
#include "collector/checks_int.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(check_container, .timeout = 10);

#define K_ALL 0x1FFFFu
#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CID "4f66ad0f9e3c8a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899a"

static struct cm_mount hard_mounts[] = {{"/srv/data", "/data", true, "bind", NULL}};
static struct cm_port hard_ports[] = {{80, "tcp", "127.0.0.1", true, 8080}};
static struct cm_env hard_env[] = {{"PATH", false, NULL}};
static struct cm_listen hard_listen[] = {{"tcp", "0.0.0.0", 80}};
static struct cm_process hard_procs[] = {{"/usr/sbin/nginx", "nginx", 2, 101}};

/* A container that passes every check. */
static struct cm_container_inv hardened(void)
{
    struct cm_container_inv c = {
        .runtime = CM_RT_DOCKER,
        .state = CM_INV_STATE_RUNNING,
        .image = "registry.example.com/team/app@" DIGEST,
        .user = "1000:1000",
        .cap_drop = {(char *[]){"ALL"}, 1},
        .mounts = hard_mounts,
        .n_mounts = 1,
        .readonly_rootfs = true,
        .seccomp_profile = "default",
        .apparmor_profile = "docker-default",
        .no_new_privileges = true,
        .memory_limit_bytes = 64u << 20,
        .nano_cpus = 500000000,
        .pids_limit = 64,
        .ports = hard_ports,
        .n_ports = 1,
        .restart_policy = "on-failure",
        .restart_max_retries = 3,
        .healthcheck = true,
        .env = hard_env,
        .n_env = 1,
        .listening = hard_listen,
        .n_listening = 1,
        .processes = hard_procs,
        .n_processes = 1,
        .known = K_ALL,
    };
    memcpy(c.id, CID, sizeof CID);
    return c;
}

static char detail[COL_CHECK_DETAIL_MAX];

static enum col_outcome run(const char *id, const struct cm_container_inv *c)
{
    detail[0] = '\0';
    return col_checks_eval_one(id, c, NULL, NULL, detail, sizeof detail);
}

#define PASS(id, c) cr_expect_eq(run(id, c), COL_OUT_PASS, "%s should pass: %s", id, detail)
#define FAIL(id, c) cr_expect_eq(run(id, c), COL_OUT_FAIL, "%s should fail", id)
#define NA(id, c) cr_expect_eq(run(id, c), COL_OUT_NA, "%s should not be evaluated", id)
#define DETAIL_HAS(s) cr_expect(strstr(detail, s) != NULL, "detail \"%s\" lacks \"%s\"", detail, s)

Test(check_container, hardened_container_has_no_findings)
{
    struct cm_container_inv c = hardened();
    struct col_check_result out[40];
    size_t n = col_checks_eval_container(&c, NULL, NULL, out, 40);
    for (size_t i = 0; i < n && i < 40; i++)
        cr_log_error("%s: %s", out[i].check->id, out[i].detail);
    cr_assert_eq(n, 0);
}

Test(check_container, nothing_known_nothing_evaluated)
{
    struct cm_container_inv c = hardened();
    c.known = 0;
    c.privileged = true;
    c.user = "root";
    for (size_t i = 0; i < col_checks_count(); i++) {
        const struct col_check *k = col_checks_at(i);
        if (k->scope == COL_SCOPE_CONTAINER && strcmp(k->id, "container.config_unreadable") != 0)
            NA(k->id, &c);
    }
    cr_expect_eq(col_checks_eval_container(&c, NULL, NULL, NULL, 0), 0);
}

Test(check_container, config_unreadable_alone)
{
    struct cm_container_inv c = hardened();
    c.privileged = true;
    c.error = "config.v2.json: truncated JSON at byte 512";
    FAIL("container.config_unreadable", &c);
    DETAIL_HAS("truncated JSON");
    struct col_check_result out[4];
    cr_assert_eq(col_checks_eval_container(&c, NULL, NULL, out, 4), 1,
                 "only config_unreadable for a container whose config could not be read");
    cr_expect_str_eq(out[0].check->id, "container.config_unreadable");
    c.error = NULL;
    PASS("container.config_unreadable", &c);
}

Test(check_container, root_user)
{
    struct cm_container_inv c = hardened();
    const char *root[] = {"0", "root", "0:0", "root:root", "0:1000", "root:staff", "00", ""};
    for (size_t i = 0; i < sizeof root / sizeof root[0]; i++) {
        c.user = (char *)root[i];
        FAIL("container.root_user", &c);
        if (*root[i]) DETAIL_HAS(root[i]);
    }
    c.user = NULL;
    FAIL("container.root_user", &c);
    DETAIL_HAS("no user");
    const char *ok[] = {"1000", "app", "1000:0", "rootless", "10", "nobody:root", ":0"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        c.user = (char *)ok[i];
        PASS("container.root_user", &c);
    }
    c.user = "0";
    c.known &= ~CM_INV_K_USER;
    NA("container.root_user", &c);
}

Test(check_container, privileged)
{
    struct cm_container_inv c = hardened();
    PASS("container.privileged", &c);
    c.privileged = true;
    FAIL("container.privileged", &c);
    c.known &= ~CM_INV_K_PRIVILEGED;
    NA("container.privileged", &c);
}

Test(check_container, default_capabilities_pass_in_any_spelling)
{
    struct cm_container_inv c = hardened();
    char *defaults[] = {"AUDIT_WRITE", "CHOWN",   "DAC_OVERRIDE",     "FOWNER",     "FSETID",
                        "KILL",        "MKNOD",   "NET_BIND_SERVICE", "NET_RAW",    "SETFCAP",
                        "SETGID",      "SETPCAP", "SETUID",           "SYS_CHROOT", "cap_chown",
                        "CAP_KILL",    "net_raw"};
    c.cap_add = (struct cm_strv){defaults, sizeof defaults / sizeof defaults[0]};
    c.cap_bounding = c.cap_add;
    c.cap_effective = c.cap_add;
    PASS("container.dangerous_caps", &c);
}

Test(check_container, docker_cap_add)
{
    struct cm_container_inv c = hardened();
    c.cap_add = (struct cm_strv){(char *[]){"NET_ADMIN", "SYS_TIME", "CHOWN"}, 3};
    FAIL("container.dangerous_caps", &c);
    DETAIL_HAS("NET_ADMIN (dangerous)");
    DETAIL_HAS("SYS_TIME");
    cr_expect(strstr(detail, "SYS_TIME (dangerous)") == NULL, "%s", detail);
    cr_expect(strstr(detail, "CHOWN") == NULL, "%s", detail);

    c.cap_add = (struct cm_strv){(char *[]){"ALL"}, 1};
    FAIL("container.dangerous_caps", &c);
    DETAIL_HAS("ALL");

    const char *dangerous[] = {"SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH",
                               "NET_ADMIN", "SYS_RAWIO",  "BPF",        "PERFMON"};
    char *one[1];
    for (size_t i = 0; i < sizeof dangerous / sizeof dangerous[0]; i++) {
        one[0] = (char *)dangerous[i];
        c.cap_add = (struct cm_strv){one, 1};
        FAIL("container.dangerous_caps", &c);
        DETAIL_HAS("(dangerous)");
    }
    /* Privileged Docker containers with an explicit CapAdd still list it. */
    c.privileged = true;
    FAIL("container.dangerous_caps", &c);
    c.known &= ~CM_INV_K_CAPS;
    NA("container.dangerous_caps", &c);
}

Test(check_container, oci_sets_once_each_and_not_when_privileged)
{
    struct cm_container_inv c = hardened();
    c.runtime = CM_RT_CONTAINERD;
    c.cap_effective = (struct cm_strv){(char *[]){"CAP_AUDIT_WRITE", "CAP_SYS_ADMIN"}, 2};
    c.cap_bounding =
        (struct cm_strv){(char *[]){"CAP_AUDIT_WRITE", "CAP_SYS_ADMIN", "CAP_SYS_TIME"}, 3};
    FAIL("container.dangerous_caps", &c);
    DETAIL_HAS("SYS_ADMIN (dangerous)");
    DETAIL_HAS("bounding: SYS_TIME");
    const char *first = strstr(detail, "SYS_ADMIN");
    cr_expect(first && !strstr(first + 1, "SYS_ADMIN"), "listed once: %s", detail);
    c.privileged = true;
    PASS("container.dangerous_caps", &c);
}

Test(check_container, sensitive_mount_sources)
{
    struct cm_container_inv c = hardened();
    struct cm_mount m = {.destination = "/host"};
    c.mounts = &m;
    c.n_mounts = 1;
    const char *rw_only[] = {"/boot", "/dev",  "/etc",  "/lib",   "/proc",  "/sys",
                             "/usr",  "/etc/", "//etc", "/etc//", "/usr/./"};
    for (size_t i = 0; i < sizeof rw_only / sizeof rw_only[0]; i++) {
        m.source = (char *)rw_only[i];
        m.read_only = false;
        FAIL("container.sensitive_mount", &c);
        DETAIL_HAS("(rw");
        m.read_only = true;
        PASS("container.sensitive_mount", &c);
    }
    const char *any_mode[] = {"/",
                              "//",
                              "/var/lib/docker",
                              "/var/lib/docker/overlay2",
                              "/var/lib/containerd/",
                              "/var/lib/containers/storage",
                              "/run/containerd",
                              "/var/run/docker",
                              "/run/docker/netns",
                              "/etc/..",
                              "/var/lib/docker/volumes/v/_data/../../.."};
    for (size_t i = 0; i < sizeof any_mode / sizeof any_mode[0]; i++) {
        m.source = (char *)any_mode[i];
        m.read_only = true;
        FAIL("container.sensitive_mount", &c);
        m.read_only = false;
        FAIL("container.sensitive_mount", &c);
    }
    const char *fine[] = {
        "/etc/ssl", "/usr/share/zoneinfo", "/data", "/var/lib/dockerx", "/home/app", "tmpfs",
        "proc"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        m.source = (char *)fine[i];
        m.read_only = false;
        PASS("container.sensitive_mount", &c);
    }
    m.source = NULL;
    PASS("container.sensitive_mount", &c);
}

Test(check_container, sensitive_mount_only_the_source_counts)
{
    struct cm_container_inv c = hardened();
    /* docker-bench matches the destination too: /etc inside from a harmless
     * host directory is not a host exposure. */
    struct cm_mount m = {"/srv/app/etc", "/etc", false, "bind", NULL};
    c.mounts = &m;
    c.n_mounts = 1;
    PASS("container.sensitive_mount", &c);
    m.source = "/etc";
    m.destination = "/host/etc";
    FAIL("container.sensitive_mount", &c);
    DETAIL_HAS("/etc -> /host/etc");
}

Test(check_container, sensitive_mount_runtime_own_files_pass)
{
    struct cm_container_inv c = hardened();
    struct cm_mount m = {.destination = "/etc/hosts", .read_only = false};
    c.mounts = &m;
    c.n_mounts = 1;
    const char *own[] = {
        "/var/lib/docker/containers/" CID "/hosts",
        "/var/lib/docker/containers/" CID "/mounts/shm",
        "/var/lib/docker/volumes/pgdata/_data",
        "/var/lib/containers/storage/overlay-containers/" CID "/userdata/resolv.conf",
        "/var/lib/containers/storage/volumes/v1/_data/sub",
        "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/abc/hostname",
        "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/abc/shm",
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        m.source = (char *)own[i];
        PASS("container.sensitive_mount", &c);
    }
    const char *others[] = {
        "/var/lib/docker/containers/ffff/hosts", /* another container's */
        "/var/lib/docker/containers",
        "/var/lib/docker/volumes",
        "/var/lib/docker/volumes/pgdata", /* the volume's metadata, not its data */
        ("/var/lib/containers/storage/overlay-containers/" CID),
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        m.source = (char *)others[i];
        FAIL("container.sensitive_mount", &c);
        DETAIL_HAS("runtime");
    }
    c.id[0] = '\0'; /* no id: no file is this container's own */
    m.source = "/var/lib/docker/containers//hosts";
    FAIL("container.sensitive_mount", &c);
}

Test(check_container, sensitive_mount_lists_every_one)
{
    struct cm_container_inv c = hardened();
    struct cm_mount m[] = {{"/etc", "/h/etc", false, "bind", NULL},
                           {"/srv", "/srv", false, "bind", NULL},
                           {"/", "/host", true, "bind", NULL}};
    c.mounts = m;
    c.n_mounts = 3;
    FAIL("container.sensitive_mount", &c);
    DETAIL_HAS("/etc -> /h/etc (rw");
    DETAIL_HAS("/ -> /host (ro, the whole host)");
    cr_expect(strstr(detail, "/srv") == NULL, "%s", detail);
    c.known &= ~CM_INV_K_MOUNTS;
    NA("container.sensitive_mount", &c);
}

Test(check_container, runtime_socket)
{
    struct cm_container_inv c = hardened();
    struct cm_mount m = {.read_only = true};
    c.mounts = &m;
    c.n_mounts = 1;
    const char *pairs[][2] = {
        {"/var/run/docker.sock", "/var/run/docker.sock"},
        {"/run/containerd/containerd.sock", "/containerd.sock"},
        {"/tmp/x", "/var/run/docker.sock"}, /* destination side */
        {"/run/crio/crio.sock", "/crio.sock"},
        {"/run/podman/podman.sock", "/var/run/podman.sock"},
        {"/run/user/1000/docker.sock/", "/d.sock"},
        {"/run", "/host/run"},
        {"/var/run/", "/host/run"},
        {"/run/containerd", "/c"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        m.source = (char *)pairs[i][0];
        m.destination = (char *)pairs[i][1];
        FAIL("container.runtime_socket", &c);
        DETAIL_HAS(" -> ");
    }
    const char *okpairs[][2] = {
        {"tmpfs", "/run"}, /* the container's own /run */
        {"/srv/mydocker.sockets", "/s"},
        {"/run/lock", "/run/lock"},
        {"/etc/docker.sock.d", "/x"},
    };
    for (size_t i = 0; i < sizeof okpairs / sizeof okpairs[0]; i++) {
        m.source = (char *)okpairs[i][0];
        m.destination = (char *)okpairs[i][1];
        PASS("container.runtime_socket", &c);
    }
    m.source = "/var/run/docker.sock";
    c.known &= ~CM_INV_K_MOUNTS;
    NA("container.runtime_socket", &c);
}

Test(check_container, host_namespaces)
{
    struct cm_container_inv c = hardened();
    const struct {
        const char *id;
        uint32_t bit;
    } ns[] = {{"container.host_network", CM_NS_NET},
              {"container.host_pid", CM_NS_PID},
              {"container.host_ipc", CM_NS_IPC},
              {"container.host_uts", CM_NS_UTS},
              {"container.host_userns", CM_NS_USER}};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        c.host_namespaces = CM_NS_CGROUP;
        PASS(ns[i].id, &c);
        c.host_namespaces = ns[i].bit;
        FAIL(ns[i].id, &c);
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
            if (k != i) PASS(ns[k].id, &c);
        c.known &= ~CM_INV_K_NAMESPACES;
        NA(ns[i].id, &c);
        c.known |= CM_INV_K_NAMESPACES;
    }
}

Test(check_container, rootfs_and_limits)
{
    struct cm_container_inv c = hardened();
    c.readonly_rootfs = false;
    FAIL("container.writable_rootfs", &c);
    c.memory_limit_bytes = 0;
    FAIL("container.no_memory_limit", &c);
    c.pids_limit = 0;
    FAIL("container.no_pids_limit", &c);
    c.pids_limit = -1;
    FAIL("container.no_pids_limit", &c);
    c.known &= ~CM_INV_K_ROOTFS;
    NA("container.writable_rootfs", &c);
    c.known &= ~CM_INV_K_LIMITS;
    NA("container.no_memory_limit", &c);
    NA("container.no_pids_limit", &c);
    NA("container.no_cpu_limit", &c);
}

Test(check_container, cpu_limit_any_of_three)
{
    struct cm_container_inv c = hardened();
    c.nano_cpus = 0;
    FAIL("container.no_cpu_limit", &c);
    c.cpu_quota_us = -1;
    FAIL("container.no_cpu_limit", &c);
    /* docker-bench ignores a quota; it limits the CPU all the same. */
    c.cpu_quota_us = 50000;
    c.cpu_period_us = 100000;
    PASS("container.no_cpu_limit", &c);
    c.cpu_quota_us = 0;
    c.cpu_shares = 512;
    PASS("container.no_cpu_limit", &c);
}

Test(check_container, seccomp)
{
    struct cm_container_inv c = hardened();
    c.seccomp_profile = "unconfined";
    FAIL("container.seccomp_unconfined", &c);
    c.seccomp_profile = "/etc/docker/seccomp.json";
    PASS("container.seccomp_unconfined", &c);
    c.seccomp_profile = NULL;
    NA("container.seccomp_unconfined", &c);
    c.seccomp_profile = "unconfined";
    c.known &= ~CM_INV_K_SECCOMP;
    NA("container.seccomp_unconfined", &c);
}

Test(check_container, mac_profile_either_one)
{
    struct cm_container_inv c = hardened();
    c.apparmor_profile = "";
    FAIL("container.no_mac_profile", &c);
    DETAIL_HAS("no AppArmor profile");
    c.apparmor_profile = "unconfined";
    FAIL("container.no_mac_profile", &c);
    DETAIL_HAS("unconfined");
    c.selinux_label = "system_u:system_r:container_t:s0:c1,c2";
    PASS("container.no_mac_profile", &c);
    /* what Docker records for privileged, host-pid and host-ipc containers */
    c.selinux_label = "disable";
    FAIL("container.no_mac_profile", &c);
    DETAIL_HAS("SELinux labelling disabled");
    c.selinux_label = NULL;
    c.apparmor_profile = NULL;
    c.privileged = true;
    FAIL("container.no_mac_profile", &c);
    DETAIL_HAS("privileged");
    c.known &= ~CM_INV_K_MAC;
    NA("container.no_mac_profile", &c);
}

static struct cm_kv nnp_true[] = {{"icc", "false"}, {"no-new-privileges", "true"}};
static struct cm_kv nnp_false[] = {{"no-new-privileges", "false"}};

Test(check_container, no_new_privileges_with_daemon_default)
{
    struct cm_container_inv c = hardened();
    struct cm_host_inv h = {.docker_present = true};
    c.no_new_privileges = false;
    cr_expect_eq(
        col_checks_eval_one("container.no_new_privileges", &c, NULL, NULL, detail, sizeof detail),
        COL_OUT_FAIL);
    DETAIL_HAS("not known");
    cr_expect_eq(
        col_checks_eval_one("container.no_new_privileges", &c, &h, NULL, detail, sizeof detail),
        COL_OUT_FAIL, "daemon has no setting");
    DETAIL_HAS("daemon default off");
    h.daemon_settings = nnp_false;
    h.n_daemon_settings = 1;
    cr_expect_eq(col_checks_eval_one("container.no_new_privileges", &c, &h, NULL, NULL, 0),
                 COL_OUT_FAIL);
    h.daemon_settings = nnp_true;
    h.n_daemon_settings = 2;
    cr_expect_eq(col_checks_eval_one("container.no_new_privileges", &c, &h, NULL, NULL, 0),
                 COL_OUT_PASS);
    struct col_check_result out[40];
    size_t n = col_checks_eval_container(&c, &h, NULL, out, 40);
    cr_expect_eq(n, 0, "the public entry point passes the host through");
    /* Docker's daemon default does not reach an OCI bundle's flag. */
    c.runtime = CM_RT_CONTAINERD;
    cr_expect_eq(col_checks_eval_one("container.no_new_privileges", &c, &h, NULL, NULL, 0),
                 COL_OUT_FAIL);
    c.known &= ~CM_INV_K_NNP;
    cr_expect_eq(col_checks_eval_one("container.no_new_privileges", &c, &h, NULL, NULL, 0),
                 COL_OUT_NA);
}

Test(check_container, sshd_from_processes_or_sockets)
{
    struct cm_container_inv c = hardened();
    struct cm_process p[] = {{"/usr/sbin/nginx", "nginx", 1, 0}, {"/usr/sbin/sshd", "sshd", 1, 0}};
    struct cm_listen l[] = {{"tcp6", "::", 22}};
    c.processes = p;
    c.n_processes = 2;
    FAIL("container.sshd", &c);
    DETAIL_HAS("process sshd (/usr/sbin/sshd)");
    p[1].exe = "/opt/bin/other";
    p[1].comm = "other";
    PASS("container.sshd", &c);
    p[1].exe = NULL; /* comm only (exe unreadable) */
    p[1].comm = "sshd";
    FAIL("container.sshd", &c);
    p[1].comm = "sshd-session";
    PASS("container.sshd", &c);
    c.listening = l;
    c.n_listening = 1;
    FAIL("container.sshd", &c);
    DETAIL_HAS("port 22 (tcp6)");
    cr_expect(strstr(detail, "process") == NULL, "%s", detail);
    c.known &= ~CM_INV_K_LISTEN;
    PASS("container.sshd", &c); /* processes alone say no sshd */
    c.known |= CM_INV_K_LISTEN;
    c.known &= ~CM_INV_K_PROCS;
    FAIL("container.sshd", &c);
    c.known &= ~CM_INV_K_LISTEN;
    NA("container.sshd", &c);
}

Test(check_container, privileged_port_on_all_interfaces)
{
    struct cm_container_inv c = hardened();
    struct cm_port p = {80, "tcp", NULL, true, 80};
    c.ports = &p;
    c.n_ports = 1;
    FAIL("container.privileged_port_all_interfaces", &c);
    cr_expect_str_eq(detail, "0.0.0.0:80->80/tcp");
    const char *wild[] = {"", "0.0.0.0", "::", "[::]"};
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        p.host_ip = (char *)wild[i];
        FAIL("container.privileged_port_all_interfaces", &c);
    }
    DETAIL_HAS("[::]:80->80/tcp");
    p.host_ip = "10.0.0.5";
    PASS("container.privileged_port_all_interfaces", &c);
    p.host_ip = NULL;
    p.host_port = 1024;
    PASS("container.privileged_port_all_interfaces", &c);
    p.host_port = 1023;
    p.protocol = "udp";
    FAIL("container.privileged_port_all_interfaces", &c);
    DETAIL_HAS("1023->80/udp");
    p.host_port = 0; /* not bound to a port yet */
    PASS("container.privileged_port_all_interfaces", &c);
    p.host_port = 53;
    p.published = false; /* only exposed */
    PASS("container.privileged_port_all_interfaces", &c);
    p.published = true;
    c.known &= ~CM_INV_K_PORTS;
    NA("container.privileged_port_all_interfaces", &c);
}

Test(check_container, secret_env_names_and_reasons)
{
    struct cm_container_inv c = hardened();
    struct cm_env e[] = {{"PATH", false, NULL},
                         {"DB_PASSWORD", true, "name:PASSWORD"},
                         {"S3", true, "value:aws-access-key-id"}};
    c.env = e;
    c.n_env = 3;
    FAIL("container.secret_env", &c);
    cr_expect_str_eq(detail, "DB_PASSWORD (name:PASSWORD), S3 (value:aws-access-key-id)");
    c.known &= ~CM_INV_K_ENV;
    NA("container.secret_env", &c);
}

Test(check_container, restart_policy)
{
    struct cm_container_inv c = hardened();
    const char *bad[] = {"always", "unless-stopped"};
    for (size_t i = 0; i < 2; i++) {
        c.restart_policy = (char *)bad[i];
        c.restart_max_retries = 0; /* docker-bench passes this: it reads only the count */
        FAIL("container.restart_unbounded", &c);
        DETAIL_HAS(bad[i]);
    }
    c.restart_policy = "on-failure";
    c.restart_max_retries = 0;
    FAIL("container.restart_unbounded", &c);
    c.restart_max_retries = 6;
    FAIL("container.restart_unbounded", &c);
    DETAIL_HAS("on-failure:6");
    c.restart_max_retries = 5;
    PASS("container.restart_unbounded", &c);
    c.restart_policy = "no";
    PASS("container.restart_unbounded", &c);
    c.restart_policy = NULL;
    PASS("container.restart_unbounded", &c);
    c.restart_policy = "always";
    c.known &= ~CM_INV_K_RESTART;
    NA("container.restart_unbounded", &c);
}

Test(check_container, healthcheck)
{
    struct cm_container_inv c = hardened();
    c.healthcheck = false;
    FAIL("container.no_healthcheck", &c);
    c.known &= ~CM_INV_K_HEALTH;
    NA("container.no_healthcheck", &c);
}

Test(check_container, a_bad_container_fails_the_expected_set_in_order)
{
    struct cm_container_inv c = hardened();
    struct cm_mount m[] = {{"/var/run/docker.sock", "/var/run/docker.sock", false, "bind", NULL}};
    c.user = "";
    c.privileged = true;
    c.mounts = m;
    c.host_namespaces = CM_NS_PID | CM_NS_NET;
    c.healthcheck = false;
    const char *want[] = {"container.root_user",      "container.privileged",
                          "container.runtime_socket", "container.host_network",
                          "container.host_pid",       "container.no_healthcheck"};
    struct col_check_result out[40];
    size_t n = col_checks_eval_container(&c, NULL, NULL, out, 40);
    cr_assert_eq(n, 6);
    for (size_t i = 0; i < n; i++)
        cr_expect_str_eq(out[i].check->id, want[i]);
    /* A smaller array: the first findings, and the full count. */
    cr_assert_eq(col_checks_eval_container(&c, NULL, NULL, out, 2), 6);
    cr_expect_str_eq(out[1].check->id, "container.privileged");
}
