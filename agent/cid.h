/* cid.h - recognises a container, its id and its runtime, from a cgroup path.
 *
 * Built-in rules cover the names Docker, containerd (also under kubepods),
 * CRI-O and podman give their cgroups, with cgroupfs and systemd drivers:
 *   /docker/<64hex>                          /system.slice/docker-<64hex>.scope
 *   /k8s.io/<64hex>, /default/<64hex>        /system.slice/cri-containerd-<64hex>.scope
 *   /kubepods[/<qos>]/pod<uid>/<64hex>
 * .../kubepods-<qos>-pod<uid>.slice/cri-containerd-<64hex>.scope crio-<64hex>[.scope]
 * /libpod_parent/libpod-<64hex>, libpod-<64hex>.scope Conmon scopes (crio-conmon-*,
 * libpod-conmon-*), pod-level directories and short ids are not containers. User patterns ("REGEX"
 * or "RUNTIME=REGEX", POSIX extended, first capture group = id, runtime defaults to custom) are
 * tried first, in order. The module does no I/O and never logs. */
#ifndef AG_CID_H
#define AG_CID_H

#include "common/config.h"
#include "common/sample.h"

#include <stdbool.h>
#include <stddef.h>

struct ag_cid_match {
    enum cm_runtime runtime;
    char id[CM_CONTAINER_ID_MAX + 1];
};

struct ag_cid;

/* Compiles the user patterns (patterns may be NULL). Fails with CM_ECONFIG
 * and a message naming the pattern when one does not compile, has no
 * capture group or names an unknown runtime. Caller frees with ag_cid_free. */
int ag_cid_new(const struct cm_strlist *patterns, struct ag_cid **out, char *err, size_t errlen);
void ag_cid_free(struct ag_cid *c);

/* path: a cgroup path relative to the hierarchy root, starting with '/'
 * (borrowed). True when it names a container; *m is then filled. */
bool ag_cid_match(const struct ag_cid *c, const char *path, struct ag_cid_match *m);

/* The built-in rules alone (c == NULL in ag_cid_match behaves the same). */
bool ag_cid_match_builtin(const char *path, struct ag_cid_match *m);

#endif
