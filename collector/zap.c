/* zap.c - ZAP handler thread (see zap.h).
 *
 * Speaks only ZAP 1.0 with the CURVE mechanism; NULL and PLAIN clients are
 * denied. Connection trouble with the database is logged rate-limited and
 * retried on the next miss; the handler keeps answering from the last good
 * key set meanwhile. */
#include "collector/zap.h"

#include "collector/db.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define COL_ZAP_FRAMES 8      /* version .. one credential frame */
#define COL_ZAP_FRAME_MAX 256 /* bytes kept of each frame */
/* A key not in the snapshot is looked up in the table at once, so an agent
 * enrolled a moment ago gets in; at most this many lookups a second, so a
 * flood of strangers' handshakes cannot become a flood of queries. */
#define COL_ZAP_MISS_LOOKUPS_PER_S 20
#define COL_ZAP_PERIODIC_REFRESH_MS 10000
#define COL_ZAP_POLL_MS 200

struct col_zap {
    void *sock; /* REP; used only by the thread once it runs */
    char *conninfo;
    struct col_keyring *kr;
    struct col_stats *stats;
    PGconn *conn;
    pthread_t thread;
    atomic_int stop;
    int64_t last_refresh_ms; /* monotonic */
    struct cm_ratelimit rl;
    struct cm_ratelimit miss_budget;
    struct cm_ratelimit deny_log;
};

struct col_zap_req {
    char f[COL_ZAP_FRAMES][COL_ZAP_FRAME_MAX];
    size_t len[COL_ZAP_FRAMES];
    int n;
};

static int64_t col_zap_now_ms(void)
{
    return cm_time_mono_ns() / 1000000;
}

/* (Re)connects when needed; 0 or CM_EDB with err set. */
static int col_zap_conn(struct col_zap *z, char *err, size_t errlen)
{
    if (z->conn && PQstatus(z->conn) != CONNECTION_OK) {
        PQfinish(z->conn);
        z->conn = NULL;
    }
    if (z->conn)
        return 0;
    return col_db_connect(z->conninfo, "boxwatch-collector-zap", &z->conn, err, errlen);
}

static void col_zap_warn_db(struct col_zap *z, const char *err)
{
    unsigned supp = 0;
    if (cm_ratelimit_allow(&z->rl, 1, 10000, &supp))
        cm_warn("zap", "cannot read enrolled keys", "err=\"%s\" suppressed=%u", err, supp);
}

static void col_zap_refresh(struct col_zap *z)
{
    char err[512];
    z->last_refresh_ms = col_zap_now_ms();
    int rc = col_zap_conn(z, err, sizeof err);
    if (rc == 0)
        rc = col_keyring_refresh(z->kr, z->conn, err, sizeof err);
    if (rc < 0)
        col_zap_warn_db(z, err);
}

/* Asks the table about one key missing from the snapshot; a hit reloads the
 * snapshot so later lookups are in memory again. */
static bool col_zap_lookup_missing(struct col_zap *z, const char *z85)
{
    if (!cm_ratelimit_allow(&z->miss_budget, COL_ZAP_MISS_LOOKUPS_PER_S, 1000, NULL))
        return false;
    char err[512];
    PGresult *res = NULL;
    const char *params[1] = {z85};
    int rc = col_zap_conn(z, err, sizeof err);
    if (rc == 0)
        rc = col_db_query(z->conn,
                          "SELECT 1 FROM agents WHERE public_key = $1 AND revoked_at IS NULL", 1,
                          params, &res, err, sizeof err);
    bool found = rc == 0 && PQntuples(res) == 1;
    PQclear(res);
    if (rc < 0)
        col_zap_warn_db(z, err);
    if (found)
        col_zap_refresh(z);
    return found;
}

