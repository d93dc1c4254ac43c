/* wire_events.c - the log event bodies of the wire codec: EventBatch and
 * PolicyAck inside an Envelope, Policy inside a ServerMessage.
 *
 * Decoding follows wire.c's path (size cap, unpack under the allocation
 * budget, canonical size): list lengths are checked against their caps
 * before anything is allocated, fixed-size strings are copied only when they
 * fit, and the C model is then validated by the same checks the encoder
 * runs before packing. Rules: strings valid UTF-8 without NUL and within
 * their caps (logevent.h); container_id empty or a valid id; stream "",
 * stdout or stderr; file_key "<digits>:<digits>"; kinds known and not
 * UNKNOWN; rule ids [A-Za-z0-9][A-Za-z0-9_.-]*; event and interval times
 * 1970..2200 (cm_wire_check_ts: a line read days after it was written is
 * still an event); severities by name; thresholds count >= 1 and a window
 * of 1..86400 s; rule ids unique in a Policy.
 *
 * It never logs and never compiles a regex: whether a rule's pattern is
 * PCRE2 that compiles is cm_rule_validate's business (common/rules.c), run
 * by the agent on a Policy it received. */
#include "common/alloc.h"
#include "common/err.h"
#include "proto/wire_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_NAME_MAX 64                                  /* field keys, tags, group_by */
#define EV_TITLE_MAX 256                                /* a rule's title */
#define EV_WINDOW_MAX 86400u                            /* a threshold's window, seconds */
#define EV_DIGITS_MAX 20                                /* of a uint64 in a file_key */
#define EV_SOURCES_ALL ((1u << CM_LOG_SRC__COUNT) - 2u) /* every kind but UNKNOWN */

typedef Boxwatch__V1__LogSource PbSource;
typedef Boxwatch__V1__Event PbEvent;
typedef Boxwatch__V1__SourceStats PbStats;
typedef Boxwatch__V1__Rule PbRule;

static const char *const ev_severities[] = {"info", "low", "medium", "high", "critical"};

#define EV_NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- checks on the C model (encode and decode) ----------------------- */

enum ev_need { EV_OPTIONAL, EV_PRESENT, EV_NONEMPTY };

/* A heap string: NULL only when optional, at most max bytes, UTF-8. `what`
 * and idx (-1: none) name it, with sub (may be NULL) after the index. */
static int ev_check_str(struct cm_wire_ctx *c, const char *what, long idx, const char *sub,
                        const char *s, size_t max, enum ev_need need)
{
    char problem_buf[48];
    const char *problem = NULL;
    size_t len = s ? strnlen(s, max + 1) : 0;
    if (!s && need != EV_OPTIONAL)
        problem = "missing";
    else if (len > max) {
        snprintf(problem_buf, sizeof problem_buf, "longer than %zu bytes", max);
        problem = problem_buf;
    } else if (s && len == 0 && need == EV_NONEMPTY)
        problem = "empty";
    else if (s && cm_wire_check_utf8(s, len) < 0)
        problem = "not valid UTF-8";
    if (!problem) return 0;
    char at[24] = "";
    if (idx >= 0) snprintf(at, sizeof at, "[%ld]", idx);
    return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "%s%s%s%s: %s", what, at, sub ? "." : "",
                        sub ? sub : "", problem);
}

static int ev_check_count(struct cm_wire_ctx *c, const char *what, size_t n, size_t max)
{
    if (n > max)
        return cm_wire_fail(c, CM_WIRE_TOO_MANY, "%s: %zu entries, at most %zu", what, n, max);
    return 0;
}

/* A list's count within its cap, and its array present when not empty. */
static int ev_check_list(struct cm_wire_ctx *c, const char *what, const void *v, size_t n,
                         size_t max)
{
    int rc = ev_check_count(c, what, n, max);
    if (rc == 0 && n && !v) rc = cm_wire_fail(c, CM_WIRE_BAD_FIELD, "%s: missing", what);
    return rc;
}

static bool ev_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* [A-Za-z0-9][A-Za-z0-9_.-]*, 1..CM_RULE_ID_MAX bytes, inside char[size]. */
static int ev_check_rule_id(struct cm_wire_ctx *c, const char *what, const char *s, size_t size)
{
    size_t len = strnlen(s, size);
    bool ok = len > 0 && len < size && len <= CM_RULE_ID_MAX && ev_alnum(s[0]);
    for (size_t i = 1; ok && i < len; i++)
        ok = ev_alnum(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-';
    if (!ok)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD,
                            "%s: not 1..%d bytes of [A-Za-z0-9_.-] starting alphanumeric", what,
                            CM_RULE_ID_MAX);
    return 0;
}

