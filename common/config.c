/* config.c - table-driven config: defaults, JSON file, flags, help.
 *
 * Every value, whatever its origin, goes through cm_opt_apply_text() or the
 * JSON-typed equivalent, so the rules for a key live in one place. */
#include "common/config.h"

#include "common/alloc.h"
#include "common/err.h"
#include "common/parse.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CM_CONFIG_MAX_FILE (1024 * 1024)

static void *cm_opt_field(const struct cm_opt *o, void *cfg)
{
    return (char *)cfg + o->offset;
}

static const struct cm_opt *cm_opt_find(const struct cm_opt *tab, const char *key)
{
    for (const struct cm_opt *o = tab; o->key; o++) {
        if (strcmp(o->key, key) == 0)
            return o;
    }
    return NULL;
}

void cm_strlist_add(struct cm_strlist *l, const char *s)
{
    l->items = cm_xrealloc(l->items, (l->n + 1) * sizeof *l->items);
    l->items[l->n++] = cm_xstrdup(s);
}

void cm_strlist_free(struct cm_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static bool cm_enum_has(const char *choices, const char *v)
{
    size_t vlen = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vlen && strncmp(p, v, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static int cm_opt_fail(char *err, size_t errlen, const struct cm_opt *o, const char *why)
{
    snprintf(err, errlen, "config key '%s': %s", o->key, why);
    return CM_ECONFIG;
}

static int cm_opt_apply_int(const struct cm_opt *o, void *cfg, const char *v, char *err,
                            size_t errlen)
{
    int64_t n;
    if (cm_parse_i64(v, strlen(v), &n) < 0)
        return cm_opt_fail(err, errlen, o, "not an integer");
    if (n < o->min || n > o->max) {
        char why[128];
        snprintf(why, sizeof why, "%lld is outside [%lld, %lld]", (long long)n,
                 (long long)o->min, (long long)o->max);
        return cm_opt_fail(err, errlen, o, why);
    }
    *(int64_t *)cm_opt_field(o, cfg) = n;
    return 0;
}

static int cm_opt_apply_duration(const struct cm_opt *o, void *cfg, const char *v, char *err,
                                 size_t errlen)
{
    uint64_t ms;
    if (cm_parse_duration_ms(v, &ms) < 0)
        return cm_opt_fail(err, errlen, o, "not a duration (e.g. 500ms, 10s, 5m)");
    if (ms > (uint64_t)INT64_MAX || (int64_t)ms < o->min || (int64_t)ms > o->max) {
        char why[128];
        snprintf(why, sizeof why, "must be between %lldms and %lldms", (long long)o->min,
                 (long long)o->max);
        return cm_opt_fail(err, errlen, o, why);
    }
    *(uint64_t *)cm_opt_field(o, cfg) = ms;
    return 0;
}

static void cm_opt_set_string(const struct cm_opt *o, void *cfg, const char *v)
{
    char **slot = cm_opt_field(o, cfg);
    free(*slot);
    *slot = v ? cm_xstrdup(v) : NULL;
}

/* Applies a value given as text (flag or default). */
static int cm_opt_apply_text(const struct cm_opt *o, void *cfg, const char *v, char *err,
                             size_t errlen)
{
    switch (o->type) {
    case CM_OPT_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
            *(bool *)cm_opt_field(o, cfg) = true;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
            *(bool *)cm_opt_field(o, cfg) = false;
        else
            return cm_opt_fail(err, errlen, o, "expected true or false");
        return 0;
    case CM_OPT_INT:
        return cm_opt_apply_int(o, cfg, v, err, errlen);
    case CM_OPT_DURATION_MS:
        return cm_opt_apply_duration(o, cfg, v, err, errlen);
    case CM_OPT_ENUM:
        if (!cm_enum_has(o->choices, v)) {
            char why[160];
            snprintf(why, sizeof why, "must be one of %s", o->choices);
            return cm_opt_fail(err, errlen, o, why);
        }
        cm_opt_set_string(o, cfg, v);
        return 0;
    case CM_OPT_STRING:
        cm_opt_set_string(o, cfg, v);
        return 0;
    case CM_OPT_STRLIST: {
        struct cm_strlist *l = cm_opt_field(o, cfg);
        cm_strlist_free(l);
        const char *p = v;
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            char *item = cm_xstrndup(p, n);
            if (*item)
                cm_strlist_add(l, item);
            free(item);
            if (!comma)
                break;
            p = comma + 1;
        }
        return 0;
    }
    }
    return cm_opt_fail(err, errlen, o, "unsupported type");
}

/* Applies a value taken from the JSON file, checking its JSON type. */
static int cm_opt_apply_json(const struct cm_opt *o, void *cfg, const cJSON *j, char *err,
                             size_t errlen)
{
    char num[64];
    switch (o->type) {
    case CM_OPT_BOOL:
        if (!cJSON_IsBool(j))
            return cm_opt_fail(err, errlen, o, "expected true or false");
        *(bool *)cm_opt_field(o, cfg) = cJSON_IsTrue(j);
        return 0;
    case CM_OPT_INT:
    case CM_OPT_DURATION_MS:
        if (cJSON_IsString(j) && o->type == CM_OPT_DURATION_MS)
            return cm_opt_apply_text(o, cfg, j->valuestring, err, errlen);
        /* Range-check before the cast: converting 1e300 or NaN is undefined. */
        if (!cJSON_IsNumber(j) || !(j->valuedouble >= -9.2e18 && j->valuedouble <= 9.2e18) ||
            j->valuedouble != (double)(int64_t)j->valuedouble)
            return cm_opt_fail(err, errlen, o, "expected a whole number");
        snprintf(num, sizeof num, "%lld", (long long)j->valuedouble);
        return cm_opt_apply_text(o, cfg, num, err, errlen);
    case CM_OPT_STRING:
    case CM_OPT_ENUM:
        if (!cJSON_IsString(j))
            return cm_opt_fail(err, errlen, o, "expected a string");
        return cm_opt_apply_text(o, cfg, j->valuestring, err, errlen);
    case CM_OPT_STRLIST: {
        if (!cJSON_IsArray(j))
            return cm_opt_fail(err, errlen, o, "expected an array of strings");
        struct cm_strlist *l = cm_opt_field(o, cfg);
        cm_strlist_free(l);
        const cJSON *it;
        cJSON_ArrayForEach(it, j)
        {
            if (!cJSON_IsString(it))
                return cm_opt_fail(err, errlen, o, "expected an array of strings");
            cm_strlist_add(l, it->valuestring);
        }
        return 0;
    }
    }
    return cm_opt_fail(err, errlen, o, "unsupported type");
}

int cm_config_defaults(const struct cm_opt *tab, void *cfg, char *err, size_t errlen)
{
    for (const struct cm_opt *o = tab; o->key; o++) {
        if (!o->defval)
            continue;
        int rc = cm_opt_apply_text(o, cfg, o->defval, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int cm_read_small_file(const char *path, char **out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "config file '%s': %s", path, strerror(errno));
        return -errno;
    }
    int rc = 0;
    char *data = NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CM_CONFIG_MAX_FILE) {
        snprintf(err, errlen, "config file '%s': not a regular file of at most 1 MiB", path);
        rc = CM_ECONFIG;
        goto out;
    }
    data = cm_xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "config file '%s': short read", path);
            rc = CM_ECONFIG;
            goto out;
        }
        got += (size_t)n;
    }
    data[got] = '\0';
    if (memchr(data, '\0', got)) {
        snprintf(err, errlen, "config file '%s': contains a NUL byte", path);
        rc = CM_ECONFIG;
        goto out;
    }
    *out = data;
    data = NULL;
