/* test_cgroup.c - container discovery and sweeps: over the fabricated host
 * roots in tests/fixtures (v1 with co-mounted cpu,cpuacct behind symlinks,
 * v2 with systemd-style names), layout detection on small trees, and a real
 * v1 cgroup created on this machine (needs root; skipped otherwise). */
#include "agent/cgroup.h"
#include "common/err.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(cgroup, .timeout = 60);

#define A "a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4"
#define B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define C "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
#define D "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
#define F "f00df00df00df00df00df00df00df00df00df00df00df00df00df00df00df00d"

static struct ag_cgroup *open_root(const char *host_root, const char *pattern)
{
    struct cm_strlist pats = {0};
    if (pattern) cm_strlist_add(&pats, pattern);
    struct ag_cgroup_opts o = {.host_root = host_root, .patterns = &pats};
    struct ag_cgroup *cg = NULL;
    char err[256] = "";
    int rc = ag_cgroup_new(&o, &cg, err, sizeof(err));
    cm_strlist_free(&pats);
    cr_assert_eq(rc, 0, "ag_cgroup_new(%s): %s", host_root, err);
    return cg;
}

static const struct cm_sample *find(const struct cm_sample *s, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].container_id, id) == 0) return &s[i];
    }
    cr_assert_fail("container %s not found among %zu", id, n);
    return NULL;
}

static void expect_field(const struct cm_sample *s, enum cm_field f, uint64_t v)
{
    cr_assert(cm_sample_has(s, f), "%s: field %s missing", s->container_id, cm_fields[f].name);
    cr_expect_eq(s->v[f], v, "%s: %s got %llu want %llu", s->container_id, cm_fields[f].name,
                 (unsigned long long)s->v[f], (unsigned long long)v);
}

static void expect_one(const struct cm_sample *s, size_t n, const char *id, enum cm_runtime rt,
                       const char *path)
{
    const struct cm_sample *x = find(s, n, id);
    cr_expect_eq(x->runtime, rt, "%s: runtime %s", id, cm_runtime_name(x->runtime));
    cr_expect_str_eq(x->cgroup_path, path);
    cr_expect_eq(x->ts_ns, 1234);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d))
        n++;
    if (d) closedir(d);
    return n;
}

