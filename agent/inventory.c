/* inventory.c - the inventory scheduler: which containers and what of the
 * host to send, when.
 *
 * It keeps the parsed configuration of each container found on disk (keyed
 * by the runtime's id and the identity of its files, so an unchanged file is
 * not parsed again), joins it with the cgroup sweep, lets inv_proc.c add
 * processes and sockets, encodes every container and keeps a 64-bit hash of
 * what was last handed to the emit callback per id. Finding and reading the
 * files is inv_discover.c's job, the host inv_host.c's, parsing agent/rt_*.c's.
 * It logs rate-limited warnings for unreadable configs (the reason only). */
#include "agent/inventory.h"

#include "agent/inv_int.h"
#include "common/alloc.h"
#include "common/err.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "proto/wire.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AG_INV_MOD "inventory"
#define AG_INV_WARN_MS 60000
#define AG_INV_ITEM_OVERHEAD 16 /* protobuf tag and length of one container, at most */

/* A container found on disk, with its parsed configuration. */
struct inv_ent {
    struct ag_inv_found f;
    struct cm_container_inv inv;
    /* what the files said, restored before each pass adds the live parts */
    uint32_t base_pid;
    enum cm_inv_state base_state;
    uint32_t base_known;
    char *base_cgroup;
};

/* What the emit callback last took for an id. */
struct inv_sent {
    char id[CM_CONTAINER_ID_MAX + 1];
    enum cm_runtime runtime;
    uint64_t hash;
};

/* One container of this pass. */
struct inv_live {
    struct cm_container_inv *c;
    int prio; /* enum ag_inv_src */
    uint8_t *enc;
    size_t len;
    uint64_t hash;
    bool send, ok;
};

struct ag_inventory {
    int rootfd;
    uint64_t full_interval_ms;
    struct ag_inv_disc *disc;
    struct ag_inv_proc *proc;
    struct ag_inv_host *host;
    struct inv_ent **ents; /* sorted by f.key */
    size_t nents;
    struct cm_container_inv *extra; /* this pass: cgroup-only, substitutes, gone */
    size_t nextra, extracap;
    struct inv_live *live; /* this pass, sorted by id */
    size_t nlive, livecap;
    struct inv_sent *sent; /* sorted by id */
    size_t nsent;
    uint64_t host_hash;
    bool host_known;
    bool force_full, first_done;
    int64_t last_full_mono;
    struct cm_ratelimit rl_err, rl_enc;
    struct ag_inventory_stats st;
};

int ag_inventory_new(const struct ag_inventory_opts *opts, struct ag_inventory **out, char *err,
                     size_t errlen)
{
    const char *root = opts->host_root && *opts->host_root ? opts->host_root : "/";
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open host_root %s: %s", root, strerror(e));
        return -e;
    }
    struct ag_inventory *inv = cm_xcalloc(1, sizeof *inv);
    inv->rootfd = fd;
    inv->full_interval_ms = opts->full_interval_ms;
    ag_inv_disc_new(fd, opts, &inv->disc);
    ag_inv_proc_new(fd, &inv->proc);
    ag_inv_host_new(fd, opts, &inv->host);
    *out = inv;
    return 0;
}

static void inv_ent_free(struct inv_ent *e)
{
    if (!e) return;
    cm_container_inv_free(&e->inv);
    free(e->base_cgroup);
    free(e);
}

static void inv_pass_reset(struct ag_inventory *inv)
{
    for (size_t i = 0; i < inv->nextra; i++)
        cm_container_inv_free(&inv->extra[i]);
    inv->nextra = 0;
    for (size_t i = 0; i < inv->nlive; i++)
        free(inv->live[i].enc);
    inv->nlive = 0;
}

