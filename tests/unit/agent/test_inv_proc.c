/* test_inv_proc.c - the inventory's /proc scan: the status and net/tcp
 * parsers on captured and hostile text, and ag_inv_proc_scan over the
 * fabricated /proc of tests/fixtures/hostroot-inv (matching by cgroup path,
 * by an ancestor path and by the id in a cgroup leaf; counts, sorting,
 * deleted executables, zombies, one netns read for several pids) and over
 * a temporary /proc with names that are not UTF-8. The real-process test is
 * in test_inventory.c (it runs the whole pass). */
#include "agent/inv_int.h"
#include "common/err.h"
#include "common/inventory.h"
#include "proto/wire.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define A "deaee51b9408648273132e6e1b01ee31d727925d55059123fb3e6809d2f68d05"
#define B "dcda43826a7be01cd5506fde82c990fb8f26a46643a4ee37ca5ab24c03d3bda5"
#define P "5e3b1c0ffee5e3b1c0ffee5e3b1c0ffee5e3b1c0ffee5e3b1c0ffee5e3b1c0ff"

TestSuite(inv_proc, .timeout = 30);

/* ---- parsers ---- */

Test(inv_proc, status_gives_comm_and_effective_uid)
{
    const char *st = "Name:\tnginx: worker\nUmask:\t0022\nState:\tS (sleeping)\n"
                     "Uid:\t1000\t33\t33\t33\nGid:\t1000\t33\t33\t33\n";
    char comm[64];
    uint32_t uid = 7;
    cr_assert_eq(ag_inv_status_parse(st, strlen(st), comm, sizeof comm, &uid), 0);
    cr_expect_str_eq(comm, "nginx: worker");
    cr_expect_eq(uid, 33, "the effective uid is the second field, got %u", uid);
    const char *no_uid = "Name:\tsh\n";
    cr_expect_eq(ag_inv_status_parse(no_uid, strlen(no_uid), comm, sizeof comm, &uid), CM_EPARSE);
    const char *bad_uid = "Name:\tsh\nUid:\t0\tx\t0\t0\n";
    cr_expect_eq(ag_inv_status_parse(bad_uid, strlen(bad_uid), comm, sizeof comm, &uid), CM_EPARSE);
    const char *big_uid = "Name:\tsh\nUid:\t0\t4294967296\t0\t0\n";
    cr_expect_eq(ag_inv_status_parse(big_uid, strlen(big_uid), comm, sizeof comm, &uid), CM_EPARSE);
}

static void free_listen(struct cm_listen *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(l[i].protocol);
        free(l[i].address);
    }
}

Test(inv_proc, net_tcp_keeps_listening_sockets_only)
{
    const char *v4 =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
        "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1\n"
        "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000 0 0 2\n"
        "   2: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 3\n"
        "   3: 0100007G:0035 00000000:0000 0A garbage\n" /* bad hex */
        "   4: 0100007F:35 00000000:0000 0A\n"           /* short port */
        "   5: 0100007F:0050\n"                          /* no state */
        "   6: 0A0B0C0D:FFFF 00000000:0000 0A";          /* no final newline */
    struct cm_listen l[8];
    size_t n = 0;
    cr_assert_eq(ag_inv_net_tcp_parse(v4, strlen(v4), false, l, 8, &n), 3);
    cr_assert_eq(n, 3);
    cr_expect_str_eq(l[0].address, "0.0.0.0");
    cr_expect_eq(l[0].port, 22);
    cr_expect_str_eq(l[0].protocol, "tcp");
    cr_expect_str_eq(l[1].address, "127.0.0.1");
    cr_expect_eq(l[1].port, 53);
    cr_expect_str_eq(l[2].address, "13.12.11.10", "words are native-endian: %s", l[2].address);
    cr_expect_eq(l[2].port, 65535);
    free_listen(l, n);

    const char *v6 = "  sl  local_address remote_address st\n"
                     "   0: 00000000000000000000000000000000:0016 "
                     "00000000000000000000000000000000:0000 0A 0\n"
                     "   1: 0000000000000000FFFF00000100007F:1F91 "
                     "00000000000000000000000000000000:0000 0A 0\n"
                     "   2: 000080FE00000000FF57D21A0B5A0AFE:01BB "
                     "00000000000000000000000000000000:0000 0A 0\n"
                     "   3: 00000000000000000000000000000000:0050 "
                     "00000000000000000000000000000000:0000 06 0\n";
    n = 0;
    cr_assert_eq(ag_inv_net_tcp_parse(v6, strlen(v6), true, l, 2, &n), 3,
                 "all listening lines are counted");
    cr_assert_eq(n, 2, "but only max are kept");
    cr_expect_str_eq(l[0].address, "::");
    cr_expect_str_eq(l[0].protocol, "tcp6");
    cr_expect_str_eq(l[1].address, "::ffff:127.0.0.1");
    cr_expect_eq(l[1].port, 8081);
    free_listen(l, n);
    /* v4 text read as v6 and the reverse: nothing */
    n = 0;
    cr_expect_eq(ag_inv_net_tcp_parse(v4, strlen(v4), true, l, 8, &n), 0);
    cr_expect_eq(ag_inv_net_tcp_parse(v6, strlen(v6), false, l, 8, &n), 0);
    cr_expect_eq(n, 0);
}

