/* netdev.h - parses /proc/<pid>/net/dev into per-netns traffic totals.
 *
 * Sums received/transmitted bytes and packets over every interface except
 * the loopback "lo". Pure function over a buffer: the caller reads the file
 * (cgroup.c keeps it open per container); no I/O, no logging. */
#ifndef AG_NETDEV_H
#define AG_NETDEV_H

#include <stddef.h>
#include <stdint.h>

struct ag_netdev_totals {
    uint64_t rx_bytes;
    uint64_t rx_packets;
    uint64_t tx_bytes;
    uint64_t tx_packets;
    unsigned ifaces; /* interfaces summed (lo excluded) */
};

/* Lines without "name:" and lines with fewer than 16 numbers are skipped
 * (the two header lines, garbage). Sums saturate at UINT64_MAX. Returns 0, or
 * CM_EPARSE when no interface line (lo included) was found. */
int ag_netdev_parse(const char *buf, size_t len, struct ag_netdev_totals *out);

#endif
