/* test_logtail.c - the tailer on real files in a temp dir with a real uv
 * loop: order and offsets, rename rotation while writing (numbered lines,
 * none lost or doubled), copytruncate, truncation, a file appearing, restart
 * at the committed offset, rotation while no tailer ran (the old file's
 * unread tail read once after restart; the old file deleted), a 10 MB
 * line (bounded, the loop keeps running), binary content, a FIFO and a
 * directory at watched paths, and the formats with partial joins and
 * malformed records. */
#include "agent/logfmt.h"
#include "agent/logtail.h"
#include "common/err.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rec {
    char *text;
    size_t len;
    uint64_t off, end;
    bool trunc;
    char key[48];
    char stream[8];
    char path[256];
    char cid[CM_CONTAINER_ID_MAX + 1];
    enum cm_log_source_kind kind;
    int64_t ts;
    unsigned ticks; /* loop iterations seen when the line arrived */
};

struct coll {
    struct rec *v;
    size_t n, cap;
    unsigned ticks;
};

static char *dir;
static uv_loop_t loop;
static struct coll got;

static void on_line(void *arg, const struct ag_tail_line *l)
{
    struct coll *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
    }
    struct rec *r = &c->v[c->n++];
    memset(r, 0, sizeof *r);
    cr_assert_eq(strlen(l->text), l->len, "text has a NUL inside");
    r->text = strndup(l->text, l->len);
    r->len = l->len;
    r->off = l->offset;
    r->end = l->end_offset;
    r->trunc = l->truncated;
    r->ts = l->ts_ns;
    r->ticks = c->ticks;
    snprintf(r->key, sizeof r->key, "%s", l->source->file_key);
    snprintf(r->stream, sizeof r->stream, "%s", l->source->stream);
    snprintf(r->path, sizeof r->path, "%s", l->source->path);
    snprintf(r->cid, sizeof r->cid, "%s", l->source->container_id);
    r->kind = l->source->kind;
}

static void setup(void)
{
    dir = tu_mkdtemp();
    uv_loop_init(&loop);
    memset(&got, 0, sizeof got);
}

static void clear(void)
{
    for (size_t i = 0; i < got.n; i++) free(got.v[i].text);
    free(got.v);
    memset(&got, 0, sizeof got);
}

static void teardown(void)
{
    uv_run(&loop, UV_RUN_NOWAIT);
    cr_assert_eq(uv_loop_close(&loop), 0, "handles left open");
    clear();
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(logtail, .init = setup, .fini = teardown, .timeout = 60);

static const char *p(const char *rel)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, rel);
    return buf[i];
}

