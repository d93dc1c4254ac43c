/* cid.c - container id and runtime from a cgroup path: built-in naming rules
 * of the common runtimes, and user patterns compiled with regcomp().
 *
 * Matching looks at the last path component and its parent only, so the
 * rules hold wherever a runtime's parent cgroup sits (cgroup-parent options,
 * nested slices). It does no I/O and never logs. */
#include "agent/cid.h"

#include "common/alloc.h"
#include "common/err.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AG_CID_HEX_LEN 64

struct ag_cid_pattern {
    regex_t re;
    enum cm_runtime runtime;
};

struct ag_cid {
    struct ag_cid_pattern *pats;
    size_t n;
};

static bool is_hex64(const char *s, size_t n)
{
    if (n != AG_CID_HEX_LEN) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    return n >= pl && memcmp(s, prefix, pl) == 0;
}

static bool comp_is(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static void set_match(struct ag_cid_match *m, enum cm_runtime rt, const char *id, size_t n)
{
    m->runtime = rt;
    memcpy(m->id, id, n);
    m->id[n] = '\0';
}

/* True when some component of path[0, end) starts with "kubepods". */
static bool under_kubepods(const char *path, size_t end)
{
    for (size_t i = 0; i < end; i++) {
        if (path[i] == '/' && has_prefix(path + i + 1, end - i - 1, "kubepods")) return true;
    }
    return false;
}

/* "<prefix><64hex>" optionally followed by ".scope". */
static bool scoped_id(const char *c, size_t n, const char *prefix, bool scope_required,
                      const char **id)
{
    if (!has_prefix(c, n, prefix)) return false;
    size_t pl = strlen(prefix), rest = n - pl;
    if (rest == AG_CID_HEX_LEN + 6 && memcmp(c + pl + AG_CID_HEX_LEN, ".scope", 6) == 0)
        rest = AG_CID_HEX_LEN;
    else if (scope_required)
        return false;
    if (!is_hex64(c + pl, rest)) return false;
    *id = c + pl;
    return true;
}

bool ag_cid_match_builtin(const char *path, struct ag_cid_match *m)
{
    static const struct {
        const char *prefix;
        bool scope_required;
        enum cm_runtime rt;
    } scoped[] = {
        {"docker-", true, CM_RT_DOCKER},
        {"cri-containerd-", true, CM_RT_CONTAINERD},
        {"crio-", false, CM_RT_CRIO},
        {"libpod-", false, CM_RT_PODMAN},
    };
    const char *last = strrchr(path, '/');
    if (!last) return false;
    const char *c = last + 1;
    size_t n = strlen(c);
    const char *id;
    for (size_t i = 0; i < sizeof(scoped) / sizeof(scoped[0]); i++) {
        if (scoped_id(c, n, scoped[i].prefix, scoped[i].scope_required, &id)) {
            set_match(m, scoped[i].rt, id, AG_CID_HEX_LEN);
            return true;
        }
    }
    if (!is_hex64(c, n) || last == path) return false;
    size_t pend = (size_t)(last - path), pstart = pend;
    while (pstart > 0 && path[pstart - 1] != '/')
        pstart--;
    const char *p = path + pstart;
    size_t pn = pend - pstart;
    enum cm_runtime rt;
    if (comp_is(p, pn, "docker"))
        rt = CM_RT_DOCKER;
    else if (comp_is(p, pn, "k8s.io") || comp_is(p, pn, "default"))
        rt = CM_RT_CONTAINERD;
    else if (has_prefix(p, pn, "pod") && under_kubepods(path, pstart))
        rt = CM_RT_CONTAINERD;
    else
        return false;
    set_match(m, rt, c, n);
    return true;
}

/* Splits "RUNTIME=REGEX": a leading run of lowercase letters followed by '='
 * names the runtime. Anything else is a bare regex. */
static int split_pattern(const char *pat, enum cm_runtime *rt, const char **re, char *err,
                         size_t errlen)
{
    size_t i = 0;
    while (pat[i] >= 'a' && pat[i] <= 'z')
        i++;
    *rt = CM_RT_CUSTOM;
    *re = pat;
    if (i == 0 || pat[i] != '=') return 0;
    char name[32];
    if (i < sizeof(name)) {
        memcpy(name, pat, i);
        name[i] = '\0';
    }
    if (i >= sizeof(name) || cm_runtime_parse(name, rt) < 0 || *rt == CM_RT_UNKNOWN) {
        snprintf(err, errlen,
                 "container pattern \"%s\": unknown runtime \"%.*s\" (use docker, containerd, "
                 "crio, podman or custom)",
                 pat, (int)i, pat);
        return CM_ECONFIG;
    }
    *re = pat + i + 1;
    return 0;
}

static int compile_one(const char *pat, struct ag_cid_pattern *out, char *err, size_t errlen)
{
    const char *re;
    int rc = split_pattern(pat, &out->runtime, &re, err, errlen);
    if (rc < 0) return rc;
    int rrc = regcomp(&out->re, re, REG_EXTENDED);
    if (rrc != 0) {
        char why[128];
        regerror(rrc, &out->re, why, sizeof(why));
        snprintf(err, errlen, "container pattern \"%s\": %s", pat, why);
        return CM_ECONFIG;
    }
    if (out->re.re_nsub < 1) {
        regfree(&out->re);
        snprintf(err, errlen, "container pattern \"%s\": needs a capture group for the id", pat);
        return CM_ECONFIG;
    }
    return 0;
}

int ag_cid_new(const struct cm_strlist *patterns, struct ag_cid **out, char *err, size_t errlen)
{
    struct ag_cid *c = cm_xcalloc(1, sizeof(*c));
    size_t n = patterns ? patterns->n : 0;
    int rc = 0;
    if (n > 0) c->pats = cm_xcalloc(n, sizeof(*c->pats));
    for (size_t i = 0; i < n; i++) {
        rc = compile_one(patterns->items[i], &c->pats[i], err, errlen);
        if (rc < 0) goto out;
        c->n++;
    }
    *out = c;
    c = NULL;
out:
    ag_cid_free(c);
    return rc;
}

void ag_cid_free(struct ag_cid *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++)
        regfree(&c->pats[i].re);
    free(c->pats);
    free(c);
}

bool ag_cid_match(const struct ag_cid *c, const char *path, struct ag_cid_match *m)
{
    for (size_t i = 0; c && i < c->n; i++) {
        regmatch_t pm[2];
        if (regexec(&c->pats[i].re, path, 2, pm, 0) != 0 || pm[1].rm_so < 0) continue;
        size_t len = (size_t)(pm[1].rm_eo - pm[1].rm_so);
        if (len == 0 || len > CM_CONTAINER_ID_MAX) continue;
        set_match(m, c->pats[i].runtime, path + pm[1].rm_so, len);
        return true;
    }
    return ag_cid_match_builtin(path, m);
}
