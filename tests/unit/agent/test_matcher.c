/* test_matcher.c - the rule matcher (agent/matcher.c): events and their
 * fields, source kinds, thresholds with their quiet window and repeats,
 * caps, invalid UTF-8, a pathological rule, group eviction. */
#include "agent/matcher.h"
#include "common/err.h"
#include "common/rules.h"
#include "common/timeutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC CM_NS_PER_SEC

static struct ag_matcher *mk(const char *rules_json)
{
    struct cm_policy p = {0};
    char err[256] = "";
    cr_assert_eq(cm_rules_parse(rules_json, strlen(rules_json), &p, err, sizeof err), 0, "%s", err);
    p.version = 7;
    struct ag_matcher *m = NULL;
    cr_assert_eq(ag_matcher_new(&p, &m, err, sizeof err), 0, "%s", err);
    cm_policy_free(&p);
    return m;
}

static struct cm_log_source src_auth = {
    .kind = CM_LOG_SRC_AUTH, .path = "/var/log/auth.log", .file_key = "2049:77"};
static struct cm_log_source src_ctr = {.kind = CM_LOG_SRC_CONTAINER,
                                       .path = "/var/lib/docker/containers/abc/abc-json.log",
                                       .container_id = "abc",
                                       .stream = "stdout",
                                       .file_key = "2049:78"};

static size_t run(struct ag_matcher *m, struct cm_log_source *s, const char *text, int64_t ts,
                  int64_t now, struct cm_log_event *ev, size_t max)
{
    struct ag_tail_line l = {.source = s,
                             .offset = 100,
                             .end_offset = 100 + strlen(text) + 1,
                             .text = text,
                             .len = strlen(text),
                             .ts_ns = ts};
    return ag_matcher_match(m, &l, now, ev, max);
}

static const char *field(const struct cm_log_event *e, const char *key)
{
    for (size_t i = 0; i < e->n_fields; i++) {
        if (strcmp(e->fields[i].key, key) == 0) return e->fields[i].value;
    }
    return NULL;
}

static void free_events(struct cm_log_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cm_log_event_free(&ev[i]);
}

#define R_FAIL                                                                                     \
    "{\"id\":\"fail\",\"title\":\"t\",\"severity\":\"low\",\"sources\":[\"auth\"],"                \
    "\"regex\":\"Failed password for (?<user>\\\\S+) from (?<ip>\\\\S+)(?<never>NEVER)?\"}"

Test(matcher, event_carries_line_rule_and_captures)
{
    struct ag_matcher *m = mk("{\"rules\":[" R_FAIL "]}");
    cr_assert_eq(ag_matcher_version(m), 7);
    cr_assert_eq(ag_matcher_rules(m), 1);
    struct cm_log_event ev[4];
    const char *line = "Dec 10 sshd[1]: Failed password for root from 10.0.0.9 port 22 ssh2";
    cr_assert_eq(run(m, &src_auth, line, 0, 555 * SEC, ev, 4), 1);
    cr_assert_str_eq(ev[0].rule_id, "fail");
    cr_assert_eq(ev[0].rule_version, 7);
    cr_assert_eq(ev[0].ts_ns, 555 * SEC, "no line time: now_ns");
    cr_assert_eq(ev[0].offset, 100);
    cr_assert_eq(ev[0].count, 0);
    cr_assert_str_eq(ev[0].message, line);
    cr_assert_str_eq(ev[0].source.path, "/var/log/auth.log");
    cr_assert_neq(ev[0].source.path, src_auth.path, "the path is copied");
    cr_assert_str_eq(ev[0].source.file_key, "2049:77");
    cr_assert_eq(ev[0].source.kind, CM_LOG_SRC_AUTH);
    cr_assert_eq(ev[0].n_fields, 2, "an unset group is no field");
    cr_assert_str_eq(field(&ev[0], "user"), "root");
    cr_assert_str_eq(field(&ev[0], "ip"), "10.0.0.9");
    free_events(ev, 1);
    cr_assert_eq(run(m, &src_auth, line, 42 * SEC, 555 * SEC, ev, 4), 1);
    cr_assert_eq(ev[0].ts_ns, 42 * SEC, "the line's own time wins");
    free_events(ev, 1);
    cr_assert_eq(run(m, &src_auth, "Accepted password for root from 10.0.0.9", 0, 1, ev, 4), 0);
    struct ag_matcher_stats st;
    ag_matcher_get_stats(m, &st);
    cr_assert_eq(st.lines, 3);
    cr_assert_eq(st.matches, 2);
    cr_assert_eq(st.events, 2);
    cr_assert_eq(st.match_errors, 0);
    ag_matcher_free(m);
}

