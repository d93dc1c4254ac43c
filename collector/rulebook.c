/* rulebook.c - built-in + operator rules, versioned snapshots (see rulebook.h).
 *
 * A snapshot is refcounted: the set in force holds one reference, every
 * reader one more. Reload builds the new set completely before it takes the
 * mutex, so readers never wait for file reads or regex compiles. It does
 * not watch the file: reloads come from SIGHUP (collector.c). */
#include "collector/rulebook.h"

#include "collector/embedded.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/fileutil.h"
#include "common/rules.h"
#include "common/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct col_rules_snap {
    struct col_rules rules; /* first: readers get &snap->rules */
    unsigned refs;
};

struct col_rulebook {
    char *path; /* operator file, NULL when none */
    pthread_mutex_t mu;
    struct col_rules_snap *cur;
    uint32_t version;
};

static int col_rules_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cm_rule *)a)->id, ((const struct cm_rule *)b)->id);
}

const struct cm_rule *col_rules_find(const struct col_rules *rules, const char *id)
{
    struct cm_rule key;
    if (!rules || !rules->policy.n || strlen(id) >= sizeof key.id) return NULL;
    snprintf(key.id, sizeof key.id, "%s", id);
    return bsearch(&key, rules->policy.rules, rules->policy.n, sizeof key, col_rules_cmp);
}

static int col_rules_parse_text(const char *name, const char *text, size_t len,
                                struct cm_policy *out, char *err, size_t errlen)
{
    char why[512] = "";
    int rc = cm_rules_parse(text, len, out, why, sizeof why);
    if (rc < 0) snprintf(err, errlen, "rules file %s: %s", name, why[0] ? why : cm_err_str(rc));
    return rc;
}

static int col_rules_parse_builtin(struct cm_policy *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < col_rule_files_count; i++)
        if (col_rule_files[i].name &&
            strcmp(col_rule_files[i].name, COL_RULEBOOK_BUILTIN_NAME) == 0)
            return col_rules_parse_text(COL_RULEBOOK_BUILTIN_NAME, col_rule_files[i].data,
                                        col_rule_files[i].len, out, err, errlen);
    memset(out, 0, sizeof *out); /* a build without rules/: no built-in rules */
    return 0;
}

static int col_rules_parse_file(const char *path, struct cm_policy *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int rc = cm_file_read(path, CM_RULES_FILE_MAX, &text, &len);
    if (rc < 0) {
        snprintf(err, errlen, "rules file %s: %s", path,
                 rc == CM_ETOOBIG  ? "larger than 4 MiB"
                 : rc == CM_EPARSE ? "not a regular text file"
                                   : cm_err_str(rc));
        return rc;
    }
    rc = col_rules_parse_text(path, text, len, out, err, errlen);
    free(text);
    return rc;
}

/* Moves the rules of base that op does not replace, then op's, into out
 * (sorted by id); base and op are left empty. */
static int col_rules_merge(struct cm_policy *base, struct cm_policy *op, struct col_rules *out,
                           const char *path, char *err, size_t errlen)
{
    if (base->n + op->n > CM_RULES_MAX) {
        snprintf(err, errlen, "rules file %s: more than %d rules with the built-in ones", path,
                 CM_RULES_MAX);
        return CM_ETOOBIG;
    }
    struct cm_rule *all = cm_xcalloc(base->n + op->n + 1, sizeof *all);
    size_t n = 0;
    if (op->n) qsort(op->rules, op->n, sizeof *op->rules, col_rules_cmp);
    for (size_t i = 0; i < base->n; i++) {
        if (op->n && bsearch(&base->rules[i], op->rules, op->n, sizeof *op->rules, col_rules_cmp)) {
            cm_rule_free(&base->rules[i]);
            continue;
        }
        all[n++] = base->rules[i];
        out->n_builtin++;
    }
    for (size_t i = 0; i < op->n; i++)
        all[n++] = op->rules[i];
    free(base->rules);
    free(op->rules);
    memset(base, 0, sizeof *base);
    memset(op, 0, sizeof *op);
    if (n) qsort(all, n, sizeof *all, col_rules_cmp);
    out->policy.rules = all;
    out->policy.n = n;
    return 0;
}

