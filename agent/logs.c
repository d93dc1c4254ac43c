/* logs.c - the agent's log pipeline (see logs.h): which files to follow,
 * lines through the matcher, events and per-source volume into EventBatch
 * envelopes, and offsets committed behind the sender's acked floor.
 *
 * Not here: reading files (logtail.c), matching (matcher.c), delivery
 * (sender.c). */
#include "agent/logs.h"

#include "agent/logtail.h"
#include "agent/matcher.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "proto/wire.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define AG_LOGS_MOD "logs"
#define AG_LOGS_FLUSH_EVENTS 1000 /* events per envelope at most */
#define AG_LOGS_MAX_CHECKPOINTS 4096
#define AG_LOGS_PATH_MAX 4096
/* The same containers as last sweep: their log files are looked up again
 * only this often (one that had no log file yet may have one now). */
#define AG_LOGS_RECHECK_NS (INT64_C(30) * 1000000000)

/* How far one file has been read, and whether that moved since the last
 * checkpoint. */
struct ag_logs_progress {
    char key[48];
    uint64_t offset;
    bool dirty;
};

/* The files read up to where when envelope `seq` was submitted. */
struct ag_logs_checkpoint {
    uint64_t seq;
    struct ag_logs_progress *p;
    size_t n;
};

struct ag_logs_src {
    char *path;
    enum cm_log_source_kind kind;
    enum ag_log_format format;
    char container_id[CM_CONTAINER_ID_MAX + 1];
};

struct ag_logs {
    uv_loop_t *loop;
    struct ag_logs_opts o;
    char *host_root, *state_dir, *docker_root, *podman_root;
    struct ag_logs_src *host_src, *ctr_src;
    size_t n_host, n_ctr;
    uint64_t ctr_ids_hash;     /* of the container ids of the last lookup */
    int64_t ctr_checked_ns;    /* when it was done (monotonic) */
    struct ag_tail *tail;
    struct ag_matcher *matcher;
    uv_timer_t flush_timer, stats_timer;
    int open_handles; /* timers not yet closed; l is freed when it reaches 0 */
    struct cm_log_event *ev;
    size_t n_ev;
    struct ag_logs_progress *prog;
    size_t n_prog, cap_prog, last_prog;
    struct ag_logs_checkpoint cps[AG_LOGS_MAX_CHECKPOINTS];
    size_t cp_head, n_cps;
    struct ag_logs_stats stats;
    struct cm_ratelimit rl_submit, rl_cp;
};

/* ---- sources ---- */

static char *ag_logs_join(const char *root, const char *path)
{
    char buf[AG_LOGS_PATH_MAX];
    size_t rl = strlen(root);
    while (rl > 0 && root[rl - 1] == '/')
        rl--;
    snprintf(buf, sizeof buf, "%.*s%s", (int)rl, root, path);
    return cm_xstrdup(buf);
}

static int ag_logs_parse_sources(struct ag_logs *l, char *err, size_t errlen)
{
    const struct cm_strlist *s = l->o.sources;
    size_t n = s ? s->n : 0;
    l->host_src = cm_xcalloc(n ? n : 1, sizeof *l->host_src);
    for (size_t i = 0; i < n; i++) {
        const char *item = s->items[i], *eq = strchr(item, '=');
        char kind[16];
        enum cm_log_source_kind k;
        if (!eq || (size_t)(eq - item) >= sizeof kind || eq[1] != '/') {
            snprintf(err, errlen, "config key 'log_sources': \"%s\" is not KIND=/ABSOLUTE/PATH",
                     item);
            return CM_ECONFIG;
        }
        snprintf(kind, sizeof kind, "%.*s", (int)(eq - item), item);
        if (cm_log_source_kind_parse(kind, &k) < 0 || k == CM_LOG_SRC_CONTAINER) {
            snprintf(err, errlen,
                     "config key 'log_sources': unknown kind \"%s\" (use auth, syslog, kernel "
                     "or file)",
                     kind);
            return CM_ECONFIG;
        }
        l->host_src[l->n_host].path = ag_logs_join(l->host_root, eq + 1);
        l->host_src[l->n_host].kind = k;
        l->host_src[l->n_host].format = AG_LOG_FMT_RAW;
        l->n_host++;
    }
    return 0;
}

