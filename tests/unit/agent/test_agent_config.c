/* test_agent_config.c - the agent's option table: defaults, file, flags,
 * errors that name the key, and --help. */
#include "agent/config.h"
#include "common/err.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_A "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

static char *dir;

static void setup(void)
{
    dir = tu_mkdtemp();
    cr_assert_not_null(dir);
}

static void teardown(void)
{
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(agent_config, .init = setup, .fini = teardown, .timeout = 10);

/* Loads argv (NULL-terminated, program name first); returns the rc. */
static int load(struct ag_config *cfg, char *err, const char **args)
{
    int argc = 0;
    while (args[argc])
        argc++;
    bool help = false;
    return ag_config_load(cfg, argc, (char **)args, &help, err, CM_CONFIG_ERRLEN);
}

Test(agent_config, defaults)
{
    struct ag_config cfg;
    char err[CM_CONFIG_ERRLEN] = "";
    const char *args[] = {"boxwatch-agent", NULL};
    cr_assert_eq(load(&cfg, err, args), 0, "%s", err);
    cr_assert_str_eq(cfg.collector, "tcp://127.0.0.1:7070");
    cr_assert_null(cfg.collector_public_key);
    cr_assert_str_eq(cfg.key_file, "/etc/boxwatch/agent.key");
    cr_assert_str_eq(cfg.host_root, "/");
    cr_assert_str_eq(cfg.cgroup_root, "");
    cr_assert_eq(cfg.container_patterns.n, 0);
    cr_assert_eq(cfg.interval_ms, 10000);
    cr_assert_eq(cfg.heartbeat_interval_ms, 30000);
    cr_assert_str_eq(cfg.state_dir, "/var/lib/boxwatch-agent");
    cr_assert_eq(cfg.max_samples_per_envelope, 1000);
    cr_assert_str_eq(cfg.log_level, "info");
    cr_assert(!cfg.once);
    cr_assert(!cfg.print);
    cr_assert_eq(cfg.spool_max_bytes, 256LL << 20);
    cr_assert_eq(cfg.spool_segment_bytes, 0);
    cr_assert_str_eq(cfg.spool_fsync, "always");
    cr_assert_eq(cfg.window, 64);
    cr_assert_eq(cfg.ack_timeout_ms, 10000);
    ag_config_free(&cfg);
}

Test(agent_config, delivery_keys_from_file_and_flags)
{
    cr_assert_eq(tu_write_file(dir, "agent.json",
                               "{\"spool_max_bytes\": 65536, \"spool_segment_bytes\": 16384,\n"
                               " \"spool_fsync\": \"interval\", \"window\": 8,\n"
                               " \"ack_timeout_ms\": \"250ms\"}\n"),
                 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/agent.json", dir);
    struct ag_config cfg;
    char err[CM_CONFIG_ERRLEN] = "";
    const char *args[] = {"x", "--config", path, "--window", "2", NULL};
    cr_assert_eq(load(&cfg, err, args), 0, "%s", err);
    cr_assert_eq(cfg.spool_max_bytes, 65536, "as low as 64 KiB for tests");
    cr_assert_eq(cfg.spool_segment_bytes, 16384);
    cr_assert_str_eq(cfg.spool_fsync, "interval");
    cr_assert_eq(cfg.window, 2, "the flag overrides the file");
    cr_assert_eq(cfg.ack_timeout_ms, 250);
    ag_config_free(&cfg);
}

Test(agent_config, file_then_flags)
{
    cr_assert_eq(
        tu_write_file(dir, "agent.json",
                      "{\"collector\": \"tcp://10.0.0.5:7070\",\n"
                      " \"collector_public_key\": \"" KEY_A "\",\n"
                      " \"key_file\": \"/etc/bw/web-01.key\",\n"
                      " \"host_root\": \"/host\",\n"
                      " \"container_patterns\": [\"^/ci/([a-z0-9]+)$\", \"podman=^/p/(.*)$\"],\n"
                      " \"interval_ms\": \"2s\", \"heartbeat_interval_ms\": 5,\n"
                      " \"max_samples_per_envelope\": 250, \"log_level\": \"debug\"}\n"),
        0);
    char path[4096];
    snprintf(path, sizeof path, "%s/agent.json", dir);
    struct ag_config cfg;
    char err[CM_CONFIG_ERRLEN] = "";
    const char *args[] = {"boxwatch-agent", "--config", path,      "--interval-ms",
                          "500ms",          "--once",   "--print", NULL};
    cr_assert_eq(load(&cfg, err, args), 0, "%s", err);
    cr_assert_str_eq(cfg.collector, "tcp://10.0.0.5:7070");
    cr_assert_str_eq(cfg.collector_public_key, KEY_A);
    cr_assert_str_eq(cfg.key_file, "/etc/bw/web-01.key");
    cr_assert_str_eq(cfg.host_root, "/host");
    cr_assert_eq(cfg.container_patterns.n, 2);
    cr_assert_str_eq(cfg.container_patterns.items[1], "podman=^/p/(.*)$");
    cr_assert_eq(cfg.interval_ms, 500, "the flag overrides the file");
    cr_assert_eq(cfg.heartbeat_interval_ms, 5000, "a bare number is seconds");
    cr_assert_eq(cfg.max_samples_per_envelope, 250);
    cr_assert_str_eq(cfg.log_level, "debug");
    cr_assert(cfg.once && cfg.print);
    cr_assert_eq(ag_config_check_run(&cfg, err, sizeof err), 0, "%s", err);
    ag_config_free(&cfg);
}

/* Each bad input must fail and name its key. */
static void expect_bad(const char **args, const char *key)
{
    struct ag_config cfg;
    char err[CM_CONFIG_ERRLEN] = "";
    cr_assert_eq(load(&cfg, err, args), CM_ECONFIG, "accepted: %s", args[1]);
    cr_assert(strstr(err, key) != NULL, "error '%s' does not name '%s'", err, key);
    ag_config_free(&cfg);
}

Test(agent_config, bad_values_name_the_key)
{
    const char *a1[] = {"x", "--interval-ms", "50ms", NULL};
    expect_bad(a1, "interval_ms");
    const char *a2[] = {"x", "--collector-public-key", "not-a-key", NULL};
    expect_bad(a2, "collector_public_key");
    const char *a3[] = {"x", "--max-samples-per-envelope", "0", NULL};
    expect_bad(a3, "max_samples_per_envelope");
    const char *a4[] = {"x", "--max-samples-per-envelope", "100000", NULL};
    expect_bad(a4, "max_samples_per_envelope");
    const char *a5[] = {"x", "--log-level", "loud", NULL};
    expect_bad(a5, "log_level");
    const char *a6[] = {"x", "--collector", "10.0.0.5", NULL};
    expect_bad(a6, "collector");
    const char *a7[] = {"x", "--no-such-option", "1", NULL};
    expect_bad(a7, "no-such-option");
    const char *a8[] = {"x", "stray", NULL};
    expect_bad(a8, "stray");
    const char *a9[] = {"x", "--spool-max-bytes", "1000", NULL};
    expect_bad(a9, "spool_max_bytes");
    const char *a10[] = {"x", "--spool-fsync", "sometimes", NULL};
    expect_bad(a10, "spool_fsync");
    const char *a11[] = {"x", "--window", "0", NULL};
    expect_bad(a11, "window");
    const char *a12[] = {"x", "--ack-timeout-ms", "50ms", NULL};
    expect_bad(a12, "ack_timeout_ms");
    const char *a13[] = {"x", "--spool-max-bytes", "65536", "--spool-segment-bytes", "131072",
                         NULL};
    expect_bad(a13, "spool_segment_bytes");
}

Test(agent_config, inventory_keys)
{
    struct ag_config cfg;
    char err[CM_CONFIG_ERRLEN] = "";
    const char *d[] = {"x", NULL};
    cr_assert_eq(load(&cfg, err, d), 0, "%s", err);
    cr_expect_str_eq(cfg.docker_root, "/var/lib/docker");
    cr_expect_str_eq(cfg.docker_exec_root, "/run/docker");
    cr_expect_str_eq(cfg.containerd_state, "/run/containerd");
    cr_expect_str_eq(cfg.podman_root, "/var/lib/containers/storage");
    cr_expect_str_eq(cfg.runc_root, "/run/runc");
    cr_expect_str_eq(cfg.docker_daemon_config, "/etc/docker/daemon.json");
    cr_assert_eq(cfg.runtime_sockets.n, 4);
    cr_expect_str_eq(cfg.runtime_sockets.items[0], "/var/run/docker.sock");
    cr_expect_str_eq(cfg.runtime_sockets.items[3], "/run/crio/crio.sock");
    cr_expect_eq(cfg.inventory_interval_ms, 10000);
    cr_expect_eq(cfg.inventory_full_interval_ms, 600000);
    ag_config_free(&cfg);
    const char *off[] = {"x",       "--inventory-interval-ms", "0",           "--runtime-sockets",
                         "/a.sock", "--docker-root",           "/srv/docker", NULL};
    cr_assert_eq(load(&cfg, err, off), 0, "%s", err);
    cr_expect_eq(cfg.inventory_interval_ms, 0, "0 turns the inventory off");
    cr_assert_eq(cfg.runtime_sockets.n, 1);
    cr_expect_str_eq(cfg.docker_root, "/srv/docker");
    ag_config_free(&cfg);
    const char *b1[] = {"x", "--inventory-interval-ms", "50ms", NULL};
    expect_bad(b1, "inventory_interval_ms");
    const char *b2[] = {"x", "--inventory-interval-ms", "1m", "--inventory-full-interval-ms", "30s",
                        NULL};
    expect_bad(b2, "inventory_full_interval_ms");
    const char *b3[] = {"x", "--inventory-full-interval-ms", "2d", NULL};
    expect_bad(b3, "inventory_full_interval_ms");
}

Test(agent_config, file_errors_name_the_key)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bad.json", dir);
    const char *args[] = {"x", "--config", path, NULL};
    tu_write_file(dir, "bad.json", "{\"interval_ms\": \"fast\"}");
    expect_bad(args, "interval_ms");
    tu_write_file(dir, "bad.json", "{\"once\": true}"); /* CLI-only */
    expect_bad(args, "once");
    tu_write_file(dir, "bad.json", "{\"colector\": \"tcp://x:1\"}");
    expect_bad(args, "colector");
    tu_write_file(dir, "bad.json", "{\"container_patterns\": \"^/x$\"}");
    expect_bad(args, "container_patterns");
}

Test(agent_config, run_needs_the_collector_key)
{
    struct ag_config cfg;
    char err[CM_CONFIG_ERRLEN] = "";
    const char *args[] = {"x", NULL};
    cr_assert_eq(load(&cfg, err, args), 0, "%s", err);
    cr_assert_eq(ag_config_check_run(&cfg, err, sizeof err), CM_ECONFIG);
    cr_assert(strstr(err, "collector_public_key") != NULL, "%s", err);
    ag_config_free(&cfg);
}

Test(agent_config, help_lists_every_option)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    ag_config_help(f);
    fclose(f);
    int n = 0;
    for (const struct cm_opt *o = ag_config_options; o->key; o++, n++) {
        char flag[128];
        snprintf(flag, sizeof flag, "--%s ", o->key);
        for (char *p = flag; *p; p++)
            if (*p == '_') *p = '-';
        cr_assert(strstr(text, flag) != NULL, "--help lacks %s", flag);
    }
    cr_assert_geq(n, 18, "every option of the brief is in the table");
    cr_assert(strstr(text, "always|interval|never") != NULL, "%s", text);
    cr_assert(strstr(text, "(default: 10000") || strstr(text, "(default: 10s)"),
              "defaults are shown: %s", text);
    cr_assert(strstr(text, "--once --print") != NULL);
    free(text);

    struct ag_config cfg;
    bool help = false;
    char err[CM_CONFIG_ERRLEN] = "";
    const char *args[] = {"x", "--help", NULL};
    cr_assert_eq(ag_config_load(&cfg, 2, (char **)args, &help, err, sizeof err), 0);
    cr_assert(help);
    ag_config_free(&cfg);
}
