/* cgroup_int.h - internals shared by cgroup.c, cgroup_v1.c and cgroup_v2.c.
 *
 * The parsers here are pure: they take a buffer the caller read (at most
 * AG_CG_READ_MAX bytes) and fill a struct ag_cg_raw; they do no I/O and never
 * log, so the fuzz target and the unit tests drive them directly. A file is
 * read once per sweep into one buffer, parsed into the raw counters, and
 * ag_cg_raw_finish() turns the raw counters into struct cm_sample fields
 * (unit conversion, derived values, "unlimited" -> absent).
 *
 * Text format rules all parsers share: lines end in "\n" or "\r\n" or the end
 * of the buffer; a line that does not follow the file's format is skipped;
 * numbers are unsigned 64-bit decimals (UINT64_MAX is a valid value); sums
 * saturate at UINT64_MAX instead of wrapping. */
#ifndef AG_CGROUP_INT_H
#define AG_CGROUP_INT_H

#include "common/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_CG_READ_MAX 65536 /* bytes read from one stat file; longer files are cut at a line */
#define AG_CG_MAX_DEPTH 16   /* directory levels walked below a hierarchy root */
#define AG_CG_MAX_CONTAINERS 10000

/* v1 memory limits at or above this mean "no limit" (the kernel shows
 * PAGE_COUNTER_MAX * page size, e.g. 9223372036854771712). */
#define AG_CG_V1_UNLIMITED (UINT64_C(1) << 62)

/* Every stat file the reader knows. The enum names the parser to use; which
 * hierarchy directory holds it is cgroup.c's business. */
enum ag_cg_file {
    /* v1 */
    AG_CGF_V1_CPUACCT_USAGE,
    AG_CGF_V1_CPUACCT_STAT,
    AG_CGF_V1_CPU_STAT,
    AG_CGF_V1_MEM_USAGE,
    AG_CGF_V1_MEM_LIMIT,
    AG_CGF_V1_MEMSW_USAGE,
    AG_CGF_V1_MEM_STAT,
    AG_CGF_V1_MEM_OOM_CONTROL,
    AG_CGF_V1_BLKIO_BYTES, /* blkio.throttle.io_service_bytes or a *_recursive fallback */
    AG_CGF_V1_BLKIO_OPS,   /* blkio.throttle.io_serviced or a *_recursive fallback */
    AG_CGF_V1_PIDS_CURRENT,
    AG_CGF_V1_PIDS_MAX,
    /* v2 */
    AG_CGF_V2_CPU_STAT,
    AG_CGF_V2_MEM_CURRENT,
    AG_CGF_V2_MEM_MAX,
    AG_CGF_V2_MEM_STAT,
    AG_CGF_V2_SWAP_CURRENT,
    AG_CGF_V2_MEM_EVENTS,
    AG_CGF_V2_IO_STAT,
    AG_CGF_V2_PIDS_CURRENT,
    AG_CGF_V2_PIDS_MAX,
    AG_CGF__COUNT
};

/* Counters as the files give them, before conversion. */
enum ag_cg_rawkey {
    AG_RAW_CPU_USAGE_NS,
    AG_RAW_CPU_USAGE_US,
    AG_RAW_CPU_USER_US,
    AG_RAW_CPU_SYSTEM_US,
    AG_RAW_CPU_USER_TICKS,
    AG_RAW_CPU_SYSTEM_TICKS,
    AG_RAW_CPU_PERIODS,
    AG_RAW_CPU_THROTTLED,
    AG_RAW_CPU_THROTTLED_NS,
    AG_RAW_CPU_THROTTLED_US,
    AG_RAW_MEM_USAGE,
    AG_RAW_MEM_LIMIT,
    AG_RAW_MEM_LIMIT_MAX, /* the limit file said "max" */
    AG_RAW_MEMSW_USAGE,
    AG_RAW_MEM_RSS,
    AG_RAW_MEM_CACHE,
    AG_RAW_MEM_INACTIVE_FILE,
    AG_RAW_MEM_SWAP, /* v1 total_swap or v2 memory.swap.current */
    AG_RAW_OOM_KILLS,
    AG_RAW_BLK_READ_BYTES,
    AG_RAW_BLK_WRITE_BYTES,
    AG_RAW_BLK_READ_OPS,
    AG_RAW_BLK_WRITE_OPS,
    AG_RAW_BLK_DEVICES, /* device lines seen in the blkio bytes file (fallback decision) */
    AG_RAW_PIDS_CURRENT,
    AG_RAW_PIDS_LIMIT,
    AG_RAW_PIDS_LIMIT_MAX,
    AG_RAW__COUNT
};