void ag_inventory_free(struct ag_inventory *inv)
{
    if (!inv) return;
    inv_pass_reset(inv);
    for (size_t i = 0; i < inv->nents; i++)
        inv_ent_free(inv->ents[i]);
    free(inv->ents);
    free(inv->extra);
    free(inv->live);
    free(inv->sent);
    ag_inv_disc_free(inv->disc);
    ag_inv_proc_free(inv->proc);
    ag_inv_host_free(inv->host);
    close(inv->rootfd);
    free(inv);
}

void ag_inventory_force_full(struct ag_inventory *inv)
{
    inv->force_full = true;
}

void ag_inventory_get_stats(const struct ag_inventory *inv, struct ag_inventory_stats *out)
{
    *out = inv->st;
}

/* ---- 1. what is on disk ---- */

static struct inv_ent *inv_load(struct ag_inventory *inv, const struct ag_inv_found *f)
{
    struct inv_ent *e = cm_xcalloc(1, sizeof *e);
    unsigned sup = 0;
    e->f = *f;
    ag_inv_disc_load(inv->disc, f, &e->inv);
    e->base_pid = e->inv.pid;
    e->base_state = e->inv.state;
    e->base_known = e->inv.known;
    e->base_cgroup = e->inv.cgroup_path ? cm_xstrdup(e->inv.cgroup_path) : NULL;
    inv->st.parsed++;
    if (e->inv.error && cm_ratelimit_allow(&inv->rl_err, 10, AG_INV_WARN_MS, &sup))
        cm_warn(AG_INV_MOD, "cannot read a container's configuration",
                "id=%s runtime=%s err=\"%s\" suppressed=%u", e->inv.id,
                cm_runtime_name(e->inv.runtime), e->inv.error, sup);
    return e;
}

/* Lists the state dirs and parses what is new or changed. */
static void inv_refresh(struct ag_inventory *inv)
{
    const struct ag_inv_found *f = NULL;
    size_t n = 0, j = 0;
    ag_inv_disc_list(inv->disc, &f, &n);
    struct inv_ent **next = cm_xcalloc(n ? n : 1, sizeof *next);
    for (size_t i = 0; i < n; i++) {
        while (j < inv->nents && strcmp(inv->ents[j]->f.key, f[i].key) < 0)
            inv_ent_free(inv->ents[j++]);
        struct inv_ent *old = j < inv->nents ? inv->ents[j] : NULL;
        if (old && strcmp(old->f.key, f[i].key) == 0) {
            j++;
            if (old->f.src == f[i].src && old->f.root == f[i].root && old->f.sig == f[i].sig &&
                strcmp(old->f.rel, f[i].rel) == 0) {
                next[i] = old;
                continue;
            }
            inv_ent_free(old);
        }
        next[i] = inv_load(inv, &f[i]);
    }
    while (j < inv->nents)
        inv_ent_free(inv->ents[j++]);
    free(inv->ents);
    inv->ents = next;
    inv->nents = n;
    ag_inv_disc_end(inv->disc);
}

/* ---- 2. joined with the sweep ---- */

struct inv_sidx {
    const char *key;
    size_t i;
};

static int inv_sidx_cmp(const void *a, const void *b)
{
    return strcmp(((const struct inv_sidx *)a)->key, ((const struct inv_sidx *)b)->key);
}

static long inv_sfind(const struct inv_sidx *idx, size_t n, const char *key)
{
    struct inv_sidx k = {key, 0};
    const struct inv_sidx *r = key && n ? bsearch(&k, idx, n, sizeof k, inv_sidx_cmp) : NULL;
    return r ? (long)r->i : -1;
}

static struct cm_container_inv *inv_extra(struct ag_inventory *inv)
{
    if (inv->nextra == inv->extracap) abort(); /* sized for the pass up front: live[] points in */
    struct cm_container_inv *c = &inv->extra[inv->nextra++];
    memset(c, 0, sizeof *c);
    return c;
}

