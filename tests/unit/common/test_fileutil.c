/* test_fileutil.c - durable whole-file replacement. */
#include "common/fileutil.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static char path[4096], tmp[4096];

static void setup(void)
{
    dir = tu_mkdtemp();
    cr_assert_not_null(dir);
    snprintf(path, sizeof path, "%s/state", dir);
    snprintf(tmp, sizeof tmp, "%s/state.tmp", dir);
}

static void teardown(void)
{
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(fileutil, .init = setup, .fini = teardown, .timeout = 30);

static mode_t mode_of(const char *p)
{
    struct stat st;
    cr_assert_eq(stat(p, &st), 0, "stat %s", p);
    return st.st_mode & 07777;
}

Test(fileutil, replaces_content_and_mode_and_leaves_no_temporary)
{
    cr_assert_eq(tu_write_file(dir, "state", "old contents, longer than the new\n"), 0);
    chmod(path, 0644);
    cr_assert_eq(cm_file_replace(path, tmp, 0600, "new\n", 4), 0);
    char *got = tu_read_file(path, NULL);
    cr_assert_str_eq(got, "new\n");
    free(got);
    cr_assert_eq(mode_of(path), 0600, "the new mode applies even over an existing file");
    cr_assert_eq(access(tmp, F_OK), -1, "temporary renamed away");
}

Test(fileutil, stale_temporary_with_wide_mode_is_narrowed)
{
    cr_assert_eq(tu_write_file(dir, "state.tmp", "left by a crash"), 0);
    chmod(tmp, 0666);
    cr_assert_eq(cm_file_replace(path, tmp, 0600, "x", 1), 0);
    cr_assert_eq(mode_of(path), 0600);
}

Test(fileutil, symlink_as_temporary_is_refused_and_old_file_kept)
{
    cr_assert_eq(tu_write_file(dir, "state", "keep me"), 0);
    char target[4200];
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    cr_assert_eq(symlink(target, tmp), 0);
    int rc = cm_file_replace(path, tmp, 0600, "evil", 4);
    cr_assert_eq(rc, -ELOOP, "rc %d", rc);
    cr_assert_eq(access(target, F_OK), -1, "nothing written through the link");
    char *got = tu_read_file(path, NULL);
    cr_assert_str_eq(got, "keep me");
    free(got);
}

Test(fileutil, missing_directory_is_an_errno)
{
    char p[4200], t[4200];
    snprintf(p, sizeof p, "%s/no/such/state", dir);
    snprintf(t, sizeof t, "%s/no/such/state.tmp", dir);
    cr_assert_eq(cm_file_replace(p, t, 0600, "x", 1), -ENOENT);
    cr_assert_eq(cm_fsync_dir(dir), 0);
    cr_assert_eq(cm_fsync_dir(p), -ENOENT);
}
