/* enroll.c - agent enrollment and revocation (see enroll.h).
 *
 * The INSERT and the two files are made together: the row is committed only
 * after both files are written, and the files are removed when anything
 * fails, so a half-enrolled agent never exists. It does not ship the files
 * anywhere. */
#include "collector/enroll.h"

#include "collector/db.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/keys.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COL_ENROLL_NAME_MAX 63

bool col_enroll_name_is_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > COL_ENROLL_NAME_MAX) return false;
    if (!((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') ||
          (name[0] >= '0' && name[0] <= '9')))
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Creates `path` exclusively with `mode` and writes text into it. */
static int col_enroll_write_new(const char *path, const char *text, mode_t mode, char *err,
                                size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot create '%s': %s", path, strerror(e));
        return -e;
    }
    size_t len = strlen(text), off = 0;
    int rc = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            rc = -errno;
            snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    if (close(fd) < 0 && rc == 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
    }
    if (rc < 0) unlink(path);
    return rc;
}

static char *col_enroll_agent_json(const struct col_config *cfg, const char *collector_pub,
                                   const char *key_path)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "collector", cfg->agent_endpoint ? cfg->agent_endpoint : "");
    cJSON_AddStringToObject(o, "collector_public_key", collector_pub);
    cJSON_AddStringToObject(o, "key_file", key_path);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

/* Both files; removes what it made on failure. The JSON is created first
 * with O_EXCL, which reserves the name against a concurrent enroll. */
static int col_enroll_write_files(const struct col_config *cfg, const char *name,
                                  const struct cm_keypair *kp, const char *collector_pub, char *err,
                                  size_t errlen)
{
    char dir[PATH_MAX], key_path[PATH_MAX], json_path[PATH_MAX];
    struct cm_buf json;
    struct stat st;
    int rc;
    if (!realpath(cfg->out_dir ? cfg->out_dir : ".", dir)) {
        rc = -errno;
        snprintf(err, errlen, "out_dir '%s': %s", cfg->out_dir, strerror(errno));
        return rc;
    }
    if (snprintf(key_path, sizeof key_path, "%s/%s.key", dir, name) >= (int)sizeof key_path ||
        snprintf(json_path, sizeof json_path, "%s/%s.json", dir, name) >= (int)sizeof json_path) {
        snprintf(err, errlen, "out_dir: path too long");
        return CM_ETOOBIG;
    }
    if (lstat(key_path, &st) == 0) {
        snprintf(err, errlen, "'%s' already exists", key_path);
        return -EEXIST;
    }
    char *text = col_enroll_agent_json(cfg, collector_pub, key_path);
    cm_buf_init(&json, 64 * 1024);
    rc = cm_buf_printf(&json, "%s\n", text);
    free(text);
    if (rc == 0) rc = col_enroll_write_new(json_path, json.data, 0644, err, errlen);
    cm_buf_close(&json);
    if (rc < 0) return rc;
    rc = cm_keys_write_secret(key_path, kp, err, errlen);
    if (rc < 0) unlink(json_path);
    return rc;
}

static void col_enroll_remove_files(const struct col_config *cfg, const char *name)
{
    char dir[PATH_MAX], path[PATH_MAX + 80];
    if (!realpath(cfg->out_dir ? cfg->out_dir : ".", dir)) return;
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    unlink(path);
}

int col_enroll_agent(PGconn *conn, const struct col_config *cfg, const char *name, char *err,
                     size_t errlen)
{
    char collector_pub[CM_KEY_Z85_LEN + 1];
    struct cm_keypair kp;
    PGresult *res = NULL;
    bool files = false;
    int rc;
    if (!col_enroll_name_is_valid(name)) {
        snprintf(err, errlen,
                 "agent name must be 1-63 characters of A-Z a-z 0-9 _ . - "
                 "starting with a letter or digit");
        return CM_EPARSE;
    }
    rc = cm_keys_read_public(cfg->key_file, collector_pub, err, errlen);
    if (rc < 0) return rc;
    rc = cm_keys_generate(&kp);
    if (rc < 0) {
        snprintf(err, errlen, "cannot generate a key pair: %s", strerror(-rc));
        return rc;
    }
    const char *const params[] = {name, kp.public_z85};
    rc = col_db_exec(conn, "BEGIN", 0, NULL, err, errlen);
    if (rc < 0) goto out;
    res = PQexecParams(conn, "INSERT INTO agents (name, public_key) VALUES ($1, $2)", 2, NULL,
                       params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = col_db_fail(conn, res, "enroll", err, errlen);
        if (col_db_is_state(res, "23505")) {
            snprintf(err, errlen, "agent '%s' is already enrolled", name);
            rc = -EEXIST;
        }
        goto out;
    }
    rc = col_enroll_write_files(cfg, name, &kp, collector_pub, err, errlen);
    if (rc < 0) goto out;
    files = true;
    rc = col_db_commit(conn, err, errlen);
out:
    PQclear(res);
    if (rc < 0) {
        col_db_rollback(conn);
        if (files) col_enroll_remove_files(cfg, name);
    }
    memset(kp.secret_z85, 0, sizeof kp.secret_z85);
    return rc;
}

int col_enroll_revoke(PGconn *conn, const char *name, char *err, size_t errlen)
{
    const char *const params[] = {name};
    if (!col_enroll_name_is_valid(name)) {
        snprintf(err, errlen, "'%s' is not a valid agent name", name ? name : "");
        return CM_EPARSE;
    }
    PGresult *res = PQexecParams(conn,
                                 "UPDATE agents SET revoked_at = now() "
                                 "WHERE name = $1 AND revoked_at IS NULL",
                                 1, NULL, params, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = col_db_fail(conn, res, "revoke", err, errlen);
    else if (strcmp(PQcmdTuples(res), "1") != 0) {
        snprintf(err, errlen, "no enrolled, unrevoked agent named '%s'", name);
        rc = CM_ENOTFOUND;
    }
    PQclear(res);
    return rc;
}
