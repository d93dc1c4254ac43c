/* logtail.h - follows log files and hands out whole, decoded lines.
 *
 * Sources are files (host logs from the config, container logs the
 * inventory found). Each file is identified by device and inode, not by
 * name: a rename (logrotate's default) keeps reading the old file to its
 * end and then follows the new one at the same path; copytruncate and
 * truncation (size below the offset) restart at 0; a new file at a watched
 * path is picked up. Change notification comes from libuv (uv_fs_event) and
 * a periodic rescan is the backstop (and the only mechanism for files on
 * filesystems without inotify). Lines are decoded from the runtime's format
 * (Docker json-file, CRI with its partial-line flag, podman k8s-file, raw
 * text), partial lines are joined, and a line longer than max_line_bytes is
 * kept only up to that length (counted as truncated; the rest is skipped,
 * not taken for a new line). Bytes that are not text (NUL, invalid UTF-8)
 * are replaced, so a binary file in a watched path is read without harm.
 *
 * Offsets: the offset handed out with a line is the byte offset of its
 * start in its file. The tailer persists, per "<dev>:<inode>", the offset up
 * to which the caller said everything was acknowledged (ag_tail_commit);
 * after a restart it resumes there, so a line is read again at most when its
 * envelope was not yet acked (the collector drops that repeat by
 * (file_key, offset)). Logs only rate-limited warnings (unreadable files). */
#ifndef AG_LOGTAIL_H
#define AG_LOGTAIL_H

#include "common/logevent.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

enum ag_log_format {
    AG_LOG_FMT_RAW = 0,     /* one line per '\n' (syslog, auth.log, kern.log, raw runc logs) */
    AG_LOG_FMT_DOCKER_JSON, /* {"log":"...\n","stream":"stdout","time":"..."} per line */
    AG_LOG_FMT_CRI,         /* "<RFC3339Nano> <stream> <P|F> <text>" (containerd/CRI-O, podman k8s-file) */
};

struct ag_tail_source {
    const char *path;            /* host path (below host_root already applied) */
    enum cm_log_source_kind kind;
    enum ag_log_format format;
    const char *container_id;    /* NULL or "" for host logs */
    bool from_start;             /* a file never read before starts at 0 whatever
                                    start_at_end says (a new container's log: its
                                    first lines were written before we saw it) */
};

struct ag_tail_line {
    const struct cm_log_source *source; /* valid during the callback */
    uint64_t offset;                    /* of the line's first byte in its file */
    uint64_t end_offset;                /* just past the line (and its newline) */
    const char *text;                   /* decoded, NUL-terminated, without the newline */
    size_t len;
    int64_t ts_ns;                      /* from the format's own timestamp, else 0 */
    bool truncated;
};

typedef void (*ag_tail_line_cb)(void *arg, const struct ag_tail_line *line);

struct ag_tail_opts {
    const char *state_dir;    /* offsets file lives here ("log-offsets") */
    size_t max_line_bytes;    /* 0 = 64 KiB */
    uint64_t rescan_ms;       /* 0 = 10 s */
    size_t read_budget_bytes; /* bytes read per file per wakeup; 0 = 1 MiB (fairness) */
    bool start_at_end;        /* a file never seen before: start at its end (default) or 0 */
    ag_tail_line_cb on_line;
    void *arg;
};

struct ag_tail;

/* loop may be NULL: no watchers or timers, the caller calls ag_tail_poll
 * (benchmarks, tools). Caller frees with ag_tail_free. */
int ag_tail_new(uv_loop_t *loop, const struct ag_tail_opts *opts, struct ag_tail **out, char *err,
                size_t errlen);
/* Replaces the set of sources (paths not in the new set stop being
 * watched; their offsets stay persisted). Copies what it needs. A path
 * given twice is read once (the first entry's kind and format). Not from
 * inside on_line. CM_ECONFIG for an empty path or unknown format. */
int ag_tail_set_sources(struct ag_tail *t, const struct ag_tail_source *src, size_t n);
/* Reads whatever is new in every source now (also called by the watchers). */
void ag_tail_poll(struct ag_tail *t);
/* Whether the last poll left a file unread past its read budget (with a
 * loop, another poll is already scheduled; without one, poll again). */
bool ag_tail_has_pending(const struct ag_tail *t);
/* Everything of file_key before offset is acknowledged: persist it. */
int ag_tail_commit(struct ag_tail *t, const char *file_key, uint64_t offset);
/* Per-source volume since the last call (lines, bytes, truncated, invalid)
 * of every source that has a file now (one without has no file_key to name);
 * *stats owned by t until the next call. */
int ag_tail_take_stats(struct ag_tail *t, int64_t now_ns, const struct cm_log_stats **stats,
                       size_t *n);
/* Closes handles (run the loop afterwards); NULL is harmless. */
void ag_tail_free(struct ag_tail *t);

#endif
