/* test_buf.c - the capped growable buffer. */
#include "common/buf.h"
#include "common/err.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

TestSuite(buf, .timeout = 10);

Test(buf, append_grows_and_terminates)
{
    struct cm_buf b;
    cm_buf_init(&b, 1 << 20);
    cr_assert_null(b.data);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(cm_buf_append(&b, "abc", 3), 0);
    cr_assert_eq(b.len, 3000);
    cr_assert_eq(strlen(b.data), 3000);
    cr_assert_eq(memcmp(b.data + 2997, "abc", 3), 0);
    cm_buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_str_empty(b.data);
    cm_buf_close(&b);
    cr_assert_null(b.data);
    cr_assert_eq(cm_buf_append_str(&b, "again"), 0, "usable after close");
    cr_assert_str_eq(b.data, "again");
    cm_buf_close(&b);
}

Test(buf, cap_is_enforced_and_failure_changes_nothing)
{
    struct cm_buf b;
    cm_buf_init(&b, 10);
    cr_assert_eq(cm_buf_append(&b, "0123456789", 10), 0, "exactly max fits");
    cr_assert_eq(cm_buf_append(&b, "x", 1), CM_ETOOBIG);
    cr_assert_eq(b.len, 10);
    cr_assert_str_eq(b.data, "0123456789");
    cm_buf_reset(&b);
    cr_assert_eq(cm_buf_append(&b, "abc", 3), 0);
    cr_assert_eq(cm_buf_append(&b, "0123456789", 10), CM_ETOOBIG);
    cr_assert_eq(cm_buf_append(&b, "x", SIZE_MAX), CM_ETOOBIG, "no size_t overflow");
    cr_assert_eq(cm_buf_printf(&b, "%s", "12345678"), CM_ETOOBIG);
    cr_assert_str_eq(b.data, "abc");
    cm_buf_close(&b);
}

Test(buf, printf_appends)
{
    struct cm_buf b;
    cm_buf_init(&b, 4096);
    cr_assert_eq(cm_buf_printf(&b, "a=%d", 1), 0);
    cr_assert_eq(cm_buf_printf(&b, " b=%s c=%05.1f", "x y", 2.5), 0);
    cr_assert_eq(cm_buf_printf(&b, "%s", ""), 0);
    cr_assert_str_eq(b.data, "a=1 b=x y c=002.5");
    cr_assert_eq(b.len, strlen(b.data));
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(cm_buf_printf(&b, "%s", big), 0, "grows past the first allocation");
    cr_assert_eq(b.len, 17 + 2999);
    cm_buf_close(&b);
}

Test(buf, steal_hands_over_storage)
{
    struct cm_buf b;
    size_t len;
    cm_buf_init(&b, 100);
    cm_buf_append_str(&b, "hello");
    char *s = cm_buf_steal(&b, &len);
    cr_assert_str_eq(s, "hello");
    cr_assert_eq(len, 5);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    free(s);
    cm_buf_close(&b);
}
