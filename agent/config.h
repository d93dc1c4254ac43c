/* config.h - the agent's options: one table drives the JSON file, the flags,
 * defaults, validation and --help.
 *
 * Loading never logs and never opens key files; it only checks that values
 * are well-formed (the collector key is Z85 text, the endpoint looks like a
 * ZeroMQ address). Whether a key is *needed* depends on the mode and is
 * checked by ag_config_check_run(). */
#ifndef AG_CONFIG_H
#define AG_CONFIG_H

#include "common/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ag_config {
    char *collector;            /* ZeroMQ endpoint of the collector */
    char *collector_public_key; /* Z85 text, 40 characters */
    char *key_file;             /* the agent's own key pair (mode 0600) */
    char *host_root;            /* prefix for every /proc, /sys, /etc path */
    char *cgroup_root;          /* "" = <host_root>/sys/fs/cgroup */
    struct cm_strlist container_patterns;
    uint64_t interval_ms;           /* between sweeps */
    uint64_t heartbeat_interval_ms; /* between heartbeats */
    char *state_dir;                /* holds the seq file and spool/ */
    int64_t max_samples_per_envelope;
    int64_t spool_max_bytes;     /* bound on the spool; the oldest data goes first */
    int64_t spool_segment_bytes; /* 0 = the spool's default */
    char *spool_fsync;           /* always|interval|never */
    int64_t window;              /* envelopes in flight */
    uint64_t ack_timeout_ms;     /* resend all unacked when the oldest waited this long */
    char *log_level;
    /* inventory: host paths, looked up below host_root */
    char *docker_root;          /* Docker's data root */
    char *docker_exec_root;     /* Docker's exec root (its containerd task bundles) */
    char *containerd_state;     /* containerd's state dir (task bundles) */
    char *podman_root;          /* containers/storage root */
    char *runc_root;            /* runc's state root */
    char *crun_root;            /* crun's state root */
    char *docker_daemon_config; /* daemon.json */
    struct cm_strlist runtime_sockets;
    uint64_t inventory_interval_ms;      /* between inventory passes; 0 = no inventory */
    uint64_t inventory_full_interval_ms; /* between full inventories */
    /* logs */
    struct cm_strlist log_sources;  /* "KIND=PATH" host logs, below host_root */
    bool container_logs;            /* follow the containers' stdout/stderr logs */
    int64_t log_max_line_bytes;     /* longer lines are kept up to this */
    uint64_t log_stats_interval_ms; /* per-source volume and offset checkpoints */
    bool log_start_at_end;          /* a file never seen before: from its end */
    bool once;                           /* one sweep, then exit */
    bool print;                          /* print JSON to stdout instead of sending */
};

extern const struct cm_opt ag_config_options[];

/* Zeroes *cfg, applies defaults, then --config and flags. Sets *help and
 * returns 0 when --help was given. Positional words are an error. On error
 * err names the key and the reason; *cfg must still be freed. */
int ag_config_load(struct ag_config *cfg, int argc, char **argv, bool *help, char *err,
                   size_t errlen);
/* Checks what a sending run needs (not --print): the collector key, set and
 * valid. err names the missing key. */
int ag_config_check_run(const struct ag_config *cfg, char *err, size_t errlen);
/* --help text: usage line and every option with its default. */
void ag_config_help(FILE *out);
void ag_config_free(struct ag_config *cfg);

#endif
