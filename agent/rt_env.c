/* rt_env.c - whether an environment variable looks like a secret, from its
 * name and the shape of its value (ag_env_classify in rt.h).
 *
 * It only answers yes/no with a reason naming the rule ("name:PASSWORD",
 * "value:jwt"); it never copies, logs or returns any part of the value.
 * The scans are linear and look at most at the first AG_ENV_SCAN_MAX bytes
 * of a value, so a multi-megabyte value costs no more than a short one.
 * It does not decode base64 or follow *_FILE indirections. */
#include "agent/rt.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define AG_ENV_SCAN_MAX (64u * 1024)

/* Whole name parts (split on '_', '-', '.'), compared case-insensitively.
 * PASS and PASSPHRASE are there because DB_PASS and SMTP_PASS
 * are as common as DB_PASSWORD. */
static const char *const ag_env_words[] = {
    "PASSWORD", "PASSWORDS", "PASSWD", "PASS",   "PASSPHRASE", "PWD",         "SECRET",
    "SECRETS",  "TOKEN",     "TOKENS", "APIKEY", "CREDENTIAL", "CREDENTIALS", "AUTH",
};

/* Two consecutive parts: API_KEY, ACCESS_KEY, PRIVATE_KEY. */
static const char *const ag_env_pairs[][2] = {
    {"API", "KEY"},
    {"ACCESS", "KEY"},
    {"PRIVATE", "KEY"},
};

static bool ag_env_part_is(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(p, word, n) == 0;
}

static bool ag_env_is_sep(char ch)
{
    return ch == '_' || ch == '-' || ch == '.';
}

/* Splits name into at most 32 parts (start, length). */
static size_t ag_env_split(const char *name, const char **part, size_t *plen, size_t max)
{
    size_t n = 0;
    const char *p = name;
    while (*p && n < max) {
        while (ag_env_is_sep(*p))
            p++;
        if (!*p) break;
        const char *s = p;
        while (*p && !ag_env_is_sep(*p))
            p++;
        part[n] = s;
        plen[n++] = (size_t)(p - s);
    }
    return n;
}

static bool ag_env_name_secret(const char *name, char *what, size_t whatlen)
{
    const char *part[32];
    size_t plen[32];
    size_t n = ag_env_split(name, part, plen, 32);
    /* PWD alone is the shell's working directory, not a password. */
    if (n == 1 && ag_env_part_is(part[0], plen[0], "PWD")) return false;
    /* MYSQL_PASSWORD_FILE=/run/secrets/db names where a secret is kept
     * (the practice the images recommend); it does not hold one. */
    if (n > 1 && (ag_env_part_is(part[n - 1], plen[n - 1], "FILE") ||
                  ag_env_part_is(part[n - 1], plen[n - 1], "PATH")))
        return false;
    for (size_t i = 0; i < n; i++) {
        for (size_t w = 0; w < sizeof ag_env_words / sizeof ag_env_words[0]; w++) {
            if (ag_env_part_is(part[i], plen[i], ag_env_words[w])) {
                snprintf(what, whatlen, "%s", ag_env_words[w]);
                return true;
            }
        }
        for (size_t w = 0; i + 1 < n && w < sizeof ag_env_pairs / sizeof ag_env_pairs[0]; w++) {
            if (ag_env_part_is(part[i], plen[i], ag_env_pairs[w][0]) &&
                ag_env_part_is(part[i + 1], plen[i + 1], ag_env_pairs[w][1])) {
                snprintf(what, whatlen, "%s_%s", ag_env_pairs[w][0], ag_env_pairs[w][1]);
                return true;
            }
        }
    }
    return false;
}

