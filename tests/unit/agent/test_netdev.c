/* test_netdev.c - /proc/<pid>/net/dev parsing with a fixture file and
 * hand-made edge cases. */
#include "agent/netdev.h"
#include "common/err.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(netdev, .timeout = 30);

Test(netdev, fixture_sums_all_but_lo)
{
    size_t len;
    char *text = tu_read_file(tu_fixture_path("netdev/net_dev"), &len);
    cr_assert_not_null(text, "fixture netdev/net_dev missing (BOXWATCH_FIXTURES)");
    struct ag_netdev_totals t;
    cr_assert_eq(ag_netdev_parse(text, len, &t), 0);
    cr_expect_eq(t.ifaces, 2);
    cr_expect_eq(t.rx_bytes, 1000300);
    cr_expect_eq(t.rx_packets, 2003);
    cr_expect_eq(t.tx_bytes, 500700);
    cr_expect_eq(t.tx_packets, 1007);
    free(text);
}

Test(netdev, only_lo_is_zero_not_error)
{
    const char *s = "Inter-|\n face |\n    lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
    struct ag_netdev_totals t = {.rx_bytes = 99};
    cr_assert_eq(ag_netdev_parse(s, strlen(s), &t), 0);
    cr_expect_eq(t.ifaces, 0);
    cr_expect_eq(t.rx_bytes, 0);
}

Test(netdev, no_space_after_colon_crlf_and_garbage)
{
    const char *s = "header\r\n"
                    "eth0:10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\r\n"
                    "bad: 1 2 3\r\n"
                    "worse: a b c d e f g h i j k l m n o p\r\n"
                    ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\r\n"
                    "  veth9: 18446744073709551615 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0";
    struct ag_netdev_totals t;
    cr_assert_eq(ag_netdev_parse(s, strlen(s), &t), 0);
    cr_expect_eq(t.ifaces, 2);
    cr_expect_eq(t.rx_bytes, UINT64_MAX); /* saturated */
    cr_expect_eq(t.rx_packets, 2);
    cr_expect_eq(t.tx_bytes, 25);
    cr_expect_eq(t.tx_packets, 3);
}

Test(netdev, nothing_parsable_is_error)
{
    struct ag_netdev_totals t;
    cr_expect_eq(ag_netdev_parse("", 0, &t), CM_EPARSE);
    cr_expect_eq(ag_netdev_parse("Inter-|\n face |\n", 17, &t), CM_EPARSE);
}
