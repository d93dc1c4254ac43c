/* inventory.h - a container's configuration and the host's runtime setup,
 * as both daemons see them.
 *
 * The agent's runtime readers (agent/rt_*.c) fill these from the runtimes'
 * own state files, the wire codec carries them (InventoryBatch), and the
 * collector stores them and runs its checks on them. Every string and array
 * is heap-owned by the struct that holds it: cm_container_inv_free and
 * cm_host_inv_free release everything (and are harmless on a zeroed struct).
 * A NULL string means "not known"; "" means "known to be empty". The
 * `known` bitmask says which groups of fields the runtime could tell at
 * all (a plain runc container has no restart policy and no health check:
 * a check must not call that a failure). Values of environment variables
 * are never stored here, only their names. */
#ifndef CM_INVENTORY_H
#define CM_INVENTORY_H

#include "common/sample.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds, enforced by the readers and again by the wire decoder. */
#define CM_INV_STR_MAX 4096   /* bytes of any one string (paths, image refs, labels) */
#define CM_INV_LIST_MAX 1024  /* entries of any one list (labels, mounts, env, ...) */
#define CM_INV_MAX_CONTAINERS 2000 /* containers in one InventoryBatch */

enum cm_inv_state {
    CM_INV_STATE_UNKNOWN = 0,
    CM_INV_STATE_CREATED,
    CM_INV_STATE_RUNNING,
    CM_INV_STATE_PAUSED,
    CM_INV_STATE_RESTARTING,
    CM_INV_STATE_EXITED,
    CM_INV_STATE_GONE,
    CM_INV_STATE__COUNT
};

/* Namespaces shared with the host (bits of host_namespaces). */
enum {
    CM_NS_NET = 1u << 0,
    CM_NS_PID = 1u << 1,
    CM_NS_IPC = 1u << 2,
    CM_NS_UTS = 1u << 3,
    CM_NS_USER = 1u << 4,
    CM_NS_CGROUP = 1u << 5,
};

/* What the runtime could tell (bits of `known`). A field whose group bit is
 * clear is "not known", whatever it holds. */
enum {
    CM_INV_K_USER = 1u << 0,        /* user */
    CM_INV_K_PRIVILEGED = 1u << 1,  /* privileged */
    CM_INV_K_CAPS = 1u << 2,        /* cap_add/drop (Docker) or effective/bounding (OCI) */
    CM_INV_K_MOUNTS = 1u << 3,
    CM_INV_K_NAMESPACES = 1u << 4,  /* host_namespaces */
    CM_INV_K_ROOTFS = 1u << 5,      /* readonly_rootfs */
    CM_INV_K_SECCOMP = 1u << 6,
    CM_INV_K_MAC = 1u << 7,         /* apparmor_profile / selinux_label */
    CM_INV_K_NNP = 1u << 8,         /* no_new_privileges */
    CM_INV_K_LIMITS = 1u << 9,      /* memory, cpu, pids */
    CM_INV_K_PORTS = 1u << 10,      /* published/exposed ports */
    CM_INV_K_RESTART = 1u << 11,    /* restart policy */
    CM_INV_K_HEALTH = 1u << 12,     /* healthcheck */
    CM_INV_K_ENV = 1u << 13,
    CM_INV_K_LISTEN = 1u << 14,     /* listening sockets were read */
    CM_INV_K_PROCS = 1u << 15,      /* processes were read */
    CM_INV_K_IMAGE = 1u << 16,
};

struct cm_kv {
    char *key;
    char *value; /* may be NULL */
};

struct cm_mount {
    char *source;      /* may be NULL */
    char *destination; /* never NULL */
    bool read_only;
    char *type;        /* may be NULL */
    char *propagation; /* may be NULL */
};

struct cm_port {
    uint32_t container_port;
    char *protocol;   /* tcp, udp, sctp */
    char *host_ip;    /* NULL or "" = all interfaces */
    bool published;   /* host_port is meaningful */
    uint32_t host_port;
};

struct cm_listen {
    char *protocol; /* tcp, tcp6 */
    char *address;
    uint32_t port;
};

struct cm_process {
    char *exe;
    char *comm; /* may be NULL */
    uint32_t count;
    uint32_t uid;
};

struct cm_env {
    char *name;
    bool secret_like;
    char *secret_reason; /* NULL unless secret_like */
};

struct cm_strv {
    char **v;
    size_t n;
};

