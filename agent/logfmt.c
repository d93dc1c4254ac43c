/* logfmt.c - Docker json-file and CRI record decoders, line timestamps and
 * the UTF-8 sanitizer. Pure: no allocation, no logging, no file access. The
 * json-file scanner is a small hand-written one because a record cut at the
 * tailer's cap must still give its text, which a whole-document parser would
 * reject. */
#include "agent/logfmt.h"

#include "common/err.h"
#include "common/timeutil.h"

#include <string.h>
#include <time.h>

#define AG_LOGFMT_TS_MAX 64 /* longest timestamp token accepted */
#define AG_LOGFMT_DEPTH_MAX 64

struct ag_jscan {
    const char *p, *end;
};

/* Where unescaped string bytes go: out[0..cap), counting everything. */
struct ag_jsink {
    char *out;
    size_t cap;
    size_t n;     /* bytes decoded, written or not */
    char last;    /* last decoded byte */
};

static void ag_jsink_put(struct ag_jsink *k, char c)
{
    if (k->out && k->n < k->cap) k->out[k->n] = c;
    k->n++;
    k->last = c;
}

static void ag_jsink_put_cp(struct ag_jsink *k, uint32_t cp)
{
    if (cp < 0x80) {
        ag_jsink_put(k, (char)cp);
    } else if (cp < 0x800) {
        ag_jsink_put(k, (char)(0xC0 | (cp >> 6)));
        ag_jsink_put(k, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        ag_jsink_put(k, (char)(0xE0 | (cp >> 12)));
        ag_jsink_put(k, (char)(0x80 | ((cp >> 6) & 0x3F)));
        ag_jsink_put(k, (char)(0x80 | (cp & 0x3F)));
    } else {
        ag_jsink_put(k, (char)(0xF0 | (cp >> 18)));
        ag_jsink_put(k, (char)(0x80 | ((cp >> 12) & 0x3F)));
        ag_jsink_put(k, (char)(0x80 | ((cp >> 6) & 0x3F)));
        ag_jsink_put(k, (char)(0x80 | (cp & 0x3F)));
    }
}

static void ag_jscan_ws(struct ag_jscan *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
        j->p++;
}

static int ag_jscan_hex4(struct ag_jscan *j, uint32_t *out)
{
    if (j->end - j->p < 4) return CM_EPARSE;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = j->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return CM_EPARSE;
    }
    j->p += 4;
    *out = v;
    return 0;
}

/* After "\u": one code point, joining a surrogate pair; a lone surrogate
 * becomes U+FFFD. */
