/* test_inventory_json.c - the inventory as JSON: proto field names as keys,
 * RFC 3339 times under *_at, bitmasks as name arrays, exact 64-bit numbers,
 * unknowns left out, daemon settings embedded as the JSON they hold; and
 * the text always parses back. */
#include "common/inventory.h"
#include "common/timeutil.h"
#include "tests/util/invtest.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

TestSuite(inventory_json, .timeout = 30);

/* Renders, prints and parses back: the text must be valid JSON. */
static cJSON *json_of(cJSON *rendered, char **text)
{
    cr_assert_not_null(rendered);
    *text = cJSON_PrintUnformatted(rendered);
    cJSON_Delete(rendered);
    cr_assert_not_null(*text);
    cJSON *back = cJSON_Parse(*text);
    cr_assert_not_null(back, "not valid JSON: %s", *text);
    return back;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(v), "%s is not a string", key);
    return v->valuestring;
}

Test(inventory_json, container_json_keys)
{
    struct cm_container_inv c;
    char *text;
    tu_inv_fill_container(&c, 0);
    cJSON *j = json_of(cm_container_inv_to_json(&c), &text);
    cr_assert_str_eq(jstr(j, "container_id"), c.id);
    cr_assert_str_eq(jstr(j, "runtime"), "docker");
    cr_assert_str_eq(jstr(j, "state"), "running");
    cr_assert_str_eq(jstr(j, "error"), "");
    int64_t ns = 0;
    cr_assert_eq(cm_time_parse(jstr(j, "created_at"), &ns), 0);
    cr_assert_eq(ns, c.created_ns);
    cr_assert_null(cJSON_GetObjectItem(j, "created_unix_ns"));
    const cJSON *labels = cJSON_GetObjectItem(j, "labels");
    cr_assert_str_eq(jstr(labels, "com.example.team"), "team-0");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(labels, "no-value")));
    const cJSON *caps = cJSON_GetObjectItem(j, "cap_add");
    cr_assert_eq(cJSON_GetArraySize(caps), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(caps, 1)->valuestring, "SYS_PTRACE");
    const cJSON *ns_arr = cJSON_GetObjectItem(j, "host_namespaces");
    cr_assert_eq(cJSON_GetArraySize(ns_arr), 3);
    cr_assert_str_eq(cJSON_GetArrayItem(ns_arr, 0)->valuestring, "net");
    cr_assert_str_eq(cJSON_GetArrayItem(ns_arr, 2)->valuestring, "cgroup");
    const cJSON *known = cJSON_GetObjectItem(j, "known");
    cr_assert_eq(cJSON_GetArraySize(known), 17);
    cr_assert_str_eq(cJSON_GetArrayItem(known, 0)->valuestring, "user");
    cr_assert_str_eq(cJSON_GetArrayItem(known, 2)->valuestring, "caps");
    cr_assert_str_eq(cJSON_GetArrayItem(known, 16)->valuestring, "image");
    /* 64-bit values exact in the text, not rounded through a double */
    cr_assert_not_null(strstr(text, "\"memory_limit_bytes\":1152921504606846977"), "%s", text);
    cr_assert_not_null(strstr(text, "\"pids_limit\":-9223372036854775808"));
    cr_assert_eq(cJSON_GetObjectItem(j, "pid")->valuedouble, 4194304);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "privileged")));
    const cJSON *ports = cJSON_GetObjectItem(j, "ports");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(ports, 0), "host_port")->valueint, 8080);
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(ports, 1), "host_port"));
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(ports, 1), "host_ip"));
    const cJSON *env = cJSON_GetObjectItem(j, "env");
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(env, 0), "secret_reason"));
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(env, 1), "secret_reason"), "name:PASSWORD");
    const cJSON *mounts = cJSON_GetObjectItem(j, "mounts");
    cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(mounts, 1), "source"));
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(mounts, 1), "read_only")));
    cr_assert_str_eq(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "processes"), 0), "exe"),
                     "/usr/sbin/sshd");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "listening")), 1);
    cJSON_Delete(j);
    free(text);
    cm_container_inv_free(&c);
}

Test(inventory_json, minimal_container_json_leaves_unknowns_out)
{
    struct cm_container_inv c = {.runtime = CM_RT_CUSTOM};
    char *text;
    snprintf(c.id, sizeof c.id, "abc");
    cJSON *j = json_of(cm_container_inv_to_json(&c), &text);
    cr_assert_str_eq(jstr(j, "runtime"), "custom");
    cr_assert_str_eq(jstr(j, "state"), "unknown");
    static const char *const absent[] = {
        "error",      "name", "image",     "image_digest", "labels",  "created_at",
        "started_at", "pid",  "user",      "cap_add",      "mounts",  "seccomp_profile",
        "ports",      "env",  "listening", "processes",    "devices", "restart_policy",
        "cgroup_path"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        cr_expect_null(cJSON_GetObjectItem(j, absent[i]), "%s should be left out", absent[i]);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "known")), 0);
    cr_assert_not_null(cJSON_GetObjectItem(j, "memory_limit_bytes"));
    cJSON_Delete(j);
    free(text);
}

Test(inventory_json, host_json_keys)
{
    struct cm_host_inv h;
    char *text;
    tu_inv_fill_host(&h);
    free(h.daemon_settings[2].value);
    h.daemon_settings[2].value = cm_xstrdup("true but not only");
    cJSON *j = json_of(cm_host_inv_to_json(&h), &text);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "docker_present")));
    cr_assert_str_eq(jstr(j, "daemon_config_path"), "/etc/docker/daemon.json");
    const cJSON *set = cJSON_GetObjectItem(j, "daemon_settings");
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(set, "icc")), "%s", text);
    const cJSON *hosts = cJSON_GetObjectItem(set, "hosts");
    cr_assert(cJSON_IsArray(hosts));
    cr_assert_str_eq(cJSON_GetArrayItem(hosts, 0)->valuestring, "tcp://0.0.0.0:2375");
    cr_assert_str_eq(jstr(set, "log-level"), "true but not only");
    const cJSON *socks = cJSON_GetObjectItem(j, "runtime_sockets");
    const cJSON *s0 = cJSON_GetArrayItem(socks, 0), *s1 = cJSON_GetArrayItem(socks, 1);
    cr_assert_str_eq(jstr(s0, "mode"), "0660");
    cr_assert_str_eq(jstr(s0, "group"), "docker");
    cr_assert_eq(cJSON_GetObjectItem(s0, "gid")->valueint, 998);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(s1, "exists")));
    cr_assert_null(cJSON_GetObjectItem(s1, "mode"));
    cr_assert_null(cJSON_GetObjectItem(s1, "uid"));
    cJSON_Delete(j);
    free(text);
    free(h.daemon_settings[2].value);
    h.daemon_settings[2].value = NULL;
    j = json_of(cm_host_inv_to_json(&h), &text);
    cr_assert(
        cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "daemon_settings"), "log-level")));
    cJSON_Delete(j);
    free(text);
    cm_host_inv_free(&h);
}
