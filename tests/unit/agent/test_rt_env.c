/* test_rt_env.c - ag_env_classify: secret-looking names (whole parts, the
 * shell's PWD and *_FILE pointers left alone), each value shape with its
 * near misses, that an empty value is never a secret, that the reason
 * never holds the value, and that huge adversarial values stay cheap. */
#include "agent/rt.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

TestSuite(rt_env, .timeout = 30);

struct env_case {
    const char *name, *value, *reason; /* reason NULL: not a secret */
};

static void check(const struct env_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char reason[64];
        memset(reason, 'Z', sizeof reason);
        bool got = ag_env_classify(cases[i].name, cases[i].value, reason, sizeof reason);
        cr_expect_eq(got, cases[i].reason != NULL, "%s=%s", cases[i].name,
                     cases[i].value ? cases[i].value : "(none)");
        if (cases[i].reason && got) cr_expect_str_eq(reason, cases[i].reason, "%s", cases[i].name);
        if (!got) cr_expect_str_eq(reason, "", "%s: reason cleared", cases[i].name);
        if (got && cases[i].value && strlen(cases[i].value) >= 4)
            cr_expect_null(strstr(reason, cases[i].value), "the value leaked into the reason");
    }
}

Test(rt_env, names)
{
    static const struct env_case cases[] = {
        {"PASSWORD", "x", "name:PASSWORD"},
        {"db_password", "x", "name:PASSWORD"},
        {"MYSQL_ROOT_PASSWORD", "hunter2", "name:PASSWORD"},
        {"DB_PASSWD", "x", "name:PASSWD"},
        {"SMTP_PASS", "x", "name:PASS"},
        {"GPG_PASSPHRASE", "x", "name:PASSPHRASE"},
        {"DB_PWD", "x", "name:PWD"},
        {"SECRET_KEY_BASE", "x", "name:SECRET"},
        {"AWS_SECRET_ACCESS_KEY", "xyz", "name:SECRET"},
        {"GITHUB_TOKEN", "x", "name:TOKEN"},
        {"API_KEY", "x", "name:API_KEY"},
        {"STRIPE_APIKEY", "x", "name:APIKEY"},
        {"x-api-key", "x", "name:API_KEY"},
        {"MINIO_ACCESS_KEY", "x", "name:ACCESS_KEY"},
        {"SSH_PRIVATE_KEY", "x", "name:PRIVATE_KEY"},
        {"GOOGLE_APPLICATION_CREDENTIALS", "x", "name:CREDENTIALS"},
        {"BASIC_AUTH", "user:pw", "name:AUTH"},
        {"app.secret", "x", "name:SECRET"},
        /* near misses */
        {"PWD", "/srv", NULL},
        {"OLDPWD", "/", NULL},
        {"AUTHOR", "me", NULL},
        {"SECRETARY", "me", NULL},
        {"MONKEY", "x", NULL},
        {"KEYBOARD", "us", NULL},
        {"PASSPORT_ID", "x", NULL},
        {"DB_PASSWORD_FILE", "/run/secrets/db", NULL},
        {"TOKEN_PATH", "/var/run/secrets/token", NULL},
        {"HOME", "/root", NULL},
        {"PATH", "/bin", NULL},
        {"", "x", NULL},
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

Test(rt_env, empty_and_missing_values)
{
    static const struct env_case cases[] = {
        {"MYSQL_ROOT_PASSWORD", "", NULL},              /* empty: nothing to leak */
        {"MYSQL_ROOT_PASSWORD", NULL, "name:PASSWORD"}, /* bare NAME: value unknown */
        {"PATH", NULL, NULL},
        {NULL, "AKIAIOSFODNN7EXAMPLE", "value:aws-access-key-id"},
        {NULL, NULL, NULL},
    };
    check(cases, sizeof cases / sizeof cases[0]);
    /* reason may be NULL or too short */
    cr_expect(ag_env_classify("PASSWORD", "x", NULL, 0));
    char tiny[4];
    cr_expect(ag_env_classify("PASSWORD", "x", tiny, sizeof tiny));
    cr_expect_str_eq(tiny, "nam");
}

Test(rt_env, aws_keys)
{
    static const struct env_case cases[] = {
        {"K", "AKIAIOSFODNN7EXAMPLE", "value:aws-access-key-id"},
        {"K", "ASIAIOSFODNN7EXAMPLE", "value:aws-access-key-id"},
        {"K", "id=AKIAIOSFODNN7EXAMPLE;secret=x", "value:aws-access-key-id"},
        {"K", "xAKIAIOSFODNN7EXAMPLE", NULL}, /* inside a word */
        {"K", "AKIAIOSFODNN7EXAMPL", NULL},   /* 15 after the prefix */
        {"K", "AKIAIOSFODNN7EXAMPLEX", NULL}, /* 17 */
        {"K", "AKIAiosfodnn7example", NULL},  /* lower case */
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

Test(rt_env, private_keys)
{
    static const struct env_case cases[] = {
        {"K", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
         "value:private-key"},
        {"K", "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXk=", "value:private-key"},
        {"K", "-----BEGIN ENCRYPTED PRIVATE KEY-----", "value:private-key"},
        {"K", "-----BEGIN PRIVATE KEY-----", "value:private-key"},
        {"K", "-----BEGIN CERTIFICATE-----\nMIIB", NULL},
        {"K", "-----BEGIN PUBLIC KEY-----\nMIIB", NULL},
        {"K", "PRIVATE KEY-----", NULL},
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

Test(rt_env, tokens)
{
    static const struct env_case cases[] = {
        {"K", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "value:jwt"},
        {"K", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "value:jwt"},
        {"K", "eyJhbGciOiJIUzI1NiJ9", NULL},
        {"K", "eyJa.eyJb", NULL},
        {"K", "eyJa.xyz.eyJb.c", NULL},
        {"K", "ghp_0123456789abcdefghijABCDEFGHIJ012345", "value:github-token"},
        {"K", "gho_0123456789abcdefghijABCDEFGHIJ012345", "value:github-token"},
        {"K", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "value:github-token"},
        {"K", "ghp_short", NULL},
        {"K", "xghp_0123456789abcdefghijABCDEFGHIJ012345", NULL},
        {"K", "xoxb-1234567890-abcdef", "value:slack-token"},
        {"K", "xoxp-1234567890-abcdef", "value:slack-token"},
        {"K", "xoxz-1234567890-abcdef", NULL},
        {"K", "xoxb-123", NULL},
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

Test(rt_env, url_credentials)
{
    static const struct env_case cases[] = {
        {"DATABASE_URL", "postgres://app:s3cr3t@db:5432/app", "value:url-credentials"},
        {"REDIS_URL", "redis://:pw@cache:6379/0", "value:url-credentials"},
        {"U", "amqp+ssl://u:p@mq", "value:url-credentials"},
        {"U", "https://user@host/path", NULL},
        {"U", "https://user:@host/path", NULL},
        {"U", "http://proxy:3128", NULL},
        {"U", "mailto:someone@example.com", NULL},
        {"U", "https://example.com/a:b@c", NULL},
        {"U", "://a:b@c", NULL},
        {"U", "https://a:b@", NULL},
    };
    check(cases, sizeof cases / sizeof cases[0]);
}

Test(rt_env, adversarial_values_stay_cheap)
{
    static const char *const units[] = {
        "github_pat_", "eyJ.", "eyJa.eyJ", "://a:", "AKIA", "-----BEGIN ", "xoxb-"};
    size_t n = 4 * 1024 * 1024;
    char *v = malloc(n + 1);
    clock_t start = clock();
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t k = strlen(units[u]);
        for (size_t i = 0; i < n; i++)
            v[i] = units[u][i % k];
        v[n] = '\0';
        ag_env_classify("NOTES", v, NULL, 0);
    }
    double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
    cr_expect_lt(secs, 5.0, "%.2f s for 7 values of 4 MiB", secs);
    free(v);
}
