/* wire.c - the boxwatch wire codec: validated C structs <-> protobuf bytes.
 *
 * Decoding is: size cap, protobuf-c unpack under an allocation budget, a
 * canonical-size check, copy into the C structs (string capacity and sample
 * count checked before anything is copied or allocated), then the same
 * validation the encoder runs before packing. Encoding is: validate, map to
 * the generated structs (borrowing the caller's strings), pack.
 *
 * The inventory body lives in wire_inventory.c, the log event bodies and
 * the Policy in wire_events.c; what the files share (failure reporting, the
 * unpack path, packing) is in wire_int.h.
 *
 * It does not log, does not know about sockets, spools or databases, and does
 * not judge sequence order across messages (the collector's ingest does). */
#include "proto/wire.h"

#include "common/alloc.h"
#include "common/err.h"
#include "common/timeutil.h"
#include "proto/boxwatch.pb-c.h"
#include "proto/wire_int.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2200-01-01T00:00:00Z: anything later is a broken clock or a forged value. */
#define WIRE_TS_MAX (INT64_C(7258118400) * CM_NS_PER_SEC)
/* What protobuf-c may allocate while unpacking one message. A legitimate
 * 20000-sample batch needs ~25 MiB; a hostile 8 MiB message of tiny repeated
 * or unknown fields could otherwise expand to hundreds of MiB. */
#define WIRE_UNPACK_BUDGET (64u * 1024 * 1024)

typedef Boxwatch__V1__ContainerSample PbSample;

/* Where each enum cm_field lives in the generated sample: its has_ flag and
 * its value. Used by encode and decode alike; cm_wire_fields_match_proto()
 * checks it against the descriptor's field names. */
struct wire_field_map {
    size_t has_off;
    size_t val_off;
};

#define WIRE_F(f, name) [f] = {offsetof(PbSample, has_##name), offsetof(PbSample, name)}
static const struct wire_field_map wire_fields[CM_F__COUNT] = {
    WIRE_F(CM_F_CPU_USAGE_NS, cpu_usage_ns),
    WIRE_F(CM_F_CPU_USER_NS, cpu_user_ns),
    WIRE_F(CM_F_CPU_SYSTEM_NS, cpu_system_ns),
    WIRE_F(CM_F_CPU_PERIODS, cpu_periods),
    WIRE_F(CM_F_CPU_THROTTLED_PERIODS, cpu_throttled_periods),
    WIRE_F(CM_F_CPU_THROTTLED_NS, cpu_throttled_ns),
    WIRE_F(CM_F_MEM_USAGE_BYTES, mem_usage_bytes),
    WIRE_F(CM_F_MEM_WORKING_SET_BYTES, mem_working_set_bytes),
    WIRE_F(CM_F_MEM_LIMIT_BYTES, mem_limit_bytes),
    WIRE_F(CM_F_MEM_RSS_BYTES, mem_rss_bytes),
    WIRE_F(CM_F_MEM_CACHE_BYTES, mem_cache_bytes),
    WIRE_F(CM_F_MEM_SWAP_BYTES, mem_swap_bytes),
    WIRE_F(CM_F_OOM_KILLS, oom_kills),
    WIRE_F(CM_F_BLK_READ_BYTES, blk_read_bytes),
    WIRE_F(CM_F_BLK_WRITE_BYTES, blk_write_bytes),
    WIRE_F(CM_F_BLK_READ_OPS, blk_read_ops),
    WIRE_F(CM_F_BLK_WRITE_OPS, blk_write_ops),
    WIRE_F(CM_F_PIDS_CURRENT, pids_current),
    WIRE_F(CM_F_PIDS_LIMIT, pids_limit),
    WIRE_F(CM_F_NET_RX_BYTES, net_rx_bytes),
    WIRE_F(CM_F_NET_TX_BYTES, net_tx_bytes),
    WIRE_F(CM_F_NET_RX_PACKETS, net_rx_packets),
    WIRE_F(CM_F_NET_TX_PACKETS, net_tx_packets),
};
#undef WIRE_F

static const char *const wire_reason_names[CM_WIRE_REASON__COUNT] = {
    "ok", "too_big", "malformed", "bad_version", "no_body", "bad_field", "too_many",
};

const char *cm_wire_reason_name(enum cm_wire_reason r)
{
    return (unsigned)r < CM_WIRE_REASON__COUNT ? wire_reason_names[r] : "unknown";
}