/* ---- the scan over the fixture ---- */

struct box {
    struct cm_container_inv c[8];
    struct cm_container_inv *p[8];
    size_t n;
};

static struct cm_container_inv *box_add(struct box *b, const char *id, const char *cg)
{
    struct cm_container_inv *c = &b->c[b->n];
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->cgroup_path = cg ? strdup(cg) : NULL;
    b->p[b->n++] = c;
    return c;
}

static void box_free(struct box *b)
{
    for (size_t i = 0; i < b->n; i++)
        cm_container_inv_free(&b->c[i]);
}

static int open_root(const char *path)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open %s", path);
    return fd;
}

static const struct cm_process *proc_at(const struct cm_container_inv *c, size_t i)
{
    cr_assert_lt(i, c->n_processes, "%s has %zu processes", c->id, c->n_processes);
    return &c->processes[i];
}

Test(inv_proc, fixture_scan_attributes_pids_and_sockets)
{
    int root = open_root(tu_fixture_path("hostroot-inv"));
    struct ag_inv_proc *p = NULL;
    cr_assert_eq(ag_inv_proc_new(root, &p), 0);
    struct box b = {.n = 0};
    struct cm_container_inv *a = box_add(&b, A, "/docker/" A);
    struct cm_container_inv *bb = box_add(&b, B, "/docker/" B);
    struct cm_container_inv *pm = box_add(&b, P, NULL); /* only the id: libpod-<id> leaf */
    struct cm_container_inv *rc = box_add(&b, "rc-app", "/runc-demo/rc-app");
    struct cm_container_inv *err = box_add(&b, "broken", "/demo/ctr-app");
    err->error = strdup("config.json: unreadable");
    struct cm_container_inv *idle = box_add(&b, "idle", "/idle");
    idle->pid = 77;
    cr_assert_eq(ag_inv_proc_scan(p, b.p, b.n), 0);

    /* A: sh, httpd, two sleeps and a dockerd look-alike, sorted by exe, comm, uid */
    cr_assert_eq(a->n_processes, 4);
    cr_expect_str_eq(proc_at(a, 0)->comm, "httpd");
    cr_expect_str_eq(proc_at(a, 1)->comm, "sh");
    cr_expect_str_eq(proc_at(a, 2)->comm, "sleep");
    cr_expect_eq(proc_at(a, 2)->count, 2);
    cr_expect_str_eq(proc_at(a, 3)->exe, "/usr/bin/dockerd");
    cr_expect_eq(proc_at(a, 0)->uid, 1000);
    cr_expect_eq(a->pid, 4101, "the lowest pid when the runtime gave none");
    cr_expect(a->known & CM_INV_K_PROCS);
    cr_expect(a->known & CM_INV_K_LISTEN);
    /* 0.0.0.0:22 twice (SO_REUSEPORT) is one socket; sorted by port */
    cr_assert_eq(a->n_listening, 4);
    cr_expect_eq(a->listening[0].port, 22);
    cr_expect_str_eq(a->listening[0].protocol, "tcp");
    cr_expect_str_eq(a->listening[1].protocol, "tcp6");
    cr_expect_eq(a->listening[2].port, 8080);
    cr_expect_str_eq(a->listening[2].address, "127.0.0.1");
    cr_expect_eq(a->listening[3].port, 8081);

    /* B: 4202 sits in /docker/B/nested; its exe was deleted */
    cr_assert_eq(bb->n_processes, 2);
    cr_expect_str_eq(proc_at(bb, 1)->exe, "/bin/busybox (deleted)");
    cr_expect_eq(proc_at(bb, 1)->uid, 0);
    cr_expect_eq(bb->n_listening, 0);
    cr_expect(bb->known & CM_INV_K_LISTEN, "an empty table was read: known, none");

    /* podman by the id in "libpod-<id>"; the zombie (no exe) is left out */
    cr_assert_eq(pm->n_processes, 1);
    cr_expect_eq(pm->pid, 4601);
    cr_assert_eq(rc->n_listening, 1);
    cr_expect_eq(rc->listening[0].port, 8080);

    /* error entries are left alone; a container without pids has none */
    cr_expect_eq(err->n_processes, 0);
    cr_expect_eq(err->known, 0);
    cr_expect_eq(idle->n_processes, 0);
    cr_expect_eq(idle->pid, 77, "a pid the runtime gave is kept");
    cr_expect(idle->known & CM_INV_K_PROCS);
    cr_expect_not(idle->known & CM_INV_K_LISTEN, "no pid: no socket table was read");

    cr_expect(ag_inv_proc_in_container(p, 4104));
    cr_expect(ag_inv_proc_in_container(p, 4202));
    cr_expect_not(ag_inv_proc_in_container(p, 900));
    cr_expect_not(ag_inv_proc_in_container(p, 4301), "ctr-app is an error entry here");
    const uint32_t *pids;
    size_t np;
    ag_inv_proc_pids(p, &pids, &np);
    cr_expect_eq(np, 14);
    cr_expect_eq(pids[0], 1);

    /* the next scan replaces the lists, it does not append */
    cr_assert_eq(ag_inv_proc_scan(p, b.p, b.n), 0);
    cr_expect_eq(a->n_processes, 4);
    cr_expect_eq(a->n_listening, 4);
    box_free(&b);
    ag_inv_proc_free(p);
    close(root);
}

