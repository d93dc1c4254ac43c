/* inv_proc.c - what runs in each container and what it listens on, from
 * one scan of <host_root>/proc per inventory pass.
 *
 * A pid belongs to a container when one of the paths in /proc/<pid>/cgroup
 * is the container's cgroup path or below it, or when the path's leaf names
 * the container's id (docker-<id>.scope, libpod-<id>, ...). For each such
 * pid it reads the exe link, the comm and the effective uid; a container
 * gets a sorted list of distinct (exe, comm, uid) with counts. Listening
 * sockets are those of the network namespace of the container's lowest pid,
 * read once per namespace per scan: by a sock_diag dump from a netlink
 * socket made inside the namespace (a short-lived thread enters each one;
 * ~0.1 ms), or, where that is not possible (no privilege, a fabricated
 * /proc), from /proc/<pid>/net/tcp and tcp6 (state 0A), which costs the
 * kernel a walk of its whole connection table per read (~1 ms each here).
 * Text from processes (exe, comm) is made valid UTF-8 before it goes
 * anywhere. It does not log and does not read the runtimes' state. */
#include "agent/inv_int.h"

#include "common/alloc.h"
#include "common/err.h"
#include "common/parse.h"
#include "proto/wire.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AG_INV_NETNS_MAX 4096 /* distinct network namespaces read per scan */

struct inv_key {
    const char *key; /* borrowed from the container */
    size_t idx;
};

struct inv_prec { /* one pid */
    char *exe, *comm;
    uint32_t uid;
};

struct inv_acc { /* per container, during a scan */
    struct inv_prec *recs;
    size_t n, cap;
    uint32_t min_pid;
};

struct inv_netns {
    uint64_t ino;
    uint32_t pid; /* one pid in it */
    bool diag;    /* read by sock_diag (else from the /proc files) */
    struct cm_listen *l;
    size_t n;
    bool ok;
};

struct ag_inv_proc {
    int rootfd; /* borrowed */
    char *buf;  /* AG_INV_NET_READ_MAX + 1 */
    uint32_t *pids, *cpids;
    size_t npids, pcap, ncpids, cpcap;
    struct inv_key *by_path, *by_id;
    size_t npath, nid;
    struct inv_acc *acc;
    struct inv_netns *ns;
    size_t nns;
};

int ag_inv_proc_new(int rootfd, struct ag_inv_proc **out)
{
    struct ag_inv_proc *p = cm_xcalloc(1, sizeof *p);
    p->rootfd = rootfd;
    p->buf = cm_xmalloc(AG_INV_NET_READ_MAX + 1);
    *out = p;
    return 0;
}

static void inv_listen_release(struct cm_listen *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        free(l[i].protocol);
        free(l[i].address);
    }
    free(l);
}

static void inv_scan_reset(struct ag_inv_proc *p, size_t ncont)
{
    free(p->by_path);
    free(p->by_id);
    p->by_path = p->by_id = NULL;
    p->npath = p->nid = 0;
    for (size_t i = 0; i < p->nns; i++)
        inv_listen_release(p->ns[i].l, p->ns[i].n);
    free(p->ns);
    p->ns = NULL;
    p->nns = 0;
    free(p->acc);
    p->acc = ncont ? cm_xcalloc(ncont, sizeof *p->acc) : NULL;
    p->npids = p->ncpids = 0;
}

void ag_inv_proc_free(struct ag_inv_proc *p)
{
    if (!p) return;
    inv_scan_reset(p, 0);
    free(p->pids);
    free(p->cpids);
    free(p->buf);
    free(p);
}

/* ---- pure parsers ---- */

