/* parse.c - strict numeric parsing. */
#include "common/parse.h"

#include "common/err.h"

#include <string.h>

int cm_parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0)
        return CM_EPARSE;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return CM_EPARSE;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return CM_ERANGE;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int cm_parse_i64(const char *s, size_t len, int64_t *out)
{
    int neg = len > 0 && s[0] == '-';
    uint64_t mag;
    int rc = cm_parse_u64(s + neg, len - (size_t)neg, &mag);
    if (rc < 0)
        return rc;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return CM_ERANGE;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX)
            return CM_ERANGE;
        *out = (int64_t)mag;
    }
    return 0;
}

int cm_parse_duration_ms(const char *s, uint64_t *out_ms)
{
    size_t len = strlen(s);
    size_t digits = 0;
    while (digits < len && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    uint64_t v;
    int rc = cm_parse_u64(s, digits, &v);
    if (rc < 0)
        return rc;
    const char *unit = s + digits;
    uint64_t mult;
    if (*unit == '\0' || strcmp(unit, "s") == 0)
        mult = 1000;
    else if (strcmp(unit, "ms") == 0)
        mult = 1;
    else if (strcmp(unit, "m") == 0)
        mult = 60 * 1000;
    else if (strcmp(unit, "h") == 0)
        mult = 3600 * 1000;
    else if (strcmp(unit, "d") == 0)
        mult = 86400 * 1000;
    else
        return CM_EPARSE;
    if (v > UINT64_MAX / mult)
        return CM_ERANGE;
    *out_ms = v * mult;
    return 0;
}
