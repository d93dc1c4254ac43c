/* test_inventory.c - the agent's inventory (the state-file readers are in
 * test_inv_discover.c): a whole pass over tests/fixtures/hostroot-inv with
 * a real cgroup sweep of it (every runtime, duplicates across runtimes,
 * malformed/truncated/symlinked configs, crun's config copy preferred to
 * its bundle, the host), what later passes send
 * (nothing, the changed container, GONE entries, everything after a refused
 * envelope or when forced), envelopes split under the size cap, and a real
 * process in a real cgroup listening on a real socket. Every envelope goes
 * through the wire codec's encoder and decoder, as the collector would see
 * it. */
#define _XOPEN_SOURCE 700
#include "agent/cgroup.h"
#include "agent/inv_int.h"
#include "agent/inventory.h"
#include "common/err.h"
#include "common/timeutil.h"
#include "proto/wire.h"
#include "tests/util/testutil.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define A "deaee51b9408648273132e6e1b01ee31d727925d55059123fb3e6809d2f68d05"
#define B "dcda43826a7be01cd5506fde82c990fb8f26a46643a4ee37ca5ab24c03d3bda5"
#define C "af419dcda75a9926a12cc38a2a9b233e26a4f55a139f79d96e4cef915e6624bb"
#define P "5e3b1c0ffee5e3b1c0ffee5e3b1c0ffee5e3b1c0ffee5e3b1c0ffee5e3b1c0ff"
#define M "badc0f1ebadc0f1ebadc0f1ebadc0f1ebadc0f1ebadc0f1ebadc0f1ebadc0f1e"
#define T "7a11c07a11c07a11c07a11c07a11c07a11c07a11c07a11c07a11c07a11c07a11"
#define S "5111c5111c5111c5111c5111c5111c5111c5111c5111c5111c5111c5111c5111"
#define NEW "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e"
#define PATTERNS "containerd=^/demo/([a-z-]+)$", "^/runc-demo/([a-z0-9-]+)$"

TestSuite(inventory, .timeout = 120);

/* ---- what the emit callback saw, decoded as the collector would ---- */

#define CAP_MAX 64

struct cap {
    struct cm_envelope env[CAP_MAX];
    size_t bytes[CAP_MAX];
    size_t n, calls;
    size_t fail_call; /* 1-based call that is refused; 0 = none */
};

static int cap_emit(void *data, const struct cm_inventory_batch *b)
{
    struct cap *c = data;
    if (++c->calls == c->fail_call) return -EIO;
    cr_assert_lt(c->n, CAP_MAX);
    struct cm_envelope env = {
        .version = CM_WIRE_VERSION, .seq = c->calls, .sent_ns = 1, .kind = CM_BODY_INVENTORY};
    env.body.inventory = *b;
    uint8_t *buf = NULL;
    size_t len = 0;
    enum cm_wire_reason why;
    char text[256] = "";
    cr_assert_eq(cm_wire_encode_envelope(&env, &buf, &len), 0, "the codec refuses the batch");
    cr_assert_eq(cm_wire_decode_envelope(buf, len, &c->env[c->n], &why, text, sizeof text), 0, "%s",
                 text);
    c->bytes[c->n++] = len;
    free(buf);
    return 0;
}

static void cap_clear(struct cap *c)
{
    for (size_t i = 0; i < c->n; i++)
        cm_wire_envelope_close(&c->env[i]);
    c->n = c->calls = c->fail_call = 0;
}

static const struct cm_container_inv *cap_find(const struct cap *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct cm_inventory_batch *b = &c->env[i].body.inventory;
        for (size_t j = 0; j < b->n; j++) {
            if (strcmp(b->containers[j].id, id) == 0) return &b->containers[j];
        }
    }
    return NULL;
}

static size_t cap_containers(const struct cap *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->env[i].body.inventory.n;
    return n;
}

static const struct cm_inventory_batch *cap_last(const struct cap *c)
{
    cr_assert_gt(c->n, 0, "nothing was emitted");
    return &c->env[c->n - 1].body.inventory;
}

/* ---- a host root, its sweep and an inventory ---- */

struct host {
    const char *root;
    struct ag_cgroup *cg;
    struct ag_inventory *inv;
    struct cm_strlist socks;
};

static void host_open(struct host *h, const char *root, uint64_t full_ms)
{
    struct cm_strlist pats = {0};
    const char *p[] = {PATTERNS};
    for (size_t i = 0; i < 2; i++)
        cm_strlist_add(&pats, p[i]);
    struct ag_cgroup_opts co = {.host_root = root, .patterns = &pats};
    char err[256] = "";
    h->root = root;
    cr_assert_eq(ag_cgroup_new(&co, &h->cg, err, sizeof err), 0, "%s", err);
    cm_strlist_free(&pats);
    memset(&h->socks, 0, sizeof h->socks);
    cm_strlist_add(&h->socks, "/var/run/docker.sock");
    struct ag_inventory_opts io = {
        .host_root = root, .runtime_sockets = &h->socks, .full_interval_ms = full_ms};
    cr_assert_eq(ag_inventory_new(&io, &h->inv, err, sizeof err), 0, "%s", err);
}