/* ---- failure reporting ------------------------------------------------ */

int cm_wire_fail(struct cm_wire_ctx *c, enum cm_wire_reason r, const char *fmt, ...)
{
    c->reason = r;
    if (c->why && c->whylen) {
        int n = !c->item_name  ? 0
                : c->item >= 0 ? snprintf(c->why, c->whylen, "%s[%ld].", c->item_name, c->item)
                               : snprintf(c->why, c->whylen, "%s.", c->item_name);
        size_t off = n > 0 && (size_t)n < c->whylen ? (size_t)n : 0;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->why + off, c->whylen - off, fmt, ap);
        va_end(ap);
    }
    switch (r) {
    case CM_WIRE_TOO_BIG:
    case CM_WIRE_TOO_MANY:
        return CM_ETOOBIG;
    case CM_WIRE_MALFORMED:
        return CM_EPARSE;
    default:
        return CM_EPROTO;
    }
}

/* ---- field checks (shared by encode and decode) ------------------------ */

int cm_wire_check_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
        if (c == 0) return CM_EPARSE;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* overlong */
            hi = c == 0xED ? 0x9F : 0xBF; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            lo = c == 0xF0 ? 0x90 : 0x80; /* overlong */
            hi = c == 0xF4 ? 0x8F : 0xBF; /* above U+10FFFF */
        } else {
            return CM_EPARSE; /* continuation byte, C0/C1 overlong, F5.. */
        }
        if (len - i - 1 < n || p[i + 1] < lo || p[i + 1] > hi) return CM_EPARSE;
        for (size_t k = 2; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return CM_EPARSE;
        }
        i += n + 1;
    }
    return 0;
}

static bool wire_id_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == ':' || ch == '@' || ch == '-';
}

int cm_wire_check_container_id(const char *s)
{
    if (!s) return CM_EPROTO;
    size_t len = strnlen(s, CM_CONTAINER_ID_MAX + 1);
    if (len == 0 || len > CM_CONTAINER_ID_MAX) return CM_EPROTO;
    for (size_t i = 0; i < len; i++) {
        if (!wire_id_char(s[i])) return CM_EPROTO;
    }
    return 0;
}

/* A text field held in a char[size]: NUL-terminated inside it, valid UTF-8,
 * no control characters (they end up in logs and terminals). */
static int wire_check_text(struct cm_wire_ctx *c, const char *what, const char *s, size_t size,
                           bool required)
{
    size_t len = strnlen(s, size);
    if (len == size)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "%s: longer than %zu bytes", what, size - 1);
    if (required && len == 0) return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "%s: empty", what);
    if (cm_wire_check_utf8(s, len) < 0)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "%s: not valid UTF-8", what);
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "%s: control character", what);
    }
    return 0;
}

int cm_wire_check_ts(struct cm_wire_ctx *c, const char *what, int64_t ns)
{
    if (ns <= 0 || ns >= WIRE_TS_MAX)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "%s: %lld is not a time between 1970 and 2200",
                            what, (long long)ns);
    return 0;
}

int cm_wire_check_enum(struct cm_wire_ctx *c, const char *what, unsigned v, unsigned count)
{
    if (v >= count) return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "%s: unknown value %u", what, v);
    return 0;
}

static int wire_check_count(struct cm_wire_ctx *c, size_t n)
{
    if (n > CM_WIRE_MAX_SAMPLES)
        return cm_wire_fail(c, CM_WIRE_TOO_MANY, "metrics: %zu samples, at most %d", n,
                            CM_WIRE_MAX_SAMPLES);
    return 0;
}

static int wire_check_sample_fields(struct cm_wire_ctx *c, const struct cm_sample *s)
{
    int rc;
    if (strnlen(s->container_id, sizeof s->container_id) == sizeof s->container_id ||
        cm_wire_check_container_id(s->container_id) < 0)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD,
                            "container_id: not 1..%d bytes of [A-Za-z0-9_.:@-]",
                            CM_CONTAINER_ID_MAX);
    if ((rc = wire_check_text(c, "cgroup_path", s->cgroup_path, sizeof s->cgroup_path, false)) < 0)
        return rc;
    if (s->cgroup_path[0] && s->cgroup_path[0] != '/')
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "cgroup_path: does not start with '/'");
    if ((rc = cm_wire_check_enum(c, "runtime", (unsigned)s->runtime, CM_RT__COUNT)) < 0) return rc;
    if ((rc = cm_wire_check_ts(c, "ts", s->ts_ns)) < 0) return rc;
    if (s->present >> CM_F__COUNT)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "present: unknown field bits");
    return 0;
}

