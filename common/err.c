/* err.c - text for error codes. */
#include "common/err.h"

#include <string.h>

const char *cm_err_str(int err)
{
    switch (err) {
    case 0: return "ok";
    case CM_EPARSE: return "malformed input";
    case CM_ETOOBIG: return "too big";
    case CM_EPROTO: return "protocol error";
    case CM_EDB: return "database error";
    case CM_ECONFIG: return "bad configuration";
    case CM_ENOTFOUND: return "not found";
    case CM_ERANGE: return "out of range";
    case CM_EPERM: return "unsafe file permissions";
    default: break;
    }
    if (err < 0 && err > -4096)
        return strerror(-err);
    return "unknown error";
}
