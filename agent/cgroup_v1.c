/* cgroup_v1.c - parsers for the cgroup v1 (legacy, per-controller) stat files
 * and their conversion into sample fields.
 *
 * Pure functions over a buffer: no I/O, no logging. Which file to read, and
 * the blkio fallback from the throttle files to the *_recursive ones, are
 * decided in cgroup.c. v1 specifics handled here: cpuacct.stat counts USER_HZ
 * ticks, memory limits show "unlimited" as a huge page-rounded number, swap
 * is memsw usage minus memory usage, blkio files are "MAJ:MIN Op value" lines
 * ending in a "Total" line that is not a device. */
#include "agent/cgroup_int.h"

#include "common/err.h"
#include "common/parse.h"

#include <string.h>

static bool word_is(const char *w, size_t wlen, const char *lit)
{
    return strlen(lit) == wlen && memcmp(w, lit, wlen) == 0;
}

/* Splits one blkio line into its three words; false when it has not three. */
static bool blkio_words(const char *line, size_t llen, const char *w[3], size_t wl[3])
{
    size_t i = 0, n = 0;
    while (i < llen && n < 4) {
        while (i < llen && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == llen) break;
        size_t start = i;
        while (i < llen && line[i] != ' ' && line[i] != '\t')
            i++;
        if (n < 3) {
            w[n] = line + start;
            wl[n] = i - start;
        }
        n++;
    }
    return n == 3;
}

/* Sums the Read and Write lines over devices. "Total N", Sync, Async and
 * Discard lines are skipped. Both counters are present (0) even when the
 * file lists no device, which is what an idle cgroup shows. */
static void parse_blkio(const char *buf, size_t len, struct ag_cg_raw *raw, enum ag_cg_rawkey rk,
                        enum ag_cg_rawkey wk, bool count_devices)
{
    ag_cg_raw_set(raw, rk, 0);
    ag_cg_raw_set(raw, wk, 0);
    if (count_devices) ag_cg_raw_set(raw, AG_RAW_BLK_DEVICES, 0);
    size_t pos = 0, llen;
    const char *line;
    while (ag_cg_next_line(buf, len, &pos, &line, &llen)) {
        const char *w[3];
        size_t wl[3];
        uint64_t n;
        if (!blkio_words(line, llen, w, wl) || !memchr(w[0], ':', wl[0]) ||
            cm_parse_u64(w[2], wl[2], &n) < 0)
            continue;
        enum ag_cg_rawkey k;
        if (word_is(w[1], wl[1], "Read"))
            k = rk;
        else if (word_is(w[1], wl[1], "Write"))
            k = wk;
        else
            continue;
        raw->v[k] = ag_cg_sat_add(raw->v[k], n);
        if (count_devices) raw->v[AG_RAW_BLK_DEVICES]++;
    }
}

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

int ag_cg_v1_parse(enum ag_cg_file f, const char *buf, size_t len, struct ag_cg_raw *raw)
{
    static const struct ag_cg_key acct[] = {
        {"user", AG_RAW_CPU_USER_TICKS},
        {"system", AG_RAW_CPU_SYSTEM_TICKS},
    };
    static const struct ag_cg_key cpu[] = {
        {"nr_periods", AG_RAW_CPU_PERIODS},
        {"nr_throttled", AG_RAW_CPU_THROTTLED},
        {"throttled_time", AG_RAW_CPU_THROTTLED_NS},
    };
    static const struct ag_cg_key mem[] = {
        {"total_rss", AG_RAW_MEM_RSS},
        {"total_cache", AG_RAW_MEM_CACHE},
        {"total_inactive_file", AG_RAW_MEM_INACTIVE_FILE},
        {"total_swap", AG_RAW_MEM_SWAP},
    };
    static const struct ag_cg_key oom[] = {{"oom_kill", AG_RAW_OOM_KILLS}};
    switch (f) {
    case AG_CGF_V1_CPUACCT_USAGE:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_CPU_USAGE_NS, AG_RAW__COUNT);
    case AG_CGF_V1_CPUACCT_STAT:
        return ag_cg_parse_flat(buf, len, acct, NKEYS(acct), raw);
    case AG_CGF_V1_CPU_STAT:
        return ag_cg_parse_flat(buf, len, cpu, NKEYS(cpu), raw);
    case AG_CGF_V1_MEM_USAGE:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_MEM_USAGE, AG_RAW__COUNT);
    case AG_CGF_V1_MEM_LIMIT:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_MEM_LIMIT, AG_RAW_MEM_LIMIT_MAX);
    case AG_CGF_V1_MEMSW_USAGE:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_MEMSW_USAGE, AG_RAW__COUNT);
    case AG_CGF_V1_MEM_STAT:
        return ag_cg_parse_flat(buf, len, mem, NKEYS(mem), raw);
    case AG_CGF_V1_MEM_OOM_CONTROL:
        return ag_cg_parse_flat(buf, len, oom, NKEYS(oom), raw);
    case AG_CGF_V1_BLKIO_BYTES:
        parse_blkio(buf, len, raw, AG_RAW_BLK_READ_BYTES, AG_RAW_BLK_WRITE_BYTES, true);
        return 0;
    case AG_CGF_V1_BLKIO_OPS:
        parse_blkio(buf, len, raw, AG_RAW_BLK_READ_OPS, AG_RAW_BLK_WRITE_OPS, false);
        return 0;
    case AG_CGF_V1_PIDS_CURRENT:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_PIDS_CURRENT, AG_RAW__COUNT);
    case AG_CGF_V1_PIDS_MAX:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_PIDS_LIMIT, AG_RAW_PIDS_LIMIT_MAX);
    default:
        return CM_EPARSE;
    }
}

