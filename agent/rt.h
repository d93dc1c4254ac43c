/* rt.h - parsers of the container runtimes' own state files.
 *
 * Pure functions from bytes to struct cm_container_inv / cm_host_inv: no
 * file access, no logging, every size capped (CM_INV_STR_MAX,
 * CM_INV_LIST_MAX), so they can be fuzzed and tested on the corpus. Finding
 * the files on disk, joining them with cgroups and reading processes and
 * sockets is agent/inventory.c's job. Null, a missing key, "" and [] are all
 * "not set". Environment values are classified here (ag_env_classify) and
 * dropped: only names leave these functions.
 *
 * On error the function returns CM_EPARSE (invalid JSON, wrong shape) or
 * CM_ETOOBIG, writes a human reason into err, and leaves *out holding what
 * was read before the error (the caller still owns it and must free it). */
#ifndef AG_RT_H
#define AG_RT_H

#include "common/inventory.h"

#include <stdbool.h>
#include <stddef.h>

#define AG_RT_FILE_MAX (4u * 1024 * 1024) /* bytes of one state file we read */

/* Docker: accepts (a) config.v2.json with hostconfig.json passed separately,
 * (b) `docker inspect` output (one object, or an array holding one) with
 * HostConfig inside (hostconfig may be NULL), and (c) a create request (the
 * Config fields at the top level plus HostConfig). Sets runtime =
 * CM_RT_DOCKER, id (when the document has one), and every field Docker
 * records, with the matching `known` bits. */
int ag_rt_docker_parse(const char *config, size_t config_len, const char *hostconfig,
                       size_t hostconfig_len, struct cm_container_inv *out, char *err,
                       size_t errlen);

/* OCI runtime-spec config.json (containerd task bundles, runc bundles,
 * podman's userdata/config.json). Leaves id and runtime to the caller; sets
 * user, capabilities, mounts, namespaces, rootfs, seccomp, AppArmor/SELinux,
 * no-new-privileges, limits, env names, labels from annotations. A minimal
 * config without process or linux sections is valid (fields left unknown). */
int ag_rt_oci_parse(const char *config, size_t len, struct cm_container_inv *out, char *err,
                    size_t errlen);

/* daemon.json -> h->daemon_settings (see cm_host_inv) and
 * h->daemon_config_error on failure. */
int ag_rt_daemon_parse(const char *json, size_t len, struct cm_host_inv *h, char *err,
                       size_t errlen);

/* Merges a running dockerd's command-line flags (argv without argv[0])
 * over h->daemon_settings: --icc=false, --userns-remap=x, -H/--host (list),
 * --tlsverify, --live-restore, --no-new-privileges, ... under their
 * daemon.json key names. Unknown flags are ignored. */
int ag_rt_dockerd_flags(char *const *argv, size_t argc, struct cm_host_inv *h);

/* Whether an environment variable looks like a secret, from its name
 * (PASSWORD, SECRET, TOKEN, API_KEY, PRIVATE_KEY, ...) or its value's shape
 * (AWS access key ids, PEM private key headers, JWTs, GitHub/Slack tokens,
 * credentials in a URL). reason (>= 64 bytes) gets "name:PASSWORD" or
 * "value:aws-access-key-id"; the value itself is never copied anywhere. */
bool ag_env_classify(const char *name, const char *value, char *reason, size_t reasonlen);

#endif
