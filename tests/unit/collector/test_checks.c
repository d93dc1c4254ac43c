/* test_checks.c - the catalogue (every agreed id, with its texts, severity
 * and CIS item), lookup, severity names, which states are audited, the
 * result array contract, and the detail text's cut on a UTF-8 boundary. */
#include "collector/checks_int.h"
#include "common/err.h"
#include "proto/wire.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(checks, .timeout = 10);

/* The ids of the shared design (briefs/inv.md) with their CIS items. */
static const struct {
    const char *id, *cis;
    enum col_check_scope scope;
} agreed[] = {
    {"container.config_unreadable", NULL, COL_SCOPE_CONTAINER},
    {"container.root_user", "4.1", COL_SCOPE_CONTAINER},
    {"container.privileged", "5.5", COL_SCOPE_CONTAINER},
    {"container.dangerous_caps", "5.4", COL_SCOPE_CONTAINER},
    {"container.sensitive_mount", "5.6", COL_SCOPE_CONTAINER},
    {"container.runtime_socket", "5.32", COL_SCOPE_CONTAINER},
    {"container.host_network", "5.10", COL_SCOPE_CONTAINER},
    {"container.host_pid", "5.16", COL_SCOPE_CONTAINER},
    {"container.host_ipc", "5.17", COL_SCOPE_CONTAINER},
    {"container.host_uts", "5.21", COL_SCOPE_CONTAINER},
    {"container.host_userns", "5.31", COL_SCOPE_CONTAINER},
    {"container.writable_rootfs", "5.13", COL_SCOPE_CONTAINER},
    {"container.no_memory_limit", "5.11", COL_SCOPE_CONTAINER},
    {"container.no_cpu_limit", "5.12", COL_SCOPE_CONTAINER},
    {"container.no_pids_limit", "5.29", COL_SCOPE_CONTAINER},
    {"container.seccomp_unconfined", "5.22", COL_SCOPE_CONTAINER},
    {"container.no_mac_profile", "5.2,5.3", COL_SCOPE_CONTAINER},
    {"container.no_new_privileges", "5.26", COL_SCOPE_CONTAINER},
    {"container.sshd", "5.7", COL_SCOPE_CONTAINER},
    {"container.privileged_port_all_interfaces", "5.8,5.14", COL_SCOPE_CONTAINER},
    {"container.untrusted_registry", NULL, COL_SCOPE_CONTAINER},
    {"container.mutable_image", NULL, COL_SCOPE_CONTAINER},
    {"container.secret_env", NULL, COL_SCOPE_CONTAINER},
    {"container.restart_unbounded", "5.15", COL_SCOPE_CONTAINER},
    {"container.no_healthcheck", "5.27,4.6", COL_SCOPE_CONTAINER},
    {"host.daemon_config_invalid", NULL, COL_SCOPE_HOST},
    {"host.icc_enabled", "2.2", COL_SCOPE_HOST},
    {"host.userns_remap_off", "2.9", COL_SCOPE_HOST},
    {"host.live_restore_off", "2.15", COL_SCOPE_HOST},
    {"host.tcp_without_tls", "2.7", COL_SCOPE_HOST},
    {"host.no_new_privileges_default_off", "2.14", COL_SCOPE_HOST},
    {"host.insecure_registries", "2.5", COL_SCOPE_HOST},
    {"host.runtime_socket_permissions", "3.15,3.16", COL_SCOPE_HOST},
};
#define N_AGREED (sizeof agreed / sizeof agreed[0])

Test(checks, catalogue_holds_exactly_the_agreed_ids)
{
    cr_assert_eq(col_checks_count(), N_AGREED);
    for (size_t i = 0; i < N_AGREED; i++) {
        const struct col_check *k = col_checks_find(agreed[i].id);
        cr_assert_not_null(k, "%s missing", agreed[i].id);
        cr_expect_str_eq(k->id, agreed[i].id);
        cr_expect_eq(k->scope, agreed[i].scope, "%s", k->id);
        if (agreed[i].cis)
            cr_expect(k->cis && strcmp(k->cis, agreed[i].cis) == 0, "%s cis %s", k->id,
                      k->cis ? k->cis : "NULL");
        else
            cr_expect_null(k->cis, "%s", k->id);
        cr_expect(k->title && strlen(k->title) > 10, "%s title", k->id);
        cr_expect(k->rationale && strlen(k->rationale) > 80, "%s rationale", k->id);
        cr_expect(k->remediation && strlen(k->remediation) > 20, "%s remediation", k->id);
        cr_expect_lt((int)k->severity, COL_SEV__COUNT);
    }
    /* Unique, and at() covers the same set. */
    for (size_t i = 0; i < col_checks_count(); i++)
        for (size_t k = i + 1; k < col_checks_count(); k++)
            cr_expect_str_neq(col_checks_at(i)->id, col_checks_at(k)->id);
    cr_expect_null(col_checks_at(col_checks_count()));
    cr_expect_null(col_checks_find("container.nope"));
    cr_expect_null(col_checks_find(NULL));
}

