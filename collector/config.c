/* config.c - the collector's option table. */
#include "collector/config.h"

#include <stddef.h>
#include <string.h>

#define OFF(f) offsetof(struct col_config, f)
#define DAY_MS (86400LL * 1000)

const struct cm_opt col_config_options[] = {
    {"database", CM_OPT_STRING, OFF(database), "dbname=boxwatch", 0, 0, NULL, 0,
     "PostgreSQL connection string (libpq conninfo)"},
    {"listen", CM_OPT_STRING, OFF(listen), "tcp://127.0.0.1:7070", 0, 0, NULL, 0,
     "ZeroMQ endpoint agents connect to (CURVE)"},
    {"key_file", CM_OPT_STRING, OFF(key_file), "/etc/boxwatch/collector.key", 0, 0, NULL, 0,
     "collector CURVE key pair file (mode 0600), made by `keygen`"},
    {"http_listen", CM_OPT_STRING, OFF(http_listen), "127.0.0.1:8080", 0, 0, NULL, 0,
     "HTTP API address host:port"},
    {"read_token", CM_OPT_STRING, OFF(read_token), NULL, 0, 0, NULL, CM_OPT_SECRET,
     "bearer token for read requests (at least 16 characters)"},
    {"admin_token", CM_OPT_STRING, OFF(admin_token), NULL, 0, 0, NULL, CM_OPT_SECRET,
     "bearer token for changes (at least 16 characters)"},
    {"log_level", CM_OPT_ENUM, OFF(log_level), "info", 0, 0, "debug|info|warn|error", 0,
     "least severe log level written"},
    {"batch_max_samples", CM_OPT_INT, OFF(batch_max_samples), "10000", 1, 1000000, NULL, 0,
     "sample rows per COPY transaction"},
    {"batch_max_delay_ms", CM_OPT_DURATION_MS, OFF(batch_max_delay_ms), "200ms", 1, 60000, NULL, 0,
     "longest a partial batch waits before it is written"},
    {"queue_max_envelopes", CM_OPT_INT, OFF(queue_max_envelopes), "4096", 16, 1000000, NULL, 0,
     "envelopes held in memory between the socket and the database writer"},
    {"max_sample_age_ms", CM_OPT_DURATION_MS, OFF(max_sample_age_ms), "30d", 60000, 3650 * DAY_MS,
     NULL, 0, "samples older than this are rejected"},
    {"max_clock_skew_ms", CM_OPT_DURATION_MS, OFF(max_clock_skew_ms), "10m", 1000, DAY_MS, NULL, 0,
     "samples further than this in the future are rejected"},
    {"agent_offline_after_ms", CM_OPT_DURATION_MS, OFF(agent_offline_after_ms), "60s", 1000, DAY_MS,
     NULL, 0, "an agent not heard from for this long is shown offline"},
    {"api_db_connections", CM_OPT_INT, OFF(api_db_connections), "4", 1, 64, NULL, 0,
     "PostgreSQL connections the API uses for queries"},
    {"http_max_connections", CM_OPT_INT, OFF(http_max_connections), "256", 1, 65536, NULL, 0,
     "concurrent HTTP connections; more are refused"},
    {"allowed_registries", CM_OPT_STRLIST, OFF(allowed_registries), "", 0, 0, NULL, 0,
     "registries or registry/namespace prefixes images may come from (e.g. "
     "registry.example.com,docker.io/library); empty = no registry policy"},
    {"rules_file", CM_OPT_STRING, OFF(rules_file), NULL, 0, 0, NULL, 0,
     "detection rules file (JSON, docs/RULES.md) added to the built-in rules; a rule with a "
     "built-in rule's id replaces it; re-read on SIGHUP"},
    {"agent_endpoint", CM_OPT_STRING, OFF(agent_endpoint), "tcp://127.0.0.1:7070", 0, 0, NULL, 0,
     "enroll: collector address written into the agent's config"},
    {"out_dir", CM_OPT_STRING, OFF(out_dir), ".", 0, 0, NULL, CM_OPT_CLI_ONLY,
     "enroll: directory for NAME.json and NAME.key"},
    {"force", CM_OPT_BOOL, OFF(force), "false", 0, 0, NULL, CM_OPT_CLI_ONLY,
     "keygen: replace an existing key file"},
    CM_OPT_END,
};

int col_config_load(struct col_config *cfg, int argc, char **argv, char ***positional,
                    int *npositional, bool *help, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    int rc = cm_config_defaults(col_config_options, cfg, err, errlen);
    if (rc < 0) return rc;
    return cm_config_from_args(col_config_options, cfg, argc, argv, positional, npositional, help,
                               err, errlen);
}

void col_config_free(struct col_config *cfg)
{
    cm_config_free(col_config_options, cfg);
}
