/* test_rt_oci.c - ag_rt_oci_parse on the OCI configs of the shared corpus
 * (runc 1.1.5 default and rootless specs, the runtime-spec example and
 * minimal configs), on our podman and runc bundle fixtures, on broken
 * files, and on the two inferred fields: "privileged" and what a seccomp
 * filter amounts to. */
#include "agent/rt.h"
#include "common/err.h"
#include "common/inventory.h"
#include "proto/wire.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(rt_oci, .timeout = 30);

#define NO_OCI_GROUPS (CM_INV_K_PORTS | CM_INV_K_RESTART | CM_INV_K_HEALTH)

static int parse_file(const char *path, bool corpus, struct cm_container_inv *c, char *err)
{
    size_t n;
    const char *p = corpus ? tu_corpus_path(path) : tu_fixture_path(path);
    if (!p) cr_skip_test("shared corpus not present (BOXWATCH_CORPUS_DIR): %s", path);
    char *text = tu_read_file(p, &n);
    cr_assert_not_null(text, "cannot read %s", p);
    memset(c, 0, sizeof *c);
    int rc = ag_rt_oci_parse(text, n, c, err, 256);
    free(text);
    return rc;
}

static int parse_text(const char *text, struct cm_container_inv *c, char *err)
{
    memset(c, 0, sizeof *c);
    return ag_rt_oci_parse(text, strlen(text), c, err, 256);
}

static const struct cm_mount *find_mount(const struct cm_container_inv *c, const char *dst)
{
    for (size_t i = 0; i < c->n_mounts; i++)
        if (strcmp(c->mounts[i].destination, dst) == 0) return &c->mounts[i];
    return NULL;
}

static const char *label(const struct cm_container_inv *c, const char *key)
{
    for (size_t i = 0; i < c->n_labels; i++)
        if (strcmp(c->labels[i].key, key) == 0) return c->labels[i].value;
    return NULL;
}

static void expect_wire_ok(struct cm_container_inv *c)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    memcpy(c->id, "oci-test", 9); /* the caller's job; the wire needs one */
    cr_expect_eq(cm_wire_encode_container_inv(c, &buf, &len), 0, "the wire refuses the result");
    free(buf);
}

Test(rt_oci, corpus_runc_default)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(
        parse_file("container-config/oci/runc-1.1.5-spec-default.config.json", true, &c, err), 0,
        "%s", err);
    cr_expect(c.readonly_rootfs);
    cr_expect(c.known & CM_INV_K_ROOTFS);
    cr_expect(c.no_new_privileges);
    cr_expect_str_eq(c.user, "0:0");
    cr_assert_eq(c.cap_effective.n, 3u);
    cr_expect_str_eq(c.cap_effective.v[0], "AUDIT_WRITE");
    cr_expect_str_eq(c.cap_effective.v[1], "KILL");
    cr_expect_str_eq(c.cap_effective.v[2], "NET_BIND_SERVICE");
    cr_expect_eq(c.cap_bounding.n, 3u);
    cr_expect_not(c.privileged);
    cr_expect_str_eq(c.seccomp_profile, "unconfined", "runc spec writes no seccomp");
    /* pid, network, ipc, uts, mount are unshared; no cgroup namespace (v1). */
    cr_expect_eq(c.host_namespaces, (uint32_t)CM_NS_CGROUP);
    cr_expect_eq(c.n_mounts, 7u);
    cr_expect(find_mount(&c, "/sys")->read_only);
    cr_expect(find_mount(&c, "/sys/fs/cgroup")->read_only);
    cr_expect_not(find_mount(&c, "/dev")->read_only);
    cr_expect_str_eq(find_mount(&c, "/proc")->type, "proc");
    cr_expect_eq(c.n_env, 2u);
    cr_expect_eq(c.memory_limit_bytes, 0u);
    cr_expect_eq(c.pids_limit, 0);
    cr_expect(c.known & CM_INV_K_LIMITS);
    cr_expect_eq(c.known & NO_OCI_GROUPS, 0u, "no ports, restart or health in a bundle");
    cr_expect_eq(c.runtime, CM_RT_UNKNOWN, "the caller's to set");
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
}

