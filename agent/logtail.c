/* logtail.c - follows log files by dev:inode, splits and decodes records,
 * joins partial lines and hands out bounded, sanitized lines with offsets.
 *
 * Per source path: the file open at the path (cur) and up to
 * AG_TAIL_DRAIN_MAX files rotated away from it (renamed or removed), read
 * to their end first and closed once idle for AG_TAIL_ROTATE_WAIT_NS. Every
 * poll stats the path (a new inode there = rotation), fstats each open file
 * (size below the read position = truncation: restart at 0) and reads at
 * most read_budget_bytes per file; a file stopped by its budget gets another
 * turn on the next loop iteration, so a 10 MB line or a backlog never holds
 * the loop. Wake-ups: uv_fs_event on each source's directory (and its
 * symlink target's), coalesced into one poll, and the rescan timer.
 * When a path is first opened after start, files last seen there (offsets
 * table) that logrotate renamed in the same directory while no tailer ran
 * are found by dev:inode and drained from their committed offset.
 *
 * Does not: decode formats (agent/logfmt.c), own the offset file's format
 * (agent/logoffsets.c), match rules or send anything. on_line must not call
 * ag_tail_set_sources or ag_tail_free. */
#include "agent/logtail.h"

#include "agent/logfmt.h"
#include "agent/logtail_int.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AG_TAIL_MOD "logtail"

/* err 0: none to name. */
static void ag_tail_warn(struct ag_tail *t, const char *msg, const char *path, int err)
{
    unsigned sup = 0;
    if (!cm_ratelimit_allow(&t->rl, 10, 60000, &sup)) return;
    if (err)
        cm_warn(AG_TAIL_MOD, msg, "path=\"%s\" err=\"%s\" suppressed=%u", path,
                cm_err_str(err), sup);
    else
        cm_warn(AG_TAIL_MOD, msg, "path=\"%s\" suppressed=%u", path, sup);
}

/* ---- lines ---------------------------------------------------------- */

static void ag_tail_emit(struct ag_tail *t, struct ag_tail_src *s, struct ag_tail_file *f,
                         uint64_t off, uint64_t end, char *text, size_t len, bool cut,
                         int64_t ts, const char *stream)
{
    ag_logfmt_sanitize(text, len);
    text[len] = '\0';
    struct cm_log_source src = s->tmpl;
    memcpy(src.stream, stream, sizeof src.stream); /* always a char[8] */
    memcpy(src.file_key, f->key, sizeof src.file_key);
    struct ag_tail_line line = {.source = &src, .offset = off, .end_offset = end, .text = text,
                                .len = len, .ts_ns = ts, .truncated = cut};
    s->lines++;
    if (cut) s->truncated++;
    t->opts.on_line(t->opts.arg, &line);
}

/* An empty buffer has no storage yet: give emit a writable terminator. */
static void ag_tail_buf_ready(struct cm_buf *b)
{
    if (b->data) return;
    if (cm_buf_append(b, " ", 1) == 0) cm_buf_reset(b);
}

/* Storage grown by a long line is given back, so an idle file holds little. */
static void ag_tail_buf_shrink(struct cm_buf *b)
{
    if (b->cap > AG_TAIL_KEEP_BUF) cm_buf_close(b);
    else cm_buf_reset(b);
}

static void ag_tail_join_reset(struct ag_tail_file *f)
{
    ag_tail_buf_shrink(&f->line);
    f->joining = false;
    f->line_cut = false;
}

