/* test_enroll.c - enroll/revoke against a real PostgreSQL and real files. */
#include "collector/db.h"
#include "collector/enroll.h"
#include "collector/keygen.h"
#include "common/keys.h"
#include "tests/util/pgutil.h"
#include "tests/util/testutil.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"

static char conninfo[512];
static PGconn *conn;
static char *dir;
static char keypath[512];
static struct col_config cfg;

static void setup(void)
{
    const char *why = NULL;
    char err[256];
    if (!tu_pg_available(&why)) cr_skip_test("%s", why);
    cr_assert_eq(tu_pg_create_migrated_db(conninfo, sizeof conninfo), 0);
    cr_assert_eq(col_db_connect(conninfo, "test", &conn, err, sizeof err), 0, "%s", err);
    dir = tu_mkdtemp();
    snprintf(keypath, sizeof keypath, "%s/collector.key", dir);
    FILE *out = tmpfile();
    cr_assert_eq(col_keygen_run(keypath, false, out, err, sizeof err), 0, "%s", err);
    fclose(out);
    memset(&cfg, 0, sizeof cfg);
    cfg.key_file = keypath;
    cfg.out_dir = dir;
    cfg.agent_endpoint = "tcp://collector.example:7070";
}

static void teardown(void)
{
    PQfinish(conn);
    conn = NULL;
    tu_pg_drop_db(conninfo);
    if (dir) tu_rm_rf(dir);
    free(dir);
    dir = NULL;
}

