/* enroll.h - `enroll NAME` and `revoke NAME`: admitting and removing agents.
 *
 * Enrolling makes the agent's key pair, records its public key in the agents
 * table and writes what the platform engineer copies to the host:
 * <out_dir>/NAME.key (0600) and <out_dir>/NAME.json (the agent's config:
 * collector, collector_public_key, key_file). Nothing here logs; errors come
 * back with a text naming the reason. */
#ifndef COL_ENROLL_H
#define COL_ENROLL_H

#include "collector/config.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* 1..63 characters of [A-Za-z0-9_.-], not starting with '.', '_' or '-'
 * (same rule as the agents.name CHECK; also safe as a file name). */
bool col_enroll_name_is_valid(const char *name);

/* Uses cfg->key_file (collector public key), cfg->out_dir and
 * cfg->agent_endpoint. Fails without leaving a row or files behind:
 * CM_EPARSE bad name, -EEXIST name/key taken or files already present,
 * CM_EDB database error, or -errno from the file system. */
int col_enroll_agent(PGconn *conn, const struct col_config *cfg, const char *name, char *err,
                     size_t errlen);

/* Sets revoked_at; the agent's connections are refused from then on.
 * CM_ENOTFOUND when no such agent (or it is already revoked). */
int col_enroll_revoke(PGconn *conn, const char *name, char *err, size_t errlen);

#endif