static void append(const char *rel, const char *text)
{
    FILE *f = fopen(p(rel), "a");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *key_of(const char *rel)
{
    static char key[48];
    struct stat st;
    cr_assert_eq(stat(p(rel), &st), 0);
    snprintf(key, sizeof key, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    return key;
}

static struct ag_tail *tail_new(struct ag_tail_opts *o, bool with_loop)
{
    struct ag_tail *t = NULL;
    char err[256] = "";
    o->state_dir = dir;
    o->on_line = on_line;
    o->arg = &got;
    if (o->rescan_ms == 0) o->rescan_ms = 50;
    cr_assert_eq(ag_tail_new(with_loop ? &loop : NULL, o, &t, err, sizeof err), 0, "%s", err);
    return t;
}

static void set_one(struct ag_tail *t, const char *rel, enum ag_log_format fmt)
{
    struct ag_tail_source s = {.path = p(rel), .kind = CM_LOG_SRC_FILE, .format = fmt};
    cr_assert_eq(ag_tail_set_sources(t, &s, 1), 0);
}

/* Counts loop iterations: each one gave timers and I/O their turn. */
static void tick_cb(uv_prepare_t *h)
{
    (void)h;
    got.ticks++;
}

static void stop_cb(uv_timer_t *h)
{
    *(bool *)h->data = true;
}

/* Runs the loop until `want` lines arrived or ms passed. */
static void run_until(size_t want, unsigned ms)
{
    uv_timer_t guard;
    bool expired = false;
    uv_timer_init(&loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, stop_cb, ms, 0);
    while (got.n < want && !expired) uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

static void tail_free(struct ag_tail *t)
{
    ag_tail_free(t);
    uv_run(&loop, UV_RUN_DEFAULT);
}

Test(logtail, lines_in_order_with_offsets_then_appended)
{
    append("a.log", "a\nbb\nccc\n");
    struct ag_tail_opts o = {.start_at_end = false};
    struct ag_tail *t = tail_new(&o, true);
    set_one(t, "a.log", AG_LOG_FMT_RAW);
    run_until(3, 5000);
    cr_assert_eq(got.n, 3);
    cr_assert_str_eq(got.v[0].text, "a");
    cr_assert_str_eq(got.v[2].text, "ccc");
    cr_assert_eq(got.v[1].off, 2);
    cr_assert_eq(got.v[1].end, 5);
    cr_assert_eq(got.v[2].off, 5);
    cr_assert_eq(got.v[2].end, 9);
    struct stat st;
    stat(p("a.log"), &st);
    char key[48];
    snprintf(key, sizeof key, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    cr_assert_str_eq(got.v[0].key, key);
    cr_assert_str_eq(got.v[0].path, p("a.log"));
    append("a.log", "unfinished");
    run_until(4, 300);
    cr_assert_eq(got.n, 3, "a line without its newline is not handed out");
    append("a.log", " now\r\n");
    run_until(4, 5000);
    cr_assert_eq(got.n, 4);
    cr_assert_str_eq(got.v[3].text, "unfinished now");
    cr_assert_eq(got.v[3].off, 9);
    const struct cm_log_stats *stats;
    size_t n;
    cr_assert_eq(ag_tail_take_stats(t, 1, &stats, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(stats[0].lines, 4);
    cr_assert_eq(stats[0].bytes, 25);
    cr_assert_str_eq(stats[0].source.file_key, key);
    cr_assert_eq(ag_tail_take_stats(t, 2, &stats, &n), 0);
    cr_assert_eq(stats[0].lines, 0);
    tail_free(t);
}

/* No rescan within the test's time: only inotify (uv_fs_event) can wake
 * the tailer, on the path's directory and on its symlink target's. */
Test(logtail, fs_event_wakes_the_tailer_through_a_symlink)
{
    cr_assert_eq(tu_write_file(dir, "pods/c1/0.log", ""), 0);
    cr_assert_eq(mkdir(p("containers"), 0700), 0);
    cr_assert_eq(symlink(p("pods/c1/0.log"), p("containers/c1.log")), 0);
    struct ag_tail_opts o = {.rescan_ms = 600000};
    struct ag_tail *t = tail_new(&o, true);
    struct ag_tail_source s = {.path = p("containers/c1.log"), .kind = CM_LOG_SRC_CONTAINER,
                               .format = AG_LOG_FMT_RAW, .container_id = "c1"};
    cr_assert_eq(ag_tail_set_sources(t, &s, 1), 0);
    run_until(1, 200);
    append("pods/c1/0.log", "woken\n");
    run_until(1, 5000);
    cr_assert_eq(got.n, 1);
    cr_assert_str_eq(got.v[0].text, "woken");
    cr_assert_str_eq(got.v[0].path, p("containers/c1.log"));
    cr_assert_str_eq(got.v[0].cid, "c1");
    cr_assert_eq(got.v[0].kind, CM_LOG_SRC_CONTAINER);
    tail_free(t);
}

Test(logtail, start_at_end_skips_existing_content)
{
    append("a.log", "old 1\nold 2\n");
    struct ag_tail_opts o = {.start_at_end = true};
    struct ag_tail *t = tail_new(&o, true);
    set_one(t, "a.log", AG_LOG_FMT_RAW);
    run_until(1, 200);
    cr_assert_eq(got.n, 0);
    append("a.log", "new\n");
    run_until(1, 5000);
    cr_assert_eq(got.n, 1);
    cr_assert_str_eq(got.v[0].text, "new");
    cr_assert_eq(got.v[0].off, 12);
    tail_free(t);
}

Test(logtail, from_start_source_reads_existing_content_despite_start_at_end)
{
    append("ctr.log", "first\nsecond\n");
    struct ag_tail_opts o = {.start_at_end = true};
    struct ag_tail *t = tail_new(&o, true);
    struct ag_tail_source s = {
        .path = p("ctr.log"), .kind = CM_LOG_SRC_CONTAINER, .format = AG_LOG_FMT_RAW,
        .container_id = "abc", .from_start = true};
    cr_assert_eq(ag_tail_set_sources(t, &s, 1), 0);
    run_until(2, 5000);
    cr_assert_eq(got.n, 2);
    cr_assert_str_eq(got.v[0].text, "first");
    cr_assert_eq(got.v[0].off, 0);
    tail_free(t);
}

/* Numbered lines, a rename rotation every 97 lines, the tailer running in
 * between: every number exactly once, in order. */
Test(logtail, rename_rotation_while_writing)
{
    struct ag_tail_opts o = {.start_at_end = true};
    struct ag_tail *t = tail_new(&o, true);
    set_one(t, "app.log", AG_LOG_FMT_RAW);
    append("app.log", "");
    run_until(1, 100);
    const int total = 2000;
    FILE *f = fopen(p("app.log"), "a");
    for (int i = 0; i < total; i++) {
        fprintf(f, "line %d\n", i);
        fflush(f);
        if (i % 97 == 96) { /* logrotate: rename, the writer reopens the path */
            cr_assert_eq(rename(p("app.log"), p("app.log.1")), 0);
            fprintf(f, "late %d\n", i); /* still written to the old file */
            fclose(f);
            f = fopen(p("app.log"), "a");
        }
        if (i % 13 == 0) uv_run(&loop, UV_RUN_NOWAIT);
    }
    fclose(f);
    size_t want = (size_t)total + (size_t)(total / 97);
    run_until(want, 10000);
    cr_assert_eq(got.n, want);
    int next = 0;
    for (size_t i = 0; i < got.n; i++) {
        if (strncmp(got.v[i].text, "late ", 5) == 0) continue;
        char want_text[32];
        snprintf(want_text, sizeof want_text, "line %d", next);
        cr_assert_str_eq(got.v[i].text, want_text, "at %zu", i);
        next++;
    }
    cr_assert_eq(next, total);
    tail_free(t);
}

Test(logtail, copytruncate_restarts_at_zero)
{
    append("c.log", "one\ntwo\nthree\n");
    struct ag_tail_opts o = {0};
    struct ag_tail *t = tail_new(&o, true);
    set_one(t, "c.log", AG_LOG_FMT_RAW);
    run_until(3, 5000);
    cr_assert_eq(got.n, 3);
    /* logrotate copytruncate: copy, then truncate the same inode */
    char *old = tu_read_file(p("c.log"), NULL);
    cr_assert_eq(tu_write_file(dir, "c.log.1", old), 0);
    free(old);
    cr_assert_eq(truncate(p("c.log"), 0), 0);
    ag_tail_poll(t);
    append("c.log", "after\n");
    run_until(4, 5000);
    cr_assert_eq(got.n, 4);
    cr_assert_str_eq(got.v[3].text, "after");
    cr_assert_eq(got.v[3].off, 0);
    cr_assert_str_eq(got.v[3].key, got.v[0].key);
    tail_free(t);
}

Test(logtail, truncation_to_shorter_content)
{
    append("c.log", "a long first line\nsecond\n");
    struct ag_tail_opts o = {0};
    struct ag_tail *t = tail_new(&o, false);
    set_one(t, "c.log", AG_LOG_FMT_RAW);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 2);
    int fd = open(p("c.log"), O_WRONLY | O_TRUNC);
    cr_assert_eq(write(fd, "x\n", 2), 2);
    close(fd);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 3);
    cr_assert_str_eq(got.v[2].text, "x");
    cr_assert_eq(got.v[2].off, 0);
    ag_tail_free(t);
}

Test(logtail, a_new_file_appearing_is_read_from_its_start)
{
    struct ag_tail_opts o = {.start_at_end = true};
    struct ag_tail *t = tail_new(&o, true);
    set_one(t, "sub/later.log", AG_LOG_FMT_RAW);
    run_until(1, 150);
    cr_assert_eq(got.n, 0);
    cr_assert_eq(tu_write_file(dir, "sub/later.log", "first\nsecond\n"), 0);
    run_until(2, 5000);
    cr_assert_eq(got.n, 2);
    cr_assert_str_eq(got.v[0].text, "first");
    cr_assert_eq(got.v[0].off, 0);
    tail_free(t);
}

Test(logtail, restart_resumes_at_the_committed_offset)
{
    append("r.log", "l1\nl2\nl3\nl4\nl5\n");
    struct ag_tail_opts o = {0};
    struct ag_tail *t = tail_new(&o, false);
    set_one(t, "r.log", AG_LOG_FMT_RAW);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 5);
    cr_assert_str_eq(got.v[2].key, key_of("r.log"));
    cr_assert_eq(ag_tail_commit(t, got.v[2].key, got.v[2].end), 0); /* l1..l3 acked */
    cr_assert_eq(ag_tail_commit(t, "bad key", 1), CM_EPARSE);
    uint64_t committed = got.v[2].end;
    ag_tail_free(t);
    clear();
    append("r.log", "l6\n");
    struct ag_tail_opts o2 = {.start_at_end = true};
    t = tail_new(&o2, false);
    set_one(t, "r.log", AG_LOG_FMT_RAW);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 3);
    cr_assert_eq(got.v[0].off, committed);
    cr_assert_str_eq(got.v[0].text, "l4");
    cr_assert_str_eq(got.v[2].text, "l6");
    ag_tail_poll(t);
    cr_assert_eq(got.n, 3, "read once");
    ag_tail_free(t);
    /* the file now shorter than the committed offset: from 0 */
    clear();
    cr_assert_eq(truncate(p("r.log"), 0), 0);
    append("r.log", "z\n");
    t = tail_new(&o2, false);
    set_one(t, "r.log", AG_LOG_FMT_RAW);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 1);
    cr_assert_str_eq(got.v[0].text, "z");
    ag_tail_free(t);
    /* rotated while no tailer ran: the new inode at the path is read from 0
     * even with start_at_end, the old one is not followed */
    clear();
    cr_assert_eq(rename(p("r.log"), p("r.log.1")), 0);
    append("r.log", "fresh\n");
    t = tail_new(&o2, false);
    set_one(t, "r.log", AG_LOG_FMT_RAW);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 1);
    cr_assert_str_eq(got.v[0].text, "fresh");
    cr_assert_eq(got.v[0].off, 0);
    ag_tail_free(t);
}

