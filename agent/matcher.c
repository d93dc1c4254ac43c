/* matcher.c - runs the detection rules of a Policy on each line
 * (agent/matcher.h).
 *
 * Each rule is compiled once (cm_rule_regex_compile, then PCRE2's JIT; the
 * interpreter when JIT is unavailable) and tried only on lines of the source
 * kinds it names. A line is checked for valid UTF-8 once, so every rule can
 * then match it with PCRE2_NO_UTF_CHECK; a line that is not valid UTF-8
 * matches nothing (counted in match_errors). A match limit keeps a
 * pathological rule from hanging the agent on one line: hitting it counts
 * as a match error, not a match.
 *
 * Thresholds: per (rule, group_by value) a ring of match times; a match
 * expires the times older than the window, adds its own (a capture named
 * "repeat", as in syslog's "message repeated N times: [ ... ]", adds N), and
 * fires when the ring holds `count` and the group is not quiet; firing makes
 * the group quiet for one window. Rings grow to max(count, MT_RING_REPORT)
 * times, so the count an event reports saturates there. Groups live in one
 * hash table with an LRU list; past AG_MATCHER_MAX_GROUPS groups or
 * MT_SLOTS_MAX stored times the least recently used group goes (counted in
 * groups_evicted unless its window had already passed).
 *
 * It does not read files, log, or decide where events go. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "agent/matcher.h"

#include "common/alloc.h"
#include "common/err.h"
#include "common/rules.h"
#include "common/timeutil.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MT_MATCH_LIMIT 1000000u /* backtracking steps per rule per line */
#define MT_DEPTH_LIMIT 10000u
#define MT_HEAP_LIMIT_KIB 20480u /* interpreter's backtracking memory */
#define MT_JIT_STACK_MAX (1024u * 1024)
#define MT_RING_REPORT 1000u    /* times kept per group beyond the threshold */
#define MT_SLOTS_MAX (1u << 20) /* times kept over all groups (8 MiB) */
#define MT_BUCKETS 65536u

struct mt_name {
    const char *name; /* in the compiled code's name table */
    uint32_t num;
};

struct mt_rule {
    char id[CM_RULE_ID_MAX + 1];
    pcre2_code *code;
    struct mt_name *names;
    uint32_t n_names;
    int group_num;  /* group_by's capture, -1 = one group */
    int repeat_num; /* capture named "repeat", -1 = none */
    uint32_t count; /* threshold; 0 = none */
    int64_t window_ns;
    uint32_t ring_max;
};

struct mt_group {
    struct mt_group *hnext, *newer, *older;
    uint64_t hash;
    uint32_t rule;
    uint32_t cap, head, n; /* ring of match times: oldest at head */
    int64_t *ts;
    int64_t last_ts, quiet_until;
    size_t klen;
    char key[];
};

struct ag_matcher {
    uint32_t version;
    struct mt_rule *rules;
    size_t n_rules;
    uint32_t *by_kind[CM_LOG_SRC__COUNT];
    size_t n_by_kind[CM_LOG_SRC__COUNT];
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;
    struct mt_group **buckets; /* NULL when no rule has a threshold */
    struct mt_group *newest, *oldest;
    size_t n_groups, n_slots;
    struct ag_matcher_stats stats;
};

/* ---- compile ---- */