static void host_close(struct host *h)
{
    ag_inventory_free(h->inv);
    ag_cgroup_free(h->cg);
    cm_strlist_free(&h->socks);
}

/* A sweep, plus `extra` samples, then a pass. */
static int host_pass(struct host *h, struct cap *c, const struct cm_sample *extra, size_t nextra)
{
    const struct cm_sample *s = NULL;
    size_t n = 0;
    cr_assert_eq(ag_cgroup_sweep(h->cg, cm_time_now_ns(), &s, &n), 0);
    struct cm_sample all[64];
    cr_assert_leq(n + nextra, 64);
    memcpy(all, s, n * sizeof *s);
    if (nextra) memcpy(all + n, extra, nextra * sizeof *extra);
    return ag_inventory_pass(h->inv, all, n + nextra, cm_time_now_ns(), cap_emit, c);
}

/* ---- a whole pass over the fixture host ---- */

static bool listens(const struct cm_container_inv *c, const char *proto, const char *addr,
                    uint32_t port)
{
    for (size_t i = 0; i < c->n_listening; i++) {
        const struct cm_listen *l = &c->listening[i];
        if (l->port == port && strcmp(l->protocol, proto) == 0 && strcmp(l->address, addr) == 0)
            return true;
    }
    return false;
}

static const char *host_setting(const struct cm_host_inv *h, const char *key)
{
    for (size_t i = 0; h && i < h->n_daemon_settings; i++) {
        if (strcmp(h->daemon_settings[i].key, key) == 0) return h->daemon_settings[i].value;
    }
    return NULL;
}

/* An error entry of runtime rt whose error starts with "<file>: " and
 * holds reason. */
static void expect_error_of(const struct cap *c, const char *id, enum cm_runtime rt,
                            const char *file, const char *reason)
{
    const struct cm_container_inv *x = cap_find(c, id);
    cr_assert_not_null(x, "%s not reported", id);
    cr_assert_not_null(x->error, "%s has no error", id);
    size_t fl = strlen(file);
    cr_expect(strncmp(x->error, file, fl) == 0 && strncmp(x->error + fl, ": ", 2) == 0, "%s: %s",
              id, x->error);
    cr_expect(strstr(x->error, reason), "%s: %s", id, x->error);
    cr_expect_eq(x->runtime, rt);
    cr_expect_null(x->name, "only id, runtime and error");
    cr_expect_null(x->cgroup_path);
    cr_expect_eq(x->n_processes + x->n_mounts + x->n_env + x->n_listening, 0);
    cr_expect_eq(x->known, 0);
}

static void expect_error_entry(const struct cap *c, const char *id, const char *reason)
{
    expect_error_of(c, id, CM_RT_DOCKER, "config.v2.json", reason);
}

/* crun: the state dir's config.json copy wins over the edited bundle; a
 * status without a copy reads the bundle; the pid, created time and cgroup
 * path come from status. */
static void expect_crun_containers(const struct cap *c)
{
    const struct cm_container_inv *cr = cap_find(c, "cr-app");
    cr_assert_not_null(cr);
    cr_expect_null(cr->error, "%s", cr->error);
    cr_expect_eq(cr->runtime, CM_RT_CUSTOM);
    cr_expect_eq(cr->pid, 4501, "from status");
    cr_expect_str_eq(cr->cgroup_path, "/runc-demo/cr-app");
    cr_expect_eq(cr->state, CM_INV_STATE_RUNNING, "joined with its cgroup");
    cr_expect_str_eq(cr->user, "1001:1001", "the copy, not the bundle edited since (0:0)");
    cr_expect(cm_strv_contains(&cr->cap_effective, "NET_RAW"), "the copy's capabilities");
    cr_expect(cm_strv_contains(&cr->cap_bounding, "NET_RAW"));
    cr_expect(cr->known & CM_INV_K_USER && cr->known & CM_INV_K_CAPS);
    int64_t want = 0;
    cm_time_parse("2026-11-23T16:02:41.118200317Z", &want);
    cr_expect_eq(cr->created_ns, want);

    const struct cm_container_inv *nc = cap_find(c, "cr-nocopy");
    cr_assert_not_null(nc);
    cr_expect_null(nc->error, "%s", nc->error);
    cr_expect_eq(nc->runtime, CM_RT_CUSTOM);
    cr_expect_eq(nc->pid, 4502);
    cr_expect_str_eq(nc->cgroup_path, "/runc-demo/cr-nocopy", "from status: not in the sweep");
    cr_expect_str_eq(nc->user, "0:0", "no copy: the bundle's");
    cr_expect_not(cm_strv_contains(&nc->cap_effective, "NET_RAW"));

    expect_error_of(c, "cr-broken", CM_RT_CUSTOM, "status", "status is not valid JSON");
    expect_error_of(c, "cr-gone", CM_RT_CUSTOM, "/srv/bundles/cr-gone/config.json",
                    "No such file or directory");
}