static int ag_jscan_unicode(struct ag_jscan *j, struct ag_jsink *k)
{
    uint32_t cp, lo;
    if (ag_jscan_hex4(j, &cp) < 0) return CM_EPARSE;
    if (cp >= 0xD800 && cp <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' &&
        j->p[1] == 'u') {
        struct ag_jscan save = *j;
        j->p += 2;
        if (ag_jscan_hex4(j, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
            ag_jsink_put_cp(k, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
            return 0;
        }
        *j = save;
    }
    ag_jsink_put_cp(k, (cp >= 0xD800 && cp <= 0xDFFF) ? 0xFFFD : cp);
    return 0;
}

/* At the opening quote: decodes the string into k. Returns 1 when the input
 * ended inside the string, 0 at its closing quote, CM_EPARSE on a bad escape. */
static int ag_jscan_string(struct ag_jscan *j, struct ag_jsink *k)
{
    j->p++; /* the quote */
    while (j->p < j->end) {
        char c = *j->p++;
        if (c == '"') return 0;
        if (c != '\\') {
            ag_jsink_put(k, c);
            continue;
        }
        if (j->p >= j->end) return 1;
        c = *j->p++;
        switch (c) {
        case '"': case '\\': case '/': ag_jsink_put(k, c); break;
        case 'b': ag_jsink_put(k, '\b'); break;
        case 'f': ag_jsink_put(k, '\f'); break;
        case 'n': ag_jsink_put(k, '\n'); break;
        case 'r': ag_jsink_put(k, '\r'); break;
        case 't': ag_jsink_put(k, '\t'); break;
        case 'u':
            if (ag_jscan_unicode(j, k) < 0) return j->p + 4 > j->end ? 1 : CM_EPARSE;
            break;
        default: return CM_EPARSE;
        }
    }
    return 1;
}

/* Skips one value of any kind (nested objects and arrays included). */
static int ag_jscan_skip(struct ag_jscan *j)
{
    int depth = 0;
    do {
        ag_jscan_ws(j);
        if (j->p >= j->end) return CM_EPARSE;
        char c = *j->p;
        if (c == '"') {
            struct ag_jsink k = {0};
            if (ag_jscan_string(j, &k) != 0) return CM_EPARSE;
        } else if (c == '{' || c == '[') {
            if (++depth > AG_LOGFMT_DEPTH_MAX) return CM_EPARSE;
            j->p++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return CM_EPARSE;
            depth--;
            j->p++;
        } else if (c == ',' || c == ':') {
            if (depth == 0) return CM_EPARSE;
            j->p++;
        } else {
            const char *s = j->p;
            while (j->p < j->end && strchr(",:{}[] \t\r\n\"", *j->p) == NULL) j->p++;
            if (j->p == s) return CM_EPARSE;
        }
    } while (depth > 0);
    return 0;
}

/* A short string value into buf (NUL-terminated); too long = not kept. */
static int ag_jscan_short(struct ag_jscan *j, char *buf, size_t cap, bool *fits)
{
    if (j->p >= j->end || *j->p != '"') return CM_EPARSE;
    struct ag_jsink k = {.out = buf, .cap = cap - 1};
    if (ag_jscan_string(j, &k) != 0) return CM_EPARSE;
    *fits = k.n <= cap - 1;
    buf[*fits ? k.n : 0] = '\0';
    return 0;
}

static int ag_jscan_member(struct ag_jscan *j, struct ag_jsink *log, bool *got_log,
                           struct ag_logfmt_rec *rec)
{
    char key[16], val[AG_LOGFMT_TS_MAX];
    bool fits;
    if (ag_jscan_short(j, key, sizeof key, &fits) < 0) return CM_EPARSE;
    ag_jscan_ws(j);
    if (j->p >= j->end || *j->p != ':') return CM_EPARSE;
    j->p++;
    ag_jscan_ws(j);
    if (fits && strcmp(key, "log") == 0) {
        if (j->p >= j->end || *j->p != '"') return CM_EPARSE;
        int rc = ag_jscan_string(j, log);
        if (rc < 0) return rc;
        *got_log = true;
        return rc; /* 1: the input ended inside the text */
    }
    if (fits && (strcmp(key, "stream") == 0 || strcmp(key, "time") == 0)) {
        bool is_time = key[0] == 't';
        if (ag_jscan_short(j, val, sizeof val, &fits) < 0) return CM_EPARSE;
        if (!fits) return 0;
        if (is_time && cm_time_parse(val, &rec->ts_ns) < 0) rec->ts_ns = 0;
        if (!is_time && strlen(val) < sizeof rec->stream)
            memcpy(rec->stream, val, strlen(val) + 1);
        return 0;
    }
    return ag_jscan_skip(j);
}

static int ag_jscan_object(struct ag_jscan *j, struct ag_jsink *log, bool *got_log,
                           struct ag_logfmt_rec *rec)
{
    ag_jscan_ws(j);
    if (j->p >= j->end || *j->p != '{') return CM_EPARSE;
    j->p++;
    for (;;) {
        ag_jscan_ws(j);
        int rc = ag_jscan_member(j, log, got_log, rec);
        if (rc != 0) return rc;
        ag_jscan_ws(j);
        if (j->p >= j->end) return CM_EPARSE;
        char c = *j->p++;
        if (c == '}') break;
        if (c != ',') return CM_EPARSE;
    }
    ag_jscan_ws(j);
    return j->p == j->end ? 0 : CM_EPARSE;
}

int ag_logfmt_docker(const char *line, size_t len, bool input_cut, char *out, size_t outcap,
                     struct ag_logfmt_rec *rec)
{
    struct ag_jscan j = {.p = line, .end = line + len};
    struct ag_jsink log = {.out = out, .cap = outcap};
    struct ag_logfmt_rec r = {0};
    bool got_log = false;
    int rc = ag_jscan_object(&j, &log, &got_log, &r);
    if (rc == 1 && !input_cut) rc = CM_EPARSE;
    if (rc < 0 && !(input_cut && got_log)) return CM_EPARSE;
    if (!got_log) return CM_EPARSE;
    bool complete = rc == 0 && log.n > 0 && log.last == '\n';
    size_t text = complete ? log.n - 1 : log.n;
    r.text = out;
    r.len = text < outcap ? text : outcap;
    r.cut = text > outcap || (rc != 0 && input_cut);
    /* a record we could not see the end of is taken as a whole line */
    r.partial = !complete && !r.cut;
    *rec = r;
    return 0;
}

static const char *ag_token(const char *p, const char *end, size_t *tlen)
{
    const char *s = p;
    while (p < end && *p != ' ') p++;
    *tlen = (size_t)(p - s);
    return s;
}

int ag_logfmt_cri(const char *line, size_t len, struct ag_logfmt_rec *rec)
{
    const char *p = line, *end = line + len;
    struct ag_logfmt_rec r = {0};
    char ts[AG_LOGFMT_TS_MAX];
    size_t n;
    const char *t = ag_token(p, end, &n);
    if (n == 0 || n >= sizeof ts) return CM_EPARSE;
    memcpy(ts, t, n);
    ts[n] = '\0';
    if (cm_time_parse(ts, &r.ts_ns) < 0) return CM_EPARSE;
    p = t + n;
    if (p >= end) return CM_EPARSE;
    t = ag_token(++p, end, &n);
    if (!((n == 6 && memcmp(t, "stdout", 6) == 0) || (n == 6 && memcmp(t, "stderr", 6) == 0)))
        return CM_EPARSE;
    memcpy(r.stream, t, 6);
    p = t + n;
    if (p >= end) return CM_EPARSE;
    t = ag_token(++p, end, &n);
    if (n == 0 || (t[0] != 'P' && t[0] != 'F') || (n > 1 && t[1] != ':')) return CM_EPARSE;
    r.partial = t[0] == 'P';
    p = t + n;
    if (p < end) p++; /* the space before the text; none = empty text */
    r.text = p;
    r.len = (size_t)(end - p);
    *rec = r;
    return 0;
}

static int ag_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 1 && leap ? 29 : days[m];
}

static int ag_two_digits(const char *s, int *out)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return CM_EPARSE;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

/* Local time of the tm fields in year; CM_ERANGE when the day does not
 * exist. The fields as UTC, less the zone's offset at that instant: mktime
 * re-reads the zone on every call (10x slower per line). Only the hour a
 * DST change repeats or skips can come out an hour off. */
static int ag_syslog_mktime(const struct tm *tm, int year, int64_t *ts_ns)
{
    if (tm->tm_mday > ag_days_in_month(year, tm->tm_mon)) return CM_ERANGE;
    /* zone offsets change at quarter hours: one lookup per quarter (per thread) */
    static _Thread_local time_t cached_q = -1;
    static _Thread_local long cached_off;
    struct tm loc;
    time_t t = (time_t)(cm_time_days_from_civil(year, (unsigned)tm->tm_mon + 1,
                                                 (unsigned)tm->tm_mday) * 86400 +
                        tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec);
    if (t / 900 != cached_q) {
        if (!localtime_r(&t, &loc)) return CM_ERANGE;
        cached_q = t / 900;
        cached_off = loc.tm_gmtoff;
    }
    *ts_ns = ((int64_t)t - cached_off) * CM_NS_PER_SEC;
    return 0;
}

/* The local year at now_ns, looked up once per minute (per thread). */
static int ag_syslog_year(int64_t now_ns, int *year)
{
    static _Thread_local time_t cached_min = -1;
    static _Thread_local int cached_year;
    time_t now = (time_t)(now_ns / CM_NS_PER_SEC);
    struct tm tm;
    if (now / 60 != cached_min) {
        if (!localtime_r(&now, &tm)) return CM_ERANGE;
        cached_min = now / 60;
        cached_year = tm.tm_year + 1900;
    }
    *year = cached_year;
    return 0;
}

int ag_logfmt_syslog_time(const char *s, size_t len, int64_t now_ns, int64_t *ts_ns)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (len < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':') return CM_EPARSE;
    if (len > 15 && s[15] != ' ') return CM_EPARSE;
    struct tm tm = {0};
    tm.tm_mon = -1;
    for (int m = 0; m < 12; m++)
        if (memcmp(s, months + 3 * m, 3) == 0) tm.tm_mon = m;
    char day[2] = {s[4] == ' ' ? '0' : s[4], s[5]};
    if (tm.tm_mon < 0 || ag_two_digits(day, &tm.tm_mday) < 0 ||
        ag_two_digits(s + 7, &tm.tm_hour) < 0 || ag_two_digits(s + 10, &tm.tm_min) < 0 ||
        ag_two_digits(s + 13, &tm.tm_sec) < 0)
        return CM_EPARSE;
    if (tm.tm_mday < 1 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) return CM_ERANGE;
    int year;
    if (ag_syslog_year(now_ns, &year) < 0) return CM_ERANGE;
    int64_t ts;
    int rc = ag_syslog_mktime(&tm, year, &ts);
    if (rc < 0 || ts > now_ns + 86400 * CM_NS_PER_SEC) rc = ag_syslog_mktime(&tm, year - 1, &ts);
    if (rc < 0) return rc;
    *ts_ns = ts;
    return 0;
}