int ag_inv_status_parse(const char *buf, size_t len, char *comm, size_t commlen, uint32_t *euid)
{
    bool have_name = false, have_uid = false;
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l > 5 && memcmp(p, "Name:", 5) == 0) {
            const char *v = p + 5;
            size_t vl = l - 5;
            while (vl > 0 && (*v == '\t' || *v == ' '))
                v++, vl--;
            snprintf(comm, commlen, "%.*s", (int)vl, v);
            have_name = true;
        } else if (l > 4 && memcmp(p, "Uid:", 4) == 0) {
            const char *v = p + 4;
            const char *lend = p + l;
            for (int field = 0; field < 2 && v < lend; field++) {
                while (v < lend && (*v == '\t' || *v == ' '))
                    v++;
                const char *s = v;
                while (v < lend && *v >= '0' && *v <= '9')
                    v++;
                uint64_t u;
                if (field == 1 && cm_parse_u64(s, (size_t)(v - s), &u) == 0 && u <= UINT32_MAX) {
                    *euid = (uint32_t)u;
                    have_uid = true;
                }
            }
        }
        p += l + 1;
    }
    return have_name && have_uid ? 0 : CM_EPARSE;
}

static bool inv_hex(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    if (n == 0 || n > 8) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;
        if (d < 0) return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

/* "0100007F:1F90" (v4) or 32 hex digits ":port" (v6) -> text and port. The
 * kernel prints each 32-bit word of the address as a native integer. */
static bool inv_sockaddr(const char *s, size_t n, bool v6, char *addr, size_t alen, uint32_t *port)
{
    size_t hexlen = v6 ? 32 : 8;
    uint32_t w[4], pv;
    if (n != hexlen + 5 || s[hexlen] != ':' || !inv_hex(s + hexlen + 1, 4, &pv)) return false;
    for (size_t i = 0; i < hexlen / 8; i++) {
        if (!inv_hex(s + i * 8, 8, &w[i])) return false;
    }
    unsigned char raw[16];
    memcpy(raw, w, hexlen / 2);
    if (!inet_ntop(v6 ? AF_INET6 : AF_INET, raw, addr, (socklen_t)alen)) return false;
    *port = pv;
    return true;
}

/* The n-th whitespace-separated token of [p, end). */
static const char *inv_token(const char *p, const char *end, int nth, size_t *len)
{
    for (int i = 0;; i++) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *s = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (s == p) return NULL;
        if (i == nth) {
            *len = (size_t)(p - s);
            return s;
        }
    }
}

size_t ag_inv_net_tcp_parse(const char *buf, size_t len, bool v6, struct cm_listen *out, size_t max,
                            size_t *n)
{
    size_t listening = 0;
    for (const char *p = buf, *end = buf + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *lend = nl ? nl : end;
        size_t ll = 0, sl = 0;
        const char *local = inv_token(p, lend, 1, &ll);
        const char *st = inv_token(p, lend, 3, &sl);
        char addr[INET6_ADDRSTRLEN];
        uint32_t port;
        if (local && st && sl == 2 && memcmp(st, "0A", 2) == 0 &&
            inv_sockaddr(local, ll, v6, addr, sizeof addr, &port)) {
            listening++;
            if (*n < max) {
                out[*n].protocol = cm_xstrdup(v6 ? "tcp6" : "tcp");
                out[*n].address = cm_xstrdup(addr);
                out[*n].port = port;
                (*n)++;
            }
        }
        p = lend + 1;
    }
    return listening;
}

/* ---- the scan ---- */

static int inv_key_cmp(const void *a, const void *b)
{
    return strcmp(((const struct inv_key *)a)->key, ((const struct inv_key *)b)->key);
}

static void inv_index(struct ag_inv_proc *p, struct cm_container_inv *const *cs, size_t n)
{
    p->by_path = cm_xcalloc(n ? n : 1, sizeof *p->by_path);
    p->by_id = cm_xcalloc(n ? n : 1, sizeof *p->by_id);
    for (size_t i = 0; i < n; i++) {
        if (cs[i]->error) continue;
        if (cs[i]->cgroup_path && cs[i]->cgroup_path[0] == '/' && cs[i]->cgroup_path[1])
            p->by_path[p->npath++] = (struct inv_key){cs[i]->cgroup_path, i};
        p->by_id[p->nid++] = (struct inv_key){cs[i]->id, i};
    }
    qsort(p->by_path, p->npath, sizeof *p->by_path, inv_key_cmp);
    qsort(p->by_id, p->nid, sizeof *p->by_id, inv_key_cmp);
}