static bool ag_env_upper_digit(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool ag_env_alnum(char ch)
{
    return ag_env_upper_digit(ch) || (ch >= 'a' && ch <= 'z');
}

static bool ag_env_b64url(char ch)
{
    return ag_env_alnum(ch) || ch == '_' || ch == '-';
}

/* Length of the run of chars at p (up to end) for which ok() holds. */
static size_t ag_env_run(const char *p, const char *end, bool (*ok)(char))
{
    const char *s = p;
    while (p < end && ok(*p))
        p++;
    return (size_t)(p - s);
}

/* The same, counting no further than max: "at least N" tests stay linear
 * when candidates overlap (github_pat_github_pat_...). */
static size_t ag_env_run_max(const char *p, const char *end, bool (*ok)(char), size_t max)
{
    size_t room = (size_t)(end - p);
    return ag_env_run(p, room > max ? p + max : end, ok);
}

static bool ag_env_starts(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* An AWS access key id: AKIA (long-term) or ASIA (temporary) and 16 upper
 * case letters or digits, standing alone. */
static bool ag_env_aws_key(const char *v, const char *end)
{
    for (const char *p = v; p + 20 <= end; p++) {
        if (!ag_env_starts(p, end, "AKIA") && !ag_env_starts(p, end, "ASIA")) continue;
        if (p > v && ag_env_alnum(p[-1])) continue;
        if (ag_env_run_max(p + 4, end, ag_env_upper_digit, 17) == 16) return true;
    }
    return false;
}

/* "-----BEGIN RSA PRIVATE KEY-----" and kin, also with literal "\n". */
static bool ag_env_pem_key(const char *v, const char *end)
{
    for (const char *p = v; (p = memmem(p, (size_t)(end - p), "-----BEGIN ", 11)) != NULL; p++) {
        size_t room = (size_t)(end - p) < 80 ? (size_t)(end - p) : 80;
        if (memmem(p, room, "PRIVATE KEY-----", 16)) return true;
    }
    return false;
}

/* A JWT: eyJ<b64url>.eyJ<b64url>.<b64url>. After a failed candidate the
 * scan resumes past the segment that failed it: any "eyJ" inside that
 * segment would fail the same way, which keeps the scan linear. */
static bool ag_env_jwt(const char *v, const char *end)
{
    const char *p = v;
    while ((p = memmem(p, (size_t)(end - p), "eyJ", 3)) != NULL) {
        const char *q = p + ag_env_run(p, end, ag_env_b64url);
        if (q >= end || *q != '.' || !ag_env_starts(q + 1, end, "eyJ")) {
            p = q > p ? q : p + 1;
            continue;
        }
        const char *r = q + 1 + ag_env_run(q + 1, end, ag_env_b64url);
        if (r < end && *r == '.') return true;
        p = r;
    }
    return false;
}

static bool ag_env_github(const char *v, const char *end)
{
    static const char *const pre[] = {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"};
    for (const char *p = v; p < end; p++) {
        if (*p != 'g' || (p > v && ag_env_alnum(p[-1]))) continue;
        for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
            if (ag_env_starts(p, end, pre[i]) && ag_env_run_max(p + 4, end, ag_env_alnum, 30) >= 30)
                return true;
        if (ag_env_starts(p, end, "github_pat_") &&
            ag_env_run_max(p + 11, end, ag_env_b64url, 20) >= 20)
            return true;
    }
    return false;
}

static bool ag_env_slack_char(char ch)
{
    return ag_env_alnum(ch) || ch == '-';
}

static bool ag_env_slack(const char *v, const char *end)
{
    for (const char *p = v; (p = memmem(p, (size_t)(end - p), "xox", 3)) != NULL; p++) {
        if (p + 4 < end && p[3] && strchr("bpas", p[3]) && p[4] == '-' &&
            ag_env_run_max(p + 5, end, ag_env_slack_char, 10) >= 10)
            return true;
    }
    return false;
}

static bool ag_env_scheme_char(char ch)
{
    return ag_env_alnum(ch) || ch == '+' || ch == '.' || ch == '-';
}

/* scheme://user:password@host with a non-empty password (user may be
 * empty: redis://:pw@host). The userinfo ends at '/', so scans of two
 * "://" never overlap. */
static bool ag_env_url_creds(const char *v, const char *end)
{
    for (const char *p = v; (p = memmem(p, (size_t)(end - p), "://", 3)) != NULL; p += 3) {
        if (p == v || !ag_env_scheme_char(p[-1])) continue;
        const char *u = p + 3, *colon = NULL;
        while (u < end && *u != '@' && *u != '/' && *u != '?' && *u != '#' && *u != ' ') {
            if (*u == ':' && !colon) colon = u;
            u++;
        }
        if (u < end && *u == '@' && colon && colon + 1 < u && u + 1 < end && u[1] != '/')
            return true;
    }
    return false;
}

static const char *ag_env_value_secret(const char *value)
{
    size_t n = strnlen(value, AG_ENV_SCAN_MAX);
    const char *end = value + n;
    if (ag_env_aws_key(value, end)) return "aws-access-key-id";
    if (ag_env_pem_key(value, end)) return "private-key";
    if (ag_env_jwt(value, end)) return "jwt";
    if (ag_env_github(value, end)) return "github-token";
    if (ag_env_slack(value, end)) return "slack-token";
    if (ag_env_url_creds(value, end)) return "url-credentials";
    return NULL;
}

bool ag_env_classify(const char *name, const char *value, char *reason, size_t reasonlen)
{
    char what[32];
    const char *shape;
    if (reason && reasonlen) reason[0] = '\0';
    /* An empty value holds no secret, whatever the name says. A missing
     * value (a bare NAME in a create request) is unknown: judged by name. */
    if (value && !value[0]) return false;
    if (name && ag_env_name_secret(name, what, sizeof what)) {
        if (reason && reasonlen) snprintf(reason, reasonlen, "name:%s", what);
        return true;
    }
    if (value && (shape = ag_env_value_secret(value)) != NULL) {
        if (reason && reasonlen) snprintf(reason, reasonlen, "value:%s", shape);
        return true;
    }
    return false;
}
