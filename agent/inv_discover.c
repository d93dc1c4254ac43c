/* inv_discover.c - finds every container the runtimes keep state for under
 * --host-root, and reads each one's configuration.
 *
 * Listing only reads directories and stats files (the scheduler re-parses a
 * container only when the identity of one of its files changed). Loading
 * reads the files with a size cap, never through a symlink below a state
 * root, and hands the bytes to agent/rt_*.c. It does not join anything with
 * cgroups, does not read /proc and never logs: a file that cannot be read
 * or parsed becomes an error entry the scheduler reports. The small
 * parsers here (runc's state.json, crun's status, podman's containers.json)
 * are pure. */
#include "agent/inv_int.h"

#include "agent/rt.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/parse.h"
#include "common/timeutil.h"
#include "proto/wire.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AG_INV_FOUND_MAX 10000 /* containers listed per pass */
#define AG_INV_PODMAN_FILE "containers.json"
#define AG_INV_ERR_MAX 256

/* ---- file access ---- */

static int inv_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = resolve};
    for (int tries = 0; tries < 3; tries++) {
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0) return (int)fd;
        if (errno != EAGAIN) return -errno; /* EAGAIN: a rename raced the lookup */
    }
    return -EAGAIN;
}

static const char *inv_rel(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

int ag_inv_open_in_root(int rootfd, const char *path, int flags)
{
    const char *rel = inv_rel(path);
    int fd = inv_openat2(rootfd, rel, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (fd != -ENOSYS) return fd;
    /* Kernels before 5.6: plain lookup (an absolute symlink may then leave
     * a host root other than "/"). */
    fd = openat(rootfd, rel, flags | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

/* Component by component with O_NOFOLLOW, for kernels without openat2. */
static int inv_open_beneath_walk(int dirfd, const char *rel, int flags)
{
    char part[NAME_MAX + 1];
    int cur = dirfd;
    const char *p = rel;
    for (;;) {
        while (*p == '/')
            p++;
        const char *end = strchr(p, '/');
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l == 0 || l > NAME_MAX) break;
        memcpy(part, p, l);
        part[l] = '\0';
        if (strcmp(part, "..") == 0) {
            if (cur != dirfd) close(cur);
            return -EXDEV;
        }
        bool last = !end || !end[strspn(end, "/")];
        int next = openat(cur, part,
                          last ? flags | O_NOFOLLOW | O_CLOEXEC
                               : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        if (cur != dirfd) close(cur);
        if (next < 0) return -e;
        if (last) return next;
        cur = next;
        p = end;
    }
    if (cur != dirfd) close(cur);
    return -EINVAL;
}

int ag_inv_open_beneath(int dirfd, const char *rel, int flags)
{
    int fd = inv_openat2(dirfd, rel, flags,
                         RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    return fd == -ENOSYS ? inv_open_beneath_walk(dirfd, rel, flags) : fd;
}

int ag_inv_read_fd(int fd, size_t max, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = cm_xmalloc(cap);
    int rc = 0;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                rc = CM_ETOOBIG;
                break;
            }
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            buf = cm_xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n > max) {
            rc = CM_ETOOBIG;
            break;
        }
    }
    close(fd);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf = cm_xrealloc(buf, n + 1);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int ag_inv_read_beneath(int dirfd, const char *rel, size_t max, char **out, size_t *len)
{
    int fd = ag_inv_open_beneath(dirfd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return fd;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { /* no fifo, device or dir */
        close(fd);
        return -EINVAL;
    }
    return ag_inv_read_fd(fd, max, out, len);
}

uint64_t ag_inv_hash(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    if (h == 0) h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * UINT64_C(1099511628211);
    return h;
}

void ag_inv_sig_add(uint64_t *sig, int dirfd, const char *rel)
{
    struct stat st;
    if (dirfd < 0 || fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        int e = dirfd < 0 ? EBADF : errno;
        *sig = ag_inv_hash(*sig, &e, sizeof e);
        return;
    }
    int64_t v[8] = {(int64_t)st.st_dev,  (int64_t)st.st_ino, (int64_t)st.st_size,
                    (int64_t)st.st_mode, st.st_mtim.tv_sec,  st.st_mtim.tv_nsec,
                    st.st_ctim.tv_sec,   st.st_ctim.tv_nsec};
    *sig = ag_inv_hash(*sig, v, sizeof v);
}

bool ag_inv_cgroup_leaf_id(const char *path, char *id, size_t idlen)
{
    if (!path || strchr(path, ':')) return false;
    size_t n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t l = n - start;
    if (l == 0 || l >= idlen || l > CM_CONTAINER_ID_MAX) return false;
    memcpy(id, path + start, l);
    id[l] = '\0';
    return cm_wire_check_container_id(id) == 0;
}

/* ---- runc's state.json, crun's status and podman's containers.json ---- */

static const cJSON *inv_json_get(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return cJSON_IsNull(v) ? NULL : v;
}

static char *inv_json_strdup(const cJSON *v)
{
    if (!cJSON_IsString(v) || !v->valuestring[0]) return NULL;
    return cm_xstrndup(v->valuestring, strnlen(v->valuestring, CM_INV_STR_MAX));
}

static int inv_json_open(const char *buf, size_t len, const char *what, cJSON **out, char *err,
                         size_t errlen)
{
    if (len > AG_RT_FILE_MAX) {
        snprintf(err, errlen, "%s larger than %u bytes", what, AG_RT_FILE_MAX);
        return CM_ETOOBIG;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(buf, len, &end, false);
    if (!doc) {
        snprintf(err, errlen, "%s is not valid JSON (near byte %zu)", what,
                 end && end >= buf ? (size_t)(end - buf) : (size_t)0);
        return CM_EPARSE;
    }
    *out = doc;
    return 0;
}

void ag_inv_runc_state_free(struct ag_inv_runc_state *s)
{
    free(s->bundle);
    free(s->cgroup_path);
    memset(s, 0, sizeof *s);
}

/* runc's bundle label: config.labels holds "bundle=<path>". */
static char *inv_runc_bundle(const cJSON *cfg)
{
    const cJSON *label;
    cJSON_ArrayForEach(label, inv_json_get(cfg, "labels"))
    {
        if (cJSON_IsString(label) && strncmp(label->valuestring, "bundle=", 7) == 0 &&
            label->valuestring[7])
            return cm_xstrndup(label->valuestring + 7,
                               strnlen(label->valuestring + 7, CM_INV_STR_MAX));
    }
    return NULL;
}

/* runc's state.json or crun's status: the same facts under other keys. */
static int inv_state_parse(const char *buf, size_t len, bool crun, struct ag_inv_runc_state *out,
                           char *err, size_t errlen)
{
    const char *what = crun ? "status" : "state.json";
    cJSON *doc = NULL;
    memset(out, 0, sizeof *out);
    int rc = inv_json_open(buf, len, what, &doc, err, errlen);
    if (rc < 0) return rc;
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "%s is not a JSON object", what);
        cJSON_Delete(doc);
        return CM_EPARSE;
    }
    const cJSON *pid = inv_json_get(doc, crun ? "pid" : "init_process_pid");
    if (cJSON_IsNumber(pid) && pid->valuedouble >= 1 && pid->valuedouble <= 4194304)
        out->pid = (uint32_t)pid->valuedouble;
    const cJSON *created = inv_json_get(doc, "created");
    if (cJSON_IsString(created) && cm_time_parse(created->valuestring, &out->created_ns) != 0)
        out->created_ns = 0;
    if (crun) {
        out->cgroup_path = inv_json_strdup(inv_json_get(doc, "cgroup-path"));
        out->bundle = inv_json_strdup(inv_json_get(doc, "bundle"));
    } else {
        const cJSON *cfg = inv_json_get(doc, "config");
        out->cgroup_path = inv_json_strdup(inv_json_get(inv_json_get(cfg, "cgroups"), "path"));
        out->bundle = inv_runc_bundle(cfg);
    }
    cJSON_Delete(doc);
    return 0;
}

int ag_inv_runc_state_parse(const char *buf, size_t len, struct ag_inv_runc_state *out, char *err,
                            size_t errlen)
{
    return inv_state_parse(buf, len, false, out, err, errlen);
}

int ag_inv_crun_status_parse(const char *buf, size_t len, struct ag_inv_runc_state *out, char *err,
                             size_t errlen)
{
    return inv_state_parse(buf, len, true, out, err, errlen);
}

void ag_inv_podman_index_free(struct ag_inv_podman_meta *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++) {
        free(m[i].name);
        free(m[i].image);
    }
    free(m);
}

/* metadata is JSON inside a JSON string: {"image-name": ..., "name": ...}. */
static void inv_podman_metadata(const cJSON *md, struct ag_inv_podman_meta *m)
{
    if (!cJSON_IsString(md)) return;
    size_t l = strnlen(md->valuestring, AG_RT_FILE_MAX);
    cJSON *doc = cJSON_ParseWithLength(md->valuestring, l);
    m->image = inv_json_strdup(inv_json_get(doc, "image-name"));
    if (!m->name) m->name = inv_json_strdup(inv_json_get(doc, "name"));
    cJSON_Delete(doc);
}

static int inv_podman_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ag_inv_podman_meta *)a)->id,
                  ((const struct ag_inv_podman_meta *)b)->id);
}