struct cm_container_inv {
    char id[CM_CONTAINER_ID_MAX + 1];
    enum cm_runtime runtime;
    enum cm_inv_state state;
    char *error; /* the config could not be read: why; NULL when it could */
    char *name;
    char *image;
    char *image_digest;
    struct cm_kv *labels;
    size_t n_labels;
    int64_t created_ns; /* 0 = unknown */
    int64_t started_ns;
    char *cgroup_path;
    uint32_t pid; /* 0 = unknown or not running */

    char *user;
    bool privileged;
    struct cm_strv cap_add, cap_drop, cap_effective, cap_bounding; /* upper case, no CAP_ */
    struct cm_mount *mounts;
    size_t n_mounts;
    uint32_t host_namespaces; /* CM_NS_* */
    bool readonly_rootfs;
    char *seccomp_profile; /* "unconfined", "default", a name or a path; NULL unknown */
    char *apparmor_profile;
    char *selinux_label;
    bool no_new_privileges;
    struct cm_strv security_opt;
    uint64_t memory_limit_bytes; /* 0 = none */
    uint64_t nano_cpus;
    uint64_t cpu_shares;
    int64_t cpu_quota_us;
    uint64_t cpu_period_us;
    int64_t pids_limit; /* <= 0 = none */
    struct cm_port *ports;
    size_t n_ports;
    char *restart_policy;
    uint32_t restart_max_retries;
    bool healthcheck;
    struct cm_env *env;
    size_t n_env;
    struct cm_listen *listening;
    size_t n_listening;
    struct cm_process *processes;
    size_t n_processes;
    char *network_mode;
    struct cm_strv devices;
    char *cgroup_parent;
    uint32_t known; /* CM_INV_K_* */
};

struct cm_socket_info {
    char *path;
    bool exists;
    uint32_t uid, gid, mode; /* mode = st_mode & 07777 */
    char *owner, *group;     /* names from the host's passwd/group; may be NULL */
};

/* daemon_settings keys are the daemon.json keys (icc, userns-remap,
 * live-restore, no-new-privileges, hosts, tls, tlsverify, log-driver,
 * iptables, insecure-registries, authorization-plugins, userland-proxy,
 * seccomp-profile, log-level, ...) with the command-line flags of a running
 * dockerd merged over them. Values are JSON text of the value as given
 * (true, false, "", ["tcp://0.0.0.0:2375"]): the collector's checks decide
 * what they mean; an absent key means "left at the daemon's default". */
struct cm_host_inv {
    bool docker_present;
    char *daemon_config_path;  /* NULL when there is none */
    char *daemon_config_error; /* NULL unless present but unreadable/invalid */
    struct cm_kv *daemon_settings;
    size_t n_daemon_settings;
    struct cm_socket_info *runtime_sockets;
    size_t n_runtime_sockets;
};

struct cm_inventory_batch {
    int64_t collected_ns;
    struct cm_container_inv *containers; /* encode: borrowed; decode: owned */
    size_t n;
    struct cm_host_inv *host; /* NULL when not sent */
    bool complete;            /* present_ids is the agent's whole current set */
    char **present_ids;
    size_t n_present;
};

void cm_container_inv_free(struct cm_container_inv *c); /* frees members, zeroes *c */
void cm_host_inv_free(struct cm_host_inv *h);
void cm_inventory_batch_free(struct cm_inventory_batch *b); /* members, containers, host */

const char *cm_inv_state_name(enum cm_inv_state s); /* "running", "gone", ... */
int cm_inv_state_parse(const char *name, enum cm_inv_state *out);

/* Appends a copy of s to v. CM_ETOOBIG past CM_INV_LIST_MAX entries or for
 * s longer than CM_INV_STR_MAX; CM_EPARSE for s == NULL. Out of memory
 * aborts (common/alloc.h). v is left as it was on failure. */
int cm_strv_push(struct cm_strv *v, const char *s);
bool cm_strv_contains(const struct cm_strv *v, const char *s); /* exact match */

/* The inventory as a JSON object (keys = proto field names; absent/NULL
 * fields and empty lists left out; known groups spelled out as a "known"
 * string array, host_namespaces as names; times as RFC 3339 UTC under
 * created_at/started_at; labels and daemon_settings as objects; see
 * common/inventory_json.c). Used by the agent's --print and stored by the
 * collector for the API. Caller frees with cJSON_Delete; NULL on allocation
 * failure. */
cJSON *cm_container_inv_to_json(const struct cm_container_inv *c);
cJSON *cm_host_inv_to_json(const struct cm_host_inv *h);

#endif
