/* rulebook.h - the collector's detection rules: the built-in set plus the
 * operator's rules file, validated, versioned, reloadable.
 *
 * The built-in set (rules/builtin.json, embedded at build time) is always
 * there; the optional operator file (config key rules_file) adds rules, and
 * one with the id of a built-in rule replaces it. Both are validated with
 * cm_rules_parse. Every successful load gets a new version, larger than any
 * before it, also across restarts (the load time in seconds, or the last
 * version + 1 when that is not larger): agents compare versions. A failed
 * reload keeps the rules in force.
 *
 * Readers on any thread (server: Policy push; writer: severity of an event;
 * API: GET /api/v1/rules) take a snapshot with col_rulebook_acquire; a
 * reload swaps the snapshot under a mutex and the old one is freed when its
 * last reader releases it. It does not log and does not send anything. */
#ifndef COL_RULEBOOK_H
#define COL_RULEBOOK_H

#include "common/logevent.h"

#include <stddef.h>
#include <stdint.h>

#define COL_RULEBOOK_BUILTIN_NAME "builtin.json"

struct col_rulebook;

/* One immutable rule set; valid until col_rulebook_release. */
struct col_rules {
    struct cm_policy policy; /* policy.version is the set's version */
    size_t n_builtin;        /* rules that came from the built-in set */
};

/* Loads the built-in set and, when path is neither NULL nor "", the
 * operator's file (path is copied). On error returns CM_EPARSE / -errno /
 * CM_ETOOBIG with err = "rules file <path>: rule <id>: <reason>" (or
 * "rules file <path>: <reason>") and *out untouched. */
int col_rulebook_new(const char *path, struct col_rulebook **out, char *err, size_t errlen);
/* Reads both again; on success the new set is in force with a new version.
 * On error the old set stays in force and err says why (as above). */
int col_rulebook_reload(struct col_rulebook *rb, char *err, size_t errlen);
uint32_t col_rulebook_version(struct col_rulebook *rb);
/* The set in force; hand it back with col_rulebook_release. Thread-safe. */
const struct col_rules *col_rulebook_acquire(struct col_rulebook *rb);
void col_rulebook_release(struct col_rulebook *rb, const struct col_rules *rules);
/* The rule of that id in a set, or NULL. */
const struct cm_rule *col_rules_find(const struct col_rules *rules, const char *id);
/* NULL is harmless; every snapshot must have been released. */
void col_rulebook_free(struct col_rulebook *rb);

#endif
