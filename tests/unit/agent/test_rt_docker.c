/* test_rt_docker.c - ag_rt_docker_parse on the Docker Engine samples of the
 * shared corpus (inspect v1.24, the composed v1.56 inspect, a create
 * request) with the fields cis-docker-checks.md's expectations depend on,
 * on our own config.v2.json + hostconfig.json fixtures, on broken files,
 * and on the edge cases each documented decision in rt_docker.c makes. */
#include "agent/rt.h"
#include "common/err.h"
#include "common/inventory.h"
#include "common/timeutil.h"
#include "proto/wire.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(rt_docker, .timeout = 30);

static char *read_corpus(const char *rel, size_t *len)
{
    const char *p = tu_corpus_path(rel);
    if (!p) cr_skip_test("shared corpus not present (BOXWATCH_CORPUS_DIR): %s", rel);
    char *text = tu_read_file(p, len);
    cr_assert_not_null(text, "cannot read %s", p);
    return text;
}

static char *read_fixture(const char *rel, size_t *len)
{
    char *text = tu_read_file(tu_fixture_path(rel), len);
    cr_assert_not_null(text, "cannot read fixture %s", rel);
    return text;
}

/* Parses a text (and an optional hostconfig text) into *c. */
static int parse_text(const char *cfg, const char *hc, struct cm_container_inv *c, char *err)
{
    memset(c, 0, sizeof *c);
    return ag_rt_docker_parse(cfg, strlen(cfg), hc, hc ? strlen(hc) : 0, c, err, 256);
}

/* Parses tests/fixtures/runtimes/docker/<dir>/{config.v2.json,hostconfig.json}. */
static int parse_fixture(const char *dir, struct cm_container_inv *c, char *err)
{
    char rel[256];
    size_t n, hn;
    snprintf(rel, sizeof rel, "runtimes/docker/%s/config.v2.json", dir);
    char *cfg = read_fixture(rel, &n);
    snprintf(rel, sizeof rel, "runtimes/docker/%s/hostconfig.json", dir);
    char *hc = read_fixture(rel, &hn);
    memset(c, 0, sizeof *c);
    int rc = ag_rt_docker_parse(cfg, n, hc, hn, c, err, 256);
    free(cfg);
    free(hc);
    return rc;
}

static const struct cm_mount *find_mount(const struct cm_container_inv *c, const char *dst)
{
    for (size_t i = 0; i < c->n_mounts; i++)
        if (strcmp(c->mounts[i].destination, dst) == 0) return &c->mounts[i];
    return NULL;
}

static const struct cm_port *find_port(const struct cm_container_inv *c, uint32_t port,
                                       const char *proto, uint32_t host_port)
{
    for (size_t i = 0; i < c->n_ports; i++) {
        const struct cm_port *p = &c->ports[i];
        if (p->container_port == port && strcmp(p->protocol, proto) == 0 &&
            (!p->published || p->host_port == host_port))
            return p;
    }
    return NULL;
}

static const struct cm_env *find_env(const struct cm_container_inv *c, const char *name)
{
    for (size_t i = 0; i < c->n_env; i++)
        if (strcmp(c->env[i].name, name) == 0) return &c->env[i];
    return NULL;
}

static const char *label(const struct cm_container_inv *c, const char *key)
{
    for (size_t i = 0; i < c->n_labels; i++)
        if (strcmp(c->labels[i].key, key) == 0) return c->labels[i].value;
    return NULL;
}

static int64_t ts(const char *s)
{
    int64_t ns = 0;
    cr_assert_eq(cm_time_parse(s, &ns), 0, "%s", s);
    return ns;
}

/* Whatever the parser keeps must be accepted by the wire codec as is. */
static void expect_wire_ok(struct cm_container_inv *c)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    bool no_id = c->id[0] == '\0';
    if (no_id) memcpy(c->id, "x", 2);
    cr_expect_eq(cm_wire_encode_container_inv(c, &buf, &len), 0, "the wire refuses the result");
    free(buf);
    if (no_id) c->id[0] = '\0';
}

/* The rendered inventory must not hold any of these (secret values). */
static void expect_not_rendered(const struct cm_container_inv *c, const char *const *needles)
{
    cJSON *j = cm_container_inv_to_json(c);
    char *text = cJSON_PrintUnformatted(j);
    cr_assert_not_null(text);
    for (size_t i = 0; needles[i]; i++)
        cr_expect_null(strstr(text, needles[i]), "value \"%s\" leaked into the inventory",
                       needles[i]);
    free(text);
    cJSON_Delete(j);
}

