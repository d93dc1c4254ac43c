/* test_cgroup_parse.c - the pure cgroup v1/v2 file parsers, against the
 * shared corpus of real-world files (skipped when absent) and hand-made edge
 * cases (CRLF, no final newline, garbage, UINT64_MAX, overlong input). */
#include "agent/cgroup_int.h"
#include "common/err.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(cgroup_parse, .timeout = 30);

/* Parses corpus file `rel` as `f` into raw; skips the test without corpus. */
static int parse_corpus(enum ag_cg_file f, const char *rel, struct ag_cg_raw *raw)
{
    const char *p = tu_corpus_path(rel);
    if (!p) cr_skip_test("shared corpus not found (BOXWATCH_CORPUS_DIR): cannot check %s", rel);
    size_t len;
    char *text = tu_read_file(p, &len);
    cr_assert_not_null(text, "cannot read %s", p);
    int rc = ag_cg_parse(f, text, len, raw);
    free(text);
    return rc;
}

static int parse_str(enum ag_cg_file f, const char *text, struct ag_cg_raw *raw)
{
    return ag_cg_parse(f, text, strlen(text), raw);
}

static void expect_raw(const struct ag_cg_raw *raw, enum ag_cg_rawkey k, uint64_t v)
{
    cr_assert(ag_cg_raw_has(raw, k), "raw key %d missing", (int)k);
    cr_expect_eq(raw->v[k], v, "raw key %d: got %llu want %llu", (int)k,
                 (unsigned long long)raw->v[k], (unsigned long long)v);
}

static void expect_field(const struct cm_sample *s, enum cm_field f, uint64_t v)
{
    cr_assert(cm_sample_has(s, f), "field %s missing", cm_fields[f].name);
    cr_expect_eq(s->v[f], v, "field %s: got %llu want %llu", cm_fields[f].name,
                 (unsigned long long)s->v[f], (unsigned long long)v);
}

