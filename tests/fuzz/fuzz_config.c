/* fuzz_config.c - untrusted bytes as a JSON config file for
 * cm_config_load_file, with a table holding every option type. The bytes go
 * through a memfd so the real open/fstat/read path is exercised. */
#include "common/config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct fcfg {
    bool flag;
    int64_t count;
    uint64_t period_ms;
    char *name;
    char *mode;
    struct cm_strlist list;
    char *secret;
    bool cli;
};

static const struct cm_opt fuzz_tab[] = {
    {"flag", CM_OPT_BOOL, offsetof(struct fcfg, flag), "false", 0, 0, NULL, 0, "b"},
    {"count", CM_OPT_INT, offsetof(struct fcfg, count), "1", -5, 1000, NULL, 0, "i"},
    {"period_ms", CM_OPT_DURATION_MS, offsetof(struct fcfg, period_ms), "1s", 1, 86400000, NULL, 0,
     "d"},
    {"name", CM_OPT_STRING, offsetof(struct fcfg, name), "x", 0, 0, NULL, 0, "s"},
    {"mode", CM_OPT_ENUM, offsetof(struct fcfg, mode), "a", 0, 0, "a|bb|ccc", 0, "e"},
    {"list", CM_OPT_STRLIST, offsetof(struct fcfg, list), "p,q", 0, 0, NULL, 0, "l"},
    {"secret", CM_OPT_STRING, offsetof(struct fcfg, secret), NULL, 0, 0, NULL,
     CM_OPT_SECRET | CM_OPT_REQUIRED, "t"},
    {"cli", CM_OPT_BOOL, offsetof(struct fcfg, cli), "false", 0, 0, NULL, CM_OPT_CLI_ONLY, "c"},
    CM_OPT_END,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fcfg cfg;
    char err[CM_CONFIG_ERRLEN], path[64];
    int fd = memfd_create("fuzz_config", MFD_CLOEXEC);
    if (fd < 0) abort();
    if (size && write(fd, data, size) != (ssize_t)size) abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    memset(&cfg, 0, sizeof cfg);
    if (cm_config_defaults(fuzz_tab, &cfg, err, sizeof err) < 0) abort();
    if (cm_config_load_file(fuzz_tab, &cfg, path, err, sizeof err) == 0) {
        /* Whatever was accepted must hold the table's promises. */
        if (cfg.count < -5 || cfg.count > 1000 || cfg.period_ms < 1 || cfg.period_ms > 86400000)
            abort();
        if (cfg.cli) abort(); /* CLI-only key taken from a file */
        cm_config_check_required(fuzz_tab, &cfg, err, sizeof err);
    } else if (!memchr(err, '\0', sizeof err) || err[0] == '\0') {
        abort(); /* a failure must explain itself */
    }
    cm_config_free(fuzz_tab, &cfg);
    close(fd);
    return 0;
}