Test(rt_docker, corpus_inspect_v124)
{
    size_t n;
    char err[256];
    struct cm_container_inv c = {0};
    char *text = read_corpus("container-config/docker/inspect.api-v1.24-doc-example.json", &n);
    cr_assert_eq(ag_rt_docker_parse(text, n, NULL, 0, &c, err, sizeof err), 0, "%s", err);
    cr_expect_eq(c.runtime, CM_RT_DOCKER);
    cr_expect_str_eq(c.id, "ba033ac4401106a3b513bc9d639eee123ad78ca3616b921167cd74b20e25ed39");
    cr_expect_str_eq(c.name, "boring_euclid");
    cr_expect_str_eq(c.image, "ubuntu");
    cr_expect_null(c.image_digest);
    cr_expect_eq(c.state, CM_INV_STATE_RUNNING);
    cr_expect_eq(c.created_ns, ts("2015-01-06T15:47:31.485331387Z"));
    cr_expect_eq(c.started_ns, ts("2015-01-06T15:47:32.072697474Z"));
    cr_expect_eq(c.pid, 0u, "Pid 0 is not a pid");
    /* 4.1: User "" is known to be empty. */
    cr_expect(c.known & CM_INV_K_USER);
    cr_expect_str_eq(c.user, "");
    /* 5.11, 5.12, 5.29 */
    cr_expect(c.known & CM_INV_K_LIMITS);
    cr_expect_eq(c.memory_limit_bytes, 0u);
    cr_expect_eq(c.cpu_shares, 0u);
    cr_expect_eq(c.nano_cpus, 0u);
    cr_expect_eq(c.cpu_period_us, 100000u);
    cr_expect_eq(c.pids_limit, 0);
    /* 5.6: /data is read-only */
    const struct cm_mount *m = find_mount(&c, "/data");
    cr_assert_not_null(m);
    cr_expect(m->read_only);
    cr_expect_str_eq(m->source, "/data");
    cr_expect_eq(c.n_mounts, 1u);
    /* 5.15 */
    cr_expect_str_eq(c.restart_policy, "on-failure");
    cr_expect_eq(c.restart_max_retries, 2u);
    /* 5.2, 5.3, 5.22, 5.26 */
    cr_expect_null(c.apparmor_profile, "AppArmorProfile \"\" is not a profile");
    cr_expect_null(c.selinux_label);
    cr_expect_eq(c.security_opt.n, 0u);
    cr_expect_str_eq(c.seccomp_profile, "default");
    cr_expect_not(c.no_new_privileges);
    /* 5.5, 5.10, 5.13, 5.16, 5.17, 5.31 */
    cr_expect_not(c.privileged);
    cr_expect_eq(c.host_namespaces, 0u);
    cr_expect_str_eq(c.network_mode, "bridge");
    cr_expect_not(c.readonly_rootfs);
    cr_expect_eq(c.cap_add.n, 0u);
    /* 5.27: no State.Health, no Healthcheck */
    cr_expect(c.known & CM_INV_K_HEALTH);
    cr_expect_not(c.healthcheck);
    cr_expect(c.known & CM_INV_K_PORTS);
    cr_expect_eq(c.n_ports, 0u);
    cr_expect_str_eq(label(&c, "com.example.vendor"), "Acme");
    cr_expect_eq(c.n_labels, 3u);
    cr_expect_eq(c.n_env, 1u);
    cr_expect_str_eq(c.env[0].name, "PATH");
    cr_expect_not(c.env[0].secret_like);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
    free(text);
}

Test(rt_docker, corpus_inspect_as_array)
{
    size_t n;
    char err[256];
    struct cm_container_inv c;
    char *text = read_corpus("container-config/docker/inspect.api-v1.24-doc-example.json", &n);
    size_t len = n * 2 + 8;
    char *arr = malloc(len);
    snprintf(arr, len, "[%s]", text);
    cr_expect_eq(parse_text(arr, NULL, &c, err), 0, "%s", err);
    cr_expect_str_eq(c.name, "boring_euclid");
    cm_container_inv_free(&c);
    snprintf(arr, len, "[%s,%s]", text, text);
    cr_expect_eq(parse_text(arr, NULL, &c, err), CM_EPARSE);
    cr_expect(strstr(err, "expected one") != NULL, "%s", err);
    cm_container_inv_free(&c);
    free(arr);
    free(text);
}