/* Adds a decoded record to the line being joined; a final one emits it. */
static void ag_tail_join(struct ag_tail *t, struct ag_tail_src *s, struct ag_tail_file *f,
                         const struct ag_logfmt_rec *r, uint64_t end)
{
    if (!f->joining) {
        f->joining = true;
        f->line_start = f->rec_start;
        f->line_ts = r->ts_ns;
        memcpy(f->line_stream, r->stream, sizeof f->line_stream);
    }
    size_t room = t->opts.max_line_bytes - f->line.len;
    size_t take = r->len < room ? r->len : room;
    if (take > 0 && cm_buf_append(&f->line, r->text, take) < 0) take = 0;
    if (take < r->len || r->cut) f->line_cut = true;
    if (r->partial) return;
    ag_tail_buf_ready(&f->line);
    ag_tail_emit(t, s, f, f->line_start, end, f->line.data, f->line.len, f->line_cut,
                 f->line_ts, f->line_stream);
    ag_tail_join_reset(f);
}

static void ag_tail_raw(struct ag_tail *t, struct ag_tail_src *s, struct ag_tail_file *f,
                        uint64_t end)
{
    ag_tail_buf_ready(&f->rec);
    size_t len = f->rec.len;
    if (len > 0 && f->rec.data[len - 1] == '\r' && !f->rec_cut) len--;
    int64_t ts = 0;
    if (ag_logfmt_line_time(f->rec.data, len, t->now_ns, &ts) < 0) ts = 0;
    static const char no_stream[8] = "";
    ag_tail_emit(t, s, f, f->rec_start, end, f->rec.data, len, f->rec_cut, ts, no_stream);
}

/* One whole record (its bytes in f->rec) ending just before end. */
static void ag_tail_record(struct ag_tail *t, struct ag_tail_src *s, struct ag_tail_file *f,
                           uint64_t end)
{
    struct ag_logfmt_rec r;
    int rc;
    if (s->format == AG_LOG_FMT_RAW) {
        ag_tail_raw(t, s, f, end);
        return;
    }
    if (s->format == AG_LOG_FMT_CRI) {
        rc = ag_logfmt_cri(f->rec.data ? f->rec.data : "", f->rec.len, &r);
        if (rc == 0 && f->rec_cut) r.cut = true;
    } else {
        size_t room = t->opts.max_line_bytes - (f->joining ? f->line.len : 0);
        rc = ag_logfmt_docker(f->rec.data ? f->rec.data : "", f->rec.len, f->rec_cut, t->dec,
                              room, &r);
    }
    if (rc < 0) {
        s->invalid++;
        return;
    }
    ag_tail_join(t, s, f, &r, end);
}

static void ag_tail_rec_reset(struct ag_tail_file *f)
{
    ag_tail_buf_shrink(&f->rec);
    f->rec_cut = false;
    f->rec_start = f->pos;
}

/* Splits bytes read at f->pos into records. */
static void ag_tail_feed(struct ag_tail *t, struct ag_tail_src *s, struct ag_tail_file *f,
                         const char *p, size_t n)
{
    s->bytes += n;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        size_t cap = s->format == AG_LOG_FMT_RAW ? t->opts.max_line_bytes : t->rec_cap;
        size_t room = cap > f->rec.len ? cap - f->rec.len : 0;
        size_t take = seg < room ? seg : room;
        if (take > 0 && cm_buf_append(&f->rec, p, take) < 0) take = 0;
        if (take < seg) f->rec_cut = true;
        f->pos += seg;
        if (nl) {
            f->pos++;
            seg++;
            ag_tail_record(t, s, f, f->pos);
            ag_tail_rec_reset(f);
        }
        p += seg;
        n -= seg;
    }
}

/* A file that will not grow any more: its unterminated tail is a line. */
static void ag_tail_flush(struct ag_tail *t, struct ag_tail_src *s, struct ag_tail_file *f)
{
    if (f->rec.len > 0 || f->rec_cut) {
        ag_tail_record(t, s, f, f->pos);
        ag_tail_rec_reset(f);
    }
    if (f->joining) {
        struct ag_logfmt_rec end = {.stream = ""};
        ag_tail_join(t, s, f, &end, f->pos);
    }
}

/* ---- files ---------------------------------------------------------- */

