/* test_inventory.c - the inventory model's lifetime: freeing zeroed, NULL
 * and populated structs (ASan checks nothing leaks or is freed twice), the
 * string list's bounds, and the state names. JSON rendering is tested with
 * the codec (tests/unit/proto/test_wire_inventory.c). */
#include "common/alloc.h"
#include "common/err.h"
#include "common/inventory.h"
#include "tests/util/invtest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(inventory, .timeout = 30);

Test(inventory, free_is_harmless_on_null_and_zeroed_structs)
{
    struct cm_container_inv c;
    struct cm_host_inv h;
    struct cm_inventory_batch b;
    memset(&c, 0, sizeof c);
    memset(&h, 0, sizeof h);
    memset(&b, 0, sizeof b);
    cm_container_inv_free(NULL);
    cm_host_inv_free(NULL);
    cm_inventory_batch_free(NULL);
    cm_container_inv_free(&c);
    cm_host_inv_free(&h);
    cm_inventory_batch_free(&b);
    cm_inventory_batch_free(&b); /* twice */
    static const struct cm_container_inv zc;
    cr_assert_eq(memcmp(&c, &zc, sizeof c), 0);
}

Test(inventory, free_releases_everything_and_zeroes)
{
    struct cm_container_inv c;
    tu_inv_fill_container(&c, 0); /* every owned member set: ASan sees a missing free() */
    cm_container_inv_free(&c);
    static const struct cm_container_inv zc;
    cr_assert_eq(memcmp(&c, &zc, sizeof c), 0, "free must zero the struct");
    cm_container_inv_free(&c); /* and so a second free is harmless */

    struct cm_inventory_batch b = {.collected_ns = 1, .complete = true};
    b.n = 2;
    b.containers = cm_xcalloc(2, sizeof *b.containers);
    tu_inv_fill_container(&b.containers[0], 1); /* [1] stays zeroed */
    b.host = cm_xcalloc(1, sizeof *b.host);
    b.host->daemon_config_path = cm_xstrdup("/etc/docker/daemon.json");
    b.host->daemon_config_error = cm_xstrdup("bad");
    b.host->n_daemon_settings = 1;
    b.host->daemon_settings = cm_xcalloc(1, sizeof *b.host->daemon_settings);
    b.host->daemon_settings[0] = (struct cm_kv){cm_xstrdup("icc"), NULL};
    b.host->n_runtime_sockets = 1;
    b.host->runtime_sockets = cm_xcalloc(1, sizeof *b.host->runtime_sockets);
    b.host->runtime_sockets[0] = (struct cm_socket_info){
        cm_xstrdup("/run/docker.sock"), true, 0, 0, 0660, cm_xstrdup("root"), cm_xstrdup("docker")};
    b.n_present = 2;
    b.present_ids = cm_xcalloc(2, sizeof *b.present_ids);
    b.present_ids[0] = cm_xstrdup("abc");
    cm_inventory_batch_free(&b);
    cr_assert_null(b.containers);
    cr_assert_null(b.host);
    cr_assert_eq(b.n, 0);
    cr_assert_not(b.complete);
}

Test(inventory, strv_push_caps_entries_and_length)
{
    struct cm_strv v = {0};
    char name[16];
    for (int i = 0; i < CM_INV_LIST_MAX; i++) {
        snprintf(name, sizeof name, "CAP_%d", i);
        cr_assert_eq(cm_strv_push(&v, name), 0, "entry %d", i);
    }
    cr_assert_eq(v.n, CM_INV_LIST_MAX);
    cr_assert_eq(cm_strv_push(&v, "ONE_TOO_MANY"), CM_ETOOBIG);
    cr_assert_eq(v.n, CM_INV_LIST_MAX, "a refused push leaves the list as it was");
    cr_assert_str_eq(v.v[CM_INV_LIST_MAX - 1], "CAP_1023");
    cr_assert(cm_strv_contains(&v, "CAP_0"));
    cr_assert(cm_strv_contains(&v, "CAP_1023"));
    cr_assert_not(cm_strv_contains(&v, "ONE_TOO_MANY"));
    struct cm_container_inv c = {.cap_add = v};
    cm_container_inv_free(&c); /* frees v's strings and array */

    struct cm_strv w = {0};
    char *s = cm_xmalloc(CM_INV_STR_MAX + 2);
    memset(s, 'a', CM_INV_STR_MAX + 1);
    s[CM_INV_STR_MAX + 1] = '\0';
    cr_assert_eq(cm_strv_push(&w, s), CM_ETOOBIG);
    cr_assert_eq(w.n, 0);
    s[CM_INV_STR_MAX] = '\0';
    cr_assert_eq(cm_strv_push(&w, s), 0);
    cr_assert_eq(strlen(w.v[0]), CM_INV_STR_MAX);
    cr_assert_neq(w.v[0], s, "push stores a copy");
    free(s);
    cr_assert_eq(cm_strv_push(&w, NULL), CM_EPARSE);
    cr_assert_eq(cm_strv_push(&w, ""), 0);
    cr_assert_eq(w.n, 2);
    c = (struct cm_container_inv){.devices = w};
    cm_container_inv_free(&c);
}

Test(inventory, strv_contains_is_exact)
{
    struct cm_strv v = {0};
    cr_assert_not(cm_strv_contains(&v, "X"), "empty list");
    cr_assert_not(cm_strv_contains(NULL, "X"));
    cr_assert_eq(cm_strv_push(&v, "SYS_ADMIN"), 0);
    cr_assert(cm_strv_contains(&v, "SYS_ADMIN"));
    cr_assert_not(cm_strv_contains(&v, "sys_admin"), "case matters");
    cr_assert_not(cm_strv_contains(&v, "SYS_ADMI"), "no prefix match");
    cr_assert_not(cm_strv_contains(&v, "SYS_ADMINX"));
    cr_assert_not(cm_strv_contains(&v, NULL));
    struct cm_container_inv c = {.cap_drop = v};
    cm_container_inv_free(&c);
}

Test(inventory, state_names_round_trip)
{
    static const char *const want[CM_INV_STATE__COUNT] = {
        "unknown", "created", "running", "paused", "restarting", "exited", "gone"};
    for (int s = 0; s < CM_INV_STATE__COUNT; s++) {
        enum cm_inv_state back = CM_INV_STATE__COUNT;
        cr_assert_str_eq(cm_inv_state_name((enum cm_inv_state)s), want[s]);
        cr_assert_eq(cm_inv_state_parse(want[s], &back), 0);
        cr_assert_eq(back, (enum cm_inv_state)s);
    }
    cr_assert_str_eq(cm_inv_state_name(CM_INV_STATE__COUNT), "unknown");
    cr_assert_str_eq(cm_inv_state_name((enum cm_inv_state) - 1), "unknown");
    enum cm_inv_state out = CM_INV_STATE_PAUSED;
    cr_assert_eq(cm_inv_state_parse("Running", &out), CM_EPARSE);
    cr_assert_eq(cm_inv_state_parse("", &out), CM_EPARSE);
    cr_assert_eq(cm_inv_state_parse(NULL, &out), CM_EPARSE);
    cr_assert_eq(out, CM_INV_STATE_PAUSED, "a failed parse leaves the output alone");
}