Test(cgroup, fixture_v1_discovery_and_values)
{
    struct ag_cgroup *cg = open_root(tu_fixture_path("hostroot-v1"), "^/myrt/([a-z0-9-]+)$");
    cr_assert_eq(ag_cgroup_mode(cg), CM_CGROUP_V1);
    const struct cm_sample *s;
    size_t n;
    cr_assert_eq(ag_cgroup_sweep(cg, 1234, &s, &n), 0);
    cr_assert_eq(n, 5, "found %zu containers", n);
    expect_one(s, n, A, CM_RT_DOCKER, "/docker/" A);
    expect_one(s, n, B, CM_RT_CONTAINERD,
               "/kubepods/burstable/pod0f1e2d3c-aaaa-bbbb-cccc-000000000001/" B);
    expect_one(s, n, C, CM_RT_PODMAN, "/libpod_parent/libpod-" C);
    expect_one(s, n, D, CM_RT_CONTAINERD, "/k8s.io/" D);
    expect_one(s, n, "job-42", CM_RT_CUSTOM, "/myrt/job-42");

    uint64_t tick_ns = 1000000000u / (uint64_t)sysconf(_SC_CLK_TCK);
    const struct cm_sample *x = find(s, n, A);
    expect_field(x, CM_F_CPU_USAGE_NS, 1000000000);
    expect_field(x, CM_F_CPU_USER_NS, 100 * tick_ns);
    expect_field(x, CM_F_CPU_SYSTEM_NS, 50 * tick_ns);
    expect_field(x, CM_F_CPU_PERIODS, 10);
    expect_field(x, CM_F_CPU_THROTTLED_PERIODS, 1);
    expect_field(x, CM_F_CPU_THROTTLED_NS, 1000);
    expect_field(x, CM_F_MEM_USAGE_BYTES, 10485760);
    expect_field(x, CM_F_MEM_LIMIT_BYTES, 268435456);
    expect_field(x, CM_F_MEM_RSS_BYTES, 1048576);
    expect_field(x, CM_F_MEM_CACHE_BYTES, 2097152);
    expect_field(x, CM_F_MEM_WORKING_SET_BYTES, 10485760 - 524288);
    expect_field(x, CM_F_MEM_SWAP_BYTES, 4096); /* memsw - usage, not total_swap */
    expect_field(x, CM_F_OOM_KILLS, 1);
    expect_field(x, CM_F_BLK_READ_BYTES, 4096 + 100);
    expect_field(x, CM_F_BLK_WRITE_BYTES, 8192 + 200);
    expect_field(x, CM_F_BLK_READ_OPS, 10 + 1);
    expect_field(x, CM_F_BLK_WRITE_OPS, 20 + 2);
    expect_field(x, CM_F_PIDS_CURRENT, 3);
    expect_field(x, CM_F_PIDS_LIMIT, 100);
    expect_field(x, CM_F_NET_RX_BYTES, 1000300);
    expect_field(x, CM_F_NET_TX_BYTES, 500700);
    expect_field(x, CM_F_NET_RX_PACKETS, 2003);
    expect_field(x, CM_F_NET_TX_PACKETS, 1007);

    x = find(s, n, B); /* throttle files say only "Total 0": falls back to *_recursive */
    expect_field(x, CM_F_BLK_READ_BYTES, 7000);
    expect_field(x, CM_F_BLK_WRITE_BYTES, 9000);
    expect_field(x, CM_F_BLK_READ_OPS, 70);
    expect_field(x, CM_F_BLK_WRITE_OPS, 90);
    expect_field(x, CM_F_MEM_SWAP_BYTES, 8192); /* no memsw file: total_swap */
    cr_expect_not(cm_sample_has(x, CM_F_MEM_LIMIT_BYTES), "unlimited must be absent");
    cr_expect_not(cm_sample_has(x, CM_F_PIDS_LIMIT), "pids.max max must be absent");
    cr_expect_not(cm_sample_has(x, CM_F_NET_RX_BYTES), "no pid: no network counters");
    expect_field(find(s, n, "job-42"), CM_F_MEM_LIMIT_BYTES, 536870912);
    ag_cgroup_free(cg);
}

Test(cgroup, fixture_v2_discovery_and_values)
{
    struct ag_cgroup *cg =
        open_root(tu_fixture_path("hostroot-v2"), "custom=^/custom/(box[0-9]+)$");
    cr_assert_eq(ag_cgroup_mode(cg), CM_CGROUP_V2);
    const struct cm_sample *s;
    size_t n;
    cr_assert_eq(ag_cgroup_sweep(cg, 1234, &s, &n), 0);
    cr_assert_eq(n, 6, "found %zu containers", n);
    expect_one(s, n, A, CM_RT_DOCKER, "/system.slice/docker-" A ".scope");
    expect_one(s, n, B, CM_RT_CONTAINERD,
               "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f1e2d3c_aaaa_"
               "bbbb_cccc_000000000001.slice/cri-containerd-" B ".scope");
    expect_one(s, n, C, CM_RT_CRIO,
               "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0f1e2d3c_aaaa_"
               "bbbb_cccc_000000000002.slice/crio-" C ".scope");
    expect_one(s, n, D, CM_RT_PODMAN, "/machine.slice/libpod-" D ".scope");
    expect_one(s, n, F, CM_RT_CONTAINERD, "/system.slice/cri-containerd-" F ".scope");
    expect_one(s, n, "box1", CM_RT_CUSTOM, "/custom/box1");

    const struct cm_sample *x = find(s, n, A);
    expect_field(x, CM_F_CPU_USAGE_NS, 1000000000);
    expect_field(x, CM_F_CPU_USER_NS, 600000000);
    expect_field(x, CM_F_CPU_SYSTEM_NS, 400000000);
    expect_field(x, CM_F_CPU_THROTTLED_NS, 5000);
    expect_field(x, CM_F_MEM_USAGE_BYTES, 10485760);
    expect_field(x, CM_F_MEM_LIMIT_BYTES, 268435456);
    expect_field(x, CM_F_MEM_RSS_BYTES, 1048576);
    expect_field(x, CM_F_MEM_CACHE_BYTES, 2097152);
    expect_field(x, CM_F_MEM_WORKING_SET_BYTES, 10485760 - 524288);
    expect_field(x, CM_F_MEM_SWAP_BYTES, 4096);
    expect_field(x, CM_F_OOM_KILLS, 1);
    expect_field(x, CM_F_BLK_READ_BYTES, 4096 + 100);
    expect_field(x, CM_F_BLK_WRITE_OPS, 20 + 2);
    expect_field(x, CM_F_PIDS_LIMIT, 100);
    expect_field(x, CM_F_NET_TX_PACKETS, 1007);
    x = find(s, n, D);
    expect_field(x, CM_F_PIDS_LIMIT, 2048);
    cr_expect_not(cm_sample_has(x, CM_F_MEM_LIMIT_BYTES));
    ag_cgroup_free(cg);
}

