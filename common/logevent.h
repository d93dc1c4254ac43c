/* logevent.h - log events, per-source volume and detection rules, as both
 * daemons see them.
 *
 * The agent's tailer and rule matcher fill events and stats, the wire codec
 * carries them (EventBatch), the collector stores them. Rules are parsed and
 * validated from the collector's rules file (common/rules.h) and travel to
 * agents in a Policy. Strings are heap-owned by the struct that holds them;
 * the *_free functions release everything and are harmless on a zeroed
 * struct. */
#ifndef CM_LOGEVENT_H
#define CM_LOGEVENT_H

#include "common/inventory.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CM_LOG_MESSAGE_MAX 4096   /* bytes of a line kept in an event */
#define CM_LOG_FIELDS_MAX 32      /* named captures kept per event */
#define CM_LOG_FIELD_MAX 1024     /* bytes of one captured value */
#define CM_LOG_MAX_EVENTS 10000   /* events in one EventBatch */
#define CM_LOG_MAX_STATS 10000    /* source stats in one EventBatch */
#define CM_RULES_MAX 2000         /* rules in one Policy */
#define CM_RULE_ID_MAX 64         /* [A-Za-z0-9_.-], starts alphanumeric */
#define CM_RULE_REGEX_MAX 4096
#define CM_RULE_TAGS_MAX 32

enum cm_log_source_kind {
    CM_LOG_SRC_UNKNOWN = 0,
    CM_LOG_SRC_CONTAINER,
    CM_LOG_SRC_AUTH,
    CM_LOG_SRC_SYSLOG,
    CM_LOG_SRC_KERNEL,
    CM_LOG_SRC_FILE,
    CM_LOG_SRC__COUNT
};

const char *cm_log_source_kind_name(enum cm_log_source_kind k); /* "container", "auth", ... */
int cm_log_source_kind_parse(const char *name, enum cm_log_source_kind *out);

struct cm_log_source {
    enum cm_log_source_kind kind;
    char *path;
    char container_id[CM_CONTAINER_ID_MAX + 1]; /* "" when not a container's log */
    char stream[8];                             /* "stdout", "stderr" or "" */
    char file_key[48];                          /* "<dev>:<inode>" */
};

struct cm_log_event {
    int64_t ts_ns;
    char rule_id[CM_RULE_ID_MAX + 1];
    uint32_t rule_version;
    struct cm_log_source source;
    uint64_t offset;
    char *message;
    struct cm_kv *fields;
    size_t n_fields;
    uint32_t count; /* 0 = not a threshold rule */
};

struct cm_log_stats {
    struct cm_log_source source;
    uint64_t lines, bytes, lines_truncated, lines_invalid;
    int64_t start_ns, end_ns;
};

struct cm_event_batch {
    struct cm_log_event *events; /* encode: borrowed; decode: owned */
    size_t n_events;
    struct cm_log_stats *stats;
    size_t n_stats;
};

struct cm_rule_threshold {
    uint32_t count;          /* 0 = no threshold: every match is an event */
    uint32_t window_seconds;
    char *group_by;          /* named capture, NULL = one group */
};

struct cm_rule {
    char id[CM_RULE_ID_MAX + 1];
    char *title;
    char severity[16];  /* info, low, medium, high, critical */
    uint32_t sources;   /* bit (1u << kind); 0 = every source */
    char *regex;
    struct cm_rule_threshold threshold;
    struct cm_strv tags;
};

struct cm_policy {
    uint32_t version;
    struct cm_rule *rules;
    size_t n;
};

struct cm_policy_ack {
    uint32_t version;
    bool accepted;
    char error[256];
    uint32_t rules_compiled;
};

void cm_log_source_free(struct cm_log_source *s);
void cm_log_event_free(struct cm_log_event *e);
void cm_event_batch_free(struct cm_event_batch *b); /* members, events, stats */
void cm_rule_free(struct cm_rule *r);
void cm_policy_free(struct cm_policy *p); /* rules and the array */

#endif
