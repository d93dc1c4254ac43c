/* main.c - boxwatch-agent: parse the configuration and hand over to ag_run. */
#include "agent/agent.h"
#include "agent/config.h"
#include "common/config.h"
#include "common/log.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    struct ag_config cfg;
    char err[CM_CONFIG_ERRLEN];
    bool help = false;
    int code = 2;
    if (ag_config_load(&cfg, argc, argv, &help, err, sizeof err) < 0) {
        cm_error("main", "bad configuration", "err=\"%s\"", err);
        goto out;
    }
    if (help) {
        ag_config_help(stdout);
        code = 0;
        goto out;
    }
    code = ag_run(&cfg);
out:
    ag_config_free(&cfg);
    return code;
}
