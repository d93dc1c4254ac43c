/* test_spool.c - the disk spool on real files: order, acks and the floor,
 * segment roll and deletion, the size bound and its exact drop counts,
 * restart (clean and crashed), torn and corrupt tails, and the fsync policy.
 * A "crash" is a forked child that _exit()s without closing the spool. */
#include "agent/spool.h"
#include "agent/spool_int.h"
#include "common/err.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *tmp;
static char dir[4096];

static void setup(void)
{
    tmp = tu_mkdtemp();
    cr_assert_not_null(tmp);
    snprintf(dir, sizeof dir, "%s/spool", tmp);
}

static void teardown(void)
{
    tu_rm_rf(tmp);
    free(tmp);
}

TestSuite(spool, .init = setup, .fini = teardown, .timeout = 60);

static struct ag_spool *open_at(const char *path, uint64_t max, uint64_t seg,
                                enum ag_spool_fsync fs)
{
    struct ag_spool_opts o = {.dir = path, .max_bytes = max, .segment_bytes = seg, .fsync = fs};
    struct ag_spool *sp = NULL;
    char err[512] = "";
    int rc = ag_spool_open(&o, &sp, err, sizeof err);
    cr_assert_eq(rc, 0, "ag_spool_open: %d %s", rc, err);
    return sp;
}

static struct ag_spool *open_sp(uint64_t max, uint64_t seg)
{
    return open_at(dir, max, seg, AG_SPOOL_FSYNC_NEVER);
}

static uint32_t samples_of(uint64_t seq)
{
    return (uint32_t)(seq % 7 + 1);
}

/* Payload of `seq`: len bytes derived from seq, so a mix-up shows. */
static void fill(uint8_t *p, size_t len, uint64_t seq)
{
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(seq * 31 + i);
}

static int append(struct ag_spool *sp, uint64_t seq, size_t len)
{
    uint8_t buf[4096];
    fill(buf, len, seq);
    return ag_spool_append(sp, seq, samples_of(seq), buf, len);
}

static void append_range(struct ag_spool *sp, uint64_t from, uint64_t to, size_t len)
{
    for (uint64_t s = from; s <= to; s++) cr_assert_eq(append(sp, s, len), 0, "append %lu", s);
}

static uint64_t samples_sum(uint64_t from, uint64_t to)
{
    uint64_t n = 0;
    for (uint64_t s = from; s <= to; s++) n += samples_of(s);
    return n;
}

/* next(after) must be seq with its own payload of len bytes. */
static void expect_next(struct ag_spool *sp, uint64_t after, uint64_t seq, size_t len)
{
    struct ag_spool_record rec;
    uint8_t want[4096];
    int rc = ag_spool_next(sp, after, &rec);
    cr_assert_eq(rc, 0, "next(%lu): %d", after, rc);
    cr_assert_eq(rec.seq, seq, "next(%lu) = %lu, want %lu", after, rec.seq, seq);
    cr_assert_eq(rec.samples, samples_of(seq));
    cr_assert_eq(rec.len, len);
    fill(want, len, seq);
    cr_assert_eq(memcmp(rec.data, want, len), 0, "payload of %lu", seq);
}

static struct ag_spool_stats stats(const struct ag_spool *sp)
{
    struct ag_spool_stats st;
    ag_spool_get_stats(sp, &st);
    return st;
}

static int count_segments(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".seg") == 0) n++;
    }
    closedir(d);
    return n;
}

/* Path of the newest segment (lexically last). */
static void last_segment(char *out, size_t n)
{
    char best[256] = "";
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".seg") == 0 && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    }
    closedir(d);
    cr_assert(best[0], "no segment in %s", dir);
    snprintf(out, n, "%s/%s", dir, best);
}

static off_t file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return st.st_size;
}

/* Appends from..to (len bytes each) in a child that dies without closing
 * the spool: nothing is synced or written to meta on the way out. */
