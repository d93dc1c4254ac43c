/* sample.c - the field table and enum names. */
#include "common/sample.h"

#include "common/err.h"

#include <string.h>

const struct cm_field_desc cm_fields[CM_F__COUNT] = {
    [CM_F_CPU_USAGE_NS] = {"cpu_usage_ns", true},
    [CM_F_CPU_USER_NS] = {"cpu_user_ns", true},
    [CM_F_CPU_SYSTEM_NS] = {"cpu_system_ns", true},
    [CM_F_CPU_PERIODS] = {"cpu_periods", true},
    [CM_F_CPU_THROTTLED_PERIODS] = {"cpu_throttled_periods", true},
    [CM_F_CPU_THROTTLED_NS] = {"cpu_throttled_ns", true},
    [CM_F_MEM_USAGE_BYTES] = {"mem_usage_bytes", false},
    [CM_F_MEM_WORKING_SET_BYTES] = {"mem_working_set_bytes", false},
    [CM_F_MEM_LIMIT_BYTES] = {"mem_limit_bytes", false},
    [CM_F_MEM_RSS_BYTES] = {"mem_rss_bytes", false},
    [CM_F_MEM_CACHE_BYTES] = {"mem_cache_bytes", false},
    [CM_F_MEM_SWAP_BYTES] = {"mem_swap_bytes", false},
    [CM_F_OOM_KILLS] = {"oom_kills", true},
    [CM_F_BLK_READ_BYTES] = {"blk_read_bytes", true},
    [CM_F_BLK_WRITE_BYTES] = {"blk_write_bytes", true},
    [CM_F_BLK_READ_OPS] = {"blk_read_ops", true},
    [CM_F_BLK_WRITE_OPS] = {"blk_write_ops", true},
    [CM_F_PIDS_CURRENT] = {"pids_current", false},
    [CM_F_PIDS_LIMIT] = {"pids_limit", false},
    [CM_F_NET_RX_BYTES] = {"net_rx_bytes", true},
    [CM_F_NET_TX_BYTES] = {"net_tx_bytes", true},
    [CM_F_NET_RX_PACKETS] = {"net_rx_packets", true},
    [CM_F_NET_TX_PACKETS] = {"net_tx_packets", true},
};

static const char *const cm_runtime_names[CM_RT__COUNT] = {
    "unknown", "docker", "containerd", "crio", "podman", "custom",
};

const char *cm_runtime_name(enum cm_runtime rt)
{
    return (unsigned)rt < CM_RT__COUNT ? cm_runtime_names[rt] : "unknown";
}

int cm_runtime_parse(const char *name, enum cm_runtime *out)
{
    for (int i = 0; i < CM_RT__COUNT; i++) {
        if (strcmp(name, cm_runtime_names[i]) == 0) {
            *out = (enum cm_runtime)i;
            return 0;
        }
    }
    return CM_EPARSE;
}

const char *cm_cgroup_mode_name(enum cm_cgroup_mode mode)
{
    static const char *const names[CM_CGROUP__COUNT] = {"unknown", "v1", "v2", "hybrid"};
    return (unsigned)mode < CM_CGROUP__COUNT ? names[mode] : "unknown";
}