int ag_logfmt_iso_time(const char *s, size_t len, int64_t *ts_ns)
{
    char buf[AG_LOGFMT_TS_MAX];
    size_t n;
    ag_token(s, s + len, &n);
    if (n < 20 || n >= sizeof buf) return CM_EPARSE;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (buf[0] < '0' || buf[0] > '9') return CM_EPARSE; /* no bare epoch seconds here */
    return cm_time_parse(buf, ts_ns) < 0 ? CM_EPARSE : 0;
}

int ag_logfmt_line_time(const char *s, size_t len, int64_t now_ns, int64_t *ts_ns)
{
    if (ag_logfmt_iso_time(s, len, ts_ns) == 0) return 0;
    return ag_logfmt_syslog_time(s, len, now_ns, ts_ns);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t ag_utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0x01 && c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) need = 3;
    else if (c >= 0xF0 && c <= 0xF4) need = 4;
    else return 0;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (left < need || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return need;
}

/* Whether 8 bytes are all ASCII and none is NUL. */
static bool ag_ascii8(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    const uint64_t lo = UINT64_C(0x0101010101010101), hi = UINT64_C(0x8080808080808080);
    return ((v | ((v - lo) & ~v)) & hi) == 0;
}

size_t ag_logfmt_sanitize(char *s, size_t len)
{
    unsigned char *u = (unsigned char *)s;
    size_t replaced = 0, i = 0;
    while (i < len) {
        if (len - i >= 8 && ag_ascii8(u + i)) {
            i += 8;
            continue;
        }
        if (u[i] >= 0x01 && u[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = ag_utf8_seq(u + i, len - i);
        if (n == 0) {
            u[i] = '?';
            replaced++;
            n = 1;
        }
        i += n;
    }
    return replaced;
}