static void ag_logs_free_srcs(struct ag_logs_src *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].path);
    free(v);
}

/* Hands host + container sources to the tailer. */
static void ag_logs_apply_sources(struct ag_logs *l)
{
    if (!l->tail) return;
    size_t n = l->n_host + l->n_ctr;
    struct ag_tail_source *ts = cm_xcalloc(n ? n : 1, sizeof *ts);
    for (size_t i = 0; i < n; i++) {
        const struct ag_logs_src *s = i < l->n_host ? &l->host_src[i] : &l->ctr_src[i - l->n_host];
        ts[i] = (struct ag_tail_source){.path = s->path,
                                        .kind = s->kind,
                                        .format = s->format,
                                        .container_id = s->container_id,
                                        .from_start = s->kind == CM_LOG_SRC_CONTAINER};
    }
    if (ag_tail_set_sources(l->tail, ts, n) < 0)
        cm_warn(AG_LOGS_MOD, "cannot follow the log sources", "sources=%zu", n);
    l->stats.sources = n;
    free(ts);
}

static bool ag_logs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The CRI link of container id in /var/log/containers, or NULL. */
static char *ag_logs_cri_link(struct ag_logs *l, DIR *dir, const char *id)
{
    char suffix[CM_CONTAINER_ID_MAX + 8];
    snprintf(suffix, sizeof suffix, "-%s.log", id);
    size_t sl = strlen(suffix);
    if (!dir) return NULL;
    rewinddir(dir);
    for (struct dirent *d; (d = readdir(dir)) != NULL;) {
        size_t nl = strlen(d->d_name);
        if (nl > sl && strcmp(d->d_name + nl - sl, suffix) == 0) {
            char rel[AG_LOGS_PATH_MAX];
            snprintf(rel, sizeof rel, "/var/log/containers/%s", d->d_name);
            return ag_logs_join(l->host_root, rel);
        }
    }
    return NULL;
}

/* Where a container's runtime writes its stdout/stderr, when the file is there. */
static bool ag_logs_container_src(struct ag_logs *l, const struct cm_sample *s, DIR *cri,
                                  struct ag_logs_src *out)
{
    char rel[AG_LOGS_PATH_MAX];
    char *path = NULL;
    enum ag_log_format fmt = AG_LOG_FMT_CRI;
    if (s->runtime == CM_RT_DOCKER) {
        snprintf(rel, sizeof rel, "%s/containers/%s/%s-json.log", l->docker_root, s->container_id,
                 s->container_id);
        path = ag_logs_join(l->host_root, rel);
        fmt = AG_LOG_FMT_DOCKER_JSON;
    } else if (s->runtime == CM_RT_PODMAN) {
        snprintf(rel, sizeof rel, "%s/overlay-containers/%s/userdata/ctr.log", l->podman_root,
                 s->container_id);
        path = ag_logs_join(l->host_root, rel);
    } else if (s->runtime == CM_RT_CONTAINERD || s->runtime == CM_RT_CRIO) {
        path = ag_logs_cri_link(l, cri, s->container_id);
    }
    if (!path || !ag_logs_exists(path)) {
        free(path);
        return false;
    }
    *out = (struct ag_logs_src){.path = path, .kind = CM_LOG_SRC_CONTAINER, .format = fmt};
    snprintf(out->container_id, sizeof out->container_id, "%s", s->container_id);
    return true;
}

static bool ag_logs_same_srcs(const struct ag_logs_src *a, size_t na, const struct ag_logs_src *b,
                              size_t nb)
{
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].path, b[i].path) != 0) return false;
    return true;
}

/* FNV-1a over the sweep's container ids: "the same containers as before". */
static uint64_t ag_logs_ids_hash(const struct cm_sample *samples, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++)
        for (const unsigned char *p = (const unsigned char *)samples[i].container_id;; p++) {
            h = (h ^ *p) * UINT64_C(1099511628211);
            if (!*p) break;
        }
    return h;
}