Test(matcher, rules_apply_to_their_source_kinds)
{
    struct ag_matcher *m = mk("{\"rules\":[" R_FAIL ",{\"id\":\"any\",\"title\":\"t\",\"severity\":"
                              "\"low\",\"regex\":\"Failed\"}]}");
    struct cm_log_event ev[4];
    const char *line = "Failed password for root from 10.0.0.9";
    cr_assert_eq(run(m, &src_ctr, line, 0, 1, ev, 4), 1, "auth rule skipped on a container line");
    cr_assert_str_eq(ev[0].rule_id, "any");
    cr_assert_str_eq(ev[0].source.container_id, "abc");
    cr_assert_str_eq(ev[0].source.stream, "stdout");
    free_events(ev, 1);
    struct cm_log_source unk = {.kind = CM_LOG_SRC_UNKNOWN};
    cr_assert_eq(run(m, &unk, line, 0, 1, ev, 4), 1, "a rule without sources takes every kind");
    free_events(ev, 1);
    cr_assert_eq(run(m, &src_auth, line, 0, 1, ev, 4), 2);
    free_events(ev, 2);
    cr_assert_eq(run(m, &src_auth, line, 0, 1, ev, 1), 1, "no more than max events");
    free_events(ev, 1);
    ag_matcher_free(m);
}

#define R_BRUTE                                                                                    \
    "{\"rules\":[{\"id\":\"brute\",\"title\":\"t\",\"severity\":\"high\",\"regex\":"               \
    "\"(?:message repeated (?<repeat>\\\\d+) times: \\\\[ )?Failed password for \\\\S+ from "      \
    "(?<ip>\\\\S+)\",\"threshold\":{\"count\":3,\"window_seconds\":10,\"group_by\":\"ip\"}}]}"

static size_t brute(struct ag_matcher *m, const char *ip, double t_s, struct cm_log_event *ev)
{
    char line[128];
    snprintf(line, sizeof line, "sshd[1]: Failed password for root from %s port 1", ip);
    return run(m, &src_auth, line, 0, (int64_t)(t_s * 1e9), ev, 4);
}

Test(matcher, threshold_fires_once_per_window_per_group)
{
    struct ag_matcher *m = mk(R_BRUTE);
    struct cm_log_event ev[4];
    cr_assert_eq(brute(m, "1.1.1.1", 100, ev), 0);
    cr_assert_eq(brute(m, "1.1.1.1", 101, ev), 0);
    cr_assert_eq(brute(m, "2.2.2.2", 101.5, ev), 0, "other groups count apart");
    cr_assert_eq(brute(m, "1.1.1.1", 102, ev), 1, "third within 10 s fires");
    cr_assert_eq(ev[0].count, 3);
    cr_assert_str_eq(field(&ev[0], "ip"), "1.1.1.1");
    cr_assert_eq(ev[0].ts_ns, 102 * SEC);
    free_events(ev, 1);
    for (int t = 103; t < 112; t++)
        cr_assert_eq(brute(m, "1.1.1.1", t, ev), 0, "quiet until 112 (t=%d)", t);
    cr_assert_eq(brute(m, "1.1.1.1", 112, ev), 1,
                 "the window passed: a sustained attack fires again");
    cr_assert_eq(ev[0].count, 10, "matches within (102, 112]");
    free_events(ev, 1);
    /* a slow trickle never reaches 3 within 10 s */
    for (int t = 0; t < 10; t++)
        cr_assert_eq(brute(m, "3.3.3.3", 200 + 6 * t, ev), 0);
    /* the repeat capture multiplies */
    cr_assert_eq(run(m, &src_auth,
                     "message repeated 5 times: [ Failed password for root from 4.4.4.4]", 0,
                     400 * SEC, ev, 4),
                 1);
    cr_assert_eq(ev[0].count, 5);
    free_events(ev, 1);
    /* time going backwards does not reopen a window */
    cr_assert_eq(brute(m, "1.1.1.1", 50, ev), 0);
    struct ag_matcher_stats st;
    ag_matcher_get_stats(m, &st);
    cr_assert_eq(st.events, 3);
    cr_assert_eq(st.groups_evicted, 0);
    ag_matcher_free(m);
}

