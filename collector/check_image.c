/* check_image.c - image references split the way Docker reads them
 * (registry, repository, tag, digest), and the two checks built on that:
 * untrusted_registry (the collector's allowed_registries policy) and
 * mutable_image (a tag instead of a digest).
 *
 * Parsing follows distribution/reference's normalisation: no registry
 * means docker.io, a one-component name on docker.io is in "library/", no
 * tag and no digest means :latest, and the first component is a registry
 * only when it holds "." or ":", is "localhost", or has upper case. It is
 * a validator of names Docker would accept, not a full grammar: what it
 * rejects, the checks report as unparseable rather than guess. */
#include "collector/checks_int.h"

#include "common/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define REF_MAX 1024 /* name 255 + tag 128 + digest: anything longer is not a reference */

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) return false;
    return true;
}

static bool is_image_id(const char *ref)
{
    if (strncmp(ref, "sha256:", 7) == 0) ref += 7;
    return strlen(ref) == 64 && all_hex(ref, 64);
}

/* algorithm ":" encoded; sha256 must be 64 lower-case hex digits. */
static bool digest_valid(const char *s)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s) return false;
    for (const char *p = s; p < colon; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("+._-", *p))
            return false;
    size_t n = strlen(colon + 1);
    if ((size_t)(colon - s) == 6 && strncmp(s, "sha256", 6) == 0)
        return n == 64 && all_hex(colon + 1, n);
    if (n < 32) return false;
    for (size_t i = 1; i <= n; i++)
        if (!isalnum((unsigned char)colon[i]) && !strchr("=_-", colon[i])) return false;
    return true;
}

static bool tag_valid(const char *s, size_t n)
{
    if (n == 0 || n > 128 || s[0] == '.' || s[0] == '-') return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

/* Path components of lower-case letters, digits and separators (. _ -),
 * each starting and ending with a letter or digit. */
static bool path_valid(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '/') {
            if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
                !strchr("._-", s[i]))
                return false;
            continue;
        }
        if (i == start || !isalnum((unsigned char)s[start]) || !isalnum((unsigned char)s[i - 1]))
            return false;
        start = i + 1;
    }
    return true;
}

static bool domain_valid(const char *s, size_t n)
{
    if (n == 0 || n >= COL_IMAGE_REGISTRY_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".-:[]", s[i])) return false;
    return true;
}

/* Whether the first component of a name is a registry (distribution's
 * splitDockerDomain). */
static bool looks_like_domain(const char *s, size_t n)
{
    if (n == 9 && strncmp(s, "localhost", 9) == 0) return true;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == ':' || isupper((unsigned char)s[i])) return true;
    return false;
}

/* Splits name (n bytes, no tag or digest) into registry and repository. */
static int split_name(const char *name, size_t n, struct col_image_ref *out)
{
    const char *slash = memchr(name, '/', n);
    const char *path = name;
    size_t pn = n;
    if (slash && looks_like_domain(name, (size_t)(slash - name))) {
        size_t dn = (size_t)(slash - name);
        if (!domain_valid(name, dn)) return CM_EPARSE;
        if (dn == 15 && strncasecmp(name, "index.docker.io", 15) == 0)
            snprintf(out->registry, sizeof out->registry, "docker.io");
        else
            snprintf(out->registry, sizeof out->registry, "%.*s", (int)dn, name);
        path = slash + 1;
        pn = n - dn - 1;
    } else {
        snprintf(out->registry, sizeof out->registry, "docker.io");
    }
    if (pn == 0 || n > COL_IMAGE_REPO_MAX - 1 || !path_valid(path, pn)) return CM_EPARSE;
    bool library = strcmp(out->registry, "docker.io") == 0 && !memchr(path, '/', pn);
    snprintf(out->repository, sizeof out->repository, "%s%.*s", library ? "library/" : "", (int)pn,
             path);
    return 0;
}