static void ag_tail_key_of(const struct stat *st, char key[48])
{
    snprintf(key, 48, "%llu:%llu", (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino);
}

/* A FIFO, directory or device at a source path: said once, never read. */
static void ag_tail_warn_type(struct ag_tail *t, struct ag_tail_src *s)
{
    if (!s->warned_type) ag_tail_warn(t, "not a regular file (FIFO, directory, device), skipped", s->path, 0);
    s->warned_type = true;
}

static void ag_tail_file_free(struct ag_tail_file *f)
{
    if (!f) return;
    if (f->fd >= 0) close(f->fd);
    cm_buf_close(&f->rec);
    cm_buf_close(&f->line);
    free(f);
}

/* Where reading a newly opened file starts: at its committed offset (0
 * when it is now shorter); a new inode at a path we followed before, or a
 * file appearing while we watch, from 0; else start_at_end decides. */
static uint64_t ag_tail_start(struct ag_tail *t, struct ag_tail_src *s, const char *key,
                              uint64_t size)
{
    uint64_t off;
    if (ag_logoffsets_get(t->offs, key, &off) == 0) return off <= size ? off : 0;
    if (s->scanned || ag_logoffsets_has_path(t->offs, s->path)) return 0;
    return t->opts.start_at_end ? size : 0;
}

static struct ag_tail_file *ag_tail_file_new(struct ag_tail *t, int fd, const char *key,
                                             uint64_t pos)
{
    struct ag_tail_file *f = cm_xcalloc(1, sizeof *f);
    f->fd = fd;
    snprintf(f->key, sizeof f->key, "%s", key);
    f->pos = pos;
    f->rec_start = pos;
    cm_buf_init(&f->rec, t->rec_cap);
    cm_buf_init(&f->line, t->opts.max_line_bytes);
    f->grew_ns = cm_time_mono_ns();
    return f;
}

static struct ag_tail_file *ag_tail_file_open(struct ag_tail *t, struct ag_tail_src *s)
{
    int fd = open(s->path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    char key[48];
    if (fd < 0) {
        if (errno != ENOENT) ag_tail_warn(t, "cannot open log file", s->path, -errno);
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        ag_tail_warn_type(t, s);
        close(fd);
        return NULL;
    }
    s->warned_type = false;
    ag_tail_key_of(&st, key);
    uint64_t pos = ag_tail_start(t, s, key, (uint64_t)st.st_size);
    struct ag_tail_file *f = ag_tail_file_new(t, fd, key, pos);
    ag_logoffsets_seen(t->offs, f->key, s->path, t->now_ns);
    return f;
}

/* Reads up to the budget; true when the budget ran out first. */
static bool ag_tail_file_read(struct ag_tail *t, struct ag_tail_src *s, struct ag_tail_file *f)
{
    struct stat st;
    if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size < f->pos) {
        f->pos = 0; /* truncated (copytruncate or > file) */
        ag_tail_rec_reset(f);
        ag_tail_join_reset(f);
    }
    size_t budget = t->opts.read_budget_bytes;
    while (budget > 0) {
        size_t want = budget < AG_TAIL_CHUNK ? budget : AG_TAIL_CHUNK;
        ssize_t r = pread(f->fd, t->chunk, want, (off_t)f->pos);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            if (errno != EAGAIN) ag_tail_warn(t, "cannot read log file", s->path, -errno);
            return false;
        }
        if (r == 0) return false;
        ag_tail_feed(t, s, f, t->chunk, (size_t)r);
        f->grew_ns = cm_time_mono_ns();
        budget -= (size_t)r;
    }
    return true;
}

static void ag_tail_drain_push(struct ag_tail *t, struct ag_tail_src *s, struct ag_tail_file *f)
{
    if (s->n_drain == AG_TAIL_DRAIN_MAX) { /* the oldest gives way, with what it has */
        ag_tail_flush(t, s, s->drain[0]);
        ag_tail_file_free(s->drain[0]);
        memmove(s->drain, s->drain + 1, (AG_TAIL_DRAIN_MAX - 1) * sizeof *s->drain);
        s->n_drain--;
    }
    s->drain[s->n_drain++] = f;
}

