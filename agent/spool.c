/* spool.c - the agent's durable queue: segment files, the in-memory index of
 * their records, appends, acks and the size bound (contract in spool.h;
 * byte formats in spool_int.h; recovery at open in spool_open.c).
 *
 * Layout of the directory: "<20-digit id>.seg" segment files, whose lexical
 * order is their age, and "meta", replaced whole (temp + fsync + rename),
 * holding the counters and the ack floor. meta is rewritten before any
 * segment is deleted and on sync when the floor moved, so the counters
 * survive even when every segment was acked and deleted.
 *
 * Does not log, encode envelopes or talk to the network. */
#include "agent/spool_int.h"

#include "common/alloc.h"
#include "common/err.h"
#include "common/fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int ag_spool_fsync_parse(const char *s, enum ag_spool_fsync *out)
{
    static const struct {
        const char *name;
        enum ag_spool_fsync v;
    } names[] = {{"always", AG_SPOOL_FSYNC_ALWAYS},
                 {"interval", AG_SPOOL_FSYNC_INTERVAL},
                 {"never", AG_SPOOL_FSYNC_NEVER}};
    if (!s) return CM_EPARSE;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].v;
            return 0;
        }
    }
    return CM_EPARSE;
}

const char *ag_spool_seg_path(struct ag_spool *sp, uint64_t id)
{
    snprintf(sp->path, sp->path_cap, "%s/%020llu.seg", sp->dir, (unsigned long long)id);
    return sp->path;
}

int ag_spool_fsync_dir(struct ag_spool *sp)
{
    int rc = cm_fsync_dir(sp->dir);
    if (rc == 0) sp->dir_dirty = false;
    return rc;
}