static void inv_live_add(struct ag_inventory *inv, struct cm_container_inv *c, int prio)
{
    if (inv->nlive == inv->livecap) {
        inv->livecap = inv->livecap ? inv->livecap * 2 : 64;
        inv->live = cm_xrealloc(inv->live, inv->livecap * sizeof *inv->live);
    }
    inv->live[inv->nlive++] = (struct inv_live){.c = c, .prio = prio};
}

/* Restores what the files said, then adds what the sweep knows. */
static void inv_join_one(struct inv_ent *e, const struct cm_sample *s, size_t ns,
                         const struct inv_sidx *by_id, const struct inv_sidx *by_path, bool *used)
{
    struct cm_container_inv *c = &e->inv;
    snprintf(c->id, sizeof c->id, "%s", e->f.key);
    c->pid = e->base_pid;
    c->state = e->base_state;
    c->known = e->base_known;
    free(c->cgroup_path);
    c->cgroup_path = e->base_cgroup ? cm_xstrdup(e->base_cgroup) : NULL;
    long k = inv_sfind(by_id, ns, c->id);
    if (c->error) {
        if (k >= 0) used[k] = true; /* reported as the error entry, not twice */
        return;
    }
    char leaf[CM_CONTAINER_ID_MAX + 1];
    if (k < 0 && (e->f.src == AG_INV_SRC_RUNC || e->f.src == AG_INV_SRC_CRUN)) {
        /* plain runc or crun: the cgroup names the container (the sweep's
         * id is taken only when it is found: a systemd unit's leaf such as
         * "crun-<id>.scope" is no id of its own) */
        k = inv_sfind(by_path, ns, e->base_cgroup);
        if (k < 0 && ag_inv_cgroup_leaf_id(e->base_cgroup, leaf, sizeof leaf))
            k = inv_sfind(by_id, ns, leaf);
    }
    if (k < 0) return;
    used[k] = true;
    snprintf(c->id, sizeof c->id, "%s", s[k].container_id);
    free(c->cgroup_path);
    c->cgroup_path = cm_xstrdup(s[k].cgroup_path);
    if (c->state == CM_INV_STATE_UNKNOWN) c->state = CM_INV_STATE_RUNNING;
}

static int inv_live_cmp(const void *a, const void *b)
{
    const struct inv_live *x = a, *y = b;
    int c = strcmp(x->c->id, y->c->id);
    return c ? c : x->prio - y->prio;
}

/* Builds live[]: the disk entries joined with the sweep, then containers
 * only the sweep knows; one per id, sorted by id. */
static void inv_join(struct ag_inventory *inv, const struct cm_sample *s, size_t ns)
{
    struct inv_sidx *by_id = cm_xcalloc(ns ? ns : 1, sizeof *by_id);
    struct inv_sidx *by_path = cm_xcalloc(ns ? ns : 1, sizeof *by_path);
    bool *used = cm_xcalloc(ns ? ns : 1, sizeof *used);
    for (size_t i = 0; i < ns; i++) {
        by_id[i] = (struct inv_sidx){s[i].container_id, i};
        by_path[i] = (struct inv_sidx){s[i].cgroup_path, i};
    }
    qsort(by_id, ns, sizeof *by_id, inv_sidx_cmp);
    qsort(by_path, ns, sizeof *by_path, inv_sidx_cmp);
    for (size_t i = 0; i < inv->nents; i++) {
        inv_join_one(inv->ents[i], s, ns, by_id, by_path, used);
        inv_live_add(inv, &inv->ents[i]->inv, (int)inv->ents[i]->f.src);
    }
    for (size_t i = 0; i < ns; i++) {
        if (used[i]) continue;
        struct cm_container_inv *c = inv_extra(inv);
        snprintf(c->id, sizeof c->id, "%s", s[i].container_id);
        c->runtime = s[i].runtime;
        c->cgroup_path = cm_xstrdup(s[i].cgroup_path);
        c->state = CM_INV_STATE_RUNNING;
        inv_live_add(inv, c, AG_INV_SRC_CGROUP);
    }
    if (inv->nlive) qsort(inv->live, inv->nlive, sizeof *inv->live, inv_live_cmp);
    size_t k = 0;
    for (size_t i = 0; i < inv->nlive; i++) {
        if (k > 0 && strcmp(inv->live[k - 1].c->id, inv->live[i].c->id) == 0) continue;
        inv->live[k++] = inv->live[i];
    }
    inv->nlive = k;
    free(by_id);
    free(by_path);
    free(used);
}

