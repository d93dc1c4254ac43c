/* timeutil.h - clocks and RFC 3339 timestamps (UTC). */
#ifndef CM_TIMEUTIL_H
#define CM_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define CM_NS_PER_SEC INT64_C(1000000000)

int64_t cm_time_now_ns(void);  /* wall clock, ns since the epoch */
int64_t cm_time_mono_ns(void); /* monotonic clock */

/* Days from 1970-01-01 to y-m-d (m 1..12) in the proleptic Gregorian
 * calendar; no range check, the caller validates the date. */
int64_t cm_time_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Writes e.g. "2026-11-23T13:00:00.123456Z" (microsecond precision, trailing
 * zeros kept). Needs 32 bytes. Returns 0 or CM_ETOOBIG. */
int cm_time_format_rfc3339(int64_t ns, char *out, size_t outlen);

/* Parses RFC 3339 ("2026-11-23T13:00:00Z", "...T13:00:00.5+02:00") or a plain
 * integer of seconds since the epoch. Returns 0 or CM_EPARSE/CM_ERANGE. */
int cm_time_parse(const char *s, int64_t *out_ns);

#endif