Test(logtail, ten_megabyte_line_is_bounded_and_the_loop_runs)
{
    size_t big = 10 * 1024 * 1024;
    char *line = malloc(big + 1);
    memset(line, 'x', big);
    line[big] = '\0';
    FILE *f = fopen(p("big.log"), "w");
    fwrite(line, 1, big, f);
    fputs("\nnext line\n", f);
    fclose(f);
    free(line);
    struct ag_tail_opts o = {.max_line_bytes = 4096, .read_budget_bytes = 512 * 1024,
                             .rescan_ms = 600000}; /* only the budget paces the polls */
    struct ag_tail *t = tail_new(&o, true);
    static uv_prepare_t tick; /* outlives a failed assertion's jump */
    uv_prepare_init(&loop, &tick);
    uv_prepare_start(&tick, tick_cb);
    set_one(t, "big.log", AG_LOG_FMT_RAW);
    run_until(2, 30000);
    uv_close((uv_handle_t *)&tick, NULL);
    cr_assert_eq(got.n, 2);
    cr_assert(got.v[0].trunc);
    cr_assert_eq(got.v[0].len, 4096);
    cr_assert_eq(got.v[0].end, big + 1);
    cr_assert_not(got.v[1].trunc);
    cr_assert_str_eq(got.v[1].text, "next line");
    cr_assert_eq(got.v[1].off, big + 1);
    /* 10 MB at 512 KiB per turn: ~20 loop iterations in between, not one */
    cr_assert_geq(got.v[1].ticks, 15, "the loop went round %u times while reading",
                  got.v[1].ticks);
    const struct cm_log_stats *st;
    size_t n;
    ag_tail_take_stats(t, 1, &st, &n);
    cr_assert_eq(st[0].lines_truncated, 1);
    tail_free(t);
}

