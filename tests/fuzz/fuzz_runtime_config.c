/* fuzz_runtime_config.c - untrusted bytes into the runtime state parsers
 * (agent/rt.h). The first byte picks the entry point, the rest is the
 * input:
 *   0 Docker config alone (config.v2.json, inspect output, create request)
 *   1 Docker config and hostconfig.json, split at the first NUL byte
 *   2 OCI config.json
 *   3 daemon.json
 *   4 dockerd's command line, arguments split at NUL bytes
 *   5 one environment variable, NAME=value
 * Besides "no crash, no leak", it checks what the inventory promises: a
 * failure explains itself, and whatever a parser keeps (even next to an
 * error) is accepted by the wire encoder as it is, so one odd file can
 * never make an agent's whole inventory batch unsendable.
 *
 * With -DBOXWATCH_FUZZ=ON (clang; add -fsanitize=fuzzer-no-link to
 * CMAKE_C_FLAGS so the libraries are instrumented too):
 *   fuzz_runtime_config -dict=tests/fuzz/fuzz_runtime_config.dict \
 *       -max_len=262144 CORPUS tests/fuzz/corpus/fuzz_runtime_config */
#include "agent/rt.h"
#include "common/err.h"
#include "common/inventory.h"
#include "common/timeutil.h"
#include "proto/wire.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_container(struct cm_container_inv *c, int rc, const char *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (rc < 0 && err[0] == '\0') abort(); /* a failure must explain itself */
    if (rc < 0 && cm_wire_check_utf8(err, strlen(err)) < 0) abort();
    if (c->id[0] == '\0') memcpy(c->id, "fuzz", 5); /* OCI leaves the id to the caller */
    if (cm_wire_encode_container_inv(c, &buf, &len) < 0) abort();
    free(buf);
    cJSON_Delete(cm_container_inv_to_json(c));
}

static void fuzz_check_host(struct cm_host_inv *h, int rc)
{
    struct cm_envelope env;
    uint8_t *buf = NULL;
    size_t len = 0;
    if ((rc < 0) != (h->daemon_config_error != NULL)) abort();
    for (size_t i = 0; i < h->n_daemon_settings; i++) {
        const char *v = h->daemon_settings[i].value;
        cJSON *parsed = v ? cJSON_Parse(v) : NULL;
        if (v && !parsed) abort(); /* every kept value is JSON text */
        cJSON_Delete(parsed);
    }
    memset(&env, 0, sizeof env);
    env.version = CM_WIRE_VERSION;
    env.seq = 1;
    env.sent_ns = cm_time_now_ns();
    env.kind = CM_BODY_INVENTORY;
    env.body.inventory.collected_ns = env.sent_ns;
    env.body.inventory.host = h;
    if (cm_wire_encode_envelope(&env, &buf, &len) < 0) abort();
    free(buf);
}

static void fuzz_docker(const char *in, size_t n, bool split)
{
    struct cm_container_inv c;
    char err[256] = "";
    const char *nul = split ? memchr(in, '\0', n) : NULL;
    size_t cn = nul ? (size_t)(nul - in) : n;
    memset(&c, 0, sizeof c);
    int rc =
        ag_rt_docker_parse(in, cn, nul ? nul + 1 : NULL, nul ? n - cn - 1 : 0, &c, err, sizeof err);
    fuzz_check_container(&c, rc, err);
    cm_container_inv_free(&c);
}

static void fuzz_oci(const char *in, size_t n)
{
    struct cm_container_inv c;
    char err[256] = "";
    memset(&c, 0, sizeof c);
    int rc = ag_rt_oci_parse(in, n, &c, err, sizeof err);
    fuzz_check_container(&c, rc, err);
    cm_container_inv_free(&c);
}

/* daemon.json, then (mode 4) a command line merged over nothing. */
static void fuzz_daemon(const char *in, size_t n, bool flags)
{
    struct cm_host_inv h;
    char err[256] = "";
    char *args = NULL, *argv[FUZZ_MAX_ARGS];
    size_t argc = 0;
    int rc = 0;
    memset(&h, 0, sizeof h);
    if (!flags) {
        rc = ag_rt_daemon_parse(in, n, &h, err, sizeof err);
        if (rc < 0 && err[0] == '\0') abort();
    } else {
        args = malloc(n + 1);
        memcpy(args, in, n);
        args[n] = '\0';
        for (char *p = args; argc < FUZZ_MAX_ARGS && p <= args + n; p += strlen(p) + 1)
            argv[argc++] = p;
        if (ag_rt_dockerd_flags(argv, argc, &h) < 0) abort(); /* 64 flags cannot overflow */
    }
    fuzz_check_host(&h, rc);
    cm_host_inv_free(&h);
    free(args);
}

static void fuzz_env(const char *in, size_t n)
{
    char reason[64];
    char *s = malloc(n + 1);
    memcpy(s, in, n);
    s[n] = '\0';
    char *eq = strchr(s, '=');
    if (eq) *eq = '\0';
    if (ag_env_classify(s, eq ? eq + 1 : NULL, reason, sizeof reason)) {
        if (strncmp(reason, "name:", 5) != 0 && strncmp(reason, "value:", 6) != 0) abort();
    } else if (reason[0] != '\0') {
        abort();
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t n = size - 1;
    /* A copy without a terminator, so reads past the end are caught. */
    char *in = malloc(n ? n : 1);
    if (!in) return 0;
    memcpy(in, data + 1, n);
    switch (data[0] % 6) {
    case 0:
        fuzz_docker(in, n, false);
        break;
    case 1:
        fuzz_docker(in, n, true);
        break;
    case 2:
        fuzz_oci(in, n);
        break;
    case 3:
        fuzz_daemon(in, n, false);
        break;
    case 4:
        fuzz_daemon(in, n, true);
        break;
    default:
        fuzz_env(in, n);
        break;
    }
    free(in);
    return 0;
}