out:
    free(data);
    close(fd);
    return rc;
}

int cm_config_load_file(const struct cm_opt *tab, void *cfg, const char *path, char *err,
                        size_t errlen)
{
    char *text = NULL;
    cJSON *root = NULL;
    int rc = cm_read_small_file(path, &text, err, errlen);
    if (rc < 0)
        goto out;
    /* Require the object to end the file: plain cJSON_Parse ignores trailing
     * text, which would hide a half-merged file. */
    const char *end = NULL;
    root = cJSON_ParseWithOpts(text, &end, true);
    if (!root) {
        snprintf(err, errlen, "config file '%s': not valid JSON (error near byte %ld)", path,
                 end ? (long)(end - text) : 0L);
        rc = CM_ECONFIG;
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "config file '%s': not a JSON object", path);
        rc = CM_ECONFIG;
        goto out;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        const struct cm_opt *o = cm_opt_find(tab, item->string);
        if (!o) {
            snprintf(err, errlen, "config file '%s': unknown key '%s'", path, item->string);
            rc = CM_ECONFIG;
            goto out;
        }
        if (o->flags & CM_OPT_CLI_ONLY) {
            snprintf(err, errlen, "config file '%s': key '%s' is a command-line flag only",
                     path, item->string);
            rc = CM_ECONFIG;
            goto out;
        }
        rc = cm_opt_apply_json(o, cfg, item, err, errlen);
        if (rc < 0)
            goto out;
    }
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}

int cm_config_set(const struct cm_opt *tab, void *cfg, const char *key, const char *value,
                  char *err, size_t errlen)
{
    const struct cm_opt *o = cm_opt_find(tab, key);
    if (!o) {
        snprintf(err, errlen, "unknown option '%s'", key);
        return CM_ECONFIG;
    }
    return cm_opt_apply_text(o, cfg, value, err, errlen);
}

static bool cm_opt_is_set(const struct cm_opt *o, const void *cfg)
{
    const void *f = (const char *)cfg + o->offset;
    switch (o->type) {
    case CM_OPT_STRING:
    case CM_OPT_ENUM:
        return *(char *const *)f != NULL && **(char *const *)f != '\0';
    case CM_OPT_STRLIST:
        return ((const struct cm_strlist *)f)->n > 0;
    default:
        return true;
    }
}

