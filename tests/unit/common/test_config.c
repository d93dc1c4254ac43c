/* test_config.c - the declarative config table: defaults, JSON file, flags,
 * validation messages and --help, with real files in a temp dir. */
#include "common/config.h"
#include "common/err.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct tcfg {
    bool verbose;
    int64_t workers;
    uint64_t interval_ms;
    char *name;
    char *mode;
    struct cm_strlist tags;
    char *token;
    bool dry_run;
    char *collector;
};

static const struct cm_opt tab[] = {
    {"verbose", CM_OPT_BOOL, offsetof(struct tcfg, verbose), "false", 0, 0, NULL, 0, "chatty"},
    {"workers", CM_OPT_INT, offsetof(struct tcfg, workers), "4", 1, 64, NULL, 0, "threads"},
    {"interval_ms", CM_OPT_DURATION_MS, offsetof(struct tcfg, interval_ms), "10s", 100, 3600000,
     NULL, 0, "sweep period"},
    {"name", CM_OPT_STRING, offsetof(struct tcfg, name), "agent", 0, 0, NULL, 0, "who"},
    {"mode", CM_OPT_ENUM, offsetof(struct tcfg, mode), "fast", 0, 0, "fast|safe", 0, "how"},
    {"tags", CM_OPT_STRLIST, offsetof(struct tcfg, tags), "a,b", 0, 0, NULL, 0, "labels"},
    {"token", CM_OPT_STRING, offsetof(struct tcfg, token), "s3cret-default", 0, 0, NULL,
     CM_OPT_SECRET, "api token"},
    {"dry_run", CM_OPT_BOOL, offsetof(struct tcfg, dry_run), "false", 0, 0, NULL, CM_OPT_CLI_ONLY,
     "do nothing"},
    {"collector", CM_OPT_STRING, offsetof(struct tcfg, collector), NULL, 0, 0, NULL,
     CM_OPT_REQUIRED, "where to send"},
    CM_OPT_END,
};

static char *dir;
static char path[512];
static struct tcfg cfg;
static char err[CM_CONFIG_ERRLEN];

