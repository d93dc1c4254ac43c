/* test_rules.c - the rules file parser (common/rules.c): a good file, every
 * refusal naming its rule and reason, the built-in rule set, and the JSON
 * round trip. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "common/err.h"
#include "common/rules.h"
#include "tests/util/testutil.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOOD_RULE                                                                                  \
    "{\"id\":\"ssh.failed\",\"title\":\"SSH failed password\",\"severity\":\"medium\","            \
    "\"sources\":[\"auth\",\"syslog\"],"                                                           \
    "\"regex\":\"Failed password for (?<user>\\\\S+) from (?<src_ip>[0-9a-f.:]+)\","               \
    "\"threshold\":{\"count\":5,\"window_seconds\":60,\"group_by\":\"src_ip\"},"                   \
    "\"tags\":[\"attack.t1110\"]}"

static int parse(const char *json, struct cm_policy *p, char *err, size_t errlen)
{
    return cm_rules_parse(json, strlen(json), p, err, errlen);
}

/* Parses {"rules":[GOOD_RULE with `from` replaced by `to`]} and expects the
 * error text to contain `want`. */
static void expect_refused(const char *from, const char *to, const char *want)
{
    char doc[4096], err[256] = "";
    const char *good = GOOD_RULE;
    const char *at = strstr(good, from);
    cr_assert(at, "test bug: '%s' not in the good rule", from);
    snprintf(doc, sizeof doc, "{\"rules\":[%.*s%s%s]}", (int)(at - good), good, to,
             at + strlen(from));
    struct cm_policy p = {0};
    cr_assert_eq(parse(doc, &p, err, sizeof err), CM_EPARSE, "accepted: %s", doc);
    cr_assert(strstr(err, want), "error '%s' lacks '%s'", err, want);
    cr_assert_eq(p.n, 0);
    cr_assert_null(p.rules);
}

