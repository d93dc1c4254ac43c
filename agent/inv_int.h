/* inv_int.h - internals of the agent's inventory, shared by inventory.c
 * (the scheduler), inv_discover.c (runtime state dirs), inv_proc.c (the
 * /proc scan) and inv_host.c (daemon config, dockerd flags, sockets).
 *
 * File access: every state file is opened below a directory fd without
 * following any symlink (ag_inv_open_beneath); configured paths (data
 * roots, daemon.json, sockets, bundles named by runc or crun) are resolved inside
 * the host root (ag_inv_open_in_root), so a symlink on the host cannot lead
 * the agent out of --host-root. Every read is capped.
 *
 * The parsers declared here are pure: bytes in, values out, no I/O, no
 * logging, so the unit tests and fuzzing drive them directly. */
#ifndef AG_INV_INT_H
#define AG_INV_INT_H

#include "agent/inventory.h"
#include "common/inventory.h"
#include "common/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_INV_PROCS_MAX 256           /* distinct (exe, comm, uid) kept per container */
#define AG_INV_LISTEN_MAX 256          /* listening sockets kept per container */
#define AG_INV_NET_READ_MAX (4u << 20) /* bytes of one /proc/<pid>/net/tcp{,6} */
#define AG_INV_SMALL_READ 8192         /* /proc/<pid>/{cgroup,status,cmdline}, init.pid */
#define AG_INV_ID_FILE_MAX (1u << 20)  /* <host_root>/etc/passwd, /etc/group */

/* ---- file access (inv_discover.c) ---- */

/* Opens `path` (absolute or relative; leading '/' ignored) inside rootfd:
 * symlinks are resolved as if rootfd were "/" and ".." cannot leave it.
 * flags as for openat (O_CLOEXEC added). Returns an fd or -errno. */
int ag_inv_open_in_root(int rootfd, const char *path, int flags);
/* Opens `rel` below dirfd refusing every symlink on the way (-ELOOP) and
 * any ".." that would climb above dirfd (-EXDEV). Returns an fd or -errno. */
int ag_inv_open_beneath(int dirfd, const char *rel, int flags);
/* Reads all of fd (closed here) into a new NUL-terminated buffer (caller
 * frees). CM_ETOOBIG past max bytes, -errno on a read error. */
int ag_inv_read_fd(int fd, size_t max, char **out, size_t *len);
/* ag_inv_open_beneath + ag_inv_read_fd. */
int ag_inv_read_beneath(int dirfd, const char *rel, size_t max, char **out, size_t *len);
/* A 64-bit identity of a file (device, inode, size, mtime, ctime) mixed
 * into *sig; a missing file mixes in its errno. Never follows a symlink. */
void ag_inv_sig_add(uint64_t *sig, int dirfd, const char *rel);
uint64_t ag_inv_hash(uint64_t h, const void *p, size_t n); /* FNV-1a, h = 0 to start */

/* ---- discovery (inv_discover.c) ---- */

/* Where a container was found, in priority order: for one id, the lowest
 * wins (Docker's containers are also containerd bundles and runc states,
 * podman's are runc or crun states; an id both runc and crun keep state
 * for is runc's). */
enum ag_inv_src {
    AG_INV_SRC_DOCKER,     /* <docker_root>/containers/<id>/ */
    AG_INV_SRC_PODMAN,     /* <podman_root>/overlay-containers/<id>/userdata/ */
    AG_INV_SRC_CONTAINERD, /* <task root>/<namespace>/<id>/ (containerd's or Docker's) */
    AG_INV_SRC_RUNC,       /* <runc_root>/<id>/state.json -> bundle */
    AG_INV_SRC_CRUN,       /* <crun_root>/<id>/status + config.json (or the bundle's) */
    AG_INV_SRC_CGROUP,     /* only in the cgroup sweep: no state files found */
    AG_INV_SRC__COUNT
};

