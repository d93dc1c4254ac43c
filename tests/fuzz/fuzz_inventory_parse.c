/* fuzz_inventory_parse.c - feeds untrusted bytes to the agent inventory's
 * own parsers: /proc/<pid>/status, /proc/<pid>/net/tcp and tcp6, runc's
 * state.json, crun's status, podman's containers.json, passwd/group lines, and a dockerd
 * command line (split, then its --data-root and --config-file). The first
 * byte picks the parser, the rest is the file content, copied without a
 * terminator so reads past the end are caught. */
#include "agent/inv_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NPARSERS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_listen(const char *buf, size_t len, bool v6)
{
    struct cm_listen l[16];
    size_t n = 0;
    ag_inv_net_tcp_parse(buf, len, v6, l, 16, &n);
    for (size_t i = 0; i < n; i++) {
        free(l[i].protocol);
        free(l[i].address);
    }
}

static void fuzz_json(const char *buf, size_t len, unsigned which)
{
    char err[256];
    if (which == 3 || which == 7) {
        struct ag_inv_runc_state st;
        int rc = which == 3 ? ag_inv_runc_state_parse(buf, len, &st, err, sizeof err)
                            : ag_inv_crun_status_parse(buf, len, &st, err, sizeof err);
        if (rc == 0) ag_inv_runc_state_free(&st);
        return;
    }
    struct ag_inv_podman_meta *m = NULL;
    size_t n = 0;
    if (ag_inv_podman_index_parse(buf, len, &m, &n, err, sizeof err) == 0)
        ag_inv_podman_index_free(m, n);
}

static void fuzz_cmdline(const char *data, size_t len)
{
    char *buf = malloc(len + 1); /* split needs one byte more */
    char *argv[64];
    if (!buf) return;
    memcpy(buf, data, len);
    size_t argc = ag_inv_cmdline_split(buf, len, argv, 64);
    (void)ag_inv_dockerd_data_root(argv, argc);
    (void)ag_inv_dockerd_config_file(argv, argc);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned which = data[0] % NPARSERS;
    size_t len = size - 1;
    if (len > AG_INV_SMALL_READ * 16) len = AG_INV_SMALL_READ * 16;
    char *buf = malloc(len ? len : 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, len);
    char name[64];
    uint32_t uid = 0;
    switch (which) {
    case 0:
        (void)ag_inv_status_parse(buf, len, name, sizeof name, &uid);
        break;
    case 1:
    case 2:
        fuzz_listen(buf, len, which == 2);
        break;
    case 3:
    case 4:
    case 7:
        fuzz_json(buf, len, which);
        break;
    case 5:
        (void)ag_inv_idfile_lookup(buf, len, 998, name, sizeof name);
        break;
    default:
        fuzz_cmdline(buf, len);
        break;
    }
    free(buf);
    return 0;
}
