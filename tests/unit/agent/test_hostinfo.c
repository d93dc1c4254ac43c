/* test_hostinfo.c - Hello's host facts come from the host root, trimmed and
 * capped. */
#include "agent/hostinfo.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *root;

static void setup(void)
{
    root = tu_mkdtemp();
    cr_assert_not_null(root);
}

static void teardown(void)
{
    tu_rm_rf(root);
    free(root);
}

TestSuite(hostinfo, .init = setup, .fini = teardown, .timeout = 10);

Test(hostinfo, reads_and_trims_the_host_root)
{
    tu_write_file(root, "proc/sys/kernel/hostname", "  web-01.example \n");
    tu_write_file(root, "etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    tu_write_file(root, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\r\nsecond line\n");
    struct ag_hostinfo hi;
    cr_assert_eq(ag_hostinfo_read(root, &hi), 0);
    cr_assert_str_eq(hi.hostname, "web-01.example");
    cr_assert_str_eq(hi.machine_id, "0123456789abcdef0123456789abcdef");
    cr_assert_str_eq(hi.kernel, "6.1.0-18-amd64");
}

Test(hostinfo, trailing_slash_in_root)
{
    char r[4200];
    snprintf(r, sizeof r, "%s//", root);
    tu_write_file(root, "proc/sys/kernel/hostname", "h1\n");
    struct ag_hostinfo hi;
    cr_assert_eq(ag_hostinfo_read(r, &hi), 0);
    cr_assert_str_eq(hi.hostname, "h1");
}

Test(hostinfo, missing_files_fall_back)
{
    struct ag_hostinfo hi;
    char own[256] = "";
    cr_assert_eq(gethostname(own, sizeof own - 1), 0);
    cr_assert_eq(ag_hostinfo_read(root, &hi), 0);
    cr_assert_str_eq(hi.hostname, own, "falls back to gethostname()");
    cr_assert_str_eq(hi.machine_id, "");
    cr_assert_str_eq(hi.kernel, "");
}

Test(hostinfo, long_and_hostile_values_are_capped_and_cleaned)
{
    char big[4096];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tu_write_file(root, "proc/sys/kernel/hostname", big);
    tu_write_file(root, "etc/machine-id", "ab\x1b[31mcd\xff\n");
    struct ag_hostinfo hi;
    cr_assert_eq(ag_hostinfo_read(root, &hi), 0);
    cr_assert_eq(strlen(hi.hostname), CM_WIRE_HOSTNAME_MAX);
    cr_assert_str_eq(hi.machine_id, "ab?[31mcd?");
}

Test(hostinfo, real_root)
{
    struct ag_hostinfo hi;
    cr_assert_eq(ag_hostinfo_read("/", &hi), 0);
    cr_assert_neq(hi.hostname[0], '\0');
    cr_assert_neq(hi.kernel[0], '\0', "/proc/sys/kernel/osrelease exists on Linux");
}
