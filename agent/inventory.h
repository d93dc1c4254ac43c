/* inventory.h - the agent's container inventory: what each container on
 * this host is configured to do, what runs in it and what it listens on,
 * and how the host's runtimes are set up; sent as InventoryBatch envelopes.
 *
 * A pass (on the loop thread, after a cgroup sweep):
 *   1. lists the runtimes' state dirs under host_root (Docker, podman,
 *      containerd task bundles, runc and crun states) and parses the files
 *      that changed since the last pass (agent/rt.h); one entry per id,
 *      Docker before podman before containerd before runc before crun;
 *   2. joins them with the sweep's containers by id (runc, crun: by cgroup
 *      path too); a container only the sweep knows is reported with what /proc
 *      tells; a config that cannot be read is reported as an error entry;
 *   3. scans /proc once: processes (exe, comm, effective uid, count) and
 *      the listening tcp/tcp6 sockets of each container's netns (sock_diag
 *      from inside the namespace, else /proc/<pid>/net/tcp{,6});
 *   4. encodes each container and compares it with what was last handed
 *      out: sends new and changed ones and GONE entries for vanished ids,
 *      or, on the first pass and every full_interval_ms, everything with
 *      complete = true and the ids present (only in the last envelope of
 *      the pass). The host inventory goes out when it changed and in full
 *      passes.
 * Envelopes are handed to an emit callback (the agent spools them, or
 * prints them). An envelope the callback refuses makes the next pass a full
 * one. The module logs rate-limited warnings (unreadable configs, once per
 * container and change; never file contents or environment values). */
#ifndef AG_INVENTORY_H
#define AG_INVENTORY_H

#include "common/config.h"
#include "common/inventory.h"
#include "common/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_INV_ENVELOPE_BYTES (1u << 20)  /* encoded containers per envelope, about */
#define AG_INV_ENVELOPE_CONTAINERS 500    /* containers per envelope at most */
#define AG_INV_CONTAINER_BYTES (2u << 20) /* a bigger record is sent as an error entry */

/* Paths are host paths, looked up below host_root; all borrowed for the
 * life of the inventory. NULL means the runtime's default. */
struct ag_inventory_opts {
    const char *host_root;
    const char *docker_root;                  /* /var/lib/docker */
    const char *docker_exec_root;             /* /run/docker */
    const char *containerd_state;             /* /run/containerd */
    const char *podman_root;                  /* /var/lib/containers/storage */
    const char *runc_root;                    /* /run/runc */
    const char *crun_root;                    /* /run/crun */
    const char *docker_daemon_config;         /* /etc/docker/daemon.json */
    const struct cm_strlist *runtime_sockets; /* NULL: none checked */
    uint64_t full_interval_ms;                /* 0: every pass is a full one */
};

/* Called once per envelope of a pass, in order; b and everything it points
 * to are borrowed for the call. Return 0 when the envelope was taken (e.g.
 * spooled), negative otherwise. */
typedef int (*ag_inventory_emit_cb)(void *data, const struct cm_inventory_batch *b);

struct ag_inventory_stats {
    uint64_t passes, full_passes;
    uint64_t envelopes, emit_failures;
    size_t containers;    /* in the last pass */
    size_t sent, gone;    /* containers sent / marked gone by the last pass */
    size_t errors;        /* error entries in the last pass */
    size_t parsed;        /* config sets (re)parsed by the last pass */
    bool host_sent;       /* by the last pass */
    size_t netns_diag;    /* network namespaces read by sock_diag in the last pass */
    size_t netns_files;   /* ... and from /proc/<pid>/net/tcp{,6} (no privilege, old kernel) */
    int64_t last_pass_ns; /* duration of the last pass */
};

struct ag_inventory;

/* Opens host_root. Fails with -errno when it cannot be opened (err says
 * so). Caller frees with ag_inventory_free. */
int ag_inventory_new(const struct ag_inventory_opts *opts, struct ag_inventory **out, char *err,
                     size_t errlen);
void ag_inventory_free(struct ag_inventory *inv);

/* One pass over the sweep's containers (borrowed for the call). now_ns (wall
 * clock) stamps the batches. Returns the first emit error, or 0. */
int ag_inventory_pass(struct ag_inventory *inv, const struct cm_sample *samples, size_t n,
                      int64_t now_ns, ag_inventory_emit_cb emit, void *data);
/* Makes the next pass a full one. */
void ag_inventory_force_full(struct ag_inventory *inv);
void ag_inventory_get_stats(const struct ag_inventory *inv, struct ag_inventory_stats *out);

#endif
