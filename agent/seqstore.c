/* seqstore.c - write-ahead reservation of sequence numbers.
 *
 * The file holds one decimal number and a newline: the highest seq this
 * agent may have handed out. It is only ever replaced whole (rename), so a
 * reader sees the old or the new bound, never a torn one. */
#include "agent/seqstore.h"

#include "common/alloc.h"
#include "common/err.h"
#include "common/fileutil.h"
#include "common/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define AG_SEQ_FILE_MAX 32 /* 20 digits and a newline, with room to spot junk */

struct ag_seqstore {
    char *dir;
    char *path;     /* <dir>/seq */
    char *tmp_path; /* <dir>/seq.tmp */
    int lock_fd;
    uint64_t block;
    uint64_t next;     /* the number the next call hands out */
    uint64_t reserved; /* bound on disk */
};

static char *ag_seq_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = cm_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Replaces the file with `bound`, durably. */
static int ag_seq_write(struct ag_seqstore *ss, uint64_t bound)
{
    char text[AG_SEQ_FILE_MAX];
    int len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)bound);
    /* durable, rename included, before any number below the bound is used */
    return cm_file_replace(ss->path, ss->tmp_path, 0600, text, (size_t)len);
}

/* Reads the stored bound; *bound = 0 when there is no file yet. */
static int ag_seq_read(const struct ag_seqstore *ss, uint64_t *bound, char *err, size_t errlen)
{
    char text[AG_SEQ_FILE_MAX + 1];
    int fd = open(ss->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        *bound = 0;
        return 0;
    }
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open sequence file '%s': %s", ss->path, strerror(e));
        return -e;
    }
    ssize_t n = read(fd, text, sizeof text - 1);
    int e = errno;
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "cannot read sequence file '%s': %s", ss->path, strerror(e));
        return -e;
    }
    size_t len = (size_t)n;
    if (len >= 2 && text[len - 1] == '\n' && cm_parse_u64(text, len - 1, bound) == 0 &&
        *bound < UINT64_MAX / 2)
        return 0;
    snprintf(err, errlen,
             "sequence file '%s' is corrupt; refusing to reuse sequence numbers the collector "
             "may already hold. Write a number above this agent's highest seq into it "
             "(e.g. from the collector), then restart",
             ss->path);
    return CM_EPARSE;
}

static int ag_seq_lock(struct ag_seqstore *ss, char *err, size_t errlen)
{
    char *lock_path = ag_seq_join(ss->dir, "lock");
    int rc = 0;
    ss->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ss->lock_fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open '%s': %s", lock_path, strerror(errno));
    } else if (flock(ss->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = -errno;
        snprintf(err, errlen, "state directory '%s' is in use by another boxwatch-agent (%s)",
                 ss->dir, strerror(errno));
    }
    free(lock_path);
    return rc;
}

int ag_seqstore_new(const char *state_dir, uint64_t block, struct ag_seqstore **out, char *err,
                    size_t errlen)
{
    struct ag_seqstore *ss = cm_xcalloc(1, sizeof *ss);
    uint64_t bound = 0;
    int rc;
    ss->lock_fd = -1;
    ss->block = block ? block : AG_SEQSTORE_BLOCK;
    ss->dir = cm_xstrdup(state_dir);
    ss->path = ag_seq_join(state_dir, "seq");
    ss->tmp_path = ag_seq_join(state_dir, "seq.tmp");
    if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(err, errlen, "cannot create state directory '%s': %s", state_dir, strerror(errno));
        goto out;
    }
    if ((rc = ag_seq_lock(ss, err, errlen)) < 0) goto out;
    if ((rc = ag_seq_read(ss, &bound, err, errlen)) < 0) goto out;
    ss->next = bound + 1;
    ss->reserved = bound;
    if ((rc = ag_seq_write(ss, bound + ss->block)) < 0) {
        snprintf(err, errlen, "cannot write sequence file '%s': %s", ss->path, strerror(-rc));
        goto out;
    }
    ss->reserved = bound + ss->block;
    *out = ss;
    ss = NULL;
out:
    ag_seqstore_free(ss);
    return rc;
}

int ag_seqstore_next(struct ag_seqstore *ss, uint64_t *seq)
{
    if (ss->next > ss->reserved) {
        if (ss->reserved > UINT64_MAX - 2 * ss->block) return CM_ERANGE;
        int rc = ag_seq_write(ss, ss->reserved + ss->block);
        if (rc < 0) return rc;
        ss->reserved += ss->block;
    }
    *seq = ss->next++;
    return 0;
}

uint64_t ag_seqstore_reserved(const struct ag_seqstore *ss)
{
    return ss->reserved;
}

void ag_seqstore_free(struct ag_seqstore *ss)
{
    if (!ss) return;
    if (ss->lock_fd >= 0) close(ss->lock_fd);
    free(ss->tmp_path);
    free(ss->path);
    free(ss->dir);
    free(ss);
}
