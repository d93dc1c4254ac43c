/* cgroup.c - finds container cgroups and reads their counters each sweep.
 *
 * Detects the layout (v1, v2, hybrid) once, then on every sweep walks one
 * hierarchy (v2: the unified root; v1: memory, else the first controller
 * present), recognises containers by name (cid.c), and reads each one's stat
 * files. Files stay open between sweeps and are re-read with pread() at
 * offset 0, the cheapest way to read them; the number of cached fds is
 * capped by RLIMIT_NOFILE, and past the cap files are opened per read. A
 * container that vanished (ENODEV/ENOENT) is dropped silently and its fds
 * closed. Parsing lives in cgroup_v1.c / cgroup_v2.c, net/dev in netdev.c.
 * It does not send anything; it logs only rate-limited warnings. */
#include "agent/cgroup.h"

#include "agent/cgroup_int.h"
#include "agent/cid.h"
#include "agent/netdev.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOD "cgroup"
#define AG_CG_SLOTS_MAX 16
#define AG_CG_FD_RESERVE 512     /* fds left for the rest of the agent */
#define AG_CG_BLK_REPROBE 32     /* sweeps between re-checks of the preferred blkio files */
#define AG_CG_NET_BACKOFF_MAX 32 /* sweeps between tries to find a netns without pids */

enum ag_cg_ctrl {
    AG_CTRL_UNIFIED,
    AG_CTRL_MEMORY,
    AG_CTRL_CPUACCT,
    AG_CTRL_CPU,
    AG_CTRL_PIDS,
    AG_CTRL_BLKIO,
    AG_CTRL__COUNT
};

static const char *const ctrl_names[AG_CTRL__COUNT] = {"",    "memory", "cpuacct",
                                                       "cpu", "pids",   "blkio"};

/* File descriptor states besides an open fd. */
enum { AG_FD_UNOPENED = -1, AG_FD_ABSENT = -2, AG_FD_REOPEN = -3 };

struct ag_cg_slot {
    enum ag_cg_file file;
    enum ag_cg_ctrl ctrl;
    const char *name;
    int blk_group; /* v1 blkio: 0 throttle, 1 cfq, 2 bfq; -1 not blkio */
};

static const struct ag_cg_slot v1_slots[] = {
    {AG_CGF_V1_CPUACCT_USAGE, AG_CTRL_CPUACCT, "cpuacct.usage", -1},
    {AG_CGF_V1_CPUACCT_STAT, AG_CTRL_CPUACCT, "cpuacct.stat", -1},
    {AG_CGF_V1_CPU_STAT, AG_CTRL_CPU, "cpu.stat", -1},
    {AG_CGF_V1_MEM_USAGE, AG_CTRL_MEMORY, "memory.usage_in_bytes", -1},
    {AG_CGF_V1_MEM_LIMIT, AG_CTRL_MEMORY, "memory.limit_in_bytes", -1},
    {AG_CGF_V1_MEMSW_USAGE, AG_CTRL_MEMORY, "memory.memsw.usage_in_bytes", -1},
    {AG_CGF_V1_MEM_STAT, AG_CTRL_MEMORY, "memory.stat", -1},
    {AG_CGF_V1_MEM_OOM_CONTROL, AG_CTRL_MEMORY, "memory.oom_control", -1},
    {AG_CGF_V1_PIDS_CURRENT, AG_CTRL_PIDS, "pids.current", -1},
    {AG_CGF_V1_PIDS_MAX, AG_CTRL_PIDS, "pids.max", -1},
    /* blkio: bytes then ops per group, in order of preference */
    {AG_CGF_V1_BLKIO_BYTES, AG_CTRL_BLKIO, "blkio.throttle.io_service_bytes", 0},
    {AG_CGF_V1_BLKIO_OPS, AG_CTRL_BLKIO, "blkio.throttle.io_serviced", 0},
    {AG_CGF_V1_BLKIO_BYTES, AG_CTRL_BLKIO, "blkio.io_service_bytes_recursive", 1},
    {AG_CGF_V1_BLKIO_OPS, AG_CTRL_BLKIO, "blkio.io_serviced_recursive", 1},
    {AG_CGF_V1_BLKIO_BYTES, AG_CTRL_BLKIO, "blkio.bfq.io_service_bytes_recursive", 2},
    {AG_CGF_V1_BLKIO_OPS, AG_CTRL_BLKIO, "blkio.bfq.io_serviced_recursive", 2},
};
#define AG_CG_V1_BLK_FIRST 10
_Static_assert(sizeof(v1_slots) / sizeof(v1_slots[0]) <= AG_CG_SLOTS_MAX, "slots");
#define AG_CG_V1_BLK_GROUPS 3

