/* synth.c - plausible, monotonic counters for a synthetic container. */
#include "tests/loadgen/synth.h"

#define SYNTH_MIB (1024ull * 1024)

void bw_synth_sample(struct cm_sample *s, size_t c, uint64_t t_us)
{
    uint64_t cpu = t_us * 25 * (c % 4 + 1); /* 2.5 % .. 10 % of a core */
    uint64_t mem = (32 + c % 32) * SYNTH_MIB + (t_us / 1000000 % 16) * 64 * 1024;
    uint64_t rx = t_us * (c % 3 + 1) / 10;
    s->present = 0;
    cm_sample_set(s, CM_F_CPU_USAGE_NS, cpu);
    cm_sample_set(s, CM_F_CPU_USER_NS, cpu / 4 * 3);
    cm_sample_set(s, CM_F_CPU_SYSTEM_NS, cpu - cpu / 4 * 3);
    cm_sample_set(s, CM_F_MEM_USAGE_BYTES, mem);
    cm_sample_set(s, CM_F_MEM_WORKING_SET_BYTES, mem / 8 * 7);
    cm_sample_set(s, CM_F_MEM_LIMIT_BYTES, 512 * SYNTH_MIB);
    cm_sample_set(s, CM_F_MEM_RSS_BYTES, mem / 2);
    cm_sample_set(s, CM_F_MEM_CACHE_BYTES, mem / 4);
    cm_sample_set(s, CM_F_PIDS_CURRENT, 1 + c % 8);
    cm_sample_set(s, CM_F_PIDS_LIMIT, 1024);
    cm_sample_set(s, CM_F_BLK_READ_BYTES, t_us / 100 * (c % 2));
    cm_sample_set(s, CM_F_BLK_WRITE_BYTES, t_us / 50);
    cm_sample_set(s, CM_F_NET_RX_BYTES, rx);
    cm_sample_set(s, CM_F_NET_TX_BYTES, rx / 2);
    cm_sample_set(s, CM_F_NET_RX_PACKETS, rx / 800);
    cm_sample_set(s, CM_F_NET_TX_PACKETS, rx / 1600);
}