static long inv_lookup(const struct inv_key *idx, size_t n, const char *key)
{
    struct inv_key k = {key, 0};
    const struct inv_key *r = n ? bsearch(&k, idx, n, sizeof k, inv_key_cmp) : NULL;
    return r ? (long)r->idx : -1;
}

/* The container a cgroup leaf names: "<id>", "docker-<id>.scope",
 * "libpod-<id>", "cri-containerd-<id>.scope", "crio-<id>". */
static long inv_leaf_lookup(const struct ag_inv_proc *p, const char *leaf, size_t l)
{
    static const char *const prefixes[] = {"", "docker-", "libpod-", "cri-containerd-", "crio-"};
    char id[CM_CONTAINER_ID_MAX + 1];
    if (l > 6 && memcmp(leaf + l - 6, ".scope", 6) == 0) l -= 6;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t pl = strlen(prefixes[i]);
        if (l <= pl || l - pl > CM_CONTAINER_ID_MAX || memcmp(leaf, prefixes[i], pl) != 0) continue;
        memcpy(id, leaf + pl, l - pl);
        id[l - pl] = '\0';
        long c = inv_lookup(p->by_id, p->nid, id);
        if (c >= 0) return c;
    }
    return -1;
}

/* The container of one cgroup path (modified: cut at each ancestor). */
static long inv_match_path(const struct ag_inv_proc *p, char *path)
{
    size_t l = strlen(path);
    while (l > 1) {
        path[l] = '\0';
        long c = inv_lookup(p->by_path, p->npath, path);
        if (c >= 0) return c;
        size_t s = l;
        while (s > 0 && path[s - 1] != '/')
            s--;
        if ((c = inv_leaf_lookup(p, path + s, l - s)) >= 0) return c;
        l = s > 1 ? s - 1 : 0;
    }
    return -1;
}

/* /proc/<pid>/cgroup: "N:controllers:path" lines; the first that matches. */
static long inv_match_cgroup(const struct ag_inv_proc *p, char *buf, size_t len)
{
    for (char *line = buf, *end = buf + len; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (nl) *nl = '\0';
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 && c2[1] == '/') {
            long c = inv_match_path(p, c2 + 1);
            if (c >= 0) return c;
        }
        if (!nl) break;
        line = nl + 1;
    }
    return -1;
}

/* Reads <pid>/<name> below procfd into buf (NUL-terminated, at most max).
 * `one_record`: the kernel renders the file as a single record (cgroup,
 * status), so the first read returns all of it and the second read, which
 * would only say EOF, is saved: two of the few syscalls per pid. */