Test(rt_docker, corpus_create_request)
{
    size_t n;
    char err[256];
    struct cm_container_inv c = {0};
    char *text =
        read_corpus("container-config/docker/create-request.container_config_1_24.json", &n);
    cr_assert_eq(ag_rt_docker_parse(text, n, NULL, 0, &c, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(c.id, "", "a create request has no id");
    cr_expect_null(c.name);
    cr_expect_eq(c.state, CM_INV_STATE_UNKNOWN, "a create request has no State");
    cr_expect_str_eq(c.image, "ubuntu");
    cr_expect_str_eq(c.user, "");
    cr_assert_eq(c.cap_add.n, 1u);
    cr_expect_str_eq(c.cap_add.v[0], "NET_ADMIN");
    cr_assert_eq(c.cap_drop.n, 1u);
    cr_expect_str_eq(c.cap_drop.v[0], "MKNOD");
    /* 5.14: HostIp "" = all interfaces; exposed 22/tcp is the same port. */
    cr_assert_eq(c.n_ports, 1u);
    cr_expect_eq(c.ports[0].container_port, 22u);
    cr_expect_str_eq(c.ports[0].protocol, "tcp");
    cr_expect(c.ports[0].published);
    cr_expect_eq(c.ports[0].host_port, 11022u);
    cr_expect(c.ports[0].host_ip == NULL || c.ports[0].host_ip[0] == '\0');
    cr_expect_eq(c.memory_limit_bytes, 4194304u);
    cr_expect_eq(c.cpu_shares, 512u);
    cr_expect_eq(c.pids_limit, 0);
    const struct cm_mount *m = find_mount(&c, "/tmp");
    cr_assert_not_null(m, "the one bind mount");
    cr_expect_str_eq(m->source, "/tmp");
    cr_expect_not(m->read_only);
    cr_expect_str_eq(m->type, "bind");
    cr_expect_str_eq(c.restart_policy, "no");
    cr_expect_not(c.known & CM_INV_K_HEALTH, "the image may bring a HEALTHCHECK");
    cr_expect_not(c.readonly_rootfs);
    cr_expect_eq(c.security_opt.n, 0u);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
    free(text);
}

Test(rt_docker, corpus_swagger_composed)
{
    size_t n;
    char err[256];
    struct cm_container_inv c = {0};
    char *text = read_corpus("container-config/docker/inspect.swagger-v1.56-composed.json", &n);
    cr_assert_eq(ag_rt_docker_parse(text, n, NULL, 0, &c, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(c.user, "123:456");
    cr_expect(c.healthcheck, "State.Health is present (Test [] alone would not be)");
    cr_assert_eq(c.devices.n, 1u);
    cr_expect_str_eq(c.devices.v[0], "/dev/deviceName");
    const struct cm_port *p80 = find_port(&c, 80, "tcp", 80);
    cr_assert_not_null(p80);
    cr_expect(p80->published);
    cr_expect_str_eq(p80->host_ip, "0.0.0.0");
    cr_expect_not_null(find_port(&c, 80, "tcp", 8080));
    const struct cm_port *p53 = find_port(&c, 53, "udp", 53);
    cr_assert_not_null(p53);
    cr_expect_str_eq(p53->host_ip, "0.0.0.0");
    const struct cm_port *p443 = find_port(&c, 443, "tcp", 4443);
    cr_assert_not_null(p443);
    cr_expect_str_eq(p443->host_ip, "127.0.0.1");
    const struct cm_port *p2377 = find_port(&c, 2377, "tcp", 0);
    cr_assert_not_null(p2377);
    cr_expect_not(p2377->published, "null bindings: not published");
    cr_expect_eq(c.n_ports, 6u, "NetworkSettings.Ports, PortBindings and ExposedPorts merged");
    cr_expect_eq(c.pid, 1234u);
    cr_expect_eq(c.memory_limit_bytes, 0u);
    cr_expect_eq(c.cpu_shares, 0u);
    cr_expect_eq(c.nano_cpus, 0u);
    cr_expect_eq(c.pids_limit, 0);
    cr_expect_not(c.readonly_rootfs);
    cr_expect_eq(c.host_namespaces, 0u, "CgroupnsMode private");
    cr_expect_null(c.apparmor_profile);
    cr_expect_eq(c.security_opt.n, 0u);
    const struct cm_mount *m = find_mount(&c, "/usr/share/nginx/html/");
    cr_assert_not_null(m, "top-level Mounts, not HostConfig.Mounts");
    cr_expect_not(m->read_only);
    cr_expect_str_eq(m->type, "volume");
    cr_expect_eq(c.n_mounts, 1u);
    cr_expect_str_eq(c.image, "example-image:1.0");
    cr_expect_null(c.image_digest);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
    free(text);
}

Test(rt_docker, corpus_other_docker_json_no_crash)
{
    static const char *const files[] = {
        "container-config/docker/stats.api-v1.24-doc-example.json",
        "container-config/docker/stats.swagger-v1.56-composed.json",
        "container-config/docker/info.api-v1.24-doc-example.json",
        "container-config/docker/docker-info-no-swarm.json",
        "container-config/docker/docker-info-badsec.json",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t n;
        char err[256];
        struct cm_container_inv c = {0};
        char *text = read_corpus(files[i], &n);
        int rc = ag_rt_docker_parse(text, n, NULL, 0, &c, err, sizeof err);
        cr_expect(rc == 0 || (rc == CM_EPARSE && err[0]), "%s: %d", files[i], rc);
        cm_container_inv_free(&c);
        free(text);
    }
}

Test(rt_docker, fixture_app)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_fixture("app", &c, err), 0, "%s", err);
    cr_expect_str_eq(c.id, "3f5c2a1b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b");
    cr_expect_str_eq(c.name, "ci-app");
    cr_expect_str_eq(c.image, "busybox:local");
    cr_expect_eq(c.state, CM_INV_STATE_RUNNING);
    cr_expect_eq(c.pid, 41872u);
    cr_expect_eq(c.started_ns, ts("2026-11-23T11:30:50.861234117Z"));
    cr_expect_str_eq(c.user, "1000:1000");
    cr_assert_eq(c.cap_add.n, 1u);
    cr_expect_str_eq(c.cap_add.v[0], "SYS_ADMIN");
    const struct cm_mount *etc = find_mount(&c, "/host/etc");
    cr_assert_not_null(etc);
    cr_expect(etc->read_only, "RW false");
    cr_expect_str_eq(etc->source, "/etc");
    cr_expect_str_eq(etc->propagation, "rprivate");
    const struct cm_mount *sock = find_mount(&c, "/var/run/docker.sock");
    cr_assert_not_null(sock);
    cr_expect_not(sock->read_only);
    cr_expect_eq(c.n_mounts, 2u, "MountPoints, not Binds again");
    const struct cm_port *p = find_port(&c, 22, "tcp", 2222);
    cr_assert_not_null(p);
    cr_expect(p->published);
    cr_expect_str_eq(p->host_ip, "127.0.0.1");
    cr_expect_eq(c.n_ports, 1u);
    cr_expect_eq(c.memory_limit_bytes, 67108864u);
    cr_expect_eq(c.cpu_quota_us, 50000);
    cr_expect_eq(c.cpu_period_us, 100000u);
    cr_expect_eq(c.pids_limit, 64);
    cr_expect_str_eq(c.network_mode, "none");
    cr_expect_eq(c.host_namespaces, (uint32_t)CM_NS_CGROUP, "CgroupnsMode host only");
    cr_expect_str_eq(c.seccomp_profile, "default");
    cr_expect_str_eq(c.restart_policy, "no");
    const struct cm_env *e = find_env(&c, "AWS_SECRET_ACCESS_KEY");
    cr_assert_not_null(e);
    cr_expect(e->secret_like);
    cr_expect_str_eq(e->secret_reason, "name:SECRET");
    cr_expect_not(find_env(&c, "HOME")->secret_like);
    cr_expect_str_eq(label(&c, "com.example.team"), "payments");
    static const char *const secrets[] = {"xyz", NULL};
    expect_not_rendered(&c, secrets);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
}

Test(rt_docker, fixture_privileged)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_fixture("priv", &c, err), 0, "%s", err);
    cr_expect(c.privileged);
    cr_expect(c.known & CM_INV_K_PRIVILEGED);
    cr_expect_str_eq(c.seccomp_profile, "unconfined", "Docker applies no seccomp when privileged");
    cr_expect_str_eq(c.apparmor_profile, "unconfined");
    cr_expect_str_eq(c.selinux_label, "disable");
    cr_expect(c.readonly_rootfs);
    cr_expect_str_eq(c.user, "");
    cr_expect_eq(c.pids_limit, 0, "PidsLimit null");
    cr_expect_eq(c.n_mounts, 0u);
    cr_expect(c.known & CM_INV_K_MOUNTS);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
}

