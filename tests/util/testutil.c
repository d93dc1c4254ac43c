/* testutil.c - helpers for tests: corpus/fixture paths, temp dirs, files. */
#define _XOPEN_SOURCE 700
#include "tests/util/testutil.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tu_corpus_path(const char *rel)
{
    static char path[4096];
    const char *root = getenv("BOXWATCH_CORPUS_DIR");
    if (!root || !*root)
        return NULL;
    struct stat st;
    if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))
        return NULL;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return path;
}

const char *tu_fixture_path(const char *rel)
{
    static char path[4096];
    const char *root = getenv("BOXWATCH_FIXTURES");
    snprintf(path, sizeof path, "%s/%s", root ? root : "tests/fixtures", rel);
    return path;
}

const char *tu_source_path(const char *rel)
{
    static char path[4096];
    const char *root = getenv("BOXWATCH_SOURCE_DIR");
    const char *cut = strstr(__FILE__, "/tests/util/");
    if (root && *root)
        snprintf(path, sizeof path, "%s/%s", root, rel);
    else if (cut)
        snprintf(path, sizeof path, "%.*s/%s", (int)(cut - __FILE__), __FILE__, rel);
    else
        snprintf(path, sizeof path, "%s", rel);
    return path;
}

char *tu_mkdtemp(void)
{
    char tmpl[] = "/tmp/bwtest.XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static int tu_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int tu_rm_rf(const char *path)
{
    return nftw(path, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int tu_mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0755);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

int tu_write_file(const char *dir, const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (tu_mkdirs(path) < 0)
        return -1;
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -errno;
}

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