Test(logtail, binary_file_gives_bounded_clean_text)
{
    unsigned char buf[4096];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)((i * 7919) % 256);
    FILE *f = fopen(p("bin.log"), "w");
    fwrite(buf, 1, sizeof buf, f);
    fputc('\n', f);
    fclose(f);
    struct ag_tail_opts o = {.max_line_bytes = 100};
    struct ag_tail *t = tail_new(&o, false);
    set_one(t, "bin.log", AG_LOG_FMT_RAW);
    ag_tail_poll(t);
    cr_assert_gt(got.n, 1);
    size_t lines = 0;
    for (size_t i = 0; i < sizeof buf; i++) lines += buf[i] == '\n';
    cr_assert_eq(got.n, lines + 1);
    for (size_t i = 0; i < got.n; i++) {
        cr_assert_leq(got.v[i].len, 100);
        cr_assert_eq(ag_logfmt_sanitize(got.v[i].text, got.v[i].len), 0, "line %zu not clean", i);
    }
    ag_tail_free(t);
}

Test(logtail, fifo_and_directory_are_skipped_without_hanging)
{
    cr_assert_eq(mkfifo(p("fifo.log"), 0600), 0);
    cr_assert_eq(mkdir(p("dir.log"), 0700), 0);
    append("ok.log", "fine\n");
    struct ag_tail_opts o = {0};
    struct ag_tail *t = tail_new(&o, true);
    struct ag_tail_source s[3] = {
        {.path = p("fifo.log"), .kind = CM_LOG_SRC_FILE},
        {.path = p("dir.log"), .kind = CM_LOG_SRC_FILE},
        {.path = p("ok.log"), .kind = CM_LOG_SRC_FILE},
    };
    cr_assert_eq(ag_tail_set_sources(t, s, 3), 0);
    run_until(1, 5000);
    run_until(2, 200); /* a few rescans over the FIFO and the directory */
    cr_assert_eq(got.n, 1);
    cr_assert_str_eq(got.v[0].text, "fine");
    tail_free(t);
}