Test(rt_oci, corpus_runc_rootless)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(
        parse_file("container-config/oci/runc-1.1.5-spec-rootless.config.json", true, &c, err), 0,
        "%s", err);
    cr_expect_eq(c.host_namespaces, (uint32_t)(CM_NS_NET | CM_NS_CGROUP),
                 "no network namespace: the host's; the user namespace is never reported");
    cr_expect_str_eq(find_mount(&c, "/sys")->source, "/sys");
    cr_expect(find_mount(&c, "/sys")->read_only);
    cr_expect_str_eq(c.user, "0:0");
    cm_container_inv_free(&c);
}

Test(rt_oci, corpus_spec_example)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_file("container-config/oci/runtime-spec-example.config.json", true, &c, err),
                 0, "%s", err);
    cr_expect_str_eq(c.user, "1:1");
    cr_expect_str_eq(c.apparmor_profile, "acme_secure_profile");
    cr_expect_str_eq(c.selinux_label, "system_u:system_r:svirt_lxc_net_t:s0:c124,c675");
    cr_expect_str_eq(c.seccomp_profile, "denylist", "allows by default, denies two calls");
    cr_expect_eq(c.memory_limit_bytes, 536870912u);
    cr_expect_eq(c.cpu_shares, 1024u);
    cr_expect_eq(c.cpu_quota_us, 1000000);
    cr_expect_eq(c.cpu_period_us, 500000u);
    cr_expect_eq(c.pids_limit, 32771);
    cr_expect_eq(c.host_namespaces, 0u, "every namespace unshared");
    cr_expect_eq(c.cap_effective.n, 2u);
    cr_expect_eq(c.cap_bounding.n, 3u);
    cr_expect(c.no_new_privileges);
    cr_expect(c.readonly_rootfs);
    cr_expect_str_eq(label(&c, "com.example.key1"), "value1");
    cr_expect_eq(c.n_labels, 2u);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
}

Test(rt_oci, corpus_minimal_is_valid)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_file("container-config/oci/runtime-spec-minimal.config.json", true, &c, err),
                 0, "%s", err);
    cr_expect_eq(c.known, (uint32_t)(CM_INV_K_ROOTFS | CM_INV_K_MOUNTS),
                 "no process, no linux: the rest unknown");
    cr_expect_null(c.user);
    cr_expect_null(c.seccomp_profile);
    cr_expect_not(c.readonly_rootfs);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
}

Test(rt_oci, corpus_state_and_features_no_crash)
{
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(parse_file("container-config/oci/runtime-spec-example.state.json", true, &c, err),
                 0, "%s", err);
    cr_expect_not(c.known & CM_INV_K_USER, "a state file has no process");
    cm_container_inv_free(&c);
    /* features.json lists namespaces as strings: a wrong shape for a config. */
    cr_expect_eq(parse_file("container-config/oci/runtime-spec-runc.features.json", true, &c, err),
                 CM_EPARSE);
    cr_expect(strstr(err, "linux.namespaces") != NULL, "%s", err);
    cm_container_inv_free(&c);
}

Test(rt_oci, fixture_podman_app)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_file("runtimes/podman/app/userdata/config.json", false, &c, err), 0, "%s",
                 err);
    cr_expect_str_eq(c.user, "1000:1000");
    cr_expect(cm_strv_contains(&c.cap_effective, "SYS_ADMIN"),
              "podman grants added caps to a non-root user");
    cr_expect_eq(c.cap_bounding.n, 12u);
    cr_expect_not(c.privileged);
    cr_expect_str_eq(c.seccomp_profile, "default", "denies by default");
    const struct cm_mount *etc = find_mount(&c, "/host/etc");
    cr_assert_not_null(etc);
    cr_expect(etc->read_only);
    cr_expect_str_eq(etc->propagation, "rprivate");
    const struct cm_mount *sock = find_mount(&c, "/var/run/podman.sock");
    cr_assert_not_null(sock);
    cr_expect_not(sock->read_only);
    cr_expect_str_eq(sock->source, "/run/podman/podman.sock");
    cr_expect_eq(c.memory_limit_bytes, 67108864u);
    cr_expect_eq(c.cpu_quota_us, 50000);
    cr_expect_eq(c.cpu_period_us, 100000u);
    cr_expect_eq(c.pids_limit, 64);
    cr_expect_eq(c.host_namespaces, 0u, "a CNI netns path is not the host's");
    cr_expect_str_eq(label(&c, "io.container.manager"), "libpod");
    bool found = false;
    for (size_t i = 0; i < c.n_env; i++) {
        if (strcmp(c.env[i].name, "AWS_SECRET_ACCESS_KEY") == 0) {
            found = true;
            cr_expect(c.env[i].secret_like);
        }
        if (strcmp(c.env[i].name, "container") == 0) cr_expect_not(c.env[i].secret_like);
    }
    cr_expect(found);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
}

