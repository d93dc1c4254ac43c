/* spool_int.h - the spool's on-disk formats, encoded and decoded without
 * touching files (so they can be fuzzed and unit-tested on plain bytes).
 *
 * A segment file is a run of records, each a fixed 56-byte header and its
 * payload. All integers are little-endian, written byte by byte:
 *   0  magic      u32  AG_SPOOL_REC_MAGIC
 *   4  crc        u32  CRC-32 (zlib) of bytes 8..55 of the header + payload
 *   8  len        u32  payload bytes, at most AG_SPOOL_RECORD_MAX
 *   12 samples    u32
 *   16 seq        u64
 *   24 envelopes_total, samples_total, dropped_envelopes, dropped_samples
 *                 u64 each: the spool's cumulative counters as of this record
 * The meta file is one 56-byte block: magic, crc (of bytes 8..55), then the
 * four counters, the ack floor and last_seq (u64 each).
 *
 * Decoders never log and never read past `n`; a record whose CRC does not
 * match is CM_EPARSE like any other malformed input.
 *
 * The second half is the spool object itself, shared by spool.c (queue)
 * and spool_open.c (recovery). */
#ifndef AG_SPOOL_INT_H
#define AG_SPOOL_INT_H

#include "agent/spool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AG_SPOOL_REC_MAGIC 0x31525742u  /* "BWR1" */
#define AG_SPOOL_META_MAGIC 0x314d5742u /* "BWM1" */
#define AG_SPOOL_HDR_LEN 56u
#define AG_SPOOL_META_LEN 56u

struct ag_spool_counters {
    uint64_t envelopes_total;
    uint64_t samples_total;
    uint64_t dropped_envelopes;
    uint64_t dropped_samples;
};

struct ag_spool_hdr {
    uint32_t crc; /* as stored; filled by decode, computed by encode */
    uint32_t len;
    uint32_t samples;
    uint64_t seq;
    struct ag_spool_counters c;
};

struct ag_spool_meta {
    struct ag_spool_counters c;
    uint64_t floor_seq; /* every seq below this was acked or dropped */
    uint64_t last_seq;
};

/* Writes the header of a record with h->len payload bytes at `payload`
 * (borrowed) into out, computing the CRC; h->crc is set too. */
void ag_spool_hdr_encode(struct ag_spool_hdr *h, const uint8_t *payload,
                         uint8_t out[AG_SPOOL_HDR_LEN]);
/* Decodes a header: CM_EPARSE on a bad magic, CM_ETOOBIG on a length above
 * AG_SPOOL_RECORD_MAX. The CRC is not checked here (the payload may not be
 * read yet): use ag_spool_rec_crc. */
int ag_spool_hdr_decode(const uint8_t *buf, size_t n, struct ag_spool_hdr *h);
/* The CRC a record with this encoded header and payload should carry. */
uint32_t ag_spool_rec_crc(const uint8_t hdr[AG_SPOOL_HDR_LEN], const uint8_t *payload,
                          size_t len);
/* Decodes one whole record at the start of buf[0..n): header, bounds and
 * CRC. On success *payload points into buf and *total is the record's
 * size. CM_EPARSE (bad magic, short, CRC) or CM_ETOOBIG. */
int ag_spool_rec_decode(const uint8_t *buf, size_t n, struct ag_spool_hdr *h,
                        const uint8_t **payload, size_t *total);

void ag_spool_meta_encode(const struct ag_spool_meta *m, uint8_t out[AG_SPOOL_META_LEN]);
/* CM_EPARSE unless n is exactly AG_SPOOL_META_LEN with magic and CRC right. */
int ag_spool_meta_decode(const uint8_t *buf, size_t n, struct ag_spool_meta *m);

/* One segment file; segments are kept oldest first, the last one is the
 * active segment appends go to. */
struct ag_spool_seg {
    uint64_t id;    /* file name */
    uint64_t bytes; /* valid bytes, = file size */
    size_t nrec;    /* its records in the index */
    size_t nacked;
};

/* One record in the index, in seq order (= file order). */
struct ag_spool_ent {
    uint64_t seq;
    uint64_t seg; /* segment id */
    uint64_t off; /* of the header in the segment */
    uint32_t len; /* payload */
    uint32_t samples;
    bool acked; /* or dropped as unreadable */
};

struct ag_spool {
    struct ag_spool_opts opts; /* opts.dir points at dir */
    char *dir;
    char *meta_path;
    char *meta_tmp;
    char *path; /* scratch for segment paths */
    size_t path_cap;
    struct ag_spool_seg *segs;
    size_t nsegs, segs_cap;
    struct ag_spool_ent *ents; /* live entries are ents[head..nents) */
    size_t head, nents, ents_cap;
    size_t first_unacked; /* ents[head..first_unacked) are all acked */
    uint64_t next_seg_id;
    uint64_t pending;
    uint64_t bytes;
    struct ag_spool_counters c;
    uint64_t last_seq;
    uint64_t meta_floor; /* floor as last written to meta */
    int wfd;             /* active segment, -1 when none */
    int rfd;             /* cached reader of an older segment */
    uint64_t rfd_seg;
    uint8_t *buf; /* read-back buffer handed out by ag_spool_next */
    size_t buf_cap;
    bool opened;     /* recovery finished: free() may sync */
    bool data_dirty; /* appended since the last fdatasync */
    bool dir_dirty;  /* entries created/removed since the last dir fsync */
    bool meta_dirty; /* counters changed with no record carrying them */
    uint64_t cut_bytes;
    uint64_t recovered_records;
};

/* Helpers shared by spool.c and spool_open.c; same conventions as the
 * public API (0 or a negative code). */
const char *ag_spool_seg_path(struct ag_spool *sp, uint64_t id); /* in sp->path */
int ag_spool_fsync_dir(struct ag_spool *sp);
ssize_t ag_spool_pread_all(int fd, void *buf, size_t n, uint64_t off);
uint64_t ag_spool_floor(const struct ag_spool *sp);
void ag_spool_advance_floor(struct ag_spool *sp);
int ag_spool_meta_write(struct ag_spool *sp);
size_t ag_spool_seg_find(const struct ag_spool *sp, uint64_t id);
struct ag_spool_seg *ag_spool_seg_push(struct ag_spool *sp, uint64_t id);
struct ag_spool_ent *ag_spool_ent_push(struct ag_spool *sp);
void ag_spool_segs_remove(struct ag_spool *sp, size_t k);
int ag_spool_drop_acked(struct ag_spool *sp);
void ag_spool_buf_reserve(struct ag_spool *sp, size_t n);

#endif