Test(logtail, docker_json_partial_join_and_malformed)
{
    const char *r1 = "{\"log\":\"hel\",\"stream\":\"stderr\",\"time\":\"2026-11-23T11:30:51Z\"}\n";
    const char *r2 = "{\"log\":\"lo\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-23T11:30:52Z\"}\n";
    append("d.log", r1);
    append("d.log", r2);
    append("d.log", "not json at all\n"
                    "{\"log\":\"second\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-23T11:30:53Z\"}\n");
    struct ag_tail_opts o = {0};
    struct ag_tail *t = tail_new(&o, false);
    set_one(t, "d.log", AG_LOG_FMT_DOCKER_JSON);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 2);
    cr_assert_str_eq(got.v[0].text, "hello");
    cr_assert_str_eq(got.v[0].stream, "stderr");
    cr_assert_eq(got.v[0].off, 0);
    cr_assert_eq(got.v[0].end, strlen(r1) + strlen(r2));
    cr_assert_str_eq(got.v[1].text, "second");
    cr_assert_str_eq(got.v[1].stream, "stdout");
    cr_assert_gt(got.v[0].ts, 0);
    const struct cm_log_stats *st;
    size_t n;
    ag_tail_take_stats(t, 1, &st, &n);
    cr_assert_eq(st[0].lines, 2);
    cr_assert_eq(st[0].lines_invalid, 1);
    ag_tail_free(t);
}

Test(logtail, docker_json_join_and_oversized_record_are_capped)
{
    append("d.log", "{\"log\":\"aaaaaaaaaa\",\"stream\":\"stdout\"}\n"
                    "{\"log\":\"bbbbbbbbbb\\n\",\"stream\":\"stdout\"}\n");
    FILE *f = fopen(p("d.log"), "a");
    fputs("{\"log\":\"", f);
    for (int i = 0; i < 1000; i++) fputs("\\u00e9", f); /* 6 bytes each, beyond the record cap */
    fputs("\\n\",\"stream\":\"stderr\"}\n{\"log\":\"ok\\n\"}\n", f);
    fclose(f);
    struct ag_tail_opts o = {.max_line_bytes = 16};
    struct ag_tail *t = tail_new(&o, false);
    set_one(t, "d.log", AG_LOG_FMT_DOCKER_JSON);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 3);
    cr_assert_str_eq(got.v[0].text, "aaaaaaaaaabbbbbb");
    cr_assert(got.v[0].trunc);
    cr_assert_eq(got.v[1].len, 16);
    cr_assert_str_eq(got.v[1].text, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    cr_assert(got.v[1].trunc);
    cr_assert_str_eq(got.v[2].text, "ok");
    cr_assert_not(got.v[2].trunc);
    ag_tail_free(t);
}

