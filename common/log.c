/* log.c - key=value line logger on stderr. */
#include "common/log.h"

#include "common/err.h"
#include "common/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum cm_log_level cm_log_min = CM_LOG_INFO;
static const char *const cm_level_names[] = {"debug", "info", "warn", "error"};

void cm_log_set_level(enum cm_log_level level)
{
    cm_log_min = level;
}

bool cm_log_is_enabled(enum cm_log_level level)
{
    return level >= cm_log_min;
}

int cm_log_level_parse(const char *s, enum cm_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, cm_level_names[i]) == 0) {
            *out = (enum cm_log_level)i;
            return 0;
        }
    }
    return CM_EPARSE;
}

/* Keeps a line one line: newlines and other control bytes become '?'. */
static void cm_log_sanitize(char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            s[i] = '?';
    }
}

void cm_log(enum cm_log_level level, const char *mod, const char *msg, const char *kv, ...)
{
    if (level < cm_log_min)
        return;
    if ((unsigned)level > CM_LOG_ERROR)
        level = CM_LOG_ERROR;
    char line[2048];
    char ts[40];
    cm_time_format_rfc3339(cm_time_now_ns(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "ts=%s level=%s mod=%s msg=\"%s\"", ts,
                     cm_level_names[level], mod, msg);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (kv && len < sizeof line - 2) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, kv);
        int m = vsnprintf(line + len, sizeof line - len, kv, ap);
        va_end(ap);
        if (m > 0)
            len += (size_t)m < sizeof line - len ? (size_t)m : sizeof line - len - 1;
    }
    cm_log_sanitize(line, len);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* nowhere left to report a failed log write */
}

bool cm_ratelimit_allow(struct cm_ratelimit *rl, unsigned burst, int64_t interval_ms,
                        unsigned *suppressed)
{
    int64_t now = cm_time_mono_ns() / 1000000;
    if (rl->window_start_ms == 0 || now - rl->window_start_ms >= interval_ms) {
        rl->window_start_ms = now;
        rl->count = 0;
    }
    if (rl->count < burst) {
        rl->count++;
        if (suppressed)
            *suppressed = rl->suppressed;
        rl->suppressed = 0;
        return true;
    }
    rl->suppressed++;
    return false;
}