static void expect_fixture_containers(const struct cap *c)
{
    const struct cm_container_inv *a = cap_find(c, A);
    cr_assert_not_null(a);
    cr_expect_eq(a->runtime, CM_RT_DOCKER);
    cr_expect_str_eq(a->name, "dk-app");
    cr_expect_eq(a->state, CM_INV_STATE_RUNNING);
    cr_expect_str_eq(a->cgroup_path, "/docker/" A);
    cr_expect_eq(a->pid, 4101);
    cr_expect(cm_strv_contains(&a->cap_add, "SYS_ADMIN") ||
              cm_strv_contains(&a->cap_add, "CAP_SYS_ADMIN"));
    cr_expect_eq(a->n_processes, 4);
    cr_expect(listens(a, "tcp", "0.0.0.0", 22));
    cr_expect(listens(a, "tcp6", "::", 22));
    cr_expect(a->known & CM_INV_K_PROCS && a->known & CM_INV_K_LISTEN && a->known & CM_INV_K_ENV);
    for (size_t i = 0; i < a->n_env; i++)
        cr_expect_null(strstr(a->env[i].name, "xyz"), "no env value leaves the host");

    const struct cm_container_inv *b = cap_find(c, B);
    cr_assert_not_null(b);
    cr_expect(b->privileged);
    cr_expect(b->readonly_rootfs);
    const struct cm_container_inv *hard = cap_find(c, C);
    cr_assert_not_null(hard);
    cr_expect_eq(hard->state, CM_INV_STATE_EXITED);
    cr_expect_eq(hard->n_processes, 0);
    cr_expect(hard->no_new_privileges);

    const struct cm_container_inv *pm = cap_find(c, P);
    cr_assert_not_null(pm);
    cr_expect_eq(pm->runtime, CM_RT_PODMAN, "podman wins over its own runc state");
    cr_expect(pm->privileged, "io.podman.annotations.privileged=TRUE");
    cr_expect_str_eq(pm->name, "pm-app");
    cr_expect_str_eq(pm->image, "localhost/busybox:local");
    cr_expect_eq(pm->pid, 4601);

    const struct cm_container_inv *ctr = cap_find(c, "ctr-app");
    cr_assert_not_null(ctr);
    cr_expect_eq(ctr->runtime, CM_RT_CONTAINERD);
    cr_expect_eq(ctr->pid, 4301, "from init.pid");
    cr_expect_str_eq(ctr->cgroup_path, "/demo/ctr-app");

    const struct cm_container_inv *rc = cap_find(c, "rc-app");
    cr_assert_not_null(rc);
    cr_expect_eq(rc->runtime, CM_RT_CUSTOM);
    cr_expect_eq(rc->pid, 4401);
    cr_expect_str_eq(rc->user, "1000:1000");
    cr_expect(listens(rc, "tcp", "0.0.0.0", 8080));
    cr_expect_gt(rc->created_ns, 0);

    expect_crun_containers(c);
    expect_error_entry(c, M, "line 1");
    expect_error_entry(c, T, "truncated");
    expect_error_entry(c, S, "symbolic link");
    char *hostname = tu_read_file("/etc/hostname", NULL);
    if (hostname) {
        hostname[strcspn(hostname, "\n")] = '\0';
        cr_expect(!*hostname || !strstr(cap_find(c, S)->error, hostname),
                  "the symlink's target was read");
    }
    free(hostname);
}

Test(inventory, fixture_first_pass_is_full_and_complete)
{
    struct host h;
    struct cap c = {0};
    host_open(&h, tu_fixture_path("hostroot-inv"), 600000);
    struct cm_sample extra = {.runtime = CM_RT_CRIO, .cgroup_path = "/crio/cg-only-1"};
    snprintf(extra.container_id, sizeof extra.container_id, "cg-only-1");
    cr_assert_eq(host_pass(&h, &c, &extra, 1), 0);
    cr_assert_eq(c.n, 1, "one envelope for fourteen containers");
    const struct cm_inventory_batch *b = cap_last(&c);
    cr_expect(b->complete);
    cr_assert_eq(b->n, 14, "13 on disk (one moby bundle and one runc state are duplicates) + 1");
    cr_assert_eq(b->n_present, 14);
    for (size_t i = 1; i < b->n; i++)
        cr_expect_lt(strcmp(b->containers[i - 1].id, b->containers[i].id), 0, "sorted, unique");
    expect_fixture_containers(&c);
    const struct cm_container_inv *only = cap_find(&c, "cg-only-1");
    cr_assert_not_null(only);
    cr_expect_eq(only->runtime, CM_RT_CRIO);
    cr_expect_eq(only->state, CM_INV_STATE_RUNNING);
    cr_expect_null(only->error);
    cr_expect_eq(only->known & ~(uint32_t)(CM_INV_K_PROCS | CM_INV_K_LISTEN), 0);

    cr_assert_not_null(b->host);
    cr_expect(b->host->docker_present);
    cr_expect_str_eq(host_setting(b->host, "icc"), "false");
    cr_expect_not_null(host_setting(b->host, "hosts"), "from dockerd 900's -H flags");
    cr_assert_eq(b->host->n_runtime_sockets, 1);
    cr_expect_not(b->host->runtime_sockets[0].exists);

    struct ag_inventory_stats st;
    ag_inventory_get_stats(h.inv, &st);
    cr_expect_eq(st.containers, 14);
    cr_expect_eq(st.errors, 5);
    cr_expect_eq(st.parsed, 13);
    cr_expect(st.host_sent);
    cr_expect_eq(st.netns_diag, 0, "a fabricated /proc has no namespaces to enter");
    cr_expect_eq(st.netns_files, 5, "dk-app, dk-priv, pm-app, ctr-app, rc-app: %zu",
                 st.netns_files);

    /* nothing changed: nothing sent, nothing parsed again */
    cap_clear(&c);
    cr_assert_eq(host_pass(&h, &c, &extra, 1), 0);
    cr_expect_eq(c.calls, 0, "an unchanged host sends nothing");
    ag_inventory_get_stats(h.inv, &st);
    cr_expect_eq(st.parsed, 0);
    cr_expect_eq(st.sent, 0);

    /* forced: everything again, complete */
    ag_inventory_force_full(h.inv);
    cr_assert_eq(host_pass(&h, &c, &extra, 1), 0);
    cr_assert_eq(c.n, 1);
    cr_expect(cap_last(&c)->complete);
    cr_expect_eq(cap_containers(&c), 14);
    cr_expect_not_null(cap_last(&c)->host);
    cap_clear(&c);
    host_close(&h);
}