static int wire_check_sample(struct cm_wire_ctx *c, const struct cm_sample *s, size_t i)
{
    c->item_name = "samples";
    c->item = (long)i;
    int rc = wire_check_sample_fields(c, s);
    c->item_name = NULL;
    c->item = -1;
    return rc;
}

static int wire_check_hello(struct cm_wire_ctx *c, const struct cm_hello *h)
{
    int rc;
    if ((rc = wire_check_text(c, "hello.hostname", h->hostname, sizeof h->hostname, true)) < 0 ||
        (rc = wire_check_text(c, "hello.machine_id", h->machine_id, sizeof h->machine_id, false)) <
            0 ||
        (rc = wire_check_text(c, "hello.kernel", h->kernel, sizeof h->kernel, false)) < 0 ||
        (rc = wire_check_text(c, "hello.agent_version", h->agent_version, sizeof h->agent_version,
                              true)) < 0 ||
        (rc = cm_wire_check_enum(c, "hello.cgroup_mode", (unsigned)h->cgroup_mode,
                                 CM_CGROUP__COUNT)) < 0)
        return rc;
    if (h->boot_ns != 0) /* 0 = not sent */
        return cm_wire_check_ts(c, "hello.boot", h->boot_ns);
    return 0;
}

/* Version, seq, send time and body presence: checked before the body is
 * even looked at, so an old agent gets bad_version, not a field complaint. */
static int wire_check_head(struct cm_wire_ctx *c, const struct cm_envelope *env)
{
    if (env->version != CM_WIRE_VERSION)
        return cm_wire_fail(c, CM_WIRE_BAD_VERSION, "version %u, expected %d", env->version,
                            CM_WIRE_VERSION);
    if (env->kind == CM_BODY_NONE) return cm_wire_fail(c, CM_WIRE_NO_BODY, "envelope has no body");
    if ((unsigned)env->kind > CM_BODY_POLICY_ACK)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "body: unknown kind %u", (unsigned)env->kind);
    if (env->seq == 0) return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "seq: must be >= 1");
    return cm_wire_check_ts(c, "sent", env->sent_ns);
}

static int wire_check_body(struct cm_wire_ctx *c, const struct cm_envelope *env)
{
    int rc = 0;
    switch (env->kind) {
    case CM_BODY_HELLO:
        return wire_check_hello(c, &env->body.hello);
    case CM_BODY_METRICS:
        if ((rc = cm_wire_check_ts(c, "metrics.collected", env->body.metrics.collected_ns)) < 0 ||
            (rc = wire_check_count(c, env->body.metrics.n)) < 0)
            return rc;
        if (env->body.metrics.n && !env->body.metrics.samples)
            return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "metrics: samples missing");
        for (size_t i = 0; i < env->body.metrics.n && rc == 0; i++)
            rc = wire_check_sample(c, &env->body.metrics.samples[i], i);
        return rc;
    case CM_BODY_INVENTORY:
        return cm_wire_check_inventory(c, &env->body.inventory);
    case CM_BODY_EVENTS:
        return cm_wire_check_events(c, &env->body.events);
    case CM_BODY_POLICY_ACK:
        return cm_wire_check_policy_ack(c, &env->body.policy_ack);
    default:
        return 0; /* heartbeat: plain counters, absent = 0 */
    }
}

static int wire_check_ack(struct cm_wire_ctx *c, const struct cm_ack *a)
{
    int rc;
    if (a->seq == 0) return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "ack.seq: must be >= 1");
    if ((rc = cm_wire_check_enum(c, "ack.status", (unsigned)a->status, CM_ACK_REJECTED + 1)) < 0)
        return rc;
    return wire_check_text(c, "ack.reason", a->reason, sizeof a->reason, false);
}

static int wire_check_server(struct cm_wire_ctx *c, const struct cm_server_msg *m)
{
    switch (m->kind) {
    case CM_SERVER_NONE:
        return cm_wire_fail(c, CM_WIRE_NO_BODY, "server message has no body");
    case CM_SERVER_ACK:
        return wire_check_ack(c, &m->body.ack);
    case CM_SERVER_POLICY:
        return cm_wire_check_policy(c, &m->body.policy);
    default:
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "body: unknown kind %u", (unsigned)m->kind);
    }
}

