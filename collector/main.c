/* main.c - boxwatch-collector: parses the command line and dispatches to a
 * subcommand. Everything else lives in the bwcollector library. */
#include "collector/collector.h"
#include "collector/config.h"
#include "collector/db.h"
#include "collector/enroll.h"
#include "collector/keygen.h"
#include "collector/migrate.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void col_main_usage(FILE *out)
{
    fprintf(out, "usage: boxwatch-collector [options] COMMAND\n\n"
                 "commands:\n"
                 "  keygen        make the collector's key pair (key_file); prints the public key\n"
                 "  enroll NAME   admit an agent; writes out_dir/NAME.key and NAME.json\n"
                 "  revoke NAME   refuse an agent from now on\n"
                 "  migrate       apply the database schema\n"
                 "  run           receive, store and serve (the daemon)\n\n"
                 "options (also JSON keys of --config FILE):\n");
    cm_config_help(col_config_options, out);
}

/* enroll, revoke, migrate: one connection, one action. */
static int col_main_db_cmd(const struct col_config *cfg, const char *cmd, const char *name,
                           char *err, size_t errlen)
{
    PGconn *conn = NULL;
    int applied = 0;
    int rc = col_db_connect(cfg->database, "boxwatch-collector", &conn, err, errlen);
    if (rc < 0) return rc;
    if (strcmp(cmd, "migrate") == 0) {
        rc = col_migrate_apply(conn, &applied, err, errlen);
        if (rc == 0)
            printf("applied %d migration(s); schema version %d\n", applied, col_migrate_latest());
    } else if (strcmp(cmd, "enroll") == 0) {
        rc = col_enroll_agent(conn, cfg, name, err, errlen);
        if (rc == 0)
            printf("enrolled %s: copy %s/%s.json and %s/%s.key to the host\n", name, cfg->out_dir,
                   name, cfg->out_dir, name);
    } else {
        rc = col_enroll_revoke(conn, name, err, errlen);
        if (rc == 0) printf("revoked %s\n", name);
    }
    PQfinish(conn);
    return rc;
}

static int col_main_dispatch(const struct col_config *cfg, char **pos, int npos, char *err,
                             size_t errlen)
{
    const char *cmd = pos[0];
    bool named = strcmp(cmd, "enroll") == 0 || strcmp(cmd, "revoke") == 0;
    if (npos != (named ? 2 : 1)) {
        snprintf(err, errlen, "%s takes %s", cmd, named ? "one NAME" : "no arguments");
        return -2;
    }
    if (strcmp(cmd, "keygen") == 0)
        return col_keygen_run(cfg->key_file, cfg->force, stdout, err, errlen);
    if (strcmp(cmd, "run") == 0) return col_run(cfg);
    if (named || strcmp(cmd, "migrate") == 0)
        return col_main_db_cmd(cfg, cmd, named ? pos[1] : NULL, err, errlen);
    snprintf(err, errlen, "unknown command '%s'", cmd);
    return -2;
}

int main(int argc, char **argv)
{
    struct col_config cfg;
    char err[CM_CONFIG_ERRLEN + 256] = "";
    char **pos = NULL;
    int npos = 0, rc;
    bool help = false;
    enum cm_log_level level;
    rc = col_config_load(&cfg, argc, argv, &pos, &npos, &help, err, sizeof err);
    if (rc == 0 && help) {
        col_main_usage(stdout);
        goto out;
    }
    if (rc == 0 && npos == 0) {
        snprintf(err, sizeof err, "no command given (see --help)");
        rc = -2;
    }
    if (rc == 0 && cm_log_level_parse(cfg.log_level, &level) == 0) cm_log_set_level(level);
    if (rc == 0) rc = col_main_dispatch(&cfg, pos, npos, err, sizeof err);
    if (rc < 0 && err[0]) fprintf(stderr, "boxwatch-collector: %s\n", err);
out:
    free(pos);
    col_config_free(&cfg);
    return rc == 0 ? 0 : (rc == -2 ? 2 : 1);
}