static void crash_after_append(uint64_t from, uint64_t to, size_t len, uint64_t seg)
{
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct ag_spool_opts o = {.dir = dir, .max_bytes = 1u << 20, .segment_bytes = seg};
        struct ag_spool *sp = NULL;
        char err[256];
        uint8_t buf[4096];
        if (ag_spool_open(&o, &sp, err, sizeof err) < 0) _exit(2);
        for (uint64_t s = from; s <= to; s++) {
            fill(buf, len, s);
            if (ag_spool_append(sp, s, samples_of(s), buf, len) < 0) _exit(3);
        }
        _exit(0);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

Test(spool, append_next_ack_in_order)
{
    struct ag_spool *sp = open_sp(1u << 20, 0);
    append_range(sp, 1, 5, 100);
    expect_next(sp, 0, 1, 100);
    expect_next(sp, 1, 2, 100);
    expect_next(sp, 4, 5, 100);
    struct ag_spool_record rec;
    cr_assert_eq(ag_spool_next(sp, 5, &rec), CM_ENOTFOUND);
    cr_assert_eq(ag_spool_ack(sp, 1), 0);
    expect_next(sp, 0, 2, 100);
    cr_assert_eq(ag_spool_ack(sp, 3), 0);
    expect_next(sp, 2, 4, 100); /* 3 is acked: skipped */
    cr_assert_eq(ag_spool_ack(sp, 3), CM_ENOTFOUND);
    cr_assert_eq(ag_spool_ack(sp, 99), CM_ENOTFOUND);
    cr_assert_eq(ag_spool_ack(sp, 0), CM_ENOTFOUND);
    ag_spool_free(sp);
}

Test(spool, floor_and_pending)
{
    struct ag_spool *sp = open_sp(1u << 20, 0);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.floor_seq, 1);
    cr_assert_eq(st.last_seq, 0);
    cr_assert_eq(st.pending, 0);
    append_range(sp, 10, 14, 10);
    st = stats(sp);
    cr_assert_eq(st.floor_seq, 10);
    cr_assert_eq(st.pending, 5);
    cr_assert_eq(st.last_seq, 14);
    cr_assert_eq(st.envelopes_total, 5);
    cr_assert_eq(st.samples_total, samples_sum(10, 14));
    cr_assert_eq(st.bytes, 5 * (AG_SPOOL_HDR_LEN + 10));
    cr_assert_eq(ag_spool_ack(sp, 11), 0);
    st = stats(sp);
    cr_assert_eq(st.floor_seq, 10);
    cr_assert_eq(st.pending, 4);
    cr_assert_eq(ag_spool_ack(sp, 10), 0);
    cr_assert_eq(stats(sp).floor_seq, 12);
    for (uint64_t s = 12; s <= 14; s++) cr_assert_eq(ag_spool_ack(sp, s), 0);
    st = stats(sp);
    cr_assert_eq(st.floor_seq, 15);
    cr_assert_eq(st.pending, 0);
    struct ag_spool_record rec;
    cr_assert_eq(ag_spool_next(sp, 0, &rec), CM_ENOTFOUND);
    ag_spool_free(sp);
}

Test(spool, segments_roll_and_go_once_acked)
{
    /* 200 + 56 = 256 bytes a record: 4 records fill a 1024-byte segment. */
    struct ag_spool *sp = open_sp(1u << 20, 1024);
    append_range(sp, 1, 10, 200);
    cr_assert_eq(count_segments(), 3);
    cr_assert_eq(stats(sp).bytes, 10 * 256);
    for (uint64_t s = 2; s <= 4; s++) cr_assert_eq(ag_spool_ack(sp, s), 0);
    cr_assert_eq(count_segments(), 3, "1 is unacked: the first segment stays");
    cr_assert_eq(ag_spool_ack(sp, 1), 0);
    cr_assert_eq(count_segments(), 2);
    cr_assert_eq(stats(sp).bytes, 6 * 256);
    for (uint64_t s = 5; s <= 10; s++) cr_assert_eq(ag_spool_ack(sp, s), 0);
    cr_assert_eq(count_segments(), 1, "the active segment stays");
    cr_assert_eq(stats(sp).bytes, 2 * 256);
    /* the next roll deletes the fully acked active segment it leaves */
    append_range(sp, 11, 12, 200);
    cr_assert_eq(ag_spool_ack(sp, 11), 0);
    cr_assert_eq(ag_spool_ack(sp, 12), 0);
    cr_assert_eq(count_segments(), 1);
    append_range(sp, 13, 13, 200);
    cr_assert_eq(count_segments(), 1);
    cr_assert_eq(stats(sp).bytes, 256);
    expect_next(sp, 0, 13, 200);
    ag_spool_free(sp);
}