/* A container whose directory disappears is dropped and its fds closed. */
Test(cgroup, vanished_container_dropped_and_fds_closed)
{
    char *dir = tu_mkdtemp();
    const char *base = "sys/fs/cgroup/k8s.io/" D;
    char rel[256];
    cr_assert_eq(tu_write_file(dir, "sys/fs/cgroup/cgroup.controllers", "cpu memory\n"), 0);
    snprintf(rel, sizeof(rel), "%s/memory.current", base);
    cr_assert_eq(tu_write_file(dir, rel, "100\n"), 0);
    snprintf(rel, sizeof(rel), "%s/cpu.stat", base);
    cr_assert_eq(tu_write_file(dir, rel, "usage_usec 5\n"), 0);
    int fds0 = count_fds();
    struct ag_cgroup *cg = open_root(dir, NULL);
    const struct cm_sample *s;
    size_t n;
    cr_assert_eq(ag_cgroup_sweep(cg, 1, &s, &n), 0);
    cr_assert_eq(n, 1);
    cr_expect_gt(count_fds(), fds0, "stat files should be kept open between sweeps");
    expect_field(&s[0], CM_F_MEM_USAGE_BYTES, 100);
    cr_assert_eq(tu_write_file(dir, rel, "usage_usec 9\n"), 0); /* same inode, re-read */
    cr_assert_eq(ag_cgroup_sweep(cg, 2, &s, &n), 0);
    cr_assert_eq(n, 1);
    expect_field(&s[0], CM_F_CPU_USAGE_NS, 9000);
    char full[512];
    snprintf(full, sizeof(full), "%s/%s", dir, base);
    cr_assert_eq(tu_rm_rf(full), 0);
    cr_assert_eq(ag_cgroup_sweep(cg, 3, &s, &n), 0);
    cr_expect_eq(n, 0);
    cr_expect_eq(count_fds(), fds0, "fds of the vanished container must be closed");
    ag_cgroup_free(cg);
    tu_rm_rf(dir);
    free(dir);
}

