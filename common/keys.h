/* keys.h - CURVE key pairs in Z85 text and the files that hold them.
 *
 * A secret key file holds two lines, "public=<z85>" and "secret=<z85>"; a
 * public key file only the first. Secret files are created 0600 and refused
 * on read when group or others can read them: a leaked agent key lets anyone
 * speak for that host. The module never logs; errors come back with a text. */
#ifndef CM_KEYS_H
#define CM_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define CM_KEY_Z85_LEN 40

struct cm_keypair {
    char public_z85[CM_KEY_Z85_LEN + 1];
    char secret_z85[CM_KEY_Z85_LEN + 1];
};

/* True when s is exactly 40 characters of the Z85 alphabet. */
bool cm_keys_is_z85(const char *s);
int cm_keys_generate(struct cm_keypair *kp);
/* Creates (or replaces) `path` with mode 0600. */
int cm_keys_write_secret(const char *path, const struct cm_keypair *kp, char *err,
                         size_t errlen);
int cm_keys_write_public(const char *path, const char *public_z85, char *err, size_t errlen);
/* Reads a secret key file; CM_EPERM when its mode lets group/others read it. */
int cm_keys_read_secret(const char *path, struct cm_keypair *kp, char *err, size_t errlen);
/* Reads the public line of a public or secret key file. */
int cm_keys_read_public(const char *path, char out[CM_KEY_Z85_LEN + 1], char *err,
                        size_t errlen);

#endif