/* "<dev>:<inode>", both decimal. */
static bool ev_file_key_ok(const char *s, size_t size)
{
    size_t len = strnlen(s, size), i = 0, digits = 0;
    if (len == size) return false;
    for (int part = 0; part < 2; part++) {
        for (digits = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
        if (digits == 0 || digits > EV_DIGITS_MAX) return false;
        if (part == 0 && (i == len || s[i++] != ':')) return false;
    }
    return i == len;
}

static int ev_check_source(struct cm_wire_ctx *c, const struct cm_log_source *s)
{
    int rc;
    if (s->kind == CM_LOG_SRC_UNKNOWN || (unsigned)s->kind >= CM_LOG_SRC__COUNT)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "source.kind: unknown value %u",
                            (unsigned)s->kind);
    if ((rc = ev_check_str(c, "source.path", -1, NULL, s->path, CM_INV_STR_MAX, EV_NONEMPTY)) < 0)
        return rc;
    size_t n = strnlen(s->container_id, sizeof s->container_id);
    if (n == sizeof s->container_id || (n && cm_wire_check_container_id(s->container_id) < 0))
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD,
                            "source.container_id: not empty or 1..%d bytes of [A-Za-z0-9_.:@-]",
                            CM_CONTAINER_ID_MAX);
    if (strnlen(s->stream, sizeof s->stream) == sizeof s->stream ||
        (s->stream[0] && strcmp(s->stream, "stdout") != 0 && strcmp(s->stream, "stderr") != 0))
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "source.stream: not stdout, stderr or empty");
    if (!ev_file_key_ok(s->file_key, sizeof s->file_key))
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "source.file_key: not <dev>:<inode> in digits");
    return 0;
}

static int ev_check_fields(struct cm_wire_ctx *c, const struct cm_kv *kv, size_t n)
{
    int rc = ev_check_list(c, "fields", kv, n, CM_LOG_FIELDS_MAX);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = ev_check_str(c, "fields", (long)i, "key", kv[i].key, EV_NAME_MAX, EV_NONEMPTY)) ==
            0)
            rc = ev_check_str(c, "fields", (long)i, "value", kv[i].value, CM_LOG_FIELD_MAX,
                              EV_OPTIONAL);
    }
    return rc;
}

static int ev_check_event(struct cm_wire_ctx *c, const void *item)
{
    const struct cm_log_event *e = item;
    int rc;
    if ((rc = cm_wire_check_ts(c, "ts", e->ts_ns)) < 0 ||
        (rc = ev_check_rule_id(c, "rule_id", e->rule_id, sizeof e->rule_id)) < 0 ||
        (rc = ev_check_source(c, &e->source)) < 0 ||
        (rc = ev_check_str(c, "message", -1, NULL, e->message, CM_LOG_MESSAGE_MAX, EV_PRESENT)) < 0)
        return rc;
    return ev_check_fields(c, e->fields, e->n_fields);
}

static int ev_check_stats(struct cm_wire_ctx *c, const void *item)
{
    const struct cm_log_stats *s = item;
    int rc;
    if ((rc = ev_check_source(c, &s->source)) < 0 ||
        (rc = cm_wire_check_ts(c, "interval_start", s->start_ns)) < 0 ||
        (rc = cm_wire_check_ts(c, "interval_end", s->end_ns)) < 0)
        return rc;
    if (s->end_ns < s->start_ns)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "interval_end: before interval_start");
    return 0;
}

/* Runs `check` on each of n items of `size` bytes, failures prefixed
 * "<name>[i].". */
static int ev_check_items(struct cm_wire_ctx *c, const char *name, const void *items, size_t n,
                          size_t size, int (*check)(struct cm_wire_ctx *, const void *))
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        c->item_name = name;
        c->item = (long)i;
        rc = check(c, (const char *)items + i * size);
    }
    c->item_name = NULL;
    c->item = -1;
    return rc;
}

