/* test_parse.c - strict number and duration parsing. */
#include "common/err.h"
#include "common/parse.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(parse, .timeout = 10);

static int u64(const char *s, uint64_t *v)
{
    return cm_parse_u64(s, strlen(s), v);
}

static int i64(const char *s, int64_t *v)
{
    return cm_parse_i64(s, strlen(s), v);
}

Test(parse, u64_limits_and_overflow)
{
    uint64_t v = 7;
    cr_assert_eq(u64("0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(u64("18446744073709551615", &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    v = 7;
    cr_assert_eq(u64("18446744073709551616", &v), CM_ERANGE);
    cr_assert_eq(u64("99999999999999999999999", &v), CM_ERANGE);
    cr_assert_eq(v, 7, "output untouched on failure");
    cr_assert_eq(cm_parse_u64("123abc", 3, &v), 0, "only len bytes are read");
    cr_assert_eq(v, 123);
}

Test(parse, u64_rejects_signs_and_garbage)
{
    uint64_t v;
    const char *bad[] = {"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.5", "１"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(u64(bad[i], &v), CM_EPARSE, "'%s'", bad[i]);
}

Test(parse, i64_signs_and_limits)
{
    int64_t v;
    cr_assert_eq(i64("-9223372036854775808", &v), 0);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(i64("9223372036854775807", &v), 0);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(i64("-42", &v), 0);
    cr_assert_eq(v, -42);
    cr_assert_eq(i64("-9223372036854775809", &v), CM_ERANGE);
    cr_assert_eq(i64("9223372036854775808", &v), CM_ERANGE);
    const char *bad[] = {"", "-", "+5", "--5", "- 5", "5-", "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(i64(bad[i], &v), CM_EPARSE, "'%s'", bad[i]);
}

Test(parse, durations)
{
    struct {
        const char *s;
        uint64_t ms;
    } ok[] = {{"250ms", 250},  {"10s", 10000},    {"10", 10000}, {"5m", 300000},
              {"1h", 3600000}, {"2d", 172800000}, {"0s", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 1;
        cr_expect_eq(cm_parse_duration_ms(ok[i].s, &v), 0, "'%s'", ok[i].s);
        cr_expect_eq(v, ok[i].ms, "'%s' gave %llu", ok[i].s, (unsigned long long)v);
    }
    uint64_t v;
    const char *bad[] = {"", "s", "10 s", "10sec", "-1s", "1.5s", "10S", "ms10", "1w"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(cm_parse_duration_ms(bad[i], &v), CM_EPARSE, "'%s'", bad[i]);
    cr_expect_eq(cm_parse_duration_ms("9999999999999999999d", &v), CM_ERANGE);
    cr_expect_eq(cm_parse_duration_ms("99999999999999999999", &v), CM_ERANGE);
}
