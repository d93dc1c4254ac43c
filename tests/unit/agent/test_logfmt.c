/* test_logfmt.c - the pure log record decoders: Docker json-file (escapes,
 * partial records, cut input, malformed records), CRI / k8s-file, syslog
 * and ISO line timestamps, and the UTF-8 sanitizer. */
#include "agent/logfmt.h"
#include "common/err.h"
#include "common/timeutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int docker(const char *line, char *out, size_t cap, struct ag_logfmt_rec *r)
{
    return ag_logfmt_docker(line, strlen(line), false, out, cap, r);
}

Test(logfmt, docker_complete_line)
{
    char out[64];
    struct ag_logfmt_rec r;
    cr_assert_eq(docker("{\"log\":\"tick 1\\n\",\"stream\":\"stderr\",\"time\":"
                        "\"2026-11-23T11:30:51.62430617Z\"}",
                        out, sizeof out, &r),
                 0);
    cr_assert_eq(r.len, 6);
    cr_assert_eq(memcmp(r.text, "tick 1", 6), 0);
    cr_assert_not(r.partial);
    cr_assert_not(r.cut);
    cr_assert_str_eq(r.stream, "stderr");
    int64_t want;
    cr_assert_eq(cm_time_parse("2026-11-23T11:30:51.62430617Z", &want), 0);
    cr_assert_eq(r.ts_ns, want);
}

Test(logfmt, docker_escapes_and_unicode)
{
    char out[64];
    struct ag_logfmt_rec r;
    cr_assert_eq(docker("{\"log\":\"a\\\"b\\\\c\\t\\u00e9\\ud83d\\ude00\\u0041\\n\"}", out,
                        sizeof out, &r),
                 0);
    const char want[] = "a\"b\\c\t\xc3\xa9\xf0\x9f\x98\x80" "A";
    cr_assert_eq(r.len, sizeof want - 1);
    cr_assert_eq(memcmp(r.text, want, r.len), 0);
    /* a lone surrogate is U+FFFD, not a crash or invalid UTF-8 */
    cr_assert_eq(docker("{\"log\":\"\\ud800x\\n\"}", out, sizeof out, &r), 0);
    cr_assert_eq(r.len, 4);
    cr_assert_eq(memcmp(r.text, "\xef\xbf\xbdx", 4), 0);
}

Test(logfmt, docker_partial_without_newline)
{
    char out[64];
    struct ag_logfmt_rec r;
    cr_assert_eq(docker("{\"log\":\"part\",\"stream\":\"stdout\",\"attrs\":{\"a\":[1,2,{\"b\":null}]},"
                        "\"time\":\"2026-11-23T11:30:51Z\"}",
                        out, sizeof out, &r),
                 0);
    cr_assert(r.partial);
    cr_assert_eq(r.len, 4);
    cr_assert_str_eq(r.stream, "stdout");
}

Test(logfmt, docker_output_cap_cuts_but_sees_the_newline)
{
    char out[4];
    struct ag_logfmt_rec r;
    cr_assert_eq(docker("{\"log\":\"abcdefgh\\n\"}", out, sizeof out, &r), 0);
    cr_assert_eq(r.len, 4);
    cr_assert(r.cut);
    cr_assert_not(r.partial);
    /* exactly the room plus the newline: not cut */
    cr_assert_eq(docker("{\"log\":\"abcd\\n\"}", out, sizeof out, &r), 0);
    cr_assert_eq(r.len, 4);
    cr_assert_not(r.cut);
}

Test(logfmt, docker_cut_input_gives_its_prefix)
{
    char out[64];
    struct ag_logfmt_rec r;
    const char *line = "{\"log\":\"abcdefghij";
    cr_assert_eq(ag_logfmt_docker(line, strlen(line), false, out, sizeof out, &r), CM_EPARSE);
    cr_assert_eq(ag_logfmt_docker(line, strlen(line), true, out, sizeof out, &r), 0);
    cr_assert_eq(r.len, 10);
    cr_assert(r.cut);
    cr_assert_not(r.partial);
}