Test(spool, reopen_keeps_pending_and_counters)
{
    struct ag_spool *sp = open_sp(1u << 20, 1024);
    append_range(sp, 1, 10, 200);
    for (uint64_t s = 1; s <= 4; s++) cr_assert_eq(ag_spool_ack(sp, s), 0);
    cr_assert_eq(ag_spool_ack(sp, 7), 0);
    ag_spool_free(sp);

    sp = open_sp(1u << 20, 1024);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.pending, 6, "5-10 (7 is above the floor: sent again)");
    cr_assert_eq(st.floor_seq, 5);
    cr_assert_eq(st.last_seq, 10);
    cr_assert_eq(st.envelopes_total, 10);
    cr_assert_eq(st.samples_total, samples_sum(1, 10));
    cr_assert_eq(st.recovered_cut_bytes, 0);
    cr_assert_eq(st.recovered_records, 6, "segment 1 (1-4) was deleted when acked");
    expect_next(sp, 0, 5, 200);
    expect_next(sp, 6, 7, 200);
    cr_assert_eq(append(sp, 10, 5), CM_EPROTO);
    cr_assert_eq(append(sp, 11, 5), 0);
    ag_spool_free(sp);
}

Test(spool, floor_persisted_by_sync_survives_a_crash)
{
    crash_after_append(1, 6, 50, 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct ag_spool_opts o = {.dir = dir, .max_bytes = 1u << 20};
        struct ag_spool *sp = NULL;
        char err[256];
        if (ag_spool_open(&o, &sp, err, sizeof err) < 0) _exit(2);
        if (ag_spool_ack(sp, 1) || ag_spool_ack(sp, 2) || ag_spool_ack(sp, 4)) _exit(3);
        if (ag_spool_sync(sp) < 0) _exit(4);
        if (ag_spool_ack(sp, 3) < 0) _exit(5); /* after the sync: not persisted */
        _exit(0);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);

    struct ag_spool *sp = open_sp(1u << 20, 0);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.floor_seq, 3);
    cr_assert_eq(st.pending, 4, "3,4,5,6: acks above the synced floor are redone");
    cr_assert_eq(st.envelopes_total, 6);
    expect_next(sp, 0, 3, 50);
    ag_spool_free(sp);
}

Test(spool, counters_survive_when_every_segment_is_gone)
{
    /* one segment bigger than the bound: a full spool is emptied */
    struct ag_spool *sp = open_sp(1000, 100000);
    append_range(sp, 1, 3, 200);
    cr_assert_eq(ag_spool_ack(sp, 2), 0);
    append_range(sp, 4, 4, 200);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.dropped_envelopes, 2, "1 and 3; 2 was acked");
    cr_assert_eq(st.dropped_samples, samples_of(1) + samples_of(3));
    cr_assert_eq(st.pending, 1);
    cr_assert_eq(st.bytes, 256);
    cr_assert_eq(ag_spool_ack(sp, 4), 0);
    ag_spool_free(sp);
    /* delete the data behind its back: only meta is left */
    char seg[4400];
    last_segment(seg, sizeof seg);
    cr_assert_eq(unlink(seg), 0);
    sp = open_sp(1000, 100000);
    st = stats(sp);
    cr_assert_eq(st.envelopes_total, 4);
    cr_assert_eq(st.samples_total, samples_sum(1, 4));
    cr_assert_eq(st.dropped_envelopes, 2);
    cr_assert_eq(st.last_seq, 4);
    cr_assert_eq(st.floor_seq, 5);
    cr_assert_eq(st.pending, 0);
    cr_assert_eq(append(sp, 4, 1), CM_EPROTO);
    ag_spool_free(sp);
}