static const struct ag_cg_slot v2_slots[] = {
    {AG_CGF_V2_CPU_STAT, AG_CTRL_UNIFIED, "cpu.stat", -1},
    {AG_CGF_V2_MEM_CURRENT, AG_CTRL_UNIFIED, "memory.current", -1},
    {AG_CGF_V2_MEM_MAX, AG_CTRL_UNIFIED, "memory.max", -1},
    {AG_CGF_V2_MEM_STAT, AG_CTRL_UNIFIED, "memory.stat", -1},
    {AG_CGF_V2_SWAP_CURRENT, AG_CTRL_UNIFIED, "memory.swap.current", -1},
    {AG_CGF_V2_MEM_EVENTS, AG_CTRL_UNIFIED, "memory.events", -1},
    {AG_CGF_V2_IO_STAT, AG_CTRL_UNIFIED, "io.stat", -1},
    {AG_CGF_V2_PIDS_CURRENT, AG_CTRL_UNIFIED, "pids.current", -1},
    {AG_CGF_V2_PIDS_MAX, AG_CTRL_UNIFIED, "pids.max", -1},
};

struct ag_cg_ctr {
    char path[CM_CGROUP_PATH_MAX + 1];
    struct ag_cid_match m;
    int fd[AG_CG_SLOTS_MAX];
    int net_fd;
    unsigned net_wait, net_backoff; /* sweeps until the next netns lookup, and the step */
    int blk_group;                  /* v1 blkio group in use; -1: probe */
    unsigned blk_wait;              /* sweeps until the next probe */
    bool seen;                      /* found by this sweep's walk */
    bool gone;                      /* vanished while being read */
};

struct ag_cgroup {
    enum cm_cgroup_mode mode;
    char *ctrl_root[AG_CTRL__COUNT]; /* NULL when that hierarchy is absent */
    enum ag_cg_ctrl walk_ctrl, procs_ctrl;
    char *proc_root; /* <host_root>/proc */
    const struct ag_cg_slot *slots;
    size_t nslots;
    struct ag_cid *cid;
    long clk_tck;
    struct ag_cg_ctr **ctrs;
    size_t n, cap;
    int32_t *index; /* open addressing over ctrs[] by path; -1 empty */
    size_t index_size;
    struct cm_sample *samples;
    size_t samples_cap;
    size_t walk_found;
    size_t open_fds, fd_budget;
    char *buf; /* AG_CG_READ_MAX + 1 */
    char path[PATH_MAX];
    struct cm_ratelimit rl_walk, rl_cap, rl_read;
};

/* ---- layout detection ---- */

static bool path_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool path_exists_in(const char *dir, const char *name)
{
    char p[PATH_MAX];
    struct stat st;
    int n = snprintf(p, sizeof(p), "%s/%s", dir, name);
    return n > 0 && (size_t)n < sizeof(p) && stat(p, &st) == 0;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = cm_xmalloc(la + lb + 2);
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

/* True when the comma-separated list `name` holds `ctrl` ("cpu,cpuacct"). */
static bool list_has(const char *name, const char *ctrl)
{
    size_t cl = strlen(ctrl);
    for (const char *p = name; *p;) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        if (l == cl && memcmp(p, ctrl, cl) == 0) return true;
        p += l + (comma ? 1 : 0);
    }
    return false;
}

/* v1 controller directory: <root>/<ctrl>, or a co-mounted "a,b" directory. */
static char *find_v1_ctrl(const char *root, const char *ctrl)
{
    char *p = join(root, ctrl);
    if (path_is_dir(p)) return p;
    free(p);
    p = NULL;
    DIR *d = opendir(root);
    struct dirent *de;
    while (d && !p && (de = readdir(d)) != NULL) {
        if (!strchr(de->d_name, ',') || !list_has(de->d_name, ctrl)) continue;
        p = join(root, de->d_name);
        if (!path_is_dir(p)) {
            free(p);
            p = NULL;
        }
    }
    if (d) closedir(d);
    return p;
}

