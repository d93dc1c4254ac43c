/* spool_open.c - opening a spool directory: creating it, reading meta and
 * recovering the segments after a clean stop, a crash or a power loss.
 *
 * Recovery scans the segments oldest first and stops at the first record
 * that is short, has a bad magic, length or CRC, or does not raise the seq.
 * The file is cut there and every later segment is removed: what follows a
 * hole cannot be trusted to be in order. The cut is reported in the stats;
 * this file does not log. */
#include "agent/spool_int.h"

#include "common/alloc.h"
#include "common/err.h"
#include "common/parse.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_NAME_LEN 24 /* 20 digits + ".seg" */

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = cm_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int prepare_dir(struct ag_spool *sp, char *err, size_t errlen)
{
    struct stat st;
    int rc;
    if (mkdir(sp->dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(err, errlen, "cannot create spool directory '%s': %s", sp->dir, strerror(-rc));
        return rc;
    }
    if (stat(sp->dir, &st) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot use spool directory '%s': %s", sp->dir, strerror(-rc));
        return rc;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "spool directory '%s' is not a directory", sp->dir);
        return -ENOTDIR;
    }
    if (access(sp->dir, R_OK | W_OK | X_OK) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot use spool directory '%s': %s", sp->dir, strerror(-rc));
        return rc;
    }
    unlink(sp->meta_tmp); /* left by a crash between write and rename */
    return 0;
}

/* A missing meta is a new spool. A corrupt one (it is only ever replaced
 * whole, so this means a broken disk) is ignored: the records still carry
 * the counters, and a lost floor only means acked records are sent again,
 * which the collector deduplicates. */
static int read_meta(struct ag_spool *sp, struct ag_spool_meta *m, char *err, size_t errlen)
{
    uint8_t block[AG_SPOOL_META_LEN + 1];
    memset(m, 0, sizeof *m);
    int fd = open(sp->meta_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) return 0;
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, errlen, "cannot open '%s': %s", sp->meta_path, strerror(-rc));
        return rc;
    }
    ssize_t n = ag_spool_pread_all(fd, block, sizeof block, 0);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "cannot read '%s': %s", sp->meta_path, strerror((int)-n));
        return (int)n;
    }
    if (ag_spool_meta_decode(block, (size_t)n, m) < 0) memset(m, 0, sizeof *m);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int list_segs(struct ag_spool *sp, char *err, size_t errlen)
{
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(sp->dir);
    if (!d) {
        int rc = -errno;
        snprintf(err, errlen, "cannot list spool directory '%s': %s", sp->dir, strerror(-rc));
        return rc;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t id;
        if (strlen(de->d_name) != SEG_NAME_LEN || strcmp(de->d_name + 20, ".seg") != 0 ||
            cm_parse_u64(de->d_name, 20, &id) < 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            ids = cm_xrealloc(ids, cap * sizeof *ids);
        }
        ids[n++] = id;
    }
    closedir(d);
    if (n) qsort(ids, n, sizeof *ids, cmp_u64);
    for (size_t i = 0; i < n; i++) ag_spool_seg_push(sp, ids[i]);
    free(ids);
    return 0;
}

/* Cuts segment i at off and removes every later segment. */
static int cut_tail(struct ag_spool *sp, size_t i, int fd, uint64_t off, uint64_t size)
{
    sp->cut_bytes += size - off;
    if (ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0) return -errno;
    sp->segs[i].bytes = off;
    for (size_t j = i + 1; j < sp->nsegs; j++) {
        struct stat st;
        const char *path = ag_spool_seg_path(sp, sp->segs[j].id);
        if (stat(path, &st) == 0) sp->cut_bytes += (uint64_t)st.st_size;
        if (unlink(path) < 0 && errno != ENOENT) return -errno;
    }
    sp->nsegs = i + 1;
    return ag_spool_fsync_dir(sp);
}

/* Reads the record at off into sp->buf: 1 when it is whole and valid (h
 * filled), 0 when it is not, or -errno. */