Test(spool, full_spool_drops_oldest_segment_and_counts_it)
{
    /* 4 records of 256 bytes a segment, 4 segments fill max_bytes exactly */
    struct ag_spool *sp = open_sp(4096, 1024);
    append_range(sp, 1, 16, 200);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.bytes, 4096);
    cr_assert_eq(st.dropped_envelopes, 0);
    cr_assert_eq(ag_spool_ack(sp, 2), 0);
    append_range(sp, 17, 17, 200);
    st = stats(sp);
    cr_assert_eq(st.dropped_envelopes, 3, "1, 3, 4 (2 was acked)");
    cr_assert_eq(st.dropped_samples, samples_of(1) + samples_of(3) + samples_of(4));
    cr_assert_eq(st.bytes, 13 * 256);
    cr_assert_eq(st.pending, 13);
    cr_assert_eq(st.floor_seq, 5);
    cr_assert_eq(count_segments(), 4);
    append_range(sp, 18, 21, 200);
    st = stats(sp);
    cr_assert_eq(st.dropped_envelopes, 7, "and 5-8");
    cr_assert_eq(st.dropped_samples, samples_of(1) + samples_sum(3, 8));
    cr_assert_eq(st.envelopes_total, 21);
    cr_assert(st.bytes <= 4096);
    expect_next(sp, 0, 9, 200);
    ag_spool_free(sp);

    sp = open_sp(4096, 1024);
    st = stats(sp);
    cr_assert_eq(st.dropped_envelopes, 7);
    cr_assert_eq(st.dropped_samples, samples_of(1) + samples_sum(3, 8));
    cr_assert_eq(st.pending, 13);
    ag_spool_free(sp);
}

Test(spool, too_big_is_refused_and_not_counted)
{
    struct ag_spool *sp = open_sp(1000, 0);
    static uint8_t big[1000];
    cr_assert_eq(ag_spool_append(sp, 1, 1, big, 1000 - AG_SPOOL_HDR_LEN + 1), CM_ETOOBIG);
    cr_assert_eq(ag_spool_append(sp, 1, 1, big, AG_SPOOL_RECORD_MAX + 1), CM_ETOOBIG);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.envelopes_total, 0);
    cr_assert_eq(st.last_seq, 0);
    cr_assert_eq(ag_spool_append(sp, 1, 1, big, 1000 - AG_SPOOL_HDR_LEN), 0, "exactly fits");
    ag_spool_free(sp);
}

Test(spool, seq_must_increase)
{
    struct ag_spool *sp = open_sp(1u << 20, 0);
    cr_assert_eq(append(sp, 0, 10), CM_EPROTO);
    cr_assert_eq(append(sp, 5, 10), 0);
    cr_assert_eq(append(sp, 5, 10), CM_EPROTO);
    cr_assert_eq(append(sp, 4, 10), CM_EPROTO);
    cr_assert_eq(append(sp, 6, 10), 0);
    cr_assert_eq(stats(sp).envelopes_total, 2);
    ag_spool_free(sp);
}

/* One iteration of the torn-tail test: the last of 8 records is cut at
 * `keep` bytes of its 56 + 120. */
static void torn_at(size_t keep)
{
    const size_t rec = AG_SPOOL_HDR_LEN + 120;
    tu_rm_rf(dir);
    crash_after_append(1, 8, 120, 0);
    char seg[4400];
    last_segment(seg, sizeof seg);
    cr_assert_eq(file_size(seg), (off_t)(8 * rec));
    cr_assert_eq(truncate(seg, (off_t)(7 * rec + keep)), 0);

    struct ag_spool *sp = open_sp(1u << 20, 0);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.recovered_records, 7, "keep %zu", keep);
    cr_assert_eq(st.recovered_cut_bytes, keep, "keep %zu", keep);
    cr_assert_eq(st.pending, 7);
    cr_assert_eq(st.envelopes_total, 7, "counted exactly as stored");
    cr_assert_eq(st.samples_total, samples_sum(1, 7));
    cr_assert_eq(st.last_seq, 7);
    cr_assert_eq(file_size(seg), (off_t)(7 * rec), "cut on disk");
    expect_next(sp, 6, 7, 120);
    cr_assert_eq(append(sp, 9, 120), 0, "appends go on after the cut");
    ag_spool_free(sp);
    sp = open_sp(1u << 20, 0);
    cr_assert_eq(stats(sp).recovered_cut_bytes, 0);
    cr_assert_eq(stats(sp).recovered_records, 8);
    ag_spool_free(sp);
}