static void ag_tail_to_drain(struct ag_tail *t, struct ag_tail_src *s)
{
    if (!s->cur) return;
    ag_tail_drain_push(t, s, s->cur);
    s->cur = NULL;
}

/* The path now names dev:ino: a drained file that came back is cur again. */
static bool ag_tail_undrain(struct ag_tail_src *s, const struct stat *st)
{
    char key[48];
    ag_tail_key_of(st, key);
    for (size_t i = 0; i < s->n_drain; i++) {
        if (strcmp(s->drain[i]->key, key) != 0) continue;
        s->cur = s->drain[i];
        memmove(s->drain + i, s->drain + i + 1, (s->n_drain - i - 1) * sizeof *s->drain);
        s->n_drain--;
        return true;
    }
    return false;
}

/* ---- files rotated away while no tailer ran ------------------------ */

/* A name the rotated file may have now: the base name with a suffix
 * (auth.log.1, auth.log-20261123), not compressed. */
static bool ag_tail_recover_name(const char *base, const char *name)
{
    size_t bl = strlen(base), nl = strlen(name);
    if (nl <= bl || strncmp(name, base, bl) != 0) return false;
    return !(nl >= 3 && strcmp(name + nl - 3, ".gz") == 0);
}

static bool ag_tail_src_has_key(const struct ag_tail_src *s, const char *key)
{
    if (s->cur && strcmp(s->cur->key, key) == 0) return true;
    for (size_t i = 0; i < s->n_drain; i++)
        if (strcmp(s->drain[i]->key, key) == 0) return true;
    return false;
}

/* The files last seen at s->path that are not open: keys and offsets. */
static size_t ag_tail_recover_keys(struct ag_tail *t, struct ag_tail_src *s,
                                   char (*keys)[48], uint64_t *offs)
{
    size_t n = ag_logoffsets_keys_at(t->offs, s->path, keys, AG_TAIL_RECOVER_KEYS), m = 0;
    for (size_t i = 0; i < n; i++) {
        if (ag_tail_src_has_key(s, keys[i]) || ag_logoffsets_get(t->offs, keys[i], &offs[m]) < 0)
            continue;
        if (m != i) memcpy(keys[m], keys[i], sizeof keys[m]);
        m++;
    }
    return m;
}

/* name in dfd is one of keys and has bytes past its committed offset:
 * drained from there, its lines under its own key. */
static void ag_tail_recover_one(struct ag_tail *t, struct ag_tail_src *s, int dfd,
                                const char *name, char (*keys)[48], const uint64_t *offs,
                                size_t n)
{
    struct stat st;
    char key[48];
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) return;
    ag_tail_key_of(&st, key);
    size_t i = 0;
    while (i < n && strcmp(keys[i], key) != 0) i++;
    if (i == n || (uint64_t)st.st_size <= offs[i] || ag_tail_src_has_key(s, key)) return;
    int fd = openat(dfd, name, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return;
    if (fstat(fd, &st) < 0 || (ag_tail_key_of(&st, key), strcmp(key, keys[i]) != 0)) {
        close(fd); /* replaced between the two looks */
        return;
    }
    ag_tail_drain_push(t, s, ag_tail_file_new(t, fd, key, offs[i]));
}

/* The path is opened for the first time by this tailer: a file followed
 * there before (an entry last seen at the path) that logrotate renamed in
 * the same directory while no tailer ran is read from its committed offset
 * to its end, with the drained files. At most AG_TAIL_RECOVER_STATS names
 * starting with the base name are looked at, no more than the free drain
 * slots are filled; .gz is never read. */
