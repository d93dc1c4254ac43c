/* print.c - JSON rendering of envelopes; the field names come from
 * cm_fields[] so a new counter shows up here without an edit. */
#include "agent/print.h"

#include "common/timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

static void ag_print_time(cJSON *obj, const char *key, int64_t ns)
{
    char ts[40];
    if (cm_time_format_rfc3339(ns, ts, sizeof ts) == 0)
        cJSON_AddStringToObject(obj, key, ts);
    else
        cJSON_AddNullToObject(obj, key);
}

/* An exact unsigned integer: a double would round counters above 2^53. */
static void ag_print_u64(cJSON *obj, const char *key, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v);
    cJSON_AddRawToObject(obj, key, num);
}

cJSON *ag_print_hello(const struct cm_hello *h)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "hostname", h->hostname);
    cJSON_AddStringToObject(o, "machine_id", h->machine_id);
    cJSON_AddStringToObject(o, "kernel", h->kernel);
    cJSON_AddStringToObject(o, "cgroup_mode", cm_cgroup_mode_name(h->cgroup_mode));
    cJSON_AddStringToObject(o, "agent_version", h->agent_version);
    ag_print_time(o, "boot_at", h->boot_ns);
    return o;
}

cJSON *ag_print_sample(const struct cm_sample *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "container_id", s->container_id);
    cJSON_AddStringToObject(o, "runtime", cm_runtime_name(s->runtime));
    cJSON_AddStringToObject(o, "cgroup_path", s->cgroup_path);
    ag_print_time(o, "ts", s->ts_ns);
    for (int f = 0; f < CM_F__COUNT; f++) {
        if (cm_sample_has(s, (enum cm_field)f)) ag_print_u64(o, cm_fields[f].name, s->v[f]);
    }
    return o;
}

cJSON *ag_print_metrics(const struct cm_metric_batch *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    ag_print_time(o, "collected_at", m->collected_ns);
    cJSON *arr = cJSON_AddArrayToObject(o, "samples");
    for (size_t i = 0; arr && i < m->n; i++)
        cJSON_AddItemToArray(arr, ag_print_sample(&m->samples[i]));
    return o;
}

static cJSON *ag_print_heartbeat(const struct cm_heartbeat *hb)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    ag_print_u64(o, "containers", hb->containers);
    ag_print_u64(o, "spool_dropped_envelopes", hb->spool_dropped_envelopes);
    ag_print_u64(o, "spool_dropped_samples", hb->spool_dropped_samples);
    ag_print_u64(o, "spool_bytes", hb->spool_bytes);
    ag_print_u64(o, "envelopes_total", hb->envelopes_total);
    ag_print_u64(o, "samples_total", hb->samples_total);
    ag_print_u64(o, "spool_floor_seq", hb->spool_floor_seq);
    ag_print_u64(o, "unacked", hb->unacked);
    return o;
}

cJSON *ag_print_inventory(const struct cm_inventory_batch *b)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    ag_print_time(o, "collected_at", b->collected_ns);
    cJSON_AddBoolToObject(o, "complete", b->complete);
    cJSON *arr = cJSON_AddArrayToObject(o, "containers");
    for (size_t i = 0; arr && i < b->n; i++)
        cJSON_AddItemToArray(arr, cm_container_inv_to_json(&b->containers[i]));
    if (b->host) cJSON_AddItemToObject(o, "host", cm_host_inv_to_json(b->host));
    if (b->complete) {
        cJSON *ids = cJSON_AddArrayToObject(o, "present_ids");
        for (size_t i = 0; ids && i < b->n_present; i++)
            cJSON_AddItemToArray(ids, cJSON_CreateString(b->present_ids[i]));
    }
    return o;
}

cJSON *ag_print_envelope(const struct cm_envelope *env)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    ag_print_u64(o, "seq", env->seq);
    ag_print_time(o, "sent_at", env->sent_ns);
    switch (env->kind) {
    case CM_BODY_HELLO:
        cJSON_AddItemToObject(o, "hello", ag_print_hello(&env->body.hello));
        break;
    case CM_BODY_METRICS:
        cJSON_AddItemToObject(o, "metrics", ag_print_metrics(&env->body.metrics));
        break;
    case CM_BODY_HEARTBEAT:
        cJSON_AddItemToObject(o, "heartbeat", ag_print_heartbeat(&env->body.heartbeat));
        break;
    case CM_BODY_INVENTORY:
        cJSON_AddItemToObject(o, "inventory", ag_print_inventory(&env->body.inventory));
        break;
    case CM_BODY_EVENTS:     /* rendered by the log module once it exists */
    case CM_BODY_POLICY_ACK: /* never printed: --print runs without a collector */
    case CM_BODY_NONE:
        break;
    }
    return o;
}

int ag_print_write(FILE *out, const cJSON *doc, bool pretty)
{
    char *text = pretty ? cJSON_Print(doc) : cJSON_PrintUnformatted(doc);
    if (!text) return -ENOMEM;
    int rc = 0;
    if (fputs(text, out) == EOF || fputc('\n', out) == EOF || fflush(out) == EOF)
        rc = errno ? -errno : -EIO;
    free(text);
    return rc;
}