int ag_inv_podman_index_parse(const char *buf, size_t len, struct ag_inv_podman_meta **out,
                              size_t *n, char *err, size_t errlen)
{
    cJSON *doc = NULL;
    int rc = inv_json_open(buf, len, AG_INV_PODMAN_FILE, &doc, err, errlen);
    if (rc < 0) return rc;
    if (!cJSON_IsArray(doc)) {
        snprintf(err, errlen, "%s is not a JSON array", AG_INV_PODMAN_FILE);
        cJSON_Delete(doc);
        return CM_EPARSE;
    }
    size_t cap = (size_t)cJSON_GetArraySize(doc), k = 0;
    if (cap > AG_INV_FOUND_MAX) cap = AG_INV_FOUND_MAX;
    struct ag_inv_podman_meta *m = cm_xcalloc(cap ? cap : 1, sizeof *m);
    const cJSON *e;
    cJSON_ArrayForEach(e, doc)
    {
        const cJSON *id = inv_json_get(e, "id");
        if (k == cap || !cJSON_IsString(id) || cm_wire_check_container_id(id->valuestring) != 0)
            continue;
        snprintf(m[k].id, sizeof m[k].id, "%s", id->valuestring);
        m[k].name = inv_json_strdup(cJSON_GetArrayItem(inv_json_get(e, "names"), 0));
        inv_podman_metadata(inv_json_get(e, "metadata"), &m[k]);
        const cJSON *created = inv_json_get(e, "created");
        if (cJSON_IsString(created) && cm_time_parse(created->valuestring, &m[k].created_ns) != 0)
            m[k].created_ns = 0;
        k++;
    }
    cJSON_Delete(doc);
    qsort(m, k, sizeof *m, inv_podman_cmp);
    *out = m;
    *n = k;
    return 0;
}