/* Receives one multipart request; extra frames are drained and counted. */
static int col_zap_recv(void *sock, struct col_zap_req *req)
{
    int more = 1, total = 0;
    req->n = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            return -errno;
        }
        if (req->n < COL_ZAP_FRAMES) {
            size_t len = zmq_msg_size(&m);
            req->len[req->n] = len < COL_ZAP_FRAME_MAX ? len : COL_ZAP_FRAME_MAX;
            memcpy(req->f[req->n], zmq_msg_data(&m), req->len[req->n]);
            req->n++;
        }
        total++;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    return total;
}

static void col_zap_reply(void *sock, const struct col_zap_req *req, bool ok, const char *user)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, req->f[1], req->n > 1 ? req->len[1] : 0, ZMQ_SNDMORE);
    zmq_send(sock, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    const char *text = ok ? "OK" : "not enrolled";
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, ok ? user : "", ok ? strlen(user) : 0, ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

static void col_zap_handle(struct col_zap *z, const struct col_zap_req *req)
{
    char z85[CM_KEY_Z85_LEN + 1] = "";
    bool ok = false;
    bool curve = req->n == 7 && req->len[0] == 3 && memcmp(req->f[0], "1.0", 3) == 0 &&
                 req->len[5] == 5 && memcmp(req->f[5], "CURVE", 5) == 0 && req->len[6] == 32;
    if (curve && zmq_z85_encode(z85, (const uint8_t *)req->f[6], 32)) {
        ok = col_keyring_lookup(z->kr, z85, NULL) || col_zap_lookup_missing(z, z85);
    }
    atomic_fetch_add(ok ? &z->stats->zap_accepted : &z->stats->zap_denied, 1);
    unsigned supp = 0;
    if (!ok && cm_ratelimit_allow(&z->deny_log, 10, 10000, &supp))
        cm_info("zap", "connection refused", "key=%s mechanism_ok=%d suppressed=%u",
                curve ? z85 : "-", curve, supp);
    col_zap_reply(z->sock, req, ok, z85);
}

static void *col_zap_main(void *arg)
{
    struct col_zap *z = arg;
    struct col_zap_req req;
    col_zap_refresh(z);
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t it = {z->sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, COL_ZAP_POLL_MS);
        if (n < 0 && errno != EINTR) break; /* context terminated */
        if (col_zap_now_ms() - z->last_refresh_ms >= COL_ZAP_PERIODIC_REFRESH_MS)
            col_zap_refresh(z);
        if (n <= 0 || !(it.revents & ZMQ_POLLIN)) continue;
        if (col_zap_recv(z->sock, &req) < 0) continue;
        col_zap_handle(z, &req);
    }
    return NULL;
}

int col_zap_start(void *zctx, const char *conninfo, struct col_keyring *kr, struct col_stats *stats,
                  struct col_zap **out, char *err, size_t errlen)
{
    struct col_zap *z = cm_xcalloc(1, sizeof *z);
    int linger = 0, rc;
    z->kr = kr;
    z->stats = stats;
    z->conninfo = cm_xstrdup(conninfo ? conninfo : "");
    z->sock = zmq_socket(zctx, ZMQ_REP);
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_bind(z->sock, COL_ZAP_ENDPOINT) < 0) {
        rc = -errno;
        snprintf(err, errlen, "zap: cannot bind %s: %s", COL_ZAP_ENDPOINT, zmq_strerror(errno));
        goto fail;
    }
    rc = pthread_create(&z->thread, NULL, col_zap_main, z);
    if (rc != 0) {
        snprintf(err, errlen, "zap: cannot start thread: %s", strerror(rc));
        rc = -rc;
        goto fail;
    }
    *out = z;
    return 0;
fail:
    if (z->sock) zmq_close(z->sock);
    free(z->conninfo);
    free(z);
    return rc;
}

void col_zap_stop(struct col_zap *z)
{
    if (!z) return;
    atomic_store(&z->stop, 1);
    pthread_join(z->thread, NULL);
    zmq_close(z->sock);
    PQfinish(z->conn);
    free(z->conninfo);
    free(z);
}
