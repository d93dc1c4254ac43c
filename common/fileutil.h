/* fileutil.h - durable whole-file replacement, and bounded whole-file reads.
 *
 * Small state files (key files, the agent's seq bound, the spool's meta) are
 * never edited in place: a new copy is written next to the old one, flushed,
 * renamed over it, and the directory flushed so the rename itself survives a
 * power loss. A reader sees the old file or the new one, never a mix. */
#ifndef CM_FILEUTIL_H
#define CM_FILEUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Replaces `path` with `len` bytes of `data`, via `tmp_path` (same
 * directory; a symlink there is refused), with `mode` even if the file
 * existed. Returns 0 or -errno; on failure the old file is untouched and the
 * temporary removed. */
int cm_file_replace(const char *path, const char *tmp_path, mode_t mode, const void *data,
                    size_t len);
/* Reads a whole regular file of at most max bytes into a new NUL-terminated
 * buffer (*out, caller frees with free(); *len without the NUL). Returns 0,
 * -errno, CM_ETOOBIG (over max) or CM_EPARSE (not a regular file, or a NUL
 * byte inside); on failure *out is untouched. */
int cm_file_read(const char *path, size_t max, char **out, size_t *len);
/* fsync()s a directory, making renames and unlinks in it durable. */
int cm_fsync_dir(const char *dir);

#endif
