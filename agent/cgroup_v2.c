/* cgroup_v2.c - parsers for the kernel's cgroup file formats and for the
 * cgroup v2 (unified) stat files.
 *
 * The generic formats (lines, single values, flat keyed files, pid lists) are
 * the ones Documentation/admin-guide/cgroup-v2.rst defines; v1 files use the
 * same shapes, so cgroup_v1.c builds on them. Pure functions over a buffer:
 * no I/O, no logging, no allocation. */
#include "agent/cgroup_int.h"

#include "common/err.h"
#include "common/parse.h"

#include <string.h>

bool ag_cg_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *llen)
{
    if (*pos >= len) return false;
    const char *start = buf + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += n + (nl ? 1 : 0);
    if (n > 0 && start[n - 1] == '\r') n--;
    *line = start;
    *llen = n;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Next whitespace-separated word of [*p, end); false when none is left. */
static bool next_word(const char **p, const char *end, const char **w, size_t *wlen)
{
    const char *s = *p;
    while (s < end && is_space(*s))
        s++;
    if (s == end) return false;
    const char *e = s;
    while (e < end && !is_space(*e))
        e++;
    *w = s;
    *wlen = (size_t)(e - s);
    *p = e;
    return true;
}

int ag_cg_parse_single(const char *buf, size_t len, uint64_t *out, bool *is_max)
{
    const char *p = buf, *end = buf + len, *w, *extra;
    size_t wlen, xlen;
    if (!next_word(&p, end, &w, &wlen) || next_word(&p, end, &extra, &xlen)) return CM_EPARSE;
    if (wlen == 3 && memcmp(w, "max", 3) == 0) {
        *out = 0;
        *is_max = true;
        return 0;
    }
    uint64_t v;
    if (cm_parse_u64(w, wlen, &v) < 0) return CM_EPARSE;
    *out = v;
    *is_max = false;
    return 0;
}

int ag_cg_parse_flat(const char *buf, size_t len, const struct ag_cg_key *keys, size_t nkeys,
                     struct ag_cg_raw *raw)
{
    size_t pos = 0, llen, klen, vlen, xlen;
    const char *line, *k, *v, *x;
    while (ag_cg_next_line(buf, len, &pos, &line, &llen)) {
        const char *p = line, *end = line + llen;
        if (!next_word(&p, end, &k, &klen) || !next_word(&p, end, &v, &vlen) ||
            next_word(&p, end, &x, &xlen))
            continue;
        for (size_t i = 0; i < nkeys; i++) {
            uint64_t n;
            if (strlen(keys[i].name) != klen || memcmp(keys[i].name, k, klen) != 0) continue;
            if (cm_parse_u64(v, vlen, &n) == 0) ag_cg_raw_set(raw, keys[i].key, n);
            break;
        }
    }
    return 0;
}

int ag_cg_parse_first_pid(const char *buf, size_t len, int *pid)
{
    size_t pos = 0, llen;
    const char *line;
    while (ag_cg_next_line(buf, len, &pos, &line, &llen)) {
        uint64_t v;
        if (cm_parse_u64(line, llen, &v) == 0 && v > 0 && v <= INT32_MAX) {
            *pid = (int)v;
            return 0;
        }
    }
    return CM_ENOTFOUND;
}

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N", summed
 * over devices. Unknown keys (iocost debug "cost.vrate=100.00") are skipped. */
static void parse_io_stat(const char *buf, size_t len, struct ag_cg_raw *raw)
{
    static const struct ag_cg_key keys[] = {
        {"rbytes", AG_RAW_BLK_READ_BYTES},
        {"wbytes", AG_RAW_BLK_WRITE_BYTES},
        {"rios", AG_RAW_BLK_READ_OPS},
        {"wios", AG_RAW_BLK_WRITE_OPS},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ag_cg_raw_set(raw, keys[i].key, 0);
    size_t pos = 0, llen, wlen;
    const char *line, *w;
    while (ag_cg_next_line(buf, len, &pos, &line, &llen)) {
        const char *p = line, *end = line + llen;
        if (!next_word(&p, end, &w, &wlen) || !memchr(w, ':', wlen)) continue;
        while (next_word(&p, end, &w, &wlen)) {
            const char *eq = memchr(w, '=', wlen);
            if (!eq) continue;
            size_t klen = (size_t)(eq - w);
            uint64_t n;
            if (cm_parse_u64(eq + 1, wlen - klen - 1, &n) < 0) continue;
            for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                if (strlen(keys[i].name) == klen && memcmp(keys[i].name, w, klen) == 0) {
                    enum ag_cg_rawkey k = keys[i].key;
                    raw->v[k] = ag_cg_sat_add(raw->v[k], n);
                    break;
                }
            }
        }
    }
}

int ag_cg_parse_value(const char *buf, size_t len, struct ag_cg_raw *raw, enum ag_cg_rawkey k,
                      enum ag_cg_rawkey max_k)
{
    uint64_t v;
    bool is_max;
    if (ag_cg_parse_single(buf, len, &v, &is_max) < 0 || (is_max && max_k == AG_RAW__COUNT))
        return CM_EPARSE;
    if (is_max)
        ag_cg_raw_set(raw, max_k, 1);
    else
        ag_cg_raw_set(raw, k, v);
    return 0;
}

int ag_cg_v2_parse(enum ag_cg_file f, const char *buf, size_t len, struct ag_cg_raw *raw)
{
    static const struct ag_cg_key cpu[] = {
        {"usage_usec", AG_RAW_CPU_USAGE_US},    {"user_usec", AG_RAW_CPU_USER_US},
        {"system_usec", AG_RAW_CPU_SYSTEM_US},  {"nr_periods", AG_RAW_CPU_PERIODS},
        {"nr_throttled", AG_RAW_CPU_THROTTLED}, {"throttled_usec", AG_RAW_CPU_THROTTLED_US},
    };
    static const struct ag_cg_key mem[] = {
        {"anon", AG_RAW_MEM_RSS},
        {"file", AG_RAW_MEM_CACHE},
        {"inactive_file", AG_RAW_MEM_INACTIVE_FILE},
    };
    static const struct ag_cg_key events[] = {{"oom_kill", AG_RAW_OOM_KILLS}};
    switch (f) {
    case AG_CGF_V2_CPU_STAT:
        return ag_cg_parse_flat(buf, len, cpu, sizeof(cpu) / sizeof(cpu[0]), raw);
    case AG_CGF_V2_MEM_CURRENT:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_MEM_USAGE, AG_RAW__COUNT);
    case AG_CGF_V2_MEM_MAX:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_MEM_LIMIT, AG_RAW_MEM_LIMIT_MAX);
    case AG_CGF_V2_MEM_STAT:
        return ag_cg_parse_flat(buf, len, mem, sizeof(mem) / sizeof(mem[0]), raw);
    case AG_CGF_V2_SWAP_CURRENT:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_MEM_SWAP, AG_RAW__COUNT);
    case AG_CGF_V2_MEM_EVENTS:
        return ag_cg_parse_flat(buf, len, events, 1, raw);
    case AG_CGF_V2_IO_STAT:
        parse_io_stat(buf, len, raw);
        return 0;
    case AG_CGF_V2_PIDS_CURRENT:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_PIDS_CURRENT, AG_RAW__COUNT);
    case AG_CGF_V2_PIDS_MAX:
        return ag_cg_parse_value(buf, len, raw, AG_RAW_PIDS_LIMIT, AG_RAW_PIDS_LIMIT_MAX);
    default:
        return CM_EPARSE;
    }
}