/* ---- unpacking under a budget ----------------------------------------- */

struct wire_budget {
    size_t used;
    bool exceeded;
};

static void *wire_budget_alloc(void *data, size_t size)
{
    struct wire_budget *b = data;
    if (size > WIRE_UNPACK_BUDGET - b->used) {
        b->exceeded = true;
        return NULL;
    }
    b->used += size;
    return malloc(size);
}

static void wire_budget_free(void *data, void *p)
{
    (void)data;
    free(p);
}

/* Common front of both decoders: cap, unpack, canonical size. protobuf-c cuts
 * a string at an embedded NUL without telling; re-measuring the unpacked
 * message catches that (and duplicated or non-minimal fields). */
static int wire_unpack(struct cm_wire_ctx *c, const ProtobufCMessageDescriptor *desc,
                       const uint8_t *buf, size_t len, ProtobufCAllocator *a,
                       ProtobufCMessage **out)
{
    if (len > CM_WIRE_MAX_MESSAGE)
        return cm_wire_fail(c, CM_WIRE_TOO_BIG, "message of %zu bytes, at most %u", len,
                            CM_WIRE_MAX_MESSAGE);
    struct wire_budget *b = a->allocator_data;
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, a, len, buf);
    if (!m && b->exceeded)
        return cm_wire_fail(c, CM_WIRE_TOO_BIG, "message expands past %u bytes when decoded",
                            WIRE_UNPACK_BUDGET);
    if (!m) return cm_wire_fail(c, CM_WIRE_MALFORMED, "not a valid %s protobuf", desc->short_name);
    *out = m;
    if (protobuf_c_message_get_packed_size(m) != len)
        return cm_wire_fail(c, CM_WIRE_MALFORMED,
                            "non-canonical encoding (NUL inside a string, or repeated fields)");
    return 0;
}

/* ---- protobuf -> C ---------------------------------------------------- */

/* NULL (absent optional) becomes "". */
int cm_wire_copy_str(struct cm_wire_ctx *c, const char *what, char *dst, size_t size,
                     const char *src)
{
    size_t len = src ? strnlen(src, size) : 0;
    if (len == size)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "%s: longer than %zu bytes", what, size - 1);
    memcpy(dst, src ? src : "", len);
    dst[len] = '\0';
    return 0;
}

static int wire_sample_from_pb(struct cm_wire_ctx *c, const PbSample *p, struct cm_sample *s,
                               size_t i)
{
    int rc;
    c->item_name = "samples";
    c->item = (long)i;
    if ((rc = cm_wire_copy_str(c, "container_id", s->container_id, sizeof s->container_id,
                               p->container_id)) < 0 ||
        (rc = cm_wire_copy_str(c, "cgroup_path", s->cgroup_path, sizeof s->cgroup_path,
                               p->cgroup_path)) < 0)
        return rc;
    c->item_name = NULL;
    c->item = -1;
    /* Out-of-range ints are kept so that the shared check rejects them. */
    s->runtime = p->has_runtime ? (enum cm_runtime)p->runtime : CM_RT_UNKNOWN;
    s->ts_ns = p->ts_unix_ns;
    for (int f = 0; f < CM_F__COUNT; f++) {
        const char *base = (const char *)p;
        if (*(const protobuf_c_boolean *)(base + wire_fields[f].has_off))
            cm_sample_set(s, (enum cm_field)f, *(const uint64_t *)(base + wire_fields[f].val_off));
    }
    return 0;
}

static int wire_hello_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__Hello *p,
                              struct cm_hello *h)
{
    int rc;
    if ((rc = cm_wire_copy_str(c, "hello.hostname", h->hostname, sizeof h->hostname, p->hostname)) <
            0 ||
        (rc = cm_wire_copy_str(c, "hello.machine_id", h->machine_id, sizeof h->machine_id,
                               p->machine_id)) < 0 ||
        (rc = cm_wire_copy_str(c, "hello.kernel", h->kernel, sizeof h->kernel, p->kernel)) < 0 ||
        (rc = cm_wire_copy_str(c, "hello.agent_version", h->agent_version, sizeof h->agent_version,
                               p->agent_version)) < 0)
        return rc;
    h->cgroup_mode = (enum cm_cgroup_mode)p->cgroup_mode;
    /* In the C struct 0 means "not sent", so a sent 0 cannot be represented. */
    if (p->has_boot_unix_ns && p->boot_unix_ns == 0)
        return cm_wire_fail(c, CM_WIRE_BAD_FIELD, "hello.boot: 0 is not a time");
    h->boot_ns = p->has_boot_unix_ns ? p->boot_unix_ns : 0;
    return 0;
}

