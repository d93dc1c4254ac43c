/* test_rt_daemon.c - daemon.json into cm_host_inv.daemon_settings
 * (ag_rt_daemon_parse) on the corpus examples and our fixtures, with the
 * values the CIS 2.x expectations depend on; broken files; caps; masking
 * of URL credentials; and dockerd's command line merged over the file
 * (ag_rt_dockerd_flags) in each flag syntax pflag accepts. */
#include "agent/rt.h"
#include "common/err.h"
#include "common/inventory.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(rt_daemon, .timeout = 30);

static const char *setting(const struct cm_host_inv *h, const char *key)
{
    for (size_t i = 0; i < h->n_daemon_settings; i++)
        if (strcmp(h->daemon_settings[i].key, key) == 0) return h->daemon_settings[i].value;
    return NULL;
}

static int parse_file(const char *path, bool corpus, struct cm_host_inv *h, char *err)
{
    size_t n;
    const char *p = corpus ? tu_corpus_path(path) : tu_fixture_path(path);
    if (!p) cr_skip_test("shared corpus not present (BOXWATCH_CORPUS_DIR): %s", path);
    char *text = tu_read_file(p, &n);
    cr_assert_not_null(text, "cannot read %s", p);
    memset(h, 0, sizeof *h);
    int rc = ag_rt_daemon_parse(text, n, h, err, 256);
    free(text);
    return rc;
}

static int parse_text(const char *text, struct cm_host_inv *h, char *err)
{
    memset(h, 0, sizeof *h);
    return ag_rt_daemon_parse(text, strlen(text), h, err, 256);
}

Test(rt_daemon, corpus_full_linux_example)
{
    char err[256];
    struct cm_host_inv h;
    cr_assert_eq(
        parse_file("container-config/daemon/daemon.full-linux-example.json", true, &h, err), 0,
        "%s", err);
    cr_expect_null(h.daemon_config_error);
    cr_expect_str_eq(setting(&h, "icc"), "false");                /* 2.2 pass */
    cr_expect_str_eq(setting(&h, "live-restore"), "true");        /* 2.15 pass */
    cr_expect_str_eq(setting(&h, "userns-remap"), "\"\"");        /* 2.9 warn */
    cr_expect_str_eq(setting(&h, "no-new-privileges"), "false");  /* 2.14 warn */
    cr_expect_str_eq(setting(&h, "iptables"), "false");           /* 2.4 warn */
    cr_expect_str_eq(setting(&h, "authorization-plugins"), "[]"); /* 2.12 warn */
    cr_expect_str_eq(setting(&h, "log-driver"), "\"json-file\""); /* 2.13 warn */
    cr_expect_str_eq(setting(&h, "userland-proxy"), "false");     /* 2.16 pass */
    cr_expect_str_eq(setting(&h, "hosts"), "[]");                 /* 2.7 info */
    cr_expect_str_eq(setting(&h, "insecure-registries"), "[]");   /* 2.5 pass */
    cr_expect_str_eq(setting(&h, "tlsverify"), "true");
    cr_expect_str_eq(setting(&h, "log-level"), "\"\"");
    cr_expect_str_eq(setting(&h, "max-concurrent-downloads"), "3");
    /* Every top-level key is kept, each value valid JSON. */
    size_t n;
    char *text =
        tu_read_file(tu_corpus_path("container-config/daemon/daemon.full-linux-example.json"), &n);
    cJSON *doc = cJSON_Parse(text);
    cr_expect_eq(h.n_daemon_settings, (size_t)cJSON_GetArraySize(doc));
    for (size_t i = 0; i < h.n_daemon_settings; i++) {
        cJSON *v = cJSON_Parse(h.daemon_settings[i].value);
        cr_expect_not_null(v, "%s: %s", h.daemon_settings[i].key, h.daemon_settings[i].value);
        cJSON_Delete(v);
    }
    cJSON_Delete(doc);
    free(text);
    cm_host_inv_free(&h);
}