Test(checks, honest_severities)
{
    const struct {
        const char *id;
        enum col_severity sev;
    } want[] = {
        {"container.privileged", COL_SEV_CRITICAL},
        {"container.runtime_socket", COL_SEV_CRITICAL},
        {"host.tcp_without_tls", COL_SEV_CRITICAL},
        {"container.host_network", COL_SEV_HIGH},
        {"container.host_pid", COL_SEV_HIGH},
        {"container.host_ipc", COL_SEV_HIGH},
        {"container.dangerous_caps", COL_SEV_HIGH},
        {"container.sensitive_mount", COL_SEV_HIGH},
        {"container.seccomp_unconfined", COL_SEV_HIGH},
        {"container.mutable_image", COL_SEV_LOW},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect_eq(col_checks_find(want[i].id)->severity, want[i].sev, "%s", want[i].id);
}

Test(checks, rationale_says_where_docker_bench_differs)
{
    const char *differs[] = {
        "container.root_user",         "container.sensitive_mount",
        "container.no_cpu_limit",      "container.no_new_privileges",
        "container.restart_unbounded", "container.no_mac_profile",
        "container.runtime_socket",    "container.privileged_port_all_interfaces"};
    for (size_t i = 0; i < sizeof differs / sizeof differs[0]; i++)
        cr_expect(strstr(col_checks_find(differs[i])->rationale, "docker-bench"), "%s", differs[i]);
}

Test(checks, container_checks_come_first_with_config_unreadable_leading)
{
    cr_assert_str_eq(col_checks_at(0)->id, "container.config_unreadable");
    bool host_seen = false;
    for (size_t i = 0; i < col_checks_count(); i++) {
        if (col_checks_at(i)->scope == COL_SCOPE_HOST)
            host_seen = true;
        else
            cr_expect_not(host_seen, "%s after a host check", col_checks_at(i)->id);
    }
}

Test(checks, severity_names)
{
    const char *names[] = {"info", "low", "medium", "high", "critical"};
    for (int i = 0; i < COL_SEV__COUNT; i++) {
        enum col_severity s = COL_SEV__COUNT;
        cr_expect_str_eq(col_severity_name((enum col_severity)i), names[i]);
        cr_expect_eq(col_severity_parse(names[i], &s), 0);
        cr_expect_eq((int)s, i);
    }
    enum col_severity s = COL_SEV_HIGH;
    cr_expect_eq(col_severity_parse("High", &s), CM_EPARSE);
    cr_expect_eq(col_severity_parse("", &s), CM_EPARSE);
    cr_expect_eq(col_severity_parse(NULL, &s), CM_EPARSE);
    cr_expect_eq(s, COL_SEV_HIGH, "untouched on failure");
    cr_expect_str_eq(col_severity_name(COL_SEV__COUNT), "unknown");
}

Test(checks, audited_states)
{
    cr_expect(col_checks_applies_to_state(CM_INV_STATE_RUNNING));
    cr_expect(col_checks_applies_to_state(CM_INV_STATE_PAUSED));
    cr_expect(col_checks_applies_to_state(CM_INV_STATE_RESTARTING));
    cr_expect(col_checks_applies_to_state(CM_INV_STATE_UNKNOWN));
    cr_expect_not(col_checks_applies_to_state(CM_INV_STATE_CREATED));
    cr_expect_not(col_checks_applies_to_state(CM_INV_STATE_EXITED));
    cr_expect_not(col_checks_applies_to_state(CM_INV_STATE_GONE));
    cr_expect_not(col_checks_applies_to_state(CM_INV_STATE__COUNT));
}

/* A container that fails many checks at once: root, privileged, no limits,
 * everything known. */
static struct cm_container_inv bad_container(void)
{
    return (struct cm_container_inv){
        .runtime = CM_RT_DOCKER, .user = "", .privileged = true, .known = 0x1FFFFu};
}

Test(checks, result_array_contract)
{
    struct cm_container_inv c = bad_container();
    struct col_check_result out[40];
    size_t n = col_checks_eval_container(&c, NULL, NULL, out, 40);
    cr_assert_gt(n, 8);
    for (size_t i = 1; i < n; i++) {
        /* catalogue order */
        size_t a = 0, b = 0;
        for (size_t k = 0; k < col_checks_count(); k++) {
            if (col_checks_at(k) == out[i - 1].check) a = k;
            if (col_checks_at(k) == out[i].check) b = k;
        }
        cr_expect_lt(a, b);
        cr_expect_gt(strlen(out[i].detail), 0, "%s has a detail", out[i].check->id);
    }
    struct col_check_result few[3];
    memset(few, 0, sizeof few);
    cr_expect_eq(col_checks_eval_container(&c, NULL, NULL, few, 2), n);
    cr_expect_eq(few[0].check, out[0].check);
    cr_expect_eq(few[1].check, out[1].check);
    cr_expect_null(few[2].check, "nothing written past max");
    cr_expect_eq(col_checks_eval_container(&c, NULL, NULL, NULL, 0), n);
    cr_expect_eq(col_checks_eval_container(NULL, NULL, NULL, out, 40), 0);
    cr_expect_eq(col_checks_eval_host(NULL, NULL, out, 40), 0);
    cr_expect_eq(col_checks_eval_one("container.nope", &c, NULL, NULL, NULL, 0), COL_OUT_NA);
    cr_expect_eq(col_checks_eval_one("host.icc_enabled", &c, NULL, NULL, NULL, 0), COL_OUT_NA,
                 "a host check without a host");
}

Test(checks, detail_is_cut_on_a_character_boundary)
{
    /* "x" and 300 two-byte characters (601 bytes) do not fit in 512, and
     * the plain cut (byte 508) falls inside a character. */
    static char name[700] = "x";
    for (size_t i = 0; i < 300; i++)
        memcpy(name + 1 + 2 * i, "\xc3\xa9", 2);
    struct cm_container_inv c = bad_container();
    c.error = name;
    struct col_check_result out[1];
    cr_assert_eq(col_checks_eval_container(&c, NULL, NULL, out, 1), 1);
    size_t len = strlen(out[0].detail);
    cr_assert_lt(len, COL_CHECK_DETAIL_MAX);
    cr_expect_eq(strcmp(out[0].detail + len - 3, "..."), 0);
    cr_expect_eq(cm_wire_check_utf8(out[0].detail, len), 0);
    cr_expect_eq(len, 507 + 3, "cut back one byte, to the character's start");
}