void ag_logs_set_containers(struct ag_logs *l, const struct cm_sample *samples, size_t n)
{
    if (!l->o.container_logs) return;
    /* Every sweep calls this; stat()ing every log file each time would be
     * I/O on the sweep's path for nothing when the containers are the same. */
    uint64_t h = ag_logs_ids_hash(samples, n);
    int64_t now = cm_time_mono_ns();
    if (l->ctr_checked_ns && h == l->ctr_ids_hash && now - l->ctr_checked_ns < AG_LOGS_RECHECK_NS)
        return;
    l->ctr_ids_hash = h;
    l->ctr_checked_ns = now;
    char *cri_path = ag_logs_join(l->host_root, "/var/log/containers");
    DIR *cri = opendir(cri_path);
    free(cri_path);
    struct ag_logs_src *v = cm_xcalloc(n ? n : 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ag_logs_container_src(l, &samples[i], cri, &v[k])) k++;
    if (cri) closedir(cri);
    if (ag_logs_same_srcs(v, k, l->ctr_src, l->n_ctr)) {
        ag_logs_free_srcs(v, k);
        return;
    }
    ag_logs_free_srcs(l->ctr_src, l->n_ctr);
    l->ctr_src = v;
    l->n_ctr = k;
    ag_logs_apply_sources(l);
}

/* ---- progress and checkpoints ---- */

static struct ag_logs_progress *ag_logs_progress_of(struct ag_logs *l, const char *key)
{
    if (l->last_prog < l->n_prog && strcmp(l->prog[l->last_prog].key, key) == 0)
        return &l->prog[l->last_prog];
    for (size_t i = 0; i < l->n_prog; i++) {
        if (strcmp(l->prog[i].key, key) == 0) {
            l->last_prog = i;
            return &l->prog[i];
        }
    }
    if (l->n_prog == l->cap_prog) {
        l->cap_prog = l->cap_prog ? l->cap_prog * 2 : 16;
        l->prog = cm_xrealloc(l->prog, l->cap_prog * sizeof *l->prog);
    }
    struct ag_logs_progress *p = &l->prog[l->n_prog];
    memset(p, 0, sizeof *p);
    snprintf(p->key, sizeof p->key, "%s", key);
    l->last_prog = l->n_prog++;
    return p;
}

/* Records the files that moved since the last checkpoint against seq. */
static void ag_logs_checkpoint(struct ag_logs *l, uint64_t seq)
{
    size_t dirty = 0;
    for (size_t i = 0; i < l->n_prog; i++)
        dirty += l->prog[i].dirty;
    if (dirty == 0) return;
    if (l->n_cps == AG_LOGS_MAX_CHECKPOINTS) {
        /* Acks are far behind: merge into the newest checkpoint instead of
         * growing; its offsets are further on, so nothing is committed early. */
        unsigned sup = 0;
        if (cm_ratelimit_allow(&l->rl_cp, 1, 60000, &sup))
            cm_warn(AG_LOGS_MOD, "log checkpoints pile up (acks are behind)", "suppressed=%u", sup);
        size_t newest = (l->cp_head + l->n_cps - 1) % AG_LOGS_MAX_CHECKPOINTS;
        free(l->cps[newest].p);
        l->cps[newest].p = NULL;
        l->cps[newest].n = 0;
        l->n_cps--;
    }
    struct ag_logs_checkpoint *cp = &l->cps[(l->cp_head + l->n_cps) % AG_LOGS_MAX_CHECKPOINTS];
    cp->seq = seq;
    cp->p = cm_xcalloc(dirty, sizeof *cp->p);
    cp->n = 0;
    for (size_t i = 0; i < l->n_prog; i++) {
        if (!l->prog[i].dirty) continue;
        cp->p[cp->n++] = l->prog[i];
        l->prog[i].dirty = false;
    }
    l->n_cps++;
}