static int detect_layout(struct ag_cgroup *cg, const char *root, char *err, size_t errlen)
{
    if (path_exists_in(root, "cgroup.controllers")) {
        cg->mode = CM_CGROUP_V2;
        cg->ctrl_root[AG_CTRL_UNIFIED] = cm_xstrdup(root);
        cg->walk_ctrl = cg->procs_ctrl = AG_CTRL_UNIFIED;
        cg->slots = v2_slots;
        cg->nslots = sizeof(v2_slots) / sizeof(v2_slots[0]);
        return 0;
    }
    bool any = false;
    for (int c = AG_CTRL_MEMORY; c < AG_CTRL__COUNT; c++) {
        cg->ctrl_root[c] = find_v1_ctrl(root, ctrl_names[c]);
        if (cg->ctrl_root[c] && !any) {
            cg->walk_ctrl = (enum ag_cg_ctrl)c; /* memory first: table order */
            any = true;
        }
    }
    if (!any) {
        snprintf(err, errlen,
                 "no cgroup hierarchy found at %s (no cgroup.controllers, no "
                 "memory/cpu/cpuacct/pids/blkio directory)",
                 root);
        return CM_ENOTFOUND;
    }
    cg->procs_ctrl = cg->ctrl_root[AG_CTRL_MEMORY] ? AG_CTRL_MEMORY
                     : cg->ctrl_root[AG_CTRL_PIDS] ? AG_CTRL_PIDS
                                                   : cg->walk_ctrl;
    char *unified = join(root, "unified");
    cg->mode = path_exists_in(unified, "cgroup.controllers") ? CM_CGROUP_HYBRID : CM_CGROUP_V1;
    free(unified);
    cg->slots = v1_slots;
    cg->nslots = sizeof(v1_slots) / sizeof(v1_slots[0]);
    return 0;
}

/* Raises the soft fd limit to the hard one and leaves a reserve for the rest
 * of the process: a big host has thousands of stat files worth keeping open. */
static size_t fd_budget(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl.rlim_cur = rl.rlim_max;
    }
    if (rl.rlim_cur == RLIM_INFINITY) return 1u << 20;
    return rl.rlim_cur > AG_CG_FD_RESERVE ? (size_t)(rl.rlim_cur - AG_CG_FD_RESERVE) : 0;
}

/* Host root without trailing slashes ("/" becomes ""), so "<root>/proc" works. */
static char *trim_root(const char *host_root)
{
    const char *r = host_root ? host_root : "/";
    size_t n = strlen(r);
    while (n > 0 && r[n - 1] == '/')
        n--;
    return cm_xstrndup(r, n);
}

int ag_cgroup_new(const struct ag_cgroup_opts *opts, struct ag_cgroup **out, char *err,
                  size_t errlen)
{
    struct ag_cgroup *cg = cm_xcalloc(1, sizeof(*cg));
    char *host = trim_root(opts->host_root);
    char *root = opts->cgroup_root ? cm_xstrdup(opts->cgroup_root) : join(host, "sys/fs/cgroup");
    int rc = ag_cid_new(opts->patterns, &cg->cid, err, errlen);
    if (rc < 0) goto out;
    rc = detect_layout(cg, root, err, errlen);
    if (rc < 0) goto out;
    cg->proc_root = join(host, "proc");
    cg->clk_tck = sysconf(_SC_CLK_TCK);
    cg->fd_budget = fd_budget();
    cg->buf = cm_xmalloc(AG_CG_READ_MAX + 1);
    *out = cg;
    cg = NULL;
out:
    ag_cgroup_free(cg);
    free(root);
    free(host);
    return rc;
}

enum cm_cgroup_mode ag_cgroup_mode(const struct ag_cgroup *cg)
{
    return cg->mode;
}

/* ---- container table ---- */

