/* test_checks_corpus.c - the real samples in the shared corpus
 * (container-config/), read by the agent's own parsers (agent/rt.h) and
 * checked by the collector's checks, against the expected results listed
 * at the end of cis-docker-checks.md, mapped to our ids by CIS item.
 *
 * Where our result deliberately differs from docker-bench's, the line says
 * so and why. Checks with no CIS item (mutable_image, untrusted_registry,
 * secret_env, ...) are asserted too, from what the samples hold. */
#include "agent/rt.h"
#include "collector/checks_int.h"
#include "common/config.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(checks_corpus, .timeout = 30);

#define P COL_OUT_PASS
#define F COL_OUT_FAIL
#define NA COL_OUT_NA

struct expect {
    const char *id;
    enum col_outcome want;
};

static const char *const out_names[] = {"not evaluated", "pass", "fail"};

static char *read_corpus(const char *rel, size_t *len)
{
    const char *path = tu_corpus_path(rel);
    if (!path) cr_skip_test("corpus absent (BOXWATCH_CORPUS_DIR): %s", rel);
    char *text = tu_read_file(path, len);
    cr_assert_not_null(text, "cannot read %s", path);
    return text;
}

/* Parses a Docker sample (inspect output or create request). */
static void docker_sample(const char *rel, struct cm_container_inv *c)
{
    size_t len;
    char err[256] = "";
    char *text = read_corpus(rel, &len);
    int rc = ag_rt_docker_parse(text, len, NULL, 0, c, err, sizeof err);
    free(text);
    cr_assert_eq(rc, 0, "%s: %s", rel, err);
}

static void daemon_sample(const char *rel, struct cm_host_inv *h)
{
    size_t len;
    char err[256] = "";
    char *text = read_corpus(rel, &len);
    int rc = ag_rt_daemon_parse(text, len, h, err, sizeof err);
    free(text);
    cr_assert_eq(rc, 0, "%s: %s", rel, err);
    h->docker_present = true; /* the agent's finding; the parser reads only the file */
}

static void check_all(const char *what, const struct cm_container_inv *c,
                      const struct cm_host_inv *h, const struct col_check_policy *p,
                      const struct expect *e, size_t n)
{
    char detail[COL_CHECK_DETAIL_MAX];
    for (size_t i = 0; i < n; i++) {
        cr_assert_not_null(col_checks_find(e[i].id), "%s", e[i].id);
        enum col_outcome got = col_checks_eval_one(e[i].id, c, h, p, detail, sizeof detail);
        cr_expect_eq(got, e[i].want, "%s: %s is \"%s\", expected \"%s\" (detail: %s)", what,
                     e[i].id, out_names[got], out_names[e[i].want], detail);
    }
}

#define CHECK_ALL(what, c, h, p, e) check_all(what, c, h, p, e, sizeof e / sizeof e[0])

/* The detail of a failed check, for assertions on its text. */
static const char *detail_of(const char *id, const struct cm_container_inv *c)
{
    static char d[COL_CHECK_DETAIL_MAX];
    d[0] = '\0';
    col_checks_eval_one(id, c, NULL, NULL, d, sizeof d);
    return d;
}