/* ---- later passes on a copy of the fixture ---- */

static const char *copy_src, *copy_dst;

static int copy_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    char to[PATH_MAX], link[PATH_MAX];
    snprintf(to, sizeof to, "%s%s", copy_dst, p + strlen(copy_src));
    if (flag == FTW_D) return mkdir(to, st->st_mode & 0777) == 0 || errno == EEXIST ? 0 : -1;
    if (flag == FTW_SL) {
        ssize_t n = readlink(p, link, sizeof link - 1);
        if (n < 0) return -1;
        link[n] = '\0';
        return symlink(link, to);
    }
    size_t len = 0;
    char *data = tu_read_file(p, &len);
    int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ssize_t w = data && fd >= 0 ? write(fd, data, len) : -1;
    free(data);
    if (fd >= 0) close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

static char *copy_fixture(void)
{
    char *dir = tu_mkdtemp();
    static char src[PATH_MAX];
    snprintf(src, sizeof src, "%s", tu_fixture_path("hostroot-inv"));
    copy_src = src;
    copy_dst = dir;
    cr_assert_eq(nftw(src, copy_one, 16, FTW_PHYS), 0, "copying %s", src);
    return dir;
}

static void rm_under(const char *dir, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    cr_assert_eq(tu_rm_rf(p), 0, "rm %s", p);
}