Test(cgroup, layout_detection)
{
    char *dir = tu_mkdtemp();
    struct ag_cgroup_opts o = {.host_root = dir};
    struct ag_cgroup *cg = NULL;
    char err[256] = "";
    cr_expect_eq(ag_cgroup_new(&o, &cg, err, sizeof(err)), CM_ENOTFOUND);
    cr_expect_null(cg);
    cr_expect(strstr(err, "no cgroup hierarchy") != NULL, "%s", err);
    /* v1 with separate cpu and cpuacct plus a unified dir: hybrid */
    cr_assert_eq(tu_write_file(dir, "sys/fs/cgroup/cpuacct/docker/" A "/cpuacct.usage", "77\n"), 0);
    cr_assert_eq(tu_write_file(dir, "sys/fs/cgroup/cpu/docker/" A "/cpu.stat", "nr_periods 3\n"),
                 0);
    cr_assert_eq(tu_write_file(dir, "sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n"), 0);
    cg = open_root(dir, NULL);
    cr_expect_eq(ag_cgroup_mode(cg), CM_CGROUP_HYBRID);
    const struct cm_sample *s;
    size_t n;
    cr_assert_eq(ag_cgroup_sweep(cg, 1, &s, &n), 0);
    cr_assert_eq(n, 1, "walks cpuacct when there is no memory hierarchy");
    expect_field(&s[0], CM_F_CPU_USAGE_NS, 77);
    expect_field(&s[0], CM_F_CPU_PERIODS, 3);
    cr_expect_not(cm_sample_has(&s[0], CM_F_MEM_USAGE_BYTES));
    ag_cgroup_free(cg);
    /* a bad pattern fails naming it */
    struct cm_strlist pats = {0};
    cm_strlist_add(&pats, "^/x/([a-z+$");
    o.patterns = &pats;
    cr_expect_eq(ag_cgroup_new(&o, &cg, err, sizeof(err)), CM_ECONFIG);
    cr_expect(strstr(err, "^/x/([a-z+$") != NULL, "%s", err);
    cm_strlist_free(&pats);
    tu_rm_rf(dir);
    free(dir);
}

/* ---- a real v1 cgroup on this machine ---- */

#define REAL_NCTRL 5
static const char *const real_ctrls[REAL_NCTRL] = {"memory", "cpu", "cpuacct", "pids", "blkio"};

static struct {
    pid_t child;
    char top[REAL_NCTRL][256];  /* /sys/fs/cgroup/<ctrl>/bwtest-<pid>, "" when not made */
    char leaf[REAL_NCTRL][256]; /* .../box-1 */
} real;

static void rmdir_retry(const char *p)
{
    for (int i = 0; p[0] && i < 50; i++) {
        if (rmdir(p) == 0 || errno == ENOENT) return;
        usleep(20000);
    }
}

static void real_teardown(void)
{
    if (real.child > 0) {
        kill(real.child, SIGKILL);
        waitpid(real.child, NULL, 0);
        real.child = 0;
    }
    for (int i = 0; i < REAL_NCTRL; i++) {
        rmdir_retry(real.leaf[i]);
        rmdir_retry(real.top[i]);
    }
}

static int write_str(const char *dir, const char *file, const char *val)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t w = write(fd, val, strlen(val));
    int e = errno;
    close(fd);
    return w == (ssize_t)strlen(val) ? 0 : -e;
}

static uint64_t read_u64(const char *dir, const char *file)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    char *t = tu_read_file(p, NULL);
    cr_assert_not_null(t, "cannot read %s", p);
    uint64_t v = strtoull(t, NULL, 10);
    free(t);
    return v;
}

/* Makes the cgroups; returns false (test skipped) when it cannot. */
static bool real_make(void)
{
    if (geteuid() != 0) return false;
    for (int i = 0; i < REAL_NCTRL; i++) {
        char t[200], l[256];
        snprintf(t, sizeof(t), "/sys/fs/cgroup/%s/bwtest-%d", real_ctrls[i], (int)getpid());
        snprintf(l, sizeof(l), "%s/box-1", t);
        if (mkdir(t, 0755) != 0) {
            if (i == REAL_NCTRL - 1) /* blkio is optional */
                break;
            return false;
        }
        snprintf(real.top[i], sizeof(real.top[i]), "%s", t);
        if (mkdir(l, 0755) != 0) return false;
        snprintf(real.leaf[i], sizeof(real.leaf[i]), "%s", l);
    }
    return true;
}