/* A host root whose /proc holds one pid (10) in cgroup /box, a scanner
 * over it and the container "box". */
struct one {
    char *dir;
    int root;
    struct ag_inv_proc *p;
    struct box b;
    struct cm_container_inv *c;
};

static void one_open(struct one *o, const char *status, const char *exe)
{
    char link[4096];
    o->dir = tu_mkdtemp();
    cr_assert_eq(tu_write_file(o->dir, "proc/10/cgroup", "0::/box\n"), 0);
    cr_assert_eq(tu_write_file(o->dir, "proc/10/status", status), 0);
    snprintf(link, sizeof link, "%s/proc/10/exe", o->dir);
    cr_assert_eq(symlink(exe, link), 0);
    o->root = open_root(o->dir);
    ag_inv_proc_new(o->root, &o->p);
    o->b.n = 0;
    o->c = box_add(&o->b, "box", "/box");
}

static void one_close(struct one *o)
{
    box_free(&o->b);
    ag_inv_proc_free(o->p);
    close(o->root);
    tu_rm_rf(o->dir);
    free(o->dir);
}

/* A /proc that cannot be listed: lists from an earlier scan go, nothing stale. */
Test(inv_proc, unreadable_proc_clears_earlier_lists)
{
    struct one o;
    one_open(&o, "Name:\tsh\nUid:\t0\t0\t0\t0\n", "/bin/sh");
    cr_assert_eq(ag_inv_proc_scan(o.p, o.b.p, o.b.n), 0);
    cr_assert_eq(o.c->n_processes, 1);
    char procdir[4096];
    snprintf(procdir, sizeof procdir, "%s/proc", o.dir);
    cr_assert_eq(tu_rm_rf(procdir), 0);
    cr_expect_lt(ag_inv_proc_scan(o.p, o.b.p, o.b.n), 0);
    cr_expect_eq(o.c->n_processes, 0);
    cr_expect_not(o.c->known & CM_INV_K_PROCS);
    one_close(&o);
}

/* Names chosen inside a container must not break the encoder. */
Test(inv_proc, non_utf8_names_are_made_sendable)
{
    struct one o;
    one_open(&o, "Name:\tx\xff\x01y\nUid:\t0\t5\t0\t0\n",
             "/tmp/\xc3("
             "evil\x7f");
    cr_assert_eq(ag_inv_proc_scan(o.p, o.b.p, o.b.n), 0);
    const struct cm_container_inv *c = o.c;
    cr_assert_eq(c->n_processes, 1);
    cr_expect_str_eq(c->processes[0].exe, "/tmp/?(evil?");
    cr_expect_str_eq(c->processes[0].comm, "x??y");
    cr_expect_eq(c->processes[0].uid, 5);
    uint8_t *enc = NULL;
    size_t len = 0;
    cr_expect_eq(cm_wire_encode_container_inv(c, &enc, &len), 0);
    free(enc);
    one_close(&o);
}