Test(logtail, cri_partial_join_is_capped)
{
    append("k.log", "2026-11-23T11:28:05.1Z stdout P aaaaaaaaaa\n"
                    "2026-11-23T11:28:05.2Z stdout P bbbbbbbbbb\n"
                    "2026-11-23T11:28:05.3Z stdout F cc\n"
                    "2026-11-23T11:28:05.4Z stdout Q bad\n"
                    "2026-11-23T11:28:05.5Z stderr F short\n");
    struct ag_tail_opts o = {.max_line_bytes = 16};
    struct ag_tail *t = tail_new(&o, false);
    set_one(t, "k.log", AG_LOG_FMT_CRI);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 2);
    cr_assert_str_eq(got.v[0].text, "aaaaaaaaaabbbbbb");
    cr_assert(got.v[0].trunc);
    cr_assert_eq(got.v[0].off, 0);
    cr_assert_str_eq(got.v[1].text, "short");
    cr_assert_str_eq(got.v[1].stream, "stderr");
    cr_assert_not(got.v[1].trunc);
    const struct cm_log_stats *st;
    size_t n;
    ag_tail_take_stats(t, 1, &st, &n);
    cr_assert_eq(st[0].lines_invalid, 1);
    cr_assert_eq(st[0].lines_truncated, 1);
    ag_tail_free(t);
}

/* Replacing the sources keeps a kept path's position, drops the others
 * and reads a path listed twice once. */
Test(logtail, set_sources_replaces_and_dedups)
{
    append("x.log", "x1\n");
    append("y.log", "y1\n");
    struct ag_tail_opts o = {0};
    struct ag_tail *t = tail_new(&o, false);
    struct ag_tail_source s[3] = {
        {.path = p("x.log"), .kind = CM_LOG_SRC_AUTH},
        {.path = p("x.log"), .kind = CM_LOG_SRC_SYSLOG},
        {.path = p("y.log"), .kind = CM_LOG_SRC_SYSLOG},
    };
    cr_assert_eq(ag_tail_set_sources(t, s, 3), 0);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 2);
    cr_assert_eq(got.v[0].kind, CM_LOG_SRC_AUTH);
    cr_assert_eq(ag_tail_set_sources(t, s, 1), 0); /* x kept, y dropped */
    append("x.log", "x2\n");
    append("y.log", "y2\n");
    ag_tail_poll(t);
    cr_assert_eq(got.n, 3);
    cr_assert_str_eq(got.v[2].text, "x2");
    const struct cm_log_stats *st;
    size_t n;
    cr_assert_eq(ag_tail_take_stats(t, 1, &st, &n), 0);
    cr_assert_eq(n, 1);
    struct ag_tail_source bad = {.path = ""};
    cr_assert_eq(ag_tail_set_sources(t, &bad, 1), CM_ECONFIG);
    ag_tail_free(t);
}

Test(logtail, no_loop_poll_with_budget_reports_pending)
{
    FILE *f = fopen(p("many.log"), "w");
    for (int i = 0; i < 10000; i++) fprintf(f, "line number %05d\n", i);
    fclose(f);
    struct ag_tail_opts o = {.read_budget_bytes = 4096};
    struct ag_tail *t = tail_new(&o, false);
    set_one(t, "many.log", AG_LOG_FMT_RAW);
    int polls = 0;
    do {
        ag_tail_poll(t);
        polls++;
    } while (ag_tail_has_pending(t) && polls < 1000);
    cr_assert_eq(got.n, 10000);
    cr_assert_gt(polls, 10);
    cr_assert_str_eq(got.v[9999].text, "line number 09999");
    ag_tail_free(t);
}

/* Numbered lines "n <i>" for i in [from, to) appended to rel. */
static void append_numbered(const char *rel, int from, int to)
{
    FILE *f = fopen(p(rel), "a");
    cr_assert_not_null(f);
    for (int i = from; i < to; i++) fprintf(f, "n %d\n", i);
    fclose(f);
}

/* Commits the end of the line numbered `n` and frees the tailer. */
static uint64_t commit_at(struct ag_tail *t, int n)
{
    char want[32];
    snprintf(want, sizeof want, "n %d", n);
    for (size_t i = 0; i < got.n; i++) {
        if (strcmp(got.v[i].text, want) != 0) continue;
        cr_assert_eq(ag_tail_commit(t, got.v[i].key, got.v[i].end), 0);
        return got.v[i].end;
    }
    cr_assert_fail("line %d not read", n);
    return 0;
}

/* A first run on auth.log (path: its full name) with n 0..total-1 read and
 * n 0..acked committed; returns the committed offset. */