Test(spool, torn_tail_is_cut_at_the_last_valid_record)
{
    size_t keeps[] = {1, 4, 8, AG_SPOOL_HDR_LEN - 1, AG_SPOOL_HDR_LEN, AG_SPOOL_HDR_LEN + 60,
                      AG_SPOOL_HDR_LEN + 119};
    for (size_t i = 0; i < sizeof keeps / sizeof keeps[0]; i++) torn_at(keeps[i]);
}

/* A clean stop persists the counters in meta; a record torn off afterwards
 * (power loss) was produced and is gone: it must show as dropped, so that
 * produced = stored + dropped + pending still adds up. */
Test(spool, tail_torn_after_a_clean_stop_counts_as_dropped)
{
    const size_t rec = AG_SPOOL_HDR_LEN + 120;
    struct ag_spool *sp = open_sp(1u << 20, 0);
    append_range(sp, 1, 8, 120);
    cr_assert_eq(ag_spool_ack(sp, 1), 0);
    ag_spool_free(sp); /* clean stop: meta counts all 8 */
    char seg[4400];
    last_segment(seg, sizeof seg);
    cr_assert_eq(truncate(seg, (off_t)(7 * rec + 9)), 0);

    sp = open_sp(1u << 20, 0);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.recovered_cut_bytes, 9);
    cr_assert_eq(st.envelopes_total, 8, "produced stays produced");
    cr_assert_eq(st.samples_total, samples_sum(1, 8));
    cr_assert_eq(st.dropped_envelopes, 1, "the torn record is dropped");
    cr_assert_eq(st.dropped_samples, samples_of(8));
    cr_assert_eq(st.pending, 6, "records 2..7 still to send");
    cr_assert_eq(st.envelopes_total, 1 + st.pending + st.dropped_envelopes,
                 "acked + pending + dropped = produced");
    ag_spool_free(sp);
}

Test(spool, clean_crash_loses_nothing)
{
    crash_after_append(1, 8, 120, 0);
    struct ag_spool *sp = open_sp(1u << 20, 0);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.recovered_cut_bytes, 0);
    cr_assert_eq(st.recovered_records, 8);
    cr_assert_eq(st.envelopes_total, 8);
    ag_spool_free(sp);
}

static void flip_byte(const char *path, off_t at)
{
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    cr_assert_eq(fseeko(f, at, SEEK_SET), 0);
    int c = fgetc(f);
    cr_assert_neq(c, EOF);
    cr_assert_eq(fseeko(f, at, SEEK_SET), 0);
    fputc(c ^ 0x40, f);
    fclose(f);
}

Test(spool, flipped_byte_cuts_there_and_drops_later_segments)
{
    /* 3 records of 256 bytes a segment; 9 records in 3 segments */
    crash_after_append(1, 9, 200, 768);
    cr_assert_eq(count_segments(), 3);
    char seg3[4400], seg2[4400];
    last_segment(seg3, sizeof seg3);
    snprintf(seg2, sizeof seg2, "%s/%020d.seg", dir, 2);
    cr_assert_eq(file_size(seg2), 768, "segment names: %s", seg2);
    flip_byte(seg2, 256 + AG_SPOOL_HDR_LEN + 100); /* payload of record 5 */

    struct ag_spool *sp = open_sp(1u << 20, 768);
    struct ag_spool_stats st = stats(sp);
    cr_assert_eq(st.recovered_records, 4);
    cr_assert_eq(st.recovered_cut_bytes, 512 + 768);
    cr_assert_eq(st.envelopes_total, 4);
    cr_assert_eq(st.last_seq, 4);
    cr_assert_eq(st.pending, 4);
    cr_assert_eq(count_segments(), 2);
    cr_assert_eq(access(seg3, F_OK), -1, "the segment after the hole is gone");
    cr_assert_eq(file_size(seg2), 256);
    expect_next(sp, 3, 4, 200);
    struct ag_spool_record rec;
    cr_assert_eq(ag_spool_next(sp, 4, &rec), CM_ENOTFOUND);
    ag_spool_free(sp);
}

