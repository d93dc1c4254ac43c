/* fuzz_spool_record.c - feeds untrusted bytes to the spool's record and
 * meta decoders and to recovery at open. The first byte picks the mode:
 *   0: a run of records, as in a segment: each one decoded must re-encode
 *      to the same bytes;
 *   1: the meta block: decode, and re-encode when valid;
 *   2: the rest is written as a segment file and the spool is opened on it
 *      (recovery must cut, never crash), then every record read back.
 * A mismatch aborts, so the replay fails loudly. */
#include "agent/spool.h"
#include "agent/spool_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_records(const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        struct ag_spool_hdr h;
        const uint8_t *payload;
        size_t total;
        if (ag_spool_rec_decode(p + off, n - off, &h, &payload, &total) < 0) return;
        uint8_t hdr[AG_SPOOL_HDR_LEN];
        struct ag_spool_hdr again = h;
        ag_spool_hdr_encode(&again, payload, hdr);
        if (again.crc != h.crc || memcmp(hdr, p + off, AG_SPOOL_HDR_LEN) != 0) abort();
        off += total;
    }
}

static void run_meta(const uint8_t *p, size_t n)
{
    struct ag_spool_meta m;
    uint8_t block[AG_SPOOL_META_LEN];
    if (ag_spool_meta_decode(p, n, &m) < 0) return;
    ag_spool_meta_encode(&m, block);
    if (memcmp(block, p, AG_SPOOL_META_LEN) != 0) abort();
}

static char dir[64];

static void remove_dir(void)
{
    rmdir(dir);
}

static void run_recovery(const uint8_t *p, size_t n)
{
    char seg[128], meta[128];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/fuzz_spool.XXXXXX");
        if (!mkdtemp(dir)) abort();
        atexit(remove_dir);
    }
    snprintf(seg, sizeof seg, "%s/%020d.seg", dir, 1);
    snprintf(meta, sizeof meta, "%s/meta", dir);
    FILE *f = fopen(seg, "wb");
    if (!f || fwrite(p, 1, n, f) != n) abort();
    fclose(f);
    struct ag_spool_opts o = {.dir = dir, .max_bytes = 1u << 24};
    struct ag_spool *sp = NULL;
    char err[256];
    if (ag_spool_open(&o, &sp, err, sizeof err) < 0) abort();
    struct ag_spool_stats st;
    ag_spool_get_stats(sp, &st);
    if (st.recovered_cut_bytes > n || st.bytes + st.recovered_cut_bytes != n) abort();
    struct ag_spool_record rec;
    uint64_t after = 0, seen = 0;
    while (ag_spool_next(sp, after, &rec) == 0) {
        if (rec.seq <= after) abort();
        after = rec.seq;
        seen++;
    }
    if (seen != st.recovered_records) abort();
    ag_spool_free(sp);
    unlink(seg);
    unlink(meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    switch (data[0] % 3) {
    case 0:
        run_records(data + 1, size - 1);
        break;
    case 1:
        run_meta(data + 1, size - 1);
        break;
    default:
        run_recovery(data + 1, size - 1);
        break;
    }
    return 0;
}