static ssize_t inv_read_small(int procfd, const char *pid, const char *name, char *buf, size_t max,
                              bool one_record)
{
    char p[64];
    snprintf(p, sizeof p, "%s/%s", pid, name);
    int fd = openat(procfd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -errno;
    size_t n = 0;
    while (n < max) {
        ssize_t r = read(fd, buf + n, max - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
        if (one_record) break;
    }
    close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* Control characters and, when the text is not valid UTF-8, every
 * non-ASCII byte become '?': process names are chosen by the container. */
static void inv_sanitize(char *s)
{
    size_t n = strlen(s);
    bool utf8 = cm_wire_check_utf8(s, n) == 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || (!utf8 && c >= 0x80)) s[i] = '?';
    }
}

static void inv_note_pid(struct ag_inv_proc *p, int procfd, const char *name, uint32_t pid,
                         size_t c)
{
    char exe[PATH_MAX], comm[64], path[64], st[AG_INV_SMALL_READ + 1];
    uint32_t uid = 0;
    if (p->ncpids == p->cpcap) {
        p->cpcap = p->cpcap ? p->cpcap * 2 : 256;
        p->cpids = cm_xrealloc(p->cpids, p->cpcap * sizeof *p->cpids);
    }
    p->cpids[p->ncpids++] = pid; /* in the container, whatever else can be read */
    snprintf(path, sizeof path, "%s/exe", name);
    ssize_t el = readlinkat(procfd, path, exe, sizeof exe - 1);
    if (el <= 0) return; /* a zombie, a kernel thread, or gone */
    exe[el < CM_INV_STR_MAX ? el : CM_INV_STR_MAX - 1] = '\0';
    ssize_t sl = inv_read_small(procfd, name, "status", st, AG_INV_SMALL_READ, true);
    if (sl <= 0 || ag_inv_status_parse(st, (size_t)sl, comm, sizeof comm, &uid) != 0) return;
    inv_sanitize(exe);
    inv_sanitize(comm);
    struct inv_acc *a = &p->acc[c];
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->recs = cm_xrealloc(a->recs, a->cap * sizeof *a->recs);
    }
    a->recs[a->n++] = (struct inv_prec){cm_xstrdup(exe), cm_xstrdup(comm), uid};
    if (!a->min_pid || pid < a->min_pid) a->min_pid = pid;
}

static void inv_push_pid(struct ag_inv_proc *p, uint32_t pid)
{
    if (p->npids == p->pcap) {
        p->pcap = p->pcap ? p->pcap * 2 : 1024;
        p->pids = cm_xrealloc(p->pids, p->pcap * sizeof *p->pids);
    }
    p->pids[p->npids++] = pid;
}

static int inv_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int inv_walk(struct ag_inv_proc *p, int procfd)
{
    int dfd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!dir) {
        int e = errno;
        if (dfd >= 0) close(dfd);
        return -e;
    }
    char buf[AG_INV_SMALL_READ + 1];
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        uint64_t pid;
        if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
            cm_parse_u64(de->d_name, strlen(de->d_name), &pid) != 0 || pid > UINT32_MAX)
            continue;
        inv_push_pid(p, (uint32_t)pid);
        ssize_t n = inv_read_small(procfd, de->d_name, "cgroup", buf, AG_INV_SMALL_READ, true);
        long c = n > 0 ? inv_match_cgroup(p, buf, (size_t)n) : -1;
        if (c >= 0) inv_note_pid(p, procfd, de->d_name, (uint32_t)pid, (size_t)c);
    }
    closedir(dir);
    if (p->npids) qsort(p->pids, p->npids, sizeof *p->pids, inv_u32_cmp);
    if (p->ncpids) qsort(p->cpids, p->ncpids, sizeof *p->cpids, inv_u32_cmp);
    return 0;
}

/* ---- per container results ---- */

static int inv_prec_cmp(const void *a, const void *b)
{
    const struct inv_prec *x = a, *y = b;
    int c = strcmp(x->exe, y->exe);
    if (c == 0) c = strcmp(x->comm, y->comm);
    return c ? c : (x->uid > y->uid) - (x->uid < y->uid);
}

static void inv_set_processes(struct inv_acc *a, struct cm_container_inv *c)
{
    for (size_t i = 0; i < c->n_processes; i++) {
        free(c->processes[i].exe);
        free(c->processes[i].comm);
    }
    free(c->processes);
    c->processes = NULL;
    c->n_processes = 0;
    if (a->n) qsort(a->recs, a->n, sizeof *a->recs, inv_prec_cmp);
    for (size_t i = 0; i < a->n; i++) {
        struct cm_process *last = c->n_processes ? &c->processes[c->n_processes - 1] : NULL;
        if (last && strcmp(last->exe, a->recs[i].exe) == 0 &&
            strcmp(last->comm, a->recs[i].comm) == 0 && last->uid == a->recs[i].uid) {
            last->count++;
        } else if (c->n_processes < AG_INV_PROCS_MAX) {
            if (!c->processes) c->processes = cm_xcalloc(a->n, sizeof *c->processes);
            c->processes[c->n_processes++] =
                (struct cm_process){a->recs[i].exe, a->recs[i].comm, 1, a->recs[i].uid};
            continue; /* the strings moved */
        }
        free(a->recs[i].exe);
        free(a->recs[i].comm);
    }
    free(a->recs);
    memset(a, 0, sizeof *a);
    c->known |= CM_INV_K_PROCS;
}

