/* rules.c - the detection rules file (common/rules.h): JSON text in, a
 * validated cm_policy out, and back to JSON for the API.
 *
 * Every check a rule must pass lives here once (rules_check), used for the
 * collector's file and for a rule an agent receives in a Policy, so the two
 * can never disagree. Regular expressions are compiled with PCRE2 the way
 * the matcher compiles them (cm_rule_regex_compile) and thrown away again.
 * It does not read files, log, or match lines (agent/matcher.c). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "common/rules.h"

#include "common/alloc.h"
#include "common/err.h"

#include <cjson/cJSON.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RULES_TITLE_MAX 256
#define RULES_TAG_MAX 64
#define RULES_COUNT_MAX 100000u
#define RULES_WINDOW_MAX (7u * 86400)

static const char *const rules_severities[] = {"info", "low", "medium", "high", "critical"};

__attribute__((format(printf, 4, 5))) static int rules_fail(char *err, size_t errlen,
                                                            const char *who, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (err && errlen) snprintf(err, errlen, "%s: %s", who, why);
    return CM_EPARSE;
}

int cm_rule_regex_compile(const char *regex, struct pcre2_real_code_8 **out, char *err,
                          size_t errlen)
{
    int code = 0;
    PCRE2_SIZE off = 0;
    if (!regex || !*regex) return rules_fail(err, errlen, "regex", "empty");
    size_t len = strnlen(regex, CM_RULE_REGEX_MAX + 1);
    if (len > CM_RULE_REGEX_MAX)
        return rules_fail(err, errlen, "regex", "longer than %u bytes", CM_RULE_REGEX_MAX);
    /* \C could split a UTF-8 character: never allowed in a rule. */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)regex, len, PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C,
                                   &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(code, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "?");
        return rules_fail(err, errlen, "regex", "%s at offset %zu", (char *)msg, (size_t)off);
    }
    uint32_t minlen = 0;
    pcre2_pattern_info(re, PCRE2_INFO_MINLENGTH, &minlen);
    if (minlen == 0) {
        pcre2_code_free(re);
        return rules_fail(err, errlen, "regex",
                          "matches the empty string (it would flag every line)");
    }
    *out = re;
    return 0;
}

static bool rules_id_ok(const char *id)
{
    size_t n = strnlen(id, CM_RULE_ID_MAX + 1);
    if (n == 0 || n > CM_RULE_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
    }
    return true;
}

static bool rules_text_ok(const char *s, size_t max, bool spaces)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (!spaces && c == ' ')) return false;
    }
    return true;
}

static int rules_check_regex(const struct cm_rule *r, const char *who, char *err, size_t errlen)
{
    pcre2_code *re = NULL;
    char why[200];
    if (cm_rule_regex_compile(r->regex, &re, why, sizeof why) < 0)
        return rules_fail(err, errlen, who, "%s", why);
    int rc = 0;
    if (r->threshold.group_by) {
        int num = pcre2_substring_number_from_name(re, (PCRE2_SPTR)r->threshold.group_by);
        if (num < 0)
            rc = rules_fail(err, errlen, who,
                            "threshold.group_by '%.64s' is not a unique named group "
                            "of the regex",
                            r->threshold.group_by);
    }
    pcre2_code_free(re);
    return rc;
}

static int rules_check_threshold(const struct cm_rule_threshold *t, const char *who, char *err,
                                 size_t errlen)
{
    if (t->count == 0) {
        if (t->window_seconds || t->group_by)
            return rules_fail(err, errlen, who, "threshold: window or group_by without a count");
        return 0;
    }
    if (t->count > RULES_COUNT_MAX)
        return rules_fail(err, errlen, who, "threshold.count: must be 1..%u", RULES_COUNT_MAX);
    if (t->window_seconds == 0 || t->window_seconds > RULES_WINDOW_MAX)
        return rules_fail(err, errlen, who, "threshold.window_seconds: must be 1..%u",
                          RULES_WINDOW_MAX);
    if (t->group_by && !rules_text_ok(t->group_by, CM_RULE_ID_MAX, false))
        return rules_fail(err, errlen, who, "threshold.group_by: not a group name");
    return 0;
}