Test(checks_corpus, inspect_api_v1_24_doc_example)
{
    struct cm_container_inv c = {0};
    docker_sample("container-config/docker/inspect.api-v1.24-doc-example.json", &c);
    const struct expect e[] = {
        {"container.config_unreadable", P},
        /* WARN in docker-bench */
        {"container.root_user", F},         /* 4.1: User "" */
        {"container.no_mac_profile", F},    /* 5.2 AppArmorProfile "", 5.3 SecurityOpt null */
        {"container.no_new_privileges", F}, /* 5.26: SecurityOpt null, no daemon default */
        {"container.no_memory_limit", F},   /* 5.11: Memory 0 */
        {"container.no_cpu_limit", F},      /* 5.12: CpuShares 0, no NanoCpus, no CpuQuota */
        {"container.writable_rootfs", F},   /* 5.13 */
        {"container.no_healthcheck", F},    /* 5.27: no State.Health */
        {"container.no_pids_limit", F},     /* 5.29: PidsLimit missing */
        /* PASS in docker-bench */
        {"container.dangerous_caps", P},     /* 5.4 */
        {"container.privileged", P},         /* 5.5 */
        {"container.sensitive_mount", P},    /* 5.6: /data is read-only (and not sensitive) */
        {"container.host_network", P},       /* 5.10 */
        {"container.restart_unbounded", P},  /* 5.15: on-failure with a count of 2 */
        {"container.host_pid", P},           /* 5.16 */
        {"container.host_ipc", P},           /* 5.17 */
        {"container.host_uts", P},           /* 5.21 */
        {"container.seccomp_unconfined", P}, /* 5.22 */
        {"container.host_userns", P},        /* 5.31 */
        {"container.runtime_socket", P},     /* 5.32 */
        /* ours, no docker-bench counterpart */
        {"container.privileged_port_all_interfaces", P}, /* nothing published */
        {"container.mutable_image", F},                  /* "ubuntu": implicit :latest */
        {"container.secret_env", P},                     /* PATH only */
        {"container.sshd", NA},               /* processes and sockets are not in inspect output */
        {"container.untrusted_registry", NA}, /* no policy */
    };
    CHECK_ALL("inspect v1.24", &c, NULL, NULL, e);
    cr_expect(strstr(detail_of("container.mutable_image", &c), "implicit :latest"));

    /* With a registry policy, "ubuntu" is docker.io/library/ubuntu. */
    char *lib[] = {"docker.io/library"}, *ghcr[] = {"ghcr.io"};
    struct cm_strlist l1 = {lib, 1}, l2 = {ghcr, 1};
    struct col_check_policy p1 = {&l1}, p2 = {&l2};
    const struct expect allowed[] = {{"container.untrusted_registry", P}};
    const struct expect denied[] = {{"container.untrusted_registry", F}};
    CHECK_ALL("inspect v1.24, docker.io/library allowed", &c, NULL, &p1, allowed);
    CHECK_ALL("inspect v1.24, only ghcr.io allowed", &c, NULL, &p2, denied);
    cm_container_inv_free(&c);
}

Test(checks_corpus, create_request_container_config_1_24)
{
    struct cm_container_inv c = {0};
    docker_sample("container-config/docker/create-request.container_config_1_24.json", &c);
    const struct expect e[] = {
        /* WARN in docker-bench */
        {"container.root_user", F},         /* 4.1: User "" */
        {"container.no_mac_profile", F},    /* 5.3: SecurityOpt null, and no AppArmor profile */
        {"container.dangerous_caps", F},    /* 5.4: CapAdd NET_ADMIN */
        {"container.writable_rootfs", F},   /* 5.13 */
        {"container.no_new_privileges", F}, /* 5.26 */
        {"container.no_pids_limit", F},     /* 5.29: PidsLimit 0 */
        /* 5.14 is WARN there (an empty HostIp is all interfaces), 5.8 PASS
         * (host port 11022). Our check joins the two: a port is a finding
         * only when it is privileged AND on all interfaces, so 11022 on
         * all interfaces passes. 5.9 (any published port) has no check. */
        {"container.privileged_port_all_interfaces", P},
        /* PASS in docker-bench */
        {"container.no_memory_limit", P}, /* 5.11: Memory 4194304 */
        {"container.no_cpu_limit", P},    /* 5.12: CpuShares 512 */
        {"container.sensitive_mount", P}, /* 5.6: /tmp is not in the list */
        {"container.privileged", P},
        {"container.runtime_socket", P},
        {"container.host_network", P},
        {"container.seccomp_unconfined", P},
        {"container.restart_unbounded", P}, /* "no" */
        /* A create request is not merged with the image yet: the image may
         * bring a HEALTHCHECK, so this is not known. */
        {"container.no_healthcheck", NA},
        {"container.mutable_image", F}, /* "ubuntu" */
        /* Port 22 is exposed and published, but whether sshd listens is
         * only known from the running container. */
        {"container.sshd", NA},
    };
    CHECK_ALL("create request 1.24", &c, NULL, NULL, e);
    cr_expect(strstr(detail_of("container.dangerous_caps", &c), "NET_ADMIN (dangerous)"), "%s",
              detail_of("container.dangerous_caps", &c));
    cm_container_inv_free(&c);
}