/* ---- listing ---- */

struct ag_inv_disc {
    int rootfd; /* the host root, borrowed */
    char *root_path[AG_INV_ROOT__COUNT];
    int root_fd[AG_INV_ROOT__COUNT]; /* open from list to end, else -1 */
    struct ag_inv_found *found;
    size_t n, cap;
    uint64_t podman_sig; /* of containers.json, when podman[] was read */
    bool podman_read;
    struct ag_inv_podman_meta *podman;
    size_t npodman;
};

static char *inv_path(const char *base, const char *def, const char *suffix)
{
    const char *b = base && *base ? base : def;
    size_t bl = strlen(b), sl = strlen(suffix);
    while (bl > 1 && b[bl - 1] == '/')
        bl--;
    char *p = cm_xmalloc(bl + sl + 1);
    memcpy(p, b, bl);
    memcpy(p + bl, suffix, sl + 1);
    return p;
}

int ag_inv_disc_new(int rootfd, const struct ag_inventory_opts *o, struct ag_inv_disc **out)
{
    struct ag_inv_disc *d = cm_xcalloc(1, sizeof *d);
    d->rootfd = rootfd;
    d->root_path[AG_INV_ROOT_DOCKER] = inv_path(o->docker_root, "/var/lib/docker", "");
    d->root_path[AG_INV_ROOT_PODMAN] =
        inv_path(o->podman_root, "/var/lib/containers/storage", "/overlay-containers");
    d->root_path[AG_INV_ROOT_CONTAINERD] =
        inv_path(o->containerd_state, "/run/containerd", "/io.containerd.runtime.v2.task");
    d->root_path[AG_INV_ROOT_DOCKER_TASKS] = inv_path(
        o->docker_exec_root, "/run/docker", "/containerd/daemon/io.containerd.runtime.v2.task");
    d->root_path[AG_INV_ROOT_RUNC] = inv_path(o->runc_root, "/run/runc", "");
    d->root_path[AG_INV_ROOT_CRUN] = inv_path(o->crun_root, "/run/crun", "");
    for (int r = 0; r < AG_INV_ROOT__COUNT; r++)
        d->root_fd[r] = -1;
    *out = d;
    return 0;
}