/* ---- 3. what changed ---- */

/* A container whose record cannot go out is sent as an error entry. */
static void inv_substitute(struct ag_inventory *inv, struct inv_live *l, const char *why)
{
    unsigned sup = 0;
    struct cm_container_inv *c = inv_extra(inv);
    snprintf(c->id, sizeof c->id, "%s", l->c->id);
    c->runtime = l->c->runtime;
    c->error = cm_xstrdup(why);
    if (cm_ratelimit_allow(&inv->rl_enc, 10, AG_INV_WARN_MS, &sup))
        cm_warn(AG_INV_MOD, "a container's inventory cannot be sent whole",
                "id=%s err=\"%s\" suppressed=%u", l->c->id, why, sup);
    l->c = c;
    free(l->enc);
    l->enc = NULL;
    l->len = 0;
    (void)cm_wire_encode_container_inv(c, &l->enc, &l->len);
}

static void inv_encode(struct ag_inventory *inv, struct inv_live *l)
{
    char why[128];
    int rc = cm_wire_encode_container_inv(l->c, &l->enc, &l->len);
    if (rc < 0) {
        snprintf(why, sizeof why, "inventory record cannot be encoded: %s", cm_err_str(rc));
        inv_substitute(inv, l, why);
    } else if (l->len > AG_INV_CONTAINER_BYTES) {
        snprintf(why, sizeof why, "inventory record of %zu bytes is over the %u the agent sends",
                 l->len, AG_INV_CONTAINER_BYTES);
        inv_substitute(inv, l, why);
    }
    l->hash = ag_inv_hash(0, l->enc, l->len);
}