Test(inventory, later_passes_send_changes_and_gone_ids)
{
    char *dir = copy_fixture();
    struct host h;
    struct cap c = {0};
    host_open(&h, dir, 600000);
    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    cr_assert_eq(cap_containers(&c), 13);
    cap_clear(&c);

    /* dk-app's hostconfig changes (rewritten by rename, as dockerd does) */
    char *hc = NULL, path[PATH_MAX], tmp[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/var/lib/docker/containers/" A "/hostconfig.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hc = tu_read_file(path, NULL);
    char *priv = strstr(hc, "\"Privileged\":false");
    cr_assert_not_null(priv);
    memcpy(priv, "\"Privileged\":true ", 18);
    cr_assert_eq(tu_write_file("/", tmp + 1, hc), 0);
    cr_assert_eq(rename(tmp, path), 0);
    free(hc);
    /* dk-priv is removed: its state and its cgroup go */
    rm_under(dir, "var/lib/docker/containers/" B);
    rm_under(dir, "sys/fs/cgroup/memory/docker/" B);
    rm_under(dir, "sys/fs/cgroup/pids/docker/" B);
    /* rc-app's process starts listening on another port */
    snprintf(path, sizeof path, "%s/proc/4401/net/tcp", dir);
    FILE *f = fopen(path, "a");
    fputs("   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 "
          "41002 1\n",
          f);
    fclose(f);

    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    cr_assert_eq(c.n, 1);
    const struct cm_inventory_batch *b = cap_last(&c);
    cr_expect_not(b->complete);
    cr_expect_eq(b->n_present, 0);
    cr_expect_null(b->host, "the host did not change");
    cr_assert_eq(b->n, 3, "the changed, the gone and the one with a new socket");
    const struct cm_container_inv *a = cap_find(&c, A);
    cr_assert_not_null(a);
    cr_expect(a->privileged);
    cr_expect_eq(a->n_processes, 4, "a changed container goes out whole");
    const struct cm_container_inv *gone = cap_find(&c, B);
    cr_assert_not_null(gone);
    cr_expect_eq(gone->state, CM_INV_STATE_GONE);
    cr_expect_eq(gone->runtime, CM_RT_DOCKER);
    cr_expect_null(gone->name, "a gone entry is id and runtime only");
    const struct cm_container_inv *rc = cap_find(&c, "rc-app");
    cr_assert_not_null(rc);
    cr_expect(listens(rc, "tcp", "0.0.0.0", 80));
    struct ag_inventory_stats st;
    ag_inventory_get_stats(h.inv, &st);
    cr_expect_eq(st.parsed, 1, "only dk-app's files were parsed again");
    cr_expect_eq(st.gone, 1);
    cap_clear(&c);

    /* the daemon.json changes: the host alone goes out */
    cr_assert_eq(tu_write_file(dir, "etc/docker/daemon.json", "{\"icc\": true}\n"), 0);
    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    cr_assert_eq(c.n, 1);
    cr_expect_eq(cap_last(&c)->n, 0);
    cr_assert_not_null(cap_last(&c)->host);
    cr_expect_str_eq(host_setting(cap_last(&c)->host, "icc"), "false", "dockerd's flag wins");
    cr_expect_null(host_setting(cap_last(&c)->host, "live-restore"));
    cap_clear(&c);

    /* gone once is gone: not repeated */
    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    cr_expect_eq(c.calls, 0);
    host_close(&h);
    tu_rm_rf(dir);
    free(dir);
}

/* A directory without its state file is a container being created or
 * removed: not reported. A broken hostconfig.json is named as such. */
Test(inventory, half_made_containers_and_broken_hostconfig)
{
    char *dir = copy_fixture();
    cr_assert_eq(tu_write_file(dir, "var/lib/docker/containers/" NEW "/hostconfig.json", "{}"), 0);
    cr_assert_eq(
        tu_write_file(dir, "run/containerd/io.containerd.runtime.v2.task/demo/half/init.pid", "1"),
        0);
    struct host h;
    struct cap c = {0};
    host_open(&h, dir, 600000);
    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    cr_expect_eq(cap_containers(&c), 13);
    cr_expect_null(cap_find(&c, NEW));
    cr_expect_null(cap_find(&c, "half"));
    cap_clear(&c);
    char *cfg = tu_read_file(
        tu_fixture_path("hostroot-inv/var/lib/docker/containers/" A "/config.v2.json"), NULL);
    cr_assert_eq(tu_write_file(dir, "var/lib/docker/containers/" NEW "/config.v2.json", cfg), 0);
    cr_assert_eq(tu_write_file(dir, "var/lib/docker/containers/" NEW "/hostconfig.json", "{\"Pri"),
                 0);
    free(cfg);
    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    const struct cm_container_inv *x = cap_find(&c, NEW);
    cr_assert_not_null(x, "once its config is written, it is reported");
    cr_assert_not_null(x->error);
    cr_expect_eq(strncmp(x->error, "hostconfig.json: ", 17), 0, "%s", x->error);
    cap_clear(&c);
    host_close(&h);
    tu_rm_rf(dir);
    free(dir);
}

/* crun's state after runc's and podman's: an id they also keep state for
 * is theirs. Without a copy the bundle is read; a copy that is there but
 * cannot be read is an error, not a reason to read the bundle instead. */
Test(inventory, crun_priority_copy_and_fallback)
{
    char *dir = copy_fixture();
    char *cr_status = tu_read_file(tu_fixture_path("hostroot-inv/run/crun/cr-app/status"), NULL);
    char *cr_copy = tu_read_file(tu_fixture_path("hostroot-inv/run/crun/cr-app/config.json"), NULL);
    cr_assert(cr_status && cr_copy);
    cr_assert_eq(tu_write_file(dir, "run/crun/rc-app/status", cr_status), 0);
    cr_assert_eq(tu_write_file(dir, "run/crun/rc-app/config.json", cr_copy), 0);
    cr_assert_eq(tu_write_file(dir, "run/crun/" P "/status", cr_status), 0);
    cr_assert_eq(tu_write_file(dir, "run/crun/cr-half/config.json", cr_copy), 0);
    cr_assert_eq(tu_write_file(dir, "run/crun/cr-sd/config.json", cr_copy), 0);
    cr_assert_eq(tu_write_file(dir, "run/crun/cr-sd/status",
                               "{\"pid\": 4505, \"systemd-cgroup\": true, "
                               "\"cgroup-path\": \"/system.slice/crun-cr-sd.scope\"}"),
                 0);
    cr_assert_eq(
        tu_write_file(dir, "run/crun/cr-nobundle/status", "{\"pid\": 5, \"cgroup-path\": \"\"}"),
        0);
    free(cr_status);
    free(cr_copy);
    struct host h;
    struct cap c = {0};
    host_open(&h, dir, 600000);
    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    cr_expect_eq(cap_containers(&c), 15, "13 + cr-nobundle, cr-sd; no duplicate, no half-made");
    const struct cm_container_inv *rc = cap_find(&c, "rc-app");
    cr_assert_not_null(rc);
    cr_expect_eq(rc->pid, 4401, "runc's record, not crun's (4501)");
    cr_expect_str_eq(rc->user, "1000:1000");
    const struct cm_container_inv *pm = cap_find(&c, P);
    cr_assert_not_null(pm);
    cr_expect_eq(pm->runtime, CM_RT_PODMAN);
    cr_expect_null(cap_find(&c, "cr-half"), "a state dir without status is not a container");
    const struct cm_container_inv *sd = cap_find(&c, "cr-sd");
    cr_assert_not_null(sd, "a systemd unit's leaf (crun-cr-sd.scope) is not its id");
    cr_expect_str_eq(sd->cgroup_path, "/system.slice/crun-cr-sd.scope");
    cr_expect_eq(sd->pid, 4505);
    expect_error_of(&c, "cr-nobundle", CM_RT_CUSTOM, "status",
                    "no bundle and no config.json next to it");
    expect_crun_containers(&c);
    cap_clear(&c);

    /* the copy goes: the bundle's (edited) config is what is left to read */
    rm_under(dir, "run/crun/cr-app/config.json");
    /* a copy that is a symlink is not followed, and the bundle not read */
    char link[PATH_MAX];
    snprintf(link, sizeof link, "%s/run/crun/cr-nocopy/config.json", dir);
    cr_assert_eq(symlink("../../../srv/bundles/cr-app/config.json", link), 0);
    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    cr_expect_eq(cap_containers(&c), 2, "the two changed ones");
    const struct cm_container_inv *cr = cap_find(&c, "cr-app");
    cr_assert_not_null(cr);
    cr_expect_null(cr->error, "%s", cr->error);
    cr_expect_str_eq(cr->user, "0:0");
    cr_expect_not(cm_strv_contains(&cr->cap_effective, "NET_RAW"));
    cr_expect_eq(cr->pid, 4501);
    expect_error_of(&c, "cr-nocopy", CM_RT_CUSTOM, "config.json", "symbolic link");
    struct ag_inventory_stats st;
    ag_inventory_get_stats(h.inv, &st);
    cr_expect_eq(st.parsed, 2);
    cap_clear(&c);
    host_close(&h);
    tu_rm_rf(dir);
    free(dir);
}

Test(inventory, a_refused_envelope_makes_the_next_pass_full)
{
    char *dir = copy_fixture();
    struct host h;
    struct cap c = {.fail_call = 1};
    host_open(&h, dir, 600000);
    cr_expect_eq(host_pass(&h, &c, NULL, 0), -EIO, "the emit error is returned");
    cr_expect_eq(c.n, 0);
    struct ag_inventory_stats st;
    ag_inventory_get_stats(h.inv, &st);
    cr_expect_eq(st.emit_failures, 1);
    cap_clear(&c);
    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    cr_assert_eq(c.n, 1);
    cr_expect(cap_last(&c)->complete, "what was refused is sent again, whole");
    cr_expect_eq(cap_containers(&c), 13);
    cap_clear(&c);

    /* a container removed while its GONE entry is refused: marked gone later */
    rm_under(dir, "run/runc/rc-app");
    rm_under(dir, "sys/fs/cgroup/memory/runc-demo");
    rm_under(dir, "sys/fs/cgroup/pids/runc-demo");
    c.fail_call = 1;
    cr_expect_eq(host_pass(&h, &c, NULL, 0), -EIO);
    cap_clear(&c);
    cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
    const struct cm_container_inv *gone = cap_find(&c, "rc-app");
    cr_assert_not_null(gone, "the GONE entry was not repeated");
    cr_expect_eq(gone->state, CM_INV_STATE_GONE);
    cr_expect(cap_last(&c)->complete);
    for (size_t i = 0; i < cap_last(&c)->n_present; i++)
        cr_expect_str_neq(cap_last(&c)->present_ids[i], "rc-app");
    cap_clear(&c);

    /* the full interval: every pass is full when it is 0 */
    host_close(&h);
    host_open(&h, dir, 0);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(host_pass(&h, &c, NULL, 0), 0);
        cr_expect(cap_last(&c)->complete);
        cap_clear(&c);
    }
    host_close(&h);
    tu_rm_rf(dir);
    free(dir);
}

