/* config.c - the agent's option table and the checks the table cannot
 * express (key syntax, endpoint shape). */
#include "agent/config.h"

#include "common/err.h"
#include "common/keys.h"
#include "proto/wire.h"

#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct ag_config, f)
#define HOUR_MS (3600LL * 1000)
#define KIB 1024LL
#define TIB (1024LL * 1024 * 1024 * 1024)

const struct cm_opt ag_config_options[] = {
    {"collector", CM_OPT_STRING, OFF(collector), "tcp://127.0.0.1:7070", 0, 0, NULL, 0,
     "ZeroMQ endpoint of the collector"},
    {"collector_public_key", CM_OPT_STRING, OFF(collector_public_key), NULL, 0, 0, NULL, 0,
     "the collector's CURVE public key (40 characters of Z85); needed unless --print"},
    {"key_file", CM_OPT_STRING, OFF(key_file), "/etc/boxwatch/agent.key", 0, 0, NULL, 0,
     "this agent's CURVE key pair file (mode 0600), made by the collector's enroll"},
    {"host_root", CM_OPT_STRING, OFF(host_root), "/", 0, 0, NULL, 0,
     "prefix for the host's /proc, /sys and /etc (e.g. /host inside a container)"},
    {"cgroup_root", CM_OPT_STRING, OFF(cgroup_root), "", 0, 0, NULL, 0,
     "cgroup hierarchy root; empty means <host_root>/sys/fs/cgroup"},
    {"container_patterns", CM_OPT_STRLIST, OFF(container_patterns), "", 0, 0, NULL, 0,
     "extra cgroup name patterns \"REGEX\" or \"RUNTIME=REGEX\"; group 1 is the id"},
    {"interval_ms", CM_OPT_DURATION_MS, OFF(interval_ms), "10s", 100, HOUR_MS, NULL, 0,
     "time between cgroup sweeps"},
    {"heartbeat_interval_ms", CM_OPT_DURATION_MS, OFF(heartbeat_interval_ms), "30s", 1000, HOUR_MS,
     NULL, 0, "time between heartbeats to the collector"},
    {"state_dir", CM_OPT_STRING, OFF(state_dir), "/var/lib/boxwatch-agent", 0, 0, NULL, 0,
     "directory for the agent's durable state (sequence numbers, spool/)"},
    {"max_samples_per_envelope", CM_OPT_INT, OFF(max_samples_per_envelope), "1000", 1,
     CM_WIRE_MAX_SAMPLES, NULL, 0, "container samples in one message; a sweep is split"},
    {"spool_max_bytes", CM_OPT_INT, OFF(spool_max_bytes), "268435456", 64 * KIB, TIB, NULL, 0,
     "bytes the disk spool of unacked envelopes may use; when full the oldest are dropped "
     "(and counted)"},
    {"spool_segment_bytes", CM_OPT_INT, OFF(spool_segment_bytes), "0", 0, TIB, NULL, 0,
     "size of one spool segment file; 0 = min(4 MiB, spool_max_bytes / 4)"},
    {"spool_fsync", CM_OPT_ENUM, OFF(spool_fsync), "always", 0, 0, "always|interval|never", 0,
     "fsync the spool after every append, once a second, or never (kernel decides)"},
    {"window", CM_OPT_INT, OFF(window), "64", 1, 100000, NULL, 0,
     "envelopes sent and waiting for an ack at most"},
    {"ack_timeout_ms", CM_OPT_DURATION_MS, OFF(ack_timeout_ms), "10s", 100, HOUR_MS, NULL, 0,
     "resend everything unacked when the oldest envelope waited this long for its ack"},
    {"docker_root", CM_OPT_STRING, OFF(docker_root), "/var/lib/docker", 0, 0, NULL, 0,
     "Docker's data root (containers/<id>/config.v2.json), below host_root"},
    {"docker_exec_root", CM_OPT_STRING, OFF(docker_exec_root), "/run/docker", 0, 0, NULL, 0,
     "Docker's exec root (containerd task bundles of its containers), below host_root"},
    {"containerd_state", CM_OPT_STRING, OFF(containerd_state), "/run/containerd", 0, 0, NULL, 0,
     "containerd's state dir (io.containerd.runtime.v2.task/<ns>/<id>), below host_root"},
    {"podman_root", CM_OPT_STRING, OFF(podman_root), "/var/lib/containers/storage", 0, 0, NULL, 0,
     "podman's storage root (overlay-containers/), below host_root"},
    {"runc_root", CM_OPT_STRING, OFF(runc_root), "/run/runc", 0, 0, NULL, 0,
     "runc's state root (<id>/state.json), below host_root"},
    {"crun_root", CM_OPT_STRING, OFF(crun_root), "/run/crun", 0, 0, NULL, 0,
     "crun's state root (<id>/status and its config.json copy), below host_root"},
    {"docker_daemon_config", CM_OPT_STRING, OFF(docker_daemon_config), "/etc/docker/daemon.json", 0,
     0, NULL, 0,
     "Docker's daemon.json, below host_root (a dockerd's own --config-file wins over the "
     "default)"},
    {"runtime_sockets", CM_OPT_STRLIST, OFF(runtime_sockets),
     "/var/run/docker.sock,/run/containerd/containerd.sock,/run/podman/podman.sock,"
     "/run/crio/crio.sock",
     0, 0, NULL, 0, "runtime API sockets whose owner, group and mode are reported"},
    {"inventory_interval_ms", CM_OPT_DURATION_MS, OFF(inventory_interval_ms), "10s", 0, HOUR_MS,
     NULL, 0, "time between inventory passes (changes are sent); 0 turns the inventory off"},
    {"inventory_full_interval_ms", CM_OPT_DURATION_MS, OFF(inventory_full_interval_ms), "10m", 1000,
     24 * HOUR_MS, NULL, 0, "time between full inventories (every container and the host)"},
    {"log_sources", CM_OPT_STRLIST, OFF(log_sources),
     "auth=/var/log/auth.log,auth=/var/log/secure,syslog=/var/log/syslog,"
     "syslog=/var/log/messages,kernel=/var/log/kern.log",
     0, 0, NULL, 0,
     "host logs to match the collector's rules on, \"KIND=PATH\" (kind auth, syslog, kernel or "
     "file; below host_root; missing files are followed once they appear)"},
    {"container_logs", CM_OPT_BOOL, OFF(container_logs), "true", 0, 0, NULL, 0,
     "also follow every container's stdout/stderr log (Docker json-file, podman k8s-file, CRI)"},
    {"log_max_line_bytes", CM_OPT_INT, OFF(log_max_line_bytes), "65536", 1024, 16 * 1024 * 1024,
     NULL, 0, "longer log lines are matched and kept only up to this many bytes"},
    {"log_stats_interval_ms", CM_OPT_DURATION_MS, OFF(log_stats_interval_ms), "60s", 1000, HOUR_MS,
     NULL, 0, "time between per-source line/byte counts (and log offset checkpoints)"},
    {"log_start_at_end", CM_OPT_BOOL, OFF(log_start_at_end), "true", 0, 0, NULL, 0,
     "a log file the agent has never read starts at its end (false: from its beginning)"},
    {"log_level", CM_OPT_ENUM, OFF(log_level), "info", 0, 0, "debug|info|warn|error", 0,
     "least severe log level written"},
    {"once", CM_OPT_BOOL, OFF(once), "false", 0, 0, NULL, CM_OPT_CLI_ONLY,
     "one sweep, wait for acks (10 s), exit 0 when all were acked"},
    {"print", CM_OPT_BOOL, OFF(print), "false", 0, 0, NULL, CM_OPT_CLI_ONLY,
     "print JSON to stdout instead of sending; needs no collector or keys"},
    CM_OPT_END,
};

