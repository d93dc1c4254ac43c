/* test_rulebook.c - the collector's rule set: the embedded built-in rules,
 * an operator file added on top (and replacing a built-in rule by id), a
 * bad file refused at start with its path and rule, and reloads that keep
 * the old rules on error and bump the version on success. Real files. */
#include "collector/rulebook.h"
#include "common/err.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OP_RULE(id, sev, regex)                                                                    \
    "{\"id\":\"" id "\",\"title\":\"operator rule\",\"severity\":\"" sev "\","                     \
    "\"sources\":[\"file\"],\"regex\":\"" regex "\",\"tags\":[\"local\"]}"

static char *dir;
static char path[4096];

static void setup(void)
{
    dir = tu_mkdtemp();
    cr_assert_not_null(dir);
    snprintf(path, sizeof path, "%s/rules.json", dir);
}

static void teardown(void)
{
    if (dir) tu_rm_rf(dir);
    free(dir);
    dir = NULL;
}

TestSuite(rulebook, .init = setup, .fini = teardown, .timeout = 30);

static void write_rules(const char *json)
{
    cr_assert_eq(tu_write_file(dir, "rules.json", json), 0);
}

static size_t count_rules(struct col_rulebook *rb, size_t *builtin)
{
    const struct col_rules *r = col_rulebook_acquire(rb);
    size_t n = r->policy.n;
    if (builtin) *builtin = r->n_builtin;
    col_rulebook_release(rb, r);
    return n;
}

static const char *severity_of(struct col_rulebook *rb, const char *id, char *out, size_t outlen)
{
    const struct col_rules *r = col_rulebook_acquire(rb);
    const struct cm_rule *rule = col_rules_find(r, id);
    snprintf(out, outlen, "%s", rule ? rule->severity : "(none)");
    col_rulebook_release(rb, r);
    return out;
}

Test(rulebook, builtin_set_loads_with_the_issue_rules)
{
    struct col_rulebook *rb = NULL;
    char err[512] = "", sev[16];
    size_t builtin = 0;
    cr_assert_eq(col_rulebook_new(NULL, &rb, err, sizeof err), 0, "%s", err);
    size_t n = count_rules(rb, &builtin);
    cr_assert_geq(n, 12, "only %zu built-in rules", n);
    cr_assert_eq(builtin, n);
    cr_assert_gt(col_rulebook_version(rb), 1000000000u, "version is not a load time");
    cr_assert_str_neq(severity_of(rb, "ssh.failed_password", sev, sizeof sev), "(none)");
    cr_assert_str_neq(severity_of(rb, "ssh.brute_force", sev, sizeof sev), "(none)");
    cr_assert_str_eq(severity_of(rb, "no.such.rule", sev, sizeof sev), "(none)");
    /* sorted by id, so a lookup finds every one */
    const struct col_rules *r = col_rulebook_acquire(rb);
    for (size_t i = 1; i < r->policy.n; i++)
        cr_assert_lt(strcmp(r->policy.rules[i - 1].id, r->policy.rules[i].id), 0);
    for (size_t i = 0; i < r->policy.n; i++)
        cr_assert_eq(col_rules_find(r, r->policy.rules[i].id), &r->policy.rules[i]);
    col_rulebook_release(rb, r);
    col_rulebook_free(rb);
}

Test(rulebook, operator_file_adds_and_replaces_by_id)
{
    struct col_rulebook *base = NULL, *rb = NULL;
    char err[512] = "", sev[16];
    cr_assert_eq(col_rulebook_new("", &base, err, sizeof err), 0, "%s", err);
    size_t nbase = count_rules(base, NULL);
    write_rules("{\"rules\":[" OP_RULE("local.secret", "high", "password=\\\\S+") "," OP_RULE(
        "ssh.failed_password", "critical", "Failed password") "]}");
    cr_assert_eq(col_rulebook_new(path, &rb, err, sizeof err), 0, "%s", err);
    size_t builtin = 0;
    cr_assert_eq(count_rules(rb, &builtin), nbase + 1);
    cr_assert_eq(builtin, nbase - 1);
    cr_assert_str_eq(severity_of(rb, "local.secret", sev, sizeof sev), "high");
    cr_assert_str_eq(severity_of(rb, "ssh.failed_password", sev, sizeof sev), "critical");
    col_rulebook_free(rb);
    col_rulebook_free(base);
}

