/* test_timeutil.c - RFC 3339 formatting and parsing, epoch seconds, clocks. */
#include "common/err.h"
#include "common/timeutil.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(timeutil, .timeout = 10);

static int64_t parse_ok(const char *s)
{
    int64_t ns = 0;
    int rc = cm_time_parse(s, &ns);
    cr_assert_eq(rc, 0, "'%s' rejected (%d)", s, rc);
    return ns;
}

Test(timeutil, format_known_values)
{
    char out[32];
    cr_assert_eq(cm_time_format_rfc3339(0, out, sizeof out), 0);
    cr_assert_str_eq(out, "1970-01-01T00:00:00.000000Z");
    cr_assert_eq(cm_time_format_rfc3339(INT64_C(1700000000123456789), out, sizeof out), 0);
    cr_assert_str_eq(out, "2023-11-14T22:13:20.123456Z");
    cr_assert_eq(cm_time_format_rfc3339(-1000, out, sizeof out), 0);
    cr_assert_str_eq(out, "1969-12-31T23:59:59.999999Z");
    cr_assert_eq(cm_time_format_rfc3339(0, out, 10), CM_ETOOBIG);
}

Test(timeutil, rfc3339_round_trips)
{
    int64_t vals[] = {0, INT64_C(951782400) * CM_NS_PER_SEC, /* 2000-02-29 */
                      INT64_C(1700000000123456000), INT64_C(4102444799999999000),
                      -INT64_C(86400) * CM_NS_PER_SEC};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char out[32];
        cr_assert_eq(cm_time_format_rfc3339(vals[i], out, sizeof out), 0);
        cr_expect_eq(parse_ok(out), vals[i], "%s", out);
    }
}

Test(timeutil, offsets_and_fractions)
{
    int64_t base = parse_ok("2026-11-23T13:00:00Z");
    cr_assert_eq(parse_ok("2026-11-23T15:00:00+02:00"), base);
    cr_assert_eq(parse_ok("2026-11-23T07:30:00-05:30"), base);
    cr_assert_eq(parse_ok("2026-11-23t13:00:00z"), base);
    cr_assert_eq(parse_ok("2026-11-23T13:00:00.5Z"), base + 500000000);
    cr_assert_eq(parse_ok("2026-11-23T13:00:00.000000001Z"), base + 1);
    cr_assert_eq(parse_ok("2026-11-23T13:00:00.1234567891Z"), base + 123456789,
                 "digits past ns are dropped");
    cr_assert_eq(parse_ok("2026-11-24T00:59:00+11:59"), base);
    cr_assert_eq(parse_ok("2026-11-23T13:01:00+00:01"), base);
}

Test(timeutil, epoch_seconds)
{
    cr_assert_eq(parse_ok("0"), 0);
    cr_assert_eq(parse_ok("1700000000"), INT64_C(1700000000) * CM_NS_PER_SEC);
    int64_t ns;
    cr_assert_eq(cm_time_parse("-5", &ns), CM_EPARSE);
    cr_assert_eq(cm_time_parse("17e8", &ns), CM_EPARSE);
    cr_assert_eq(cm_time_parse("999999999999", &ns), CM_ERANGE, "past 2262");
}

Test(timeutil, invalid_dates)
{
    const char *bad[] = {
        "",
        "2026-11-23",
        "2026-11-23 13:00:00Z",
        "2026-11-23T13:00:00",
        "2026-11-23T13:00:00+0200",
        "2026-11-23T13:00:00Zjunk",
        "2026-11-23T13:00:00.Z",
        "2026-11-23T13:00:00+24:00",
        "2026/11/23T13:00:00Z",
        "2026-1a-23T13:00:00Z",
    };
    int64_t ns = 77;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(cm_time_parse(bad[i], &ns), CM_EPARSE, "'%s'", bad[i]);
    const char *range[] = {
        "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-23T24:00:00Z",
        "2026-11-23T13:60:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof range / sizeof range[0]; i++)
        cr_expect_eq(cm_time_parse(range[i], &ns), CM_ERANGE, "'%s'", range[i]);
    cr_assert_eq(ns, 77, "output untouched on failure");
    parse_ok("2024-02-29T00:00:00Z");
    parse_ok("2000-02-29T00:00:00Z");
}

Test(timeutil, clocks_move_forward)
{
    int64_t a = cm_time_mono_ns(), now = cm_time_now_ns();
    cr_assert_gt(now, INT64_C(1600000000) * CM_NS_PER_SEC);
    cr_assert_geq(cm_time_mono_ns(), a);
}