static void ctr_close(struct ag_cgroup *cg, struct ag_cg_ctr *c)
{
    for (size_t i = 0; i < AG_CG_SLOTS_MAX; i++) {
        if (c->fd[i] >= 0) {
            close(c->fd[i]);
            cg->open_fds--;
        }
    }
    if (c->net_fd >= 0) {
        close(c->net_fd);
        cg->open_fds--;
    }
    free(c);
}

static uint64_t hash_path(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static void index_rebuild(struct ag_cgroup *cg)
{
    size_t size = 64;
    while (size < cg->n * 2)
        size *= 2;
    if (size != cg->index_size) {
        free(cg->index);
        cg->index = cm_xmalloc(size * sizeof(*cg->index));
        cg->index_size = size;
    }
    memset(cg->index, 0xff, size * sizeof(*cg->index));
    for (size_t i = 0; i < cg->n; i++) {
        size_t h = hash_path(cg->ctrs[i]->path) & (size - 1);
        while (cg->index[h] >= 0)
            h = (h + 1) & (size - 1);
        cg->index[h] = (int32_t)i;
    }
}

static struct ag_cg_ctr *index_find(const struct ag_cgroup *cg, const char *path)
{
    if (!cg->index) return NULL;
    size_t h = hash_path(path) & (cg->index_size - 1);
    for (; cg->index[h] >= 0; h = (h + 1) & (cg->index_size - 1)) {
        struct ag_cg_ctr *c = cg->ctrs[cg->index[h]];
        if (strcmp(c->path, path) == 0) return c;
    }
    return NULL;
}

static void note_container(struct ag_cgroup *cg, const char *rel, const struct ag_cid_match *m)
{
    unsigned dropped;
    if (cg->walk_found >= AG_CG_MAX_CONTAINERS) {
        if (cm_ratelimit_allow(&cg->rl_cap, 1, 60000, &dropped))
            cm_warn(MOD, "too many containers, ignoring the rest", "max=%d suppressed=%u",
                    AG_CG_MAX_CONTAINERS, dropped);
        return;
    }
    cg->walk_found++;
    struct ag_cg_ctr *c = index_find(cg, rel);
    if (c) {
        c->seen = true;
        return;
    }
    if (cg->n == cg->cap) {
        cg->cap = cg->cap ? cg->cap * 2 : 64;
        cg->ctrs = cm_xrealloc(cg->ctrs, cg->cap * sizeof(*cg->ctrs));
    }
    c = cm_xcalloc(1, sizeof(*c));
    snprintf(c->path, sizeof(c->path), "%s", rel);
    c->m = *m;
    for (size_t i = 0; i < AG_CG_SLOTS_MAX; i++)
        c->fd[i] = AG_FD_UNOPENED;
    c->net_fd = AG_FD_UNOPENED;
    c->blk_group = -1;
    c->seen = true;
    cg->ctrs[cg->n++] = c;
}

/* Frees containers not seen by the walk or gone while read; keeps order. */
static void compact(struct ag_cgroup *cg)
{
    size_t k = 0;
    for (size_t i = 0; i < cg->n; i++) {
        struct ag_cg_ctr *c = cg->ctrs[i];
        if (c->seen && !c->gone)
            cg->ctrs[k++] = c;
        else
            ctr_close(cg, c);
    }
    cg->n = k;
    index_rebuild(cg);
}

/* ---- discovery walk ---- */

static bool entry_is_dir(DIR *d, const struct dirent *de)
{
    if (de->d_type == DT_DIR) return true;
    if (de->d_type != DT_UNKNOWN) return false;
    struct stat st;
    return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static void walk_warn(struct ag_cgroup *cg, const char *rel, int e)
{
    unsigned dropped;
    if (cm_ratelimit_allow(&cg->rl_walk, 3, 60000, &dropped))
        cm_warn(MOD, "cannot read cgroup directory", "path=%s err=\"%s\" suppressed=%u",
                rel[0] ? rel : "/", strerror(e), dropped);
}

/* Walks the directory dfd (owned: closed here) whose path relative to the
 * hierarchy root is rel[0, rlen). A matched container is not descended. */
static void walk_dir(struct ag_cgroup *cg, int dfd, char *rel, size_t rlen, int depth)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        walk_warn(cg, rel, errno);
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t nl = strlen(nm);
        if (nm[0] == '.' || !entry_is_dir(d, de) || rlen + 1 + nl > CM_CGROUP_PATH_MAX) continue;
        rel[rlen] = '/';
        memcpy(rel + rlen + 1, nm, nl + 1);
        struct ag_cid_match m;
        if (ag_cid_match(cg->cid, rel, &m)) {
            note_container(cg, rel, &m);
        } else if (depth < AG_CG_MAX_DEPTH) {
            int cfd = openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (cfd >= 0)
                walk_dir(cg, cfd, rel, rlen + 1 + nl, depth + 1);
            else if (errno != ENOENT)
                walk_warn(cg, rel, errno);
        }
        rel[rlen] = '\0';
    }
    closedir(d);
}