Test(rt_docker, fixture_hardened)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_fixture("hardened", &c, err), 0, "%s", err);
    cr_expect_str_eq(c.user, "app");
    cr_expect(c.no_new_privileges);
    cr_expect_str_eq(c.apparmor_profile, "docker-default");
    cr_expect_str_eq(c.seccomp_profile, "default");
    cr_assert_eq(c.cap_add.n, 1u);
    cr_expect_str_eq(c.cap_add.v[0], "NET_BIND_SERVICE", "CAP_ cut off");
    cr_assert_eq(c.cap_drop.n, 1u);
    cr_expect_str_eq(c.cap_drop.v[0], "ALL");
    cr_expect(c.healthcheck);
    cr_expect_str_eq(c.restart_policy, "on-failure");
    cr_expect_eq(c.restart_max_retries, 3u);
    cr_expect_str_eq(c.image_digest,
                     "sha256:4f1b8c3d2e0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706");
    cr_expect_eq(c.created_ns, ts("2026-11-23T12:00:00.5Z"));
    const struct cm_port *p = find_port(&c, 8443, "tcp", 8443);
    cr_assert_not_null(p);
    cr_expect_str_eq(p->host_ip, "10.0.0.5");
    cr_expect_eq(c.n_ports, 1u);
    cr_expect_not(find_env(&c, "DB_PASSWORD_FILE")->secret_like, "names where a secret is");
    cr_expect_not(find_env(&c, "PWD")->secret_like, "the shell's PWD");
    cr_expect_not(find_env(&c, "APP_MODE")->secret_like);
    cr_expect_str_eq(c.cgroup_parent, "/payments");
    cr_expect_eq(c.nano_cpus, 500000000u);
    cr_expect_eq(c.memory_limit_bytes, 268435456u);
    cr_expect_eq(c.pids_limit, 128);
    cr_expect(c.readonly_rootfs);
    const struct cm_mount *m = find_mount(&c, "/srv/data");
    cr_assert_not_null(m);
    cr_expect_str_eq(m->type, "volume");
    cr_expect_not(m->read_only);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
}