int ag_cg_parse(enum ag_cg_file f, const char *buf, size_t len, struct ag_cg_raw *raw)
{
    if (f < AG_CGF_V2_CPU_STAT) return ag_cg_v1_parse(f, buf, len, raw);
    return ag_cg_v2_parse(f, buf, len, raw);
}

void ag_cg_copy_field(const struct ag_cg_raw *raw, enum ag_cg_rawkey k, struct cm_sample *s,
                      enum cm_field f, uint64_t mul)
{
    if (!ag_cg_raw_has(raw, k)) return;
    uint64_t v = raw->v[k];
    cm_sample_set(s, f, mul > 1 && v > UINT64_MAX / mul ? UINT64_MAX : v * mul);
}

void ag_cg_set_working_set(const struct ag_cg_raw *raw, struct cm_sample *s)
{
    if (ag_cg_raw_has(raw, AG_RAW_MEM_USAGE) && ag_cg_raw_has(raw, AG_RAW_MEM_INACTIVE_FILE)) {
        uint64_t u = raw->v[AG_RAW_MEM_USAGE], inact = raw->v[AG_RAW_MEM_INACTIVE_FILE];
        cm_sample_set(s, CM_F_MEM_WORKING_SET_BYTES, u > inact ? u - inact : 0);
    }
}

void ag_cg_v2_finish(const struct ag_cg_raw *raw, struct cm_sample *s)
{
    static const struct {
        enum ag_cg_rawkey k;
        enum cm_field f;
        uint64_t mul;
    } map[] = {
        {AG_RAW_CPU_USAGE_US, CM_F_CPU_USAGE_NS, 1000},
        {AG_RAW_CPU_USER_US, CM_F_CPU_USER_NS, 1000},
        {AG_RAW_CPU_SYSTEM_US, CM_F_CPU_SYSTEM_NS, 1000},
        {AG_RAW_CPU_PERIODS, CM_F_CPU_PERIODS, 1},
        {AG_RAW_CPU_THROTTLED, CM_F_CPU_THROTTLED_PERIODS, 1},
        {AG_RAW_CPU_THROTTLED_US, CM_F_CPU_THROTTLED_NS, 1000},
        {AG_RAW_MEM_USAGE, CM_F_MEM_USAGE_BYTES, 1},
        {AG_RAW_MEM_LIMIT, CM_F_MEM_LIMIT_BYTES, 1},
        {AG_RAW_MEM_RSS, CM_F_MEM_RSS_BYTES, 1},
        {AG_RAW_MEM_CACHE, CM_F_MEM_CACHE_BYTES, 1},
        {AG_RAW_MEM_SWAP, CM_F_MEM_SWAP_BYTES, 1},
        {AG_RAW_OOM_KILLS, CM_F_OOM_KILLS, 1},
        {AG_RAW_BLK_READ_BYTES, CM_F_BLK_READ_BYTES, 1},
        {AG_RAW_BLK_WRITE_BYTES, CM_F_BLK_WRITE_BYTES, 1},
        {AG_RAW_BLK_READ_OPS, CM_F_BLK_READ_OPS, 1},
        {AG_RAW_BLK_WRITE_OPS, CM_F_BLK_WRITE_OPS, 1},
        {AG_RAW_PIDS_CURRENT, CM_F_PIDS_CURRENT, 1},
        {AG_RAW_PIDS_LIMIT, CM_F_PIDS_LIMIT, 1},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        ag_cg_copy_field(raw, map[i].k, s, map[i].f, map[i].mul);
    ag_cg_set_working_set(raw, s);
}
