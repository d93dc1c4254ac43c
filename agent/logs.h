/* logs.h - the agent's log pipeline: sources -> tailer -> rule matcher ->
 * EventBatch envelopes through the sender, and log offsets committed once
 * the envelopes holding what was read are acked.
 *
 * Host logs come from configured "KIND=PATH" sources; container logs are
 * found from the cgroup sweep's containers: Docker's json-file
 * (<docker_root>/containers/<id>/<id>-json.log), podman's k8s-file
 * (<podman_root>/overlay-containers/<id>/userdata/ctr.log) and the CRI
 * links in /var/log/containers/ named <pod>_<ns>_<name>-<id>.log (containerd and CRI-O under
 * Kubernetes). Nothing is read before the collector's first Policy arrives:
 * a line read without rules would be committed unmatched. Every matched
 * line becomes an event; per-source volume goes out every stats interval.
 *
 * Offsets: each envelope records how far each file had been read when it
 * was submitted; when the sender's acked floor passes that envelope, those
 * offsets are committed (ag_tail_commit). After a crash the tailer resumes
 * at the last committed offset, so lines may be read and matched again; the
 * collector stores an event once by (file_key, offset, rule). */
#ifndef AG_LOGS_H
#define AG_LOGS_H

#include "agent/sender.h"
#include "common/config.h"
#include "common/logevent.h"
#include "common/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct ag_logs_opts {
    const char *host_root;
    const char *state_dir;
    const struct cm_strlist *sources; /* "auth=/var/log/auth.log", ...; below host_root */
    bool container_logs;              /* follow the containers' stdout/stderr logs */
    const char *docker_root;          /* below host_root */
    const char *podman_root;
    size_t max_line_bytes;      /* 0 = tailer default */
    uint64_t stats_interval_ms; /* per-source volume and offset checkpoints; 0 = 60 s */
    uint64_t flush_ms;          /* events wait at most this long; 0 = 1 s */
    bool start_at_end;          /* files never seen before: from their end */
    struct ag_sender *sender;   /* borrowed */
};

struct ag_logs;

/* Checks the sources ("KIND=PATH", known kind, absolute path); starts
 * nothing yet. */
int ag_logs_new(uv_loop_t *loop, const struct ag_logs_opts *opts, struct ag_logs **out, char *err,
                size_t errlen);
/* Compiles the collector's rules and, the first time, starts tailing.
 * Fills *ack (accepted, or the rule that failed) for the caller to send. */
void ag_logs_set_policy(struct ag_logs *l, const struct cm_policy *p, struct cm_policy_ack *ack);
/* The containers of the latest sweep: their logs become sources. */
void ag_logs_set_containers(struct ag_logs *l, const struct cm_sample *samples, size_t n);
/* After acks: commits the offsets of every envelope now below the floor. */
void ag_logs_on_progress(struct ag_logs *l);

struct ag_logs_stats {
    uint64_t lines, events, envelopes, submit_failures, checkpoints_committed;
    uint32_t policy_version;
    size_t sources;
};
void ag_logs_get_stats(const struct ag_logs *l, struct ag_logs_stats *out);
/* Flushes pending events, closes handles (run the loop afterwards). */
void ag_logs_free(struct ag_logs *l);

#endif
