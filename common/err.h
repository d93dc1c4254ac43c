/* err.h - error codes shared by every boxwatch library.
 *
 * Functions return 0 on success or a negative code: -errno for system calls,
 * or one of the project codes below (all far below -4095, so they never clash
 * with an errno value). */
#ifndef CM_ERR_H
#define CM_ERR_H

enum {
    CM_EPARSE = -10001,    /* text or bytes that do not follow their format */
    CM_ETOOBIG = -10002,   /* a size above its cap */
    CM_EPROTO = -10003,    /* a protocol violation (version, field, sequence) */
    CM_EDB = -10004,       /* a database error */
    CM_ECONFIG = -10005,   /* a bad configuration key or value */
    CM_ENOTFOUND = -10006, /* a looked-up thing does not exist */
    CM_ERANGE = -10007,    /* a number outside its allowed range */
    CM_EPERM = -10008,     /* a file with unsafe permissions */
};

/* A static, human-readable text for any code this project returns. */
const char *cm_err_str(int err);

#endif