/* A complete new set (version not yet set), or an error in err. */
static int col_rules_load(const char *path, struct col_rules_snap **out, char *err, size_t errlen)
{
    struct cm_policy base = {0}, op = {0};
    struct col_rules_snap *snap = cm_xcalloc(1, sizeof *snap);
    int rc = col_rules_parse_builtin(&base, err, errlen);
    if (rc == 0 && path) rc = col_rules_parse_file(path, &op, err, errlen);
    if (rc == 0) rc = col_rules_merge(&base, &op, &snap->rules, path ? path : "", err, errlen);
    cm_policy_free(&base);
    cm_policy_free(&op);
    if (rc < 0) {
        free(snap);
        return rc;
    }
    snap->refs = 1;
    *out = snap;
    return 0;
}

static void col_rules_snap_unref(struct col_rules_snap *snap)
{
    if (!snap || --snap->refs > 0) return;
    cm_policy_free(&snap->rules.policy);
    free(snap);
}

/* Larger than every version before it, also those of earlier runs (which
 * used their own load times). */
static uint32_t col_rulebook_next_version(uint32_t prev)
{
    int64_t now = cm_time_now_ns() / CM_NS_PER_SEC;
    uint32_t v = now > 0 && now < UINT32_MAX ? (uint32_t)now : 0;
    return v > prev ? v : prev + 1;
}

int col_rulebook_new(const char *path, struct col_rulebook **out, char *err, size_t errlen)
{
    struct col_rules_snap *snap = NULL;
    const char *p = path && path[0] ? path : NULL;
    int rc = col_rules_load(p, &snap, err, errlen);
    if (rc < 0) return rc;
    struct col_rulebook *rb = cm_xcalloc(1, sizeof *rb);
    rb->path = p ? cm_xstrdup(p) : NULL;
    pthread_mutex_init(&rb->mu, NULL);
    rb->version = col_rulebook_next_version(0);
    snap->rules.policy.version = rb->version;
    rb->cur = snap;
    *out = rb;
    return 0;
}

int col_rulebook_reload(struct col_rulebook *rb, char *err, size_t errlen)
{
    struct col_rules_snap *snap = NULL, *old;
    int rc = col_rules_load(rb->path, &snap, err, errlen);
    if (rc < 0) return rc;
    pthread_mutex_lock(&rb->mu);
    rb->version = col_rulebook_next_version(rb->version);
    snap->rules.policy.version = rb->version;
    old = rb->cur;
    rb->cur = snap;
    col_rules_snap_unref(old);
    pthread_mutex_unlock(&rb->mu);
    return 0;
}

uint32_t col_rulebook_version(struct col_rulebook *rb)
{
    pthread_mutex_lock(&rb->mu);
    uint32_t v = rb->version;
    pthread_mutex_unlock(&rb->mu);
    return v;
}

const struct col_rules *col_rulebook_acquire(struct col_rulebook *rb)
{
    pthread_mutex_lock(&rb->mu);
    struct col_rules_snap *snap = rb->cur;
    snap->refs++;
    pthread_mutex_unlock(&rb->mu);
    return &snap->rules;
}

void col_rulebook_release(struct col_rulebook *rb, const struct col_rules *rules)
{
    if (!rules) return;
    pthread_mutex_lock(&rb->mu);
    col_rules_snap_unref((struct col_rules_snap *)(void *)rules);
    pthread_mutex_unlock(&rb->mu);
}

void col_rulebook_free(struct col_rulebook *rb)
{
    if (!rb) return;
    col_rules_snap_unref(rb->cur);
    pthread_mutex_destroy(&rb->mu);
    free(rb->path);
    free(rb);
}