static void ag_tail_recover(struct ag_tail *t, struct ag_tail_src *s)
{
    char keys[AG_TAIL_RECOVER_KEYS][48], dir[PATH_MAX];
    uint64_t offs[AG_TAIL_RECOVER_KEYS];
    size_t n = ag_tail_recover_keys(t, s, keys, offs), looked = 0;
    if (n == 0) return;
    snprintf(dir, sizeof dir, "%s", s->path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? s->path + (slash - dir) + 1 : s->path;
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while (looked < AG_TAIL_RECOVER_STATS && s->n_drain < AG_TAIL_DRAIN_MAX &&
           (de = readdir(d)) != NULL) {
        if (!ag_tail_recover_name(base, de->d_name)) continue;
        looked++;
        ag_tail_recover_one(t, s, dirfd(d), de->d_name, keys, offs, n);
    }
    closedir(d);
}

/* Stat the path: rotation, removal, a file appearing. */
static void ag_tail_src_check(struct ag_tail *t, struct ag_tail_src *s)
{
    struct stat st;
    char key[48];
    if (stat(s->path, &st) < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            ag_tail_warn(t, "cannot stat log file", s->path, -errno);
        ag_tail_to_drain(t, s);
        return;
    }
    if (!S_ISREG(st.st_mode)) { /* a FIFO or directory is never opened */
        ag_tail_warn_type(t, s);
        ag_tail_to_drain(t, s);
        return;
    }
    ag_tail_key_of(&st, key);
    if (s->cur && strcmp(s->cur->key, key) == 0) return;
    ag_tail_to_drain(t, s);
    if (ag_tail_undrain(s, &st)) return;
    s->cur = ag_tail_file_open(t, s);
    if (s->cur && !s->opened) {
        s->opened = true;
        ag_tail_recover(t, s);
    }
}

static bool ag_tail_src_poll(struct ag_tail *t, struct ag_tail_src *s)
{
    bool more = false;
    int64_t mono = cm_time_mono_ns();
    ag_tail_src_check(t, s);
    s->scanned = true;
    for (size_t i = 0; i < s->n_drain;) {
        struct ag_tail_file *f = s->drain[i];
        if (ag_tail_file_read(t, s, f)) {
            more = true;
        } else if (mono - f->grew_ns >= AG_TAIL_ROTATE_WAIT_NS) {
            ag_tail_flush(t, s, f);
            ag_tail_file_free(f);
            memmove(s->drain + i, s->drain + i + 1, (s->n_drain - i - 1) * sizeof *s->drain);
            s->n_drain--;
            continue;
        }
        i++;
    }
    if (s->cur && ag_tail_file_read(t, s, s->cur)) more = true;
    return more;
}

/* ---- loop glue ------------------------------------------------------ */

/* An idle handle, not a 0 ms timer: a timer restarted from its own
 * callback runs again in the same timer pass and would starve I/O; idle
 * callbacks run once per loop iteration, after timers and I/O had a turn. */
static void ag_tail_soon_cb(uv_idle_t *h)
{
    uv_idle_stop(h);
    ag_tail_poll(h->data);
}

static void ag_tail_schedule(struct ag_tail *t)
{
    if (t->loop && !uv_is_closing((uv_handle_t *)&t->soon))
        uv_idle_start(&t->soon, ag_tail_soon_cb);
}

static void ag_tail_event_cb(uv_fs_event_t *h, const char *name, int events, int status)
{
    (void)name;
    (void)events;
    (void)status; /* an error here is covered by the rescan */
    struct ag_tail_watch *w = h->data;
    if (w->t) ag_tail_schedule(w->t);
}

static void ag_tail_watch_close_cb(uv_handle_t *h)
{
    struct ag_tail_watch *w = h->data;
    free(w->dir);
    free(w);
}

static void ag_tail_watch_free(struct ag_tail_watch *w)
{
    w->t = NULL;
    if (w->active) uv_fs_event_stop(&w->h);
    uv_close((uv_handle_t *)&w->h, ag_tail_watch_close_cb);
}

static void ag_tail_watch_start(struct ag_tail *t, struct ag_tail_watch *w)
{
    if (w->active) return;
    int rc = uv_fs_event_start(&w->h, ag_tail_event_cb, w->dir, 0);
    w->active = rc == 0;
    (void)t; /* a directory not there yet is watched after a later rescan */
}

static void ag_tail_rescan_cb(uv_timer_t *h)
{
    struct ag_tail *t = h->data;
    for (size_t i = 0; i < t->n_watch; i++) ag_tail_watch_start(t, t->watch[i]);
    ag_tail_poll(t);
}

static bool ag_tail_watch_has(char **dirs, size_t n, const char *dir)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(dirs[i], dir) == 0) return true;
    return false;
}

