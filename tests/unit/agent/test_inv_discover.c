/* test_inv_discover.c - the pure readers of agent/inv_discover.c on the
 * state files of tests/fixtures/hostroot-inv and on broken input (runc's
 * state.json, crun's status, podman's containers.json, a cgroup path's
 * leaf id), and opening files without leaving their directory (symlinks,
 * "..", non-regular files, the size cap, lookups inside the host root).
 * Listing and loading whole containers are tested through the inventory
 * pass in test_inventory.c. */
#include "agent/inv_int.h"
#include "common/err.h"
#include "common/timeutil.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define P "5e3b1c0ffee5e3b1c0ffee5e3b1c0ffee5e3b1c0ffee5e3b1c0ffee5e3b1c0ff"

TestSuite(inv_discover, .timeout = 60);

Test(inv_discover, runc_state_and_podman_index_parsers)
{
    size_t len = 0;
    char *st = tu_read_file(tu_fixture_path("hostroot-inv/run/runc/rc-app/state.json"), &len);
    cr_assert_not_null(st);
    struct ag_inv_runc_state rs;
    char err[256] = "";
    cr_assert_eq(ag_inv_runc_state_parse(st, len, &rs, err, sizeof err), 0, "%s", err);
    cr_expect_eq(rs.pid, 4401);
    cr_expect_str_eq(rs.bundle, "/srv/bundles/rc-app");
    cr_expect_str_eq(rs.cgroup_path, "/runc-demo/rc-app");
    int64_t want = 0;
    cm_time_parse("2026-11-23T15:53:22.471416544Z", &want);
    cr_expect_eq(rs.created_ns, want);
    ag_inv_runc_state_free(&rs);
    cr_expect_eq(ag_inv_runc_state_parse(st, len / 2, &rs, err, sizeof err), CM_EPARSE);
    cr_expect(strstr(err, "state.json"), "%s", err);
    free(st);
    const char *odd = "{\"init_process_pid\": -4, \"config\": {\"labels\": [7, \"bundle=\"]}}";
    cr_assert_eq(ag_inv_runc_state_parse(odd, strlen(odd), &rs, err, sizeof err), 0);
    cr_expect_eq(rs.pid, 0);
    cr_expect_null(rs.bundle, "an empty bundle label is none");
    ag_inv_runc_state_free(&rs);
    cr_expect_eq(ag_inv_runc_state_parse("[]", 2, &rs, err, sizeof err), CM_EPARSE);
    cr_expect(strstr(err, "state.json is not a JSON object"), "%s", err);

    char *idx = tu_read_file(
        tu_fixture_path(
            "hostroot-inv/var/lib/containers/storage/overlay-containers/containers.json"),
        &len);
    cr_assert_not_null(idx);
    struct ag_inv_podman_meta *m = NULL;
    size_t n = 0;
    cr_assert_eq(ag_inv_podman_index_parse(idx, len, &m, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 1);
    cr_expect_str_eq(m[0].id, P);
    cr_expect_str_eq(m[0].name, "pm-app");
    cr_expect_str_eq(m[0].image, "localhost/busybox:local");
    cr_expect_gt(m[0].created_ns, 0);
    ag_inv_podman_index_free(m, n);
    free(idx);
    const char *bad = "[{\"id\": \"../x\"}, {\"id\": \"ok\", \"names\": 3, \"metadata\": \"{\"}]";
    cr_assert_eq(ag_inv_podman_index_parse(bad, strlen(bad), &m, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1, "an id that is not an id is left out");
    cr_expect_null(m[0].name);
    cr_expect_null(m[0].image);
    ag_inv_podman_index_free(m, n);
    cr_expect_eq(ag_inv_podman_index_parse("{}", 2, &m, &n, err, sizeof err), CM_EPARSE);

    char id[CM_CONTAINER_ID_MAX + 1];
    cr_expect(ag_inv_cgroup_leaf_id("/runc-demo/rc-app/", id, sizeof id));
    cr_expect_str_eq(id, "rc-app");
    cr_expect_not(ag_inv_cgroup_leaf_id("system.slice:runc:x", id, sizeof id));
    cr_expect_not(ag_inv_cgroup_leaf_id("/", id, sizeof id));
    cr_expect_not(ag_inv_cgroup_leaf_id("/a/b c", id, sizeof id));
    cr_expect_not(ag_inv_cgroup_leaf_id(NULL, id, sizeof id));
}

Test(inv_discover, crun_status_parser)
{
    size_t len = 0;
    char *st = tu_read_file(tu_fixture_path("hostroot-inv/run/crun/cr-app/status"), &len);
    cr_assert_not_null(st);
    struct ag_inv_runc_state cs;
    char err[256] = "";
    cr_assert_eq(ag_inv_crun_status_parse(st, len, &cs, err, sizeof err), 0, "%s", err);
    cr_expect_eq(cs.pid, 4501);
    cr_expect_str_eq(cs.bundle, "/srv/bundles/cr-app");
    cr_expect_str_eq(cs.cgroup_path, "/runc-demo/cr-app");
    int64_t want = 0;
    cr_assert_eq(cm_time_parse("2026-11-23T16:02:41.118200317Z", &want), 0);
    cr_expect_eq(cs.created_ns, want);
    ag_inv_runc_state_free(&cs);
    cr_expect_null(cs.bundle, "freed and zeroed");
    /* runc's key for the pid is not crun's, and the reverse */
    cr_assert_eq(ag_inv_runc_state_parse(st, len, &cs, err, sizeof err), 0);
    cr_expect_eq(cs.pid, 0);
    cr_expect_null(cs.bundle);
    ag_inv_runc_state_free(&cs);
    free(st);

    st = tu_read_file(tu_fixture_path("hostroot-inv/run/crun/cr-broken/status"), &len);
    cr_assert_not_null(st);
    cr_expect_eq(ag_inv_crun_status_parse(st, len, &cs, err, sizeof err), CM_EPARSE);
    cr_expect_eq(strncmp(err, "status is not valid JSON", 24), 0, "%s", err);
    cr_expect_null(cs.bundle, "nothing is left to free after an error");
    free(st);
    cr_expect_eq(ag_inv_crun_status_parse("[1]", 3, &cs, err, sizeof err), CM_EPARSE);
    cr_expect_str_eq(err, "status is not a JSON object");
    cr_expect_eq(ag_inv_crun_status_parse("", 0, &cs, err, sizeof err), CM_EPARSE);

    /* wrong types and empty strings are unknown, not errors; systemd's path is kept */
    const char *odd = "{\"pid\": \"4501\", \"bundle\": 3, \"created\": \"yesterday\", "
                      "\"cgroup-path\": \"/system.slice/crun-x.scope\", \"systemd-cgroup\": true}";
    cr_assert_eq(ag_inv_crun_status_parse(odd, strlen(odd), &cs, err, sizeof err), 0, "%s", err);
    cr_expect_eq(cs.pid, 0);
    cr_expect_null(cs.bundle);
    cr_expect_eq(cs.created_ns, 0);
    cr_expect_str_eq(cs.cgroup_path, "/system.slice/crun-x.scope");
    ag_inv_runc_state_free(&cs);
    const char *empty = "{\"pid\": 0, \"bundle\": \"\", \"cgroup-path\": \"\"}";
    cr_assert_eq(ag_inv_crun_status_parse(empty, strlen(empty), &cs, err, sizeof err), 0);
    cr_expect_eq(cs.pid, 0);
    cr_expect_null(cs.bundle);
    cr_expect_null(cs.cgroup_path);
    ag_inv_runc_state_free(&cs);
}

Test(inv_discover, files_are_opened_without_leaving_their_directory)
{
    char *dir = tu_mkdtemp();
    char p[4096], q[4096];
    cr_assert_eq(tu_write_file(dir, "state/c1/config.json", "{}"), 0);
    cr_assert_eq(tu_write_file(dir, "outside/secret", "s3cret"), 0);
    snprintf(p, sizeof p, "%s/state/c2", dir);
    snprintf(q, sizeof q, "%s/outside", dir);
    cr_assert_eq(symlink(q, p), 0); /* a directory symlink below the state root */
    snprintf(p, sizeof p, "%s/state/c1/link.json", dir);
    cr_assert_eq(symlink("config.json", p), 0);
    snprintf(p, sizeof p, "%s/etc", dir);
    cr_assert_eq(symlink("/state", p), 0); /* absolute, for the in-root lookup */
    snprintf(p, sizeof p, "%s/state", dir);
    int state = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert(state >= 0 && root >= 0);
    char *buf = NULL;
    size_t len = 0;
    cr_assert_eq(ag_inv_read_beneath(state, "c1/config.json", 100, &buf, &len), 0);
    cr_expect_str_eq(buf, "{}");
    free(buf);
    cr_expect_eq(ag_inv_read_beneath(state, "c1/link.json", 100, &buf, &len), -ELOOP);
    cr_expect_eq(ag_inv_read_beneath(state, "c2/secret", 100, &buf, &len), -ELOOP);
    cr_expect_eq(ag_inv_read_beneath(state, "../outside/secret", 100, &buf, &len), -EXDEV);
    cr_expect_eq(ag_inv_read_beneath(state, "c1", 100, &buf, &len), -EINVAL, "a directory");
    cr_expect_eq(ag_inv_read_beneath(state, "c1/config.json", 1, &buf, &len), CM_ETOOBIG);
    int fd = ag_inv_open_in_root(root, "/etc/c1/config.json", O_RDONLY);
    cr_assert_geq(fd, 0, "an absolute symlink resolves inside the root: %d", fd);
    cr_assert_eq(ag_inv_read_fd(fd, 100, &buf, &len), 0);
    cr_expect_eq(len, 2);
    free(buf);
    cr_expect_eq(ag_inv_open_in_root(root, "/../../../etc/missing-here", O_RDONLY), -ENOENT,
                 ".. stops at the root");
    close(state);
    close(root);
    tu_rm_rf(dir);
    free(dir);
}