Test(rt_docker, fixture_host_namespaces)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_fixture("hostns", &c, err), 0, "%s", err);
    cr_expect_eq(c.host_namespaces, (uint32_t)(CM_NS_NET | CM_NS_PID | CM_NS_IPC | CM_NS_UTS |
                                               CM_NS_USER | CM_NS_CGROUP));
    cr_expect_eq(c.state, CM_INV_STATE_CREATED, "never started");
    cr_expect_eq(c.started_ns, 0, "0001-01-01 is unknown");
    cr_expect_eq(c.pid, 0u);
    cr_expect_str_eq(c.seccomp_profile, "unconfined");
    cr_expect_not(c.no_new_privileges, "no-new-privileges:false is false");
    cr_expect_str_eq(c.apparmor_profile, "unconfined");
    cr_expect_str_eq(c.selinux_label, "type:spc_t", "label:type:spc_t, the old ':' syntax");
    cr_expect_str_eq(c.restart_policy, "always");
    cr_expect_eq(c.restart_max_retries, 0u);
    cr_expect_not(c.healthcheck, "Test [\"NONE\"] turns it off");
    cr_expect(c.known & CM_INV_K_HEALTH);
    cr_assert_eq(c.devices.n, 1u);
    cr_expect_str_eq(c.devices.v[0], "/dev/fuse");
    cr_expect_eq(c.pids_limit, -1);
    const struct cm_mount *root = find_mount(&c, "/host");
    cr_assert_not_null(root);
    cr_expect_str_eq(root->source, "/");
    cr_expect_not(root->read_only);
    cr_expect_str_eq(root->propagation, "rshared");
    cr_assert_eq(c.cap_add.n, 2u);
    cr_expect_str_eq(c.cap_add.v[0], "SYS_PTRACE");
    cr_expect_str_eq(c.cap_add.v[1], "ALL");
    cr_expect_str_eq(c.user, "0");
    cr_expect_str_eq(c.image, "nginx");
    cr_expect_not_null(find_port(&c, 80, "tcp", 0));
    cr_expect_not_null(find_port(&c, 53, "udp", 0));
    static const struct {
        const char *name, *reason;
    } want[] = {
        {"GITHUB_DEPLOY", "value:github-token"},
        {"DATABASE_URL", "value:url-credentials"},
        {"NOTIFY_HOOK", "value:slack-token"},
        {"SESSION", "value:jwt"},
        {"CLOUD_KEY_ID", "value:aws-access-key-id"},
        {"MYSQL_ROOT_PASSWORD", NULL},
        {"NGINX_VERSION", NULL},
        {"PATH", NULL},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct cm_env *e = find_env(&c, want[i].name);
        cr_assert_not_null(e, "%s", want[i].name);
        cr_expect_eq(e->secret_like, want[i].reason != NULL, "%s", want[i].name);
        if (want[i].reason) cr_expect_str_eq(e->secret_reason, want[i].reason, "%s", want[i].name);
    }
    static const char *const secrets[] = {"s3cr3t", "ghp_", "xoxb", "AKIA", "eyJ", NULL};
    expect_not_rendered(&c, secrets);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
}

Test(rt_docker, truncated_config)
{
    char err[256];
    struct cm_container_inv c;
    int rc = parse_fixture("truncated", &c, err);
    cr_expect_eq(rc, CM_EPARSE);
    cr_expect(strstr(err, "config") && strstr(err, "ends early"), "%s", err);
    cm_container_inv_free(&c);
}

Test(rt_docker, broken_hostconfig_keeps_the_config_part)
{
    char err[256];
    struct cm_container_inv c;
    int rc = parse_fixture("badcomma", &c, err);
    cr_expect_eq(rc, CM_EPARSE);
    cr_expect(strstr(err, "hostconfig: invalid JSON at line 1") != NULL, "%s", err);
    cr_expect_str_eq(c.name, "ci-app", "config.v2.json was fine");
    cr_expect_str_eq(c.user, "1000:1000");
    cr_expect_not(c.known & CM_INV_K_PRIVILEGED, "nothing from the broken hostconfig");
    cr_expect_not(c.known & CM_INV_K_LIMITS);
    cr_expect(c.known & CM_INV_K_MOUNTS, "MountPoints are in config.v2.json");
    cm_container_inv_free(&c);
}

Test(rt_docker, wrong_types_are_errors)
{
    char err[256];
    struct cm_container_inv c;
    int rc = parse_fixture("badtype", &c, err);
    cr_expect_eq(rc, CM_EPARSE);
    cr_expect(strstr(err, "HostConfig.Privileged") != NULL, "%s", err);
    cr_expect_not(c.privileged, "\"true\" is not true");
    cr_expect(c.readonly_rootfs, "the fields after it are still read");
    cr_expect_str_eq(c.name, "ci-priv");
    cm_container_inv_free(&c);
}