/* The directories to watch: each path's, and its symlink target's. */
static size_t ag_tail_watch_dirs(struct ag_tail *t, char **dirs, size_t cap)
{
    size_t n = 0;
    char buf[PATH_MAX], real[PATH_MAX];
    for (size_t i = 0; i < t->n_src && n + 2 <= cap; i++) {
        snprintf(buf, sizeof buf, "%s", t->src[i]->path);
        const char *d = dirname(buf);
        if (!ag_tail_watch_has(dirs, n, d)) dirs[n++] = cm_xstrdup(d);
        if (!realpath(t->src[i]->path, real)) continue;
        d = dirname(real);
        if (!ag_tail_watch_has(dirs, n, d)) dirs[n++] = cm_xstrdup(d);
    }
    return n;
}

static void ag_tail_watch_update(struct ag_tail *t)
{
    size_t cap = 2 * t->n_src, n_dirs;
    char **dirs = cm_xcalloc(cap ? cap : 1, sizeof *dirs);
    n_dirs = ag_tail_watch_dirs(t, dirs, cap);
    struct ag_tail_watch **nw = cm_xcalloc(n_dirs ? n_dirs : 1, sizeof *nw);
    for (size_t i = 0; i < n_dirs; i++) {
        for (size_t j = 0; j < t->n_watch && !nw[i]; j++) {
            if (t->watch[j] && strcmp(t->watch[j]->dir, dirs[i]) == 0) {
                nw[i] = t->watch[j];
                t->watch[j] = NULL;
            }
        }
        if (!nw[i]) {
            nw[i] = cm_xcalloc(1, sizeof **nw);
            nw[i]->dir = dirs[i];
            dirs[i] = NULL;
            nw[i]->t = t;
            uv_fs_event_init(t->loop, &nw[i]->h);
            nw[i]->h.data = nw[i];
        }
        ag_tail_watch_start(t, nw[i]);
        free(dirs[i]);
    }
    for (size_t j = 0; j < t->n_watch; j++)
        if (t->watch[j]) ag_tail_watch_free(t->watch[j]);
    free(t->watch);
    free(dirs);
    t->watch = nw;
    t->n_watch = n_dirs;
}

/* ---- sources -------------------------------------------------------- */

static void ag_tail_src_free(struct ag_tail_src *s)
{
    if (!s) return;
    ag_tail_file_free(s->cur);
    for (size_t i = 0; i < s->n_drain; i++) ag_tail_file_free(s->drain[i]);
    free(s->path);
    free(s->container_id);
    free(s);
}

static struct ag_tail_src *ag_tail_src_new(const struct ag_tail_source *in, int64_t now_ns)
{
    struct ag_tail_src *s = cm_xcalloc(1, sizeof *s);
    s->path = cm_xstrdup(in->path);
    s->container_id = cm_xstrdup(in->container_id ? in->container_id : "");
    s->kind = in->kind;
    s->format = in->format;
    s->tmpl.kind = in->kind;
    s->tmpl.path = s->path;
    snprintf(s->tmpl.container_id, sizeof s->tmpl.container_id, "%s", s->container_id);
    s->since_ns = now_ns;
    s->scanned = in->from_start; /* start_at_end applies only before the first scan */
    return s;
}

