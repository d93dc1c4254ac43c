/* logoffsets.h - the tailer's persisted read offsets.
 *
 * One small text file, <state_dir>/log-offsets, maps a file's identity
 * "<dev>:<inode>" to the offset before which everything was acknowledged,
 * with the path the file was last seen at and when. It is only ever
 * replaced whole (cm_file_replace), so a crash leaves the old or the new
 * table. Entries for files not seen for more than 7 days are dropped when
 * the table is saved.
 *
 * Does not: open or stat log files (the tailer says what it sees), log. */
#ifndef AG_LOGOFFSETS_H
#define AG_LOGOFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AG_LOGOFFSETS_FILE "log-offsets"
#define AG_LOGOFFSETS_MAX 65536                          /* entries kept */
#define AG_LOGOFFSETS_KEEP_NS (INT64_C(7) * 86400 * 1000000000) /* gone this long: dropped */

struct ag_logoffsets;

/* Loads <state_dir>/log-offsets (absent = empty table; malformed lines are
 * skipped). Caller frees with ag_logoffsets_free. Returns 0 or -errno,
 * CM_ETOOBIG for a file above its cap. */
int ag_logoffsets_open(const char *state_dir, struct ag_logoffsets **out);
void ag_logoffsets_free(struct ag_logoffsets *o);

/* The committed offset of key, or CM_ENOTFOUND. */
int ag_logoffsets_get(const struct ag_logoffsets *o, const char *key, uint64_t *offset);
/* Whether some entry was last seen at path (a file there whose key has no
 * entry replaced one we followed: rotated while we were not running). */
bool ag_logoffsets_has_path(const struct ag_logoffsets *o, const char *path);
/* The keys of the entries last seen at path (a file rotated away from
 * it while we were not running is among them): up to max of them are
 * copied to keys, the number copied is returned. */
size_t ag_logoffsets_keys_at(const struct ag_logoffsets *o, const char *path, char (*keys)[48],
                             size_t max);
/* Records (in memory) the committed offset of key, seen at path (borrowed;
 * NULL keeps the stored one) at now_ns. CM_EPARSE for a malformed key. */
int ag_logoffsets_set(struct ag_logoffsets *o, const char *key, const char *path,
                      uint64_t offset, int64_t now_ns);
/* The file of key is still there (at path, NULL = unchanged): keeps its
 * entry alive. No-op for a key without an entry. */
void ag_logoffsets_seen(struct ag_logoffsets *o, const char *key, const char *path,
                        int64_t now_ns);
/* Drops entries unseen for AG_LOGOFFSETS_KEEP_NS and writes the table
 * durably. Returns 0 or -errno. */
int ag_logoffsets_save(struct ag_logoffsets *o, int64_t now_ns);
/* Number of entries (tests, stats). */
unsigned ag_logoffsets_count(const struct ag_logoffsets *o);

#endif
