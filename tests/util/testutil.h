/* testutil.h - small helpers shared by the Criterion tests. */
#ifndef BW_TESTUTIL_H
#define BW_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Path of the shared corpus (../shared/corpus) joined with rel, or NULL when
 * the corpus is absent (the test should then cr_skip with a message).
 * Returns a static buffer. */
const char *tu_corpus_path(const char *rel);
/* Path under tests/fixtures. Static buffer. */
const char *tu_fixture_path(const char *rel);
/* Path in the source tree (BOXWATCH_SOURCE_DIR, as ctest sets it, else the
 * tree this helper was built from) joined with rel. Static buffer. */
const char *tu_source_path(const char *rel);
/* Makes a fresh temporary directory; caller removes it with tu_rm_rf. */
char *tu_mkdtemp(void);
int tu_rm_rf(const char *path);
/* Writes text into dir/rel, creating parent directories. */
int tu_write_file(const char *dir, const char *rel, const char *text);
/* Reads a whole (small) file into a new NUL-terminated buffer; NULL on error. */
char *tu_read_file(const char *path, size_t *len);

#endif
