/* pgutil.h - a fresh database per test in the suite's private cluster.
 *
 * scripts/test.sh starts one private PostgreSQL and exports
 * BOXWATCH_TEST_PG (conninfo of a role allowed to CREATE DATABASE). Each test
 * that needs a database makes its own, so tests never see each other's rows. */
#ifndef BW_PGUTIL_H
#define BW_PGUTIL_H

#include <stdbool.h>
#include <libpq-fe.h>
#include <stddef.h>

/* False (and a reason in why) when no test cluster is configured. */
bool tu_pg_available(const char **why);
/* Creates an empty database with a unique name; writes its conninfo into
 * out. Returns 0 or -1. */
int tu_pg_create_db(char *out, size_t outlen);
/* Creates a database and applies the collector's migrations to it. */
int tu_pg_create_migrated_db(char *out, size_t outlen);
/* Generates a key pair into *kp and enrols it as agent `name` (a row in
 * agents, as `boxwatch-collector enroll` makes). Returns 0 or -1. */
struct cm_keypair;
int tu_pg_add_agent(PGconn *conn, const char *name, struct cm_keypair *kp);
/* Drops the database named in conninfo (terminating its sessions). */
void tu_pg_drop_db(const char *conninfo);

#endif
