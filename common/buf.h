/* buf.h - a growable byte buffer with a hard cap.
 *
 * Every buffer filled from outside data has a maximum; appending past it
 * fails with CM_ETOOBIG and leaves the buffer as it was. The data is always
 * NUL-terminated (not counted in len) so it can be used as a C string. */
#ifndef CM_BUF_H
#define CM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct cm_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len */
};

void cm_buf_init(struct cm_buf *b, size_t max);
int cm_buf_append(struct cm_buf *b, const void *p, size_t n);
int cm_buf_append_str(struct cm_buf *b, const char *s);
int cm_buf_printf(struct cm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cm_buf_vprintf(struct cm_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Empties the buffer, keeping its storage. */
void cm_buf_reset(struct cm_buf *b);
/* Releases the storage; the buffer may be appended to again afterwards. */
void cm_buf_close(struct cm_buf *b);
/* Hands the storage to the caller (free() it); the buffer is left empty. */
char *cm_buf_steal(struct cm_buf *b, size_t *len);

#endif
