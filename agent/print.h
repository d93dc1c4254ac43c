/* print.h - envelopes as JSON (cJSON), for `--print` and for people.
 *
 *   {"seq": 7, "sent_at": "2026-...Z", "hello": {...}}
 *   {"seq": 8, "sent_at": "...", "metrics": {"collected_at": "...", "samples": [
 *       {"container_id": "...", "runtime": "docker", "cgroup_path": "/...",
 *        "ts": "...", "cpu_usage_ns": 123, ...}]}}
 *   {"seq": 9, "sent_at": "...", "inventory": {"collected_at": "...",
 *       "complete": true, "containers": [...], "host": {...}, "present_ids": [...]}}
 *
 * Sample counters are written by walking cm_fields[]; a field appears only
 * when its present bit is set. Counters are written as exact integers (not
 * through a double), so values above 2^53 survive. Functions return a new
 * cJSON tree the caller releases with cJSON_Delete, or NULL when cJSON
 * could not allocate. The module never logs and does no I/O except
 * ag_print_write. */
#ifndef AG_PRINT_H
#define AG_PRINT_H

#include "proto/wire.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

cJSON *ag_print_hello(const struct cm_hello *hello);
cJSON *ag_print_sample(const struct cm_sample *s);
/* {"collected_at": ..., "samples": [...]}: the body alone, no seq. */
cJSON *ag_print_metrics(const struct cm_metric_batch *m);
/* {"collected_at", "complete", "containers": [...], "host": {...},
 * "present_ids": [...] (only when complete)}: the InventoryBatch body, with
 * the containers and host as cm_container_inv_to_json/cm_host_inv_to_json
 * render them. */
cJSON *ag_print_inventory(const struct cm_inventory_batch *b);
cJSON *ag_print_envelope(const struct cm_envelope *env);

/* Writes the document and a newline; pretty when `pretty`, else one line.
 * Returns 0, -ENOMEM or -errno of the write. */
int ag_print_write(FILE *out, const cJSON *doc, bool pretty);

#endif