static int wire_metrics_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__MetricBatch *p,
                                struct cm_metric_batch *m)
{
    int rc = wire_check_count(c, p->n_samples);
    if (rc < 0) return rc;
    m->collected_ns = p->collected_unix_ns;
    if (p->n_samples == 0) return 0;
    m->samples = cm_xcalloc(p->n_samples, sizeof *m->samples);
    m->n = p->n_samples;
    for (size_t i = 0; i < p->n_samples && rc == 0; i++)
        rc = wire_sample_from_pb(c, p->samples[i], &m->samples[i], i);
    return rc;
}

static void wire_heartbeat_from_pb(const Boxwatch__V1__Heartbeat *p, struct cm_heartbeat *h)
{
    h->containers = p->has_containers ? p->containers : 0;
    h->spool_dropped_envelopes = p->has_spool_dropped_envelopes ? p->spool_dropped_envelopes : 0;
    h->spool_dropped_samples = p->has_spool_dropped_samples ? p->spool_dropped_samples : 0;
    h->spool_bytes = p->has_spool_bytes ? p->spool_bytes : 0;
    h->unacked = p->has_unacked ? p->unacked : 0;
    h->envelopes_total = p->has_envelopes_total ? p->envelopes_total : 0;
    h->samples_total = p->has_samples_total ? p->samples_total : 0;
    h->spool_floor_seq = p->has_spool_floor_seq ? p->spool_floor_seq : 0;
}

static enum cm_body_kind wire_kind_from_pb(Boxwatch__V1__Envelope__BodyCase bc)
{
    switch (bc) {
    case BOXWATCH__V1__ENVELOPE__BODY_HELLO:
        return CM_BODY_HELLO;
    case BOXWATCH__V1__ENVELOPE__BODY_METRICS:
        return CM_BODY_METRICS;
    case BOXWATCH__V1__ENVELOPE__BODY_HEARTBEAT:
        return CM_BODY_HEARTBEAT;
    case BOXWATCH__V1__ENVELOPE__BODY_INVENTORY:
        return CM_BODY_INVENTORY;
    case BOXWATCH__V1__ENVELOPE__BODY_EVENTS:
        return CM_BODY_EVENTS;
    case BOXWATCH__V1__ENVELOPE__BODY_POLICY_ACK:
        return CM_BODY_POLICY_ACK;
    default:
        return CM_BODY_NONE;
    }
}

static int wire_envelope_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__Envelope *p,
                                 struct cm_envelope *env)
{
    env->version = p->version;
    env->seq = p->seq;
    env->sent_ns = p->sent_unix_ns;
    env->kind = wire_kind_from_pb(p->body_case);
    int rc = wire_check_head(c, env);
    if (rc < 0) return rc;
    switch (env->kind) {
    case CM_BODY_HELLO:
        rc = wire_hello_from_pb(c, p->hello, &env->body.hello);
        break;
    case CM_BODY_METRICS:
        rc = wire_metrics_from_pb(c, p->metrics, &env->body.metrics);
        break;
    case CM_BODY_INVENTORY:
        rc = cm_wire_inventory_from_pb(c, p->inventory, &env->body.inventory);
        break;
    case CM_BODY_EVENTS:
        rc = cm_wire_events_from_pb(c, p->events, &env->body.events);
        break;
    case CM_BODY_POLICY_ACK:
        rc = cm_wire_policy_ack_from_pb(c, p->policy_ack, &env->body.policy_ack);
        break;
    default:
        wire_heartbeat_from_pb(p->heartbeat, &env->body.heartbeat);
        break;
    }
    return rc < 0 ? rc : wire_check_body(c, env);
}

void cm_wire_envelope_close(struct cm_envelope *env)
{
    if (!env) return;
    if (env->kind == CM_BODY_METRICS) free(env->body.metrics.samples);
    if (env->kind == CM_BODY_INVENTORY) cm_inventory_batch_free(&env->body.inventory);
    if (env->kind == CM_BODY_EVENTS) cm_event_batch_free(&env->body.events);
    memset(env, 0, sizeof *env);
}