/* Everything but the id, reported under `who`. */
static int rules_check(const struct cm_rule *r, const char *who, char *err, size_t errlen)
{
    if (!rules_text_ok(r->title, RULES_TITLE_MAX, true))
        return rules_fail(err, errlen, who, "title: 1..%d printable characters", RULES_TITLE_MAX);
    bool sev = false;
    for (size_t i = 0; i < sizeof rules_severities / sizeof *rules_severities; i++)
        sev = sev || strcmp(r->severity, rules_severities[i]) == 0;
    if (!sev)
        return rules_fail(err, errlen, who,
                          "severity '%.15s': not info, low, medium, high or critical", r->severity);
    uint32_t known = ((1u << CM_LOG_SRC__COUNT) - 1) & ~(1u << CM_LOG_SRC_UNKNOWN);
    if (r->sources & ~known) return rules_fail(err, errlen, who, "sources: unknown source kind");
    int rc = rules_check_threshold(&r->threshold, who, err, errlen);
    if (rc < 0) return rc;
    if (r->tags.n > CM_RULE_TAGS_MAX)
        return rules_fail(err, errlen, who, "tags: more than %d", CM_RULE_TAGS_MAX);
    for (size_t i = 0; i < r->tags.n; i++) {
        if (!rules_text_ok(r->tags.v[i], RULES_TAG_MAX, false))
            return rules_fail(err, errlen, who, "tags[%zu]: 1..%d characters, no spaces", i,
                              RULES_TAG_MAX);
    }
    return rules_check_regex(r, who, err, errlen);
}

int cm_rule_validate(const struct cm_rule *r, char *err, size_t errlen)
{
    char who[CM_RULE_ID_MAX + 8];
    if (!rules_id_ok(r->id))
        return rules_fail(err, errlen, "rule",
                          "id: must match [A-Za-z0-9][A-Za-z0-9_.-]* (at most %d)", CM_RULE_ID_MAX);
    snprintf(who, sizeof who, "rule %s", r->id);
    return rules_check(r, who, err, errlen);
}

/* ---- JSON -> cm_rule ---- */

static const char *const rules_keys[] = {"id",    "title",     "severity", "sources",
                                         "regex", "threshold", "tags"};

static int rules_keys_check(const cJSON *o, const char *const *keys, size_t n, const char *who,
                            char *err, size_t errlen)
{
    for (const cJSON *k = o->child; k; k = k->next) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(k->string, keys[i]) == 0;
        if (!known) return rules_fail(err, errlen, who, "unknown key '%.64s'", k->string);
        for (const cJSON *d = o->child; d != k; d = d->next) {
            if (strcmp(d->string, k->string) == 0)
                return rules_fail(err, errlen, who, "duplicate key '%s'", k->string);
        }
    }
    return 0;
}

static int rules_json_u32(const cJSON *v, uint32_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 4294967295.0 ||
        v->valuedouble != (double)(uint32_t)v->valuedouble)
        return CM_EPARSE;
    *out = (uint32_t)v->valuedouble;
    return 0;
}

static int rules_json_threshold(const cJSON *t, struct cm_rule *r, const char *who, char *err,
                                size_t errlen)
{
    static const char *const keys[] = {"count", "window_seconds", "group_by"};
    if (!cJSON_IsObject(t)) return rules_fail(err, errlen, who, "threshold: not an object");
    int rc = rules_keys_check(t, keys, 3, who, err, errlen);
    if (rc < 0) return rc;
    if (rules_json_u32(cJSON_GetObjectItemCaseSensitive(t, "count"), &r->threshold.count) < 0 ||
        r->threshold.count == 0)
        return rules_fail(err, errlen, who, "threshold.count: must be 1..%u", RULES_COUNT_MAX);
    if (rules_json_u32(cJSON_GetObjectItemCaseSensitive(t, "window_seconds"),
                       &r->threshold.window_seconds) < 0)
        return rules_fail(err, errlen, who, "threshold.window_seconds: must be 1..%u",
                          RULES_WINDOW_MAX);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(t, "group_by");
    if (g && !cJSON_IsString(g))
        return rules_fail(err, errlen, who, "threshold.group_by: not a string");
    if (g) r->threshold.group_by = cm_xstrndup(g->valuestring, CM_RULE_ID_MAX + 1);
    return 0;
}