/* A child that touches 8 MiB once it is moved, then burns CPU. */
static void real_spawn(void)
{
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    real.child = fork();
    cr_assert_geq(real.child, 0);
    if (real.child == 0) {
        char go;
        close(pfd[1]);
        if (read(pfd[0], &go, 1) != 1) _exit(1);
        volatile char *m = malloc(8 << 20);
        for (size_t i = 0; m && i < (8u << 20); i += 4096)
            m[i] = 1;
        for (volatile unsigned long x = 0;; x++)
            ;
    }
    close(pfd[0]);
    char pid[32];
    snprintf(pid, sizeof(pid), "%d\n", (int)real.child);
    for (int i = 0; i < REAL_NCTRL; i++) {
        if (real.leaf[i][0])
            cr_assert_eq(write_str(real.leaf[i], "cgroup.procs", pid), 0, "move into %s",
                         real.leaf[i]);
    }
    cr_assert_eq(write_str(real.leaf[0], "memory.limit_in_bytes", "67108864"), 0);
    cr_assert_eq(write_str(real.leaf[3], "pids.max", "50"), 0);
    cr_assert_eq(write(pfd[1], "g", 1), 1);
    close(pfd[1]);
}

static const struct cm_sample *real_find(const struct cm_sample *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].container_id, "box-1") == 0) return &s[i];
    }
    return NULL;
}

Test(cgroup, real_v1_cgroup, .fini = real_teardown)
{
    if (!real_make())
        cr_skip_test("needs root and a writable cgroup v1 tree (memory, cpu, cpuacct, pids) "
                     "under /sys/fs/cgroup: cannot create bwtest cgroups (%s)",
                     strerror(errno));
    real_spawn();
    char pat[128];
    snprintf(pat, sizeof(pat), "^/bwtest-%d/([a-z0-9-]+)$", (int)getpid());
    struct ag_cgroup *cg = open_root("/", pat);
    cr_expect(ag_cgroup_mode(cg) == CM_CGROUP_V1 || ag_cgroup_mode(cg) == CM_CGROUP_HYBRID);
    const struct cm_sample *s;
    size_t n;
    usleep(100000);
    cr_assert_eq(ag_cgroup_sweep(cg, 1, &s, &n), 0);
    const struct cm_sample *x = real_find(s, n);
    cr_assert_not_null(x, "bwtest container not found among %zu", n);
    cr_expect_eq(x->runtime, CM_RT_CUSTOM);
    char path[64];
    snprintf(path, sizeof(path), "/bwtest-%d/box-1", (int)getpid());
    cr_expect_str_eq(x->cgroup_path, path);
    cr_assert(cm_sample_has(x, CM_F_CPU_USAGE_NS));
    uint64_t cpu1 = x->v[CM_F_CPU_USAGE_NS];
    usleep(200000);
    cr_assert_eq(ag_cgroup_sweep(cg, 2, &s, &n), 0);
    uint64_t mem_file = read_u64(real.leaf[0], "memory.usage_in_bytes");
    x = real_find(s, n);
    cr_assert_not_null(x, "container lost on the second sweep");
    cr_expect_gt(x->v[CM_F_CPU_USAGE_NS], cpu1, "cpu usage did not grow");
    expect_field(x, CM_F_MEM_LIMIT_BYTES, 67108864);
    expect_field(x, CM_F_PIDS_LIMIT, 50);
    expect_field(x, CM_F_PIDS_CURRENT, 1);
    cr_assert(cm_sample_has(x, CM_F_MEM_USAGE_BYTES));
    uint64_t mem = x->v[CM_F_MEM_USAGE_BYTES];
    cr_expect(mem + (1 << 20) >= mem_file && mem <= mem_file + (1 << 20),
              "mem usage %llu vs file %llu", (unsigned long long)mem, (unsigned long long)mem_file);
    cr_expect_geq(mem, 4u << 20, "the child touched 8 MiB after the move");
    cr_expect(cm_sample_has(x, CM_F_NET_RX_BYTES), "net/dev of the child's netns not read");
    /* the container stops: the next sweep drops it without an error */
    real_teardown();
    cr_assert_eq(ag_cgroup_sweep(cg, 3, &s, &n), 0);
    cr_expect_null(real_find(s, n), "stopped container still reported");
    ag_cgroup_free(cg);
}
