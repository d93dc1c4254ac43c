/* seqstore.h - the agent's envelope sequence numbers, durable across
 * restarts and crashes.
 *
 * The collector drops duplicates by (agent, seq), so a seq handed out twice
 * would silently lose data. The store therefore writes a *reserved upper
 * bound* to <state_dir>/seq before handing out any number below it (write a
 * temporary file, fsync, rename, fsync the directory), one block at a time,
 * and on start continues above the stored bound. A crash wastes at most one
 * block of numbers; it never reuses one. A file that cannot be parsed is an
 * error, never a silent restart at 1. An flock on <state_dir>/lock keeps two
 * agents from sharing one state directory. The module never logs. */
#ifndef AG_SEQSTORE_H
#define AG_SEQSTORE_H

#include <stddef.h>
#include <stdint.h>

#define AG_SEQSTORE_BLOCK 1000

struct ag_seqstore;

/* Creates state_dir (mode 0700, not its parents) when missing, takes the
 * lock, reads the stored bound and reserves the first block. `block` is the
 * reservation step (0 = AG_SEQSTORE_BLOCK). Errors: CM_EPARSE for a corrupt
 * file, -EWOULDBLOCK when another process holds the lock, -errno otherwise;
 * err says which file and what to do. Caller frees with ag_seqstore_free. */
int ag_seqstore_new(const char *state_dir, uint64_t block, struct ag_seqstore **out, char *err,
                    size_t errlen);
/* Hands out the next number (the first is 1 on a fresh state_dir). Persists
 * a new bound first when the reserved block is used up; on a write error
 * nothing is handed out and *seq is untouched. */
int ag_seqstore_next(struct ag_seqstore *ss, uint64_t *seq);
/* The bound currently on disk: every number handed out is <= it. */
uint64_t ag_seqstore_reserved(const struct ag_seqstore *ss);
/* Releases memory and the lock; the stored bound stays as it is. */
void ag_seqstore_free(struct ag_seqstore *ss);

#endif
