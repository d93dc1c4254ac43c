/* test_seqstore.c - sequence numbers grow across reopen and crashes, and a
 * corrupt file is refused instead of silently restarting at 1. */
#include "agent/seqstore.h"
#include "common/err.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static char state[4096];

static void setup(void)
{
    dir = tu_mkdtemp();
    cr_assert_not_null(dir);
    snprintf(state, sizeof state, "%s/state", dir);
}

static void teardown(void)
{
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(seqstore, .init = setup, .fini = teardown, .timeout = 20);

static struct ag_seqstore *open_store(uint64_t block)
{
    struct ag_seqstore *ss = NULL;
    char err[256] = "";
    int rc = ag_seqstore_new(state, block, &ss, err, sizeof err);
    cr_assert_eq(rc, 0, "ag_seqstore_new: %d %s", rc, err);
    return ss;
}

static uint64_t next(struct ag_seqstore *ss)
{
    uint64_t v = 0;
    cr_assert_eq(ag_seqstore_next(ss, &v), 0);
    return v;
}

static uint64_t file_bound(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/seq", state);
    char *text = tu_read_file(path, NULL);
    cr_assert_not_null(text);
    uint64_t v = strtoull(text, NULL, 10);
    free(text);
    return v;
}

Test(seqstore, starts_at_one_and_grows_across_reopen)
{
    struct ag_seqstore *ss = open_store(10);
    struct stat st;
    cr_assert_eq(stat(state, &st), 0, "the state dir is created");
    cr_assert_eq(st.st_mode & 0777, 0700);
    uint64_t last = 0;
    for (int i = 0; i < 25; i++) { /* crosses two block boundaries */
        uint64_t v = next(ss);
        cr_assert_eq(v, last + 1, "seq %llu after %llu", (unsigned long long)v,
                     (unsigned long long)last);
        cr_assert_leq(v, file_bound(), "a seq above the bound on disk was handed out");
        last = v;
    }
    cr_assert_eq(ag_seqstore_reserved(ss), 30);
    ag_seqstore_free(ss);

    ss = open_store(10);
    uint64_t v = next(ss);
    cr_assert_gt(v, last, "reopened store handed out %llu, not above %llu", (unsigned long long)v,
                 (unsigned long long)last);
    ag_seqstore_free(ss);
}

/* A child takes numbers and dies without closing; the parent must continue
 * above everything the child handed out. */
Test(seqstore, survives_a_crash)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct ag_seqstore *ss = NULL;
        char err[256];
        uint64_t v = 0;
        if (ag_seqstore_new(state, 0, &ss, err, sizeof err) < 0) _exit(2);
        for (int i = 0; i < 1500; i++)
            if (ag_seqstore_next(ss, &v) < 0) _exit(3);
        if (write(fds[1], &v, sizeof v) != sizeof v) _exit(4);
        _exit(0); /* no ag_seqstore_free: a crash */
    }
    close(fds[1]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    uint64_t child_last = 0;
    cr_assert_eq(read(fds[0], &child_last, sizeof child_last), (ssize_t)sizeof child_last);
    close(fds[0]);
    cr_assert_eq(child_last, 1500);

    struct ag_seqstore *ss = open_store(0);
    uint64_t v = next(ss);
    cr_assert_gt(v, child_last, "after a crash: %llu is not above %llu", (unsigned long long)v,
                 (unsigned long long)child_last);
    ag_seqstore_free(ss);
}

static void expect_corrupt(const char *content)
{
    cr_assert_eq(mkdir(state, 0700), 0);
    cr_assert_eq(tu_write_file(state, "seq", content), 0);
    struct ag_seqstore *ss = NULL;
    char err[512] = "";
    cr_assert_eq(ag_seqstore_new(state, 0, &ss, err, sizeof err), CM_EPARSE, "accepted '%s'",
                 content);
    cr_assert_null(ss);
    cr_assert(strstr(err, "corrupt") && strstr(err, "/seq"), "unclear error: %s", err);
    char path[4200];
    snprintf(path, sizeof path, "%s/seq", state);
    char *after = tu_read_file(path, NULL);
    cr_assert_str_eq(after, content, "a corrupt file must be left as it is");
    free(after);
}

Test(seqstore, corrupt_file_is_an_error)
{
    expect_corrupt("12abc\n");
}

Test(seqstore, empty_file_is_an_error)
{
    expect_corrupt("");
}

Test(seqstore, overflowing_file_is_an_error)
{
    expect_corrupt("99999999999999999999999\n");
}

Test(seqstore, continues_above_an_edited_bound)
{
    cr_assert_eq(mkdir(state, 0700), 0);
    cr_assert_eq(tu_write_file(state, "seq", "123456\n"), 0);
    struct ag_seqstore *ss = open_store(100);
    cr_assert_eq(next(ss), 123457);
    cr_assert_eq(file_bound(), 123556);
    ag_seqstore_free(ss);
}

Test(seqstore, one_state_dir_one_agent)
{
    struct ag_seqstore *ss = open_store(0);
    struct ag_seqstore *other = NULL;
    char err[256] = "";
    cr_assert_eq(ag_seqstore_new(state, 0, &other, err, sizeof err), -EWOULDBLOCK);
    cr_assert(strstr(err, "in use") != NULL, "%s", err);
    ag_seqstore_free(ss);
}