static void setup(void)
{
    dir = tu_mkdtemp();
    cr_assert_not_null(dir);
    snprintf(path, sizeof path, "%s/c.json", dir);
    memset(&cfg, 0, sizeof cfg);
    err[0] = '\0';
    cr_assert_eq(cm_config_defaults(tab, &cfg, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
    cm_config_free(tab, &cfg);
    tu_rm_rf(dir);
    free(dir);
}

static int load(const char *json)
{
    cr_assert_eq(tu_write_file(dir, "c.json", json), 0);
    return cm_config_load_file(tab, &cfg, path, err, sizeof err);
}

/* The load fails and the message contains every one of `words`. */
static void load_fails(const char *json, const char *w1, const char *w2)
{
    err[0] = '\0';
    cr_expect_eq(load(json), CM_ECONFIG, "accepted: %s", json);
    cr_expect_not_null(strstr(err, w1), "'%s' not in: %s", w1, err);
    if (w2) cr_expect_not_null(strstr(err, w2), "'%s' not in: %s", w2, err);
}

TestSuite(config, .init = setup, .fini = teardown, .timeout = 10);

Test(config, defaults)
{
    cr_assert_eq(cfg.verbose, false);
    cr_assert_eq(cfg.workers, 4);
    cr_assert_eq(cfg.interval_ms, 10000);
    cr_assert_str_eq(cfg.name, "agent");
    cr_assert_str_eq(cfg.mode, "fast");
    cr_assert_eq(cfg.tags.n, 2);
    cr_assert_str_eq(cfg.tags.items[1], "b");
    cr_assert_null(cfg.collector);
    cr_assert_eq(cm_config_check_required(tab, &cfg, err, sizeof err), CM_ECONFIG);
    cr_assert_not_null(strstr(err, "collector"), "%s", err);
}

Test(config, file_values)
{
    cr_assert_eq(load("{\"verbose\": true, \"workers\": 8, \"interval_ms\": \"500ms\","
                      " \"name\": \"n1\", \"mode\": \"safe\", \"tags\": [\"x\", \"y\", \"z\"],"
                      " \"collector\": \"tcp://10.0.0.1:7000\"}"),
                 0, "%s", err);
    cr_assert(cfg.verbose);
    cr_assert_eq(cfg.workers, 8);
    cr_assert_eq(cfg.interval_ms, 500);
    cr_assert_str_eq(cfg.name, "n1");
    cr_assert_str_eq(cfg.mode, "safe");
    cr_assert_eq(cfg.tags.n, 3);
    cr_assert_str_eq(cfg.tags.items[2], "z");
    cr_assert_eq(cm_config_check_required(tab, &cfg, err, sizeof err), 0);
}

Test(config, durations)
{
    cr_assert_eq(load("{\"interval_ms\": \"10s\"}"), 0, "%s", err);
    cr_assert_eq(cfg.interval_ms, 10000);
    cr_assert_eq(load("{\"interval_ms\": 2}"), 0, "a JSON number is seconds: %s", err);
    cr_assert_eq(cfg.interval_ms, 2000);
    cr_assert_eq(cm_config_set(tab, &cfg, "interval_ms", "5m", err, sizeof err), 0);
    cr_assert_eq(cfg.interval_ms, 300000);
    load_fails("{\"interval_ms\": \"50ms\"}", "interval_ms", "100ms");
    load_fails("{\"interval_ms\": \"2h\"}", "interval_ms", "3600000ms");
    load_fails("{\"interval_ms\": \"soon\"}", "interval_ms", "duration");
    cr_assert_eq(cfg.interval_ms, 300000, "failed loads leave the value");
}

Test(config, flags_override_file)
{
    cr_assert_eq(tu_write_file(dir, "c.json", "{\"workers\": 8, \"name\": \"file\"}"), 0);
    char *argv[] = {"prog", "--workers",     "16",    "--config", path, "--tags=p,,q", "--verbose",
                    "run",  "--interval-ms", "250ms", NULL};
    char **pos = NULL;
    int npos = -1;
    bool help = true;
    int rc = cm_config_from_args(tab, &cfg, 10, argv, &pos, &npos, &help, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_not(help);
    cr_assert_eq(cfg.workers, 16, "flag beats file even when given before --config");
    cr_assert_str_eq(cfg.name, "file");
    cr_assert_eq(cfg.tags.n, 2, "empty list items dropped");
    cr_assert_str_eq(cfg.tags.items[1], "q");
    cr_assert(cfg.verbose, "bare boolean flag");
    cr_assert_eq(cfg.interval_ms, 250);
    cr_assert_eq(npos, 1);
    cr_assert_str_eq(pos[0], "run");
    free(pos);
}

Test(config, args_errors_and_help)
{
    char **pos = NULL;
    int npos = 0;
    bool help = false;
    char *a1[] = {"prog", "--no-such-thing", "1", NULL};
    cr_assert_eq(cm_config_from_args(tab, &cfg, 3, a1, &pos, &npos, &help, err, sizeof err),
                 CM_ECONFIG);
    cr_assert_not_null(strstr(err, "--no-such-thing"), "%s", err);
    cr_assert_null(pos, "nothing to free on failure");
    char *a2[] = {"prog", "--workers", NULL};
    cr_assert_eq(cm_config_from_args(tab, &cfg, 2, a2, &pos, &npos, &help, err, sizeof err),
                 CM_ECONFIG);
    cr_assert_not_null(strstr(err, "needs a value"), "%s", err);
    char *a3[] = {"prog", "--workers=0", NULL};
    cr_assert_eq(cm_config_from_args(tab, &cfg, 2, a3, &pos, &npos, &help, err, sizeof err),
                 CM_ECONFIG);
    cr_assert_not_null(strstr(err, "workers"), "%s", err);
    char *a4[] = {"prog", "--workers", "2", "-h", NULL};
    cr_assert_eq(cm_config_from_args(tab, &cfg, 4, a4, &pos, &npos, &help, err, sizeof err), 0);
    cr_assert(help);
    free(pos);
    char *a5[] = {"prog", "--dry-run", NULL};
    cr_assert_eq(cm_config_from_args(tab, &cfg, 2, a5, &pos, &npos, &help, err, sizeof err), 0,
                 "a CLI-only key works as a flag: %s", err);
    cr_assert(cfg.dry_run);
    free(pos);
}

Test(config, unknown_key_named)
{
    load_fails("{\"workers\": 2, \"wrokers\": 3}", "wrokers", "unknown");
}

Test(config, cli_only_refused_in_file)
{
    load_fails("{\"dry_run\": true}", "dry_run", "flag");
    cr_assert_not(cfg.dry_run);
}

Test(config, type_errors)
{
    load_fails("{\"workers\": \"four\"}", "workers", "whole number");
    load_fails("{\"workers\": 1.5}", "workers", "whole number");
    load_fails("{\"workers\": 1e300}", "workers", NULL);
    load_fails("{\"workers\": -1e300}", "workers", NULL);
    load_fails("{\"verbose\": \"yes\"}", "verbose", "true or false");
    load_fails("{\"name\": 5}", "name", "string");
    load_fails("{\"tags\": \"x\"}", "tags", "array");
    load_fails("{\"tags\": [\"x\", 1]}", "tags", "array");
    load_fails("{\"mode\": \"turbo\"}", "mode", "fast|safe");
    cr_assert_eq(cfg.workers, 4);
    cr_assert_eq(cm_config_set(tab, &cfg, "verbose", "maybe", err, sizeof err), CM_ECONFIG);
    cr_assert_eq(cm_config_set(tab, &cfg, "nope", "1", err, sizeof err), CM_ECONFIG);
}

Test(config, out_of_range_named)
{
    load_fails("{\"workers\": 65}", "workers", "65");
    load_fails("{\"workers\": 0}", "workers", "[1, 64]");
    cr_assert_eq(load("{\"workers\": 64}"), 0);
    cr_assert_eq(cm_config_set(tab, &cfg, "workers", "99999999999999999999", err, sizeof err),
                 CM_ECONFIG);
}

Test(config, bad_files)
{
    load_fails("{\"workers\": 2} trailing", "not valid JSON", NULL);
    load_fails("[1, 2]", "not a JSON object", NULL);
    load_fails("", "not valid JSON", NULL);
    load_fails("{\"workers\": ", "c.json", NULL);
    cr_assert_lt(cm_config_load_file(tab, &cfg, "/nonexistent/x.json", err, sizeof err), 0);
    cr_assert_not_null(strstr(err, "/nonexistent/x.json"), "%s", err);
    cr_assert_eq(cm_config_load_file(tab, &cfg, dir, err, sizeof err), CM_ECONFIG, "a dir");
    FILE *f = fopen(path, "wb");
    fwrite("{}\0{\"workers\":9}", 1, 16, f);
    fclose(f);
    cr_assert_eq(cm_config_load_file(tab, &cfg, path, err, sizeof err), CM_ECONFIG, "NUL byte");
}

Test(config, help_lists_every_key)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cm_config_help(tab, out);
    fclose(out);
    for (const struct cm_opt *o = tab; o->key; o++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s ", o->key);
        for (char *p = flag; *p; p++)
            if (*p == '_') *p = '-';
        cr_expect_not_null(strstr(text, flag), "'%s' missing from:\n%s", flag, text);
        cr_expect_not_null(strstr(text, o->help), "help text of %s missing", o->key);
    }
    cr_expect_not_null(strstr(text, "--config FILE"));
    cr_expect_not_null(strstr(text, "(default: 4)"));
    cr_expect_not_null(strstr(text, "[1..64]"));
    cr_expect_not_null(strstr(text, "(required)"));
    cr_expect_not_null(strstr(text, "(flag only)"));
    cr_expect_null(strstr(text, "s3cret-default"), "secret default shown");
    free(text);
}
