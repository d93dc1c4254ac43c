/* fileutil.c - write-temp, fsync, rename, fsync-directory; bounded reads. */
#include "common/fileutil.h"

#include "common/alloc.h"
#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cm_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int cm_file_replace(const char *path, const char *tmp_path, mode_t mode, const void *data,
                    size_t len)
{
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    int rc = 0;
    errno = EIO; /* a short write leaves errno alone */
    /* an existing temporary keeps its old mode: set it explicitly */
    if (fchmod(fd, mode) < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp_path, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp_path);
        return rc;
    }
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    rc = cm_fsync_dir(dirname(copy));
    free(copy);
    return rc;
}

int cm_file_read(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    char *data = NULL;
    struct stat st;
    size_t got = 0;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0) {
        rc = CM_EPARSE;
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        rc = CM_ETOOBIG;
        goto out;
    }
    data = cm_xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : CM_EPARSE; /* shrank while being read */
            goto out;
        }
        got += (size_t)n;
    }
    data[got] = '\0';
    if (memchr(data, '\0', got)) {
        rc = CM_EPARSE;
        goto out;
    }
    *out = data;
    *len = got;
    data = NULL;
out:
    free(data);
    close(fd);
    return rc;
}