Test(checks_corpus, inspect_swagger_v1_56_composed)
{
    struct cm_container_inv c = {0};
    docker_sample("container-config/docker/inspect.swagger-v1.56-composed.json", &c);
    const struct expect e[] = {
        /* WARN in docker-bench */
        {"container.no_mac_profile", F},                 /* 5.2, 5.3 */
        {"container.privileged_port_all_interfaces", F}, /* 5.8 (80, 53), 5.14 (0.0.0.0) */
        {"container.no_memory_limit", F},                /* 5.11 */
        {"container.no_cpu_limit", F},                   /* 5.12 */
        {"container.writable_rootfs", F},                /* 5.13 */
        {"container.no_new_privileges", F},              /* 5.26 */
        {"container.no_pids_limit", F},                  /* 5.29 */
        /* PASS in docker-bench */
        {"container.root_user", P},      /* 4.1: User 123:456 */
        {"container.no_healthcheck", P}, /* 5.27: State.Health present */
        /* Not in the expected list; from the sample. The one mount is the
         * named volume "myvolume" under /var/lib/docker/volumes: a volume,
         * not a host exposure (5.6 passes it too: it is not in its list). */
        {"container.sensitive_mount", P},
        {"container.runtime_socket", P},
        {"container.dangerous_caps", P}, /* CapAdd [] */
        {"container.privileged", P},
        {"container.seccomp_unconfined", P}, /* SecurityOpt [] */
        {"container.restart_unbounded", P},  /* no policy */
        {"container.mutable_image", F},      /* "example-image:1.0" */
        {"container.host_network", P},
        {"container.host_pid", P},
        {"container.host_ipc", P},
        {"container.host_uts", P},
        {"container.host_userns", P},
    };
    CHECK_ALL("inspect swagger 1.56", &c, NULL, NULL, e);
    const char *d = detail_of("container.privileged_port_all_interfaces", &c);
    cr_expect(strstr(d, "0.0.0.0:80->80/tcp"), "%s", d);
    cr_expect(strstr(d, "0.0.0.0:80->80/udp"), "%s", d);
    cr_expect(strstr(d, "0.0.0.0:53->53/udp"), "%s", d);
    cr_expect(!strstr(d, "8080") && !strstr(d, "4443"), "unprivileged or bound ports: %s", d);
    cm_container_inv_free(&c);
}

Test(checks_corpus, daemon_full_linux_example)
{
    struct cm_host_inv h = {0};
    daemon_sample("container-config/daemon/daemon.full-linux-example.json", &h);
    const struct expect e[] = {
        {"host.daemon_config_invalid", P},
        {"host.icc_enabled", P},                   /* 2.2: icc false */
        {"host.insecure_registries", P},           /* 2.5: [] */
        {"host.live_restore_off", P},              /* 2.15: live-restore true */
        {"host.userns_remap_off", F},              /* 2.9: userns-remap "" */
        {"host.no_new_privileges_default_off", F}, /* 2.14: false */
        {"host.tcp_without_tls", P},               /* 2.7 is INFO there: no tcp:// host */
        {"host.runtime_socket_permissions", NA},   /* no sockets looked at */
    };
    CHECK_ALL("daemon full example", NULL, &h, NULL, e);

    /* A Docker container on that host: the daemon default is false, so
     * the container's own flag decides (5.26 fails both ways here). */
    struct cm_container_inv c = {0};
    docker_sample("container-config/docker/inspect.swagger-v1.56-composed.json", &c);
    const struct expect nnp[] = {{"container.no_new_privileges", F}};
    CHECK_ALL("container on the example host", &c, &h, NULL, nnp);
    cm_container_inv_free(&c);
    cm_host_inv_free(&h);
}