void ag_logs_on_progress(struct ag_logs *l)
{
    if (!l->o.sender || !l->tail) return;
    uint64_t floor = ag_sender_acked_floor(l->o.sender);
    while (l->n_cps > 0 && l->cps[l->cp_head].seq < floor) {
        struct ag_logs_checkpoint *cp = &l->cps[l->cp_head];
        for (size_t i = 0; i < cp->n; i++)
            ag_tail_commit(l->tail, cp->p[i].key, cp->p[i].offset);
        l->stats.checkpoints_committed++;
        free(cp->p);
        cp->p = NULL;
        l->cp_head = (l->cp_head + 1) % AG_LOGS_MAX_CHECKPOINTS;
        l->n_cps--;
    }
}

/* ---- events out ---- */

static void ag_logs_drop_events(struct ag_logs *l)
{
    for (size_t i = 0; i < l->n_ev; i++)
        cm_log_event_free(&l->ev[i]);
    l->n_ev = 0;
}

/* One EventBatch with the pending events (and stats when given); the files'
 * progress so far is checkpointed against its seq. */
static void ag_logs_submit(struct ag_logs *l, const struct cm_log_stats *stats, size_t n_stats)
{
    if (l->n_ev == 0 && n_stats == 0) return;
    struct cm_envelope env = {.kind = CM_BODY_EVENTS};
    env.body.events.events = l->ev;
    env.body.events.n_events = l->n_ev;
    env.body.events.stats = (struct cm_log_stats *)(uintptr_t)stats;
    env.body.events.n_stats = n_stats;
    int rc = ag_sender_submit(l->o.sender, &env, 0);
    if (rc < 0) {
        unsigned sup = 0;
        l->stats.submit_failures++;
        if (cm_ratelimit_allow(&l->rl_submit, 1, 60000, &sup))
            cm_warn(AG_LOGS_MOD, "events could not be spooled (counted as dropped)",
                    "events=%zu err=\"%s\" suppressed=%u", l->n_ev, cm_err_str(rc), sup);
    } else {
        l->stats.envelopes++;
        ag_logs_checkpoint(l, env.seq);
    }
    ag_logs_drop_events(l);
}

static void ag_logs_on_line(void *arg, const struct ag_tail_line *line)
{
    struct ag_logs *l = arg;
    l->stats.lines++;
    struct ag_logs_progress *p = ag_logs_progress_of(l, line->source->file_key);
    if (line->end_offset > p->offset || line->offset < p->offset) {
        p->offset = line->end_offset; /* a truncated file starts again lower */
        p->dirty = true;
    }
    if (!l->matcher) return;
    size_t got = ag_matcher_match(l->matcher, line, cm_time_now_ns(), l->ev + l->n_ev,
                                  AG_LOGS_FLUSH_EVENTS - l->n_ev);
    l->n_ev += got;
    l->stats.events += got;
    if (l->n_ev == AG_LOGS_FLUSH_EVENTS) ag_logs_submit(l, NULL, 0);
}

static void ag_logs_on_flush(uv_timer_t *t)
{
    struct ag_logs *l = t->data;
    ag_logs_submit(l, NULL, 0);
}

static void ag_logs_on_stats(uv_timer_t *t)
{
    struct ag_logs *l = t->data;
    const struct cm_log_stats *st = NULL;
    size_t n = 0;
    if (!l->tail || ag_tail_take_stats(l->tail, cm_time_now_ns(), &st, &n) < 0) n = 0;
    /* Every interval, also without events: the stats envelope carries the
     * checkpoint of lines that matched nothing, so their offsets commit too. */
    ag_logs_submit(l, st, n);
}

/* ---- policy ---- */

static int ag_logs_start_tail(struct ag_logs *l, char *err, size_t errlen)
{
    struct ag_tail_opts to = {.state_dir = l->state_dir,
                              .max_line_bytes = l->o.max_line_bytes,
                              .start_at_end = l->o.start_at_end,
                              .on_line = ag_logs_on_line,
                              .arg = l};
    int rc = ag_tail_new(l->loop, &to, &l->tail, err, errlen);
    if (rc < 0) return rc;
    ag_logs_apply_sources(l);
    uv_timer_start(&l->flush_timer, ag_logs_on_flush, l->o.flush_ms, l->o.flush_ms);
    uv_timer_start(&l->stats_timer, ag_logs_on_stats, l->o.stats_interval_ms,
                   l->o.stats_interval_ms);
    ag_tail_poll(l->tail);
    return 0;
}

