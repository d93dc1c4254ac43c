/* inv_host.c - how the host's container runtimes are set up: Docker's
 * daemon.json, the command line of the running dockerd merged over it, and
 * the owner, group and mode of each runtime API socket.
 *
 * The dockerd is the one serving the configured docker_root (its
 * --data-root, or the default /var/lib/docker when it names none), not
 * running inside a container. Finding it reads /proc/<pid>/comm of every
 * pid, so it is done again only when asked (full passes), when the last one
 * is gone or when a runtime socket changed; otherwise only its cmdline is
 * re-read. When that dockerd names a --config-file and daemon.json was left
 * at its default path, its own file is the one read. Owner and group names
 * come from the host's /etc/passwd and /etc/group. Parsing of daemon.json
 * and the flags is agent/rt_daemon.c's; this file does not log. */
#include "agent/inv_int.h"

#include "agent/rt.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/parse.h"
#include "proto/wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AG_INV_DAEMON_JSON "/etc/docker/daemon.json"
#define AG_INV_DOCKER_ROOT "/var/lib/docker"
#define AG_INV_CMDLINE_MAX 65536
#define AG_INV_ARGV_MAX 512
#define AG_INV_NAME_MAX 64

struct inv_idfile {
    const char *path;
    uint64_t sig;
    bool read;
    char *buf;
    size_t len;
};

struct ag_inv_host {
    int rootfd; /* borrowed */
    char *daemon_config;
    char *docker_root;
    const struct cm_strlist *sockets; /* borrowed */
    uint64_t sock_sig;
    bool searched;        /* a search for the dockerd was made */
    uint32_t dockerd_pid; /* the dockerd found last time, 0 = none */
    char *cmdline;        /* its cmdline as read then (AG_INV_CMDLINE_MAX + 1) */
    size_t cmdline_len;
    char *scratch; /* AG_INV_CMDLINE_MAX + 1 */
    struct inv_idfile passwd, group;
};

static char *inv_host_norm(const char *p, const char *def)
{
    const char *s = p && *p ? p : def;
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        n--;
    return cm_xstrndup(s, n);
}

int ag_inv_host_new(int rootfd, const struct ag_inventory_opts *o, struct ag_inv_host **out)
{
    struct ag_inv_host *h = cm_xcalloc(1, sizeof *h);
    h->rootfd = rootfd;
    h->daemon_config = inv_host_norm(o->docker_daemon_config, AG_INV_DAEMON_JSON);
    h->docker_root = inv_host_norm(o->docker_root, AG_INV_DOCKER_ROOT);
    h->sockets = o->runtime_sockets;
    h->cmdline = cm_xmalloc(AG_INV_CMDLINE_MAX + 1);
    h->scratch = cm_xmalloc(AG_INV_CMDLINE_MAX + 1);
    h->passwd.path = "/etc/passwd";
    h->group.path = "/etc/group";
    *out = h;
    return 0;
}

void ag_inv_host_free(struct ag_inv_host *h)
{
    if (!h) return;
    free(h->daemon_config);
    free(h->docker_root);
    free(h->cmdline);
    free(h->scratch);
    free(h->passwd.buf);
    free(h->group.buf);
    free(h);
}

/* ---- pure parsers ---- */

int ag_inv_idfile_lookup(const char *buf, size_t len, uint32_t id, char *name, size_t namelen)
{
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *lend = nl ? nl : end;
        const char *c1 = memchr(p, ':', (size_t)(lend - p));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(lend - c1 - 1)) : NULL;
        const char *c3 = c2 ? memchr(c2 + 1, ':', (size_t)(lend - c2 - 1)) : NULL;
        uint64_t v;
        if (c3 && c1 > p && (size_t)(c1 - p) < namelen &&
            cm_parse_u64(c2 + 1, (size_t)(c3 - c2 - 1), &v) == 0 && v == id) {
            memcpy(name, p, (size_t)(c1 - p));
            name[c1 - p] = '\0';
            return cm_wire_check_utf8(name, strlen(name)) == 0 ? 0 : CM_EPARSE;
        }
        p = lend + 1;
    }
    return CM_ENOTFOUND;
}

