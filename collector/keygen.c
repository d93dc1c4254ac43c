/* keygen.c - creates the collector's key pair file (see keygen.h).
 *
 * Only writes the file and prints the public half; it does not touch the
 * database or any agent. */
#include "collector/keygen.h"

#include "common/keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int col_keygen_run(const char *path, bool force, FILE *out, char *err, size_t errlen)
{
    struct stat st;
    struct cm_keypair kp;
    if (!path || !*path) {
        snprintf(err, errlen, "key_file: not set");
        return -EINVAL;
    }
    if (!force && lstat(path, &st) == 0) {
        snprintf(err, errlen,
                 "%s exists; replacing it locks out every enrolled agent "
                 "(use --force to do it anyway)",
                 path);
        return -EEXIST;
    }
    int rc = cm_keys_generate(&kp);
    if (rc < 0) {
        snprintf(err, errlen, "cannot generate a key pair: %s", strerror(-rc));
        return rc;
    }
    rc = cm_keys_write_secret(path, &kp, err, errlen);
    if (rc == 0) fprintf(out, "%s\n", kp.public_z85);
    memset(kp.secret_z85, 0, sizeof kp.secret_z85);
    return rc;
}
