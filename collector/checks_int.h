/* checks_int.h - internals shared by the check module's files (checks.c:
 * catalogue and dispatch; check_container.c, check_host.c: the evaluators;
 * check_image.c: image reference parsing). Not for other modules: they use
 * checks.h. Tests include it to tell "passed" from "not evaluated", which
 * the public API folds together (neither yields a finding). */
#ifndef COL_CHECKS_INT_H
#define COL_CHECKS_INT_H

#include "collector/checks.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

enum col_outcome {
    COL_OUT_NA = 0, /* inputs not known: neither pass nor fail */
    COL_OUT_PASS,
    COL_OUT_FAIL,
};

/* Everything one evaluation may look at; all borrowed for the call. */
struct col_check_ctx {
    const struct cm_container_inv *c; /* container checks */
    const struct cm_host_inv *host;   /* may be NULL */
    const struct col_check_policy *policy;
};

/* A fixed-size, always NUL-terminated text that is cut (with "...") on a
 * UTF-8 character boundary when it would overflow: the detail is stored in
 * PostgreSQL, which refuses a cut multi-byte character. */
struct col_detail {
    char *s;
    size_t cap; /* bytes of s, >= 4 */
    size_t len;
    bool full;
};

void col_detail_init(struct col_detail *d, char *s, size_t cap);
void col_detail_add(struct col_detail *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds ", " before the item unless it is the first one (len == 0). */
void col_detail_item(struct col_detail *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An evaluator: writes what failed into d (only on COL_OUT_FAIL). */
typedef enum col_outcome (*col_check_eval_cb)(const struct col_check_ctx *x, struct col_detail *d);

/* Evaluates one catalogue check by id (for tests and re-checks). NULL id or
 * an unknown id gives COL_OUT_NA. detail may be NULL. Does not apply the
 * config_unreadable short-cut: the caller asked for this one check. */
enum col_outcome col_checks_eval_one(const char *id, const struct cm_container_inv *c,
                                     const struct cm_host_inv *host,
                                     const struct col_check_policy *policy, char *detail,
                                     size_t detail_cap);

/* Container evaluators (check_container.c, check_image.c). */
enum col_outcome col_chk_config_unreadable(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_root_user(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_privileged(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_dangerous_caps(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_sensitive_mount(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_runtime_socket(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_host_network(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_host_pid(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_host_ipc(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_host_uts(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_host_userns(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_writable_rootfs(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_no_memory_limit(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_no_cpu_limit(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_no_pids_limit(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_seccomp_unconfined(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_no_mac_profile(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_no_new_privileges(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_sshd(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_priv_port_all_ifaces(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_untrusted_registry(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_mutable_image(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_secret_env(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_restart_unbounded(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_no_healthcheck(const struct col_check_ctx *x, struct col_detail *d);

/* Host evaluators (check_host.c); x->host is the host being checked. */
enum col_outcome col_chk_daemon_config_invalid(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_icc_enabled(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_userns_remap_off(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_live_restore_off(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_tcp_without_tls(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_nnp_default_off(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_insecure_registries(const struct col_check_ctx *x, struct col_detail *d);
enum col_outcome col_chk_socket_permissions(const struct col_check_ctx *x, struct col_detail *d);

/* The Docker daemon's default for no-new-privileges, as the same agent's
 * host inventory reports it: true only when the setting is JSON true. */
bool col_host_nnp_default(const struct cm_host_inv *h);

/* An image reference split per Docker's rules (distribution/reference):
 * "nginx" is docker.io/library/nginx:latest; the first path component is a
 * registry when it holds "." or ":", is "localhost", or has upper case. */
#define COL_IMAGE_REGISTRY_MAX 256
#define COL_IMAGE_REPO_MAX 256 /* Docker's cap on a whole name is 255 */
#define COL_IMAGE_TAG_MAX 129
#define COL_IMAGE_DIGEST_MAX 160

struct col_image_ref {
    bool is_id;                              /* "sha256:<64 hex>" or 64 hex: an image id, no name */
    bool implicit_tag;                       /* no tag and no digest given: Docker means :latest */
    char registry[COL_IMAGE_REGISTRY_MAX];   /* "docker.io", "localhost:5000" */
    char repository[COL_IMAGE_REPO_MAX + 8]; /* "library/nginx" */
    char tag[COL_IMAGE_TAG_MAX];             /* "" when none given ("latest" is implied) */
    char digest[COL_IMAGE_DIGEST_MAX];       /* "sha256:..." or "" */
};

/* 0, or CM_EPARSE when ref is not a reference Docker would accept (*out is
 * then unspecified). */
int col_image_ref_parse(const char *ref, struct col_image_ref *out);
/* Whether ref is allowed by one allowed_registries entry: a registry
 * ("ghcr.io") or a registry/namespace prefix ("docker.io/library"). */
bool col_image_ref_allowed_by(const struct col_image_ref *ref, const char *entry);

#endif