Test(rulebook, bad_file_at_start_names_file_and_rule)
{
    struct col_rulebook *rb = NULL;
    char err[512] = "", want[8400];
    write_rules("{\"rules\":[" OP_RULE("ok.one", "low", "fine") "," OP_RULE(
        "broken.regex", "low", "unclosed (group") "]}");
    cr_assert_lt(col_rulebook_new(path, &rb, err, sizeof err), 0);
    cr_assert_null(rb);
    snprintf(want, sizeof want, "rules file %s: rule broken.regex: ", path);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "error '%s'", err);
    cr_assert_gt(strlen(err), strlen(want), "no reason after the rule: '%s'", err);

    write_rules("{\"rules\":[" OP_RULE("sev.bad", "urgent", "x") "]}");
    cr_assert_lt(col_rulebook_new(path, &rb, err, sizeof err), 0);
    snprintf(want, sizeof want, "rules file %s: rule sev.bad: ", path);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "error '%s'", err);

    char missing[4200];
    snprintf(missing, sizeof missing, "%s/nope.json", dir);
    cr_assert_lt(col_rulebook_new(missing, &rb, err, sizeof err), 0);
    snprintf(want, sizeof want, "rules file %s: ", missing);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "error '%s'", err);

    write_rules("{\"rules\": [");
    cr_assert_lt(col_rulebook_new(path, &rb, err, sizeof err), 0);
    snprintf(want, sizeof want, "rules file %s: ", path);
    cr_assert_eq(strncmp(err, want, strlen(want)), 0, "error '%s'", err);
    cr_assert_null(rb);
}

Test(rulebook, reload_keeps_old_rules_on_error_and_bumps_version_on_success)
{
    struct col_rulebook *rb = NULL;
    char err[512] = "", sev[16];
    write_rules("{\"rules\":[" OP_RULE("local.one", "medium", "one") "]}");
    cr_assert_eq(col_rulebook_new(path, &rb, err, sizeof err), 0, "%s", err);
    uint32_t v1 = col_rulebook_version(rb);
    size_t n1 = count_rules(rb, NULL);
    const struct col_rules *held = col_rulebook_acquire(rb); /* a reader across reloads */
    cr_assert_eq(held->policy.version, v1);

    write_rules("{\"rules\":[" OP_RULE("local.one", "medium", "([") "]}");
    err[0] = '\0';
    cr_assert_lt(col_rulebook_reload(rb, err, sizeof err), 0);
    cr_assert(strstr(err, "rule local.one: "), "error '%s'", err);
    cr_assert(strstr(err, path), "error '%s' lacks the path", err);
    cr_assert_eq(col_rulebook_version(rb), v1, "a failed reload changed the version");
    cr_assert_eq(count_rules(rb, NULL), n1);
    cr_assert_str_eq(severity_of(rb, "local.one", sev, sizeof sev), "medium");

    write_rules("{\"rules\":[" OP_RULE("local.two", "critical", "two") "]}");
    cr_assert_eq(col_rulebook_reload(rb, err, sizeof err), 0, "%s", err);
    uint32_t v2 = col_rulebook_version(rb);
    cr_assert_gt(v2, v1);
    cr_assert_str_eq(severity_of(rb, "local.one", sev, sizeof sev), "(none)");
    cr_assert_str_eq(severity_of(rb, "local.two", sev, sizeof sev), "critical");
    /* the snapshot taken before is intact until released */
    cr_assert_eq(held->policy.version, v1);
    cr_assert_not_null(col_rules_find(held, "local.one"));
    col_rulebook_release(rb, held);

    cr_assert_eq(col_rulebook_reload(rb, err, sizeof err), 0, "%s", err);
    cr_assert_gt(col_rulebook_version(rb), v2, "every reload is a new version");
    const struct col_rules *now = col_rulebook_acquire(rb);
    cr_assert_eq(now->policy.version, col_rulebook_version(rb));
    col_rulebook_release(rb, now);
    col_rulebook_free(rb);
}
