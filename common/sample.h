/* sample.h - one container's resource sample, as both daemons see it.
 *
 * The agent's cgroup reader fills it, the wire codec carries it, the
 * collector stores it. Counters are kept in an array indexed by
 * enum cm_field so that encoding, printing, COPY and the API walk one table
 * (cm_fields[]) instead of repeating 23 names in each place. A field is
 * meaningful only when its bit is set in `present` (a v1 host has no
 * working-set file, an unlimited memory limit is "absent", a netns that
 * cannot be read has no network counters). */
#ifndef CM_SAMPLE_H
#define CM_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#define CM_CONTAINER_ID_MAX 128 /* bytes, without NUL */
#define CM_CGROUP_PATH_MAX 512

enum cm_runtime {
    CM_RT_UNKNOWN = 0,
    CM_RT_DOCKER,
    CM_RT_CONTAINERD,
    CM_RT_CRIO,
    CM_RT_PODMAN,
    CM_RT_CUSTOM, /* matched by a user-configured pattern (runc, crun, ...) */
    CM_RT__COUNT
};

enum cm_cgroup_mode {
    CM_CGROUP_UNKNOWN = 0,
    CM_CGROUP_V1,
    CM_CGROUP_V2,
    CM_CGROUP_HYBRID,
    CM_CGROUP__COUNT
};

enum cm_field {
    CM_F_CPU_USAGE_NS,
    CM_F_CPU_USER_NS,
    CM_F_CPU_SYSTEM_NS,
    CM_F_CPU_PERIODS,
    CM_F_CPU_THROTTLED_PERIODS,
    CM_F_CPU_THROTTLED_NS,
    CM_F_MEM_USAGE_BYTES,
    CM_F_MEM_WORKING_SET_BYTES,
    CM_F_MEM_LIMIT_BYTES,
    CM_F_MEM_RSS_BYTES,
    CM_F_MEM_CACHE_BYTES,
    CM_F_MEM_SWAP_BYTES,
    CM_F_OOM_KILLS,
    CM_F_BLK_READ_BYTES,
    CM_F_BLK_WRITE_BYTES,
    CM_F_BLK_READ_OPS,
    CM_F_BLK_WRITE_OPS,
    CM_F_PIDS_CURRENT,
    CM_F_PIDS_LIMIT,
    CM_F_NET_RX_BYTES,
    CM_F_NET_TX_BYTES,
    CM_F_NET_RX_PACKETS,
    CM_F_NET_TX_PACKETS,
    CM_F__COUNT
};

struct cm_field_desc {
    const char *name; /* JSON key and database column, e.g. "cpu_usage_ns" */
    bool counter;     /* monotonically growing (rates make sense) */
};

extern const struct cm_field_desc cm_fields[CM_F__COUNT];

struct cm_sample {
    char container_id[CM_CONTAINER_ID_MAX + 1];
    char cgroup_path[CM_CGROUP_PATH_MAX + 1]; /* relative to the hierarchy root, starts with '/' */
    enum cm_runtime runtime;
    int64_t ts_ns; /* when it was read, wall clock */
    uint32_t present; /* bit (1u << field) set when v[field] holds a value */
    uint64_t v[CM_F__COUNT];
};

static inline void cm_sample_set(struct cm_sample *s, enum cm_field f, uint64_t value)
{
    s->v[f] = value;
    s->present |= 1u << f;
}

static inline bool cm_sample_has(const struct cm_sample *s, enum cm_field f)
{
    return (s->present >> f) & 1u;
}

const char *cm_runtime_name(enum cm_runtime rt);          /* "docker", ... */
int cm_runtime_parse(const char *name, enum cm_runtime *out);
const char *cm_cgroup_mode_name(enum cm_cgroup_mode mode); /* "v1", "v2", "hybrid" */

#endif