static int wire_server_from_pb(struct cm_wire_ctx *c, const ProtobufCMessage *m, void *out)
{
    const Boxwatch__V1__ServerMessage *p = (const Boxwatch__V1__ServerMessage *)m;
    struct cm_server_msg *msg = out;
    int rc = 0;
    if (p->body_case == BOXWATCH__V1__SERVER_MESSAGE__BODY_ACK) {
        msg->kind = CM_SERVER_ACK;
        msg->body.ack.seq = p->ack->seq;
        msg->body.ack.status = (enum cm_ack_status)p->ack->status;
        rc = cm_wire_copy_str(c, "ack.reason", msg->body.ack.reason, sizeof msg->body.ack.reason,
                              p->ack->reason);
    } else if (p->body_case == BOXWATCH__V1__SERVER_MESSAGE__BODY_POLICY) {
        msg->kind = CM_SERVER_POLICY;
        rc = cm_wire_policy_from_pb(c, p->policy, &msg->body.policy);
    }
    return rc < 0 ? rc : wire_check_server(c, msg);
}

static int wire_envelope_from_msg(struct cm_wire_ctx *c, const ProtobufCMessage *m, void *out)
{
    return wire_envelope_from_pb(c, (const Boxwatch__V1__Envelope *)m, out);
}

static void wire_envelope_reset(void *out)
{
    cm_wire_envelope_close(out);
}

void cm_wire_server_close(struct cm_server_msg *msg)
{
    if (!msg) return;
    if (msg->kind == CM_SERVER_POLICY) cm_policy_free(&msg->body.policy);
    memset(msg, 0, sizeof *msg);
}

static void wire_server_reset(void *out)
{
    cm_wire_server_close(out);
}

/* Both decoders: unpack, convert and check into the zeroed `out`, release the
 * protobuf (protobuf_c_message_free_unpacked is what every generated
 * *__free_unpacked calls, with the same allocator), and on failure leave
 * `out` zeroed and owning nothing. */
int cm_wire_decode_msg(const ProtobufCMessageDescriptor *desc,
                       int (*from_pb)(struct cm_wire_ctx *, const ProtobufCMessage *, void *),
                       void (*reset)(void *), void *out, const uint8_t *buf, size_t len,
                       enum cm_wire_reason *reason, char *why, size_t whylen)
{
    struct cm_wire_ctx c = CM_WIRE_CTX_INIT(why, whylen);
    struct wire_budget budget = {0, false};
    ProtobufCAllocator a = {wire_budget_alloc, wire_budget_free, &budget};
    ProtobufCMessage *m = NULL;
    int rc = wire_unpack(&c, desc, buf, len, &a, &m);
    if (rc == 0) rc = from_pb(&c, m, out);
    if (m) protobuf_c_message_free_unpacked(m, &a);
    if (rc < 0) reset(out);
    if (reason) *reason = c.reason;
    if (rc == 0 && why && whylen) why[0] = '\0';
    return rc;
}

int cm_wire_decode_envelope(const uint8_t *buf, size_t len, struct cm_envelope *env,
                            enum cm_wire_reason *reason, char *why, size_t whylen)
{
    memset(env, 0, sizeof *env);
    return cm_wire_decode_msg(&boxwatch__v1__envelope__descriptor, wire_envelope_from_msg,
                              wire_envelope_reset, env, buf, len, reason, why, whylen);
}

int cm_wire_decode_server(const uint8_t *buf, size_t len, struct cm_server_msg *msg,
                          enum cm_wire_reason *reason, char *why, size_t whylen)
{
    memset(msg, 0, sizeof *msg);
    return cm_wire_decode_msg(&boxwatch__v1__server_message__descriptor, wire_server_from_pb,
                              wire_server_reset, msg, buf, len, reason, why, whylen);
}

/* ---- C -> protobuf ---------------------------------------------------- */

/* protobuf-c wants char *; it only reads them while packing. */
static char *wire_opt_str(const char *s)
{
    return s[0] ? (char *)s : NULL;
}