/* ticks * 1e9 / hz without overflowing on the way (saturates at the end). */
static uint64_t ticks_to_ns(uint64_t ticks, long clk_tck)
{
    uint64_t hz = clk_tck > 0 ? (uint64_t)clk_tck : 100;
    uint64_t whole = ticks / hz, rest = ticks % hz;
    uint64_t ns = UINT64_C(1000000000);
    if (whole > UINT64_MAX / ns) return UINT64_MAX;
    return ag_cg_sat_add(whole * ns, rest * ns / hz);
}

void ag_cg_v1_finish(const struct ag_cg_raw *raw, long clk_tck, struct cm_sample *s)
{
    static const struct {
        enum ag_cg_rawkey k;
        enum cm_field f;
    } map[] = {
        {AG_RAW_CPU_USAGE_NS, CM_F_CPU_USAGE_NS},
        {AG_RAW_CPU_PERIODS, CM_F_CPU_PERIODS},
        {AG_RAW_CPU_THROTTLED, CM_F_CPU_THROTTLED_PERIODS},
        {AG_RAW_CPU_THROTTLED_NS, CM_F_CPU_THROTTLED_NS},
        {AG_RAW_MEM_USAGE, CM_F_MEM_USAGE_BYTES},
        {AG_RAW_MEM_RSS, CM_F_MEM_RSS_BYTES},
        {AG_RAW_MEM_CACHE, CM_F_MEM_CACHE_BYTES},
        {AG_RAW_OOM_KILLS, CM_F_OOM_KILLS},
        {AG_RAW_BLK_READ_BYTES, CM_F_BLK_READ_BYTES},
        {AG_RAW_BLK_WRITE_BYTES, CM_F_BLK_WRITE_BYTES},
        {AG_RAW_BLK_READ_OPS, CM_F_BLK_READ_OPS},
        {AG_RAW_BLK_WRITE_OPS, CM_F_BLK_WRITE_OPS},
        {AG_RAW_PIDS_CURRENT, CM_F_PIDS_CURRENT},
        {AG_RAW_PIDS_LIMIT, CM_F_PIDS_LIMIT},
    };
    for (size_t i = 0; i < NKEYS(map); i++)
        ag_cg_copy_field(raw, map[i].k, s, map[i].f, 1);
    if (ag_cg_raw_has(raw, AG_RAW_CPU_USER_TICKS))
        cm_sample_set(s, CM_F_CPU_USER_NS, ticks_to_ns(raw->v[AG_RAW_CPU_USER_TICKS], clk_tck));
    if (ag_cg_raw_has(raw, AG_RAW_CPU_SYSTEM_TICKS))
        cm_sample_set(s, CM_F_CPU_SYSTEM_NS, ticks_to_ns(raw->v[AG_RAW_CPU_SYSTEM_TICKS], clk_tck));
    if (ag_cg_raw_has(raw, AG_RAW_MEM_LIMIT) && raw->v[AG_RAW_MEM_LIMIT] < AG_CG_V1_UNLIMITED)
        cm_sample_set(s, CM_F_MEM_LIMIT_BYTES, raw->v[AG_RAW_MEM_LIMIT]);
    if (ag_cg_raw_has(raw, AG_RAW_MEMSW_USAGE) && ag_cg_raw_has(raw, AG_RAW_MEM_USAGE)) {
        uint64_t sw = raw->v[AG_RAW_MEMSW_USAGE], u = raw->v[AG_RAW_MEM_USAGE];
        cm_sample_set(s, CM_F_MEM_SWAP_BYTES, sw > u ? sw - u : 0);
    } else if (ag_cg_raw_has(raw, AG_RAW_MEM_SWAP)) {
        cm_sample_set(s, CM_F_MEM_SWAP_BYTES, raw->v[AG_RAW_MEM_SWAP]);
    }
    ag_cg_set_working_set(raw, s);
}