static int inv_listen_cmp(const void *a, const void *b)
{
    const struct cm_listen *x = a, *y = b;
    if (x->port != y->port) return x->port < y->port ? -1 : 1;
    int c = strcmp(x->protocol, y->protocol);
    return c ? c : strcmp(x->address, y->address);
}

static uint64_t inv_netns_ino(int procfd, uint32_t pid)
{
    char path[64], link[64];
    uint64_t ino = 0;
    snprintf(path, sizeof path, "%u/ns/net", pid);
    ssize_t l = readlinkat(procfd, path, link, sizeof link - 1);
    if (l > 6 && memcmp(link, "net:[", 5) == 0 && link[l - 1] == ']' &&
        cm_parse_u64(link + 5, (size_t)l - 6, &ino) != 0)
        ino = 0;
    return ino;
}

/* The slot of pid's network namespace, a new one (read later) if it was not
 * seen in this scan; -1 past AG_INV_NETNS_MAX. */
static long inv_netns_slot(struct ag_inv_proc *p, int procfd, uint32_t pid)
{
    uint64_t ino = inv_netns_ino(procfd, pid);
    for (size_t i = 0; ino && i < p->nns; i++) {
        if (p->ns[i].ino == ino) return (long)i;
    }
    if (p->nns >= AG_INV_NETNS_MAX) return -1;
    p->ns = cm_xrealloc(p->ns, (p->nns + 1) * sizeof *p->ns);
    struct inv_netns *ns = &p->ns[p->nns];
    memset(ns, 0, sizeof *ns);
    ns->ino = ino;
    ns->pid = pid;
    ns->l = cm_xcalloc(AG_INV_LISTEN_MAX, sizeof *ns->l);
    return (long)p->nns++;
}

static void inv_listen_drop(struct inv_netns *ns)
{
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->l[i].protocol);
        free(ns->l[i].address);
    }
    ns->n = 0;
}

/* Sends one dump request for listening TCP sockets: family 0 asks with the
 * old TCPDIAG_GETSOCK message, which the kernel answers for both families
 * in one walk of its listening table (half the cost of two requests). */
static int inv_diag_request(int fd, int family)
{
    struct {
        struct nlmsghdr nh;
        union {
            struct inet_diag_req old;
            struct inet_diag_req_v2 v2;
        } r;
    } req;
    memset(&req, 0, sizeof req);
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    if (family == 0) {
        req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.r.old);
        req.nh.nlmsg_type = TCPDIAG_GETSOCK;
        req.r.old.idiag_family = AF_INET;
        req.r.old.idiag_states = 1u << TCP_LISTEN;
    } else {
        req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.r.v2);
        req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        req.r.v2.sdiag_family = (uint8_t)family;
        req.r.v2.sdiag_protocol = IPPROTO_TCP;
        req.r.v2.idiag_states = 1u << TCP_LISTEN;
    }
    return send(fd, &req, req.nh.nlmsg_len, 0) == (ssize_t)req.nh.nlmsg_len ? 0 : -errno;
}