/* ---- many containers: envelopes under the cap ---- */

/* <root>/var/lib/docker/containers/<id>/ from dk-app's files, with `labels`
 * labels of `label_bytes` each. */
static void make_docker(const char *root, const char *id, const char *cfg, const char *hostcfg,
                        int labels, size_t label_bytes)
{
    char rel[512];
    size_t cl = strlen(cfg);
    size_t cap = cl + (size_t)labels * (label_bytes + 32) + 64;
    char *doc = malloc(cap);
    const char *at = strstr(cfg, "\"Labels\":{}");
    cr_assert_not_null(at);
    size_t off = (size_t)(at - cfg) + 10, n = 0;
    memcpy(doc, cfg, off);
    n = off;
    char *val = malloc(label_bytes + 1);
    memset(val, 'v', label_bytes);
    val[label_bytes] = '\0';
    for (int i = 0; i < labels; i++)
        n += (size_t)snprintf(doc + n, cap - n, "%s\"l%d\":\"%s\"", i ? "," : "", i, val);
    snprintf(doc + n, cap - n, "%s", at + 10);
    snprintf(rel, sizeof rel, "var/lib/docker/containers/%s/config.v2.json", id);
    cr_assert_eq(tu_write_file(root, rel, doc), 0);
    snprintf(rel, sizeof rel, "var/lib/docker/containers/%s/hostconfig.json", id);
    cr_assert_eq(tu_write_file(root, rel, hostcfg), 0);
    free(val);
    free(doc);
}