static bool ag_tail_src_same(const struct ag_tail_src *s, const struct ag_tail_source *in)
{
    return s && strcmp(s->path, in->path) == 0 && s->format == in->format &&
           s->kind == in->kind &&
           strcmp(s->container_id, in->container_id ? in->container_id : "") == 0;
}

static bool ag_tail_src_find(struct ag_tail_src **v, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i]->path, path) == 0) return true;
    return false;
}

int ag_tail_set_sources(struct ag_tail *t, const struct ag_tail_source *src, size_t n)
{
    if (n > AG_TAIL_SOURCES_MAX) return CM_ETOOBIG;
    for (size_t i = 0; i < n; i++)
        if (!src[i].path || !src[i].path[0] || strlen(src[i].path) >= PATH_MAX ||
            src[i].format > AG_LOG_FMT_CRI)
            return CM_ECONFIG;
    struct ag_tail_src **ns = cm_xcalloc(n ? n : 1, sizeof *ns);
    int64_t now = cm_time_now_ns();
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (ag_tail_src_find(ns, m, src[i].path)) continue; /* a path is read once */
        for (size_t j = 0; j < t->n_src && !ns[m]; j++) {
            if (ag_tail_src_same(t->src[j], &src[i])) {
                ns[m] = t->src[j];
                t->src[j] = NULL;
            }
        }
        if (!ns[m]) ns[m] = ag_tail_src_new(&src[i], now);
        m++;
    }
    for (size_t j = 0; j < t->n_src; j++) ag_tail_src_free(t->src[j]);
    free(t->src);
    t->src = ns;
    t->n_src = m;
    if (t->loop) ag_tail_watch_update(t);
    ag_tail_schedule(t);
    return 0;
}

/* ---- public --------------------------------------------------------- */

static void ag_tail_defaults(struct ag_tail_opts *o)
{
    if (o->max_line_bytes == 0) o->max_line_bytes = AG_TAIL_LINE_DEFAULT;
    if (o->max_line_bytes > AG_TAIL_LINE_MAX) o->max_line_bytes = AG_TAIL_LINE_MAX;
    if (o->rescan_ms == 0) o->rescan_ms = AG_TAIL_RESCAN_DEFAULT_MS;
    if (o->read_budget_bytes == 0) o->read_budget_bytes = AG_TAIL_BUDGET_DEFAULT;
    o->state_dir = NULL;
}

int ag_tail_new(uv_loop_t *loop, const struct ag_tail_opts *opts, struct ag_tail **out, char *err,
                size_t errlen)
{
    if (!opts->state_dir || !opts->on_line) {
        snprintf(err, errlen, "logtail: state_dir and on_line are required");
        return CM_ECONFIG;
    }
    struct ag_tail *t = cm_xcalloc(1, sizeof *t);
    int rc = ag_logoffsets_open(opts->state_dir, &t->offs);
    if (rc < 0) {
        snprintf(err, errlen, "logtail: cannot load %s/%s: %s", opts->state_dir,
                 AG_LOGOFFSETS_FILE, cm_err_str(rc));
        free(t);
        return rc;
    }
    t->loop = loop;
    t->opts = *opts;
    ag_tail_defaults(&t->opts);
    size_t max = t->opts.max_line_bytes;
    t->rec_cap = max * 2 + 256; /* json-file escapes, the CRI prefix */
    t->chunk = cm_xmalloc(AG_TAIL_CHUNK);
    t->dec = cm_xmalloc(max + 1);
    t->now_ns = cm_time_now_ns();
    if (loop) {
        uv_timer_init(loop, &t->rescan);
        uv_idle_init(loop, &t->soon);
        t->rescan.data = t->soon.data = t;
        t->handles_open = 2;
        uv_timer_start(&t->rescan, ag_tail_rescan_cb, t->opts.rescan_ms, t->opts.rescan_ms);
    }
    *out = t;
    return 0;
}

