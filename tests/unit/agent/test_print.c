/* test_print.c - JSON shape of printed envelopes; present fields appear with
 * exact values, absent ones do not appear at all. */
#include "agent/print.h"
#include "common/timeutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(print, .timeout = 10);

#define T0 (INT64_C(1795438800) * CM_NS_PER_SEC) /* 2026-11-23T13:00:00Z */

/* Renders and parses back, so the test checks real JSON text. */
static cJSON *roundtrip(cJSON *tree)
{
    cr_assert_not_null(tree);
    char *text = cJSON_PrintUnformatted(tree);
    cJSON_Delete(tree);
    cr_assert_not_null(text);
    cJSON *back = cJSON_Parse(text);
    cr_assert_not_null(back, "not JSON: %s", text);
    free(text);
    return back;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(v), "'%s' is not a string", key);
    return v->valuestring;
}

Test(print, hello_envelope)
{
    struct cm_envelope env = {.version = 1, .seq = 42, .sent_ns = T0, .kind = CM_BODY_HELLO};
    snprintf(env.body.hello.hostname, sizeof env.body.hello.hostname, "web-01");
    snprintf(env.body.hello.machine_id, sizeof env.body.hello.machine_id, "abc");
    snprintf(env.body.hello.kernel, sizeof env.body.hello.kernel, "6.1.0");
    snprintf(env.body.hello.agent_version, sizeof env.body.hello.agent_version, "0.1.0");
    env.body.hello.cgroup_mode = CM_CGROUP_V2;
    env.body.hello.boot_ns = T0 - CM_NS_PER_SEC;
    cJSON *j = roundtrip(ag_print_envelope(&env));
    cr_assert_eq(cJSON_GetObjectItem(j, "seq")->valuedouble, 42);
    cr_assert_str_eq(str(j, "sent_at"), "2026-11-23T13:00:00.000000Z");
    cr_assert_null(cJSON_GetObjectItem(j, "metrics"));
    const cJSON *h = cJSON_GetObjectItem(j, "hello");
    cr_assert(cJSON_IsObject(h));
    cr_assert_str_eq(str(h, "hostname"), "web-01");
    cr_assert_str_eq(str(h, "machine_id"), "abc");
    cr_assert_str_eq(str(h, "kernel"), "6.1.0");
    cr_assert_str_eq(str(h, "cgroup_mode"), "v2");
    cr_assert_str_eq(str(h, "agent_version"), "0.1.0");
    cr_assert_str_eq(str(h, "boot_at"), "2026-11-23T12:59:59.000000Z");
    cJSON_Delete(j);
}

Test(print, metrics_envelope_present_and_absent_fields)
{
    struct cm_sample s[2];
    memset(s, 0, sizeof s);
    snprintf(s[0].container_id, sizeof s[0].container_id, "abc123");
    snprintf(s[0].cgroup_path, sizeof s[0].cgroup_path, "/docker/abc123");
    s[0].runtime = CM_RT_DOCKER;
    s[0].ts_ns = T0;
    cm_sample_set(&s[0], CM_F_CPU_USAGE_NS, UINT64_C(18446744073709551615));
    cm_sample_set(&s[0], CM_F_MEM_USAGE_BYTES, 0); /* present zero is not absent */
    cm_sample_set(&s[0], CM_F_NET_TX_PACKETS, 7);
    snprintf(s[1].container_id, sizeof s[1].container_id, "def");
    s[1].runtime = CM_RT_CUSTOM;
    s[1].ts_ns = T0;
    struct cm_envelope env = {.version = 1, .seq = 43, .sent_ns = T0, .kind = CM_BODY_METRICS};
    env.body.metrics.collected_ns = T0;
    env.body.metrics.samples = s;
    env.body.metrics.n = 2;

    cJSON *tree = ag_print_envelope(&env);
    char *text = cJSON_PrintUnformatted(tree);
    /* exact, not rounded through a double */
    cr_assert(strstr(text, "\"cpu_usage_ns\":18446744073709551615") != NULL, "%s", text);
    free(text);
    cJSON *j = roundtrip(tree);
    cr_assert_null(cJSON_GetObjectItem(j, "hello"));
    const cJSON *m = cJSON_GetObjectItem(j, "metrics");
    cr_assert_str_eq(str(m, "collected_at"), "2026-11-23T13:00:00.000000Z");
    const cJSON *arr = cJSON_GetObjectItem(m, "samples");
    cr_assert_eq(cJSON_GetArraySize(arr), 2);
    const cJSON *a = cJSON_GetArrayItem(arr, 0);
    cr_assert_str_eq(str(a, "container_id"), "abc123");
    cr_assert_str_eq(str(a, "runtime"), "docker");
    cr_assert_str_eq(str(a, "cgroup_path"), "/docker/abc123");
    cr_assert_str_eq(str(a, "ts"), "2026-11-23T13:00:00.000000Z");
    cr_assert_eq(cJSON_GetObjectItem(a, "mem_usage_bytes")->valuedouble, 0);
    cr_assert_eq(cJSON_GetObjectItem(a, "net_tx_packets")->valuedouble, 7);
    /* 4 fixed keys + 3 present counters, nothing else */
    cr_assert_eq(cJSON_GetArraySize(a), 7);
    for (int f = 0; f < CM_F__COUNT; f++) {
        bool want = f == CM_F_CPU_USAGE_NS || f == CM_F_MEM_USAGE_BYTES || f == CM_F_NET_TX_PACKETS;
        cr_assert_eq(cJSON_GetObjectItem(a, cm_fields[f].name) != NULL, want, "field %s",
                     cm_fields[f].name);
    }
    const cJSON *b = cJSON_GetArrayItem(arr, 1);
    cr_assert_str_eq(str(b, "runtime"), "custom");
    cr_assert_eq(cJSON_GetArraySize(b), 4, "no counters present, none printed");
    cJSON_Delete(j);
}

