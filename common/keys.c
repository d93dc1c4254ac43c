/* keys.c - CURVE key generation and key files. */
#include "common/keys.h"

#include "common/err.h"
#include "common/fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define CM_KEYFILE_MAX 512

static const char cm_z85_alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool cm_keys_is_z85(const char *s)
{
    if (!s || strlen(s) != CM_KEY_Z85_LEN)
        return false;
    for (const char *p = s; *p; p++) {
        if (!strchr(cm_z85_alphabet, *p))
            return false;
    }
    return true;
}

int cm_keys_generate(struct cm_keypair *kp)
{
    if (zmq_curve_keypair(kp->public_z85, kp->secret_z85) != 0)
        return -errno;
    return 0;
}

static int cm_write_keyfile(const char *path, mode_t mode, const char *text, char *err,
                            size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "key file path too long");
        return CM_ETOOBIG;
    }
    int rc = cm_file_replace(path, tmp, mode, text, strlen(text));
    if (rc < 0)
        snprintf(err, errlen, "cannot write key file '%s': %s", path, strerror(-rc));
    return rc;
}

int cm_keys_write_secret(const char *path, const struct cm_keypair *kp, char *err,
                         size_t errlen)
{
    if (!cm_keys_is_z85(kp->public_z85) || !cm_keys_is_z85(kp->secret_z85)) {
        snprintf(err, errlen, "not a Z85 key pair");
        return CM_EPARSE;
    }
    char text[128];
    snprintf(text, sizeof text, "public=%s\nsecret=%s\n", kp->public_z85, kp->secret_z85);
    int rc = cm_write_keyfile(path, 0600, text, err, errlen);
    memset(text, 0, sizeof text);
    return rc;
}

int cm_keys_write_public(const char *path, const char *public_z85, char *err, size_t errlen)
{
    if (!cm_keys_is_z85(public_z85)) {
        snprintf(err, errlen, "not a Z85 public key");
        return CM_EPARSE;
    }
    char text[64];
    snprintf(text, sizeof text, "public=%s\n", public_z85);
    return cm_write_keyfile(path, 0644, text, err, errlen);
}

/* Reads the whole (small) file; checks the mode when want_private is set. */
static int cm_read_keyfile(const char *path, bool want_private, char *buf, size_t buflen,
                           char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open key file '%s': %s", path, strerror(e));
        return -e;
    }
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size >= (off_t)buflen) {
        snprintf(err, errlen, "key file '%s' is not a regular file of under %zu bytes", path,
                 buflen);
        rc = CM_EPARSE;
        goto out;
    }
    if (want_private && (st.st_mode & 0077)) {
        snprintf(err, errlen,
                 "key file '%s' has mode %04o: group or others can read the secret key; "
                 "run chmod 600 on it",
                 path, (unsigned)(st.st_mode & 07777));
        rc = CM_EPERM;
        goto out;
    }
    ssize_t n = read(fd, buf, buflen - 1);
    if (n < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot read key file '%s': %s", path, strerror(errno));
        goto out;
    }
    buf[n] = '\0';
out:
    close(fd);
    return rc;
}

/* Finds "name=<z85>" on its own line. */
static int cm_keyfile_field(const char *text, const char *name, char out[CM_KEY_Z85_LEN + 1])
{
    size_t nlen = strlen(name);
    const char *line = text;
    while (line && *line) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == nlen + 1 + CM_KEY_Z85_LEN && strncmp(line, name, nlen) == 0 &&
            line[nlen] == '=') {
            memcpy(out, line + nlen + 1, CM_KEY_Z85_LEN);
            out[CM_KEY_Z85_LEN] = '\0';
            return cm_keys_is_z85(out) ? 0 : CM_EPARSE;
        }
        line = end ? end + 1 : NULL;
    }
    return CM_ENOTFOUND;
}

/* A hand-edited file can pair a secret with someone else's public key; the
 * handshake would then fail far from the cause. */
static bool cm_keys_pair_matches(const struct cm_keypair *kp)
{
    char derived[CM_KEY_Z85_LEN + 1];
    if (zmq_curve_public(derived, kp->secret_z85) != 0)
        return false;
    bool same = strcmp(derived, kp->public_z85) == 0;
    memset(derived, 0, sizeof derived);
    return same;
}

int cm_keys_read_secret(const char *path, struct cm_keypair *kp, char *err, size_t errlen)
{
    char text[CM_KEYFILE_MAX];
    int rc = cm_read_keyfile(path, true, text, sizeof text, err, errlen);
    if (rc < 0)
        return rc;
    struct cm_keypair tmp;
    if (cm_keyfile_field(text, "public", tmp.public_z85) < 0 ||
        cm_keyfile_field(text, "secret", tmp.secret_z85) < 0) {
        snprintf(err, errlen, "key file '%s' lacks valid public= and secret= lines", path);
        rc = CM_EPARSE;
    } else if (!cm_keys_pair_matches(&tmp)) {
        snprintf(err, errlen, "key file '%s': the public key does not belong to the secret key",
                 path);
        rc = CM_EPARSE;
    } else {
        *kp = tmp;
    }
    memset(text, 0, sizeof text);
    memset(&tmp, 0, sizeof tmp);
    return rc;
}

int cm_keys_read_public(const char *path, char out[CM_KEY_Z85_LEN + 1], char *err,
                        size_t errlen)
{
    char text[CM_KEYFILE_MAX];
    int rc = cm_read_keyfile(path, false, text, sizeof text, err, errlen);
    if (rc < 0)
        return rc;
    if (cm_keyfile_field(text, "public", out) < 0) {
        snprintf(err, errlen, "key file '%s' lacks a valid public= line", path);
        rc = CM_EPARSE;
    }
    memset(text, 0, sizeof text);
    return rc;
}
