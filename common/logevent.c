/* logevent.c - lifetime of the log event and rule model (common/logevent.h):
 * freeing what sources, events, batches, rules and policies own, and the
 * names of log source kinds.
 *
 * It does not read logs (agent/logtail.c), match or compile rules
 * (agent/matcher.c, common/rules.c) or carry anything over the wire
 * (proto/wire_events.c). */
#include "common/logevent.h"

#include "common/err.h"

#include <stdlib.h>
#include <string.h>

static const char *const log_kind_names[CM_LOG_SRC__COUNT] = {
    "unknown", "container", "auth", "syslog", "kernel", "file",
};

const char *cm_log_source_kind_name(enum cm_log_source_kind k)
{
    return (unsigned)k < CM_LOG_SRC__COUNT ? log_kind_names[k] : "unknown";
}

/* "unknown" is no kind a rule or a configured source can name. */
int cm_log_source_kind_parse(const char *name, enum cm_log_source_kind *out)
{
    for (int i = CM_LOG_SRC_UNKNOWN + 1; name && i < CM_LOG_SRC__COUNT; i++) {
        if (strcmp(name, log_kind_names[i]) == 0) {
            *out = (enum cm_log_source_kind)i;
            return 0;
        }
    }
    return CM_EPARSE;
}

void cm_log_source_free(struct cm_log_source *s)
{
    if (!s) return;
    free(s->path);
    memset(s, 0, sizeof *s);
}

void cm_log_event_free(struct cm_log_event *e)
{
    if (!e) return;
    cm_log_source_free(&e->source);
    free(e->message);
    for (size_t i = 0; e->fields && i < e->n_fields; i++) {
        free(e->fields[i].key);
        free(e->fields[i].value);
    }
    free(e->fields);
    memset(e, 0, sizeof *e);
}

void cm_event_batch_free(struct cm_event_batch *b)
{
    if (!b) return;
    for (size_t i = 0; b->events && i < b->n_events; i++)
        cm_log_event_free(&b->events[i]);
    free(b->events);
    for (size_t i = 0; b->stats && i < b->n_stats; i++)
        cm_log_source_free(&b->stats[i].source);
    free(b->stats);
    memset(b, 0, sizeof *b);
}

void cm_rule_free(struct cm_rule *r)
{
    if (!r) return;
    free(r->title);
    free(r->regex);
    free(r->threshold.group_by);
    for (size_t i = 0; r->tags.v && i < r->tags.n; i++)
        free(r->tags.v[i]);
    free(r->tags.v);
    memset(r, 0, sizeof *r);
}

void cm_policy_free(struct cm_policy *p)
{
    if (!p) return;
    for (size_t i = 0; p->rules && i < p->n; i++)
        cm_rule_free(&p->rules[i]);
    free(p->rules);
    memset(p, 0, sizeof *p);
}