Test(rt_daemon, corpus_moby_dev_runtimes)
{
    char err[256];
    struct cm_host_inv h;
    cr_assert_eq(parse_file("container-config/daemon/daemon.moby-dev-runtimes.json", true, &h, err),
                 0, "%s", err);
    cr_assert_eq(h.n_daemon_settings, 1u, "defaults apply to everything else");
    cJSON *rt = cJSON_Parse(setting(&h, "runtimes"));
    cr_assert_not_null(rt);
    cJSON *path = cJSON_GetObjectItem(cJSON_GetObjectItem(rt, "crun"), "path");
    cr_expect_str_eq(cJSON_GetStringValue(path), "/usr/local/bin/crun");
    cJSON_Delete(rt);
    cm_host_inv_free(&h);
}

Test(rt_daemon, fixture_hardened_masks_credentials)
{
    char err[256];
    struct cm_host_inv h;
    cr_assert_eq(parse_file("runtimes/daemon/hardened.json", false, &h, err), 0, "%s", err);
    cr_expect_str_eq(setting(&h, "hosts"),
                     "[\"unix:///var/run/docker.sock\",\"tcp://10.0.0.5:2376\"]");
    cr_expect_str_eq(setting(&h, "userns-remap"), "\"default\"");
    cr_expect_str_eq(setting(&h, "authorization-plugins"), "[\"authz-broker\"]");
    const char *proxies = setting(&h, "proxies");
    cr_assert_not_null(proxies);
    cr_expect_null(strstr(proxies, "Pr0xyPass"), "%s", proxies);
    cr_expect_null(strstr(proxies, "svc-docker"), "%s", proxies);
    cr_expect(strstr(proxies, "http://xxxxx:xxxxx@proxy.example.com:3128") != NULL, "%s", proxies);
    cr_expect(strstr(proxies, "localhost,127.0.0.1") != NULL, "%s", proxies);
    const char *mirrors = setting(&h, "registry-mirrors");
    cr_expect_str_eq(mirrors, "[\"https://xxxxx:xxxxx@mirror.example.com/v2/\"]");
    cm_host_inv_free(&h);
}

Test(rt_daemon, fixture_tcp_duplicates_bom_empty)
{
    char err[256];
    struct cm_host_inv h;
    cr_assert_eq(parse_file("runtimes/daemon/tcp-no-tls.json", false, &h, err), 0, "%s", err);
    cr_expect_str_eq(setting(&h, "hosts"),
                     "[\"tcp://0.0.0.0:2375\",\"unix:///var/run/docker.sock\"]");
    cr_expect_str_eq(setting(&h, "icc"), "false", "the last duplicate wins, as in Go");
    cr_expect_str_eq(setting(&h, "insecure-registries"),
                     "[\"registry.local:5000\",\"10.0.0.0/8\"]");
    cr_expect_null(setting(&h, "tlsverify"));
    cr_expect_eq(h.n_daemon_settings, 5u);
    cm_host_inv_free(&h);
    cr_assert_eq(parse_file("runtimes/daemon/bom.json", false, &h, err), 0, "%s", err);
    cr_expect_str_eq(setting(&h, "icc"), "false");
    cm_host_inv_free(&h);
    cr_assert_eq(parse_file("runtimes/daemon/empty.json", false, &h, err), 0, "%s", err);
    cr_expect_eq(h.n_daemon_settings, 0u, "dockerd reads white space as no settings");
    cr_expect_null(h.daemon_config_error);
    cm_host_inv_free(&h);
}

Test(rt_daemon, fixture_broken_files)
{
    static const struct {
        const char *file, *reason;
    } cases[] = {
        {"runtimes/daemon/invalid.json", "line 4"},
        {"runtimes/daemon/not-utf8.json", "UTF-8 at byte 21"},
        {"runtimes/daemon/array.json", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256];
        struct cm_host_inv h;
        cr_expect_eq(parse_file(cases[i].file, false, &h, err), CM_EPARSE, "%s", cases[i].file);
        cr_assert_not_null(h.daemon_config_error, "%s", cases[i].file);
        cr_expect(strstr(h.daemon_config_error, cases[i].reason) != NULL, "%s: %s", cases[i].file,
                  h.daemon_config_error);
        cr_expect_str_eq(err, h.daemon_config_error);
        cr_expect_eq(h.n_daemon_settings, 0u);
        cm_host_inv_free(&h);
    }
    struct cm_host_inv h = {0};
    cr_expect_eq(ag_rt_daemon_parse("{", 1, &h, NULL, 0), CM_EPARSE, "NULL err is allowed");
    cr_expect_not_null(h.daemon_config_error);
    cm_host_inv_free(&h);
}