static long count_agents(const char *name)
{
    PGresult *res = NULL;
    char err[256];
    const char *const p[] = {name};
    cr_assert_eq(col_db_query(conn, "SELECT count(*) FROM agents WHERE name = $1", 1, p, &res, err,
                              sizeof err),
                 0, "%s", err);
    long v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

TestSuite(enroll, .init = setup, .fini = teardown, .timeout = 60);

Test(enroll, writes_row_key_and_config)
{
    char err[256], path[600];
    cr_assert_eq(col_enroll_agent(conn, &cfg, "web-01.prod", err, sizeof err), 0, "%s", err);
    cr_assert_eq(count_agents("web-01.prod"), 1);

    struct stat st;
    snprintf(path, sizeof path, "%s/web-01.prod.key", dir);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    struct cm_keypair kp;
    cr_assert_eq(cm_keys_read_secret(path, &kp, err, sizeof err), 0, "%s", err);

    PGresult *res = NULL;
    const char *const p[] = {kp.public_z85};
    cr_assert_eq(col_db_query(conn, "SELECT name FROM agents WHERE public_key = $1", 1, p, &res,
                              err, sizeof err),
                 0);
    cr_assert_eq(PQntuples(res), 1, "the row holds the key written to the file");
    PQclear(res);

    char collector_pub[CM_KEY_Z85_LEN + 1];
    cr_assert_eq(cm_keys_read_public(keypath, collector_pub, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/web-01.prod.json", dir);
    char *text = tu_read_file(path, NULL);
    cr_assert_not_null(text);
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "valid JSON: %s", text);
    cr_assert_eq(cJSON_GetArraySize(j), 3);
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "collector")),
                     "tcp://collector.example:7070");
    cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "collector_public_key")),
                     collector_pub);
    const char *kf = cJSON_GetStringValue(cJSON_GetObjectItem(j, "key_file"));
    cr_assert_not_null(kf);
    cr_assert_eq(kf[0], '/', "key_file is absolute: %s", kf);
    struct cm_keypair kp2;
    cr_assert_eq(cm_keys_read_secret(kf, &kp2, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(kp2.public_z85, kp.public_z85);
    cJSON_Delete(j);
    free(text);
}

Test(enroll, duplicate_name_refused_and_files_kept)
{
    char err[256], path[600];
    cr_assert_eq(col_enroll_agent(conn, &cfg, "db1", err, sizeof err), 0, "%s", err);
    snprintf(path, sizeof path, "%s/db1.key", dir);
    char *before = tu_read_file(path, NULL);
    /* another out_dir so the files do not collide: the row must */
    char *other = tu_mkdtemp();
    cfg.out_dir = other;
    cr_assert_eq(col_enroll_agent(conn, &cfg, "db1", err, sizeof err), -EEXIST);
    cr_assert_neq(strstr(err, "already enrolled"), NULL, "%s", err);
    snprintf(path, sizeof path, "%s/db1.json", other);
    cr_assert_neq(access(path, F_OK), 0, "no files left behind by a refused enroll");
    cr_assert_eq(count_agents("db1"), 1);
    snprintf(path, sizeof path, "%s/db1.key", dir);
    char *after = tu_read_file(path, NULL);
    cr_assert_str_eq(before, after);
    free(before);
    free(after);
    tu_rm_rf(other);
    free(other);
}

Test(enroll, bad_names_refused)
{
    const char *bad[] = {
        "",        "-x",
        ".hidden", "a/b",
        "../etc",  "a b",
        "x;drop",  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_not(col_enroll_name_is_valid(bad[i]), "%s", bad[i]);
        cr_assert_lt(col_enroll_agent(conn, &cfg, bad[i], err, sizeof err), 0, "%s", bad[i]);
    }
    cr_assert(col_enroll_name_is_valid("Host_1.a-b"));
    PGresult *res = NULL;
    cr_assert_eq(col_db_query(conn, "SELECT count(*) FROM agents", 0, NULL, &res, err, sizeof err),
                 0);
    cr_assert_str_eq(PQgetvalue(res, 0, 0), "0");
    PQclear(res);
}

Test(enroll, existing_key_file_refused_without_row)
{
    char err[256];
    cr_assert_eq(tu_write_file(dir, "h2.key", "whatever\n"), 0);
    cr_assert_lt(col_enroll_agent(conn, &cfg, "h2", err, sizeof err), 0);
    cr_assert_eq(count_agents("h2"), 0);
}

Test(enroll, revoke_sets_revoked_at_once)
{
    char err[256];
    cr_assert_eq(col_enroll_agent(conn, &cfg, "h3", err, sizeof err), 0, "%s", err);
    cr_assert_eq(col_enroll_revoke(conn, "h3", err, sizeof err), 0, "%s", err);
    PGresult *res = NULL;
    cr_assert_eq(col_db_query(conn, "SELECT revoked_at IS NOT NULL FROM agents WHERE name='h3'", 0,
                              NULL, &res, err, sizeof err),
                 0);
    cr_assert_str_eq(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    cr_assert_eq(col_enroll_revoke(conn, "h3", err, sizeof err), CM_ENOTFOUND);
    cr_assert_eq(col_enroll_revoke(conn, "nobody", err, sizeof err), CM_ENOTFOUND);
}

Test(enroll, keygen_refuses_overwrite_unless_forced)
{
    char err[256];
    struct cm_keypair a, b;
    cr_assert_eq(cm_keys_read_secret(keypath, &a, err, sizeof err), 0);
    FILE *out = tmpfile();
    cr_assert_eq(col_keygen_run(keypath, false, out, err, sizeof err), -EEXIST);
    cr_assert_eq(cm_keys_read_secret(keypath, &b, err, sizeof err), 0);
    cr_assert_str_eq(a.public_z85, b.public_z85);
    cr_assert_eq(col_keygen_run(keypath, true, out, err, sizeof err), 0, "%s", err);
    cr_assert_eq(cm_keys_read_secret(keypath, &b, err, sizeof err), 0);
    cr_assert_str_neq(a.public_z85, b.public_z85);
    char line[64] = "";
    rewind(out);
    cr_assert_not_null(fgets(line, sizeof line, out));
    cr_assert_eq(strncmp(line, b.public_z85, CM_KEY_Z85_LEN), 0, "prints the public key");
    fclose(out);
}