/* One dump (see inv_diag_request) into ns->l. */
static int inv_diag_dump(int fd, int family, struct inv_netns *ns)
{
    char buf[16384] __attribute__((aligned(8))), addr[INET6_ADDRSTRLEN];
    int rc = inv_diag_request(fd, family);
    while (rc == 0) {
        ssize_t len = recv(fd, buf, sizeof buf, 0);
        if (len <= 0) return len < 0 ? -errno : -EIO;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE) return 0;
            if (h->nlmsg_type == NLMSG_ERROR) return -EPROTO;
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            int fam = h->nlmsg_len >= NLMSG_LENGTH(sizeof *m) ? m->idiag_family : -1;
            if ((fam != AF_INET && fam != AF_INET6) || m->idiag_state != TCP_LISTEN ||
                !inet_ntop(fam, m->id.idiag_src, addr, sizeof addr) || ns->n >= AG_INV_LISTEN_MAX)
                continue;
            ns->l[ns->n++] = (struct cm_listen){cm_xstrdup(fam == AF_INET6 ? "tcp6" : "tcp"),
                                                cm_xstrdup(addr), ntohs(m->id.idiag_sport)};
        }
    }
    return rc;
}

/* Both families: one old-style dump, or two new ones where that is refused. */
static bool inv_diag_listen(int fd, struct inv_netns *ns)
{
    if (inv_diag_dump(fd, 0, ns) == 0) return true;
    inv_listen_drop(ns);
    if (inv_diag_dump(fd, AF_INET, ns) == 0 && inv_diag_dump(fd, AF_INET6, ns) == 0) return true;
    inv_listen_drop(ns);
    return false;
}

struct inv_diag_job {
    int procfd;
    struct inv_netns *ns;
    size_t n;
};

/* Runs on its own thread: setns() moves only the calling thread, and this
 * one ends with the pass, so the loop thread never leaves its namespace. */
static void *inv_diag_main(void *arg)
{
    struct inv_diag_job *job = arg;
    char path[64];
    for (size_t i = 0; i < job->n; i++) {
        struct inv_netns *ns = &job->ns[i];
        snprintf(path, sizeof path, "%u/ns/net", ns->pid);
        int nsfd = openat(job->procfd, path, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) continue; /* gone, or a fabricated /proc: the files are read */
        int rc = setns(nsfd, CLONE_NEWNET);
        close(nsfd);
        if (rc != 0 && errno == EPERM) break; /* not privileged: no use trying the rest */
        int fd = rc == 0 ? socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG) : -1;
        if (fd < 0) continue;
        ns->ok = ns->diag = inv_diag_listen(fd, ns);
        close(fd);
    }
    return NULL;
}

/* Reads and parses net/tcp and net/tcp6 of ns->pid: the fallback (the
 * kernel walks its whole connection table for each read, ~1 ms). */
static void inv_read_listen(struct ag_inv_proc *p, int procfd, struct inv_netns *ns)
{
    static const char *const files[2] = {"net/tcp", "net/tcp6"};
    char name[16];
    snprintf(name, sizeof name, "%u", ns->pid);
    for (int v6 = 0; v6 < 2; v6++) {
        ssize_t n = inv_read_small(procfd, name, files[v6], p->buf, AG_INV_NET_READ_MAX, false);
        if (n < 0) continue; /* no IPv6, or the pid is gone */
        ns->ok = true;
        ag_inv_net_tcp_parse(p->buf, (size_t)n, v6, ns->l, AG_INV_LISTEN_MAX, &ns->n);
    }
}

static void inv_listen_sort(struct inv_netns *ns)
{
    if (ns->n) qsort(ns->l, ns->n, sizeof *ns->l, inv_listen_cmp);
    size_t k = 0;
    for (size_t i = 0; i < ns->n; i++) {
        if (k > 0 && inv_listen_cmp(&ns->l[k - 1], &ns->l[i]) == 0) {
            free(ns->l[i].protocol);
            free(ns->l[i].address);
            continue;
        }
        ns->l[k++] = ns->l[i];
    }
    ns->n = k;
}

/* Every namespace of the scan: sock_diag from inside it (~0.1 ms), else the
 * /proc files. */
