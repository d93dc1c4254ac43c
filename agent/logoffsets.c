/* logoffsets.c - load, update and durably save the tailer's offset table.
 *
 * Format (text, one entry a line, the path last because it may hold
 * spaces; a newline in a path is stored as '?', the path is informational):
 *   boxwatch-log-offsets 1
 *   <dev>:<inode> <offset> <last seen, unix seconds> <path>
 */
#include "agent/logoffsets.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/fileutil.h"
#include "common/parse.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AG_LOGOFF_HEADER "boxwatch-log-offsets 1\n"
#define AG_LOGOFF_KEY_MAX 47
#define AG_LOGOFF_PATH_MAX 4096
_Static_assert(AG_LOGOFF_KEY_MAX + 1 == 48, "ag_logoffsets_keys_at hands out char[48] keys");
#define AG_LOGOFF_FILE_MAX ((size_t)AG_LOGOFFSETS_MAX * (AG_LOGOFF_PATH_MAX / 8))

struct ag_logoff_entry {
    char key[AG_LOGOFF_KEY_MAX + 1];
    uint64_t offset;
    int64_t seen_ns;
    char *path;
};

struct ag_logoffsets {
    char *path, *tmp_path;
    struct ag_logoff_entry *e;
    size_t n, cap;
};

static bool ag_logoff_key_ok(const char *k, size_t n)
{
    const char *colon = memchr(k, ':', n);
    uint64_t v;
    if (n == 0 || n > AG_LOGOFF_KEY_MAX || !colon) return false;
    return cm_parse_u64(k, (size_t)(colon - k), &v) == 0 &&
           cm_parse_u64(colon + 1, n - (size_t)(colon - k) - 1, &v) == 0;
}

static struct ag_logoff_entry *ag_logoff_find(const struct ag_logoffsets *o, const char *key)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->e[i].key, key) == 0) return &o->e[i];
    return NULL;
}

static void ag_logoff_set_path(struct ag_logoff_entry *e, const char *path, size_t n)
{
    if (n > AG_LOGOFF_PATH_MAX) n = AG_LOGOFF_PATH_MAX;
    free(e->path);
    e->path = cm_xstrndup(path, n);
    for (char *p = e->path; *p; p++)
        if (*p == '\n') *p = '?';
}

/* A new entry; at the cap, the one seen longest ago makes room. */
static struct ag_logoff_entry *ag_logoff_add(struct ag_logoffsets *o, const char *key, size_t kn)
{
    if (o->n == AG_LOGOFFSETS_MAX) {
        size_t old = 0;
        for (size_t i = 1; i < o->n; i++)
            if (o->e[i].seen_ns < o->e[old].seen_ns) old = i;
        free(o->e[old].path);
        o->e[old] = o->e[--o->n];
    }
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 16;
        o->e = cm_xrealloc(o->e, o->cap * sizeof *o->e);
    }
    struct ag_logoff_entry *e = &o->e[o->n++];
    memset(e, 0, sizeof *e);
    memcpy(e->key, key, kn);
    e->key[kn] = '\0';
    e->path = cm_xstrdup("");
    return e;
}

/* "<key> <offset> <seen> <path>"; a malformed line is skipped. */
static void ag_logoff_parse_line(struct ag_logoffsets *o, const char *s, size_t n)
{
    const char *f[3];
    size_t fl[3];
    const char *p = s, *end = s + n;
    for (int i = 0; i < 3; i++) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        if (!sp) return;
        f[i] = p;
        fl[i] = (size_t)(sp - p);
        p = sp + 1;
    }
    uint64_t off, seen;
    if (!ag_logoff_key_ok(f[0], fl[0]) || cm_parse_u64(f[1], fl[1], &off) < 0 ||
        cm_parse_u64(f[2], fl[2], &seen) < 0 || seen > (uint64_t)(INT64_MAX / CM_NS_PER_SEC))
        return;
    char key[AG_LOGOFF_KEY_MAX + 1];
    memcpy(key, f[0], fl[0]);
    key[fl[0]] = '\0';
    struct ag_logoff_entry *e = ag_logoff_find(o, key);
    if (!e) e = ag_logoff_add(o, key, fl[0]);
    e->offset = off;
    e->seen_ns = (int64_t)seen * CM_NS_PER_SEC;
    ag_logoff_set_path(e, p, (size_t)(end - p));
}