int cm_wire_check_events(struct cm_wire_ctx *c, const struct cm_event_batch *b)
{
    int rc;
    if ((rc = ev_check_list(c, "events", b->events, b->n_events, CM_LOG_MAX_EVENTS)) < 0 ||
        (rc = ev_check_list(c, "stats", b->stats, b->n_stats, CM_LOG_MAX_STATS)) < 0 ||
        (rc = ev_check_items(c, "events", b->events, b->n_events, sizeof *b->events,
                             ev_check_event)) < 0)
        return rc;
    return ev_check_items(c, "stats", b->stats, b->n_stats, sizeof *b->stats, ev_check_stats);
}

int cm_wire_check_policy_ack(struct cm_wire_ctx *c, const struct cm_policy_ack *a)
{
    size_t len = strnlen(a->error, sizeof a->error);
    if (len == sizeof a->error || cm_wire_check_utf8(a->error, len) < 0)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD,
                            "policy_ack.error: not UTF-8 of at most %zu bytes",
                            sizeof a->error - 1);
    return 0;
}

static int ev_check_threshold(struct cm_wire_ctx *c, const struct cm_rule_threshold *t)
{
    if (t->count == 0) {
        if (t->window_seconds || t->group_by)
            return cm_wire_fail(c, CM_WIRE_BAD_FIELD,
                                "threshold: window_seconds or group_by without a count");
        return 0;
    }
    if (t->window_seconds < 1 || t->window_seconds > EV_WINDOW_MAX)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "threshold.window_seconds: %u not in 1..%u",
                            t->window_seconds, EV_WINDOW_MAX);
    if (t->group_by && !t->group_by[0])
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "threshold.group_by: empty");
    return ev_check_str(c, "threshold.group_by", -1, NULL, t->group_by, EV_NAME_MAX, EV_OPTIONAL);
}

static int ev_check_severity(struct cm_wire_ctx *c, const char *s, size_t size)
{
    for (size_t i = 0; strnlen(s, size) < size && i < EV_NELEM(ev_severities); i++) {
        if (strcmp(s, ev_severities[i]) == 0) return 0;
    }
    return cm_wire_fail(c, CM_WIRE_BAD_FIELD,
                        "severity: not one of info, low, medium, high, critical");
}

static int ev_check_rule(struct cm_wire_ctx *c, const void *item)
{
    const struct cm_rule *r = item;
    int rc;
    if ((rc = ev_check_rule_id(c, "id", r->id, sizeof r->id)) < 0 ||
        (rc = ev_check_str(c, "title", -1, NULL, r->title, EV_TITLE_MAX, EV_NONEMPTY)) < 0 ||
        (rc = ev_check_severity(c, r->severity, sizeof r->severity)) < 0)
        return rc;
    if (r->sources & ~EV_SOURCES_ALL)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "sources: unknown kind bits %#x",
                            r->sources & ~EV_SOURCES_ALL);
    if ((rc = ev_check_str(c, "regex", -1, NULL, r->regex, CM_RULE_REGEX_MAX, EV_NONEMPTY)) < 0 ||
        (rc = ev_check_threshold(c, &r->threshold)) < 0 ||
        (rc = ev_check_list(c, "tags", r->tags.v, r->tags.n, CM_RULE_TAGS_MAX)) < 0)
        return rc;
    for (size_t i = 0; i < r->tags.n && rc == 0; i++)
        rc = ev_check_str(c, "tags", (long)i, NULL, r->tags.v[i], EV_NAME_MAX, EV_NONEMPTY);
    return rc;
}

static int ev_cmp_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An agent keys its matchers and thresholds by rule id. */
static int ev_check_unique_ids(struct cm_wire_ctx *c, const struct cm_policy *p)
{
    int rc = 0;
    if (p->n < 2) return 0;
    const char **ids = cm_xcalloc(p->n, sizeof *ids);
    for (size_t i = 0; i < p->n; i++)
        ids[i] = p->rules[i].id;
    qsort(ids, p->n, sizeof *ids, ev_cmp_id);
    for (size_t i = 1; i < p->n && rc == 0; i++) {
        if (strcmp(ids[i - 1], ids[i]) == 0)
            rc = cm_wire_fail(c, CM_WIRE_BAD_FIELD, "rules: id '%s' appears twice", ids[i]);
    }
    free(ids);
    return rc;
}