/* State roots, opened once per pass. */
enum ag_inv_root {
    AG_INV_ROOT_DOCKER,       /* <docker_root> */
    AG_INV_ROOT_PODMAN,       /* <podman_root>/overlay-containers */
    AG_INV_ROOT_CONTAINERD,   /* <containerd_state>/io.containerd.runtime.v2.task */
    AG_INV_ROOT_DOCKER_TASKS, /* <docker_exec_root>/containerd/daemon/io.containerd.runtime.v2.task
                               */
    AG_INV_ROOT_RUNC,         /* <runc_root> */
    AG_INV_ROOT_CRUN,         /* <crun_root> */
    AG_INV_ROOT__COUNT
};

#define AG_INV_REL_MAX 320

struct ag_inv_found {
    char key[CM_CONTAINER_ID_MAX + 1]; /* the runtime's own id (its directory name) */
    enum ag_inv_src src;
    enum ag_inv_root root;
    char rel[AG_INV_REL_MAX]; /* the container's directory below its root */
    uint64_t sig;             /* identity of every file the loader reads */
};

struct ag_inv_disc;

int ag_inv_disc_new(int rootfd, const struct ag_inventory_opts *o, struct ag_inv_disc **out);
void ag_inv_disc_free(struct ag_inv_disc *d);
/* Lists every runtime's containers (directory listings and stat only),
 * one entry per key (the highest priority source), sorted by key. *out is
 * owned by d, valid until the next list or ag_inv_disc_end. Opens the
 * state roots; they stay open for ag_inv_disc_load until ag_inv_disc_end. */
int ag_inv_disc_list(struct ag_inv_disc *d, const struct ag_inv_found **out, size_t *n);
/* Reads and parses one container into *out (zeroed first, caller frees
 * with cm_container_inv_free): id = f->key, the runtime, and cgroup_path
 * when the runtime names one (runc's and crun's cgroup path). A file that cannot be
 * read or parsed gives an entry with only id, runtime and error
 * ("<file>: <reason>") set. */
void ag_inv_disc_load(struct ag_inv_disc *d, const struct ag_inv_found *f,
                      struct cm_container_inv *out);
void ag_inv_disc_end(struct ag_inv_disc *d); /* closes the state roots */

/* The parts we use of a plain OCI runtime's own state file: runc's
 * <root>/<id>/state.json (libcontainer) or crun's <root>/<id>/status. */
struct ag_inv_runc_state {
    uint32_t pid;       /* runc: init_process_pid; crun: pid */
    int64_t created_ns; /* created (RFC 3339); 0 when absent or odd */
    char *bundle;       /* runc: config.labels "bundle=<path>"; crun: bundle; NULL when absent */
    char *cgroup_path;  /* runc: config.cgroups.path; crun: cgroup-path; NULL when absent */
};
/* Both: CM_EPARSE (err says why, naming the file) when buf is not a JSON
 * object, CM_ETOOBIG past AG_RT_FILE_MAX; a field that is missing or of
 * another type is left unset. Free with ag_inv_runc_state_free. */
int ag_inv_runc_state_parse(const char *buf, size_t len, struct ag_inv_runc_state *out, char *err,
                            size_t errlen);
/* crun's status: {"pid", "process-start-time", "cgroup-path", "scope",
 * "rootfs", "systemd-cgroup", "bundle", "created", "owner", "detached",
 * "external_descriptors"}; the cgroup path is the one crun made (with
 * systemd-cgroup, the unit's path, not the spec's "slice:prefix:name"). */
int ag_inv_crun_status_parse(const char *buf, size_t len, struct ag_inv_runc_state *out, char *err,
                             size_t errlen);
void ag_inv_runc_state_free(struct ag_inv_runc_state *s);

/* containers/storage's overlay-containers/containers.json: id -> name, image. */
struct ag_inv_podman_meta {
    char id[CM_CONTAINER_ID_MAX + 1];
    char *name;  /* names[0] */
    char *image; /* metadata's image-name */
    int64_t created_ns;
};
int ag_inv_podman_index_parse(const char *buf, size_t len, struct ag_inv_podman_meta **out,
                              size_t *n, char *err, size_t errlen);
void ag_inv_podman_index_free(struct ag_inv_podman_meta *m, size_t n);