Test(rt_oci, fixture_podman_privileged)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_file("runtimes/podman/priv/userdata/config.json", false, &c, err), 0, "%s",
                 err);
    cr_expect(c.privileged);
    cr_expect(c.readonly_rootfs);
    cr_expect_str_eq(c.seccomp_profile, "unconfined");
    cr_expect_eq(c.pids_limit, 2048);
    cr_expect_str_eq(c.user, "0:0");
    cr_expect_eq(c.cap_bounding.n, 40u);
    cm_container_inv_free(&c);
}

Test(rt_oci, fixture_runc_app)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_file("runtimes/runc/app/config.json", false, &c, err), 0, "%s", err);
    cr_expect_str_eq(c.user, "1000:1000");
    cr_expect_not(c.privileged);
    cr_expect(cm_strv_contains(&c.cap_bounding, "SYS_ADMIN"));
    cr_expect_str_eq(c.seccomp_profile, "unconfined");
    cr_expect(find_mount(&c, "/host/etc")->read_only);
    cr_expect_eq(c.memory_limit_bytes, 67108864u);
    cr_expect_eq(c.pids_limit, 64);
    cr_expect_eq(c.host_namespaces, (uint32_t)CM_NS_CGROUP);
    cr_expect(c.no_new_privileges);
    expect_wire_ok(&c);
    cm_container_inv_free(&c);
}

Test(rt_oci, fixture_runc_privileged_by_heuristic)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_file("runtimes/runc/priv/config.json", false, &c, err), 0, "%s", err);
    cr_expect_eq(c.n_labels, 0u, "no podman annotation to lean on");
    cr_expect_eq(c.cap_bounding.n, 40u);
    cr_expect(c.privileged, "40 capabilities with SYS_ADMIN and no seccomp");
    cr_expect_str_eq(c.user, "0:0");
    cm_container_inv_free(&c);
}

Test(rt_oci, fixture_runc_host_namespaces)
{
    char err[256];
    struct cm_container_inv c;
    cr_assert_eq(parse_file("runtimes/runc/hostns/config.json", false, &c, err), 0, "%s", err);
    cr_expect_eq(c.host_namespaces, (uint32_t)(CM_NS_NET | CM_NS_IPC | CM_NS_UTS | CM_NS_CGROUP),
                 "joined /proc/1/ns paths and missing types; never USER");
    cr_expect_str_eq(c.seccomp_profile, "unconfined", "a filter that allows everything");
    cr_expect_eq(c.memory_limit_bytes, 0u, "-1 is no limit");
    cr_expect_eq(c.cpu_quota_us, -1);
    cr_expect_eq(c.pids_limit, 0);
    cr_expect_not(c.readonly_rootfs);
    cr_expect(c.known & CM_INV_K_ROOTFS);
    const struct cm_mount *m = find_mount(&c, "/run/runc");
    cr_assert_not_null(m);
    cr_expect_str_eq(m->propagation, "rshared");
    cr_expect_not(m->read_only);
    cm_container_inv_free(&c);
}

/* A config whose bounding set holds the first n of a capability list. */
static char *caps_config(size_t n, bool seccomp)
{
    static const char *const caps[] = {"CAP_SYS_ADMIN",
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
                                       "SYS_BOOT",
                                       "SYS_NICE",
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
                                       "CHECKPOINT_RESTORE"};
    cJSON *doc = cJSON_CreateObject();
    cJSON *proc = cJSON_AddObjectToObject(doc, "process");
    cJSON *cs = cJSON_AddObjectToObject(proc, "capabilities");
    cJSON *b = cJSON_AddArrayToObject(cs, "bounding");
    for (size_t i = 0; i < n && i < sizeof caps / sizeof caps[0]; i++)
        cJSON_AddItemToArray(b, cJSON_CreateString(caps[i]));
    cJSON *lx = cJSON_AddObjectToObject(doc, "linux");
    if (seccomp) cJSON_AddObjectToObject(lx, "seccomp");
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return text;
}

