/* hostinfo.h - what the agent says about its host in Hello: hostname,
 * machine id and kernel release, read under the host-root prefix so that an
 * agent in a container describes the host, not its own container.
 *
 * Every value is capped at the wire limits and trimmed of surrounding
 * whitespace; a value that cannot be read is left empty (hostname falls back
 * to gethostname()). The module never logs. */
#ifndef AG_HOSTINFO_H
#define AG_HOSTINFO_H

#include "proto/wire.h"

struct ag_hostinfo {
    char hostname[CM_WIRE_HOSTNAME_MAX + 1];
    char machine_id[CM_WIRE_TEXT_MAX + 1];
    char kernel[CM_WIRE_TEXT_MAX + 1];
};

/* Reads <host_root>/proc/sys/kernel/hostname (else gethostname()),
 * <host_root>/etc/machine-id and <host_root>/proc/sys/kernel/osrelease.
 * Returns 0, or CM_ENOTFOUND when not even a hostname could be found. */
int ag_hostinfo_read(const char *host_root, struct ag_hostinfo *out);

#endif