Test(spool, flipped_header_byte_cuts_there)
{
    crash_after_append(1, 5, 40, 0);
    char seg[4400];
    last_segment(seg, sizeof seg);
    flip_byte(seg, 2 * (AG_SPOOL_HDR_LEN + 40) + 17); /* seq of record 3 */
    struct ag_spool *sp = open_sp(1u << 20, 0);
    cr_assert_eq(stats(sp).recovered_records, 2);
    cr_assert_eq(stats(sp).recovered_cut_bytes, 3 * (AG_SPOOL_HDR_LEN + 40));
    ag_spool_free(sp);
}

Test(spool, fsync_policy_parse)
{
    enum ag_spool_fsync f = AG_SPOOL_FSYNC_NEVER;
    cr_assert_eq(ag_spool_fsync_parse("always", &f), 0);
    cr_assert_eq(f, AG_SPOOL_FSYNC_ALWAYS);
    cr_assert_eq(ag_spool_fsync_parse("interval", &f), 0);
    cr_assert_eq(f, AG_SPOOL_FSYNC_INTERVAL);
    cr_assert_eq(ag_spool_fsync_parse("never", &f), 0);
    cr_assert_eq(f, AG_SPOOL_FSYNC_NEVER);
    const char *bad[] = {"", "Always", "never ", "sometimes", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        f = AG_SPOOL_FSYNC_INTERVAL;
        cr_assert_eq(ag_spool_fsync_parse(bad[i], &f), CM_EPARSE, "'%s'", bad[i]);
        cr_assert_eq(f, AG_SPOOL_FSYNC_INTERVAL, "output untouched on error");
    }
}

Test(spool, directory_is_created_private_or_refused_by_name)
{
    struct ag_spool *sp = open_sp(1u << 20, 0);
    struct stat st;
    cr_assert_eq(stat(dir, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700);
    ag_spool_free(sp);

    char path[4200];
    snprintf(path, sizeof path, "%s/file", tmp);
    cr_assert_eq(tu_write_file(tmp, "file", "x"), 0);
    struct ag_spool_opts o = {.dir = path, .max_bytes = 1u << 20};
    char err[512] = "";
    sp = NULL;
    cr_assert_eq(ag_spool_open(&o, &sp, err, sizeof err), -ENOTDIR);
    cr_assert_null(sp);
    cr_assert(strstr(err, path), "err names the path: %s", err);

    snprintf(path, sizeof path, "%s/missing/spool", tmp);
    o.dir = path;
    cr_assert_eq(ag_spool_open(&o, &sp, err, sizeof err), -ENOENT);
    cr_assert(strstr(err, path) && strstr(err, "No such file"), "err: %s", err);

    o.dir = dir;
    o.max_bytes = AG_SPOOL_HDR_LEN;
    cr_assert_eq(ag_spool_open(&o, &sp, err, sizeof err), CM_ECONFIG);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Figures only: prints append rates with and without fsync. */
Test(spool, append_throughput_printed)
{
    const char *names[] = {"never", "always"};
    enum ag_spool_fsync pol[] = {AG_SPOOL_FSYNC_NEVER, AG_SPOOL_FSYNC_ALWAYS};
    const int counts[] = {20000, 300};
    for (int k = 0; k < 2; k++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/bench-%s", tmp, names[k]);
        struct ag_spool *sp = open_at(path, 64u << 20, 0, pol[k]);
        double t0 = now_s();
        for (int i = 1; i <= counts[k]; i++) cr_assert_eq(append(sp, (uint64_t)i, 1024), 0);
        double dt = now_s() - t0;
        fprintf(stderr, "spool append 1 KiB, fsync=%s: %d records in %.3f s = %.0f/s\n",
                names[k], counts[k], dt, counts[k] / dt);
        ag_spool_free(sp);
    }
}