Test(rt_oci, privileged_heuristic_edges)
{
    static const struct {
        size_t n;
        bool seccomp, want;
    } cases[] = {{36, false, false}, {37, false, true}, {40, false, true}, {40, true, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        struct cm_container_inv c;
        char *text = caps_config(cases[i].n, cases[i].seccomp);
        cr_expect_eq(parse_text(text, &c, err), 0, "%s", err);
        cr_expect_eq(c.privileged, cases[i].want, "%zu caps, seccomp %d", cases[i].n,
                     cases[i].seccomp);
        cr_expect_str_eq(c.seccomp_profile, cases[i].seccomp ? "custom" : "unconfined");
        cm_container_inv_free(&c);
        free(text);
    }
}

Test(rt_oci, users)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"process\":{\"user\":{\"uid\":1000,\"gid\":0}}}", "1000"},
        {"{\"process\":{\"user\":{\"uid\":0,\"gid\":0}}}", "0:0"},
        {"{\"process\":{\"user\":{\"uid\":1000,\"gid\":100}}}", "1000:100"},
        {"{\"process\":{}}", "0:0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        struct cm_container_inv c;
        cr_expect_eq(parse_text(cases[i].text, &c, err), 0, "%s", err);
        cr_expect_str_eq(c.user, cases[i].want, "%s", cases[i].text);
        cm_container_inv_free(&c);
    }
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(parse_text("{\"process\":{\"user\":{\"uid\":-1,\"gid\":0}}}", &c, err), CM_EPARSE);
    cr_expect_null(c.user);
    cm_container_inv_free(&c);
    cr_expect_eq(parse_text("{\"process\":{\"user\":{\"uid\":1.5}}}", &c, err), CM_EPARSE);
    cm_container_inv_free(&c);
}

Test(rt_oci, broken_files)
{
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(parse_file("runtimes/oci/truncated.config.json", false, &c, err), CM_EPARSE);
    cr_expect(strstr(err, "ends early") != NULL, "%s", err);
    cm_container_inv_free(&c);
    cr_expect_eq(parse_file("runtimes/oci/array.config.json", false, &c, err), CM_EPARSE);
    cr_expect(strstr(err, "not a JSON object") != NULL, "%s", err);
    cm_container_inv_free(&c);
    cr_expect_eq(parse_file("runtimes/oci/badtype.config.json", false, &c, err), CM_EPARSE);
    cr_expect(strstr(err, "process.user.uid") != NULL, "%s", err);
    cr_expect(c.n_env > 0, "the rest is still read");
    cm_container_inv_free(&c);
    cr_expect_eq(parse_text("{\"mounts\":[{\"source\":\"/x\"}]}", &c, err), CM_EPARSE);
    cr_expect(strstr(err, "destination") != NULL, "%s", err);
    cm_container_inv_free(&c);
    cr_expect_eq(parse_text("", &c, err), CM_EPARSE);
    cm_container_inv_free(&c);
    memset(&c, 0, sizeof c);
    cr_expect_eq(ag_rt_oci_parse(NULL, 0, &c, NULL, 0), CM_EPARSE);
    cm_container_inv_free(&c);
}

Test(rt_oci, too_many_mounts)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *ms = cJSON_AddArrayToObject(doc, "mounts");
    for (unsigned i = 0; i <= CM_INV_LIST_MAX; i++) {
        char dst[32];
        snprintf(dst, sizeof dst, "/m%u", i);
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "destination", dst);
        cJSON_AddItemToArray(ms, m);
    }
    cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, "process"), "user");
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    char err[256];
    struct cm_container_inv c;
    cr_expect_eq(parse_text(text, &c, err), CM_ETOOBIG);
    cr_expect(strstr(err, "mounts") != NULL, "%s", err);
    cr_expect_eq(c.n_mounts, (size_t)CM_INV_LIST_MAX);
    cr_expect_str_eq(c.user, "0:0");
    cm_container_inv_free(&c);
    free(text);
}