void ag_logs_set_policy(struct ag_logs *l, const struct cm_policy *p, struct cm_policy_ack *ack)
{
    struct ag_matcher *m = NULL;
    memset(ack, 0, sizeof *ack);
    ack->version = p->version;
    if (ag_matcher_new(p, &m, ack->error, sizeof ack->error) < 0) {
        cm_warn(AG_LOGS_MOD, "collector's rules refused; keeping the previous ones",
                "version=%u err=\"%s\"", p->version, ack->error);
        return;
    }
    /* events matched under the old rules go out before the switch */
    ag_logs_submit(l, NULL, 0);
    ag_matcher_free(l->matcher);
    l->matcher = m;
    ack->accepted = true;
    ack->rules_compiled = (uint32_t)ag_matcher_rules(m);
    l->stats.policy_version = p->version;
    cm_info(AG_LOGS_MOD, "rules in force", "version=%u rules=%u", p->version, ack->rules_compiled);
    char err[256] = "";
    if (!l->tail && ag_logs_start_tail(l, err, sizeof err) < 0)
        cm_error(AG_LOGS_MOD, "cannot start reading logs", "err=\"%s\"", err);
}

/* ---- life cycle ---- */

int ag_logs_new(uv_loop_t *loop, const struct ag_logs_opts *opts, struct ag_logs **out, char *err,
                size_t errlen)
{
    struct ag_logs *l = cm_xcalloc(1, sizeof *l);
    l->loop = loop;
    l->o = *opts;
    if (!l->o.stats_interval_ms) l->o.stats_interval_ms = 60000;
    if (!l->o.flush_ms) l->o.flush_ms = 1000;
    l->host_root = cm_xstrdup(opts->host_root ? opts->host_root : "/");
    l->state_dir = cm_xstrdup(opts->state_dir);
    l->docker_root = cm_xstrdup(opts->docker_root ? opts->docker_root : "/var/lib/docker");
    l->podman_root =
        cm_xstrdup(opts->podman_root ? opts->podman_root : "/var/lib/containers/storage");
    l->ev = cm_xcalloc(AG_LOGS_FLUSH_EVENTS, sizeof *l->ev);
    uv_timer_init(loop, &l->flush_timer);
    uv_timer_init(loop, &l->stats_timer);
    l->flush_timer.data = l->stats_timer.data = l;
    l->open_handles = 2;
    int rc = ag_logs_parse_sources(l, err, errlen);
    if (rc < 0) {
        ag_logs_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void ag_logs_get_stats(const struct ag_logs *l, struct ag_logs_stats *out)
{
    *out = l->stats;
}

static void ag_logs_on_close(uv_handle_t *h)
{
    struct ag_logs *l = h->data;
    if (--l->open_handles == 0) free(l);
}

void ag_logs_free(struct ag_logs *l)
{
    if (!l) return;
    if (l->tail && l->o.sender) ag_logs_submit(l, NULL, 0);
    ag_logs_drop_events(l);
    free(l->ev);
    ag_tail_free(l->tail);
    ag_matcher_free(l->matcher);
    ag_logs_free_srcs(l->host_src, l->n_host);
    ag_logs_free_srcs(l->ctr_src, l->n_ctr);
    for (size_t i = 0; i < l->n_cps; i++)
        free(l->cps[(l->cp_head + i) % AG_LOGS_MAX_CHECKPOINTS].p);
    free(l->prog);
    free(l->host_root);
    free(l->state_dir);
    free(l->docker_root);
    free(l->podman_root);
    uv_close((uv_handle_t *)&l->flush_timer, ag_logs_on_close);
    uv_close((uv_handle_t *)&l->stats_timer, ag_logs_on_close);
}