static int ag_logoff_read(const char *path, char **text, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno == ENOENT ? CM_ENOTFOUND : -errno;
    int rc = 0;
    struct cm_buf b;
    cm_buf_init(&b, AG_LOGOFF_FILE_MAX);
    char chunk[8192];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = -errno;
            goto out;
        }
        if (r == 0) break;
        if ((rc = cm_buf_append(&b, chunk, (size_t)r)) < 0) goto out;
    }
    *len = b.len;
    *text = cm_buf_steal(&b, len);
out:
    cm_buf_close(&b);
    close(fd);
    return rc;
}

static char *ag_logoff_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = cm_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int ag_logoffsets_open(const char *state_dir, struct ag_logoffsets **out)
{
    struct ag_logoffsets *o = cm_xcalloc(1, sizeof *o);
    char *text = NULL;
    size_t len = 0;
    o->path = ag_logoff_join(state_dir, AG_LOGOFFSETS_FILE);
    o->tmp_path = ag_logoff_join(state_dir, AG_LOGOFFSETS_FILE ".tmp");
    int rc = ag_logoff_read(o->path, &text, &len);
    if (rc == CM_ENOTFOUND) rc = 0;
    else if (rc == 0 && (len < strlen(AG_LOGOFF_HEADER) ||
                         memcmp(text, AG_LOGOFF_HEADER, strlen(AG_LOGOFF_HEADER)) != 0))
        rc = CM_EPARSE;
    if (rc < 0) goto out;
    for (size_t i = text ? strlen(AG_LOGOFF_HEADER) : 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        if (nl) ag_logoff_parse_line(o, text + i, n); /* an unterminated tail is torn */
        i += n + 1;
    }
    *out = o;
    o = NULL;
out:
    free(text);
    ag_logoffsets_free(o);
    return rc;
}

void ag_logoffsets_free(struct ag_logoffsets *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->n; i++) free(o->e[i].path);
    free(o->e);
    free(o->path);
    free(o->tmp_path);
    free(o);
}

int ag_logoffsets_get(const struct ag_logoffsets *o, const char *key, uint64_t *offset)
{
    const struct ag_logoff_entry *e = ag_logoff_find(o, key);
    if (!e) return CM_ENOTFOUND;
    *offset = e->offset;
    return 0;
}

bool ag_logoffsets_has_path(const struct ag_logoffsets *o, const char *path)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->e[i].path, path) == 0) return true;
    return false;
}

size_t ag_logoffsets_keys_at(const struct ag_logoffsets *o, const char *path, char (*keys)[48],
                             size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < o->n && n < max; i++)
        if (strcmp(o->e[i].path, path) == 0) memcpy(keys[n++], o->e[i].key, 48);
    return n;
}

int ag_logoffsets_set(struct ag_logoffsets *o, const char *key, const char *path,
                      uint64_t offset, int64_t now_ns)
{
    size_t kn = strlen(key);
    if (!ag_logoff_key_ok(key, kn)) return CM_EPARSE;
    struct ag_logoff_entry *e = ag_logoff_find(o, key);
    if (!e) e = ag_logoff_add(o, key, kn);
    e->offset = offset;
    e->seen_ns = now_ns;
    if (path) ag_logoff_set_path(e, path, strlen(path));
    return 0;
}

void ag_logoffsets_seen(struct ag_logoffsets *o, const char *key, const char *path,
                        int64_t now_ns)
{
    struct ag_logoff_entry *e = ag_logoff_find(o, key);
    if (!e) return;
    e->seen_ns = now_ns;
    if (path && strcmp(path, e->path) != 0) ag_logoff_set_path(e, path, strlen(path));
}

int ag_logoffsets_save(struct ag_logoffsets *o, int64_t now_ns)
{
    struct cm_buf b;
    cm_buf_init(&b, AG_LOGOFF_FILE_MAX);
    int rc = cm_buf_append_str(&b, AG_LOGOFF_HEADER);
    for (size_t i = 0; i < o->n && rc == 0;) {
        struct ag_logoff_entry *e = &o->e[i];
        if (now_ns - e->seen_ns > AG_LOGOFFSETS_KEEP_NS) {
            free(e->path);
            o->e[i] = o->e[--o->n];
            continue;
        }
        int64_t seen = e->seen_ns > 0 ? e->seen_ns / CM_NS_PER_SEC : 0;
        rc = cm_buf_printf(&b, "%s %llu %lld %s\n", e->key, (unsigned long long)e->offset,
                           (long long)seen, e->path);
        i++;
    }
    if (rc == 0) rc = cm_file_replace(o->path, o->tmp_path, 0600, b.data, b.len);
    cm_buf_close(&b);
    return rc;
}

unsigned ag_logoffsets_count(const struct ag_logoffsets *o)
{
    return (unsigned)o->n;
}