int cm_wire_check_policy(struct cm_wire_ctx *c, const struct cm_policy *p)
{
    int rc;
    if ((rc = ev_check_list(c, "policy.rules", p->rules, p->n, CM_RULES_MAX)) < 0 ||
        (rc = ev_check_items(c, "rules", p->rules, p->n, sizeof *p->rules, ev_check_rule)) < 0)
        return rc;
    return ev_check_unique_ids(c, p);
}

/* ---- protobuf -> C ---------------------------------------------------- */

static char *ev_dup(const char *s)
{
    return s ? cm_xstrdup(s) : NULL;
}

static void *ev_array(size_t n, size_t size)
{
    return n ? cm_xcalloc(n, size) : NULL;
}

static int ev_source_from_pb(struct cm_wire_ctx *c, const PbSource *p, struct cm_log_source *s)
{
    int rc;
    if (!p) return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "source: missing");
    if ((rc = cm_wire_copy_str(c, "source.container_id", s->container_id, sizeof s->container_id,
                               p->container_id)) < 0 ||
        (rc = cm_wire_copy_str(c, "source.stream", s->stream, sizeof s->stream, p->stream)) < 0 ||
        (rc = cm_wire_copy_str(c, "source.file_key", s->file_key, sizeof s->file_key,
                               p->file_key)) < 0)
        return rc;
    s->kind = (enum cm_log_source_kind)p->kind; /* out of range: kept for the check */
    s->path = ev_dup(p->path);
    return 0;
}

static int ev_event_from_pb(struct cm_wire_ctx *c, const PbEvent *p, struct cm_log_event *e)
{
    int rc;
    if ((rc = cm_wire_copy_str(c, "rule_id", e->rule_id, sizeof e->rule_id, p->rule_id)) < 0 ||
        (rc = ev_check_count(c, "fields", p->n_fields, CM_LOG_FIELDS_MAX)) < 0 ||
        (rc = ev_source_from_pb(c, p->source, &e->source)) < 0)
        return rc;
    /* In the C struct 0 means "not a threshold rule", so a sent 0 has no meaning. */
    if (p->has_count && p->count == 0) return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "count: 0 sent");
    e->ts_ns = p->ts_unix_ns;
    e->rule_version = p->rule_version;
    e->offset = p->offset;
    e->count = p->has_count ? p->count : 0;
    e->message = ev_dup(p->message);
    e->fields = ev_array(e->n_fields = p->n_fields, sizeof *e->fields);
    for (size_t i = 0; i < p->n_fields; i++) {
        e->fields[i].key = ev_dup(p->fields[i]->key);
        e->fields[i].value = ev_dup(p->fields[i]->value);
    }
    return 0;
}

static int ev_stats_from_pb(struct cm_wire_ctx *c, const PbStats *p, struct cm_log_stats *s)
{
    s->lines = p->lines;
    s->bytes = p->bytes;
    s->lines_truncated = p->has_lines_truncated ? p->lines_truncated : 0;
    s->lines_invalid = p->has_lines_invalid ? p->lines_invalid : 0;
    s->start_ns = p->interval_start_unix_ns;
    s->end_ns = p->interval_end_unix_ns;
    return ev_source_from_pb(c, p->source, &s->source);
}

int cm_wire_events_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__EventBatch *p,
                           struct cm_event_batch *b)
{
    int rc;
    if ((rc = ev_check_count(c, "events", p->n_events, CM_LOG_MAX_EVENTS)) < 0 ||
        (rc = ev_check_count(c, "stats", p->n_stats, CM_LOG_MAX_STATS)) < 0)
        return rc;
    b->events = ev_array(b->n_events = p->n_events, sizeof *b->events);
    b->stats = ev_array(b->n_stats = p->n_stats, sizeof *b->stats);
    for (size_t i = 0; i < p->n_events && rc == 0; i++) {
        c->item_name = "events";
        c->item = (long)i;
        rc = ev_event_from_pb(c, p->events[i], &b->events[i]);
    }
    for (size_t i = 0; i < p->n_stats && rc == 0; i++) {
        c->item_name = "stats";
        c->item = (long)i;
        rc = ev_stats_from_pb(c, p->stats[i], &b->stats[i]);
    }
    c->item_name = NULL;
    c->item = -1;
    return rc;
}

int cm_wire_policy_ack_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__PolicyAck *p,
                               struct cm_policy_ack *a)
{
    a->version = p->version;
    a->accepted = p->accepted;
    a->rules_compiled = p->has_rules_compiled ? p->rules_compiled : 0;
    return cm_wire_copy_str(c, "policy_ack.error", a->error, sizeof a->error, p->error);
}

