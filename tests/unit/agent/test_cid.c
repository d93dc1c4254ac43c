/* test_cid.c - container id and runtime recognition from cgroup paths:
 * every built-in naming rule, the negatives next to them (conmon scopes,
 * pod-level directories, short ids), and user patterns. */
#include "agent/cid.h"
#include "common/err.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(cid, .timeout = 30);

#define HEX "4b2f1c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"
#define UID "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
#define UIDU "0f1e2d3c_aaaa_bbbb_cccc_000000000001"

static void expect_match(const char *path, enum cm_runtime rt)
{
    struct ag_cid_match m;
    cr_assert(ag_cid_match_builtin(path, &m), "not recognised: %s", path);
    cr_expect_eq(m.runtime, rt, "%s: runtime %s", path, cm_runtime_name(m.runtime));
    cr_expect_str_eq(m.id, HEX, "%s", path);
}

static void expect_none(const char *path)
{
    struct ag_cid_match m;
    cr_expect_not(ag_cid_match_builtin(path, &m), "wrongly recognised: %s (%s)", path, m.id);
}

Test(cid, docker)
{
    expect_match("/docker/" HEX, CM_RT_DOCKER);
    expect_match("/system.slice/docker-" HEX ".scope", CM_RT_DOCKER);
    expect_match("/my-parent/docker/" HEX, CM_RT_DOCKER);
}

Test(cid, containerd)
{
    expect_match("/k8s.io/" HEX, CM_RT_CONTAINERD);
    expect_match("/default/" HEX, CM_RT_CONTAINERD);
    expect_match("/system.slice/cri-containerd-" HEX ".scope", CM_RT_CONTAINERD);
    expect_match("/kubepods/burstable/pod" UID "/" HEX, CM_RT_CONTAINERD);
    expect_match("/kubepods/pod" UID "/" HEX, CM_RT_CONTAINERD);
    expect_match("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
                 ".slice/cri-containerd-" HEX ".scope",
                 CM_RT_CONTAINERD);
}

Test(cid, crio)
{
    expect_match("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU
                 ".slice/crio-" HEX ".scope",
                 CM_RT_CRIO);
    expect_match("/kubepods/besteffort/pod" UID "/crio-" HEX, CM_RT_CRIO);
}

Test(cid, podman)
{
    expect_match("/libpod_parent/libpod-" HEX, CM_RT_PODMAN);
    expect_match("/machine.slice/libpod-" HEX ".scope", CM_RT_PODMAN);
}

Test(cid, negatives)
{
    expect_none("/");
    expect_none("/docker");
    expect_none("/docker/buildkit");
    expect_none("/docker/4b2f1c3d5e6f"); /* short id */
    expect_none("/docker/" HEX "0");     /* 65 chars */
    expect_none("/docker/4B2F1C3D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F809");
    expect_none("/system.slice/docker-" HEX); /* systemd scope needs .scope */
    expect_none("/system.slice/docker.service");
    expect_none("/machine.slice/libpod-conmon-" HEX ".scope");
    expect_none("/libpod_parent/conmon");
    expect_none("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU
                ".slice/crio-conmon-" HEX ".scope");
    expect_none("/kubepods/burstable/pod" UID);
    expect_none("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU ".slice");
    expect_none("/kubepods.slice/kubepods-burstable.slice");
    expect_none("/moby/" HEX);       /* dockerd's containerd namespace, cgroups live in /docker */
    expect_none("/other/" HEX);      /* bare id under an unknown parent */
    expect_none("/pod" UID "/" HEX); /* pod dir outside kubepods */
    expect_none("/system.slice/sshd.service");
    expect_none(HEX);
}

Test(cid, user_patterns_first_with_runtime)
{
    struct cm_strlist pats = {0};
    cm_strlist_add(&pats, "^/bwtest-1/([a-z0-9-]+)$");
    cm_strlist_add(&pats, "crio=^/jobs/(job-[0-9]+)/main$");
    cm_strlist_add(&pats, "^/docker/(" HEX ")$"); /* overrides the built-in docker rule */
    struct ag_cid *c = NULL;
    char err[256] = "";
    cr_assert_eq(ag_cid_new(&pats, &c, err, sizeof(err)), 0, "%s", err);
    struct ag_cid_match m;
    cr_assert(ag_cid_match(c, "/bwtest-1/box-7", &m));
    cr_expect_eq(m.runtime, CM_RT_CUSTOM);
    cr_expect_str_eq(m.id, "box-7");
    cr_assert(ag_cid_match(c, "/jobs/job-12/main", &m));
    cr_expect_eq(m.runtime, CM_RT_CRIO);
    cr_expect_str_eq(m.id, "job-12");
    cr_expect_not(ag_cid_match(c, "/jobs/job-12", &m));
    cr_assert(ag_cid_match(c, "/docker/" HEX, &m));
    cr_expect_eq(m.runtime, CM_RT_CUSTOM);
    /* built-ins still apply after the patterns */
    cr_assert(ag_cid_match(c, "/k8s.io/" HEX, &m));
    cr_expect_eq(m.runtime, CM_RT_CONTAINERD);
    cr_expect_not(ag_cid_match(c, "/bwtest-1/Box", &m));
    ag_cid_free(c);
    cm_strlist_free(&pats);
}

static void expect_bad(const char *pat, const char *why)
{
    struct cm_strlist pats = {0};
    cm_strlist_add(&pats, "^/fine/(x)$");
    cm_strlist_add(&pats, pat);
    struct ag_cid *c = NULL;
    char err[256] = "";
    cr_expect_eq(ag_cid_new(&pats, &c, err, sizeof(err)), CM_ECONFIG, "%s accepted", pat);
    cr_expect_null(c);
    cr_expect(strstr(err, pat) != NULL, "error does not name the pattern: %s", err);
    cr_expect(strstr(err, why) != NULL, "error does not say \"%s\": %s", why, err);
    cm_strlist_free(&pats);
}

Test(cid, bad_patterns_fail_naming_the_pattern)
{
    expect_bad("^/a/([a-z+$", "");
    expect_bad("^/no/group$", "capture group");
    expect_bad("runc=^/x/(.*)$", "unknown runtime");
    ag_cid_free(NULL);
}

Test(cid, null_patterns_and_equals_in_regex)
{
    struct ag_cid *c = NULL;
    char err[64];
    cr_assert_eq(ag_cid_new(NULL, &c, err, sizeof(err)), 0);
    struct ag_cid_match m;
    cr_expect(ag_cid_match(c, "/docker/" HEX, &m));
    ag_cid_free(c);
    struct cm_strlist pats = {0};
    cm_strlist_add(&pats, "^/k=v/(.+)$"); /* '=' after a '^' is part of the regex */
    cr_assert_eq(ag_cid_new(&pats, &c, err, sizeof(err)), 0, "%s", err);
    cr_assert(ag_cid_match(c, "/k=v/abc", &m));
    cr_expect_str_eq(m.id, "abc");
    ag_cid_free(c);
    cm_strlist_free(&pats);
}