static struct inv_sent *inv_sent_find(const struct ag_inventory *inv, const char *id)
{
    size_t lo = 0, hi = inv->nsent;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(inv->sent[mid].id, id);
        if (c == 0) return &inv->sent[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* GONE entries for ids handed out before and not seen now; returns how many
 * (they are the last `count` entries of extra[]). */
static size_t inv_gone(struct ag_inventory *inv)
{
    size_t n = 0, j = 0;
    for (size_t i = 0; i < inv->nsent; i++) {
        while (j < inv->nlive && strcmp(inv->live[j].c->id, inv->sent[i].id) < 0)
            j++;
        if (j < inv->nlive && strcmp(inv->live[j].c->id, inv->sent[i].id) == 0) continue;
        struct cm_container_inv *c = inv_extra(inv);
        snprintf(c->id, sizeof c->id, "%s", inv->sent[i].id);
        c->runtime = inv->sent[i].runtime;
        c->state = CM_INV_STATE_GONE;
        n++;
    }
    return n;
}

/* The host inventory and whether it goes out in this pass. */
static bool inv_host(struct ag_inventory *inv, bool full, struct cm_host_inv *h, uint64_t *hash)
{
    (void)ag_inv_host_read(inv->host, inv->proc, full, h);
    cJSON *j = cm_host_inv_to_json(h);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    *hash = text ? ag_inv_hash(0, text, strlen(text)) : 0;
    free(text);
    cJSON_Delete(j);
    return full || !inv->host_known || *hash != inv->host_hash;
}

/* ---- 4. envelopes ---- */

struct inv_item {
    const struct cm_container_inv *c;
    size_t len;
    bool *ok;
};

struct inv_out {
    ag_inventory_emit_cb emit;
    void *data;
    int64_t now_ns;
    struct cm_host_inv *host; /* NULL: not sent */
    bool full;
    bool host_ok, complete_ok;
    int first_err;
};

/* How many items from `start` fit one envelope. */
static size_t inv_fit(const struct inv_item *items, size_t n, size_t start)
{
    size_t end = start, bytes = 0;
    while (end < n && end - start < AG_INV_ENVELOPE_CONTAINERS &&
           (end == start || bytes + items[end].len + AG_INV_ITEM_OVERHEAD <= AG_INV_ENVELOPE_BYTES))
        bytes += items[end++].len + AG_INV_ITEM_OVERHEAD;
    return end - start;
}

/* Emits items in envelopes; the last one carries the host and, in a full
 * pass, complete = true with every id present. */
static void inv_emit(struct ag_inventory *inv, const struct inv_item *items, size_t n,
                     struct inv_out *o)
{
    size_t cap = n < AG_INV_ENVELOPE_CONTAINERS ? n : AG_INV_ENVELOPE_CONTAINERS;
    struct cm_container_inv *arr = cm_xcalloc(cap ? cap : 1, sizeof *arr);
    char **ids = NULL;
    size_t start = 0;
    do {
        size_t k = inv_fit(items, n, start);
        struct cm_inventory_batch b = {.collected_ns = o->now_ns, .containers = arr, .n = k};
        for (size_t i = 0; i < k; i++)
            arr[i] = *items[start + i].c; /* shallow: borrowed for the call */
        bool last = start + k == n;
        if (last) {
            b.host = o->host;
            if (o->full) {
                ids = cm_xcalloc(inv->nlive ? inv->nlive : 1, sizeof *ids);
                for (size_t i = 0; i < inv->nlive; i++)
                    ids[i] = inv->live[i].c->id;
                b.complete = true;
                b.present_ids = ids;
                b.n_present = inv->nlive;
            }
        }
        int rc = o->emit(o->data, &b);
        inv->st.envelopes++;
        if (rc == 0) {
            for (size_t i = 0; i < k; i++)
                *items[start + i].ok = true;
            if (last) o->host_ok = o->complete_ok = true;
        } else {
            inv->st.emit_failures++;
            if (!o->first_err) o->first_err = rc;
        }
        start += k;
    } while (start < n);
    free(ids);
    free(arr);
}

static int inv_sent_cmp(const void *a, const void *b)
{
    return strcmp(((const struct inv_sent *)a)->id, ((const struct inv_sent *)b)->id);
}

/* The new record of what was handed out: taken now, or as before. */
static void inv_commit(struct ag_inventory *inv, const struct cm_container_inv *gone, size_t ngone,
                       const bool *gone_ok)
{
    struct inv_sent *next = cm_xcalloc(inv->nlive + ngone + 1, sizeof *next);
    size_t k = 0;
    for (size_t i = 0; i < inv->nlive; i++) {
        const struct inv_live *l = &inv->live[i];
        const struct inv_sent *old = inv_sent_find(inv, l->c->id);
        if (l->ok) {
            snprintf(next[k].id, sizeof next[k].id, "%s", l->c->id);
            next[k].runtime = l->c->runtime;
            next[k++].hash = l->hash;
        } else if (old) {
            next[k++] = *old;
        }
    }
    for (size_t i = 0; i < ngone; i++) {
        const struct inv_sent *old = inv_sent_find(inv, gone[i].id);
        if (!gone_ok[i] && old) next[k++] = *old; /* still to be marked gone */
    }
    qsort(next, k, sizeof *next, inv_sent_cmp);
    free(inv->sent);
    inv->sent = next;
    inv->nsent = k;
}

/* ---- the pass ---- */

static bool inv_is_full(struct ag_inventory *inv, int64_t mono)
{
    return inv->force_full || !inv->first_done || inv->full_interval_ms == 0 ||
           mono - inv->last_full_mono >= (int64_t)inv->full_interval_ms * 1000000;
}

/* live[] complete with processes, sockets, encodings and hashes. */
static void inv_collect(struct ag_inventory *inv, const struct cm_sample *samples, size_t n)
{
    size_t need = 2 * n + inv->nents + inv->nsent + 1;
    if (inv->extracap < need) { /* before anything points into extra[] */
        inv->extracap = need;
        inv->extra = cm_xrealloc(inv->extra, need * sizeof *inv->extra);
    }
    inv_join(inv, samples, n);
    struct cm_container_inv **cs = cm_xcalloc(inv->nlive ? inv->nlive : 1, sizeof *cs);
    for (size_t i = 0; i < inv->nlive; i++)
        cs[i] = inv->live[i].c;
    int rc = ag_inv_proc_scan(inv->proc, cs, inv->nlive);
    unsigned sup = 0;
    if (rc < 0 && cm_ratelimit_allow(&inv->rl_enc, 10, AG_INV_WARN_MS, &sup))
        cm_warn(AG_INV_MOD, "cannot list processes", "err=\"%s\" suppressed=%u", cm_err_str(rc),
                sup);
    free(cs);
    for (size_t i = 0; i < inv->nlive; i++)
        inv_encode(inv, &inv->live[i]);
}

int ag_inventory_pass(struct ag_inventory *inv, const struct cm_sample *samples, size_t n,
                      int64_t now_ns, ag_inventory_emit_cb emit, void *data)
{
    int64_t t0 = cm_time_mono_ns();
    bool full = inv_is_full(inv, t0);
    inv_pass_reset(inv);
    inv->st.parsed = 0;
    inv_refresh(inv);
    inv_collect(inv, samples, n);

    size_t gone0 = inv->nextra, ngone = inv_gone(inv), nitems = 0, errors = 0;
    struct inv_item *items = cm_xcalloc(inv->nlive + ngone + 1, sizeof *items);
    bool *gone_ok = cm_xcalloc(ngone + 1, sizeof *gone_ok);
    for (size_t i = 0; i < inv->nlive; i++) {
        struct inv_live *l = &inv->live[i];
        const struct inv_sent *s = inv_sent_find(inv, l->c->id);
        errors += l->c->error != NULL;
        if (full || !s || s->hash != l->hash)
            items[nitems++] = (struct inv_item){l->c, l->len, &l->ok};
    }
    size_t nsend = nitems;
    for (size_t i = 0; i < ngone; i++)
        items[nitems++] = (struct inv_item){&inv->extra[gone0 + i], 64, &gone_ok[i]};

    struct cm_host_inv host;
    uint64_t host_hash = 0;
    struct inv_out o = {.emit = emit, .data = data, .now_ns = now_ns, .full = full};
    if (inv_host(inv, full, &host, &host_hash)) o.host = &host;
    if (nitems > 0 || o.host || full) inv_emit(inv, items, nitems, &o);
    inv_commit(inv, &inv->extra[gone0], ngone, gone_ok);
    if (o.host) {
        inv->host_known = o.host_ok;
        inv->host_hash = host_hash;
    }
    inv->force_full = o.first_err != 0 || (full && !o.complete_ok);
    if (full && o.complete_ok) inv->last_full_mono = t0;
    inv->first_done = true;

    inv->st.passes++;
    inv->st.full_passes += full;
    inv->st.containers = inv->nlive;
    inv->st.sent = nsend;
    inv->st.gone = ngone;
    inv->st.errors = errors;
    inv->st.host_sent = o.host && o.host_ok;
    ag_inv_proc_netns_counts(inv->proc, &inv->st.netns_diag, &inv->st.netns_files);
    inv->st.last_pass_ns = cm_time_mono_ns() - t0;
    cm_debug(AG_INV_MOD, "pass", "containers=%zu sent=%zu gone=%zu parsed=%zu full=%d us=%lld",
             inv->nlive, nsend, ngone, inv->st.parsed, full,
             (long long)(inv->st.last_pass_ns / 1000));
    cm_host_inv_free(&host);
    free(items);
    free(gone_ok);
    return o.first_err;
}