int col_image_ref_parse(const char *ref, struct col_image_ref *out)
{
    memset(out, 0, sizeof *out);
    if (!ref || !*ref || strlen(ref) > REF_MAX) return CM_EPARSE;
    if (is_image_id(ref)) {
        out->is_id = true;
        snprintf(out->digest, sizeof out->digest, "sha256:%s", ref + (ref[6] == ':' ? 7 : 0));
        return 0;
    }
    size_t n = strcspn(ref, "@");
    if (ref[n] == '@') {
        if (strlen(ref + n + 1) >= sizeof out->digest || !digest_valid(ref + n + 1))
            return CM_EPARSE;
        snprintf(out->digest, sizeof out->digest, "%s", ref + n + 1);
    }
    /* A ':' after the last '/' starts the tag ("localhost:5000/a" has none). */
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++) {
        if (ref[i] == ':')
            colon = ref + i;
        else if (ref[i] == '/')
            colon = NULL;
    }
    if (colon) {
        size_t tn = n - (size_t)(colon + 1 - ref);
        if (!tag_valid(colon + 1, tn)) return CM_EPARSE;
        snprintf(out->tag, sizeof out->tag, "%.*s", (int)tn, colon + 1);
        n = (size_t)(colon - ref);
    }
    out->implicit_tag = !out->tag[0] && !out->digest[0];
    return split_name(ref, n, out);
}

bool col_image_ref_allowed_by(const struct col_image_ref *ref, const char *entry)
{
    if (!ref || ref->is_id || !entry) return false;
    size_t n = strlen(entry);
    while (n > 0 && entry[n - 1] == '/')
        n--;
    size_t rn = strcspn(entry, "/");
    if (rn > n) rn = n;
    bool hub = rn == 15 && strncasecmp(entry, "index.docker.io", 15) == 0;
    if (rn == 0 ||
        (hub ? strcmp(ref->registry, "docker.io") != 0
             : strlen(ref->registry) != rn || strncasecmp(entry, ref->registry, rn) != 0))
        return false;
    if (rn == n) return true;
    const char *ns = entry + rn + 1;
    size_t nn = n - rn - 1;
    return strncmp(ref->repository, ns, nn) == 0 &&
           (ref->repository[nn] == '\0' || ref->repository[nn] == '/');
}

static bool policy_set(const struct col_check_policy *p)
{
    return p && p->allowed_registries && p->allowed_registries->n > 0;
}

enum col_outcome col_chk_untrusted_registry(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    const struct cm_strlist *allowed = policy_set(x->policy) ? x->policy->allowed_registries : NULL;
    struct col_image_ref r;
    if (!allowed || !(c->known & CM_INV_K_IMAGE) || !c->image || !*c->image) return COL_OUT_NA;
    if (col_image_ref_parse(c->image, &r) != 0) {
        col_detail_add(d, "image reference \"%s\" could not be parsed", c->image);
        return COL_OUT_FAIL;
    }
    if (r.is_id) {
        col_detail_add(d, "image referenced by id only (%s): its registry cannot be told",
                       c->image);
        return COL_OUT_FAIL;
    }
    for (size_t i = 0; i < allowed->n; i++)
        if (col_image_ref_allowed_by(&r, allowed->items[i])) return COL_OUT_PASS;
    col_detail_add(d, "%s/%s: registry %s is not in allowed_registries", r.registry, r.repository,
                   r.registry);
    return COL_OUT_FAIL;
}

enum col_outcome col_chk_mutable_image(const struct col_check_ctx *x, struct col_detail *d)
{
    const struct cm_container_inv *c = x->c;
    struct col_image_ref r;
    if (!(c->known & CM_INV_K_IMAGE) || !c->image || !*c->image ||
        col_image_ref_parse(c->image, &r) != 0)
        return COL_OUT_NA;
    if (r.is_id || r.digest[0]) return COL_OUT_PASS;
    if (r.implicit_tag)
        col_detail_add(d, "\"%s\": no tag (implicit :latest) and no digest", c->image);
    else if (strcmp(r.tag, "latest") == 0)
        col_detail_add(d, "\"%s\": :latest without a digest", c->image);
    else
        col_detail_add(d, "\"%s\": tag %s without a digest", c->image, r.tag);
    return COL_OUT_FAIL;
}