int cm_config_check_required(const struct cm_opt *tab, const void *cfg, char *err,
                             size_t errlen)
{
    for (const struct cm_opt *o = tab; o->key; o++) {
        if ((o->flags & CM_OPT_REQUIRED) && !cm_opt_is_set(o, cfg))
            return cm_opt_fail(err, errlen, o, "is required");
    }
    return 0;
}

/* "--interval-ms" -> "interval_ms"; returns false for non-flags. */
static bool cm_flag_to_key(const char *arg, char *key, size_t keylen, const char **inline_val)
{
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
        return false;
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    if (n >= keylen) /* cut, it could match another key: make it match none */
        n = 0;
    for (size_t i = 0; i < n; i++)
        key[i] = name[i] == '-' ? '_' : name[i];
    key[n] = '\0';
    *inline_val = eq ? eq + 1 : NULL;
    return true;
}

static int cm_config_args_apply(const struct cm_opt *tab, void *cfg, int argc, char **argv,
                                char **positional, int *npositional, bool *help, char *err,
                                size_t errlen)
{
    char key[128];
    const char *val;
    int rc;
    /* First pass: --help and --config, so the file sits below the flags. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *help = true;
            return 0;
        }
        if (!cm_flag_to_key(argv[i], key, sizeof key, &val) || strcmp(key, "config") != 0)
            continue;
        if (!val && i + 1 < argc)
            val = argv[++i];
        if (!val) {
            snprintf(err, errlen, "option '--config' needs a file");
            return CM_ECONFIG;
        }
        if ((rc = cm_config_load_file(tab, cfg, val, err, errlen)) < 0)
            return rc;
    }
    for (int i = 1; i < argc; i++) {
        if (!cm_flag_to_key(argv[i], key, sizeof key, &val)) {
            positional[(*npositional)++] = argv[i];
            continue;
        }
        if (strcmp(key, "config") == 0) {
            if (!val)
                i++;
            continue;
        }
        const struct cm_opt *o = cm_opt_find(tab, key);
        if (!o) {
            snprintf(err, errlen, "unknown option '%s' (see --help)", argv[i]);
            return CM_ECONFIG;
        }
        if (!val && o->type == CM_OPT_BOOL &&
            (i + 1 >= argc || (strcmp(argv[i + 1], "true") != 0 &&
                               strcmp(argv[i + 1], "false") != 0)))
            val = "true";
        if (!val && i + 1 < argc)
            val = argv[++i];
        if (!val) {
            snprintf(err, errlen, "option '%s' needs a value", argv[i]);
            return CM_ECONFIG;
        }
        if ((rc = cm_opt_apply_text(o, cfg, val, err, errlen)) < 0)
            return rc;
    }
    return 0;
}

int cm_config_from_args(const struct cm_opt *tab, void *cfg, int argc, char **argv,
                        char ***positional, int *npositional, bool *help, char *err,
                        size_t errlen)
{
    char **pos = cm_xcalloc((size_t)argc + 1, sizeof(char *));
    int npos = 0;
    *help = false;
    int rc = cm_config_args_apply(tab, cfg, argc, argv, pos, &npos, help, err, errlen);
    if (rc < 0) {
        free(pos); /* the caller gets nothing to free on failure */
        pos = NULL;
        npos = 0;
    }
    *positional = pos;
    *npositional = npos;
    return rc;
}

static const char *cm_opt_type_name(const struct cm_opt *o)
{
    static const char *const names[] = {"bool", "int", "duration", "string", "enum", "list"};
    return names[o->type];
}

void cm_config_help(const struct cm_opt *tab, FILE *out)
{
    fprintf(out, "  %-28s %-9s %s\n", "--config FILE", "path",
                 "JSON config file; flags override its keys");
    for (const struct cm_opt *o = tab; o->key; o++) {
        char flag[96];
        snprintf(flag, sizeof flag, "--%s", o->key);
        for (char *p = flag + 2; *p; p++)
            if (*p == '_')
                *p = '-';
        fprintf(out, "  %-28s %-9s %s", flag, cm_opt_type_name(o), o->help);
        if (o->type == CM_OPT_ENUM)
            fprintf(out, " (one of %s)", o->choices);
        if (o->type == CM_OPT_INT)
            fprintf(out, " [%lld..%lld]", (long long)o->min, (long long)o->max);
        if (o->flags & CM_OPT_REQUIRED)
            fprintf(out, " (required)");
        if (o->defval && !(o->flags & CM_OPT_SECRET))
            fprintf(out, " (default: %s)", *o->defval ? o->defval : "\"\"");
        if (o->flags & CM_OPT_CLI_ONLY)
            fprintf(out, " (flag only)");
        fputc('\n', out);
    }
}

void cm_config_free(const struct cm_opt *tab, void *cfg)
{
    for (const struct cm_opt *o = tab; o->key; o++) {
        if (o->type == CM_OPT_STRING || o->type == CM_OPT_ENUM) {
            char **slot = cm_opt_field(o, cfg);
            free(*slot);
            *slot = NULL;
        } else if (o->type == CM_OPT_STRLIST) {
            cm_strlist_free(cm_opt_field(o, cfg));
        }
    }
}