Test(rt_daemon, values_are_capped_as_valid_json)
{
    size_t cap = 256 * 1024;
    char *text = malloc(cap);
    size_t n = (size_t)snprintf(text, cap, "{\"hosts\":[");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"tcp://10.0.%d.%d:2376/some/long/path/here\"",
                              i ? "," : "", i / 250, i % 250);
    n += (size_t)snprintf(text + n, cap - n, "],\"big\":\"");
    for (int i = 0; i < 5000; i++)
        text[n++] = 'x';
    snprintf(text + n, cap - n, "\",\"icc\":false}");
    char err[256];
    struct cm_host_inv h;
    cr_assert_eq(parse_text(text, &h, err), 0, "%s", err);
    const char *hosts = setting(&h, "hosts");
    cr_assert_not_null(hosts);
    cr_expect_leq(strlen(hosts), (size_t)CM_INV_STR_MAX);
    cJSON *arr = cJSON_Parse(hosts);
    cr_assert(cJSON_IsArray(arr), "still a JSON array: %.60s...", hosts);
    cr_expect_gt(cJSON_GetArraySize(arr), 50, "the leading entries are kept");
    cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(arr, 0)),
                     "tcp://10.0.0.0:2376/some/long/path/here");
    cJSON_Delete(arr);
    cr_expect_null(setting(&h, "big"), "a scalar too long to keep is left out");
    cr_expect_str_eq(setting(&h, "icc"), "false");
    cm_host_inv_free(&h);
    free(text);
}

Test(rt_daemon, too_many_keys)
{
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    size_t n = (size_t)snprintf(text, cap, "{");
    for (unsigned i = 0; i <= CM_INV_LIST_MAX; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"k%u\":1", i ? "," : "", i);
    snprintf(text + n, cap - n, "}");
    char err[256];
    struct cm_host_inv h;
    cr_expect_eq(parse_text(text, &h, err), CM_ETOOBIG);
    cr_expect(strstr(err, "keys") != NULL, "%s", err);
    cr_expect_not_null(h.daemon_config_error);
    cm_host_inv_free(&h);
    free(text);
}

Test(rt_daemon, dockerd_flags_each_syntax)
{
    char *argv[] = {"--data-root",
                    "/var/lib/docker",
                    "-H",
                    "fd://",
                    "--host=tcp://0.0.0.0:2375",
                    "-Hunix:///run/a.sock",
                    "-H=unix:///run/b.sock",
                    "--icc=false",
                    "--tlsverify",
                    "--tls=false",
                    "--live-restore",
                    "--no-new-privileges=true",
                    "--insecure-registry",
                    "r1:5000",
                    "--insecure-registry=r2:5000",
                    "--authorization-plugin=authz",
                    "--log-driver",
                    "journald",
                    "-l",
                    "debug",
                    "--iptables=false",
                    "--userland-proxy=false",
                    "--seccomp-profile",
                    "/etc/docker/seccomp.json",
                    "--userns-remap=default",
                    "--config-file",
                    "/etc/docker/daemon.json",
                    "--cgroup-parent",
                    "/docker-parent",
                    NULL,
                    "--debug"};
    struct cm_host_inv h = {0};
    cr_assert_eq(ag_rt_dockerd_flags(argv, sizeof argv / sizeof argv[0], &h), 0);
    cr_expect_str_eq(
        setting(&h, "hosts"),
        "[\"fd://\",\"tcp://0.0.0.0:2375\",\"unix:///run/a.sock\",\"unix:///run/b.sock\"]");
    cr_expect_str_eq(setting(&h, "icc"), "false");
    cr_expect_str_eq(setting(&h, "tlsverify"), "true");
    cr_expect_str_eq(setting(&h, "tls"), "false");
    cr_expect_str_eq(setting(&h, "live-restore"), "true");
    cr_expect_str_eq(setting(&h, "no-new-privileges"), "true");
    cr_expect_str_eq(setting(&h, "insecure-registries"), "[\"r1:5000\",\"r2:5000\"]");
    cr_expect_str_eq(setting(&h, "authorization-plugins"), "[\"authz\"]");
    cr_expect_str_eq(setting(&h, "log-driver"), "\"journald\"");
    cr_expect_str_eq(setting(&h, "log-level"), "\"debug\"");
    cr_expect_str_eq(setting(&h, "iptables"), "false");
    cr_expect_str_eq(setting(&h, "userland-proxy"), "false");
    cr_expect_str_eq(setting(&h, "seccomp-profile"), "\"/etc/docker/seccomp.json\"");
    cr_expect_str_eq(setting(&h, "userns-remap"), "\"default\"");
    cr_expect_str_eq(setting(&h, "cgroup-parent"), "\"/docker-parent\"");
    cr_expect_null(setting(&h, "config-file"));
    cr_expect_null(setting(&h, "data-root"), "unknown flags are ignored");
    cr_expect_eq(h.n_daemon_settings, 15u);
    cm_host_inv_free(&h);
}