/* Checks the table cannot express; err names the key. */
static int ag_config_validate(const struct ag_config *cfg, char *err, size_t errlen)
{
    if (cfg->collector_public_key && *cfg->collector_public_key &&
        !cm_keys_is_z85(cfg->collector_public_key)) {
        snprintf(err, errlen,
                 "config key 'collector_public_key': not a CURVE public key "
                 "(expected 40 characters of Z85 text)");
        return CM_ECONFIG;
    }
    if (!cfg->collector || !strstr(cfg->collector, "://")) {
        snprintf(err, errlen,
                 "config key 'collector': not a ZeroMQ endpoint (e.g. tcp://collector:7070)");
        return CM_ECONFIG;
    }
    if (!cfg->host_root || !*cfg->host_root) {
        snprintf(err, errlen, "config key 'host_root': must not be empty (use \"/\")");
        return CM_ECONFIG;
    }
    if (cfg->spool_segment_bytes > cfg->spool_max_bytes) {
        snprintf(err, errlen, "config key 'spool_segment_bytes': larger than spool_max_bytes");
        return CM_ECONFIG;
    }
    if (cfg->inventory_interval_ms > 0 && cfg->inventory_interval_ms < 100) {
        snprintf(err, errlen, "config key 'inventory_interval_ms': at least 100ms (or 0: off)");
        return CM_ECONFIG;
    }
    if (cfg->inventory_full_interval_ms < cfg->inventory_interval_ms) {
        snprintf(err, errlen,
                 "config key 'inventory_full_interval_ms': shorter than inventory_interval_ms");
        return CM_ECONFIG;
    }
    if (!cfg->state_dir || !*cfg->state_dir) {
        snprintf(err, errlen, "config key 'state_dir': must not be empty");
        return CM_ECONFIG;
    }
    return 0;
}

int ag_config_load(struct ag_config *cfg, int argc, char **argv, bool *help, char *err,
                   size_t errlen)
{
    char **positional = NULL;
    int npositional = 0;
    memset(cfg, 0, sizeof *cfg);
    *help = false;
    int rc = cm_config_defaults(ag_config_options, cfg, err, errlen);
    if (rc < 0) goto out;
    rc = cm_config_from_args(ag_config_options, cfg, argc, argv, &positional, &npositional, help,
                             err, errlen);
    if (rc < 0 || *help) goto out;
    if (npositional > 0) {
        snprintf(err, errlen, "unexpected argument '%s' (see --help)", positional[0]);
        rc = CM_ECONFIG;
        goto out;
    }
    rc = ag_config_validate(cfg, err, errlen);
out:
    free(positional);
    return rc;
}

int ag_config_check_run(const struct ag_config *cfg, char *err, size_t errlen)
{
    if (!cfg->collector_public_key || !*cfg->collector_public_key) {
        snprintf(err, errlen,
                 "config key 'collector_public_key' is required to send to the collector "
                 "(or use --once --print to only look)");
        return CM_ECONFIG;
    }
    if (!cfg->key_file || !*cfg->key_file) {
        snprintf(err, errlen, "config key 'key_file' is required to send to the collector");
        return CM_ECONFIG;
    }
    return 0;
}

void ag_config_help(FILE *out)
{
    fprintf(out, "usage: boxwatch-agent [--config FILE] [--KEY VALUE ...]\n"
                 "       boxwatch-agent --once --print   (look at this host, send nothing)\n\n"
                 "options (file keys use '_' where flags use '-'):\n");
    cm_config_help(ag_config_options, out);
}

void ag_config_free(struct ag_config *cfg)
{
    cm_config_free(ag_config_options, cfg);
}
