/* alloc.c - aborting allocator wrappers. */
#include "common/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cm_oom(size_t n)
{
    fprintf(stderr, "level=fatal mod=alloc msg=\"out of memory\" bytes=%zu\n", n);
    abort();
}

void *cm_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        cm_oom(n);
    return p;
}

void *cm_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        cm_oom(count * size);
    return p;
}

void *cm_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        cm_oom(n);
    return q;
}

char *cm_xstrdup(const char *s)
{
    return cm_xstrndup(s, strlen(s));
}

char *cm_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = cm_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
