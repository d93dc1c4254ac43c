/* test_logoffsets.c - the persisted offset table: round trip through the
 * file, the 7-day expiry, malformed lines and keys, a torn tail. */
#include "agent/logoffsets.h"
#include "common/err.h"
#include "common/timeutil.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY (INT64_C(86400) * CM_NS_PER_SEC)

static char *dir;

static void setup(void)
{
    dir = tu_mkdtemp();
}

static void teardown(void)
{
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(logoffsets, .init = setup, .fini = teardown);

Test(logoffsets, round_trip)
{
    struct ag_logoffsets *o;
    int64_t now = cm_time_now_ns();
    cr_assert_eq(ag_logoffsets_open(dir, &o), 0);
    cr_assert_eq(ag_logoffsets_count(o), 0);
    uint64_t off;
    cr_assert_eq(ag_logoffsets_get(o, "1:2", &off), CM_ENOTFOUND);
    cr_assert_eq(ag_logoffsets_set(o, "2049:131", "/var/log/with space.log", 12345, now), 0);
    cr_assert_eq(ag_logoffsets_set(o, "2049:132", "/a\nb", 7, now), 0);
    cr_assert_eq(ag_logoffsets_set(o, "2049:131", NULL, 22222, now), 0);
    cr_assert_eq(ag_logoffsets_save(o, now), 0);
    ag_logoffsets_free(o);
    cr_assert_eq(ag_logoffsets_open(dir, &o), 0);
    cr_assert_eq(ag_logoffsets_count(o), 2);
    cr_assert_eq(ag_logoffsets_get(o, "2049:131", &off), 0);
    cr_assert_eq(off, 22222);
    cr_assert_eq(ag_logoffsets_get(o, "2049:132", &off), 0);
    cr_assert_eq(off, 7);
    cr_assert(ag_logoffsets_has_path(o, "/var/log/with space.log"));
    cr_assert_not(ag_logoffsets_has_path(o, "/var/log/other.log"));
    ag_logoffsets_free(o);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, AG_LOGOFFSETS_FILE);
    char *text = tu_read_file(path, NULL);
    cr_assert_not_null(strstr(text, "/var/log/with space.log\n"));
    cr_assert_not_null(strstr(text, "/a?b\n"));
    free(text);
}

Test(logoffsets, keys_at_lists_the_entries_last_seen_at_a_path)
{
    struct ag_logoffsets *o;
    int64_t now = cm_time_now_ns();
    cr_assert_eq(ag_logoffsets_open(dir, &o), 0);
    cr_assert_eq(ag_logoffsets_set(o, "1:10", "/var/log/auth.log", 5, now), 0);
    cr_assert_eq(ag_logoffsets_set(o, "1:11", "/var/log/syslog", 6, now), 0);
    cr_assert_eq(ag_logoffsets_set(o, "1:12", "/var/log/auth.log", 7, now), 0);
    ag_logoffsets_seen(o, "1:11", "/var/log/auth.log", now); /* moved: now at auth.log */
    ag_logoffsets_seen(o, "1:12", "/var/log/auth.log.1", now); /* moved away */
    char keys[4][48];
    size_t n = ag_logoffsets_keys_at(o, "/var/log/auth.log", keys, 4);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(keys[0], "1:10");
    cr_assert_str_eq(keys[1], "1:11");
    cr_assert_eq(ag_logoffsets_keys_at(o, "/var/log/auth.log", keys, 1), 1, "capped at max");
    cr_assert_eq(ag_logoffsets_keys_at(o, "/var/log/none", keys, 4), 0);
    ag_logoffsets_free(o);
}

Test(logoffsets, entries_unseen_for_seven_days_dropped)
{
    struct ag_logoffsets *o;
    int64_t now = cm_time_now_ns();
    cr_assert_eq(ag_logoffsets_open(dir, &o), 0);
    cr_assert_eq(ag_logoffsets_set(o, "1:1", "/old", 10, now - 8 * DAY), 0);
    cr_assert_eq(ag_logoffsets_set(o, "1:2", "/kept", 20, now - 6 * DAY), 0);
    cr_assert_eq(ag_logoffsets_set(o, "1:3", "/seen", 30, now - 8 * DAY), 0);
    ag_logoffsets_seen(o, "1:3", "/seen-now", now);
    ag_logoffsets_seen(o, "9:9", "/none", now); /* no entry: stays absent */
    cr_assert_eq(ag_logoffsets_save(o, now), 0);
    ag_logoffsets_free(o);
    cr_assert_eq(ag_logoffsets_open(dir, &o), 0);
    uint64_t off;
    cr_assert_eq(ag_logoffsets_count(o), 2);
    cr_assert_eq(ag_logoffsets_get(o, "1:1", &off), CM_ENOTFOUND);
    cr_assert_eq(ag_logoffsets_get(o, "1:2", &off), 0);
    cr_assert_eq(ag_logoffsets_get(o, "1:3", &off), 0);
    cr_assert_eq(ag_logoffsets_get(o, "9:9", &off), CM_ENOTFOUND);
    ag_logoffsets_free(o);
}

Test(logoffsets, malformed_lines_skipped_torn_tail_ignored)
{
    cr_assert_eq(tu_write_file(dir, AG_LOGOFFSETS_FILE,
                               "boxwatch-log-offsets 1\n"
                               "1:5 100 1700000000 /good\n"
                               "x:5 100 1700000000 /badkey\n"
                               "1:6 -1 1700000000 /badoff\n"
                               "1:7 100\n"
                               "garbage\n"
                               "1:8 100 1700000000 /torn"),
                 0);
    struct ag_logoffsets *o;
    cr_assert_eq(ag_logoffsets_open(dir, &o), 0);
    cr_assert_eq(ag_logoffsets_count(o), 1);
    uint64_t off;
    cr_assert_eq(ag_logoffsets_get(o, "1:5", &off), 0);
    cr_assert_eq(off, 100);
    cr_assert_eq(ag_logoffsets_set(o, "nocolon", "/p", 1, 0), CM_EPARSE);
    cr_assert_eq(ag_logoffsets_set(o, "1:", "/p", 1, 0), CM_EPARSE);
    ag_logoffsets_free(o);
}

Test(logoffsets, wrong_header_is_an_error)
{
    cr_assert_eq(tu_write_file(dir, AG_LOGOFFSETS_FILE, "something else\n1:5 1 1 /x\n"), 0);
    struct ag_logoffsets *o = NULL;
    cr_assert_eq(ag_logoffsets_open(dir, &o), CM_EPARSE);
    cr_assert_null(o);
}