static void wire_sample_to_pb(const struct cm_sample *s, PbSample *p)
{
    boxwatch__v1__container_sample__init(p);
    p->container_id = (char *)s->container_id;
    p->cgroup_path = wire_opt_str(s->cgroup_path);
    p->has_runtime = s->runtime != CM_RT_UNKNOWN;
    p->runtime = (Boxwatch__V1__Runtime)s->runtime;
    p->ts_unix_ns = s->ts_ns;
    for (int f = 0; f < CM_F__COUNT; f++) {
        if (!cm_sample_has(s, (enum cm_field)f)) continue;
        char *base = (char *)p;
        *(protobuf_c_boolean *)(base + wire_fields[f].has_off) = 1;
        *(uint64_t *)(base + wire_fields[f].val_off) = s->v[f];
    }
}

static void wire_hello_to_pb(const struct cm_hello *h, Boxwatch__V1__Hello *p)
{
    p->hostname = (char *)h->hostname;
    p->machine_id = wire_opt_str(h->machine_id);
    p->kernel = wire_opt_str(h->kernel);
    p->cgroup_mode = (Boxwatch__V1__CgroupMode)h->cgroup_mode;
    p->agent_version = (char *)h->agent_version;
    p->has_boot_unix_ns = h->boot_ns != 0;
    p->boot_unix_ns = h->boot_ns;
}

static void wire_heartbeat_to_pb(const struct cm_heartbeat *h, Boxwatch__V1__Heartbeat *p)
{
    p->has_containers = p->has_spool_dropped_envelopes = p->has_spool_dropped_samples = 1;
    p->has_spool_bytes = p->has_unacked = p->has_envelopes_total = p->has_samples_total = 1;
    p->has_spool_floor_seq = h->spool_floor_seq != 0;
    p->containers = h->containers;
    p->spool_dropped_envelopes = h->spool_dropped_envelopes;
    p->spool_dropped_samples = h->spool_dropped_samples;
    p->spool_bytes = h->spool_bytes;
    p->unacked = h->unacked;
    p->envelopes_total = h->envelopes_total;
    p->samples_total = h->samples_total;
    p->spool_floor_seq = h->spool_floor_seq;
}

int cm_wire_pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > CM_WIRE_MAX_MESSAGE) return CM_ETOOBIG;
    uint8_t *buf = cm_xmalloc(n ? n : 1);
    protobuf_c_message_pack(m, buf);
    *out = buf;
    *out_len = n;
    return 0;
}

void *cm_wire_arena_alloc(struct cm_wire_arena *a, size_t count, size_t size)
{
    if (count == 0) return NULL;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->p = cm_xrealloc(a->p, a->cap * sizeof *a->p);
    }
    void *p = cm_xcalloc(count, size);
    a->p[a->n++] = p;
    return p;
}

void cm_wire_arena_free(struct cm_wire_arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->p[i]);
    free(a->p);
    memset(a, 0, sizeof *a);
}

static void wire_metrics_to_pb(struct cm_wire_arena *a, const struct cm_metric_batch *m,
                               Boxwatch__V1__MetricBatch *mb)
{
    PbSample *samples = cm_wire_arena_alloc(a, m->n, sizeof *samples);
    PbSample **ptrs = cm_wire_arena_alloc(a, m->n, sizeof *ptrs);
    for (size_t i = 0; i < m->n; i++) {
        wire_sample_to_pb(&m->samples[i], &samples[i]);
        ptrs[i] = &samples[i];
    }
    mb->collected_unix_ns = m->collected_ns;
    mb->n_samples = m->n;
    mb->samples = ptrs;
}