Test(logfmt, docker_malformed)
{
    char out[64];
    struct ag_logfmt_rec r;
    const char *bad[] = {"", "not json", "{}", "{\"stream\":\"stdout\"}", "{\"log\":1}",
                         "{\"log\":\"x\\q\"}", "{\"log\":\"x\"", "{\"log\":\"x\"} trailing",
                         "{\"log\":\"x\",}", "[\"log\"]", "{\"log\" \"x\"}",
                         "{\"log\":\"\\u12\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(docker(bad[i], out, sizeof out, &r), CM_EPARSE, "%s", bad[i]);
}

static int cri(const char *line, struct ag_logfmt_rec *r)
{
    return ag_logfmt_cri(line, strlen(line), r);
}

Test(logfmt, cri_full_partial_and_empty)
{
    struct ag_logfmt_rec r;
    cr_assert_eq(cri("2026-11-23T11:28:05.573471869+00:00 stdout F tick 1", &r), 0);
    cr_assert_eq(r.len, 6);
    cr_assert_eq(memcmp(r.text, "tick 1", 6), 0);
    cr_assert_not(r.partial);
    cr_assert_str_eq(r.stream, "stdout");
    int64_t want;
    cr_assert_eq(cm_time_parse("2026-11-23T11:28:05.573471869Z", &want), 0);
    cr_assert_eq(r.ts_ns, want);
    cr_assert_eq(cri("2026-11-23T11:28:05Z stderr P  two spaces", &r), 0);
    cr_assert(r.partial);
    cr_assert_eq(r.len, 11);
    cr_assert_eq(memcmp(r.text, " two spaces", 11), 0);
    cr_assert_eq(cri("2026-11-23T11:28:05Z stdout F", &r), 0);
    cr_assert_eq(r.len, 0);
    cr_assert_eq(cri("2026-11-23T11:28:05Z stdout F:x y", &r), 0);
    cr_assert_eq(r.len, 1);
}

Test(logfmt, cri_malformed)
{
    struct ag_logfmt_rec r;
    const char *bad[] = {"", "garbage", "2026-11-23T11:28:05Z", "2026-11-23T11:28:05Z stdout",
                         "2026-11-23T11:28:05Z stdin F x", "2026-11-23T11:28:05Z stdout X x",
                         "2026-13-23T11:28:05Z stdout F x", "2026-11-23T11:28:05Z stdout FF x",
                         "notatime stdout F x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(cri(bad[i], &r), CM_EPARSE, "%s", bad[i]);
}

static int64_t utc(const char *s)
{
    int64_t v;
    cr_assert_eq(cm_time_parse(s, &v), 0);
    return v;
}

Test(logfmt, syslog_time_year_rules)
{
    setenv("TZ", "UTC", 1);
    tzset();
    int64_t ts, now = utc("2026-11-23T12:00:00Z");
    const char *l = "Nov 23 11:59:58 host sshd[1]: x";
    cr_assert_eq(ag_logfmt_syslog_time(l, strlen(l), now, &ts), 0);
    cr_assert_eq(ts, utc("2026-11-23T11:59:58Z"));
    /* December read in January: last year */
    int64_t jan = utc("2027-01-02T00:00:00Z");
    l = "Dec 31 23:59:59 host kernel: y";
    cr_assert_eq(ag_logfmt_syslog_time(l, strlen(l), jan, &ts), 0);
    cr_assert_eq(ts, utc("2026-12-31T23:59:59Z"));
    l = "Jun  4 01:02:03 h x"; /* space-padded day */
    cr_assert_eq(ag_logfmt_syslog_time(l, strlen(l), now, &ts), 0);
    cr_assert_eq(ts, utc("2026-06-04T01:02:03Z"));
    const char *bad[] = {"Foo 23 11:59:58 x", "Nov 32 11:59:58 x", "Nov 23 25:00:00 x",
                         "Nov 23 11:59", "Nov 23 11:5a:58 x", "Feb 30 00:00:00 x",
                         "Nov 23 11:59:58x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_lt(ag_logfmt_syslog_time(bad[i], strlen(bad[i]), now, &ts), 0, "%s", bad[i]);
}

/* Syslog stamps are local time: the zone's offset at that date applies. */
Test(logfmt, syslog_time_is_local_with_dst)
{
    if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
        cr_skip_test("no tzdata for Europe/Berlin");
    setenv("TZ", "Europe/Berlin", 1);
    tzset();
    int64_t ts, now = utc("2026-11-23T12:00:00Z");
    const char *l = "Jun  4 01:02:03 h x";
    cr_assert_eq(ag_logfmt_syslog_time(l, strlen(l), now, &ts), 0);
    cr_assert_eq(ts, utc("2026-06-03T23:02:03Z"));
    l = "Jan  4 01:02:03 h x";
    cr_assert_eq(ag_logfmt_syslog_time(l, strlen(l), now, &ts), 0);
    cr_assert_eq(ts, utc("2026-01-04T00:02:03Z"));
    setenv("TZ", "UTC", 1);
    tzset();
}

Test(logfmt, iso_and_line_time)
{
    setenv("TZ", "UTC", 1);
    tzset();
    int64_t ts, now = utc("2026-11-23T12:00:00Z");
    const char *l = "2026-11-23T11:28:05.5+01:00 host app: hi";
    cr_assert_eq(ag_logfmt_line_time(l, strlen(l), now, &ts), 0);
    cr_assert_eq(ts, utc("2026-11-23T10:28:05.5Z"));
    l = "Nov 23 11:00:00 host app";
    cr_assert_eq(ag_logfmt_line_time(l, strlen(l), now, &ts), 0);
    cr_assert_eq(ts, utc("2026-11-23T11:00:00Z"));
    l = "1700000000 is not a timestamp here";
    cr_assert_lt(ag_logfmt_line_time(l, strlen(l), now, &ts), 0);
    cr_assert_lt(ag_logfmt_line_time("", 0, now, &ts), 0);
}

Test(logfmt, sanitize_replaces_nul_and_invalid_utf8)
{
    char s[] = "ok\0\xff\xc3\xa9\xe2\x82\xed\xa0\x80\xf0\x9f\x98\x80\xc3";
    size_t len = sizeof s - 1;
    size_t n = ag_logfmt_sanitize(s, len);
    const char want[] = "ok??\xc3\xa9?????\xf0\x9f\x98\x80?";
    cr_assert_eq(memcmp(s, want, len), 0);
    cr_assert_eq(n, 8);
    char clean[] = "plain \xc3\xa9 text";
    cr_assert_eq(ag_logfmt_sanitize(clean, strlen(clean)), 0);
}