static void mt_rule_names(struct mt_rule *mr)
{
    uint32_t count = 0, size = 0;
    PCRE2_SPTR table = NULL;
    pcre2_pattern_info(mr->code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(mr->code, PCRE2_INFO_NAMEENTRYSIZE, &size);
    pcre2_pattern_info(mr->code, PCRE2_INFO_NAMETABLE, &table);
    mr->names = cm_xcalloc(count ? count : 1, sizeof *mr->names);
    for (uint32_t i = 0; i < count; i++) {
        PCRE2_SPTR e = table + (size_t)i * size;
        mr->names[i].num = ((uint32_t)e[0] << 8) | e[1];
        mr->names[i].name = (const char *)e + 2;
    }
    mr->n_names = count;
}

static int mt_rule_compile(struct ag_matcher *m, const struct cm_rule *r, struct mt_rule *mr,
                           char *err, size_t errlen)
{
    char why[200];
    if (cm_rule_validate(r, err, errlen) < 0) return CM_EPARSE;
    if (cm_rule_regex_compile(r->regex, &mr->code, why, sizeof why) < 0) {
        snprintf(err, errlen, "rule %s: %s", r->id, why);
        return CM_EPARSE;
    }
    /* JIT is an optimisation: without it the interpreter matches the same. */
    (void)pcre2_jit_compile(mr->code, PCRE2_JIT_COMPLETE);
    snprintf(mr->id, sizeof mr->id, "%s", r->id);
    mt_rule_names(mr);
    mr->group_num =
        r->threshold.group_by
            ? pcre2_substring_number_from_name(mr->code, (PCRE2_SPTR)r->threshold.group_by)
            : -1;
    mr->repeat_num = pcre2_substring_number_from_name(mr->code, (PCRE2_SPTR) "repeat");
    if (mr->repeat_num < 0) mr->repeat_num = -1;
    mr->count = r->threshold.count;
    mr->window_ns = (int64_t)r->threshold.window_seconds * CM_NS_PER_SEC;
    mr->ring_max = mr->count > MT_RING_REPORT ? mr->count : MT_RING_REPORT;
    uint32_t caps = 0;
    pcre2_pattern_info(mr->code, PCRE2_INFO_CAPTURECOUNT, &caps);
    if (!m->md || pcre2_get_ovector_count(m->md) < caps + 1) {
        pcre2_match_data_free(m->md);
        m->md = pcre2_match_data_create(caps + 1, NULL);
        if (!m->md) abort();
    }
    return 0;
}

static void mt_index(struct ag_matcher *m, const struct cm_policy *p)
{
    for (int k = 0; k < CM_LOG_SRC__COUNT; k++) {
        m->by_kind[k] = cm_xcalloc(m->n_rules ? m->n_rules : 1, sizeof *m->by_kind[k]);
        for (size_t i = 0; i < m->n_rules; i++) {
            uint32_t s = p->rules[i].sources;
            if (s == 0 || (k != CM_LOG_SRC_UNKNOWN && (s & (1u << k))))
                m->by_kind[k][m->n_by_kind[k]++] = (uint32_t)i;
        }
    }
}

int ag_matcher_new(const struct cm_policy *p, struct ag_matcher **out, char *err, size_t errlen)
{
    struct ag_matcher *m = cm_xcalloc(1, sizeof *m);
    int rc = 0;
    *out = NULL;
    if (p->n > CM_RULES_MAX) {
        snprintf(err, errlen, "rules: more than %d rules", CM_RULES_MAX);
        rc = CM_EPARSE;
        goto out;
    }
    m->version = p->version;
    m->rules = cm_xcalloc(p->n ? p->n : 1, sizeof *m->rules);
    bool thresholds = false;
    for (size_t i = 0; i < p->n; i++, m->n_rules++) {
        if ((rc = mt_rule_compile(m, &p->rules[i], &m->rules[i], err, errlen)) < 0) goto out;
        thresholds = thresholds || m->rules[i].count > 0;
    }
    if (!m->md && !(m->md = pcre2_match_data_create(1, NULL))) abort();
    m->mctx = pcre2_match_context_create(NULL);
    m->jstack = pcre2_jit_stack_create(32 * 1024, MT_JIT_STACK_MAX, NULL);
    if (!m->mctx || !m->jstack) abort();
    pcre2_set_match_limit(m->mctx, MT_MATCH_LIMIT);
    pcre2_set_depth_limit(m->mctx, MT_DEPTH_LIMIT);
    pcre2_set_heap_limit(m->mctx, MT_HEAP_LIMIT_KIB);
    pcre2_jit_stack_assign(m->mctx, NULL, m->jstack);
    if (thresholds) m->buckets = cm_xcalloc(MT_BUCKETS, sizeof *m->buckets);
    mt_index(m, p);
out:
    if (rc < 0) {
        ag_matcher_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

uint32_t ag_matcher_version(const struct ag_matcher *m)
{
    return m->version;
}

size_t ag_matcher_rules(const struct ag_matcher *m)
{
    return m->n_rules;
}

void ag_matcher_get_stats(const struct ag_matcher *m, struct ag_matcher_stats *out)
{
    *out = m->stats;
}

/* ---- threshold groups ---- */

static uint64_t mt_hash(uint32_t rule, const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ rule;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
    return h;
}

static void mt_lru_unlink(struct ag_matcher *m, struct mt_group *g)
{
    if (g->newer)
        g->newer->older = g->older;
    else
        m->newest = g->older;
    if (g->older)
        g->older->newer = g->newer;
    else
        m->oldest = g->newer;
    g->newer = g->older = NULL;
}

static void mt_lru_front(struct ag_matcher *m, struct mt_group *g)
{
    g->older = m->newest;
    g->newer = NULL;
    if (m->newest) m->newest->newer = g;
    m->newest = g;
    if (!m->oldest) m->oldest = g;
}

/* Drops the least recently used group; counted when its window was live. */
static void mt_evict_oldest(struct ag_matcher *m, int64_t now)
{
    struct mt_group *g = m->oldest;
    const struct mt_rule *mr = &m->rules[g->rule];
    if (g->last_ts + mr->window_ns > now || g->quiet_until > now) m->stats.groups_evicted++;
    mt_lru_unlink(m, g);
    struct mt_group **pp = &m->buckets[g->hash % MT_BUCKETS];
    while (*pp != g)
        pp = &(*pp)->hnext;
    *pp = g->hnext;
    m->n_groups--;
    m->n_slots -= g->cap;
    free(g->ts);
    free(g);
}

static struct mt_group *mt_group_get(struct ag_matcher *m, uint32_t rule, const char *key,
                                     size_t klen, int64_t now)
{
    uint64_t h = mt_hash(rule, key, klen);
    struct mt_group **head = &m->buckets[h % MT_BUCKETS];
    for (struct mt_group *g = *head; g; g = g->hnext) {
        if (g->hash == h && g->rule == rule && g->klen == klen && memcmp(g->key, key, klen) == 0) {
            mt_lru_unlink(m, g);
            mt_lru_front(m, g);
            return g;
        }
    }
    while (m->n_groups >= AG_MATCHER_MAX_GROUPS)
        mt_evict_oldest(m, now);
    struct mt_group *g = cm_xcalloc(1, sizeof *g + klen + 1);
    memcpy(g->key, key, klen);
    g->klen = klen;
    g->hash = h;
    g->rule = rule;
    g->last_ts = 0;
    g->quiet_until = 0;
    head = &m->buckets[h % MT_BUCKETS]; /* eviction may have emptied it */
    g->hnext = *head;
    *head = g;
    mt_lru_front(m, g);
    m->n_groups++;
    return g;
}

static void mt_ring_push(struct ag_matcher *m, struct mt_group *g, uint32_t ring_max, int64_t ts)
{
    if (g->n == g->cap && g->cap < ring_max) {
        uint32_t cap = g->cap ? g->cap * 2 : 4;
        if (cap > ring_max) cap = ring_max;
        int64_t *ts2 = cm_xmalloc(cap * sizeof *ts2);
        for (uint32_t i = 0; i < g->n; i++)
            ts2[i] = g->ts[(g->head + i) % g->cap];
        free(g->ts);
        g->ts = ts2;
        g->head = 0;
        m->n_slots += cap - g->cap;
        g->cap = cap;
        while (m->n_slots > MT_SLOTS_MAX && m->oldest != g)
            mt_evict_oldest(m, ts);
    }
    if (g->n == g->cap) { /* full at ring_max: the oldest time goes */
        g->head = (g->head + 1) % g->cap;
        g->n--;
    }
    g->ts[(g->head + g->n) % g->cap] = ts;
    g->n++;
}

/* Counts `weight` matches at ts; returns the window's count when the group
 * fires, else 0. */
static uint32_t mt_threshold_hit(struct ag_matcher *m, uint32_t rule, const char *key, size_t klen,
                                 int64_t ts, uint32_t weight)
{
    const struct mt_rule *mr = &m->rules[rule];
    /* a line's own time is outside data: keep the arithmetic below in range */
    if (ts < 0) ts = 0;
    if (ts > INT64_MAX / 2) ts = INT64_MAX / 2;
    struct mt_group *g = mt_group_get(m, rule, key, klen, ts);
    if (ts < g->last_ts) ts = g->last_ts; /* a window never runs backwards */
    g->last_ts = ts;
    while (g->n && g->ts[g->head] <= ts - mr->window_ns) {
        g->head = (g->head + 1) % g->cap;
        g->n--;
    }
    if (weight > mr->ring_max) weight = mr->ring_max;
    for (uint32_t i = 0; i < weight; i++)
        mt_ring_push(m, g, mr->ring_max, ts);
    if (g->n < mr->count || ts < g->quiet_until) return 0;
    g->quiet_until = ts + mr->window_ns;
    return g->n;
}

/* ---- matching ---- */

/* Valid UTF-8 as PCRE2 defines it: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
static bool mt_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        unsigned c = s[i];
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if (c < 0xc2 || c > 0xf4 || i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
        }
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f) ||
            (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] > 0x8f))
            return false;
        i += len;
    }
    return true;
}

/* At most max bytes of s, not cutting a UTF-8 character in two. */
static size_t mt_utf8_cap(const char *s, size_t n, size_t max)
{
    if (n <= max) return n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

static void mt_fields(const struct mt_rule *mr, const char *text, const PCRE2_SIZE *ov,
                      struct cm_log_event *e)
{
    e->fields = cm_xcalloc(mr->n_names ? mr->n_names : 1, sizeof *e->fields);
    for (uint32_t i = 0; i < mr->n_names && e->n_fields < CM_LOG_FIELDS_MAX; i++) {
        const struct mt_name *nm = &mr->names[i];
        PCRE2_SIZE a = ov[2 * nm->num], b = ov[2 * nm->num + 1];
        if (a == PCRE2_UNSET || b < a) continue;
        /* (?J): a name several groups share is set once, by the one that matched */
        if (e->n_fields && strcmp(e->fields[e->n_fields - 1].key, nm->name) == 0) continue;
        struct cm_kv *kv = &e->fields[e->n_fields++];
        kv->key = cm_xstrdup(nm->name);
        kv->value = cm_xstrndup(text + a, mt_utf8_cap(text + a, b - a, CM_LOG_FIELD_MAX));
    }
}

static void mt_event(const struct ag_matcher *m, const struct mt_rule *mr,
                     const struct ag_tail_line *line, const PCRE2_SIZE *ov, int64_t ts,
                     uint32_t count, struct cm_log_event *e)
{
    memset(e, 0, sizeof *e);
    e->ts_ns = ts;
    snprintf(e->rule_id, sizeof e->rule_id, "%s", mr->id);
    e->rule_version = m->version;
    if (line->source) {
        e->source = *line->source;
        e->source.path = line->source->path ? cm_xstrdup(line->source->path) : NULL;
    }
    e->offset = line->offset;
    e->message = cm_xstrndup(line->text, mt_utf8_cap(line->text, line->len, CM_LOG_MESSAGE_MAX));
    e->count = count;
    mt_fields(mr, line->text, ov, e);
}

/* The threshold part of a match: 0 = no event, else the count to report. */
static uint32_t mt_threshold(struct ag_matcher *m, uint32_t ri, const char *text,
                             const PCRE2_SIZE *ov, int64_t ts)
{
    const struct mt_rule *mr = &m->rules[ri];
    const char *key = "";
    size_t klen = 0;
    uint32_t weight = 1;
    if (mr->group_num > 0 && ov[2 * mr->group_num] != PCRE2_UNSET) {
        key = text + ov[2 * mr->group_num];
        klen =
            mt_utf8_cap(key, ov[2 * mr->group_num + 1] - ov[2 * mr->group_num], CM_LOG_FIELD_MAX);
    }
    if (mr->repeat_num > 0 && ov[2 * mr->repeat_num] != PCRE2_UNSET) {
        uint64_t n = 0;
        for (PCRE2_SIZE i = ov[2 * mr->repeat_num];
             i < ov[2 * mr->repeat_num + 1] && n <= mr->ring_max; i++) {
            if (text[i] < '0' || text[i] > '9') break;
            n = n * 10 + (uint64_t)(text[i] - '0');
        }
        weight = n == 0 ? 1 : n > mr->ring_max ? mr->ring_max : (uint32_t)n;
    }
    return mt_threshold_hit(m, ri, key, klen, ts, weight);
}

size_t ag_matcher_match(struct ag_matcher *m, const struct ag_tail_line *line, int64_t now_ns,
                        struct cm_log_event *out, size_t max)
{
    enum cm_log_source_kind kind = line->source ? line->source->kind : CM_LOG_SRC_UNKNOWN;
    if ((unsigned)kind >= CM_LOG_SRC__COUNT) kind = CM_LOG_SRC_UNKNOWN;
    size_t n_out = 0;
    m->stats.lines++;
    if (m->n_by_kind[kind] == 0 || !line->text) return 0;
    if (!mt_utf8_valid((const unsigned char *)line->text, line->len)) {
        m->stats.match_errors++;
        return 0;
    }
    int64_t ts = line->ts_ns ? line->ts_ns : now_ns;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
    for (size_t i = 0; i < m->n_by_kind[kind] && n_out < max; i++) {
        uint32_t ri = m->by_kind[kind][i];
        const struct mt_rule *mr = &m->rules[ri];
        int rc = pcre2_match(mr->code, (PCRE2_SPTR)line->text, line->len, 0, PCRE2_NO_UTF_CHECK,
                             m->md, m->mctx);
        if (rc == PCRE2_ERROR_NOMATCH) continue;
        if (rc < 0) {
            m->stats.match_errors++;
            continue;
        }
        m->stats.matches++;
        uint32_t count = 0;
        if (mr->count && (count = mt_threshold(m, ri, line->text, ov, ts)) == 0) continue;
        mt_event(m, mr, line, ov, ts, count, &out[n_out++]);
        m->stats.events++;
    }
    return n_out;
}

void ag_matcher_free(struct ag_matcher *m)
{
    if (!m) return;
    while (m->oldest)
        mt_evict_oldest(m, 0);
    for (size_t i = 0; i < m->n_rules; i++) {
        pcre2_code_free(m->rules[i].code);
        free(m->rules[i].names);
    }
    free(m->rules);
    for (int k = 0; k < CM_LOG_SRC__COUNT; k++)
        free(m->by_kind[k]);
    free(m->buckets);
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mctx);
    pcre2_jit_stack_free(m->jstack);
    free(m);
}