/* Reads up to n bytes at off; returns the count (short only at end of file). */
ssize_t ag_spool_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -errno;
        if (r == 0) break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static int pwritev_all(int fd, struct iovec *iov, int cnt, uint64_t off)
{
    while (cnt > 0) {
        ssize_t w = pwritev(fd, iov, cnt, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -errno;
        if (w == 0) return -EIO;
        off += (uint64_t)w;
        size_t left = (size_t)w;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

uint64_t ag_spool_floor(const struct ag_spool *sp)
{
    return sp->first_unacked < sp->nents ? sp->ents[sp->first_unacked].seq : sp->last_seq + 1;
}

void ag_spool_advance_floor(struct ag_spool *sp)
{
    if (sp->first_unacked < sp->head) sp->first_unacked = sp->head;
    while (sp->first_unacked < sp->nents && sp->ents[sp->first_unacked].acked)
        sp->first_unacked++;
}

/* Data first, then the meta that describes it, so meta never counts records
 * that could still be lost. */
int ag_spool_meta_write(struct ag_spool *sp)
{
    uint8_t block[AG_SPOOL_META_LEN];
    struct ag_spool_meta m = {.c = sp->c, .floor_seq = ag_spool_floor(sp), .last_seq = sp->last_seq};
    int rc = 0;
    if (sp->data_dirty && sp->wfd >= 0) {
        if (fdatasync(sp->wfd) < 0) return -errno;
        sp->data_dirty = false;
    }
    ag_spool_meta_encode(&m, block);
    if ((rc = cm_file_replace(sp->meta_path, sp->meta_tmp, 0600, block, sizeof block)) < 0)
        return rc;
    sp->dir_dirty = false; /* cm_file_replace flushed the directory */
    sp->meta_floor = m.floor_seq;
    sp->meta_dirty = false;
    return 0;
}

size_t ag_spool_seg_find(const struct ag_spool *sp, uint64_t id)
{
    size_t lo = 0, hi = sp->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sp->segs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the first live entry with seq >= seq. */
static size_t ent_lower_bound(const struct ag_spool *sp, uint64_t seq)
{
    size_t lo = sp->head, hi = sp->nents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sp->ents[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct ag_spool_seg *ag_spool_seg_push(struct ag_spool *sp, uint64_t id)
{
    if (sp->nsegs == sp->segs_cap) {
        sp->segs_cap = sp->segs_cap ? 2 * sp->segs_cap : 8;
        sp->segs = cm_xrealloc(sp->segs, sp->segs_cap * sizeof *sp->segs);
    }
    struct ag_spool_seg *seg = &sp->segs[sp->nsegs++];
    memset(seg, 0, sizeof *seg);
    seg->id = id;
    if (id >= sp->next_seg_id) sp->next_seg_id = id + 1;
    return seg;
}

struct ag_spool_ent *ag_spool_ent_push(struct ag_spool *sp)
{
    if (sp->nents == sp->ents_cap && sp->head > 0 && sp->head >= sp->nents / 2) {
        /* Reuse the room of removed leading entries before growing. */
        size_t live = sp->nents - sp->head;
        memmove(sp->ents, sp->ents + sp->head, live * sizeof *sp->ents);
        sp->first_unacked -= sp->head;
        sp->nents = live;
        sp->head = 0;
    }
    if (sp->nents == sp->ents_cap) {
        sp->ents_cap = sp->ents_cap ? 2 * sp->ents_cap : 64;
        sp->ents = cm_xrealloc(sp->ents, sp->ents_cap * sizeof *sp->ents);
    }
    struct ag_spool_ent *e = &sp->ents[sp->nents++];
    memset(e, 0, sizeof *e);
    return e;
}

/* Forgets the first k segments and their records, and unlinks their files.
 * The caller wrote meta first when that mattered. */
void ag_spool_segs_remove(struct ag_spool *sp, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        struct ag_spool_seg *seg = &sp->segs[i];
        if (sp->rfd >= 0 && sp->rfd_seg == seg->id) {
            close(sp->rfd);
            sp->rfd = -1;
        }
        unlink(ag_spool_seg_path(sp, seg->id));
        sp->pending -= seg->nrec - seg->nacked;
        sp->bytes -= seg->bytes;
        sp->head += seg->nrec;
    }
    if (k == sp->nsegs && sp->wfd >= 0) {
        close(sp->wfd);
        sp->wfd = -1;
        sp->data_dirty = false;
    }
    memmove(sp->segs, sp->segs + k, (sp->nsegs - k) * sizeof *sp->segs);
    sp->nsegs -= k;
    if (sp->head == sp->nents) sp->head = sp->nents = sp->first_unacked = 0;
    ag_spool_advance_floor(sp);
    sp->dir_dirty = true;
}

/* Deletes leading segments other than the active one whose records are all
 * acked (an empty one counts). */
int ag_spool_drop_acked(struct ag_spool *sp)
{
    size_t k = 0;
    while (k + 1 < sp->nsegs && sp->segs[k].nacked == sp->segs[k].nrec) k++;
    if (k == 0) return 0;
    int rc = ag_spool_meta_write(sp);
    if (rc < 0) return rc;
    ag_spool_segs_remove(sp, k);
    return 0;
}

static int roll(struct ag_spool *sp)
{
    uint64_t id = sp->next_seg_id ? sp->next_seg_id : 1;
    int fd = open(ag_spool_seg_path(sp, id), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    if (sp->wfd >= 0) {
        /* Under "always" the old segment is synced already; otherwise keep
         * the promise of the next sync by flushing it before letting go. */
        if (sp->data_dirty && sp->opts.fsync != AG_SPOOL_FSYNC_NEVER) fdatasync(sp->wfd);
        close(sp->wfd);
    }
    sp->wfd = fd;
    sp->data_dirty = false;
    sp->dir_dirty = true;
    ag_spool_seg_push(sp, id);
    return 0;
}

/* Drops as few oldest segments as it takes for `need` more bytes to fit,
 * counting their unacked records as dropped (meta first, then unlink). */
static int make_room(struct ag_spool *sp, uint64_t need)
{
    size_t k = 0;
    uint64_t bytes = sp->bytes;
    struct ag_spool_counters saved = sp->c;
    while (bytes + need > sp->opts.max_bytes && k < sp->nsegs) {
        struct ag_spool_seg *seg = &sp->segs[k];
        size_t first = sp->head;
        for (size_t i = 0; i < k; i++) first += sp->segs[i].nrec;
        for (size_t i = first; i < first + seg->nrec; i++) {
            if (sp->ents[i].acked) continue;
            sp->c.dropped_envelopes++;
            sp->c.dropped_samples += sp->ents[i].samples;
        }
        bytes -= seg->bytes;
        k++;
    }
    if (k == 0) return 0;
    /* The records are about to vanish: meta must say the floor is past them. */
    size_t removed = 0;
    for (size_t i = 0; i < k; i++) removed += sp->segs[i].nrec;
    size_t keep_first = sp->first_unacked;
    if (sp->first_unacked < sp->head + removed) sp->first_unacked = sp->head + removed;
    ag_spool_advance_floor(sp);
    int rc = ag_spool_meta_write(sp);
    if (rc < 0) {
        sp->c = saved;
        sp->first_unacked = keep_first;
        return rc;
    }
    ag_spool_segs_remove(sp, k);
    return 0;
}

static int write_record(struct ag_spool *sp, uint64_t seq, uint32_t samples, const void *data,
                        size_t len)
{
    struct ag_spool_seg *seg = &sp->segs[sp->nsegs - 1];
    uint8_t hdr[AG_SPOOL_HDR_LEN];
    struct ag_spool_hdr h = {.len = (uint32_t)len, .samples = samples, .seq = seq, .c = sp->c};
    h.c.envelopes_total++;
    h.c.samples_total += samples;
    ag_spool_hdr_encode(&h, data, hdr);
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)data, len}};
    int rc = pwritev_all(sp->wfd, iov, len ? 2 : 1, seg->bytes);
    if (rc == 0 && sp->opts.fsync == AG_SPOOL_FSYNC_ALWAYS && fdatasync(sp->wfd) < 0) rc = -errno;
    if (rc == 0 && sp->opts.fsync == AG_SPOOL_FSYNC_ALWAYS && sp->dir_dirty)
        rc = ag_spool_fsync_dir(sp);
    if (rc < 0) {
        /* A partial record must not be found at the next open. */
        if (ftruncate(sp->wfd, (off_t)seg->bytes) < 0) sp->data_dirty = true;
        return rc;
    }
    struct ag_spool_ent *e = ag_spool_ent_push(sp);
    e->seq = seq;
    e->seg = seg->id;
    e->off = seg->bytes;
    e->len = (uint32_t)len;
    e->samples = samples;
    seg->bytes += AG_SPOOL_HDR_LEN + len;
    seg->nrec++;
    sp->bytes += AG_SPOOL_HDR_LEN + len;
    sp->pending++;
    sp->c = h.c;
    sp->last_seq = seq;
    sp->data_dirty = sp->opts.fsync != AG_SPOOL_FSYNC_ALWAYS;
    ag_spool_advance_floor(sp);
    return 0;
}

int ag_spool_append(struct ag_spool *sp, uint64_t seq, uint32_t samples, const void *data,
                    size_t len)
{
    if (len > AG_SPOOL_RECORD_MAX || AG_SPOOL_HDR_LEN + len > sp->opts.max_bytes)
        return CM_ETOOBIG;
    if (seq <= sp->last_seq) return CM_EPROTO;
    uint64_t total = AG_SPOOL_HDR_LEN + len;
    int rc;
    if (sp->nsegs == 0 || sp->wfd < 0 ||
        (sp->segs[sp->nsegs - 1].bytes > 0 &&
         sp->segs[sp->nsegs - 1].bytes + total > sp->opts.segment_bytes)) {
        if ((rc = roll(sp)) < 0) return rc;
    }
    if ((rc = make_room(sp, total)) < 0) return rc;
    if (sp->nsegs == 0 && (rc = roll(sp)) < 0) return rc; /* the only segment was dropped */
    if ((rc = write_record(sp, seq, samples, data, len)) < 0) return rc;
    /* A roll may have left fully acked segments behind the new one. */
    return ag_spool_drop_acked(sp);
}

int ag_spool_ack(struct ag_spool *sp, uint64_t seq)
{
    size_t i = ent_lower_bound(sp, seq);
    if (i == sp->nents || sp->ents[i].seq != seq || sp->ents[i].acked) return CM_ENOTFOUND;
    sp->ents[i].acked = true;
    sp->segs[ag_spool_seg_find(sp, sp->ents[i].seg)].nacked++;
    sp->pending--;
    ag_spool_advance_floor(sp);
    return ag_spool_drop_acked(sp);
}

static int read_fd(struct ag_spool *sp, uint64_t seg_id)
{
    if (sp->nsegs > 0 && sp->segs[sp->nsegs - 1].id == seg_id && sp->wfd >= 0) return sp->wfd;
    if (sp->rfd >= 0 && sp->rfd_seg == seg_id) return sp->rfd;
    if (sp->rfd >= 0) close(sp->rfd);
    sp->rfd = open(ag_spool_seg_path(sp, seg_id), O_RDONLY | O_CLOEXEC);
    if (sp->rfd < 0) return -errno;
    sp->rfd_seg = seg_id;
    return sp->rfd;
}

void ag_spool_buf_reserve(struct ag_spool *sp, size_t n)
{
    if (sp->buf_cap >= n) return;
    sp->buf = cm_xrealloc(sp->buf, n);
    sp->buf_cap = n;
}

/* Reads entry i back and checks it is the record the index says. */
static int read_ent(struct ag_spool *sp, size_t i, struct ag_spool_record *rec)
{
    const struct ag_spool_ent *e = &sp->ents[i];
    size_t total = AG_SPOOL_HDR_LEN + e->len;
    int fd = read_fd(sp, e->seg);
    if (fd < 0) return fd;
    ag_spool_buf_reserve(sp, total);
    ssize_t n = ag_spool_pread_all(fd, sp->buf, total, e->off);
    if (n < 0) return (int)n;
    struct ag_spool_hdr h;
    const uint8_t *payload;
    size_t got;
    if (ag_spool_rec_decode(sp->buf, (size_t)n, &h, &payload, &got) < 0 || h.seq != e->seq ||
        got != total)
        return CM_EPARSE;
    rec->seq = h.seq;
    rec->samples = h.samples;
    rec->data = payload;
    rec->len = h.len;
    return 0;
}

/* A record that rotted on disk since it was written can never be sent: it
 * is counted as dropped and taken out of the queue like an acked one. */
static void drop_rotten(struct ag_spool *sp, size_t i)
{
    sp->ents[i].acked = true;
    sp->segs[ag_spool_seg_find(sp, sp->ents[i].seg)].nacked++;
    sp->pending--;
    sp->c.dropped_envelopes++;
    sp->c.dropped_samples += sp->ents[i].samples;
    sp->meta_dirty = true;
    ag_spool_advance_floor(sp);
}

int ag_spool_next(struct ag_spool *sp, uint64_t after, struct ag_spool_record *rec)
{
    size_t i = after == UINT64_MAX ? sp->nents : ent_lower_bound(sp, after + 1);
    if (i < sp->first_unacked) i = sp->first_unacked;
    for (; i < sp->nents; i++) {
        if (sp->ents[i].acked) continue;
        int rc = read_ent(sp, i, rec);
        if (rc != CM_EPARSE) return rc;
        drop_rotten(sp, i);
    }
    return CM_ENOTFOUND;
}

int ag_spool_sync(struct ag_spool *sp)
{
    if (sp->data_dirty && sp->wfd >= 0) {
        if (fdatasync(sp->wfd) < 0) return -errno;
        sp->data_dirty = false;
    }
    if (sp->dir_dirty) {
        int rc = ag_spool_fsync_dir(sp);
        if (rc < 0) return rc;
    }
    if (ag_spool_floor(sp) != sp->meta_floor || sp->meta_dirty) {
        int rc = ag_spool_meta_write(sp);
        if (rc < 0) return rc;
    }
    return 0;
}

void ag_spool_get_stats(const struct ag_spool *sp, struct ag_spool_stats *out)
{
    memset(out, 0, sizeof *out);
    out->envelopes_total = sp->c.envelopes_total;
    out->samples_total = sp->c.samples_total;
    out->dropped_envelopes = sp->c.dropped_envelopes;
    out->dropped_samples = sp->c.dropped_samples;
    out->pending = sp->pending;
    out->bytes = sp->bytes;
    out->floor_seq = ag_spool_floor(sp);
    out->last_seq = sp->last_seq;
    out->recovered_cut_bytes = sp->cut_bytes;
    out->recovered_records = sp->recovered_records;
}

void ag_spool_free(struct ag_spool *sp)
{
    if (!sp) return;
    if (sp->opened) ag_spool_sync(sp);
    if (sp->wfd >= 0) close(sp->wfd);
    if (sp->rfd >= 0) close(sp->rfd);
    free(sp->buf);
    free(sp->ents);
    free(sp->segs);
    free(sp->meta_tmp);
    free(sp->meta_path);
    free(sp->path);
    free(sp->dir);
    free(sp);
}
