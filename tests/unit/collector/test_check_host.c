/* test_check_host.c - the Docker daemon and runtime socket checks on
 * hand-built host inventory: JSON text values as the agent sends them,
 * absent keys (the daemon's defaults), unparseable values, no Docker. */
#include "collector/checks_int.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(check_host, .timeout = 10);

static struct cm_kv good_settings[] = {
    {"icc", "false"},
    {"userns-remap", "\"default\""},
    {"live-restore", "true"},
    {"no-new-privileges", "true"},
    {"hosts", "[\"unix:///var/run/docker.sock\", \"tcp://0.0.0.0:2376\"]"},
    {"tlsverify", "true"},
    {"insecure-registries", "[]"},
    {"log-driver", "\"journald\""},
};
#define N_GOOD (sizeof good_settings / sizeof good_settings[0])

static struct cm_socket_info good_sockets[] = {
    {"/run/docker.sock", true, 0, 998, 0660, "root", "docker"},
    {"/run/containerd/containerd.sock", true, 0, 0, 0660, "root", "root"},
    {"/run/crio/crio.sock", false, 0, 0, 0, NULL, NULL},
};

static struct cm_kv settings[16];

/* A host that passes every check; settings[] is a copy the test edits. */
static struct cm_host_inv hardened(void)
{
    memcpy(settings, good_settings, sizeof good_settings);
    return (struct cm_host_inv){
        .docker_present = true,
        .daemon_config_path = "/etc/docker/daemon.json",
        .daemon_settings = settings,
        .n_daemon_settings = N_GOOD,
        .runtime_sockets = good_sockets,
        .n_runtime_sockets = 3,
    };
}

static void set(struct cm_host_inv *h, const char *key, const char *value)
{
    for (size_t i = 0; i < h->n_daemon_settings; i++) {
        if (strcmp(settings[i].key, key) == 0) {
            settings[i].value = (char *)value;
            return;
        }
    }
    cr_assert_lt(h->n_daemon_settings, 16);
    settings[h->n_daemon_settings++] = (struct cm_kv){(char *)key, (char *)value};
}

/* Removes key: the daemon's default applies. */
static void unset(struct cm_host_inv *h, const char *key)
{
    for (size_t i = 0; i < h->n_daemon_settings; i++) {
        if (strcmp(settings[i].key, key) == 0) {
            settings[i] = settings[--h->n_daemon_settings];
            return;
        }
    }
}

static char detail[COL_CHECK_DETAIL_MAX];

static enum col_outcome run(const char *id, const struct cm_host_inv *h)
{
    detail[0] = '\0';
    return col_checks_eval_one(id, NULL, h, NULL, detail, sizeof detail);
}

#define PASS(id, h) cr_expect_eq(run(id, h), COL_OUT_PASS, "%s should pass: %s", id, detail)
#define FAIL(id, h) cr_expect_eq(run(id, h), COL_OUT_FAIL, "%s should fail", id)
#define NA(id, h) cr_expect_eq(run(id, h), COL_OUT_NA, "%s should not be evaluated", id)
#define DETAIL_HAS(s) cr_expect(strstr(detail, s) != NULL, "detail \"%s\" lacks \"%s\"", detail, s)

Test(check_host, hardened_host_has_no_findings)
{
    struct cm_host_inv h = hardened();
    struct col_check_result out[16];
    size_t n = col_checks_eval_host(&h, NULL, out, 16);
    for (size_t i = 0; i < n && i < 16; i++)
        cr_log_error("%s: %s", out[i].check->id, out[i].detail);
    cr_assert_eq(n, 0);
}

Test(check_host, empty_daemon_json_fails_the_defaults)
{
    struct cm_host_inv h = hardened();
    h.n_daemon_settings = 0;
    const char *want[] = {"host.icc_enabled", "host.userns_remap_off", "host.live_restore_off",
                          "host.no_new_privileges_default_off"};
    struct col_check_result out[16];
    size_t n = col_checks_eval_host(&h, NULL, out, 16);
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++)
        cr_expect_str_eq(out[i].check->id, want[i]);
    cr_expect_str_eq(out[0].detail, "icc not set (on by default)");
}

Test(check_host, no_docker_only_sockets)
{
    struct cm_host_inv h = hardened();
    h.docker_present = false;
    h.n_daemon_settings = 0;
    h.daemon_config_error = "bad";
    const char *daemon[] = {"host.daemon_config_invalid", "host.icc_enabled",
                            "host.userns_remap_off",      "host.live_restore_off",
                            "host.tcp_without_tls",       "host.no_new_privileges_default_off",
                            "host.insecure_registries"};
    for (size_t i = 0; i < sizeof daemon / sizeof daemon[0]; i++)
        NA(daemon[i], &h);
    /* containerd's or podman's socket matters without Docker too. */
    PASS("host.runtime_socket_permissions", &h);
    cr_expect_eq(col_checks_eval_host(&h, NULL, NULL, 0), 0);
}

Test(check_host, daemon_config_invalid_suspends_the_daemon_checks)
{
    struct cm_host_inv h = hardened();
    h.n_daemon_settings = 0;
    h.daemon_config_error = "invalid JSON at line 3";
    FAIL("host.daemon_config_invalid", &h);
    cr_expect_str_eq(detail, "/etc/docker/daemon.json: invalid JSON at line 3");
    NA("host.icc_enabled", &h);
    NA("host.live_restore_off", &h);
    struct col_check_result out[16];
    cr_assert_eq(col_checks_eval_host(&h, NULL, out, 16), 1);
    h.daemon_config_error = NULL;
    PASS("host.daemon_config_invalid", &h);
}