/* Each kind once, known and not UNKNOWN: the bitmask cannot say more. */
static int ev_sources_from_pb(struct cm_wire_ctx *c, const PbRule *p, uint32_t *sources)
{
    for (size_t i = 0; i < p->n_sources; i++) {
        unsigned k = (unsigned)p->sources[i];
        if (k == CM_LOG_SRC_UNKNOWN || k >= CM_LOG_SRC__COUNT)
            return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "sources[%zu]: unknown value %u", i, k);
        if (*sources & (1u << k))
            return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "sources[%zu]: %s listed twice", i,
                                cm_log_source_kind_name((enum cm_log_source_kind)k));
        *sources |= 1u << k;
    }
    return 0;
}

static int ev_rule_from_pb(struct cm_wire_ctx *c, const PbRule *p, struct cm_rule *r)
{
    int rc;
    if ((rc = cm_wire_copy_str(c, "id", r->id, sizeof r->id, p->id)) < 0 ||
        (rc = cm_wire_copy_str(c, "severity", r->severity, sizeof r->severity, p->severity)) < 0 ||
        (rc = ev_check_count(c, "tags", p->n_tags, CM_RULE_TAGS_MAX)) < 0 ||
        (rc = ev_sources_from_pb(c, p, &r->sources)) < 0)
        return rc;
    if (p->threshold && p->threshold->count == 0)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "threshold.count: must be >= 1");
    if (p->threshold) {
        r->threshold.count = p->threshold->count;
        r->threshold.window_seconds = p->threshold->window_seconds;
        r->threshold.group_by = ev_dup(p->threshold->group_by);
    }
    r->title = ev_dup(p->title);
    r->regex = ev_dup(p->regex);
    r->tags.v = ev_array(r->tags.n = p->n_tags, sizeof *r->tags.v);
    for (size_t i = 0; i < p->n_tags; i++)
        r->tags.v[i] = ev_dup(p->tags[i]);
    return 0;
}

int cm_wire_policy_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__Policy *p,
                           struct cm_policy *pol)
{
    int rc = ev_check_count(c, "policy.rules", p->n_rules, CM_RULES_MAX);
    if (rc < 0) return rc;
    pol->version = p->version;
    pol->rules = ev_array(pol->n = p->n_rules, sizeof *pol->rules);
    for (size_t i = 0; i < p->n_rules && rc == 0; i++) {
        c->item_name = "rules";
        c->item = (long)i;
        rc = ev_rule_from_pb(c, p->rules[i], &pol->rules[i]);
    }
    c->item_name = NULL;
    c->item = -1;
    return rc;
}

/* ---- C -> protobuf ---------------------------------------------------- */

/* Optional strings: "" is left absent, which decodes back to "". */
static char *ev_opt(const char *s)
{
    return s[0] ? (char *)s : NULL;
}

static PbSource *ev_source_to_pb(struct cm_wire_arena *a, const struct cm_log_source *s)
{
    PbSource *p = cm_wire_arena_alloc(a, 1, sizeof *p);
    boxwatch__v1__log_source__init(p);
    p->kind = (Boxwatch__V1__LogSourceKind)s->kind;
    p->path = s->path;
    p->container_id = ev_opt(s->container_id);
    p->stream = ev_opt(s->stream);
    p->file_key = (char *)s->file_key;
    return p;
}

static void ev_event_to_pb(struct cm_wire_arena *a, const struct cm_log_event *e, PbEvent *p)
{
    boxwatch__v1__event__init(p);
    p->ts_unix_ns = e->ts_ns;
    p->rule_id = (char *)e->rule_id;
    p->rule_version = e->rule_version;
    p->source = ev_source_to_pb(a, &e->source);
    p->offset = e->offset;
    p->message = e->message;
    Boxwatch__V1__KeyValue *kv = cm_wire_arena_alloc(a, e->n_fields, sizeof *kv);
    p->fields = cm_wire_arena_alloc(a, e->n_fields, sizeof *p->fields);
    p->n_fields = e->n_fields;
    for (size_t i = 0; i < e->n_fields; i++) {
        boxwatch__v1__key_value__init(&kv[i]);
        kv[i].key = e->fields[i].key;
        kv[i].value = e->fields[i].value;
        p->fields[i] = &kv[i];
    }
    p->has_count = e->count != 0;
    p->count = e->count;
}

