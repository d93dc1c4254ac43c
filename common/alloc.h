/* alloc.h - allocation that aborts on out-of-memory.
 *
 * A daemon that cannot allocate a few hundred bytes cannot do anything useful
 * or safe; aborting with a message beats a thousand untested error paths.
 * Sizes that come from outside must be capped *before* calling these. */
#ifndef CM_ALLOC_H
#define CM_ALLOC_H

#include <stddef.h>

void *cm_xmalloc(size_t n);
void *cm_xcalloc(size_t count, size_t size);
void *cm_xrealloc(void *p, size_t n);
char *cm_xstrdup(const char *s);
char *cm_xstrndup(const char *s, size_t n);

#endif
