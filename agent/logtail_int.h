/* logtail_int.h - the tailer's internal state, shared by nothing outside
 * agent/logtail.c but its tests' reading of the defaults. */
#ifndef AG_LOGTAIL_INT_H
#define AG_LOGTAIL_INT_H

#include "agent/logoffsets.h"
#include "agent/logtail.h"
#include "common/buf.h"
#include "common/log.h"

#define AG_TAIL_LINE_DEFAULT (64 * 1024)
#define AG_TAIL_LINE_MAX (16 * 1024 * 1024)
#define AG_TAIL_RESCAN_DEFAULT_MS 10000
#define AG_TAIL_BUDGET_DEFAULT (1024 * 1024)
#define AG_TAIL_CHUNK (64 * 1024)
#define AG_TAIL_DRAIN_MAX 4                               /* rotated files still read per source */
#define AG_TAIL_ROTATE_WAIT_NS (INT64_C(5) * 1000000000)   /* a rotated file idle this long is done */
#define AG_TAIL_SOURCES_MAX 4096
#define AG_TAIL_RECOVER_KEYS 32   /* files last seen at a path looked for after a start */
#define AG_TAIL_RECOVER_STATS 256 /* names starting with the base name looked at */
#define AG_TAIL_KEEP_BUF 4096 /* a file's buffers above this are freed after each line */

/* One open file (one inode). */
struct ag_tail_file {
    int fd;
    char key[48];          /* "<dev>:<inode>" */
    uint64_t pos;          /* next byte to read */
    uint64_t rec_start;    /* offset of the record being assembled */
    struct cm_buf rec;     /* its bytes, at most the record cap */
    bool rec_cut;          /* bytes beyond the cap were skipped */
    struct cm_buf line;    /* partial records joined so far */
    bool joining, line_cut;
    uint64_t line_start;
    int64_t line_ts;
    char line_stream[8];
    int64_t grew_ns;       /* monotonic time it last gave bytes */
};

struct ag_tail_src {
    char *path;
    char *container_id;
    enum cm_log_source_kind kind;
    enum ag_log_format format;
    struct cm_log_source tmpl;       /* what lines of this source carry; path borrowed */
    struct ag_tail_file *cur;        /* the file at path */
    struct ag_tail_file *drain[AG_TAIL_DRAIN_MAX]; /* rotated away, read to their end */
    size_t n_drain;
    bool scanned;                    /* start_at_end applies only before the first scan */
    bool warned_type;                /* "not a regular file" said once */
    bool opened;                     /* a file at path was opened: rotated-away ones looked for */
    uint64_t lines, bytes, truncated, invalid;
    int64_t since_ns;
};

struct ag_tail_watch {
    uv_fs_event_t h;
    char *dir;
    struct ag_tail *t; /* NULL once the tailer is gone */
    bool active;
};

struct ag_tail {
    uv_loop_t *loop;
    struct ag_tail_opts opts; /* state_dir not kept */
    struct ag_logoffsets *offs;
    struct ag_tail_src **src;
    size_t n_src;
    struct ag_tail_watch **watch;
    size_t n_watch;
    uv_timer_t rescan;
    uv_idle_t soon; /* another poll on the next loop iteration */
    int handles_open;
    char *chunk; /* AG_TAIL_CHUNK bytes read at a time */
    char *dec;   /* max_line_bytes + 1: a json-file record's decoded text */
    size_t rec_cap;
    int64_t now_ns; /* wall clock of the current poll */
    bool pending;   /* a file stopped at its budget */
    struct cm_log_stats *stats;
    size_t n_stats;
    struct cm_ratelimit rl;
};

#endif