Test(inventory, big_hosts_are_split_into_envelopes_under_the_cap)
{
    char *dir = tu_mkdtemp();
    char *cfg = tu_read_file(
        tu_fixture_path("hostroot-inv/var/lib/docker/containers/" A "/config.v2.json"), NULL);
    char *hostcfg = tu_read_file(
        tu_fixture_path("hostroot-inv/var/lib/docker/containers/" A "/hostconfig.json"), NULL);
    cr_assert(cfg && hostcfg);
    char id[80];
    for (int i = 0; i < 600; i++) { /* small ones: split by count */
        snprintf(id, sizeof id, "%064x", i + 1);
        make_docker(dir, id, cfg, hostcfg, 0, 0);
    }
    for (int i = 0; i < 6; i++) { /* ~400 KiB each: split by bytes */
        snprintf(id, sizeof id, "big%02d", i);
        make_docker(dir, id, cfg, hostcfg, 100, 4000);
    }
    make_docker(dir, "huge", cfg, hostcfg, 700, 4000); /* ~2.7 MiB: over the per-record cap */
    cr_assert_eq(tu_write_file(dir, "proc/.keep", ""), 0);
    struct cm_strlist none = {0};
    struct ag_inventory_opts io = {
        .host_root = dir, .runtime_sockets = &none, .full_interval_ms = 600000};
    struct ag_inventory *inv = NULL;
    char err[256];
    cr_assert_eq(ag_inventory_new(&io, &inv, err, sizeof err), 0, "%s", err);
    struct cap c = {0};
    int64_t t0 = cm_time_mono_ns();
    cr_assert_eq(ag_inventory_pass(inv, NULL, 0, cm_time_now_ns(), cap_emit, &c), 0);
    cr_log_info("first pass over 607 containers: %lld ms (sanitizers on)",
                (long long)((cm_time_mono_ns() - t0) / 1000000));
    cr_assert_geq(c.n, 3);
    size_t total = 0;
    for (size_t i = 0; i < c.n; i++) {
        const struct cm_inventory_batch *b = &c.env[i].body.inventory;
        total += b->n;
        cr_expect_leq(b->n, AG_INV_ENVELOPE_CONTAINERS);
        cr_expect_lt(c.bytes[i], AG_INV_ENVELOPE_BYTES + AG_INV_CONTAINER_BYTES,
                     "envelope %zu: %zu bytes", i, c.bytes[i]);
        bool last = i + 1 == c.n;
        cr_expect_eq(b->complete, last, "only the last envelope is complete");
        cr_expect_eq(b->n_present, last ? 607 : 0);
        cr_expect_eq(b->host != NULL, last);
    }
    cr_expect_eq(total, 607);
    const struct cm_container_inv *huge = cap_find(&c, "huge");
    cr_assert_not_null(huge);
    cr_assert_not_null(huge->error, "a record over the cap goes out as an error entry");
    cr_expect(strstr(huge->error, "bytes"), "%s", huge->error);
    const struct cm_container_inv *big = cap_find(&c, "big03");
    cr_assert_not_null(big);
    cr_expect_eq(big->n_labels, 100);
    cap_clear(&c);

    t0 = cm_time_mono_ns();
    cr_assert_eq(ag_inventory_pass(inv, NULL, 0, cm_time_now_ns(), cap_emit, &c), 0);
    cr_log_info("unchanged pass over 607 containers: %lld ms (sanitizers on)",
                (long long)((cm_time_mono_ns() - t0) / 1000000));
    cr_expect_eq(c.calls, 0);
    ag_inventory_free(inv);
    free(cfg);
    free(hostcfg);
    tu_rm_rf(dir);
    free(dir);
}

/* ---- a real process in a real cgroup, listening on a real socket ---- */

static struct {
    pid_t child;
    char cg[256];  /* /sys/fs/cgroup/memory/bwinv-<pid> */
    char box[300]; /* .../box-1 */
    char *dir;
} real;

static void real_teardown(void)
{
    if (real.child > 0) {
        kill(real.child, SIGKILL);
        waitpid(real.child, NULL, 0);
        real.child = 0;
    }
    for (int i = 0; i < 50 && real.box[0] && rmdir(real.box) != 0 && errno != ENOENT; i++)
        usleep(20000);
    if (real.cg[0]) rmdir(real.cg);
    if (real.dir) tu_rm_rf(real.dir);
    free(real.dir);
    real.dir = NULL;
}

/* A child listening on 127.0.0.1:<port>, moved into a new memory cgroup. */
static uint16_t real_spawn(void)
{
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    real.child = fork();
    cr_assert_geq(real.child, 0);
    if (real.child == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof sa;
        if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 4) != 0 ||
            getsockname(s, (struct sockaddr *)&sa, &sl) != 0)
            _exit(1);
        uint16_t port = ntohs(sa.sin_port);
        if (write(pfd[1], &port, sizeof port) != sizeof port) _exit(1);
        for (;;)
            pause();
    }
    close(pfd[1]);
    uint16_t port = 0;
    cr_assert_eq(read(pfd[0], &port, sizeof port), (ssize_t)sizeof port);
    close(pfd[0]);
    char p[400], pid[32];
    snprintf(p, sizeof p, "%s/cgroup.procs", real.box);
    snprintf(pid, sizeof pid, "%d\n", (int)real.child);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(pid, f);
    cr_assert_eq(fclose(f), 0, "moving the child into %s", real.box);
    return port;
}