int cm_wire_encode_envelope(const struct cm_envelope *env, uint8_t **out, size_t *out_len)
{
    struct cm_wire_ctx c = CM_WIRE_CTX_INIT(NULL, 0);
    struct cm_wire_arena arena = {0};
    Boxwatch__V1__Envelope p = BOXWATCH__V1__ENVELOPE__INIT;
    Boxwatch__V1__Hello hello = BOXWATCH__V1__HELLO__INIT;
    Boxwatch__V1__MetricBatch mb = BOXWATCH__V1__METRIC_BATCH__INIT;
    Boxwatch__V1__Heartbeat hb = BOXWATCH__V1__HEARTBEAT__INIT;
    Boxwatch__V1__InventoryBatch ib = BOXWATCH__V1__INVENTORY_BATCH__INIT;
    int rc = wire_check_head(&c, env);
    if (rc == 0) rc = wire_check_body(&c, env);
    if (rc < 0) return rc;
    p.version = env->version;
    p.seq = env->seq;
    p.sent_unix_ns = env->sent_ns;
    if (env->kind == CM_BODY_HELLO) {
        wire_hello_to_pb(&env->body.hello, &hello);
        p.body_case = BOXWATCH__V1__ENVELOPE__BODY_HELLO;
        p.hello = &hello;
    } else if (env->kind == CM_BODY_METRICS) {
        wire_metrics_to_pb(&arena, &env->body.metrics, &mb);
        p.body_case = BOXWATCH__V1__ENVELOPE__BODY_METRICS;
        p.metrics = &mb;
    } else if (env->kind == CM_BODY_INVENTORY) {
        cm_wire_inventory_to_pb(&arena, &env->body.inventory, &ib);
        p.body_case = BOXWATCH__V1__ENVELOPE__BODY_INVENTORY;
        p.inventory = &ib;
    } else if (env->kind == CM_BODY_EVENTS) {
        p.body_case = BOXWATCH__V1__ENVELOPE__BODY_EVENTS;
        p.events = cm_wire_events_to_pb(&arena, &env->body.events);
    } else if (env->kind == CM_BODY_POLICY_ACK) {
        p.body_case = BOXWATCH__V1__ENVELOPE__BODY_POLICY_ACK;
        p.policy_ack = cm_wire_policy_ack_to_pb(&arena, &env->body.policy_ack);
    } else {
        wire_heartbeat_to_pb(&env->body.heartbeat, &hb);
        p.body_case = BOXWATCH__V1__ENVELOPE__BODY_HEARTBEAT;
        p.heartbeat = &hb;
    }
    rc = cm_wire_pack(&p.base, out, out_len);
    cm_wire_arena_free(&arena);
    return rc;
}

int cm_wire_encode_server(const struct cm_server_msg *msg, uint8_t **out, size_t *out_len)
{
    struct cm_wire_ctx c = CM_WIRE_CTX_INIT(NULL, 0);
    struct cm_wire_arena arena = {0};
    Boxwatch__V1__ServerMessage p = BOXWATCH__V1__SERVER_MESSAGE__INIT;
    Boxwatch__V1__Ack ack = BOXWATCH__V1__ACK__INIT;
    int rc = wire_check_server(&c, msg);
    if (rc < 0) return rc;
    if (msg->kind == CM_SERVER_POLICY) {
        p.body_case = BOXWATCH__V1__SERVER_MESSAGE__BODY_POLICY;
        p.policy = cm_wire_policy_to_pb(&arena, &msg->body.policy);
    } else {
        ack.seq = msg->body.ack.seq;
        ack.status = (Boxwatch__V1__Ack__Status)msg->body.ack.status;
        ack.reason = wire_opt_str(msg->body.ack.reason);
        p.body_case = BOXWATCH__V1__SERVER_MESSAGE__BODY_ACK;
        p.ack = &ack;
    }
    rc = cm_wire_pack(&p.base, out, out_len);
    cm_wire_arena_free(&arena);
    return rc;
}

bool cm_wire_fields_match_proto(void)
{
    const ProtobufCMessageDescriptor *d = &boxwatch__v1__container_sample__descriptor;
    for (int f = 0; f < CM_F__COUNT; f++) {
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field_by_name(d, cm_fields[f].name);
        if (!fd || fd->type != PROTOBUF_C_TYPE_UINT64 || fd->offset != wire_fields[f].val_off ||
            fd->quantifier_offset != wire_fields[f].has_off)
            return false;
    }
    return true;
}

/* For answering a rejected envelope: the seq of anything that unpacks as an
 * Envelope, before validation (a bad version or field still has a seq the
 * agent can match). Added for the collector's server. */
int cm_wire_peek_seq(const uint8_t *buf, size_t len, uint64_t *seq)
{
    struct cm_wire_ctx c = CM_WIRE_CTX_INIT(NULL, 0);
    struct wire_budget budget = {0, false};
    ProtobufCAllocator a = {wire_budget_alloc, wire_budget_free, &budget};
    ProtobufCMessage *m = NULL;
    int rc = wire_unpack(&c, &boxwatch__v1__envelope__descriptor, buf, len, &a, &m);
    if (rc == 0 && ((const Boxwatch__V1__Envelope *)m)->seq == 0) rc = CM_EPARSE;
    if (rc == 0) *seq = ((const Boxwatch__V1__Envelope *)m)->seq;
    if (m) protobuf_c_message_free_unpacked(m, &a);
    return rc;
}
