/* netdev.c - /proc/<pid>/net/dev parsing: traffic totals of one network
 * namespace, loopback excluded. No I/O, no logging. */
#include "agent/netdev.h"

#include "common/err.h"
#include "common/parse.h"

#include <stdbool.h>
#include <string.h>

#define AG_NETDEV_NUMS 16 /* 8 receive + 8 transmit columns */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Reads the 16 counters after "name:"; false when a column is missing or
 * not a number. */
static bool parse_counters(const char *p, const char *end, uint64_t v[AG_NETDEV_NUMS])
{
    for (int i = 0; i < AG_NETDEV_NUMS; i++) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (cm_parse_u64(s, (size_t)(p - s), &v[i]) < 0) return false;
    }
    return true;
}

/* One interface line; returns false when it is not one. */
static bool parse_line(const char *line, size_t llen, struct ag_netdev_totals *t)
{
    const char *colon = memchr(line, ':', llen);
    if (!colon) return false;
    const char *name = line, *name_end = colon;
    while (name < name_end && (*name == ' ' || *name == '\t'))
        name++;
    if (name == name_end) return false;
    uint64_t v[AG_NETDEV_NUMS];
    if (!parse_counters(colon + 1, line + llen, v)) return false;
    if (name_end - name == 2 && memcmp(name, "lo", 2) == 0) return true;
    t->rx_bytes = sat_add(t->rx_bytes, v[0]);
    t->rx_packets = sat_add(t->rx_packets, v[1]);
    t->tx_bytes = sat_add(t->tx_bytes, v[8]);
    t->tx_packets = sat_add(t->tx_packets, v[9]);
    t->ifaces++;
    return true;
}

int ag_netdev_parse(const char *buf, size_t len, struct ag_netdev_totals *out)
{
    struct ag_netdev_totals t = {0};
    bool any = false;
    size_t pos = 0;
    while (pos < len) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;
        pos += llen + (nl ? 1 : 0);
        if (llen > 0 && line[llen - 1] == '\r') llen--;
        if (parse_line(line, llen, &t)) any = true;
    }
    if (!any) return CM_EPARSE;
    *out = t;
    return 0;
}