void ag_inv_disc_end(struct ag_inv_disc *d)
{
    for (int r = 0; r < AG_INV_ROOT__COUNT; r++) {
        if (d->root_fd[r] >= 0) close(d->root_fd[r]);
        d->root_fd[r] = -1;
    }
}

void ag_inv_disc_free(struct ag_inv_disc *d)
{
    if (!d) return;
    ag_inv_disc_end(d);
    for (int r = 0; r < AG_INV_ROOT__COUNT; r++)
        free(d->root_path[r]);
    ag_inv_podman_index_free(d->podman, d->npodman);
    free(d->found);
    free(d);
}

/* A directory below a state root, for listing; NULL when it is not there. */
static DIR *inv_opendir(int dirfd, const char *rel)
{
    if (dirfd < 0) return NULL;
    int fd = ag_inv_open_beneath(dirfd, rel, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return NULL;
    DIR *dir = fdopendir(fd);
    if (!dir) close(fd);
    return dir;
}

/* The next subdirectory (never a symlink) whose name is a valid id. */
static const char *inv_next_dir(DIR *dir)
{
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || cm_wire_check_container_id(de->d_name) != 0) continue;
        if (de->d_type == DT_DIR) return de->d_name;
        struct stat st;
        if (de->d_type == DT_UNKNOWN &&
            fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
            return de->d_name;
    }
    return NULL;
}

static struct ag_inv_found *inv_add(struct ag_inv_disc *d, const char *key, enum ag_inv_src src,
                                    enum ag_inv_root root, const char *rel)
{
    if (d->n >= AG_INV_FOUND_MAX || strlen(rel) >= AG_INV_REL_MAX) return NULL;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->found = cm_xrealloc(d->found, d->cap * sizeof *d->found);
    }
    struct ag_inv_found *f = &d->found[d->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->key, sizeof f->key, "%s", key);
    f->src = src;
    f->root = root;
    snprintf(f->rel, sizeof f->rel, "%s", rel);
    return f;
}

/* Mixes the identity of <rel>/<file> of each name into f->sig. Returns
 * false when the first file (the container's own state file) is not there
 * at all: a directory the runtime is still creating or already removing is
 * not a container to report (a symlink or an unreadable file is). */
