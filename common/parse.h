/* parse.h - strict number and duration parsing for text from outside.
 *
 * Unlike atoi/strtoul these reject empty input, signs where none belong,
 * trailing garbage and overflow. They never log; they return an error. */
#ifndef CM_PARSE_H
#define CM_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits only, exactly `len` bytes. CM_EPARSE or CM_ERANGE on error. */
int cm_parse_u64(const char *s, size_t len, uint64_t *out);
/* Optional leading '-', then digits. */
int cm_parse_i64(const char *s, size_t len, int64_t *out);
/* "250ms", "10s", "5m", "1h", "2d", or a bare number of seconds. */
int cm_parse_duration_ms(const char *s, uint64_t *out_ms);

#endif
