/* config.h - the collector's options (one table: file, flags, --help, docs). */
#ifndef COL_CONFIG_H
#define COL_CONFIG_H

#include "common/config.h"

#include <stdbool.h>
#include <stdint.h>

struct col_config {
    char *database;    /* libpq conninfo */
    char *listen;      /* ZeroMQ endpoint agents connect to */
    char *key_file;    /* collector CURVE secret key file */
    char *http_listen; /* API address "host:port" */
    char *read_token;  /* bearer token for GET routes */
    char *admin_token; /* bearer token for changes */
    char *log_level;
    int64_t batch_max_samples;   /* rows per COPY transaction */
    uint64_t batch_max_delay_ms; /* flush a partial batch after this long */
    int64_t queue_max_envelopes; /* bounded hand-off loop -> writer */
    uint64_t max_sample_age_ms;  /* reject samples older than this */
    uint64_t max_clock_skew_ms;  /* reject samples this far in the future */
    uint64_t agent_offline_after_ms;
    int64_t api_db_connections;
    int64_t http_max_connections;
    struct cm_strlist allowed_registries; /* empty = no registry policy */
    char *rules_file;                     /* operator's detection rules, NULL = built-in only */
    /* enroll */
    char *agent_endpoint; /* collector address written into agent configs */
    char *out_dir;        /* where enroll writes the agent's config and key */
    bool force;           /* keygen: replace an existing key file */
};

extern const struct cm_opt col_config_options[];

/* Defaults, then --config and flags; prints nothing. On error, err names the key. */
int col_config_load(struct col_config *cfg, int argc, char **argv, char ***positional,
                    int *npositional, bool *help, char *err, size_t errlen);
void col_config_free(struct col_config *cfg);

#endif