static bool inv_sig_files(struct ag_inv_found *f, int dirfd, const char *const *files)
{
    char p[AG_INV_REL_MAX + 64];
    struct stat st;
    bool there = true;
    for (const char *const *file = files; *file; file++) {
        snprintf(p, sizeof p, "%s/%s", f->rel, *file);
        if (file == files)
            there = fstatat(dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
        ag_inv_sig_add(&f->sig, dirfd, p);
    }
    return there;
}

static void inv_list_flat(struct ag_inv_disc *d, enum ag_inv_root root, enum ag_inv_src src,
                          const char *sub, const char *const *files, uint64_t sig0)
{
    int rfd = d->root_fd[root];
    DIR *dir = inv_opendir(rfd, sub);
    const char *name;
    char rel[AG_INV_REL_MAX];
    while (dir && (name = inv_next_dir(dir)) != NULL) {
        snprintf(rel, sizeof rel, "%s%s%s", strcmp(sub, ".") ? sub : "",
                 strcmp(sub, ".") ? "/" : "", name);
        struct ag_inv_found *f = inv_add(d, name, src, root, rel);
        if (!f) break;
        f->sig = sig0;
        if (!inv_sig_files(f, rfd, files)) d->n--; /* take it back */
    }
    if (dir) closedir(dir);
}

/* <task root>/<namespace>/<id>/ */
static void inv_list_tasks(struct ag_inv_disc *d, enum ag_inv_root root)
{
    static const char *const files[] = {"config.json", "init.pid", NULL};
    DIR *nsdir = inv_opendir(d->root_fd[root], ".");
    const char *ns;
    while (nsdir && (ns = inv_next_dir(nsdir)) != NULL)
        inv_list_flat(d, root, AG_INV_SRC_CONTAINERD, ns, files, 0);
    if (nsdir) closedir(nsdir);
}

/* Re-reads containers.json when it changed; returns its identity. */
static uint64_t inv_podman_refresh(struct ag_inv_disc *d)
{
    uint64_t sig = 0;
    ag_inv_sig_add(&sig, d->root_fd[AG_INV_ROOT_PODMAN], AG_INV_PODMAN_FILE);
    if (d->podman_read && sig == d->podman_sig) return sig;
    ag_inv_podman_index_free(d->podman, d->npodman);
    d->podman = NULL;
    d->npodman = 0;
    char *buf = NULL, err[AG_INV_ERR_MAX];
    size_t len = 0;
    if (d->root_fd[AG_INV_ROOT_PODMAN] >= 0 &&
        ag_inv_read_beneath(d->root_fd[AG_INV_ROOT_PODMAN], AG_INV_PODMAN_FILE, AG_RT_FILE_MAX,
                            &buf, &len) == 0)
        (void)ag_inv_podman_index_parse(buf, len, &d->podman, &d->npodman, err, sizeof err);
    free(buf);
    d->podman_sig = sig;
    d->podman_read = true;
    return sig;
}

static int inv_found_cmp(const void *a, const void *b)
{
    const struct ag_inv_found *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c == 0) c = (int)x->src - (int)y->src;
    return c ? c : (int)y->root - (int)x->root; /* Docker's own tasks first */
}

int ag_inv_disc_list(struct ag_inv_disc *d, const struct ag_inv_found **out, size_t *n)
{
    static const char *const docker_files[] = {"config.v2.json", "hostconfig.json", NULL};
    static const char *const podman_files[] = {"userdata/config.json", NULL};
    static const char *const runc_files[] = {"state.json", NULL};
    static const char *const crun_files[] = {"status", "config.json", NULL};
    ag_inv_disc_end(d);
    d->n = 0;
    for (int r = 0; r < AG_INV_ROOT__COUNT; r++) {
        int fd = ag_inv_open_in_root(d->rootfd, d->root_path[r], O_RDONLY | O_DIRECTORY);
        d->root_fd[r] = fd >= 0 ? fd : -1;
    }
    inv_list_flat(d, AG_INV_ROOT_DOCKER, AG_INV_SRC_DOCKER, "containers", docker_files, 0);
    uint64_t psig = inv_podman_refresh(d);
    inv_list_flat(d, AG_INV_ROOT_PODMAN, AG_INV_SRC_PODMAN, ".", podman_files, psig);
    inv_list_tasks(d, AG_INV_ROOT_DOCKER_TASKS);
    inv_list_tasks(d, AG_INV_ROOT_CONTAINERD);
    inv_list_flat(d, AG_INV_ROOT_RUNC, AG_INV_SRC_RUNC, ".", runc_files, 0);
    inv_list_flat(d, AG_INV_ROOT_CRUN, AG_INV_SRC_CRUN, ".", crun_files, 0);
    if (d->n) qsort(d->found, d->n, sizeof *d->found, inv_found_cmp);
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (k > 0 && strcmp(d->found[k - 1].key, d->found[i].key) == 0) continue;
        d->found[k++] = d->found[i];
    }
    d->n = k;
    *out = d->found;
    *n = k;
    return 0;
}

