/* config.h - declarative configuration: one table per daemon drives JSON
 * file parsing, defaults, validation, command-line flags and --help.
 *
 * Each option names a JSON key; the same key with '_' turned into '-' is its
 * flag (`interval_ms` -> `--interval-ms`). Precedence: default < file < flag.
 * Unknown keys, wrong types and out-of-range values fail with a message that
 * names the key and the reason. The module never logs. */
#ifndef CM_CONFIG_H
#define CM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cm_opt_type {
    CM_OPT_BOOL,        /* bool */
    CM_OPT_INT,         /* int64_t, checked against [min, max] */
    CM_OPT_DURATION_MS, /* uint64_t milliseconds; "10s", "500ms", or a JSON number of seconds */
    CM_OPT_STRING,      /* char * (owned by the config); NULL when unset */
    CM_OPT_ENUM,        /* char *, one of `choices` ("a|b|c") */
    CM_OPT_STRLIST,     /* struct cm_strlist */
};

enum {
    CM_OPT_CLI_ONLY = 1 << 0, /* a flag, not accepted in the file */
    CM_OPT_SECRET = 1 << 1,   /* value never shown (tokens) */
    CM_OPT_REQUIRED = 1 << 2, /* must be set by file or flag */
};

struct cm_strlist {
    char **items; /* owned */
    size_t n;
};

struct cm_opt {
    const char *key;
    enum cm_opt_type type;
    size_t offset;       /* offsetof() in the daemon's config struct */
    const char *defval;  /* default in flag syntax, or NULL */
    int64_t min, max;    /* CM_OPT_INT and CM_OPT_DURATION_MS (ms) */
    const char *choices; /* CM_OPT_ENUM */
    unsigned flags;
    const char *help;
};

#define CM_OPT_END {NULL, 0, 0, NULL, 0, 0, NULL, 0, NULL}
#define CM_CONFIG_ERRLEN 256

/* Sets every option to its default. */
int cm_config_defaults(const struct cm_opt *tab, void *cfg, char *err, size_t errlen);
/* Applies a JSON object read from `path` (capped at 1 MiB). */
int cm_config_load_file(const struct cm_opt *tab, void *cfg, const char *path, char *err,
                        size_t errlen);
/* Applies one value in flag syntax; STRLIST values are comma-separated. */
int cm_config_set(const struct cm_opt *tab, void *cfg, const char *key, const char *value,
                  char *err, size_t errlen);
/* Checks CM_OPT_REQUIRED options. */
int cm_config_check_required(const struct cm_opt *tab, const void *cfg, char *err,
                             size_t errlen);

/* Full command-line handling: `--config FILE` (loaded first), then every
 * `--key value` / `--key=value` / bare boolean `--key`, in order. Non-option
 * words are returned in *positional (borrowed from argv, caller frees the
 * array with free()). Sets *help when --help/-h is given and stops there. */
int cm_config_from_args(const struct cm_opt *tab, void *cfg, int argc, char **argv,
                        char ***positional, int *npositional, bool *help, char *err,
                        size_t errlen);

/* One line per option: flag, type, default, range and description. */
void cm_config_help(const struct cm_opt *tab, FILE *out);
/* Frees strings and lists the config owns. */
void cm_config_free(const struct cm_opt *tab, void *cfg);

void cm_strlist_add(struct cm_strlist *l, const char *s);
void cm_strlist_free(struct cm_strlist *l);

#endif