Test(inventory, real_process_in_a_real_cgroup, .fini = real_teardown)
{
    snprintf(real.cg, sizeof real.cg, "/sys/fs/cgroup/memory/bwinv-%d", (int)getpid());
    snprintf(real.box, sizeof real.box, "%s/box-1", real.cg);
    if (geteuid() != 0 || mkdir(real.cg, 0755) != 0 || mkdir(real.box, 0755) != 0)
        cr_skip_test("needs root and a writable cgroup v1 memory hierarchy under /sys/fs/cgroup "
                     "(%s)",
                     strerror(errno));
    uint16_t port = real_spawn();

    /* every runtime root points at an empty directory: only the cgroup speaks */
    real.dir = tu_mkdtemp();
    char roots[7][PATH_MAX];
    const char *names[7] = {"docker", "exec", "containerd", "podman",
                            "runc",   "crun", "daemon.json"};
    for (int i = 0; i < 7; i++)
        snprintf(roots[i], sizeof roots[i], "%s/%s", real.dir, names[i]);
    struct cm_strlist pats = {0}, none = {0};
    char pat[128];
    snprintf(pat, sizeof pat, "^/bwinv-%d/([a-z0-9-]+)$", (int)getpid());
    cm_strlist_add(&pats, pat);
    struct ag_cgroup_opts co = {.host_root = "/", .patterns = &pats};
    struct ag_cgroup *cg = NULL;
    char err[256] = "";
    cr_assert_eq(ag_cgroup_new(&co, &cg, err, sizeof err), 0, "%s", err);
    struct ag_inventory_opts io = {.host_root = "/",
                                   .docker_root = roots[0],
                                   .docker_exec_root = roots[1],
                                   .containerd_state = roots[2],
                                   .podman_root = roots[3],
                                   .runc_root = roots[4],
                                   .crun_root = roots[5],
                                   .docker_daemon_config = roots[6],
                                   .runtime_sockets = &none,
                                   .full_interval_ms = 600000};
    struct ag_inventory *inv = NULL;
    cr_assert_eq(ag_inventory_new(&io, &inv, err, sizeof err), 0, "%s", err);

    const struct cm_sample *s = NULL;
    size_t n = 0;
    cr_assert_eq(ag_cgroup_sweep(cg, cm_time_now_ns(), &s, &n), 0);
    struct cap c = {0};
    cr_assert_eq(ag_inventory_pass(inv, s, n, cm_time_now_ns(), cap_emit, &c), 0);
    struct ag_inventory_stats st;
    ag_inventory_get_stats(inv, &st);
    cr_log_info("pass over this machine's /proc: %lld us (sanitizers on)",
                (long long)(st.last_pass_ns / 1000));
    const struct cm_container_inv *x = cap_find(&c, "box-1");
    cr_assert_not_null(x, "the cgroup's container was not reported");
    char want[PATH_MAX], bwpath[300];
    ssize_t wl = readlink("/proc/self/exe", want, sizeof want - 1);
    cr_assert_gt(wl, 0);
    want[wl] = '\0';
    snprintf(bwpath, sizeof bwpath, "/bwinv-%d/box-1", (int)getpid());
    cr_expect_str_eq(x->cgroup_path, bwpath);
    cr_expect_eq(x->state, CM_INV_STATE_RUNNING);
    cr_expect_eq(x->pid, (uint32_t)real.child);
    cr_assert_eq(x->n_processes, 1);
    cr_expect_str_eq(x->processes[0].exe, want);
    cr_expect_eq(x->processes[0].uid, geteuid());
    cr_expect_eq(x->processes[0].count, 1);
    cr_expect(listens(x, "tcp", "127.0.0.1", port), "127.0.0.1:%u not among %zu sockets", port,
              x->n_listening);
    cr_expect(x->known & CM_INV_K_LISTEN);
    cr_expect_geq(st.netns_diag, 1, "as root, sockets are read by sock_diag");
    cap_clear(&c);

    /* the process exits: the container is gone from cgroups and from the next pass */
    kill(real.child, SIGKILL);
    waitpid(real.child, NULL, 0);
    real.child = 0;
    cr_assert_eq(rmdir(real.box), 0);
    real.box[0] = '\0';
    cr_assert_eq(ag_cgroup_sweep(cg, cm_time_now_ns(), &s, &n), 0);
    cr_assert_eq(ag_inventory_pass(inv, s, n, cm_time_now_ns(), cap_emit, &c), 0);
    x = cap_find(&c, "box-1");
    cr_assert_not_null(x);
    cr_expect_eq(x->state, CM_INV_STATE_GONE);
    cap_clear(&c);
    ag_inventory_free(inv);
    ag_cgroup_free(cg);
    cm_strlist_free(&pats);
}
