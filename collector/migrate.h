/* migrate.h - applies the embedded schema/ migrations in order.
 *
 * Each migration runs in its own transaction together with its row in
 * schema_migrations, under an advisory lock so two collectors starting at
 * once do not race. Applying again is a no-op. */
#ifndef COL_MIGRATE_H
#define COL_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* *applied (may be NULL) receives how many migrations ran now. */
int col_migrate_apply(PGconn *conn, int *applied, char *err, size_t errlen);
/* Highest applied version, 0 when none; negative error. */
int col_migrate_current(PGconn *conn, int *version, char *err, size_t errlen);
/* Version of the newest embedded migration (what this build expects). */
int col_migrate_latest(void);

#endif
