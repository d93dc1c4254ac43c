/* matcher.h - runs the collector's detection rules on every line.
 *
 * Built from a Policy: each rule's regex is compiled with PCRE2 (JIT when
 * available) once, with one match-data block reused for every line. A line
 * is tried only against the rules that apply to its source kind. A rule
 * without a threshold turns every match into an event with its named
 * captures as fields; a threshold rule counts matches per value of its
 * group_by capture in a sliding window of window_seconds and emits one event
 * (count = matches in the window) when the count reaches its threshold, then
 * again only after the window has passed without firing (no flood during a
 * sustained attack). A capture named "repeat" (syslog's "message repeated
 * N times: [ ... ]") counts as N matches. Threshold state is bounded (oldest
 * groups evicted, counted). A line that is not valid UTF-8, or a rule that
 * hits its match limit on a line, is a match error, never a match
 * (docs/RULES.md). Pure with respect to I/O: no files, no logging. */
#ifndef AG_MATCHER_H
#define AG_MATCHER_H

#include "agent/logtail.h"
#include "common/logevent.h"

#include <stddef.h>
#include <stdint.h>

#define AG_MATCHER_MAX_GROUPS 65536 /* threshold groups kept across all rules */

struct ag_matcher;

/* Compiles every rule of p (which is copied). On error returns CM_EPARSE
 * with err = "rule <id>: <reason>" and *out NULL. */
int ag_matcher_new(const struct cm_policy *p, struct ag_matcher **out, char *err, size_t errlen);
uint32_t ag_matcher_version(const struct ag_matcher *m);
size_t ag_matcher_rules(const struct ag_matcher *m);

/* Matches one line; appends up to max events to out (the caller frees each
 * with cm_log_event_free) and returns how many. now_ns is the time used
 * for windows when the line has no timestamp of its own. */
size_t ag_matcher_match(struct ag_matcher *m, const struct ag_tail_line *line, int64_t now_ns,
                        struct cm_log_event *out, size_t max);

struct ag_matcher_stats {
    uint64_t lines, matches, events, groups_evicted, match_errors;
};
void ag_matcher_get_stats(const struct ag_matcher *m, struct ag_matcher_stats *out);
void ag_matcher_free(struct ag_matcher *m);

#endif
