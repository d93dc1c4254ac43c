/* checks.h - the configuration checks: a fixed catalogue, evaluated on
 * stored inventory.
 *
 * Checks run in the collector, not the agent, so a policy change (allowed
 * registries, ...) re-evaluates the whole fleet from what is stored. Each
 * check has a stable id (never reused for a different meaning), a title,
 * a severity, rationale, remediation and the CIS Docker Benchmark item it
 * corresponds to, where there is one. Where docker-bench-security is known
 * to give a false result (../shared/corpus/cis-docker-checks.md), the check
 * here follows the benchmark's intent instead, and its rationale says how.
 * Evaluation is pure: no I/O, no logging, no allocation. */
#ifndef COL_CHECKS_H
#define COL_CHECKS_H

#include "common/config.h"
#include "common/inventory.h"

#include <stdbool.h>
#include <stddef.h>

enum col_severity {
    COL_SEV_INFO = 0,
    COL_SEV_LOW,
    COL_SEV_MEDIUM,
    COL_SEV_HIGH,
    COL_SEV_CRITICAL,
    COL_SEV__COUNT
};

enum col_check_scope { COL_SCOPE_CONTAINER = 0, COL_SCOPE_HOST };

struct col_check {
    const char *id; /* "container.privileged", "host.icc_enabled", ... */
    enum col_check_scope scope;
    enum col_severity severity;
    const char *title;
    const char *rationale;
    const char *remediation;
    const char *cis; /* "5.5", "5.2,5.3", or NULL */
};

/* What the operator decided; borrowed from the collector's config. */
struct col_check_policy {
    const struct cm_strlist *allowed_registries; /* empty or NULL = no registry policy */
};

#define COL_CHECK_DETAIL_MAX 512

struct col_check_result {
    const struct col_check *check;
    char detail[COL_CHECK_DETAIL_MAX]; /* what failed, e.g. "CapAdd: SYS_ADMIN, NET_ADMIN" */
};

size_t col_checks_count(void);
const struct col_check *col_checks_at(size_t i);
const struct col_check *col_checks_find(const char *id); /* NULL when unknown */
const char *col_severity_name(enum col_severity s);     /* "info" .. "critical" */
int col_severity_parse(const char *name, enum col_severity *out);

/* True when a container in this state is audited at all (running, paused,
 * restarting, unknown). Others have no open findings. */
bool col_checks_applies_to_state(enum cm_inv_state s);

/* Evaluates every container check on c (host: the same agent's host
 * inventory, for daemon-wide defaults such as no-new-privileges; may be
 * NULL). Writes up to max failures into out, in catalogue order, and
 * returns how many checks failed (may exceed max). Checks whose inputs the
 * runtime did not report (c->known) neither pass nor fail. */
size_t col_checks_eval_container(const struct cm_container_inv *c, const struct cm_host_inv *host,
                                 const struct col_check_policy *policy,
                                 struct col_check_result *out, size_t max);

/* Evaluates every host check (Docker daemon settings, runtime sockets). */
size_t col_checks_eval_host(const struct cm_host_inv *h, const struct col_check_policy *policy,
                            struct col_check_result *out, size_t max);

/* What one check said about one inventory. */
enum col_check_answer { COL_CHECK_UNKNOWN = 0, COL_CHECK_PASS, COL_CHECK_FAIL };

/* Like the two above, and also writes answers[i] for col_checks_at(i), for
 * every i < col_checks_count() (checks of the other scope, and those not run
 * because the config could not be read: COL_CHECK_UNKNOWN). answers may be
 * NULL. For keeping findings: only a check that answered PASS resolves an
 * open finding; an unknown answer leaves it as it was. */
size_t col_checks_eval_container_answers(const struct cm_container_inv *c,
                                         const struct cm_host_inv *host,
                                         const struct col_check_policy *policy,
                                         struct col_check_result *out, size_t max,
                                         enum col_check_answer *answers);
size_t col_checks_eval_host_answers(const struct cm_host_inv *h,
                                    const struct col_check_policy *policy,
                                    struct col_check_result *out, size_t max,
                                    enum col_check_answer *answers);

#endif
