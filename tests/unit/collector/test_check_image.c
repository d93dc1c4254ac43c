/* test_check_image.c - image references split per Docker's rules, the
 * allowed_registries matching, and the untrusted_registry and
 * mutable_image checks built on them. */
#include "collector/checks_int.h"
#include "common/config.h"
#include "common/err.h"

#include <criterion/criterion.h>
#include <string.h>

TestSuite(check_image, .timeout = 10);

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct ref_case {
    const char *ref, *registry, *repository, *tag, *digest;
    bool implicit;
};

Test(check_image, splits_like_docker)
{
    const struct ref_case cases[] = {
        {"nginx", "docker.io", "library/nginx", "", "", true},
        {"nginx:1.25", "docker.io", "library/nginx", "1.25", "", false},
        {"busybox:local", "docker.io", "library/busybox", "local", "", false},
        {"bitnami/redis:7", "docker.io", "bitnami/redis", "7", "", false},
        {"docker.io/nginx", "docker.io", "library/nginx", "", "", true},
        {"index.docker.io/library/nginx:latest", "docker.io", "library/nginx", "latest", "", false},
        {"localhost:5000/a/b:1", "localhost:5000", "a/b", "1", "", false},
        {"localhost/app", "localhost", "app", "", "", true},
        {"localhost/busybox:local", "localhost", "busybox", "local", "", false},
        {"ghcr.io/org/tool@sha256:" HEX, "ghcr.io", "org/tool", "", "sha256:" HEX, false},
        {"quay.io/a/b:v1@sha256:" HEX, "quay.io", "a/b", "v1", "sha256:" HEX, false},
        {"registry.example.com:443/x/y/z", "registry.example.com:443", "x/y/z", "", "", true},
        {"Registry/app", "Registry", "app", "", "", true}, /* upper case: a host name */
        {"[::1]:5000/app:2", "[::1]:5000", "app", "2", "", false},
        {"my_org/my-app.v2__x:tag_1.0-rc", "docker.io", "my_org/my-app.v2__x", "tag_1.0-rc", "",
         false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct col_image_ref r;
        const struct ref_case *k = &cases[i];
        cr_assert_eq(col_image_ref_parse(k->ref, &r), 0, "%s", k->ref);
        cr_expect_not(r.is_id, "%s", k->ref);
        cr_expect_str_eq(r.registry, k->registry, "%s", k->ref);
        cr_expect_str_eq(r.repository, k->repository, "%s", k->ref);
        cr_expect_str_eq(r.tag, k->tag, "%s", k->ref);
        cr_expect_str_eq(r.digest, k->digest, "%s", k->ref);
        cr_expect_eq(r.implicit_tag, k->implicit, "%s", k->ref);
    }
}

Test(check_image, image_ids)
{
    struct col_image_ref r;
    cr_assert_eq(col_image_ref_parse("sha256:" HEX, &r), 0);
    cr_expect(r.is_id);
    cr_expect_str_eq(r.digest, "sha256:" HEX);
    cr_assert_eq(col_image_ref_parse(HEX, &r), 0);
    cr_expect(r.is_id);
    cr_expect_str_eq(r.digest, "sha256:" HEX);
    cr_assert_eq(col_image_ref_parse("04c5d3b7b065", &r), 0, "a short id is a name to Docker");
    cr_expect_not(r.is_id);
}

Test(check_image, rejects_what_docker_rejects)
{
    struct col_image_ref r;
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *bad[] = {"",
                         "UPPER",
                         "a//b",
                         "a/",
                         "/a",
                         "-a",
                         "a:",
                         "a:-x",
                         "a:t@",
                         "a@sha256:abc",
                         "a@sha256:" HEX "0",
                         "a@md5",
                         "a b",
                         "ghcr.io/",
                         "ghcr.io/Org/x",
                         "bad host!/x",
                         longname};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(col_image_ref_parse(bad[i], &r), CM_EPARSE, "%s", bad[i]);
    cr_expect_eq(col_image_ref_parse(NULL, &r), CM_EPARSE);
}

static bool allowed(const char *ref, const char *entry)
{
    struct col_image_ref r;
    cr_assert_eq(col_image_ref_parse(ref, &r), 0, "%s", ref);
    return col_image_ref_allowed_by(&r, entry);
}

Test(check_image, allowed_registry_entries)
{
    cr_expect(allowed("ghcr.io/org/x:1", "ghcr.io"));
    cr_expect(allowed("ghcr.io/org/x:1", "GHCR.io/"));
    cr_expect(allowed("ghcr.io/org/x:1", "ghcr.io/org"));
    cr_expect(allowed("ghcr.io/org/x:1", "ghcr.io/org/x"));
    cr_expect_not(allowed("ghcr.io/org/x:1", "ghcr.io/or"));
    cr_expect_not(allowed("ghcr.io/org/x:1", "ghcr.io/org/x/y"));
    cr_expect_not(allowed("ghcr.io/org/x:1", "ghcr"));
    cr_expect_not(allowed("ghcr.io.evil.com/org/x", "ghcr.io"));
    cr_expect(allowed("nginx", "docker.io/library"));
    cr_expect(allowed("nginx", "index.docker.io"));
    cr_expect(allowed("nginx", "docker.io"));
    cr_expect_not(allowed("bitnami/redis", "docker.io/library"));
    cr_expect_not(allowed("localhost:5000/a", "localhost"));
    cr_expect(allowed("localhost:5000/a", "localhost:5000"));
    cr_expect_not(allowed("nginx", ""));
    cr_expect_not(allowed("nginx", "/"));
    cr_expect_not(allowed("sha256:" HEX, "docker.io"));
}

static char detail[COL_CHECK_DETAIL_MAX];

static enum col_outcome run(const char *id, const char *image, uint32_t known,
                            const struct col_check_policy *p)
{
    struct cm_container_inv c = {.image = (char *)image, .known = known};
    detail[0] = '\0';
    return col_checks_eval_one(id, &c, NULL, p, detail, sizeof detail);
}

#define UR "container.untrusted_registry"
#define MI "container.mutable_image"

Test(check_image, untrusted_registry)
{
    char *items[] = {"ghcr.io", "docker.io/library"};
    struct cm_strlist list = {items, 2}, none = {NULL, 0};
    struct col_check_policy p = {&list}, empty = {&none}, unset = {NULL};
    const uint32_t K = CM_INV_K_IMAGE;
    cr_expect_eq(run(UR, "nginx", K, &p), COL_OUT_PASS);
    cr_expect_eq(run(UR, "ghcr.io/a/b@sha256:" HEX, K, &p), COL_OUT_PASS);
    cr_expect_eq(run(UR, "bitnami/redis", K, &p), COL_OUT_FAIL);
    cr_expect_str_eq(detail,
                     "docker.io/bitnami/redis: registry docker.io is not in allowed_registries");
    cr_expect_eq(run(UR, "quay.io/x/y:1", K, &p), COL_OUT_FAIL);
    cr_expect_eq(run(UR, "Not A Ref", K, &p), COL_OUT_FAIL);
    cr_expect(strstr(detail, "could not be parsed"), "%s", detail);
    cr_expect_eq(run(UR, "sha256:" HEX, K, &p), COL_OUT_FAIL);
    cr_expect(strstr(detail, "id only"), "%s", detail);
    /* No policy: no opinion. */
    cr_expect_eq(run(UR, "quay.io/x/y:1", K, &empty), COL_OUT_NA);
    cr_expect_eq(run(UR, "quay.io/x/y:1", K, &unset), COL_OUT_NA);
    cr_expect_eq(run(UR, "quay.io/x/y:1", K, NULL), COL_OUT_NA);
    /* Image not known. */
    cr_expect_eq(run(UR, "quay.io/x/y:1", 0, &p), COL_OUT_NA);
    cr_expect_eq(run(UR, NULL, K, &p), COL_OUT_NA);
    cr_expect_eq(run(UR, "", K, &p), COL_OUT_NA);
}

Test(check_image, mutable_image)
{
    const uint32_t K = CM_INV_K_IMAGE;
    cr_expect_eq(run(MI, "nginx", K, NULL), COL_OUT_FAIL);
    cr_expect_str_eq(detail, "\"nginx\": no tag (implicit :latest) and no digest");
    cr_expect_eq(run(MI, "nginx:latest", K, NULL), COL_OUT_FAIL);
    cr_expect(strstr(detail, ":latest without a digest"), "%s", detail);
    cr_expect_eq(run(MI, "localhost:5000/a/b:1", K, NULL), COL_OUT_FAIL);
    cr_expect(strstr(detail, "tag 1 without a digest"), "%s", detail);
    cr_expect_eq(run(MI, "nginx@sha256:" HEX, K, NULL), COL_OUT_PASS);
    cr_expect_eq(run(MI, "nginx:1.25@sha256:" HEX, K, NULL), COL_OUT_PASS);
    cr_expect_eq(run(MI, "sha256:" HEX, K, NULL), COL_OUT_PASS, "an image id cannot move");
    cr_expect_eq(run(MI, "Not A Ref", K, NULL), COL_OUT_NA);
    cr_expect_eq(run(MI, "nginx", 0, NULL), COL_OUT_NA);
    cr_expect_eq(run(MI, NULL, K, NULL), COL_OUT_NA);
    const struct col_check *k = col_checks_find(MI);
    cr_assert_not_null(k);
    cr_expect_eq(k->severity, COL_SEV_LOW);
}
