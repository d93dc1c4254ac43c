/* timeutil.c - clocks and RFC 3339 formatting/parsing without locale or TZ. */
#include "common/timeutil.h"

#include "common/err.h"
#include "common/parse.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t cm_time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * CM_NS_PER_SEC + ts.tv_nsec;
}

int64_t cm_time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CM_NS_PER_SEC + ts.tv_nsec;
}

int cm_time_format_rfc3339(int64_t ns, char *out, size_t outlen)
{
    int64_t sec = ns / CM_NS_PER_SEC;
    int64_t frac = ns % CM_NS_PER_SEC;
    if (frac < 0) {
        frac += CM_NS_PER_SEC;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) return CM_ERANGE;
    int n =
        snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(frac / 1000));
    if (n < 0 || (size_t)n >= outlen) return CM_ETOOBIG;
    return 0;
}

int64_t cm_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int cm_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static int cm_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return CM_EPARSE;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int cm_parse_offset(const char *p, int64_t *off_sec)
{
    if (*p == 'Z' || *p == 'z') {
        *off_sec = 0;
        return p[1] == '\0' ? 0 : CM_EPARSE;
    }
    if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':') return CM_EPARSE;
    int hh, mm;
    if (cm_digits(p + 1, 2, &hh) < 0 || cm_digits(p + 4, 2, &mm) < 0 || hh > 23 || mm > 59)
        return CM_EPARSE;
    *off_sec = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
    return 0;
}

int cm_time_parse(const char *s, int64_t *out_ns)
{
    size_t len = strlen(s);
    if (len > 0 && len <= 12 && s[0] != '-') {
        uint64_t secs;
        if (cm_parse_u64(s, len, &secs) == 0) {
            if (secs > (uint64_t)(INT64_MAX / CM_NS_PER_SEC)) return CM_ERANGE;
            *out_ns = (int64_t)secs * CM_NS_PER_SEC;
            return 0;
        }
    }
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return CM_EPARSE;
    int y, mo, d, h, mi, se;
    if (cm_digits(s, 4, &y) < 0 || cm_digits(s + 5, 2, &mo) < 0 || cm_digits(s + 8, 2, &d) < 0 ||
        cm_digits(s + 11, 2, &h) < 0 || cm_digits(s + 14, 2, &mi) < 0 ||
        cm_digits(s + 17, 2, &se) < 0)
        return CM_EPARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > cm_days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
        return CM_ERANGE;
    const char *p = s + 19;
    int64_t frac_ns = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        int64_t scale = 100000000;
        while (*p >= '0' && *p <= '9') {
            if (digits < 9) frac_ns += (*p - '0') * scale;
            scale /= 10;
            digits++;
            p++;
        }
        if (digits == 0 || digits > 18) return CM_EPARSE;
    }
    int64_t off;
    if (cm_parse_offset(p, &off) < 0) return CM_EPARSE;
    int64_t days = cm_time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - off;
    /* int64 nanoseconds span 1677..2262; years 0000..9999 parse but overflow. */
    if (secs < INT64_MIN / CM_NS_PER_SEC + 1 || secs > INT64_MAX / CM_NS_PER_SEC - 1)
        return CM_ERANGE;
    *out_ns = secs * CM_NS_PER_SEC + frac_ns;
    return 0;
}
