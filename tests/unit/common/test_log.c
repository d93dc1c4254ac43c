/* test_log.c - the key=value line logger, read back through a pipe. */
#include "common/err.h"
#include "common/log.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int saved_stderr = -1;
static int pipe_rd = -1;

/* Points stderr at a pipe for the test; read it with drain(). */
static void capture(void)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    saved_stderr = dup(STDERR_FILENO);
    cr_assert_geq(dup2(p[1], STDERR_FILENO), 0);
    close(p[1]);
    pipe_rd = p[0];
    fcntl(pipe_rd, F_SETFL, O_NONBLOCK);
}

static void restore(void)
{
    if (saved_stderr >= 0) {
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        saved_stderr = -1;
    }
    if (pipe_rd >= 0) close(pipe_rd);
    pipe_rd = -1;
    cm_log_set_level(CM_LOG_INFO);
}

static size_t drain(char *out, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(pipe_rd, out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    return n;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

TestSuite(log, .init = capture, .fini = restore, .timeout = 10);

Test(log, one_line_of_pairs)
{
    char out[4096];
    cm_log(CM_LOG_WARN, "cgroup", "cannot read stat file", "path=%s err=%d", "/x", -2);
    drain(out, sizeof out);
    cr_assert_eq(strncmp(out, "ts=", 3), 0, "%s", out);
    cr_assert_not_null(strstr(out, " level=warn mod=cgroup msg=\"cannot read stat file\" "
                                   "path=/x err=-2\n"),
                       "%s", out);
    cr_assert_eq(count_lines(out), 1);
}

Test(log, control_characters_stay_on_one_line)
{
    char out[4096];
    const char *hostile = "evil\nts=2020-01-01T00:00:00Z level=error msg=\"forged\"\r\x1b[2J";
    cm_log(CM_LOG_ERROR, "ingest", "bad\nmessage", "host=%s", hostile);
    size_t n = drain(out, sizeof out);
    cr_assert_gt(n, 0);
    cr_assert_eq(count_lines(out), 1, "got: %s", out);
    cr_assert_eq(out[n - 1], '\n');
    cr_assert_null(strchr(out, '\r'));
    cr_assert_null(strchr(out, '\x1b'));
    cr_assert_not_null(strstr(out, "host=evil?ts=2020"), "%s", out);
}

Test(log, long_lines_are_cut_not_split)
{
    char big[5000], out[8192];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cm_log(CM_LOG_INFO, "t", "long", "v=%s", big);
    size_t n = drain(out, sizeof out);
    cr_assert_eq(count_lines(out), 1);
    cr_assert_leq(n, 2048);
}

Test(log, levels_filter)
{
    char out[4096];
    cm_log_set_level(CM_LOG_WARN);
    cr_assert_not(cm_log_is_enabled(CM_LOG_INFO));
    cr_assert(cm_log_is_enabled(CM_LOG_ERROR));
    cm_log(CM_LOG_INFO, "t", "hidden", NULL);
    cm_log(CM_LOG_ERROR, "t", "shown", NULL);
    drain(out, sizeof out);
    cr_assert_null(strstr(out, "hidden"));
    cr_assert_not_null(strstr(out, "msg=\"shown\"\n"), "%s", out);

    enum cm_log_level l;
    cr_assert_eq(cm_log_level_parse("debug", &l), 0);
    cr_assert_eq(l, CM_LOG_DEBUG);
    cr_assert_eq(cm_log_level_parse("error", &l), 0);
    cr_assert_eq(l, CM_LOG_ERROR);
    cr_assert_eq(cm_log_level_parse("verbose", &l), CM_EPARSE);
}

Test(log, ratelimit)
{
    struct cm_ratelimit rl = {0};
    unsigned sup = 99;
    cr_assert(cm_ratelimit_allow(&rl, 2, 60000, &sup));
    cr_assert_eq(sup, 0);
    cr_assert(cm_ratelimit_allow(&rl, 2, 60000, NULL));
    for (int i = 0; i < 5; i++)
        cr_assert_not(cm_ratelimit_allow(&rl, 2, 60000, NULL));
    rl.window_start_ms -= 61000; /* as if the window had passed */
    cr_assert(cm_ratelimit_allow(&rl, 2, 60000, &sup));
    cr_assert_eq(sup, 5, "reports what was dropped");
}