Test(rt_docker, not_json_or_not_an_object)
{
    static const char *const bad[] = {"", "   ", "null", "42", "\"x\"", "[]", "{} x", "{\"a\":"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        struct cm_container_inv c;
        cr_expect_eq(parse_text(bad[i], NULL, &c, err), CM_EPARSE, "[%s]", bad[i]);
        cr_expect(err[0] != '\0', "[%s] needs a reason", bad[i]);
        cm_container_inv_free(&c);
    }
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(parse_text("{}", "[1]", &c, err), CM_EPARSE);
    cr_expect(strstr(err, "hostconfig") != NULL, "%s", err);
    cm_container_inv_free(&c);
    /* NULL err is allowed */
    memset(&c, 0, sizeof c);
    cr_expect_eq(ag_rt_docker_parse("x", 1, NULL, 0, &c, NULL, 0), CM_EPARSE);
    cm_container_inv_free(&c);
}

Test(rt_docker, too_big)
{
    size_t n = AG_RT_FILE_MAX + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    char err[256];
    struct cm_container_inv c = {0};
    cr_expect_eq(ag_rt_docker_parse(big, n, NULL, 0, &c, err, sizeof err), CM_ETOOBIG);
    cr_expect(strstr(err, "bytes") != NULL, "%s", err);
    cm_container_inv_free(&c);
    free(big);
}