static int rules_json_sources(const cJSON *s, struct cm_rule *r, const char *who, char *err,
                              size_t errlen)
{
    if (!cJSON_IsArray(s) || !s->child)
        return rules_fail(err, errlen, who,
                          "sources: a non-empty array of names (leave it out "
                          "for every source)");
    for (const cJSON *e = s->child; e; e = e->next) {
        enum cm_log_source_kind k;
        if (!cJSON_IsString(e) || cm_log_source_kind_parse(e->valuestring, &k) < 0)
            return rules_fail(err, errlen, who,
                              "sources: '%.32s' is not container, auth, syslog, "
                              "kernel or file",
                              cJSON_IsString(e) ? e->valuestring : "(not a string)");
        r->sources |= 1u << k;
    }
    return 0;
}

static int rules_json_tags(const cJSON *t, struct cm_rule *r, const char *who, char *err,
                           size_t errlen)
{
    if (!cJSON_IsArray(t)) return rules_fail(err, errlen, who, "tags: not an array");
    size_t i = 0;
    for (const cJSON *e = t->child; e; e = e->next, i++) {
        if (i >= CM_RULE_TAGS_MAX)
            return rules_fail(err, errlen, who, "tags: more than %d", CM_RULE_TAGS_MAX);
        if (!cJSON_IsString(e) || !rules_text_ok(e->valuestring, RULES_TAG_MAX, false))
            return rules_fail(err, errlen, who, "tags[%zu]: 1..%d characters, no spaces", i,
                              RULES_TAG_MAX);
        cm_strv_push(&r->tags, e->valuestring);
    }
    return 0;
}

static int rules_json_string(const cJSON *o, const char *key, size_t max, char **out,
                             const char *who, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v)) return rules_fail(err, errlen, who, "%s: missing or not a string", key);
    if (strnlen(v->valuestring, max + 1) > max)
        return rules_fail(err, errlen, who, "%s: longer than %zu bytes", key, max);
    *out = cm_xstrdup(v->valuestring);
    return 0;
}

/* One rule object; `who` is "rules[i]" until the id is known to be good. */
static int rules_json_rule(const cJSON *o, size_t idx, struct cm_rule *r, char *err, size_t errlen)
{
    char who[CM_RULE_ID_MAX + 16];
    char *sev = NULL;
    snprintf(who, sizeof who, "rules[%zu]", idx);
    if (!cJSON_IsObject(o)) return rules_fail(err, errlen, who, "not an object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(id) || !rules_id_ok(id->valuestring))
        return rules_fail(err, errlen, who,
                          "id: missing or not [A-Za-z0-9][A-Za-z0-9_.-]* "
                          "(at most %d)",
                          CM_RULE_ID_MAX);
    snprintf(r->id, sizeof r->id, "%s", id->valuestring);
    snprintf(who, sizeof who, "rule %s", r->id);
    int rc =
        rules_keys_check(o, rules_keys, sizeof rules_keys / sizeof *rules_keys, who, err, errlen);
    if (rc < 0) return rc;
    if ((rc = rules_json_string(o, "title", RULES_TITLE_MAX, &r->title, who, err, errlen)) < 0 ||
        (rc = rules_json_string(o, "severity", sizeof r->severity - 1, &sev, who, err, errlen)) <
            0 ||
        (rc = rules_json_string(o, "regex", CM_RULE_REGEX_MAX, &r->regex, who, err, errlen)) < 0)
        goto out;
    snprintf(r->severity, sizeof r->severity, "%s", sev);
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "sources")) &&
        (rc = rules_json_sources(v, r, who, err, errlen)) < 0)
        goto out;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "threshold")) &&
        (rc = rules_json_threshold(v, r, who, err, errlen)) < 0)
        goto out;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "tags")) &&
        (rc = rules_json_tags(v, r, who, err, errlen)) < 0)
        goto out;
    rc = rules_check(r, who, err, errlen);
out:
    free(sev);
    return rc;
}