/* ---- loading ---- */

/* Replaces whatever *out holds with an error entry "<file>: <reason>"
 * (file may be a bundle's host path). */
static void inv_fail(struct cm_container_inv *out, const char *id, enum cm_runtime rt,
                     const char *file, const char *reason)
{
    size_t n = strlen(file) + strlen(reason) + 3;
    if (n > CM_INV_STR_MAX) n = CM_INV_STR_MAX;
    cm_container_inv_free(out);
    snprintf(out->id, sizeof out->id, "%s", id);
    out->runtime = rt;
    out->error = cm_xmalloc(n);
    snprintf(out->error, n, "%s: %s", file, reason);
}

static const char *inv_read_reason(int rc)
{
    if (rc == CM_ETOOBIG) return "larger than the 4 MiB the agent reads";
    if (rc == -ELOOP) return "is a symbolic link (not followed)";
    if (rc == -EXDEV) return "outside the state directory (not followed)";
    if (rc == -EINVAL) return "not a regular file";
    return rc < 0 && rc > -4096 ? strerror(-rc) : cm_err_str(rc);
}

/* Reads <f->rel>/<file> below f's state root. */
static int inv_read(struct ag_inv_disc *d, const struct ag_inv_found *f, const char *file,
                    char **buf, size_t *len)
{
    char p[AG_INV_REL_MAX + 64];
    snprintf(p, sizeof p, "%s/%s", f->rel, file);
    int fd = d->root_fd[f->root];
    return fd < 0 ? -ENOENT : ag_inv_read_beneath(fd, p, AG_RT_FILE_MAX, buf, len);
}

static const char *inv_label(const struct cm_container_inv *c, const char *key)
{
    for (size_t i = 0; i < c->n_labels; i++) {
        if (c->labels[i].key && strcmp(c->labels[i].key, key) == 0) return c->labels[i].value;
    }
    return NULL;
}

static void inv_set_str(char **dst, const char *v)
{
    if (*dst || !v || !*v) return;
    *dst = cm_xstrndup(v, strnlen(v, CM_INV_STR_MAX));
}

static void inv_load_docker(struct ag_inv_disc *d, const struct ag_inv_found *f,
                            struct cm_container_inv *out)
{
    char *cfg = NULL, *host = NULL, err[AG_INV_ERR_MAX] = "";
    size_t cl = 0, hl = 0;
    int rc = inv_read(d, f, "config.v2.json", &cfg, &cl);
    if (rc < 0) {
        inv_fail(out, f->key, CM_RT_DOCKER, "config.v2.json", inv_read_reason(rc));
        goto out;
    }
    rc = inv_read(d, f, "hostconfig.json", &host, &hl);
    if (rc < 0 && rc != -ENOENT) {
        inv_fail(out, f->key, CM_RT_DOCKER, "hostconfig.json", inv_read_reason(rc));
        goto out;
    }
    if (ag_rt_docker_parse(cfg, cl, host, hl, out, err, sizeof err) < 0) {
        /* the parser's reason names the document: "config: ..." or "hostconfig: ..." */
        const char *file =
            strncasecmp(err, "hostconfig", 10) == 0 ? "hostconfig.json" : "config.v2.json";
        inv_fail(out, f->key, CM_RT_DOCKER, file, err[0] ? err : "cannot be parsed");
        goto out;
    }
    snprintf(out->id, sizeof out->id, "%s", f->key); /* the directory names the container */
    out->runtime = CM_RT_DOCKER;
out:
    free(cfg);
    free(host);
}