/* The last path component of a cgroup path or cgroupsPath ("/a/b" -> "b",
 * systemd "slice:prefix:name" -> NULL) when it is a valid container id. */
bool ag_inv_cgroup_leaf_id(const char *path, char *id, size_t idlen);

/* ---- the /proc scan (inv_proc.c) ---- */

struct ag_inv_proc;

int ag_inv_proc_new(int rootfd, struct ag_inv_proc **out);
void ag_inv_proc_free(struct ag_inv_proc *p);
/* One pass over <host_root>/proc. A pid belongs to the container whose
 * cgroup_path equals (or is an ancestor of) one of the pid's cgroup paths,
 * else whose id is the leaf of one. Each container (error entries are left
 * alone) gets a fresh sorted processes list (+ CM_INV_K_PROCS when /proc
 * could be read), the listening sockets of the netns of its lowest pid
 * (+ CM_INV_K_LISTEN; by sock_diag from inside the namespace, else from
 * /proc/<pid>/net/tcp{,6}), and that pid when pid was 0. Returns 0, or
 * -errno when /proc cannot be listed (the containers' earlier processes
 * and sockets are then cleared, not kept stale). */
int ag_inv_proc_scan(struct ag_inv_proc *p, struct cm_container_inv *const *cs, size_t n);
/* After a scan: network namespaces whose sockets were read by sock_diag,
 * and by the /proc/<pid>/net files. */
void ag_inv_proc_netns_counts(const struct ag_inv_proc *p, size_t *by_diag, size_t *by_files);
/* After a scan: whether that pid was found in one of the containers. */
bool ag_inv_proc_in_container(const struct ag_inv_proc *p, uint32_t pid);
/* After a scan: pids seen in the pass (sorted). */
void ag_inv_proc_pids(const struct ag_inv_proc *p, const uint32_t **pids, size_t *n);

/* Listening (state 0A) sockets in /proc/<pid>/net/tcp or tcp6 text: appends
 * to out[*n] up to max, skipping malformed lines. Returns how many lines
 * were LISTEN (may exceed what fitted). Addresses are written as text. */
size_t ag_inv_net_tcp_parse(const char *buf, size_t len, bool v6, struct cm_listen *out, size_t max,
                            size_t *n);
/* "Name:" and the effective uid ("Uid:" second field) of /proc/<pid>/status.
 * CM_EPARSE when either is missing. */
int ag_inv_status_parse(const char *buf, size_t len, char *comm, size_t commlen, uint32_t *euid);

/* ---- the host (inv_host.c) ---- */

struct ag_inv_host;

int ag_inv_host_new(int rootfd, const struct ag_inventory_opts *o, struct ag_inv_host **out);
void ag_inv_host_free(struct ag_inv_host *h);
/* Fills *out (zeroed first; caller frees with cm_host_inv_free): daemon.json,
 * the flags of the dockerd that serves docker_root (found again when
 * rescan, when the last one exited, or when a runtime socket changed),
 * and the runtime sockets. pr (after a scan) rules out dockerd look-alikes
 * running inside containers; may be NULL. */
int ag_inv_host_read(struct ag_inv_host *h, const struct ag_inv_proc *pr, bool rescan,
                     struct cm_host_inv *out);

/* The name for `id` in passwd- or group-format text (name:x:id:...).
 * CM_ENOTFOUND when no line has it. */
int ag_inv_idfile_lookup(const char *buf, size_t len, uint32_t id, char *name, size_t namelen);
/* Splits a NUL-separated /proc/<pid>/cmdline in place into argv (at most
 * max words). Returns the word count. */
size_t ag_inv_cmdline_split(char *buf, size_t len, char **argv, size_t max);
/* The --data-root (or legacy -g/--graph) a dockerd command line names, or
 * NULL when it names none (borrowed from argv). */
const char *ag_inv_dockerd_data_root(char *const *argv, size_t argc);
/* The --config-file it names, or NULL. */
const char *ag_inv_dockerd_config_file(char *const *argv, size_t argc);

#endif
