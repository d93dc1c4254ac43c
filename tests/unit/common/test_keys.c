/* test_keys.c - CURVE key generation and key files on a real filesystem. */
#include "common/err.h"
#include "common/keys.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;
static char path[512];

static void setup(void)
{
    dir = tu_mkdtemp();
    cr_assert_not_null(dir);
    snprintf(path, sizeof path, "%s/agent.key", dir);
}

static void teardown(void)
{
    tu_rm_rf(dir);
    free(dir);
}

TestSuite(keys, .init = setup, .fini = teardown, .timeout = 10);

Test(keys, generate_gives_z85_pairs)
{
    struct cm_keypair a, b;
    cr_assert_eq(cm_keys_generate(&a), 0);
    cr_assert_eq(cm_keys_generate(&b), 0);
    cr_assert(cm_keys_is_z85(a.public_z85));
    cr_assert(cm_keys_is_z85(a.secret_z85));
    cr_assert_str_neq(a.secret_z85, b.secret_z85);
    cr_assert_not(cm_keys_is_z85("short"));
    cr_assert_not(cm_keys_is_z85(NULL));
    char bad[41];
    memset(bad, 'a', 40);
    bad[40] = '\0';
    cr_assert(cm_keys_is_z85(bad));
    bad[3] = '"';
    cr_assert_not(cm_keys_is_z85(bad), "'\"' is not in the Z85 alphabet");
}

Test(keys, secret_written_0600_and_read_back)
{
    struct cm_keypair kp, back;
    char err[256];
    cr_assert_eq(cm_keys_generate(&kp), 0);
    cr_assert_eq(cm_keys_write_secret(path, &kp, err, sizeof err), 0, "%s", err);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
    cr_assert_eq(cm_keys_read_secret(path, &back, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(back.public_z85, kp.public_z85);
    cr_assert_str_eq(back.secret_z85, kp.secret_z85);
    char pub[CM_KEY_Z85_LEN + 1];
    cr_assert_eq(cm_keys_read_public(path, pub, err, sizeof err), 0, "public from secret file");
    cr_assert_str_eq(pub, kp.public_z85);

    /* Rewriting over a file that had a loose mode leaves it 0600. */
    chmod(path, 0644);
    cr_assert_eq(cm_keys_write_secret(path, &kp, err, sizeof err), 0);
    stat(path, &st);
    cr_assert_eq(st.st_mode & 07777, 0600);
}

Test(keys, public_file_round_trip)
{
    struct cm_keypair kp;
    char err[256], pub[CM_KEY_Z85_LEN + 1];
    cm_keys_generate(&kp);
    cr_assert_eq(cm_keys_write_public(path, kp.public_z85, err, sizeof err), 0);
    cr_assert_eq(cm_keys_read_public(path, pub, err, sizeof err), 0);
    cr_assert_str_eq(pub, kp.public_z85);
    struct cm_keypair none;
    cr_assert_eq(cm_keys_read_secret(path, &none, err, sizeof err), CM_EPERM,
                 "a 0644 public file is not a secret file");
    cr_assert_eq(cm_keys_write_public(path, "not\na key", err, sizeof err), CM_EPARSE);
}

Test(keys, refuses_group_readable_secret)
{
    struct cm_keypair kp, back;
    char err[256] = "";
    cm_keys_generate(&kp);
    cr_assert_eq(cm_keys_write_secret(path, &kp, err, sizeof err), 0);
    cr_assert_eq(chmod(path, 0644), 0);
    memset(&back, 0, sizeof back);
    cr_assert_eq(cm_keys_read_secret(path, &back, err, sizeof err), CM_EPERM);
    cr_assert_not_null(strstr(err, "0644"), "error names the mode: %s", err);
    cr_assert_not_null(strstr(err, path), "error names the file: %s", err);
    cr_assert_str_empty(back.secret_z85, "nothing read");
    chmod(path, 0640);
    cr_assert_eq(cm_keys_read_secret(path, &back, err, sizeof err), CM_EPERM);
}

static int read_text(const char *text, struct cm_keypair *kp)
{
    char err[256];
    cr_assert_eq(tu_write_file(dir, "agent.key", text), 0);
    chmod(path, 0600);
    return cm_keys_read_secret(path, kp, err, sizeof err);
}

Test(keys, malformed_files)
{
    struct cm_keypair kp, other, back;
    char text[512];
    cm_keys_generate(&kp);
    cm_keys_generate(&other);
    cr_assert_eq(read_text("", &back), CM_EPARSE);
    cr_assert_eq(read_text("garbage\n", &back), CM_EPARSE);
    snprintf(text, sizeof text, "public=%s\n", kp.public_z85);
    cr_assert_eq(read_text(text, &back), CM_EPARSE, "no secret line");
    snprintf(text, sizeof text, "public=%s\nsecret=%.39s\n", kp.public_z85, kp.secret_z85);
    cr_assert_eq(read_text(text, &back), CM_EPARSE, "short secret");
    snprintf(text, sizeof text, "public=%s\nsecret=%s\n", other.public_z85, kp.secret_z85);
    cr_assert_eq(read_text(text, &back), CM_EPARSE, "public key of another pair");
    snprintf(text, sizeof text, "secret=%s\r\npublic=%s\r\n", kp.secret_z85, kp.public_z85);
    cr_assert_eq(read_text(text, &back), 0, "CRLF and any order are fine");
    cr_assert_str_eq(back.secret_z85, kp.secret_z85);
    char big[2048];
    memset(big, '#', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(text, sizeof text, "public=%s\nsecret=%s\n", kp.public_z85, kp.secret_z85);
    memcpy(big, text, strlen(text));
    cr_assert_eq(read_text(big, &back), CM_EPARSE, "oversized file");
    char err[256];
    cr_assert_lt(cm_keys_read_secret("/nonexistent/key", &back, err, sizeof err), 0);
    cr_assert_lt(cm_keys_read_secret(dir, &back, err, sizeof err), 0, "a directory");
}