/* An OCI config.json below f's directory (bundle == NULL) or in a bundle
 * named by runc or crun (a host path, looked up inside the host root; an
 * error entry then names that path). */
static int inv_load_oci(struct ag_inv_disc *d, const struct ag_inv_found *f, const char *rel,
                        const char *bundle, enum cm_runtime rt, struct cm_container_inv *out)
{
    char *buf = NULL, err[AG_INV_ERR_MAX] = "", p[CM_INV_STR_MAX + 16] = "config.json";
    size_t len = 0;
    int rc;
    if (bundle) {
        snprintf(p, sizeof p, "%s/config.json", bundle);
        int fd = ag_inv_open_in_root(d->rootfd, p, O_RDONLY | O_NOCTTY | O_NONBLOCK);
        rc = fd < 0 ? fd : ag_inv_read_fd(fd, AG_RT_FILE_MAX, &buf, &len);
    } else {
        rc = inv_read(d, f, rel, &buf, &len);
    }
    if (rc < 0) {
        inv_fail(out, f->key, rt, p, inv_read_reason(rc));
    } else if (ag_rt_oci_parse(buf, len, out, err, sizeof err) < 0) {
        inv_fail(out, f->key, rt, p, err[0] ? err : "cannot be parsed");
        rc = CM_EPARSE;
    } else {
        snprintf(out->id, sizeof out->id, "%s", f->key);
        out->runtime = rt;
    }
    free(buf);
    return rc;
}

static const struct ag_inv_podman_meta *inv_podman_find(const struct ag_inv_disc *d, const char *id)
{
    struct ag_inv_podman_meta k;
    snprintf(k.id, sizeof k.id, "%s", id);
    return d->npodman ? bsearch(&k, d->podman, d->npodman, sizeof k, inv_podman_cmp) : NULL;
}

static void inv_load_podman(struct ag_inv_disc *d, const struct ag_inv_found *f,
                            struct cm_container_inv *out)
{
    if (inv_load_oci(d, f, "userdata/config.json", NULL, CM_RT_PODMAN, out) < 0) return;
    /* containers/storage is CRI-O's store too */
    for (size_t i = 0; i < out->n_labels; i++) {
        if (out->labels[i].key && strncmp(out->labels[i].key, "io.kubernetes.cri-o.", 20) == 0)
            out->runtime = CM_RT_CRIO;
    }
    const char *priv = inv_label(out, "io.podman.annotations.privileged");
    if (priv) {
        out->privileged = strcasecmp(priv, "true") == 0;
        out->known |= CM_INV_K_PRIVILEGED;
    }
    const struct ag_inv_podman_meta *m = inv_podman_find(d, f->key);
    if (m) {
        inv_set_str(&out->name, m->name);
        inv_set_str(&out->image, m->image);
        if (out->image) out->known |= CM_INV_K_IMAGE;
        if (!out->created_ns) out->created_ns = m->created_ns;
    }
}

/* A small decimal pid file (init.pid); 0 when absent or odd. */
static uint32_t inv_read_pid(struct ag_inv_disc *d, const struct ag_inv_found *f)
{
    char p[AG_INV_REL_MAX + 16], *buf = NULL;
    size_t len = 0;
    uint64_t v = 0;
    snprintf(p, sizeof p, "%s/init.pid", f->rel);
    if (ag_inv_read_beneath(d->root_fd[f->root], p, 32, &buf, &len) == 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
            len--;
        if (cm_parse_u64(buf, len, &v) != 0 || v > UINT32_MAX) v = 0;
    }
    free(buf);
    return (uint32_t)v;
}