Test(checks_corpus, daemon_moby_dev_runtimes_defaults)
{
    struct cm_host_inv h = {0};
    daemon_sample("container-config/daemon/daemon.moby-dev-runtimes.json", &h);
    /* Only "runtimes": every setting is left at the daemon's default. */
    const struct expect e[] = {
        {"host.daemon_config_invalid", P},
        {"host.icc_enabled", F},
        {"host.userns_remap_off", F},
        {"host.live_restore_off", F},
        {"host.no_new_privileges_default_off", F},
        {"host.tcp_without_tls", P},
        {"host.insecure_registries", P},
    };
    CHECK_ALL("daemon moby dev", NULL, &h, NULL, e);
    cm_host_inv_free(&h);
}

Test(checks_corpus, truncated_files_give_one_clear_finding)
{
    size_t len;
    char err[256] = "";
    char *text = read_corpus("container-config/daemon/daemon.full-linux-example.json", &len);
    struct cm_host_inv h = {0};
    cr_expect_neq(ag_rt_daemon_parse(text, len / 2, &h, err, sizeof err), 0);
    free(text);
    h.docker_present = true;
    cr_assert_not_null(h.daemon_config_error, "the parser records why");
    struct col_check_result out[16];
    size_t n = col_checks_eval_host(&h, NULL, out, 16);
    cr_assert_eq(n, 1);
    cr_expect_str_eq(out[0].check->id, "host.daemon_config_invalid");
    cm_host_inv_free(&h);

    /* The agent records a container config it cannot parse as c->error. */
    text = read_corpus("container-config/docker/inspect.api-v1.24-doc-example.json", &len);
    struct cm_container_inv c = {0};
    cr_expect_neq(ag_rt_docker_parse(text, len / 2, NULL, 0, &c, err, sizeof err), 0);
    free(text);
    c.error = err;
    n = col_checks_eval_container(&c, NULL, NULL, out, 16);
    cr_assert_eq(n, 1);
    cr_expect_str_eq(out[0].check->id, "container.config_unreadable");
    cr_expect_str_eq(out[0].detail, err);
    c.error = NULL;
    cm_container_inv_free(&c);
}

/* OCI bundles: not in the docker-bench list (it reads only Docker); what
 * the checks say of runc's own default and rootless specs. */
Test(checks_corpus, oci_runc_default_and_rootless)
{
    const char *files[] = {"container-config/oci/runc-1.1.5-spec-default.config.json",
                           "container-config/oci/runc-1.1.5-spec-rootless.config.json"};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        char err[256] = "";
        char *text = read_corpus(files[i], &len);
        struct cm_container_inv c = {0};
        int rc = ag_rt_oci_parse(text, len, &c, err, sizeof err);
        free(text);
        cr_assert_eq(rc, 0, "%s: %s", files[i], err);
        c.runtime = CM_RT_CUSTOM;
        const struct expect e[] = {
            {"container.root_user", F}, /* uid 0 */
            {"container.privileged", P},
            {"container.dangerous_caps", P},  /* AUDIT_WRITE KILL NET_BIND_SERVICE */
            {"container.writable_rootfs", P}, /* root.readonly */
            {"container.no_new_privileges", P},
            {"container.seccomp_unconfined", F}, /* runc spec writes no seccomp section */
            {"container.host_pid", P},
            {"container.sensitive_mount", P}, /* proc, tmpfs, sysfs ...: not host paths */
            {"container.runtime_socket", P},
            {"container.restart_unbounded", NA}, /* OCI has no restart policy */
            {"container.no_healthcheck", NA},
            {"container.privileged_port_all_interfaces", NA},
            {"container.mutable_image", NA}, /* a bundle does not name its image */
        };
        CHECK_ALL(files[i], &c, NULL, NULL, e);
        /* The rootless spec has no network namespace: it is the host's. */
        const struct expect net[] = {{"container.host_network", i == 0 ? P : F}};
        CHECK_ALL(files[i], &c, NULL, NULL, net);
        cm_container_inv_free(&c);
    }
}