static void inv_listen_all(struct ag_inv_proc *p, int procfd)
{
    struct inv_diag_job job = {procfd, p->ns, p->nns};
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    /* signals stay with the loop thread (the helper inherits this mask) */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (p->nns && pthread_create(&t, NULL, inv_diag_main, &job) == 0) pthread_join(t, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (size_t i = 0; i < p->nns; i++) {
        if (!p->ns[i].ok) inv_read_listen(p, procfd, &p->ns[i]);
        inv_listen_sort(&p->ns[i]);
    }
}

static void inv_set_listening(const struct inv_netns *ns, struct cm_container_inv *c)
{
    inv_listen_release(c->listening, c->n_listening);
    c->listening = NULL;
    c->n_listening = 0;
    if (!ns || !ns->ok) return;
    c->listening = ns->n ? cm_xcalloc(ns->n, sizeof *c->listening) : NULL;
    for (size_t i = 0; i < ns->n; i++) {
        c->listening[i] = (struct cm_listen){cm_xstrdup(ns->l[i].protocol),
                                             cm_xstrdup(ns->l[i].address), ns->l[i].port};
    }
    c->n_listening = ns->n;
    c->known |= CM_INV_K_LISTEN;
}

/* What a container held from an earlier scan goes: nothing stale is sent. */
static void inv_clear(struct cm_container_inv *c)
{
    struct inv_acc none = {0};
    inv_set_processes(&none, c);
    inv_listen_release(c->listening, c->n_listening);
    c->listening = NULL;
    c->n_listening = 0;
    c->known &= ~(uint32_t)(CM_INV_K_PROCS | CM_INV_K_LISTEN);
}

int ag_inv_proc_scan(struct ag_inv_proc *p, struct cm_container_inv *const *cs, size_t n)
{
    inv_scan_reset(p, n);
    int procfd = ag_inv_open_in_root(p->rootfd, "/proc", O_RDONLY | O_DIRECTORY);
    inv_index(p, cs, n);
    int rc = procfd < 0 ? procfd : inv_walk(p, procfd);
    long *slot = cm_xcalloc(n ? n : 1, sizeof *slot);
    for (size_t i = 0; i < n; i++) {
        struct inv_acc *a = &p->acc[i];
        uint32_t pid = a->min_pid;
        slot[i] = -1;
        if (cs[i]->error) {
            /* left alone */
        } else if (rc == 0) {
            inv_set_processes(a, cs[i]);
            if (pid) slot[i] = inv_netns_slot(p, procfd, pid);
            if (!cs[i]->pid) cs[i]->pid = pid;
        } else {
            inv_clear(cs[i]);
        }
        for (size_t j = 0; j < a->n; j++) {
            free(a->recs[j].exe);
            free(a->recs[j].comm);
        }
        free(a->recs);
        memset(a, 0, sizeof *a);
    }
    if (rc == 0) inv_listen_all(p, procfd);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!cs[i]->error) inv_set_listening(slot[i] >= 0 ? &p->ns[slot[i]] : NULL, cs[i]);
    }
    free(slot);
    if (procfd >= 0) close(procfd);
    return rc;
}

void ag_inv_proc_netns_counts(const struct ag_inv_proc *p, size_t *by_diag, size_t *by_files)
{
    *by_diag = *by_files = 0;
    for (size_t i = 0; i < p->nns; i++) {
        if (p->ns[i].diag)
            (*by_diag)++;
        else if (p->ns[i].ok)
            (*by_files)++;
    }
}

bool ag_inv_proc_in_container(const struct ag_inv_proc *p, uint32_t pid)
{
    return p->ncpids && bsearch(&pid, p->cpids, p->ncpids, sizeof pid, inv_u32_cmp);
}

void ag_inv_proc_pids(const struct ag_inv_proc *p, const uint32_t **pids, size_t *n)
{
    *pids = p->pids;
    *n = p->npids;
}