Test(check_host, icc)
{
    struct cm_host_inv h = hardened();
    set(&h, "icc", "true");
    FAIL("host.icc_enabled", &h);
    set(&h, "icc", " false ");
    PASS("host.icc_enabled", &h);
    set(&h, "icc", "\"false\""); /* a flag passed through as text */
    PASS("host.icc_enabled", &h);
    set(&h, "icc", "0");
    FAIL("host.icc_enabled", &h);
    set(&h, "icc", "fals");
    NA("host.icc_enabled", &h);
    unset(&h, "icc");
    FAIL("host.icc_enabled", &h);
}

Test(check_host, userns_remap)
{
    struct cm_host_inv h = hardened();
    set(&h, "userns-remap", "\"\"");
    FAIL("host.userns_remap_off", &h);
    DETAIL_HAS("empty");
    set(&h, "userns-remap", "\"dockremap:dockremap\"");
    PASS("host.userns_remap_off", &h);
    set(&h, "userns-remap", "true");
    FAIL("host.userns_remap_off", &h);
    unset(&h, "userns-remap");
    FAIL("host.userns_remap_off", &h);
    DETAIL_HAS("not set");
}

Test(check_host, live_restore_and_nnp_default)
{
    struct cm_host_inv h = hardened();
    set(&h, "live-restore", "false");
    FAIL("host.live_restore_off", &h);
    set(&h, "no-new-privileges", "false");
    FAIL("host.no_new_privileges_default_off", &h);
    cr_expect_not(col_host_nnp_default(&h));
    set(&h, "no-new-privileges", "true");
    cr_expect(col_host_nnp_default(&h));
    cr_expect_not(col_host_nnp_default(NULL));
    /* The last value wins: flags are merged over the file. */
    set(&h, "no-new-privileges", "true");
    settings[h.n_daemon_settings++] = (struct cm_kv){"no-new-privileges", "false"};
    FAIL("host.no_new_privileges_default_off", &h);
    unset(&h, "live-restore");
    FAIL("host.live_restore_off", &h);
    DETAIL_HAS("off by default");
}

Test(check_host, tcp_without_tls)
{
    struct cm_host_inv h = hardened();
    set(&h, "tlsverify", "false");
    FAIL("host.tcp_without_tls", &h);
    DETAIL_HAS("tcp://0.0.0.0:2376 without tlsverify");
    cr_expect(strstr(detail, "unix://") == NULL, "%s", detail);
    set(&h, "tls", "true"); /* encrypted, but anyone may connect */
    FAIL("host.tcp_without_tls", &h);
    DETAIL_HAS("with tls but without tlsverify");
    unset(&h, "tlsverify");
    FAIL("host.tcp_without_tls", &h);
    set(&h, "hosts", "\":2375\""); /* a lone -H, no scheme: TCP */
    FAIL("host.tcp_without_tls", &h);
    DETAIL_HAS(":2375");
    set(&h, "hosts", "[\"TCP://10.0.0.1:2375\"]");
    FAIL("host.tcp_without_tls", &h);
    set(&h, "hosts", "[\"unix:///run/docker.sock\", \"fd://\"]");
    PASS("host.tcp_without_tls", &h);
    unset(&h, "hosts");
    PASS("host.tcp_without_tls", &h);
    set(&h, "hosts", "[\"tcp://0.0.0.0:2375\"");
    NA("host.tcp_without_tls", &h);
    set(&h, "hosts", "[\"tcp://0.0.0.0:2375\"]");
    set(&h, "tlsverify", "true");
    PASS("host.tcp_without_tls", &h);
}

Test(check_host, insecure_registries)
{
    struct cm_host_inv h = hardened();
    set(&h, "insecure-registries", "[\"10.0.0.0/8\", \"registry.local:5000\"]");
    FAIL("host.insecure_registries", &h);
    cr_expect_str_eq(detail, "10.0.0.0/8, registry.local:5000");
    set(&h, "insecure-registries", "\"registry.local:5000\"");
    FAIL("host.insecure_registries", &h);
    set(&h, "insecure-registries", "null");
    PASS("host.insecure_registries", &h);
    unset(&h, "insecure-registries");
    PASS("host.insecure_registries", &h);
}

Test(check_host, runtime_socket_permissions)
{
    struct cm_host_inv h = hardened();
    struct cm_socket_info s = {"/run/docker.sock", true, 0, 998, 0660, "root", "docker"};
    h.runtime_sockets = &s;
    h.n_runtime_sockets = 1;
    PASS("host.runtime_socket_permissions", &h);
    s.mode = 0666;
    FAIL("host.runtime_socket_permissions", &h);
    cr_expect_str_eq(detail, "/run/docker.sock: mode 0666 (others have access)");
    s.mode = 0660;
    s.group = "staff";
    s.gid = 50;
    FAIL("host.runtime_socket_permissions", &h);
    DETAIL_HAS("group staff (gid 50)");
    s.group = NULL; /* name unknown, gid 0: root's group */
    s.gid = 0;
    PASS("host.runtime_socket_permissions", &h);
    s.gid = 999;
    FAIL("host.runtime_socket_permissions", &h);
    s.gid = 0;
    s.uid = 1000;
    s.owner = "alice";
    FAIL("host.runtime_socket_permissions", &h);
    DETAIL_HAS("owner alice (uid 1000)");
    s.exists = false;
    PASS("host.runtime_socket_permissions", &h);
    h.n_runtime_sockets = 0;
    NA("host.runtime_socket_permissions", &h);
}