Test(print, every_field_by_its_table_name)
{
    struct cm_sample s;
    memset(&s, 0, sizeof s);
    snprintf(s.container_id, sizeof s.container_id, "x");
    for (int f = 0; f < CM_F__COUNT; f++)
        cm_sample_set(&s, (enum cm_field)f, (uint64_t)f * 1000 + 1);
    cJSON *j = roundtrip(ag_print_sample(&s));
    for (int f = 0; f < CM_F__COUNT; f++) {
        const cJSON *v = cJSON_GetObjectItem(j, cm_fields[f].name);
        cr_assert(cJSON_IsNumber(v), "missing %s", cm_fields[f].name);
        cr_assert_eq(v->valuedouble, (double)f * 1000 + 1);
    }
    cJSON_Delete(j);
}

Test(print, heartbeat_and_write)
{
    struct cm_envelope env = {.version = 1, .seq = 9, .sent_ns = T0, .kind = CM_BODY_HEARTBEAT};
    env.body.heartbeat.containers = 3;
    env.body.heartbeat.unacked = 2;
    cJSON *tree = ag_print_envelope(&env);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_eq(ag_print_write(f, tree, false), 0);
    fclose(f);
    cJSON_Delete(tree);
    cr_assert_eq(text[len - 1], '\n');
    cr_assert_null(strchr(text, '\n') == text + len - 1 ? NULL : text, "one line: %s", text);
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *hb = cJSON_GetObjectItem(j, "heartbeat");
    cr_assert_eq(cJSON_GetObjectItem(hb, "containers")->valuedouble, 3);
    cr_assert_eq(cJSON_GetObjectItem(hb, "unacked")->valuedouble, 2);
    cJSON_Delete(j);
}

Test(print, inventory_envelope)
{
    struct cm_container_inv c[2];
    memset(c, 0, sizeof c);
    snprintf(c[0].id, sizeof c[0].id, "abc123");
    c[0].runtime = CM_RT_DOCKER;
    c[0].state = CM_INV_STATE_RUNNING;
    c[0].name = "web";
    snprintf(c[1].id, sizeof c[1].id, "gone1");
    c[1].state = CM_INV_STATE_GONE;
    char *ids[] = {c[0].id};
    struct cm_socket_info sock = {.path = "/var/run/docker.sock", .exists = true, .mode = 0660};
    struct cm_host_inv host = {
        .docker_present = true, .runtime_sockets = &sock, .n_runtime_sockets = 1};
    struct cm_envelope env = {.version = 1, .seq = 9, .sent_ns = T0, .kind = CM_BODY_INVENTORY};
    env.body.inventory = (struct cm_inventory_batch){.collected_ns = T0,
                                                     .containers = c,
                                                     .n = 2,
                                                     .host = &host,
                                                     .complete = true,
                                                     .present_ids = ids,
                                                     .n_present = 1};
    cJSON *o = roundtrip(ag_print_envelope(&env));
    const cJSON *inv = cJSON_GetObjectItemCaseSensitive(o, "inventory");
    cr_assert(cJSON_IsObject(inv));
    cr_expect_str_eq(str(inv, "collected_at"), "2026-11-23T13:00:00.000000Z");
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(inv, "complete")));
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(inv, "containers");
    cr_assert_eq(cJSON_GetArraySize(cs), 2);
    cr_expect_str_eq(str(cJSON_GetArrayItem(cs, 0), "name"), "web");
    cr_expect_str_eq(str(cJSON_GetArrayItem(cs, 1), "state"), "gone");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(inv, "host");
    cr_assert(cJSON_IsObject(h));
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "docker_present")));
    const cJSON *present = cJSON_GetObjectItemCaseSensitive(inv, "present_ids");
    cr_assert_eq(cJSON_GetArraySize(present), 1);
    cr_expect_str_eq(cJSON_GetArrayItem(present, 0)->valuestring, "abc123");
    cJSON_Delete(o);

    /* a batch of changes only: no host, no present_ids */
    env.body.inventory.host = NULL;
    env.body.inventory.complete = false;
    env.body.inventory.n_present = 0;
    o = roundtrip(ag_print_envelope(&env));
    inv = cJSON_GetObjectItemCaseSensitive(o, "inventory");
    cr_expect_null(cJSON_GetObjectItemCaseSensitive(inv, "host"));
    cr_expect_null(cJSON_GetObjectItemCaseSensitive(inv, "present_ids"));
    cr_expect(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(inv, "complete")));
    cJSON_Delete(o);
}