struct ag_cg_raw {
    uint64_t present; /* bit (1 << key) */
    uint64_t v[AG_RAW__COUNT];
};

static inline void ag_cg_raw_set(struct ag_cg_raw *r, enum ag_cg_rawkey k, uint64_t v)
{
    r->v[k] = v;
    r->present |= UINT64_C(1) << k;
}

static inline bool ag_cg_raw_has(const struct ag_cg_raw *r, enum ag_cg_rawkey k)
{
    return (r->present >> k) & 1u;
}

static inline uint64_t ag_cg_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Maps one "key value" name of a flat keyed file to a raw counter. */
struct ag_cg_key {
    const char *name;
    enum ag_cg_rawkey key;
};

/* --- generic formats (cgroup_v2.c: the kernel's documented file formats) --- */

/* Splits buf into lines; *pos advances. Returns false at the end. The line
 * excludes "\n" and a trailing "\r". */
bool ag_cg_next_line(const char *buf, size_t len, size_t *pos, const char **line, size_t *llen);
/* A single value file: a number, or "max" (*is_max set). CM_EPARSE otherwise. */
int ag_cg_parse_single(const char *buf, size_t len, uint64_t *out, bool *is_max);
/* A single value file into raw counter k; "max" sets max_k to 1 instead
 * (max_k == AG_RAW__COUNT: "max" is not allowed). CM_EPARSE when malformed. */
int ag_cg_parse_value(const char *buf, size_t len, struct ag_cg_raw *raw, enum ag_cg_rawkey k,
                      enum ag_cg_rawkey max_k);
/* A flat keyed file ("key value" lines): stores the keys listed in `keys`.
 * Unknown keys and malformed lines are skipped. Returns 0. */
int ag_cg_parse_flat(const char *buf, size_t len, const struct ag_cg_key *keys, size_t nkeys,
                     struct ag_cg_raw *raw);
/* First pid of a cgroup.procs file. CM_ENOTFOUND when it lists none. */
int ag_cg_parse_first_pid(const char *buf, size_t len, int *pid);

/* --- per-file parsers --- */
int ag_cg_v1_parse(enum ag_cg_file f, const char *buf, size_t len, struct ag_cg_raw *raw);
int ag_cg_v2_parse(enum ag_cg_file f, const char *buf, size_t len, struct ag_cg_raw *raw);
/* Dispatches on f to the v1 or v2 parser. CM_EPARSE when the file's single
 * value is malformed; keyed files never fail. */
int ag_cg_parse(enum ag_cg_file f, const char *buf, size_t len, struct ag_cg_raw *raw);

/* Sets sample field f from raw counter k (times mul, saturating) if present. */
void ag_cg_copy_field(const struct ag_cg_raw *raw, enum ag_cg_rawkey k, struct cm_sample *s,
                      enum cm_field f, uint64_t mul);
/* working set = usage - inactive_file, floored at 0, when both are known. */
void ag_cg_set_working_set(const struct ag_cg_raw *raw, struct cm_sample *s);

/* Converts raw counters into sample fields. clk_tck: USER_HZ (sysconf). */
void ag_cg_v1_finish(const struct ag_cg_raw *raw, long clk_tck, struct cm_sample *s);
void ag_cg_v2_finish(const struct ag_cg_raw *raw, struct cm_sample *s);

#endif