Test(rules, good_file)
{
    char err[256] = "";
    struct cm_policy p = {0};
    cr_assert_eq(parse("{\"rules\":[" GOOD_RULE ",{\"id\":\"k1\",\"title\":\"t\",\"severity\":"
                       "\"info\",\"regex\":\"segfault at\"}]}",
                       &p, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(p.n, 2);
    cr_assert_eq(p.version, 0);
    struct cm_rule *r = &p.rules[0];
    cr_assert_str_eq(r->id, "ssh.failed");
    cr_assert_str_eq(r->title, "SSH failed password");
    cr_assert_str_eq(r->severity, "medium");
    cr_assert_eq(r->sources, (1u << CM_LOG_SRC_AUTH) | (1u << CM_LOG_SRC_SYSLOG));
    cr_assert_str_eq(r->regex, "Failed password for (?<user>\\S+) from (?<src_ip>[0-9a-f.:]+)");
    cr_assert_eq(r->threshold.count, 5);
    cr_assert_eq(r->threshold.window_seconds, 60);
    cr_assert_str_eq(r->threshold.group_by, "src_ip");
    cr_assert_eq(r->tags.n, 1);
    cr_assert_str_eq(r->tags.v[0], "attack.t1110");
    /* sources left out = every source; no threshold; no tags */
    cr_assert_eq(p.rules[1].sources, 0);
    cr_assert_eq(p.rules[1].threshold.count, 0);
    cr_assert_null(p.rules[1].threshold.group_by);
    cr_assert_eq(p.rules[1].tags.n, 0);
    cr_assert_eq(cm_rule_validate(&p.rules[0], err, sizeof err), 0, "%s", err);
    cm_policy_free(&p);
}

Test(rules, refusals_name_rule_and_reason)
{
    expect_refused("\"severity\":\"medium\"", "\"severity\":\"urgent\"",
                   "rule ssh.failed: severity");
    expect_refused("\"auth\",", "\"auth\",\"journal\",", "rule ssh.failed: sources: 'journal'");
    expect_refused("\"auth\",\"syslog\"", "\"unknown\"", "rule ssh.failed: sources: 'unknown'");
    expect_refused("[\"auth\",\"syslog\"]", "[]", "rule ssh.failed: sources");
    expect_refused("(?<user>", "(?<user", "rule ssh.failed: regex: ");
    expect_refused("\"group_by\":\"src_ip\"", "\"group_by\":\"port\"",
                   "rule ssh.failed: threshold.group_by 'port' is not a unique named group");
    expect_refused("\"count\":5", "\"count\":0", "rule ssh.failed: threshold.count");
    expect_refused("\"count\":5", "\"count\":2.5", "rule ssh.failed: threshold.count");
    expect_refused("\"window_seconds\":60", "\"window_seconds\":0", "threshold.window_seconds");
    expect_refused("\"count\":5,", "", "rule ssh.failed: threshold.count");
    expect_refused("\"tags\":[\"attack.t1110\"]", "\"tags\":[\"two words\"]",
                   "rule ssh.failed: tags[0]");
    expect_refused("\"tags\":", "\"tagz\":", "rule ssh.failed: unknown key 'tagz'");
    expect_refused("\"title\":\"SSH failed password\",", "", "rule ssh.failed: title: missing");
    expect_refused("\"title\":\"SSH failed password\"", "\"title\":\"\"", "rule ssh.failed: title");
    expect_refused("\"id\":\"ssh.failed\"", "\"id\":\"-bad\"", "rules[0]: id");
    expect_refused("\"id\":\"ssh.failed\",", "", "rules[0]: id");
    expect_refused("Failed password for (?<user>\\\\S+) from (?<src_ip>[0-9a-f.:]+)",
                   "(?<src_ip>x)?", "matches the empty string");
    expect_refused("\"severity\":\"medium\",", "\"severity\":\"low\",\"severity\":\"high\",",
                   "duplicate key 'severity'");
    /* \C would split a UTF-8 character */
    expect_refused("(?<src_ip>[0-9a-f.:]+)", "(?<src_ip>\\\\C)", "rule ssh.failed: regex:");
}

Test(rules, refusals_of_the_document)
{
    char err[256] = "";
    struct cm_policy p = {0};
    cr_assert_eq(parse("[]", &p, err, sizeof err), CM_EPARSE);
    cr_assert(strstr(err, "rules: not a JSON object"), "%s", err);
    cr_assert_eq(parse("{\"rules\":[" GOOD_RULE, &p, err, sizeof err), CM_EPARSE);
    cr_assert_eq(parse("{\"rulez\":[]}", &p, err, sizeof err), CM_EPARSE);
    cr_assert(strstr(err, "unknown key 'rulez'"), "%s", err);
    cr_assert_eq(parse("{\"rules\":[" GOOD_RULE "," GOOD_RULE "]}", &p, err, sizeof err),
                 CM_EPARSE);
    cr_assert(strstr(err, "rule ssh.failed: duplicate id (also rules[0])"), "%s", err);
    cr_assert_eq(parse("{\"rules\":[" GOOD_RULE ",7]}", &p, err, sizeof err), CM_EPARSE);
    cr_assert(strstr(err, "rules[1]: not an object"), "%s", err);
    cr_assert_eq(cm_rules_parse("{}", CM_RULES_FILE_MAX + 1, &p, err, sizeof err), CM_EPARSE);
    cr_assert_eq(p.n, 0);
    cr_assert_eq(parse("{\"rules\":[]}", &p, err, sizeof err), 0, "%s", err);
    cr_assert_eq(p.n, 0);
    cm_policy_free(&p);
}

Test(rules, validate_a_rule_from_a_policy)
{
    char err[256] = "";
    char title[] = "t", regex[] = "x(?<a>y)", group[] = "b";
    struct cm_rule r = {.id = "a.b", .title = title, .severity = "high", .regex = regex};
    cr_assert_eq(cm_rule_validate(&r, err, sizeof err), 0, "%s", err);
    r.sources = 1u << CM_LOG_SRC_UNKNOWN;
    cr_assert_eq(cm_rule_validate(&r, err, sizeof err), CM_EPARSE);
    cr_assert(strstr(err, "rule a.b: sources"), "%s", err);
    r.sources = 1u << CM_LOG_SRC__COUNT;
    cr_assert_eq(cm_rule_validate(&r, err, sizeof err), CM_EPARSE);
    r.sources = 0;
    r.threshold = (struct cm_rule_threshold){.count = 3, .window_seconds = 10, .group_by = group};
    cr_assert_eq(cm_rule_validate(&r, err, sizeof err), CM_EPARSE);
    cr_assert(strstr(err, "rule a.b: threshold.group_by 'b'"), "%s", err);
    r.threshold.group_by = NULL;
    r.threshold.window_seconds = 0;
    cr_assert_eq(cm_rule_validate(&r, err, sizeof err), CM_EPARSE);
    r.threshold.count = 0;
    cr_assert_eq(cm_rule_validate(&r, err, sizeof err), 0, "%s", err);
    snprintf(r.id, sizeof r.id, "a b");
    cr_assert_eq(cm_rule_validate(&r, err, sizeof err), CM_EPARSE);
    cr_assert(strstr(err, "rule: id"), "%s", err);
}

Test(rules, compile_shares_the_matcher_options)
{
    char err[128];
    struct pcre2_real_code_8 *re = NULL;
    cr_assert_eq(cm_rule_regex_compile("caf\xc3\xa9 .", &re, err, sizeof err), 0, "%s", err);
    uint32_t opts = 0;
    pcre2_pattern_info(re, PCRE2_INFO_ALLOPTIONS, &opts);
    cr_assert(opts & PCRE2_UTF);
    pcre2_code_free(re);
    cr_assert_eq(cm_rule_regex_compile("", &re, err, sizeof err), CM_EPARSE);
    char *big = malloc(CM_RULE_REGEX_MAX + 2);
    memset(big, 'a', CM_RULE_REGEX_MAX + 1);
    big[CM_RULE_REGEX_MAX + 1] = 0;
    cr_assert_eq(cm_rule_regex_compile(big, &re, err, sizeof err), CM_EPARSE);
    free(big);
}

static char *read_builtin(size_t *len)
{
    const char *path = tu_source_path("rules/builtin.json");
    char *text = tu_read_file(path, len);
    cr_assert(text, "cannot read %s", path);
    return text;
}

Test(rules, builtin_set_parses_and_round_trips)
{
    size_t len = 0;
    char *text = read_builtin(&len), err[256] = "";
    struct cm_policy p = {0}, q = {0};
    cr_assert_eq(cm_rules_parse(text, len, &p, err, sizeof err), 0, "%s", err);
    cr_assert_geq(p.n, 15);
    for (size_t i = 0; i < p.n; i++) {
        cr_assert_geq(p.rules[i].tags.n, 1, "rule %s has no tags", p.rules[i].id);
        cr_assert_eq(cm_rule_validate(&p.rules[i], err, sizeof err), 0, "%s", err);
    }
    cJSON *j = cm_rules_to_json(&p);
    cr_assert_not_null(j);
    char *again = cJSON_PrintUnformatted(j);
    cr_assert_eq(cm_rules_parse(again, strlen(again), &q, err, sizeof err), 0, "%s", err);
    cr_assert_eq(q.n, p.n);
    for (size_t i = 0; i < p.n; i++) {
        cr_assert_str_eq(q.rules[i].id, p.rules[i].id);
        cr_assert_str_eq(q.rules[i].regex, p.rules[i].regex);
        cr_assert_str_eq(q.rules[i].title, p.rules[i].title);
        cr_assert_str_eq(q.rules[i].severity, p.rules[i].severity);
        cr_assert_eq(q.rules[i].sources, p.rules[i].sources);
        cr_assert_eq(q.rules[i].threshold.count, p.rules[i].threshold.count);
        cr_assert_eq(q.rules[i].threshold.window_seconds, p.rules[i].threshold.window_seconds);
        cr_assert_eq(q.rules[i].tags.n, p.rules[i].tags.n);
    }
    free(again);
    cJSON_Delete(j);
    cm_policy_free(&p);
    cm_policy_free(&q);
    free(text);
}