Test(cgroup_parse, v2_datadog_container_to_sample)
{
    struct ag_cg_raw raw = {0};
    static const struct {
        enum ag_cg_file f;
        const char *rel;
    } files[] = {
        {AG_CGF_V2_CPU_STAT, "cgroup/v2/datadog/cpu.stat"},
        {AG_CGF_V2_MEM_CURRENT, "cgroup/v2/datadog/memory.current"},
        {AG_CGF_V2_MEM_MAX, "cgroup/v2/datadog/memory.max"},
        {AG_CGF_V2_MEM_STAT, "cgroup/v2/datadog/memory.stat"},
        {AG_CGF_V2_SWAP_CURRENT, "cgroup/v2/datadog/memory.swap.current"},
        {AG_CGF_V2_MEM_EVENTS, "cgroup/v2/datadog/memory.events"},
        {AG_CGF_V2_IO_STAT, "cgroup/v2/datadog/io.stat"},
        {AG_CGF_V2_PIDS_CURRENT, "cgroup/v2/datadog/pids.current"},
        {AG_CGF_V2_PIDS_MAX, "cgroup/v2/datadog/pids.max"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        cr_assert_eq(parse_corpus(files[i].f, files[i].rel, &raw), 0, "%s", files[i].rel);
    struct cm_sample s = {0};
    ag_cg_v2_finish(&raw, &s);
    expect_field(&s, CM_F_CPU_USAGE_NS, UINT64_C(5616647428) * 1000);
    expect_field(&s, CM_F_CPU_USER_NS, UINT64_C(3569637760) * 1000);
    expect_field(&s, CM_F_CPU_SYSTEM_NS, UINT64_C(2047009667) * 1000);
    expect_field(&s, CM_F_CPU_PERIODS, 0);
    expect_field(&s, CM_F_MEM_USAGE_BYTES, 6193152);
    cr_expect_not(cm_sample_has(&s, CM_F_MEM_LIMIT_BYTES), "memory.max \"max\" must be absent");
    expect_field(&s, CM_F_MEM_RSS_BYTES, 3108864);
    expect_field(&s, CM_F_MEM_CACHE_BYTES, 2297856);
    expect_field(&s, CM_F_MEM_WORKING_SET_BYTES, 6193152); /* inactive_file 0 */
    expect_field(&s, CM_F_MEM_SWAP_BYTES, 0);
    expect_field(&s, CM_F_OOM_KILLS, 0);
    expect_field(&s, CM_F_BLK_READ_BYTES, 2 * UINT64_C(278528));
    expect_field(&s, CM_F_BLK_WRITE_BYTES, 2 * UINT64_C(11623899136));
    expect_field(&s, CM_F_BLK_READ_OPS, 12);
    expect_field(&s, CM_F_BLK_WRITE_OPS, 2 * UINT64_C(2744940));
    expect_field(&s, CM_F_PIDS_CURRENT, 12);
    expect_field(&s, CM_F_PIDS_LIMIT, 42);
    cr_expect_not(cm_sample_has(&s, CM_F_NET_RX_BYTES));
}

Test(cgroup_parse, v2_io_stat_iocost_debug_keys_skipped)
{
    struct ag_cg_raw raw = {0};
    cr_assert_eq(
        parse_corpus(AG_CGF_V2_IO_STAT, "cgroup/v2/runc-fs2/io.stat.with-iocost-debug", &raw), 0);
    expect_raw(&raw, AG_RAW_BLK_READ_BYTES,
               UINT64_C(2285568) + UINT64_C(2037743988736) + UINT64_C(4085926524416));
    expect_raw(&raw, AG_RAW_BLK_WRITE_OPS, UINT64_C(168) + 41541021 + 40358485);
}

Test(cgroup_parse, v2_max_everywhere_is_absent)
{
    struct ag_cg_raw raw = {0};
    cr_assert_eq(
        parse_corpus(AG_CGF_V2_MEM_MAX, "cgroup/cadvisor/cgroup_v2/test2/memory.max", &raw), 0);
    cr_assert_eq(parse_corpus(AG_CGF_V2_PIDS_MAX, "cgroup/cadvisor/cgroup_v2/test2/pids.max", &raw),
                 0);
    struct cm_sample s = {0};
    ag_cg_v2_finish(&raw, &s);
    cr_expect_not(cm_sample_has(&s, CM_F_MEM_LIMIT_BYTES));
    cr_expect_not(cm_sample_has(&s, CM_F_PIDS_LIMIT));
    cr_expect(ag_cg_raw_has(&raw, AG_RAW_MEM_LIMIT_MAX));
    cr_expect(ag_cg_raw_has(&raw, AG_RAW_PIDS_LIMIT_MAX));
}

Test(cgroup_parse, v1_datadog_container_to_sample)
{
    struct ag_cg_raw raw = {0};
    static const struct {
        enum ag_cg_file f;
        const char *rel;
    } files[] = {
        {AG_CGF_V1_CPUACCT_USAGE, "cgroup/v1/datadog/cpuacct/cpuacct.usage"},
        {AG_CGF_V1_CPUACCT_STAT, "cgroup/v1/datadog/cpuacct/cpuacct.stat"},
        {AG_CGF_V1_CPU_STAT, "cgroup/v1/datadog/cpu/cpu.stat"},
        {AG_CGF_V1_MEM_USAGE, "cgroup/v1/datadog/memory/memory.usage_in_bytes"},
        {AG_CGF_V1_MEM_LIMIT, "cgroup/v1/datadog/memory/memory.limit_in_bytes"},
        {AG_CGF_V1_MEM_STAT, "cgroup/v1/datadog/memory/memory.stat"},
        {AG_CGF_V1_BLKIO_BYTES, "cgroup/v1/datadog/blkio/blkio.throttle.io_service_bytes"},
        {AG_CGF_V1_BLKIO_OPS, "cgroup/v1/datadog/blkio/blkio.throttle.io_serviced"},
        {AG_CGF_V1_PIDS_CURRENT, "cgroup/v1/datadog/pids/pids.current"},
        {AG_CGF_V1_PIDS_MAX, "cgroup/v1/datadog/pids/pids.max"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        cr_assert_eq(parse_corpus(files[i].f, files[i].rel, &raw), 0, "%s", files[i].rel);
    struct cm_sample s = {0};
    ag_cg_v1_finish(&raw, 100, &s);
    expect_field(&s, CM_F_CPU_USAGE_NS, UINT64_C(115456978426898));
    expect_field(&s, CM_F_CPU_USER_NS, UINT64_C(8718602) * 10000000);
    expect_field(&s, CM_F_CPU_SYSTEM_NS, UINT64_C(1439790) * 10000000);
    expect_field(&s, CM_F_CPU_PERIODS, 421);
    expect_field(&s, CM_F_CPU_THROTTLED_NS, 0);
    expect_field(&s, CM_F_MEM_USAGE_BYTES, 354488320);
    expect_field(&s, CM_F_MEM_LIMIT_BYTES, 67108864);
    expect_field(&s, CM_F_MEM_RSS_BYTES, 19058688);
    expect_field(&s, CM_F_MEM_CACHE_BYTES, 4866048);
    expect_field(&s, CM_F_MEM_WORKING_SET_BYTES, 354488320 - 4595712);
    expect_field(&s, CM_F_MEM_SWAP_BYTES, 0); /* total_swap, no memsw file */
    expect_field(&s, CM_F_BLK_READ_BYTES, 585728 + 75057152 + 4410880);
    expect_field(&s, CM_F_BLK_WRITE_BYTES, 0 + UINT64_C(1964221952) + 273678336);
    expect_field(&s, CM_F_BLK_READ_OPS, 38);
    expect_field(&s, CM_F_BLK_WRITE_OPS, 27528);
    expect_field(&s, CM_F_PIDS_CURRENT, 12);
    expect_field(&s, CM_F_PIDS_LIMIT, 42);
    expect_raw(&raw, AG_RAW_BLK_DEVICES, 6);
}

Test(cgroup_parse, v1_containerd_keys_memory_mapping)
{
    struct ag_cg_raw raw = {0};
    cr_assert_eq(
        parse_corpus(AG_CGF_V1_MEM_STAT, "cgroup/v1/containerd-keys/memory/memory.stat", &raw), 0);
    cr_assert_eq(parse_corpus(AG_CGF_V1_MEM_OOM_CONTROL,
                              "cgroup/v1/containerd-keys/memory/memory.oom_control", &raw),
                 0);
    expect_raw(&raw, AG_RAW_MEM_CACHE, 18);
    expect_raw(&raw, AG_RAW_MEM_RSS, 19);
    expect_raw(&raw, AG_RAW_MEM_INACTIVE_FILE, 30);
    expect_raw(&raw, AG_RAW_OOM_KILLS, 3);
    cr_expect_not(ag_cg_raw_has(&raw, AG_RAW_MEM_SWAP), "the file has no total_swap");
}

Test(cgroup_parse, v1_runc_throttled_time_uint64_max)
{
    struct ag_cg_raw raw = {0};
    cr_assert_eq(parse_corpus(AG_CGF_V1_CPU_STAT, "cgroup/v1/runc-fs/cpu/cpu.stat", &raw), 0);
    struct cm_sample s = {0};
    ag_cg_v1_finish(&raw, 100, &s);
    expect_field(&s, CM_F_CPU_THROTTLED_NS, UINT64_MAX);
    expect_field(&s, CM_F_CPU_PERIODS, 2000);
    expect_field(&s, CM_F_CPU_THROTTLED_PERIODS, 200);
}

Test(cgroup_parse, v1_blkio_empty_total_zero)
{
    struct ag_cg_raw raw = {0};
    cr_assert_eq(parse_corpus(AG_CGF_V1_BLKIO_BYTES,
                              "cgroup/v1/datadog/blkio/blkio.throttle.io_service_bytes.empty",
                              &raw),
                 0);
    expect_raw(&raw, AG_RAW_BLK_READ_BYTES, 0);
    expect_raw(&raw, AG_RAW_BLK_WRITE_BYTES, 0);
    expect_raw(&raw, AG_RAW_BLK_DEVICES, 0);
}

Test(cgroup_parse, v1_blkio_recursive_runc)
{
    struct ag_cg_raw raw = {0};
    cr_assert_eq(parse_corpus(AG_CGF_V1_BLKIO_BYTES,
                              "cgroup/v1/runc-fs/blkio/blkio.io_service_bytes_recursive", &raw),
                 0);
    expect_raw(&raw, AG_RAW_BLK_READ_BYTES, 100);
    expect_raw(&raw, AG_RAW_BLK_WRITE_BYTES, 200);
}

Test(cgroup_parse, v1_unlimited_memory_limit_absent)
{
    struct ag_cg_raw raw = {0};
    cr_assert_eq(parse_str(AG_CGF_V1_MEM_LIMIT, "9223372036854771712\n", &raw), 0);
    cr_assert_eq(parse_str(AG_CGF_V1_PIDS_MAX, "max\n", &raw), 0);
    struct cm_sample s = {0};
    ag_cg_v1_finish(&raw, 100, &s);
    cr_expect_not(cm_sample_has(&s, CM_F_MEM_LIMIT_BYTES));
    cr_expect_not(cm_sample_has(&s, CM_F_PIDS_LIMIT));
}

Test(cgroup_parse, v1_swap_from_memsw_and_floors)
{
    struct ag_cg_raw raw = {0};
    cr_assert_eq(parse_str(AG_CGF_V1_MEM_USAGE, "1000", &raw), 0);
    cr_assert_eq(parse_str(AG_CGF_V1_MEMSW_USAGE, "1500\n", &raw), 0);
    cr_assert_eq(parse_str(AG_CGF_V1_MEM_STAT, "total_swap 7\ntotal_inactive_file 4000\n", &raw),
                 0);
    struct cm_sample s = {0};
    ag_cg_v1_finish(&raw, 100, &s);
    expect_field(&s, CM_F_MEM_SWAP_BYTES, 500);      /* memsw - usage wins over total_swap */
    expect_field(&s, CM_F_MEM_WORKING_SET_BYTES, 0); /* floored, not wrapped */
}

Test(cgroup_parse, crlf_no_final_newline_and_garbage)
{
    struct ag_cg_raw raw = {0};
    const char *text = "usage_usec 10\r\n"
                       "garbage line with words\r\n"
                       "user_usec notanumber\r\n"
                       "\r\n"
                       "nr_periods -5\n"
                       "user_usec 7 extra\n"
                       "system_usec 3";
    cr_assert_eq(parse_str(AG_CGF_V2_CPU_STAT, text, &raw), 0);
    expect_raw(&raw, AG_RAW_CPU_USAGE_US, 10);
    expect_raw(&raw, AG_RAW_CPU_SYSTEM_US, 3);
    cr_expect_not(ag_cg_raw_has(&raw, AG_RAW_CPU_USER_US));
    cr_expect_not(ag_cg_raw_has(&raw, AG_RAW_CPU_PERIODS));
    cr_assert_eq(parse_str(AG_CGF_V2_MEM_CURRENT, "4096\r\n", &raw), 0);
    expect_raw(&raw, AG_RAW_MEM_USAGE, 4096);
}

Test(cgroup_parse, single_value_errors)
{
    struct ag_cg_raw raw = {0};
    cr_expect_eq(parse_str(AG_CGF_V2_MEM_CURRENT, "", &raw), CM_EPARSE);
    cr_expect_eq(parse_str(AG_CGF_V2_MEM_CURRENT, "12 13\n", &raw), CM_EPARSE);
    cr_expect_eq(parse_str(AG_CGF_V2_MEM_CURRENT, "max\n", &raw), CM_EPARSE);
    cr_expect_eq(parse_str(AG_CGF_V2_MEM_CURRENT, "-1\n", &raw), CM_EPARSE);
    cr_expect_eq(parse_str(AG_CGF_V2_MEM_CURRENT, "18446744073709551616\n", &raw), CM_EPARSE);
    cr_expect_eq(raw.present, 0);
    cr_expect_eq(parse_str(AG_CGF_V2_MEM_CURRENT, "18446744073709551615\n", &raw), 0);
    expect_raw(&raw, AG_RAW_MEM_USAGE, UINT64_MAX);
}

Test(cgroup_parse, sums_saturate_and_usec_conversion_saturates)
{
    struct ag_cg_raw raw = {0};
    cr_assert_eq(parse_str(AG_CGF_V2_IO_STAT,
                           "8:0 rbytes=18446744073709551615\n8:16 rbytes=5 wbytes=1\n", &raw),
                 0);
    expect_raw(&raw, AG_RAW_BLK_READ_BYTES, UINT64_MAX);
    cr_assert_eq(parse_str(AG_CGF_V2_CPU_STAT, "usage_usec 18446744073709551615\n", &raw), 0);
    struct cm_sample s = {0};
    ag_cg_v2_finish(&raw, &s);
    expect_field(&s, CM_F_CPU_USAGE_NS, UINT64_MAX);
    expect_field(&s, CM_F_BLK_WRITE_BYTES, 1);
}

Test(cgroup_parse, overlong_memory_stat)
{
    /* 200 KiB of unknown keys, then the key we want: a parser given the
     * whole buffer must find it; one given a capped prefix must not crash. */
    size_t cap = 200 * 1024, len = 0;
    char *text = malloc(cap + 64);
    while (len + 32 < cap)
        len += (size_t)snprintf(text + len, cap + 64 - len, "unknown_key_%06zu 1\n", len);
    len += (size_t)snprintf(text + len, cap + 64 - len, "anon 4242\n");
    struct ag_cg_raw raw = {0};
    cr_assert_eq(ag_cg_parse(AG_CGF_V2_MEM_STAT, text, len, &raw), 0);
    expect_raw(&raw, AG_RAW_MEM_RSS, 4242);
    struct ag_cg_raw raw2 = {0};
    cr_assert_eq(ag_cg_parse(AG_CGF_V2_MEM_STAT, text, AG_CG_READ_MAX, &raw2), 0);
    cr_expect_not(ag_cg_raw_has(&raw2, AG_RAW_MEM_RSS));
    free(text);
}

Test(cgroup_parse, first_pid)
{
    int pid = 0;
    cr_assert_eq(ag_cg_parse_first_pid("\n0\nabc\n1142219\n1142238\n", 23, &pid), 0);
    cr_expect_eq(pid, 1142219);
    cr_expect_eq(ag_cg_parse_first_pid("", 0, &pid), CM_ENOTFOUND);
    cr_expect_eq(ag_cg_parse_first_pid("99999999999\n", 12, &pid), CM_ENOTFOUND);
}