static int read_record(struct ag_spool *sp, int fd, uint64_t off, uint64_t size,
                       uint64_t prev_seq, struct ag_spool_hdr *h)
{
    ag_spool_buf_reserve(sp, AG_SPOOL_HDR_LEN);
    ssize_t n = ag_spool_pread_all(fd, sp->buf, AG_SPOOL_HDR_LEN, off);
    if (n < 0) return (int)n;
    if ((size_t)n < AG_SPOOL_HDR_LEN || ag_spool_hdr_decode(sp->buf, (size_t)n, h) < 0) return 0;
    if (h->len > size - off - AG_SPOOL_HDR_LEN || h->seq <= prev_seq) return 0;
    ag_spool_buf_reserve(sp, AG_SPOOL_HDR_LEN + h->len);
    n = ag_spool_pread_all(fd, sp->buf + AG_SPOOL_HDR_LEN, h->len, off + AG_SPOOL_HDR_LEN);
    if (n < 0) return (int)n;
    if ((size_t)n < h->len) return 0;
    return ag_spool_rec_crc(sp->buf, sp->buf + AG_SPOOL_HDR_LEN, h->len) == h->crc;
}

/* Indexes the records of segment i; *cut is set when it had to be cut. */
static int scan_seg(struct ag_spool *sp, size_t i, int fd, uint64_t floor, uint64_t *prev_seq,
                    struct ag_spool_hdr *last, bool *cut)
{
    struct stat st;
    if (fstat(fd, &st) < 0) return -errno;
    uint64_t size = (uint64_t)st.st_size, off = 0;
    while (off < size) {
        struct ag_spool_hdr h;
        int rc = read_record(sp, fd, off, size, *prev_seq, &h);
        if (rc < 0) return rc;
        if (rc == 0) {
            *cut = true;
            return cut_tail(sp, i, fd, off, size);
        }
        struct ag_spool_ent *e = ag_spool_ent_push(sp);
        e->seq = h.seq;
        e->seg = sp->segs[i].id;
        e->off = off;
        e->len = h.len;
        e->samples = h.samples;
        e->acked = h.seq < floor;
        sp->segs[i].nrec++;
        sp->segs[i].nacked += e->acked;
        sp->pending += !e->acked;
        sp->recovered_records++;
        *prev_seq = h.seq;
        *last = h;
        off += AG_SPOOL_HDR_LEN + h.len;
    }
    sp->segs[i].bytes = size;
    return 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Counters are monotonic, so the newer of meta and the last record is the
 * field-wise maximum. */
static void merge_counters(struct ag_spool *sp, const struct ag_spool_meta *m,
                           const struct ag_spool_hdr *last, uint64_t last_seq)
{
    sp->c.envelopes_total = max_u64(m->c.envelopes_total, last->c.envelopes_total);
    sp->c.samples_total = max_u64(m->c.samples_total, last->c.samples_total);
    sp->c.dropped_envelopes = max_u64(m->c.dropped_envelopes, last->c.dropped_envelopes);
    sp->c.dropped_samples = max_u64(m->c.dropped_samples, last->c.dropped_samples);
    sp->last_seq = max_u64(m->last_seq, last_seq);
    sp->meta_floor = m->floor_seq;
}

/* After a clean stop meta already counts every record; when a record was
 * then torn off (power loss, a disk error), meta is ahead of the last valid
 * record. Those records were produced and are gone: unless the ack floor
 * shows they were stored, they are counted as dropped, so that
 * produced = stored + dropped + pending still holds. (After a crash, meta
 * is behind instead, and a torn record was never counted at all.) */
static void count_cut_as_dropped(struct ag_spool *sp, const struct ag_spool_meta *m,
                                 const struct ag_spool_hdr *last, uint64_t last_seq)
{
    if (m->floor_seq > last_seq + 1)
        return; /* some torn records were acked, hence stored: nothing to add */
    uint64_t env = m->c.envelopes_total > last->c.envelopes_total
                       ? m->c.envelopes_total - last->c.envelopes_total : 0;
    uint64_t smp = m->c.samples_total > last->c.samples_total
                       ? m->c.samples_total - last->c.samples_total : 0;
    uint64_t denv = m->c.dropped_envelopes > last->c.dropped_envelopes
                        ? m->c.dropped_envelopes - last->c.dropped_envelopes : 0;
    uint64_t dsmp = m->c.dropped_samples > last->c.dropped_samples
                        ? m->c.dropped_samples - last->c.dropped_samples : 0;
    /* what meta counted beyond the last record and not already as dropped */
    sp->c.dropped_envelopes += env > denv ? env - denv : 0;
    sp->c.dropped_samples += smp > dsmp ? smp - dsmp : 0;
}

static int recover(struct ag_spool *sp, const struct ag_spool_meta *m, char *err, size_t errlen)
{
    struct ag_spool_hdr last = {0};
    uint64_t prev_seq = 0;
    bool cut = false;
    int rc = 0;
    for (size_t i = 0; i < sp->nsegs && !cut; i++) {
        const char *path = ag_spool_seg_path(sp, sp->segs[i].id);
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            rc = -errno;
            snprintf(err, errlen, "cannot open spool segment '%s': %s", path, strerror(-rc));
            return rc;
        }
        rc = scan_seg(sp, i, fd, m->floor_seq, &prev_seq, &last, &cut);
        if (rc < 0) {
            close(fd);
            snprintf(err, errlen, "cannot recover spool segment '%s': %s",
                     ag_spool_seg_path(sp, sp->segs[i].id), strerror(-rc));
            return rc;
        }
        sp->bytes += sp->segs[i].bytes;
        if (i + 1 == sp->nsegs)
            sp->wfd = fd; /* the newest segment takes the next appends */
        else
            close(fd);
    }
    merge_counters(sp, m, &last, prev_seq);
    if (cut)
        count_cut_as_dropped(sp, m, &last, prev_seq);
    ag_spool_advance_floor(sp);
    return 0;
}