Test(rt_daemon, flags_merge_over_the_file)
{
    char err[256];
    struct cm_host_inv h;
    cr_assert_eq(parse_text("{\"icc\":true,\"hosts\":[\"unix:///var/run/docker.sock\"],"
                            "\"live-restore\":true}",
                            &h, err),
                 0, "%s", err);
    char *argv[] = {"-H", "tcp://0.0.0.0:2375", "--icc", "false", "--", "--live-restore=false"};
    cr_assert_eq(ag_rt_dockerd_flags(argv, sizeof argv / sizeof argv[0], &h), 0);
    cr_expect_str_eq(setting(&h, "hosts"), "[\"tcp://0.0.0.0:2375\"]", "the flag replaces the key");
    cr_expect_str_eq(setting(&h, "icc"), "true",
                     "pflag takes no value after a boolean: \"--icc false\" is --icc");
    cr_expect_str_eq(setting(&h, "live-restore"), "true", "nothing after \"--\" is a flag");
    cr_expect_eq(h.n_daemon_settings, 3u);
    cm_host_inv_free(&h);
}

Test(rt_daemon, odd_command_lines)
{
    struct cm_host_inv h = {0};
    cr_expect_eq(ag_rt_dockerd_flags(NULL, 0, &h), 0);
    char *argv[] = {"-", "--", "-H"};
    cr_expect_eq(ag_rt_dockerd_flags(argv, 1, &h), 0);
    cr_expect_eq(ag_rt_dockerd_flags(argv + 2, 1, &h), 0, "a flag missing its value");
    cr_expect_eq(h.n_daemon_settings, 0u);
    char *bad[] = {"--log-driver=\xff\xfe", "--icc=maybe"};
    cr_expect_eq(ag_rt_dockerd_flags(bad, 2, &h), 0);
    cr_expect_str_eq(setting(&h, "log-driver"), "\"??\"", "kept valid UTF-8");
    cr_expect_null(setting(&h, "icc"), "a value pflag would refuse");
    cm_host_inv_free(&h);
}

Test(rt_daemon, big_objects_keep_their_leading_members)
{
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    size_t n = (size_t)snprintf(text, cap, "{\"runtimes\":{");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(text + n, cap - n,
                              "%s\"rt-%d\":{\"path\":\"/usr/local/bin/runtime-%d\"}", i ? "," : "",
                              i, i);
    snprintf(text + n, cap - n, "}}");
    char err[256];
    struct cm_host_inv h;
    cr_assert_eq(parse_text(text, &h, err), 0, "%s", err);
    const char *v = setting(&h, "runtimes");
    cr_assert_not_null(v);
    cr_expect_leq(strlen(v), (size_t)CM_INV_STR_MAX);
    cJSON *obj = cJSON_Parse(v);
    cr_assert(cJSON_IsObject(obj), "still a JSON object");
    cr_expect_gt(cJSON_GetArraySize(obj), 50);
    cr_expect_lt(cJSON_GetArraySize(obj), 200);
    cr_expect_not_null(cJSON_GetObjectItem(obj, "rt-0"));
    cJSON_Delete(obj);
    cm_host_inv_free(&h);
    free(text);
}
