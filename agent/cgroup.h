/* cgroup.h - discovers container cgroups and reads their resource counters.
 *
 * Works on cgroup v1, v2 and hybrid hierarchies under a host-root prefix.
 * Containers are recognised by the cgroup names Docker, containerd (also
 * under kubepods), CRI-O and podman create, and by user patterns (POSIX
 * extended regular expressions whose first capture group is the container
 * id). Stat files stay open between sweeps and are re-read with pread(), the
 * cheapest way to read them. This module only reads; it sends nothing and
 * logs only rate-limited warnings about unreadable hierarchies. */
#ifndef AG_CGROUP_H
#define AG_CGROUP_H

#include "common/config.h"
#include "common/sample.h"

#include <stddef.h>
#include <stdint.h>

struct ag_cgroup_opts {
    const char *host_root;   /* "/" on a host, "/host" in a container, a fixture dir in tests */
    const char *cgroup_root; /* NULL: <host_root>/sys/fs/cgroup */
    const struct cm_strlist *patterns; /* user patterns "REGEX" or "RUNTIME=REGEX"; may be NULL */
};

struct ag_cgroup;

/* Detects the hierarchy layout and compiles patterns. Fails (err says why)
 * on a bad pattern or when no cgroup hierarchy is found at the root. Raises
 * the process's soft RLIMIT_NOFILE to its hard limit: stat files are kept
 * open (all but 512 fds may be used; past that, files are opened per read). */
int ag_cgroup_new(const struct ag_cgroup_opts *opts, struct ag_cgroup **out, char *err,
                  size_t errlen);
enum cm_cgroup_mode ag_cgroup_mode(const struct ag_cgroup *cg);

/* Rediscovers containers and reads every one. *samples points into storage
 * owned by cg, valid until the next sweep or ag_cgroup_free. A container
 * whose files vanish mid-sweep (it stopped) is left out, not an error. */
int ag_cgroup_sweep(struct ag_cgroup *cg, int64_t now_ns, const struct cm_sample **samples,
                    size_t *n);
void ag_cgroup_free(struct ag_cgroup *cg);

#endif