Test(rt_docker, no_new_privileges_forms)
{
    static const struct {
        const char *opt;
        bool want;
    } cases[] = {
        {"no-new-privileges", true},        {"no-new-privileges:true", true},
        {"no-new-privileges=true", true},   {"no-new-privileges=1", true},
        {"no-new-privileges:false", false}, {"no-new-privileges=false", false},
        {"no-new-privileges=bogus", false}, {"no-new-privileges-x", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cfg[256], err[256];
        struct cm_container_inv c;
        snprintf(cfg, sizeof cfg, "{\"HostConfig\":{\"SecurityOpt\":[\"%s\"]}}", cases[i].opt);
        cr_expect_eq(parse_text(cfg, NULL, &c, err), 0, "%s", err);
        cr_expect_eq(c.no_new_privileges, cases[i].want, "%s", cases[i].opt);
        cr_expect(c.known & CM_INV_K_NNP);
        cr_assert_eq(c.security_opt.n, 1u);
        cr_expect_str_eq(c.security_opt.v[0], cases[i].opt, "kept as given");
        cm_container_inv_free(&c);
    }
}

Test(rt_docker, resolved_no_new_privileges_wins)
{
    char err[256];
    struct cm_container_inv c;
    /* config.v2.json's NoNewPrivileges holds the daemon default at create. */
    cr_expect_eq(parse_text("{\"Config\":{},\"State\":{},\"NoNewPrivileges\":true}",
                            "{\"SecurityOpt\":null}", &c, err),
                 0, "%s", err);
    cr_expect(c.no_new_privileges);
    cm_container_inv_free(&c);
}

Test(rt_docker, seccomp_forms)
{
    static const struct {
        const char *hc, *want;
    } cases[] = {
        {"{\"SecurityOpt\":[\"seccomp=unconfined\"]}", "unconfined"},
        {"{\"SecurityOpt\":[\"seccomp:unconfined\"]}", "unconfined"},
        {"{\"SecurityOpt\":[\"seccomp=/etc/docker/strict.json\"]}", "/etc/docker/strict.json"},
        {"{\"SecurityOpt\":[\"seccomp=builtin\"]}", "default"},
        {"{\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ERRNO\\\"}\"]}",
         "default"},
        {"{\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\"}\"]}",
         "unconfined"},
        {"{\"SecurityOpt\":[\"seccomp={\\\"defaultAction\\\":\\\"SCMP_ACT_ALLOW\\\","
         "\\\"syscalls\\\":[{\\\"names\\\":[\\\"ptrace\\\"],\\\"action\\\":\\\"SCMP_ACT_ERRNO\\\"}]"
         "}"
         "\"]}",
         "denylist"},
        {"{\"SecurityOpt\":[\"seccomp={broken\"]}", "custom"},
        {"{}", "default"},
        {"{\"Privileged\":true,\"SecurityOpt\":[\"seccomp=/p.json\"]}", "unconfined"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        struct cm_container_inv c;
        cr_expect_eq(parse_text("{\"Config\":{}}", cases[i].hc, &c, err), 0, "%s", err);
        cr_expect_str_eq(c.seccomp_profile, cases[i].want, "%s", cases[i].hc);
        cr_expect(c.known & CM_INV_K_SECCOMP);
        for (size_t k = 0; k < c.security_opt.n; k++)
            cr_expect(strlen(c.security_opt.v[k]) < 64, "inline JSON profile kept short");
        cm_container_inv_free(&c);
    }
}

Test(rt_docker, mac_from_security_opt)
{
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(parse_text("{\"Config\":{}}",
                            "{\"SecurityOpt\":[\"apparmor=my-profile\",\"label=user:u\","
                            "\"label=type:t\",\"disable\"]}",
                            &c, err),
                 0, "%s", err);
    cr_expect_str_eq(c.apparmor_profile, "my-profile");
    cr_expect_str_eq(c.selinux_label, "user:u,type:t,disable");
    cr_expect(c.known & CM_INV_K_MAC);
    cm_container_inv_free(&c);
}

Test(rt_docker, binds_and_mounts_of_a_create_request)
{
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(
        parse_text("{\"Image\":\"x\",\"HostConfig\":{\"Binds\":[\"data:/data:ro,rshared\","
                   "\"/var/run/docker.sock:/var/run/docker.sock:rw\"],"
                   "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/etc\",\"Target\":\"/h/etc\","
                   "\"ReadOnly\":true,\"BindOptions\":{\"Propagation\":\"slave\"}},"
                   "{\"Type\":\"tmpfs\",\"Target\":\"\"}]}}",
                   NULL, &c, err),
        0, "%s", err);
    cr_assert_eq(c.n_mounts, 3u);
    const struct cm_mount *v = find_mount(&c, "/data");
    cr_assert_not_null(v);
    cr_expect_str_eq(v->type, "volume");
    cr_expect(v->read_only);
    cr_expect_str_eq(v->propagation, "rshared");
    const struct cm_mount *s = find_mount(&c, "/var/run/docker.sock");
    cr_assert_not_null(s);
    cr_expect_not(s->read_only);
    cr_expect_str_eq(s->type, "bind");
    const struct cm_mount *e = find_mount(&c, "/h/etc");
    cr_assert_not_null(e);
    cr_expect(e->read_only);
    cr_expect_str_eq(e->propagation, "slave");
    cm_container_inv_free(&c);
    cr_expect_eq(parse_text("{\"HostConfig\":{\"Binds\":[\"/only-one-part\"]}}", NULL, &c, err),
                 CM_EPARSE);
    cr_expect(strstr(err, "HostConfig.Binds") != NULL, "%s", err);
    cm_container_inv_free(&c);
    cr_expect_eq(parse_text("{\"HostConfig\":{\"Binds\":[\"a:b:c:d\"]}}", NULL, &c, err),
                 CM_EPARSE);
    cm_container_inv_free(&c);
}

Test(rt_docker, unresolved_binding_gives_way_to_the_resolved_one)
{
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(parse_text("{\"Config\":{\"ExposedPorts\":{\"80/tcp\":{},\"9000\":{}}},"
                            "\"NetworkSettings\":{\"Ports\":{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\","
                            "\"HostPort\":\"32768\"}]}}}",
                            "{\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}],"
                            "\"81/tcp\":[{\"HostPort\":\"8000-8010\"}]}}",
                            &c, err),
                 0, "%s", err);
    cr_expect_eq(c.n_ports, 3u, "80 once (resolved), 81, 9000");
    const struct cm_port *p80 = find_port(&c, 80, "tcp", 32768);
    cr_assert_not_null(p80);
    cr_expect(p80->published);
    const struct cm_port *p81 = find_port(&c, 81, "tcp", 8000);
    cr_assert_not_null(p81, "a range: its first port");
    const struct cm_port *p9000 = find_port(&c, 9000, "tcp", 0);
    cr_assert_not_null(p9000, "no protocol means tcp");
    cr_expect_not(p9000->published);
    cm_container_inv_free(&c);
    cr_expect_eq(parse_text("{\"Config\":{\"ExposedPorts\":{\"http/tcp\":{}}}}", NULL, &c, err),
                 CM_EPARSE);
    cr_expect(strstr(err, "port/protocol") != NULL, "%s", err);
    cm_container_inv_free(&c);
    cr_expect_eq(parse_text("{\"Config\":{}}",
                            "{\"PortBindings\":{\"1/tcp\":[{\"HostPort\":\"x\"}]}}", &c, err),
                 CM_EPARSE);
    cm_container_inv_free(&c);
}

Test(rt_docker, a_binding_upgrades_an_exposed_port)
{
    char err[256];
    struct cm_container_inv c;
    /* A stopped container: NetworkSettings lists the port unpublished. */
    cr_expect_eq(parse_text("{\"Config\":{},\"NetworkSettings\":{\"Ports\":{\"22/tcp\":null}}}",
                            "{\"PortBindings\":{\"22/tcp\":[{\"HostIp\":\"0.0.0.0\","
                            "\"HostPort\":\"22\"}]}}",
                            &c, err),
                 0, "%s", err);
    cr_assert_eq(c.n_ports, 1u);
    cr_expect(c.ports[0].published);
    cr_expect_eq(c.ports[0].host_port, 22u);
    cr_expect_str_eq(c.ports[0].host_ip, "0.0.0.0");
    cm_container_inv_free(&c);
}

Test(rt_docker, states)
{
    static const struct {
        const char *st;
        enum cm_inv_state want;
    } cases[] = {
        {"{\"Running\":true,\"Paused\":true}", CM_INV_STATE_PAUSED},
        {"{\"Running\":true,\"Restarting\":true}", CM_INV_STATE_RESTARTING},
        {"{\"Running\":false,\"Dead\":true}", CM_INV_STATE_EXITED},
        {"{\"Running\":false,\"StartedAt\":\"2026-01-01T00:00:00Z\"}", CM_INV_STATE_EXITED},
        {"{\"Running\":false,\"StartedAt\":\"0001-01-01T00:00:00Z\"}", CM_INV_STATE_CREATED},
        {"{\"Running\":true,\"Pid\":99999999}", CM_INV_STATE_RUNNING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cfg[256], err[256];
        struct cm_container_inv c;
        snprintf(cfg, sizeof cfg, "{\"Config\":{},\"State\":%s}", cases[i].st);
        cr_expect_eq(parse_text(cfg, NULL, &c, err), 0, "%s", err);
        cr_expect_eq(c.state, cases[i].want, "%s", cases[i].st);
        cr_expect_eq(c.pid, 0u, "no pid beyond the kernel's limit");
        cm_container_inv_free(&c);
    }
}

Test(rt_docker, go_key_matching_and_old_fields)
{
    char err[256];
    struct cm_container_inv c;
    /* Case-insensitive keys, the last duplicate wins, Memory in Config. */
    cr_expect_eq(parse_text("{\"id\":\"abc\",\"config\":{\"user\":\"root\",\"USER\":\"app\","
                            "\"Memory\":8388608},\"HostConfig\":{\"usernsmode\":\"HOST\","
                            "\"NetworkMode\":\"container:abc\",\"Privileged\":false,"
                            "\"Privileged\":true}}",
                            NULL, &c, err),
                 0, "%s", err);
    cr_expect_str_eq(c.id, "abc");
    cr_expect_str_eq(c.user, "app");
    cr_expect_eq(c.memory_limit_bytes, 8388608u);
    cr_expect_eq(c.host_namespaces, (uint32_t)CM_NS_USER, "container: is not the host's");
    cr_expect(c.privileged);
    cm_container_inv_free(&c);
}

Test(rt_docker, bad_ids_and_times)
{
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(parse_text("{\"Id\":\"a/b\",\"Config\":{}}", NULL, &c, err), CM_EPARSE);
    cr_expect(strstr(err, "ID") != NULL, "%s", err);
    cr_expect_str_eq(c.id, "");
    cm_container_inv_free(&c);
    char id[300];
    memset(id, 'a', sizeof id);
    id[sizeof id - 1] = '\0';
    char cfg[400];
    snprintf(cfg, sizeof cfg, "{\"Id\":\"%s\",\"Config\":{}}", id);
    cr_expect_eq(parse_text(cfg, NULL, &c, err), CM_EPARSE);
    cm_container_inv_free(&c);
    cr_expect_eq(parse_text("{\"Config\":{},\"Created\":\"2250-01-01T00:00:00Z\","
                            "\"State\":{\"StartedAt\":\"yesterday\"}}",
                            NULL, &c, err),
                 0, "%s", err);
    cr_expect_eq(c.created_ns, 0, "beyond what the wire carries: unknown");
    cr_expect_eq(c.started_ns, 0);
    cm_container_inv_free(&c);
}

Test(rt_docker, lists_and_strings_are_capped)
{
    size_t cap = 64 * 1024;
    char *cfg = malloc(cap);
    size_t n = (size_t)snprintf(cfg, cap, "{\"Config\":{\"User\":\"u\",\"Env\":[");
    for (unsigned i = 0; i <= CM_INV_LIST_MAX; i++)
        n += (size_t)snprintf(cfg + n, cap - n, "%s\"V%u=1\"", i ? "," : "", i);
    snprintf(cfg + n, cap - n, "],\"Labels\":{\"k\":\"\xff\xfe\"}}}");
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(parse_text(cfg, NULL, &c, err), CM_ETOOBIG);
    cr_expect(strstr(err, "Env") != NULL, "%s", err);
    cr_expect_eq(c.n_env, (size_t)CM_INV_LIST_MAX, "what fit is kept");
    cr_expect_str_eq(c.user, "u", "the rest is still read");
    cr_expect_str_eq(label(&c, "k"), "??", "invalid UTF-8 replaced");
    cm_container_inv_free(&c);
    /* A 5000-byte label value is cut to CM_INV_STR_MAX. */
    n = (size_t)snprintf(cfg, cap, "{\"Config\":{\"Labels\":{\"k\":\"");
    for (int i = 0; i < 5000; i++)
        cfg[n++] = 'a';
    snprintf(cfg + n, cap - n, "\"}}}");
    cr_expect_eq(parse_text(cfg, NULL, &c, err), 0, "%s", err);
    cr_expect_eq(strlen(label(&c, "k")), (size_t)CM_INV_STR_MAX);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
    free(cfg);
}
