/* log.h - one line per event on stderr, as key=value pairs.
 *
 *   ts=2026-11-23T13:00:00.123Z level=warn mod=cgroup msg="cannot read stat file" path=/x err=...
 *
 * The caller gives the module, a fixed message and optional printf-style
 * key=value pairs. Control characters in the output are replaced so that a
 * hostile string from a log file or the wire cannot forge a log line. Never
 * pass secrets or file contents. Thread-safe (one write(2) per line). */
#ifndef CM_LOG_H
#define CM_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum cm_log_level { CM_LOG_DEBUG = 0, CM_LOG_INFO, CM_LOG_WARN, CM_LOG_ERROR };

void cm_log_set_level(enum cm_log_level level);
bool cm_log_is_enabled(enum cm_log_level level);
/* Parses "debug", "info", "warn", "error". */
int cm_log_level_parse(const char *s, enum cm_log_level *out);

/* kv may be NULL; otherwise a printf format producing "key=value ..." pairs. */
void cm_log(enum cm_log_level level, const char *mod, const char *msg, const char *kv, ...)
    __attribute__((format(printf, 4, 5)));

#define cm_debug(mod, msg, ...) cm_log(CM_LOG_DEBUG, mod, msg, __VA_ARGS__)
#define cm_info(mod, msg, ...) cm_log(CM_LOG_INFO, mod, msg, __VA_ARGS__)
#define cm_warn(mod, msg, ...) cm_log(CM_LOG_WARN, mod, msg, __VA_ARGS__)
#define cm_error(mod, msg, ...) cm_log(CM_LOG_ERROR, mod, msg, __VA_ARGS__)

/* Rate limit for failures that can repeat every tick: at most `burst` lines
 * per `interval_ms`; the next allowed line reports how many were suppressed. */
struct cm_ratelimit {
    int64_t window_start_ms;
    unsigned count;
    unsigned suppressed;
};

/* Returns true when a line may be written; *suppressed (may be NULL) is set to
 * the number of lines dropped since the last allowed one. */
bool cm_ratelimit_allow(struct cm_ratelimit *rl, unsigned burst, int64_t interval_ms,
                        unsigned *suppressed);

#endif