void ag_tail_poll(struct ag_tail *t)
{
    bool more = false;
    t->now_ns = cm_time_now_ns();
    for (size_t i = 0; i < t->n_src; i++)
        if (ag_tail_src_poll(t, t->src[i])) more = true;
    t->pending = more;
    if (more) ag_tail_schedule(t);
}

bool ag_tail_has_pending(const struct ag_tail *t)
{
    return t->pending;
}

static const char *ag_tail_key_path(struct ag_tail *t, const char *key)
{
    for (size_t i = 0; i < t->n_src; i++) {
        struct ag_tail_src *s = t->src[i];
        if (s->cur && strcmp(s->cur->key, key) == 0) return s->path;
        for (size_t j = 0; j < s->n_drain; j++)
            if (strcmp(s->drain[j]->key, key) == 0) return s->path;
    }
    return NULL;
}

int ag_tail_commit(struct ag_tail *t, const char *file_key, uint64_t offset)
{
    int64_t now = cm_time_now_ns();
    int rc = ag_logoffsets_set(t->offs, file_key, ag_tail_key_path(t, file_key), offset, now);
    if (rc < 0) return rc;
    for (size_t i = 0; i < t->n_src; i++) { /* open files are not gone */
        struct ag_tail_src *s = t->src[i];
        if (s->cur) ag_logoffsets_seen(t->offs, s->cur->key, s->path, now);
        for (size_t j = 0; j < s->n_drain; j++)
            ag_logoffsets_seen(t->offs, s->drain[j]->key, NULL, now);
    }
    return ag_logoffsets_save(t->offs, now);
}

static void ag_tail_stats_clear(struct ag_tail *t)
{
    for (size_t i = 0; i < t->n_stats; i++) free(t->stats[i].source.path);
    free(t->stats);
    t->stats = NULL;
    t->n_stats = 0;
}

int ag_tail_take_stats(struct ag_tail *t, int64_t now_ns, const struct cm_log_stats **stats,
                       size_t *n)
{
    ag_tail_stats_clear(t);
    t->stats = cm_xcalloc(t->n_src ? t->n_src : 1, sizeof *t->stats);
    size_t k = 0;
    for (size_t i = 0; i < t->n_src; i++) {
        struct ag_tail_src *s = t->src[i];
        /* A source without a file (not there yet) has no file to name. */
        if (!s->cur) continue;
        struct cm_log_stats *st = &t->stats[k++];
        st->source = s->tmpl;
        st->source.path = cm_xstrdup(s->path);
        memcpy(st->source.file_key, s->cur->key, sizeof st->source.file_key);
        st->lines = s->lines;
        st->bytes = s->bytes;
        st->lines_truncated = s->truncated;
        st->lines_invalid = s->invalid;
        st->start_ns = s->since_ns;
        st->end_ns = now_ns;
        s->lines = s->bytes = s->truncated = s->invalid = 0;
        s->since_ns = now_ns;
    }
    t->n_stats = k;
    *stats = t->stats;
    *n = t->n_stats;
    return 0;
}

static void ag_tail_release(struct ag_tail *t)
{
    for (size_t i = 0; i < t->n_src; i++) ag_tail_src_free(t->src[i]);
    free(t->src);
    ag_tail_stats_clear(t);
    ag_logoffsets_free(t->offs);
    free(t->chunk);
    free(t->dec);
    free(t->watch);
    free(t);
}

static void ag_tail_timer_close_cb(uv_handle_t *h)
{
    struct ag_tail *t = h->data;
    if (--t->handles_open == 0) ag_tail_release(t);
}

void ag_tail_free(struct ag_tail *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n_watch; i++) ag_tail_watch_free(t->watch[i]);
    t->n_watch = 0;
    if (!t->loop) {
        ag_tail_release(t);
        return;
    }
    uv_close((uv_handle_t *)&t->rescan, ag_tail_timer_close_cb);
    uv_close((uv_handle_t *)&t->soon, ag_tail_timer_close_cb);
}