static int rules_parse_array(const cJSON *arr, struct cm_policy *p, char *err, size_t errlen)
{
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > CM_RULES_MAX)
        return rules_fail(err, errlen, "rules", "more than %d rules", CM_RULES_MAX);
    p->rules = cm_xcalloc(n ? n : 1, sizeof *p->rules);
    for (const cJSON *o = arr->child; o; o = o->next) {
        struct cm_rule *r = &p->rules[p->n++];
        int rc = rules_json_rule(o, p->n - 1, r, err, errlen);
        if (rc < 0) return rc;
        for (size_t j = 0; j + 1 < p->n; j++) {
            if (strcmp(p->rules[j].id, r->id) == 0) {
                char who[CM_RULE_ID_MAX + 8];
                snprintf(who, sizeof who, "rule %s", r->id);
                return rules_fail(err, errlen, who, "duplicate id (also rules[%zu])", j);
            }
        }
    }
    return 0;
}

int cm_rules_parse(const char *json, size_t len, struct cm_policy *out, char *err, size_t errlen)
{
    struct cm_policy p = {0};
    cJSON *doc = NULL;
    int rc;
    memset(out, 0, sizeof *out);
    if (len > CM_RULES_FILE_MAX) {
        rc = rules_fail(err, errlen, "rules", "file larger than %u bytes", CM_RULES_FILE_MAX);
        goto out;
    }
    doc = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(doc)) {
        rc = rules_fail(err, errlen, "rules", "not a JSON object");
        goto out;
    }
    static const char *const top[] = {"rules"};
    if ((rc = rules_keys_check(doc, top, 1, "rules", err, errlen)) < 0) goto out;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "rules");
    if (!cJSON_IsArray(arr)) {
        rc = rules_fail(err, errlen, "rules", "missing \"rules\" array");
        goto out;
    }
    if ((rc = rules_parse_array(arr, &p, err, errlen)) < 0) goto out;
    *out = p;
    memset(&p, 0, sizeof p);
out:
    cm_policy_free(&p);
    cJSON_Delete(doc);
    return rc;
}

/* ---- cm_policy -> JSON ---- */

static cJSON *rules_rule_json(const struct cm_rule *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    bool ok = cJSON_AddStringToObject(o, "id", r->id) &&
              cJSON_AddStringToObject(o, "title", r->title ? r->title : "") &&
              cJSON_AddStringToObject(o, "severity", r->severity);
    if (ok && r->sources) {
        cJSON *s = cJSON_AddArrayToObject(o, "sources");
        for (int k = CM_LOG_SRC_UNKNOWN + 1; s && k < CM_LOG_SRC__COUNT; k++) {
            if (r->sources & (1u << k))
                ok = ok && cJSON_AddItemToArray(s, cJSON_CreateString(cm_log_source_kind_name(k)));
        }
        ok = ok && s;
    }
    ok = ok && cJSON_AddStringToObject(o, "regex", r->regex ? r->regex : "");
    if (ok && r->threshold.count) {
        cJSON *t = cJSON_AddObjectToObject(o, "threshold");
        ok = t && cJSON_AddNumberToObject(t, "count", r->threshold.count) &&
             cJSON_AddNumberToObject(t, "window_seconds", r->threshold.window_seconds) &&
             (!r->threshold.group_by ||
              cJSON_AddStringToObject(t, "group_by", r->threshold.group_by));
    }
    cJSON *tags = ok ? cJSON_AddArrayToObject(o, "tags") : NULL;
    for (size_t i = 0; tags && i < r->tags.n; i++)
        ok = ok && cJSON_AddItemToArray(tags, cJSON_CreateString(r->tags.v[i]));
    if (!ok || !tags) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *cm_rules_to_json(const struct cm_policy *p)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = doc ? cJSON_AddArrayToObject(doc, "rules") : NULL;
    if (!arr) goto fail;
    for (size_t i = 0; i < p->n; i++) {
        cJSON *r = rules_rule_json(&p->rules[i]);
        if (!r || !cJSON_AddItemToArray(arr, r)) {
            cJSON_Delete(r);
            goto fail;
        }
    }
    return doc;
fail:
    cJSON_Delete(doc);
    return NULL;
}