static int walk(struct ag_cgroup *cg)
{
    char rel[CM_CGROUP_PATH_MAX + 1] = "";
    int dfd = open(cg->ctrl_root[cg->walk_ctrl], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -errno;
    for (size_t i = 0; i < cg->n; i++)
        cg->ctrs[i]->seen = false;
    cg->walk_found = 0;
    walk_dir(cg, dfd, rel, 0, 1);
    return 0;
}

/* ---- reading ---- */

static bool is_gone_errno(int e)
{
    return e == ENODEV || e == ENOENT || e == ESRCH;
}

/* Reads from fd into cg->buf; a buffer filled to the cap is cut after its
 * last newline so no parser sees half a line. */
static int read_fd(struct ag_cgroup *cg, int fd, size_t *len)
{
    ssize_t r = pread(fd, cg->buf, AG_CG_READ_MAX, 0);
    if (r < 0) return -errno;
    size_t n = (size_t)r;
    if (n == AG_CG_READ_MAX) {
        char *nl = memrchr(cg->buf, '\n', n);
        n = nl ? (size_t)(nl - cg->buf) + 1 : 0;
    }
    cg->buf[n] = '\0';
    *len = n;
    return 0;
}

static int slot_path(struct ag_cgroup *cg, const struct ag_cg_ctr *c, size_t i)
{
    const struct ag_cg_slot *s = &cg->slots[i];
    const char *root = cg->ctrl_root[s->ctrl];
    if (!root) return CM_ENOTFOUND;
    int n = snprintf(cg->path, sizeof(cg->path), "%s%s/%s", root, c->path, s->name);
    return n > 0 && (size_t)n < sizeof(cg->path) ? 0 : CM_ETOOBIG;
}

/* Reads slot i of container c into cg->buf. Returns 0, CM_ENOTFOUND when the
 * file does not exist (the field stays absent), -ENODEV when the container
 * vanished, or another negative errno. Opens lazily; keeps the fd while the
 * budget allows. */
static int read_slot(struct ag_cgroup *cg, struct ag_cg_ctr *c, size_t i, size_t *len)
{
    int fd = c->fd[i];
    if (fd == AG_FD_ABSENT) return CM_ENOTFOUND;
    if (fd >= 0) {
        int rc = read_fd(cg, fd, len);
        return rc < 0 && is_gone_errno(-rc) ? -ENODEV : rc;
    }
    if (slot_path(cg, c, i) < 0) {
        c->fd[i] = AG_FD_ABSENT;
        return CM_ENOTFOUND;
    }
    fd = open(cg->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (c->fd[i] == AG_FD_REOPEN) return is_gone_errno(e) ? -ENODEV : -e;
        if (e == ENOENT) c->fd[i] = AG_FD_ABSENT;
        return e == ENOENT ? CM_ENOTFOUND : -e;
    }
    int rc = read_fd(cg, fd, len);
    if (rc == 0 && cg->open_fds < cg->fd_budget) {
        c->fd[i] = fd;
        cg->open_fds++;
    } else {
        close(fd);
        c->fd[i] = AG_FD_REOPEN;
    }
    return rc < 0 && is_gone_errno(-rc) ? -ENODEV : rc;
}

static void read_warn(struct ag_cgroup *cg, const struct ag_cg_ctr *c, const char *what, int rc)
{
    unsigned dropped;
    if (cm_ratelimit_allow(&cg->rl_read, 3, 60000, &dropped))
        cm_warn(MOD, "cannot read cgroup stat file", "path=%s file=%s err=\"%s\" suppressed=%u",
                c->path, what, cm_err_str(rc), dropped);
}

/* Reads and parses slot i into raw. Returns -ENODEV when the container is
 * gone, 1 when the file was read and parsed, else 0 (field stays absent). */
static int load_slot(struct ag_cgroup *cg, struct ag_cg_ctr *c, size_t i, struct ag_cg_raw *raw)
{
    size_t len;
    int rc = read_slot(cg, c, i, &len);
    if (rc == -ENODEV) return rc;
    if (rc == CM_ENOTFOUND) return 0;
    if (rc < 0) {
        read_warn(cg, c, cg->slots[i].name, rc);
        return 0;
    }
    return ag_cg_parse(cg->slots[i].file, cg->buf, len, raw) == 0 ? 1 : 0;
}

static void raw_merge(struct ag_cg_raw *dst, const struct ag_cg_raw *src)
{
    for (int k = 0; k < AG_RAW__COUNT; k++) {
        if (ag_cg_raw_has(src, (enum ag_cg_rawkey)k))
            ag_cg_raw_set(dst, (enum ag_cg_rawkey)k, src->v[k]);
    }
}

/* v1 blkio: the first group whose bytes file lists a device wins; when none
 * does, the first group present (all zeros). The choice is kept for
 * AG_CG_BLK_REPROBE sweeps so an idle container costs two reads, not six. */
static int probe_blkio(struct ag_cgroup *cg, struct ag_cg_ctr *c, struct ag_cg_raw *best)
{
    int chosen = -1;
    for (int g = 0; g < AG_CG_V1_BLK_GROUPS; g++) {
        struct ag_cg_raw t = {0};
        int rc = load_slot(cg, c, AG_CG_V1_BLK_FIRST + 2 * (size_t)g, &t);
        if (rc < 0) return rc;
        if (rc == 0) continue;
        if (chosen < 0 || t.v[AG_RAW_BLK_DEVICES] > 0) {
            chosen = g;
            *best = t;
        }
        if (t.v[AG_RAW_BLK_DEVICES] > 0) break;
    }
    c->blk_group = chosen;
    c->blk_wait = AG_CG_BLK_REPROBE;
    return chosen < 0 ? 0 : 1;
}

static int load_blkio(struct ag_cgroup *cg, struct ag_cg_ctr *c, struct ag_cg_raw *raw)
{
    struct ag_cg_raw best = {0};
    int rc;
    if (c->blk_group < 0 || c->blk_wait == 0) {
        rc = probe_blkio(cg, c, &best);
    } else {
        c->blk_wait--;
        rc = load_slot(cg, c, AG_CG_V1_BLK_FIRST + 2 * (size_t)c->blk_group, &best);
    }
    if (rc <= 0) return rc;
    rc = load_slot(cg, c, AG_CG_V1_BLK_FIRST + 2 * (size_t)c->blk_group + 1, &best);
    if (rc < 0) return rc;
    raw_merge(raw, &best);
    return 1;
}

/* Finds the container's network namespace through its first pid and keeps
 * <host_root>/proc/<pid>/net/dev open; -1 when it cannot. */
static int open_net(struct ag_cgroup *cg, const struct ag_cg_ctr *c)
{
    const char *root = cg->ctrl_root[cg->procs_ctrl];
    char p[PATH_MAX];
    int pid, n = snprintf(p, sizeof(p), "%s%s/cgroup.procs", root, c->path);
    if (n <= 0 || (size_t)n >= sizeof(p)) return -1;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    int rc = read_fd(cg, fd, &len);
    close(fd);
    if (rc < 0 || ag_cg_parse_first_pid(cg->buf, len, &pid) < 0) return -1;
    n = snprintf(p, sizeof(p), "%s/%d/net/dev", cg->proc_root, pid);
    if (n <= 0 || (size_t)n >= sizeof(p)) return -1;
    return open(p, O_RDONLY | O_CLOEXEC);
}

static void load_net(struct ag_cgroup *cg, struct ag_cg_ctr *c, struct cm_sample *s)
{
    bool fresh = false;
    if (c->net_fd < 0) {
        if (c->net_wait > 0) {
            c->net_wait--;
            return;
        }
        c->net_fd = open_net(cg, c);
        if (c->net_fd < 0) { /* no pid yet (or no /proc): try less and less often */
            c->net_backoff = c->net_backoff ? c->net_backoff * 2 : 1;
            if (c->net_backoff > AG_CG_NET_BACKOFF_MAX) c->net_backoff = AG_CG_NET_BACKOFF_MAX;
            c->net_wait = c->net_backoff;
            return;
        }
        c->net_backoff = 0;
        cg->open_fds++;
        fresh = true;
    }
    size_t len;
    struct ag_netdev_totals t;
    int rc = read_fd(cg, c->net_fd, &len);
    if (rc == 0 && ag_netdev_parse(cg->buf, len, &t) == 0) {
        cm_sample_set(s, CM_F_NET_RX_BYTES, t.rx_bytes);
        cm_sample_set(s, CM_F_NET_TX_BYTES, t.tx_bytes);
        cm_sample_set(s, CM_F_NET_RX_PACKETS, t.rx_packets);
        cm_sample_set(s, CM_F_NET_TX_PACKETS, t.tx_packets);
    }
    /* an fd past the budget, or one that stopped working, is not kept */
    if (rc < 0 || (fresh && cg->open_fds > cg->fd_budget)) {
        close(c->net_fd);
        c->net_fd = AG_FD_UNOPENED;
        cg->open_fds--;
    }
}

/* Fills s from container c. Returns 0, or -ENODEV when the container is gone
 * (vanished mid-read, or not one stat file could be read). */
static int read_container(struct ag_cgroup *cg, struct ag_cg_ctr *c, int64_t now_ns,
                          struct cm_sample *s)
{
    struct ag_cg_raw raw = {0};
    int loaded = 0;
    for (size_t i = 0; i < cg->nslots; i++) {
        if (cg->slots[i].blk_group >= 0) continue;
        int rc = load_slot(cg, c, i, &raw);
        if (rc < 0) return rc;
        loaded += rc;
    }
    if (cg->mode != CM_CGROUP_V2) {
        int rc = load_blkio(cg, c, &raw);
        if (rc < 0) return rc;
        loaded += rc;
    }
    if (loaded == 0) return -ENODEV;
    memset(s, 0, sizeof(*s));
    snprintf(s->container_id, sizeof(s->container_id), "%s", c->m.id);
    snprintf(s->cgroup_path, sizeof(s->cgroup_path), "%s", c->path);
    s->runtime = c->m.runtime;
    s->ts_ns = now_ns;
    if (cg->mode == CM_CGROUP_V2)
        ag_cg_v2_finish(&raw, s);
    else
        ag_cg_v1_finish(&raw, cg->clk_tck, s);
    load_net(cg, c, s);
    return 0;
}

int ag_cgroup_sweep(struct ag_cgroup *cg, int64_t now_ns, const struct cm_sample **samples,
                    size_t *n)
{
    int rc = walk(cg);
    if (rc < 0) return rc;
    if (cg->samples_cap < cg->n) {
        cg->samples_cap = cg->n;
        cg->samples = cm_xrealloc(cg->samples, cg->samples_cap * sizeof(*cg->samples));
    }
    size_t k = 0;
    for (size_t i = 0; i < cg->n; i++) {
        struct ag_cg_ctr *c = cg->ctrs[i];
        if (c->seen && read_container(cg, c, now_ns, &cg->samples[k]) == 0)
            k++;
        else
            c->gone = true;
    }
    compact(cg);
    *samples = cg->samples;
    *n = k;
    return 0;
}

void ag_cgroup_free(struct ag_cgroup *cg)
{
    if (!cg) return;
    for (size_t i = 0; i < cg->n; i++)
        ctr_close(cg, cg->ctrs[i]);
    free(cg->ctrs);
    free(cg->index);
    free(cg->samples);
    for (int c = 0; c < AG_CTRL__COUNT; c++)
        free(cg->ctrl_root[c]);
    free(cg->proc_root);
    free(cg->buf);
    ag_cid_free(cg->cid);
    free(cg);
}