Test(matcher, one_group_without_group_by)
{
    struct ag_matcher *m =
        mk("{\"rules\":[{\"id\":\"n\",\"title\":\"t\",\"severity\":\"low\","
           "\"regex\":\"boom\",\"threshold\":{\"count\":2,\"window_seconds\":5}}]}");
    struct cm_log_event ev[2];
    cr_assert_eq(run(m, &src_ctr, "boom a", 0, 1 * SEC, ev, 2), 0);
    cr_assert_eq(run(m, &src_auth, "boom b", 0, 2 * SEC, ev, 2), 1);
    cr_assert_eq(ev[0].count, 2);
    free_events(ev, 1);
    ag_matcher_free(m);
}

Test(matcher, groups_are_bounded_and_evictions_counted, .timeout = 60)
{
    struct ag_matcher *m = mk(R_BRUTE);
    struct cm_log_event ev[4];
    char ip[32];
    for (unsigned i = 0; i < AG_MATCHER_MAX_GROUPS + 100; i++) {
        snprintf(ip, sizeof ip, "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        cr_assert_eq(brute(m, ip, 1000, ev), 0);
    }
    struct ag_matcher_stats st;
    ag_matcher_get_stats(m, &st);
    cr_assert_eq(st.groups_evicted, 100);
    /* the first group was evicted: its count starts over */
    cr_assert_eq(brute(m, "10.0.0.0", 1001, ev), 0);
    cr_assert_eq(brute(m, "10.0.0.0", 1002, ev), 0);
    cr_assert_eq(brute(m, "10.0.0.0", 1003, ev), 1);
    free_events(ev, 1);
    ag_matcher_free(m);
}

Test(matcher, invalid_utf8_matches_nothing)
{
    struct ag_matcher *m = mk("{\"rules\":[{\"id\":\"x\",\"title\":\"t\",\"severity\":\"low\","
                              "\"regex\":\"caf\\u00e9 (?<w>.)\"}]}");
    struct cm_log_event ev[2];
    cr_assert_eq(run(m, &src_ctr, "caf\xc3\xa9 \xe2\x82\xac", 0, 1, ev, 2), 1);
    cr_assert_str_eq(field(&ev[0], "w"), "\xe2\x82\xac", "one character, not one byte");
    free_events(ev, 1);
    const char *bad[] = {"caf\xc3\xa9 \xff", "caf\xc3\xa9 \xc0\xaf", "caf\xc3\xa9 \xed\xa0\x80",
                         "caf\xc3\xa9 \xe2\x82", "caf\xc3\xa9 \xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(run(m, &src_ctr, bad[i], 0, 1, ev, 2), 0, "bad[%zu]", i);
    struct ag_matcher_stats st;
    ag_matcher_get_stats(m, &st);
    cr_assert_eq(st.match_errors, 5);
    ag_matcher_free(m);
}

Test(matcher, pathological_rule_cannot_hang_a_line, .timeout = 30)
{
    struct ag_matcher *m = mk("{\"rules\":[{\"id\":\"evil\",\"title\":\"t\",\"severity\":\"low\","
                              "\"regex\":\"^(a+)+$\"},{\"id\":\"ok\",\"title\":\"t\",\"severity\":"
                              "\"low\",\"regex\":\"b$\"}]}");
    size_t n = 64 * 1024;
    char *line = malloc(n + 1);
    memset(line, 'a', n);
    line[n - 1] = 'b';
    line[n] = 0;
    struct cm_log_event ev[2];
    int64_t t0 = cm_time_mono_ns();
    cr_assert_eq(run(m, &src_ctr, line, 0, 1, ev, 2), 1, "the other rule still matches");
    cr_assert_str_eq(ev[0].rule_id, "ok");
    cr_assert_eq(strlen(ev[0].message), CM_LOG_MESSAGE_MAX, "message capped");
    int64_t dt = cm_time_mono_ns() - t0;
    cr_assert_lt(dt, 5 * SEC, "took %lld ms", (long long)(dt / 1000000));
    struct ag_matcher_stats st;
    ag_matcher_get_stats(m, &st);
    cr_assert_eq(st.match_errors, 1, "the match limit is an error, not a match");
    free_events(ev, 1);
    free(line);
    ag_matcher_free(m);
}

Test(matcher, captures_are_capped)
{
    /* 40 named groups: 32 fields; one long capture cut at 1024 bytes on a
     * character boundary */
    char rules[8192], *p = rules;
    p += snprintf(p, sizeof rules,
                  "{\"rules\":[{\"id\":\"many\",\"title\":\"t\",\"severity\":"
                  "\"low\",\"regex\":\"^");
    for (int i = 0; i < 40; i++)
        p += snprintf(p, (size_t)(rules + sizeof rules - p), "(?<g%02d>x)", i);
    snprintf(p, (size_t)(rules + sizeof rules - p), "(?<a_long>.*)\"}]}");
    struct ag_matcher *m = mk(rules);
    char line[4000];
    memset(line, 'x', 40);
    line[40] = 'y';
    size_t o = 41;
    while (o + 2 < sizeof line - 1) {
        line[o++] = '\xc3';
        line[o++] = '\xa9';
    }
    line[o] = 0;
    struct cm_log_event ev[1];
    cr_assert_eq(run(m, &src_ctr, line, 0, 1, ev, 1), 1);
    cr_assert_eq(ev[0].n_fields, CM_LOG_FIELDS_MAX);
    /* fields follow the name order: a_long, g00 .. g30 */
    const char *l = field(&ev[0], "a_long");
    cr_assert_not_null(l);
    cr_assert_eq(strlen(l), CM_LOG_FIELD_MAX - 1, "'y' + 511 two-byte characters");
    cr_assert_str_eq(field(&ev[0], "g30"), "x");
    cr_assert_null(field(&ev[0], "g31"));
    free_events(ev, 1);
    ag_matcher_free(m);
}

Test(matcher, bad_policy_is_refused)
{
    char title[] = "t", regex[] = "(unclosed";
    struct cm_rule r = {.id = "broken", .title = title, .severity = "low", .regex = regex};
    struct cm_policy p = {.version = 3, .rules = &r, .n = 1};
    struct ag_matcher *m = (struct ag_matcher *)&r;
    char err[256] = "";
    cr_assert_eq(ag_matcher_new(&p, &m, err, sizeof err), CM_EPARSE);
    cr_assert_null(m);
    cr_assert(strstr(err, "rule broken: regex: "), "%s", err);
    struct cm_policy empty = {.version = 4};
    cr_assert_eq(ag_matcher_new(&empty, &m, err, sizeof err), 0, "%s", err);
    struct cm_log_event ev[1];
    cr_assert_eq(run(m, &src_ctr, "anything", 0, 1, ev, 1), 0);
    ag_matcher_free(m);
    ag_matcher_free(NULL);
}
