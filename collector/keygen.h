/* keygen.h - `boxwatch-collector keygen`: makes the collector's CURVE key pair. */
#ifndef COL_KEYGEN_H
#define COL_KEYGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes a new key pair to `path` (mode 0600) and prints the public key on
 * `out`. Refuses (-EEXIST, err says why) when the file exists and `force` is
 * false: replacing the key locks every enrolled agent out. */
int col_keygen_run(const char *path, bool force, FILE *out, char *err, size_t errlen);

#endif
