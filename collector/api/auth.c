/* auth.c - bearer tokens for the API.
 *
 * Read routes accept the read token or the admin token. Comparison takes
 * the same time whatever the first differing byte is, so the token cannot be
 * guessed byte by byte from response times. Tokens are never logged. */
#include "collector/api/api_int.h"

#include "common/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define COL_API_TOKEN_MIN 16

static int col_api_auth_check_one(const char *key, const char *token, char *err, size_t errlen)
{
    if (token && strlen(token) < COL_API_TOKEN_MIN) {
        snprintf(err, errlen, "%s: too short (at least %d characters)", key, COL_API_TOKEN_MIN);
        return CM_ECONFIG;
    }
    return 0;
}

int col_api_auth_check_config(const struct col_config *cfg, char *err, size_t errlen)
{
    if (!cfg->read_token && !cfg->admin_token) {
        snprintf(err, errlen, "read_token: not set; the API needs a token of at least %d "
                 "characters (read_token or admin_token)", COL_API_TOKEN_MIN);
        return CM_ECONFIG;
    }
    int rc = col_api_auth_check_one("read_token", cfg->read_token, err, errlen);
    if (rc == 0)
        rc = col_api_auth_check_one("admin_token", cfg->admin_token, err, errlen);
    return rc;
}

/* Constant time in the length of `want`; a length mismatch still walks it. */
static bool col_api_token_equal(const char *got, size_t got_len, const char *want)
{
    if (!want)
        return false;
    size_t want_len = strlen(want);
    unsigned char diff = got_len != want_len;
    for (size_t i = 0; i < want_len; i++) {
        unsigned char g = i < got_len ? (unsigned char)got[i] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)want[i]);
    }
    return diff == 0;
}

bool col_api_auth_is_reader(const struct col_config *cfg, const struct col_http_req *r)
{
    const char *h = col_http_req_header(r, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    size_t len = strlen(tok);
    bool read_ok = col_api_token_equal(tok, len, cfg->read_token);
    bool admin_ok = col_api_token_equal(tok, len, cfg->admin_token);
    return read_ok || admin_ok;
}