static uint64_t first_run(const char *path, int total, int acked)
{
    append_numbered("auth.log", 0, total);
    struct ag_tail_opts o = {.start_at_end = true};
    struct ag_tail *t = tail_new(&o, false);
    struct ag_tail_source src = {.path = path, .kind = CM_LOG_SRC_FILE, .from_start = true};
    cr_assert_eq(ag_tail_set_sources(t, &src, 1), 0);
    ag_tail_poll(t);
    cr_assert_eq(got.n, (size_t)total);
    uint64_t committed = commit_at(t, acked);
    ag_tail_free(t);
    clear();
    return committed;
}

Test(logtail, rotated_while_stopped_unread_tail_of_old_file_is_read_after_restart)
{
    char path[512]; /* p() reuses its buffers */
    snprintf(path, sizeof path, "%s", p("auth.log"));
    char old_key[48];
    append("auth.log", "");
    snprintf(old_key, sizeof old_key, "%s", key_of("auth.log"));
    uint64_t committed = first_run(path, 50, 19); /* n 20..49 read, not acked */
    struct ag_tail_opts o = {.start_at_end = true};
    struct ag_tail_source src = {.path = path, .kind = CM_LOG_SRC_FILE};
    /* logrotate while no tailer runs; the writer still had the old file */
    cr_assert_eq(rename(p("auth.log"), p("auth.log.1")), 0);
    append_numbered("auth.log.1", 50, 60);
    append("auth.log.1.gz", "n 999\n");          /* never read */
    cr_assert_eq(symlink(p("auth.log.1"), p("auth.log.link")), 0); /* not followed */
    append_numbered("auth.log", 60, 80);
    char new_key[48];
    snprintf(new_key, sizeof new_key, "%s", key_of("auth.log"));
    struct ag_tail *t = tail_new(&o, false); /* start_at_end must not skip either file */
    cr_assert_eq(ag_tail_set_sources(t, &src, 1), 0);
    ag_tail_poll(t);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 60, "n 20..79 once each, got %zu", got.n);
    bool seen[80] = {false};
    for (size_t i = 0; i < got.n; i++) {
        int v = -1;
        cr_assert_eq(strncmp(got.v[i].text, "n ", 2), 0, "%s", got.v[i].text);
        v = (int)strtol(got.v[i].text + 2, NULL, 10);
        cr_assert(v >= 20 && v < 80, "line %d before the committed offset or foreign", v);
        cr_assert_not(seen[v], "line %d twice", v);
        seen[v] = true;
        cr_assert_str_eq(got.v[i].key, v < 60 ? old_key : new_key, "key of line %d", v);
        cr_assert_str_eq(got.v[i].path, path);
        if (v == 20) cr_assert_eq(got.v[i].off, committed, "real offset in the old file");
        if (v == 60) cr_assert_eq(got.v[i].off, 0);
    }
    /* the old file's lines commit under its key; a later restart reads nothing again */
    cr_assert_eq(commit_at(t, 59) > committed, true);
    commit_at(t, 79);
    ag_tail_free(t);
    clear();
    t = tail_new(&o, false);
    cr_assert_eq(ag_tail_set_sources(t, &src, 1), 0);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 0, "nothing read twice after everything was acked");
    ag_tail_free(t);
}

Test(logtail, rotated_while_stopped_and_old_file_deleted_reads_the_new_file)
{
    char path[512];
    snprintf(path, sizeof path, "%s", p("auth.log"));
    first_run(path, 10, 4);
    struct ag_tail_opts o = {.start_at_end = true};
    struct ag_tail_source src = {.path = path, .kind = CM_LOG_SRC_FILE};
    cr_assert_eq(rename(p("auth.log"), p("auth.log.1")), 0);
    append_numbered("auth.log", 10, 15);      /* created first: its inode is not the old one's */
    append_numbered("auth.log.2", 100, 110);  /* another file, not ours: ignored */
    cr_assert_eq(unlink(p("auth.log.1")), 0); /* old inode gone */
    struct ag_tail *t = tail_new(&o, false);
    cr_assert_eq(ag_tail_set_sources(t, &src, 1), 0);
    ag_tail_poll(t);
    cr_assert_eq(got.n, 5, "got %zu, first %s", got.n, got.n ? got.v[0].text : "-");
    for (size_t i = 0; i < got.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "n %zu", 10 + i);
        cr_assert_str_eq(got.v[i].text, want);
    }
    ag_tail_free(t);
}