static void ev_stats_to_pb(struct cm_wire_arena *a, const struct cm_log_stats *s, PbStats *p)
{
    boxwatch__v1__source_stats__init(p);
    p->source = ev_source_to_pb(a, &s->source);
    p->lines = s->lines;
    p->bytes = s->bytes;
    p->has_lines_truncated = s->lines_truncated != 0;
    p->lines_truncated = s->lines_truncated;
    p->has_lines_invalid = s->lines_invalid != 0;
    p->lines_invalid = s->lines_invalid;
    p->interval_start_unix_ns = s->start_ns;
    p->interval_end_unix_ns = s->end_ns;
}

Boxwatch__V1__EventBatch *cm_wire_events_to_pb(struct cm_wire_arena *a,
                                               const struct cm_event_batch *b)
{
    Boxwatch__V1__EventBatch *p = cm_wire_arena_alloc(a, 1, sizeof *p);
    boxwatch__v1__event_batch__init(p);
    PbEvent *ev = cm_wire_arena_alloc(a, b->n_events, sizeof *ev);
    p->events = cm_wire_arena_alloc(a, b->n_events, sizeof *p->events);
    p->n_events = b->n_events;
    for (size_t i = 0; i < b->n_events; i++) {
        ev_event_to_pb(a, &b->events[i], &ev[i]);
        p->events[i] = &ev[i];
    }
    PbStats *st = cm_wire_arena_alloc(a, b->n_stats, sizeof *st);
    p->stats = cm_wire_arena_alloc(a, b->n_stats, sizeof *p->stats);
    p->n_stats = b->n_stats;
    for (size_t i = 0; i < b->n_stats; i++) {
        ev_stats_to_pb(a, &b->stats[i], &st[i]);
        p->stats[i] = &st[i];
    }
    return p;
}

Boxwatch__V1__PolicyAck *cm_wire_policy_ack_to_pb(struct cm_wire_arena *a,
                                                  const struct cm_policy_ack *ack)
{
    Boxwatch__V1__PolicyAck *p = cm_wire_arena_alloc(a, 1, sizeof *p);
    boxwatch__v1__policy_ack__init(p);
    p->version = ack->version;
    p->accepted = ack->accepted;
    p->error = ev_opt(ack->error);
    p->has_rules_compiled = ack->rules_compiled != 0;
    p->rules_compiled = ack->rules_compiled;
    return p;
}

static void ev_rule_to_pb(struct cm_wire_arena *a, const struct cm_rule *r, PbRule *p)
{
    boxwatch__v1__rule__init(p);
    p->id = (char *)r->id;
    p->title = r->title;
    p->severity = (char *)r->severity;
    p->regex = r->regex;
    p->sources = cm_wire_arena_alloc(a, CM_LOG_SRC__COUNT, sizeof *p->sources);
    for (unsigned k = CM_LOG_SRC_UNKNOWN + 1; k < CM_LOG_SRC__COUNT; k++) {
        if (r->sources & (1u << k)) p->sources[p->n_sources++] = (Boxwatch__V1__LogSourceKind)k;
    }
    if (r->threshold.count) {
        p->threshold = cm_wire_arena_alloc(a, 1, sizeof *p->threshold);
        boxwatch__v1__threshold__init(p->threshold);
        p->threshold->count = r->threshold.count;
        p->threshold->window_seconds = r->threshold.window_seconds;
        p->threshold->group_by = r->threshold.group_by;
    }
    p->tags = r->tags.v;
    p->n_tags = r->tags.n;
}

Boxwatch__V1__Policy *cm_wire_policy_to_pb(struct cm_wire_arena *a, const struct cm_policy *pol)
{
    Boxwatch__V1__Policy *p = cm_wire_arena_alloc(a, 1, sizeof *p);
    boxwatch__v1__policy__init(p);
    p->version = pol->version;
    PbRule *rules = cm_wire_arena_alloc(a, pol->n, sizeof *rules);
    p->rules = cm_wire_arena_alloc(a, pol->n, sizeof *p->rules);
    p->n_rules = pol->n;
    for (size_t i = 0; i < pol->n; i++) {
        ev_rule_to_pb(a, &pol->rules[i], &rules[i]);
        p->rules[i] = &rules[i];
    }
    return p;
}