static int check_opts(const struct ag_spool_opts *opts, char *err, size_t errlen)
{
    if (!opts->dir || !opts->dir[0]) {
        snprintf(err, errlen, "spool directory is not set");
        return CM_ECONFIG;
    }
    if (opts->max_bytes <= AG_SPOOL_HDR_LEN) {
        snprintf(err, errlen, "spool max_bytes %llu is too small (minimum %u)",
                 (unsigned long long)opts->max_bytes, AG_SPOOL_HDR_LEN + 1);
        return CM_ECONFIG;
    }
    if (opts->fsync != AG_SPOOL_FSYNC_ALWAYS && opts->fsync != AG_SPOOL_FSYNC_INTERVAL &&
        opts->fsync != AG_SPOOL_FSYNC_NEVER) {
        snprintf(err, errlen, "spool fsync policy %d is unknown", (int)opts->fsync);
        return CM_ECONFIG;
    }
    return 0;
}

int ag_spool_open(const struct ag_spool_opts *opts, struct ag_spool **out, char *err,
                  size_t errlen)
{
    struct ag_spool *sp = NULL;
    struct ag_spool_meta m;
    int rc = check_opts(opts, err, errlen);
    if (rc < 0) return rc;
    sp = cm_xcalloc(1, sizeof *sp);
    sp->wfd = sp->rfd = -1;
    sp->opts = *opts;
    sp->dir = cm_xstrdup(opts->dir);
    sp->opts.dir = sp->dir;
    if (!sp->opts.segment_bytes) {
        sp->opts.segment_bytes = sp->opts.max_bytes / 4;
        if (sp->opts.segment_bytes > 4u * 1024 * 1024) sp->opts.segment_bytes = 4u * 1024 * 1024;
    }
    sp->meta_path = join(sp->dir, "meta");
    sp->meta_tmp = join(sp->dir, "meta.tmp");
    sp->path_cap = strlen(sp->dir) + SEG_NAME_LEN + 2;
    sp->path = cm_xmalloc(sp->path_cap);
    if ((rc = prepare_dir(sp, err, errlen)) < 0) goto out;
    if ((rc = read_meta(sp, &m, err, errlen)) < 0) goto out;
    if ((rc = list_segs(sp, err, errlen)) < 0) goto out;
    if ((rc = recover(sp, &m, err, errlen)) < 0) goto out;
    if ((rc = ag_spool_drop_acked(sp)) < 0) {
        snprintf(err, errlen, "cannot remove acked spool segments in '%s': %s", sp->dir,
                 strerror(-rc));
        goto out;
    }
    sp->opened = true;
    *out = sp;
    sp = NULL;
out:
    ag_spool_free(sp);
    return rc;
}