size_t ag_inv_cmdline_split(char *buf, size_t len, char **argv, size_t max)
{
    size_t n = 0;
    if (len == 0) return 0;
    buf[len] = '\0'; /* the caller's buffer holds len + 1 bytes */
    for (size_t i = 0; i < len && n < max;) {
        argv[n++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    return n;
}

/* The value of a flag given as "--name=value" or "--name value". */
static const char *inv_flag(char *const *argv, size_t argc, const char *const *names)
{
    const char *found = NULL;
    for (size_t i = 1; i < argc; i++) {
        for (const char *const *nm = names; *nm; nm++) {
            size_t l = strlen(*nm);
            if (strncmp(argv[i], *nm, l) != 0) continue;
            if (argv[i][l] == '=')
                found = argv[i] + l + 1;
            else if (argv[i][l] == '\0' && i + 1 < argc)
                found = argv[i + 1];
        }
    }
    return found && *found ? found : NULL; /* the last one wins, as for dockerd */
}

const char *ag_inv_dockerd_data_root(char *const *argv, size_t argc)
{
    static const char *const names[] = {"--data-root", "--graph", "-g", NULL};
    return inv_flag(argv, argc, names);
}

const char *ag_inv_dockerd_config_file(char *const *argv, size_t argc)
{
    static const char *const names[] = {"--config-file", NULL};
    return inv_flag(argv, argc, names);
}

/* ---- the dockerd ---- */

/* Reads <host_root>/proc/<pid>/<name> into buf (AG_INV_CMDLINE_MAX + 1). */
static ssize_t inv_proc_read(int procfd, uint32_t pid, const char *name, char *buf)
{
    char p[64], *data = NULL;
    size_t len = 0;
    snprintf(p, sizeof p, "%u/%s", pid, name);
    int fd = openat(procfd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -errno;
    int rc = ag_inv_read_fd(fd, AG_INV_CMDLINE_MAX, &data, &len);
    if (rc < 0) return rc;
    memcpy(buf, data, len + 1);
    free(data);
    return (ssize_t)len;
}

static bool inv_same_path(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (lb > 1 && b[lb - 1] == '/')
        lb--;
    return la == lb && memcmp(a, b, la) == 0;
}

/* Whether pid is a dockerd serving our docker_root; its cmdline is then in
 * h->scratch (len in *len). */
static bool inv_is_our_dockerd(struct ag_inv_host *h, int procfd, uint32_t pid, size_t *len)
{
    char *argv[AG_INV_ARGV_MAX];
    ssize_t n = inv_proc_read(procfd, pid, "comm", h->scratch);
    if (n < 7 || strncmp(h->scratch, "dockerd", 7) != 0 ||
        (h->scratch[7] != '\n' && h->scratch[7] != '\0'))
        return false;
    if ((n = inv_proc_read(procfd, pid, "cmdline", h->scratch)) <= 0) return false;
    char *copy = cm_xmalloc((size_t)n + 1); /* split writes NULs: keep scratch */
    memcpy(copy, h->scratch, (size_t)n + 1);
    size_t argc = ag_inv_cmdline_split(copy, (size_t)n, argv, AG_INV_ARGV_MAX);
    const char *root = ag_inv_dockerd_data_root(argv, argc);
    bool ours = argc > 0 && inv_same_path(root ? root : AG_INV_DOCKER_ROOT, h->docker_root);
    free(copy);
    *len = (size_t)n;
    return ours;
}

static void inv_pids_listed(int procfd, uint32_t **pids, size_t *n)
{
    size_t cap = 0;
    int dfd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    struct dirent *de;
    *pids = NULL;
    *n = 0;
    if (!dir && dfd >= 0) close(dfd);
    while (dir && (de = readdir(dir)) != NULL) {
        uint64_t v;
        if (cm_parse_u64(de->d_name, strlen(de->d_name), &v) != 0 || v == 0 || v > UINT32_MAX)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            *pids = cm_xrealloc(*pids, cap * sizeof **pids);
        }
        (*pids)[(*n)++] = (uint32_t)v;
    }
    if (dir) closedir(dir);
}

/* Finds the dockerd (lowest pid) and keeps its cmdline in h->cmdline. */
static void inv_find_dockerd(struct ag_inv_host *h, const struct ag_inv_proc *pr, int procfd)
{
    const uint32_t *pids = NULL;
    uint32_t *own = NULL;
    size_t n = 0, len = 0;
    if (pr) ag_inv_proc_pids(pr, &pids, &n);
    if (!pr || n == 0) {
        inv_pids_listed(procfd, &own, &n);
        pids = own;
    }
    h->dockerd_pid = 0;
    h->cmdline_len = 0;
    for (size_t i = 0; i < n; i++) {
        if (pr && ag_inv_proc_in_container(pr, pids[i])) continue; /* a look-alike */
        if (h->dockerd_pid && pids[i] > h->dockerd_pid) continue;
        if (!inv_is_our_dockerd(h, procfd, pids[i], &len)) continue;
        h->dockerd_pid = pids[i];
        memcpy(h->cmdline, h->scratch, len + 1);
        h->cmdline_len = len;
    }
    free(own);
}

/* Still the same process with the same command line? */
static bool inv_dockerd_still(struct ag_inv_host *h, int procfd)
{
    if (!h->dockerd_pid) return false;
    ssize_t n = inv_proc_read(procfd, h->dockerd_pid, "cmdline", h->scratch);
    return n > 0 && (size_t)n == h->cmdline_len && memcmp(h->scratch, h->cmdline, (size_t)n) == 0;
}

/* ---- sockets ---- */

/* The host's /etc/passwd or /etc/group, re-read when it changed. */
static const struct inv_idfile *inv_idfile(struct ag_inv_host *h, struct inv_idfile *f)
{
    uint64_t sig = 0;
    ag_inv_sig_add(&sig, h->rootfd, f->path + 1);
    if (f->read && sig == f->sig) return f;
    free(f->buf);
    f->buf = NULL;
    f->len = 0;
    int fd = ag_inv_open_in_root(h->rootfd, f->path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (fd >= 0 && ag_inv_read_fd(fd, AG_INV_ID_FILE_MAX, &f->buf, &f->len) < 0) f->buf = NULL;
    f->sig = sig;
    f->read = true;
    return f;
}

static char *inv_id_name(struct ag_inv_host *h, struct inv_idfile *f, uint32_t id)
{
    char name[AG_INV_NAME_MAX];
    const struct inv_idfile *r = inv_idfile(h, f);
    if (!r->buf || ag_inv_idfile_lookup(r->buf, r->len, id, name, sizeof name) != 0) return NULL;
    return cm_xstrdup(name);
}

static void inv_sockets(struct ag_inv_host *h, struct cm_host_inv *out, uint64_t *sig)
{
    size_t n = h->sockets ? h->sockets->n : 0;
    out->runtime_sockets = n ? cm_xcalloc(n, sizeof *out->runtime_sockets) : NULL;
    for (size_t i = 0; i < n; i++) {
        struct cm_socket_info *s = &out->runtime_sockets[out->n_runtime_sockets++];
        struct stat st;
        const char *path = h->sockets->items[i];
        s->path = cm_xstrndup(path, strnlen(path, CM_INV_STR_MAX));
        int fd = ag_inv_open_in_root(h->rootfd, path, O_PATH);
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0) close(fd);
            *sig = ag_inv_hash(*sig, path, strlen(path) + 1);
            continue;
        }
        close(fd);
        s->exists = true;
        s->uid = st.st_uid;
        s->gid = st.st_gid;
        s->mode = st.st_mode & 07777;
        s->owner = inv_id_name(h, &h->passwd, s->uid);
        s->group = inv_id_name(h, &h->group, s->gid);
        int64_t v[5] = {(int64_t)st.st_ino, st.st_uid, st.st_gid, st.st_mode, st.st_ctim.tv_sec};
        *sig = ag_inv_hash(*sig, v, sizeof v);
    }
}

/* ---- daemon.json ---- */

static void inv_daemon_json(struct ag_inv_host *h, const char *path, struct cm_host_inv *out)
{
    char *buf = NULL, err[256] = "";
    size_t len = 0;
    int fd = ag_inv_open_in_root(h->rootfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (fd == -ENOENT) return; /* no daemon.json: every setting at its default */
    out->daemon_config_path = cm_xstrndup(path, strnlen(path, CM_INV_STR_MAX));
    int rc = fd < 0 ? fd : ag_inv_read_fd(fd, AG_RT_FILE_MAX, &buf, &len);
    if (rc < 0) {
        snprintf(err, sizeof err, "cannot be read: %s",
                 rc == CM_ETOOBIG ? "larger than 4 MiB" : strerror(-rc));
        out->daemon_config_error = cm_xstrdup(err);
    } else if (ag_rt_daemon_parse(buf, len, out, err, sizeof err) < 0 &&
               !out->daemon_config_error) {
        out->daemon_config_error = cm_xstrdup(err[0] ? err : "cannot be parsed");
    }
    free(buf);
}

int ag_inv_host_read(struct ag_inv_host *h, const struct ag_inv_proc *pr, bool rescan,
                     struct cm_host_inv *out)
{
    uint64_t sig = 0;
    memset(out, 0, sizeof *out);
    inv_sockets(h, out, &sig);
    int procfd = ag_inv_open_in_root(h->rootfd, "/proc", O_RDONLY | O_DIRECTORY);
    /* no dockerd last time: look again only when asked or a socket changed */
    bool again = rescan || !h->searched || sig != h->sock_sig ||
                 (h->dockerd_pid && !inv_dockerd_still(h, procfd));
    if (procfd >= 0 && again) {
        inv_find_dockerd(h, pr, procfd);
        h->searched = true;
    }
    if (procfd >= 0) close(procfd);
    h->sock_sig = sig;

    char *argv[AG_INV_ARGV_MAX];
    size_t argc = 0;
    if (h->dockerd_pid) {
        memcpy(h->scratch, h->cmdline, h->cmdline_len + 1);
        argc = ag_inv_cmdline_split(h->scratch, h->cmdline_len, argv, AG_INV_ARGV_MAX);
    }
    const char *cfg = h->daemon_config;
    const char *flag_cfg = argc ? ag_inv_dockerd_config_file(argv, argc) : NULL;
    if (flag_cfg && strcmp(cfg, AG_INV_DAEMON_JSON) == 0) cfg = flag_cfg;
    inv_daemon_json(h, cfg, out);
    if (argc > 1) (void)ag_rt_dockerd_flags(argv + 1, argc - 1, out);
    int fd = ag_inv_open_in_root(h->rootfd, h->docker_root, O_PATH | O_DIRECTORY);
    out->docker_present = h->dockerd_pid != 0 || fd >= 0 || out->daemon_config_path != NULL;
    if (fd >= 0) close(fd);
    return 0;
}