static void inv_load_containerd(struct ag_inv_disc *d, const struct ag_inv_found *f,
                                struct cm_container_inv *out)
{
    enum cm_runtime rt = f->root == AG_INV_ROOT_DOCKER_TASKS ? CM_RT_DOCKER : CM_RT_CONTAINERD;
    if (inv_load_oci(d, f, "config.json", NULL, rt, out) < 0) return;
    if (!out->pid) out->pid = inv_read_pid(d, f);
    inv_set_str(&out->name, inv_label(out, "io.kubernetes.cri.container-name"));
    inv_set_str(&out->image, inv_label(out, "io.kubernetes.cri.image-name"));
    if (out->image) out->known |= CM_INV_K_IMAGE;
}

/* Whether <f->rel>/<file> is there (a symlink or an unreadable file is:
 * reading it then reports why). */
static bool inv_exists(struct ag_inv_disc *d, const struct ag_inv_found *f, const char *file)
{
    char p[AG_INV_REL_MAX + 64];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", f->rel, file);
    return d->root_fd[f->root] >= 0 &&
           (fstatat(d->root_fd[f->root], p, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT);
}

/* Plain runc or crun: the state file gives pid, created and the cgroup
 * path, and names the bundle. crun also keeps a copy of config.json next
 * to its status: that is what the container runs with (the bundle's may
 * have been edited since), so the bundle's is read only without a copy. */
static void inv_load_plain(struct ag_inv_disc *d, const struct ag_inv_found *f,
                           struct cm_container_inv *out)
{
    bool crun = f->src == AG_INV_SRC_CRUN;
    const char *file = crun ? "status" : "state.json";
    char *buf = NULL, err[AG_INV_ERR_MAX] = "";
    size_t len = 0;
    struct ag_inv_runc_state st = {0};
    int rc = inv_read(d, f, file, &buf, &len);
    if (rc < 0)
        snprintf(err, sizeof err, "%s", inv_read_reason(rc));
    else if (crun)
        rc = ag_inv_crun_status_parse(buf, len, &st, err, sizeof err);
    else
        rc = ag_inv_runc_state_parse(buf, len, &st, err, sizeof err);
    if (rc < 0) {
        inv_fail(out, f->key, CM_RT_CUSTOM, file, err);
    } else if (crun && inv_exists(d, f, "config.json")) {
        rc = inv_load_oci(d, f, "config.json", NULL, CM_RT_CUSTOM, out);
    } else if (!st.bundle) {
        inv_fail(out, f->key, CM_RT_CUSTOM, file,
                 crun ? "no bundle and no config.json next to it" : "no bundle label");
        rc = CM_EPARSE;
    } else {
        rc = inv_load_oci(d, f, NULL, st.bundle, CM_RT_CUSTOM, out);
    }
    if (rc == 0) {
        if (!out->pid) out->pid = st.pid;
        if (!out->created_ns) out->created_ns = st.created_ns;
        inv_set_str(&out->cgroup_path, st.cgroup_path);
    }
    ag_inv_runc_state_free(&st);
    free(buf);
}

void ag_inv_disc_load(struct ag_inv_disc *d, const struct ag_inv_found *f,
                      struct cm_container_inv *out)
{
    memset(out, 0, sizeof *out);
    switch (f->src) {
    case AG_INV_SRC_DOCKER:
        inv_load_docker(d, f, out);
        break;
    case AG_INV_SRC_PODMAN:
        inv_load_podman(d, f, out);
        break;
    case AG_INV_SRC_CONTAINERD:
        inv_load_containerd(d, f, out);
        break;
    case AG_INV_SRC_RUNC:
    case AG_INV_SRC_CRUN:
        inv_load_plain(d, f, out);
        break;
    case AG_INV_SRC_CGROUP:
    case AG_INV_SRC__COUNT:
        snprintf(out->id, sizeof out->id, "%s", f->key);
        break;
    }
}
