/* test_wire_events.c - the log event codec: EventBatch and PolicyAck
 * envelopes and Policy server messages round trip field by field; each
 * validation rule is broken once on the decoder side (hand-built bytes,
 * with the reason and the field named in the text) and once on the encoder
 * side (a C struct it must refuse); every cap is tried at its limit and one
 * over. Under ASan the failure paths are also leak checks. */
#include "common/alloc.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/logevent.h"
#include "common/timeutil.h"
#include "proto/wire.h"
#include "tests/util/wiretest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 (INT64_C(1790000000) * CM_NS_PER_SEC) /* 2026-09-21 */
#define DAY_NS (INT64_C(86400) * CM_NS_PER_SEC)

TestSuite(wire_events, .timeout = 60);

/* A string of n copies of ch (caller frees). */
static char *rep(char ch, size_t n)
{
    char *s = cm_xmalloc(n + 1);
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* ---- the C model ---------------------------------------------------------- */

static void fill_source(struct cm_log_source *s, bool container)
{
    memset(s, 0, sizeof *s);
    if (container) {
        s->kind = CM_LOG_SRC_CONTAINER;
        s->path = cm_xstrdup("/var/lib/docker/containers/3f2a/3f2a-json.log");
        snprintf(s->container_id, sizeof s->container_id, "3f2a9c1b7e4d");
        snprintf(s->stream, sizeof s->stream, "stderr");
    } else {
        s->kind = CM_LOG_SRC_AUTH;
        s->path = cm_xstrdup("/var/log/auth.log");
    }
    snprintf(s->file_key, sizeof s->file_key, "2049:%d", container ? 9 : 131075);
}

static void fill_event(struct cm_log_event *e, size_t i)
{
    memset(e, 0, sizeof *e);
    e->ts_ns = T0 - (int64_t)i * DAY_NS; /* older and older: days-old lines are events too */
    snprintf(e->rule_id, sizeof e->rule_id, "ssh.failed_password-%zu", i);
    e->rule_version = 7;
    fill_source(&e->source, i % 2 == 1);
    e->offset = UINT64_C(1) << 40 | i;
    e->message = cm_xstrdup("Failed password for root from 203.0.113.7 port 22 ssh2 \xc3\xa9\t");
    if (i % 2 == 0) {
        e->n_fields = 2;
        e->fields = cm_xcalloc(2, sizeof *e->fields);
        e->fields[0] = (struct cm_kv){cm_xstrdup("user"), cm_xstrdup("root")};
        e->fields[1] = (struct cm_kv){cm_xstrdup("src_ip"), NULL}; /* did not participate */
        e->count = 5;
    }
}

static void fill_stats(struct cm_log_stats *s, size_t i)
{
    memset(s, 0, sizeof *s);
    fill_source(&s->source, i % 2 == 1);
    s->lines = 2000 + i;
    s->bytes = UINT64_C(180000) << 20;
    s->lines_truncated = i % 2 ? 3 : 0;
    s->lines_invalid = i % 2 ? 1 : 0;
    s->start_ns = T0 - 10 * CM_NS_PER_SEC;
    s->end_ns = T0;
}

static void fill_env(struct cm_envelope *e, size_t n_events, size_t n_stats)
{
    memset(e, 0, sizeof *e);
    e->version = CM_WIRE_VERSION;
    e->seq = 11;
    e->sent_ns = T0 + 5;
    e->kind = CM_BODY_EVENTS;
    struct cm_event_batch *b = &e->body.events;
    b->n_events = n_events;
    b->events = n_events ? cm_xcalloc(n_events, sizeof *b->events) : NULL;
    for (size_t i = 0; i < n_events; i++)
        fill_event(&b->events[i], i);
    b->n_stats = n_stats;
    b->stats = n_stats ? cm_xcalloc(n_stats, sizeof *b->stats) : NULL;
    for (size_t i = 0; i < n_stats; i++)
        fill_stats(&b->stats[i], i);
}

static void fill_rule(struct cm_rule *r, size_t i)
{
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "rule.%zu", i);
    r->title = cm_xstrdup("Repeated failed SSH passwords");
    snprintf(r->severity, sizeof r->severity, "%s", i % 2 ? "critical" : "medium");
    r->regex = cm_xstrdup("Failed password for (?<user>\\S+) from (?<src_ip>[0-9a-f.:]+)");
    if (i % 2 == 0) {
        r->sources = 1u << CM_LOG_SRC_AUTH | 1u << CM_LOG_SRC_FILE;
        r->threshold = (struct cm_rule_threshold){5, 86400, cm_xstrdup("src_ip")};
        cr_assert_eq(cm_strv_push(&r->tags, "attack.t1110"), 0);
        cr_assert_eq(cm_strv_push(&r->tags, "ssh"), 0);
    }
}

static void fill_policy(struct cm_server_msg *m, size_t n)
{
    memset(m, 0, sizeof *m);
    m->kind = CM_SERVER_POLICY;
    m->body.policy.version = 4000000000u;
    m->body.policy.n = n;
    m->body.policy.rules = n ? cm_xcalloc(n, sizeof *m->body.policy.rules) : NULL;
    for (size_t i = 0; i < n; i++)
        fill_rule(&m->body.policy.rules[i], i);
}

static void str_eq(const char *a, const char *b)
{
    cr_assert_eq(!a, !b);
    if (a) cr_assert_str_eq(a, b);
}

static void source_eq(const struct cm_log_source *a, const struct cm_log_source *b)
{
    cr_assert_eq(a->kind, b->kind);
    str_eq(a->path, b->path);
    cr_assert_str_eq(a->container_id, b->container_id);
    cr_assert_str_eq(a->stream, b->stream);
    cr_assert_str_eq(a->file_key, b->file_key);
}

static void event_eq(const struct cm_log_event *a, const struct cm_log_event *b)
{
    cr_assert_eq(a->ts_ns, b->ts_ns);
    cr_assert_str_eq(a->rule_id, b->rule_id);
    cr_assert_eq(a->rule_version, b->rule_version);
    source_eq(&a->source, &b->source);
    cr_assert_eq(a->offset, b->offset);
    str_eq(a->message, b->message);
    cr_assert_eq(a->n_fields, b->n_fields);
    for (size_t i = 0; i < a->n_fields; i++) {
        str_eq(a->fields[i].key, b->fields[i].key);
        str_eq(a->fields[i].value, b->fields[i].value);
    }
    cr_assert_eq(a->count, b->count);
}

static void rule_eq(const struct cm_rule *a, const struct cm_rule *b)
{
    cr_assert_str_eq(a->id, b->id);
    str_eq(a->title, b->title);
    cr_assert_str_eq(a->severity, b->severity);
    cr_assert_eq(a->sources, b->sources);
    str_eq(a->regex, b->regex);
    cr_assert_eq(a->threshold.count, b->threshold.count);
    cr_assert_eq(a->threshold.window_seconds, b->threshold.window_seconds);
    str_eq(a->threshold.group_by, b->threshold.group_by);
    cr_assert_eq(a->tags.n, b->tags.n);
    for (size_t i = 0; i < a->tags.n; i++)
        str_eq(a->tags.v[i], b->tags.v[i]);
}

/* Frees what fill_env built (the codec's close is tested on decoded ones). */
static void free_env(struct cm_envelope *e)
{
    cm_event_batch_free(&e->body.events);
}

static void server_roundtrip(const struct cm_server_msg *in, struct cm_server_msg *out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    enum cm_wire_reason r = CM_WIRE_TOO_MANY;
    char why[256] = "x";
    cr_assert_eq(cm_wire_encode_server(in, &buf, &len), 0);
    int rc = cm_wire_decode_server(buf, len, out, &r, why, sizeof why);
    free(buf);
    cr_assert_eq(rc, 0, "decode failed: %s (%s)", cm_wire_reason_name(r), why);
    cr_assert_str_empty(why);
    cr_assert_eq(out->kind, in->kind);
}

/* ---- round trips ---------------------------------------------------------- */

Test(wire_events, event_batch_roundtrips_field_by_field)
{
    struct cm_envelope in, out;
    fill_env(&in, 4, 3);
    tu_wire_roundtrip(&in, &out);
    cr_assert_eq(out.body.events.n_events, 4);
    cr_assert_eq(out.body.events.n_stats, 3);
    for (size_t i = 0; i < 4; i++)
        event_eq(&in.body.events.events[i], &out.body.events.events[i]);
    for (size_t i = 0; i < 3; i++) {
        const struct cm_log_stats *a = &in.body.events.stats[i], *b = &out.body.events.stats[i];
        source_eq(&a->source, &b->source);
        cr_assert_eq(a->lines, b->lines);
        cr_assert_eq(a->bytes, b->bytes);
        cr_assert_eq(a->lines_truncated, b->lines_truncated);
        cr_assert_eq(a->lines_invalid, b->lines_invalid);
        cr_assert_eq(a->start_ns, b->start_ns);
        cr_assert_eq(a->end_ns, b->end_ns);
    }
    /* spot checks, so that a comparison helper that compares nothing fails */
    const struct cm_log_event *e = &out.body.events.events[1];
    cr_assert_str_eq(e->source.container_id, "3f2a9c1b7e4d");
    cr_assert_str_eq(e->source.stream, "stderr");
    cr_assert_eq(e->source.kind, CM_LOG_SRC_CONTAINER);
    cr_assert_eq(out.body.events.events[3].ts_ns, T0 - 3 * DAY_NS);
    cr_assert_str_eq(out.body.events.events[0].fields[0].value, "root");
    cr_assert_null(out.body.events.events[0].fields[1].value);
    cr_assert_eq(out.body.events.events[0].count, 5);
    cr_assert_eq(out.body.events.stats[1].lines_truncated, 3);
    cm_wire_envelope_close(&out);
    cr_assert_eq(out.kind, CM_BODY_NONE);
    free_env(&in);
}

Test(wire_events, empty_and_stats_only_batches_roundtrip)
{
    struct cm_envelope in, out;
    fill_env(&in, 0, 0);
    tu_wire_roundtrip(&in, &out);
    cr_assert_eq(out.body.events.n_events + out.body.events.n_stats, 0);
    cm_wire_envelope_close(&out);
    fill_env(&in, 0, 1);
    tu_wire_roundtrip(&in, &out);
    cr_assert_eq(out.body.events.n_stats, 1);
    cr_assert_str_eq(out.body.events.stats[0].source.file_key, "2049:131075");
    cm_wire_envelope_close(&out);
    free_env(&in);
}

Test(wire_events, policy_ack_roundtrips)
{
    struct cm_envelope in = {
        .version = CM_WIRE_VERSION, .seq = 3, .sent_ns = T0, .kind = CM_BODY_POLICY_ACK};
    struct cm_envelope out;
    in.body.policy_ack = (struct cm_policy_ack){9, false, "", 0};
    snprintf(in.body.policy_ack.error, sizeof in.body.policy_ack.error,
             "rule web.sqli: regex does not compile \xe2\x9c\x97");
    tu_wire_roundtrip(&in, &out);
    cr_assert_eq(out.body.policy_ack.version, 9);
    cr_assert_not(out.body.policy_ack.accepted);
    cr_assert_str_eq(out.body.policy_ack.error, in.body.policy_ack.error);
    cm_wire_envelope_close(&out);
    in.body.policy_ack = (struct cm_policy_ack){10, true, "", 1999};
    tu_wire_roundtrip(&in, &out);
    cr_assert(out.body.policy_ack.accepted);
    cr_assert_eq(out.body.policy_ack.rules_compiled, 1999);
    cr_assert_str_empty(out.body.policy_ack.error);
    cm_wire_envelope_close(&out);
}

Test(wire_events, policy_roundtrips_rule_by_rule)
{
    struct cm_server_msg in, out;
    fill_policy(&in, 3);
    server_roundtrip(&in, &out);
    cr_assert_eq(out.body.policy.version, 4000000000u);
    cr_assert_eq(out.body.policy.n, 3);
    for (size_t i = 0; i < 3; i++)
        rule_eq(&in.body.policy.rules[i], &out.body.policy.rules[i]);
    const struct cm_rule *r = &out.body.policy.rules[0];
    cr_assert_eq(r->sources, 1u << CM_LOG_SRC_AUTH | 1u << CM_LOG_SRC_FILE);
    cr_assert_eq(r->threshold.window_seconds, 86400);
    cr_assert_str_eq(r->tags.v[0], "attack.t1110");
    cr_assert_eq(out.body.policy.rules[1].sources, 0); /* every source */
    cr_assert_null(out.body.policy.rules[1].threshold.group_by);
    cm_wire_server_close(&out);
    cr_assert_eq(out.kind, CM_SERVER_NONE);
    cm_policy_free(&in.body.policy);
    fill_policy(&in, 0); /* an empty rule set is a policy too: it turns rules off */
    server_roundtrip(&in, &out);
    cr_assert_eq(out.body.policy.n, 0);
    cm_wire_server_close(&out);
    cm_wire_server_close(NULL);
}

Test(wire_events, acks_still_roundtrip_and_close_is_harmless)
{
    struct cm_server_msg in = {.kind = CM_SERVER_ACK}, out;
    in.body.ack.seq = 5;
    server_roundtrip(&in, &out);
    cr_assert_eq(out.body.ack.seq, 5);
    cm_wire_server_close(&out);
}

/* ---- the decoder rejects hand-built bytes, and says where ----------------- */

struct raw_src {
    unsigned kind;
    const char *path, *cid, *stream, *key;
};

struct raw_ev {
    int64_t ts;
    const char *rule_id;
    struct raw_src src;
    const char *message;
    size_t n_fields;
    const char *fkey, *fval;
    bool has_count;
    uint32_t count;
};

static struct raw_ev raw_ev_ok(void)
{
    return (struct raw_ev){
        T0,       "r1",  {CM_LOG_SRC_AUTH, "/var/log/auth.log", NULL, NULL, "1:2"},
        "a line", 0,     "k",
        "v",      false, 0};
}

static void raw_source(struct cm_buf *b, unsigned field, const struct raw_src *s)
{
    struct cm_buf sb;
    cm_buf_init(&sb, 1u << 20);
    tu_pb_uint(&sb, 1, s->kind);
    if (s->path) tu_pb_str(&sb, 2, s->path);
    if (s->cid) tu_pb_str(&sb, 3, s->cid);
    if (s->stream) tu_pb_str(&sb, 4, s->stream);
    if (s->key) tu_pb_str(&sb, 5, s->key);
    tu_pb_sub(b, field, &sb);
}

static void raw_event(struct cm_buf *batch, const struct raw_ev *e)
{
    struct cm_buf b;
    cm_buf_init(&b, 1u << 20);
    tu_pb_uint(&b, 1, (uint64_t)e->ts);
    tu_pb_str(&b, 2, e->rule_id);
    tu_pb_uint(&b, 3, 1);
    raw_source(&b, 4, &e->src);
    tu_pb_uint(&b, 5, 77);
    tu_pb_str(&b, 6, e->message);
    for (size_t i = 0; i < e->n_fields; i++) {
        struct cm_buf kv;
        cm_buf_init(&kv, 1u << 20);
        tu_pb_str(&kv, 1, e->fkey);
        if (e->fval) tu_pb_str(&kv, 2, e->fval);
        tu_pb_sub(&b, 7, &kv);
    }
    if (e->has_count) tu_pb_uint(&b, 8, e->count);
    tu_pb_sub(batch, 1, &b);
}

static void raw_stats(struct cm_buf *batch, int64_t start, int64_t end)
{
    struct cm_buf b;
    struct raw_src src = raw_ev_ok().src;
    cm_buf_init(&b, 1u << 20);
    raw_source(&b, 1, &src);
    tu_pb_uint(&b, 2, 10);
    tu_pb_uint(&b, 3, 1000);
    tu_pb_uint(&b, 6, (uint64_t)start);
    tu_pb_uint(&b, 7, (uint64_t)end);
    tu_pb_sub(batch, 2, &b);
}

/* Wraps a finished body (and closes it) into an Envelope. */
static void raw_env(struct cm_buf *env, unsigned field, struct cm_buf *body)
{
    cm_buf_init(env, 64u * 1024 * 1024);
    tu_pb_uint(env, 1, CM_WIRE_VERSION);
    tu_pb_uint(env, 2, 1);
    tu_pb_uint(env, 3, (uint64_t)T0);
    tu_pb_sub(env, field, body);
}

/* n copies of e in an EventBatch envelope. */
static void raw_events_env(struct cm_buf *env, const struct raw_ev *e, size_t n)
{
    struct cm_buf batch;
    cm_buf_init(&batch, 64u * 1024 * 1024);
    for (size_t i = 0; i < n; i++)
        raw_event(&batch, e);
    raw_env(env, 14, &batch);
}

/* Decodes `bytes` (and closes them): want OK, or the reason with why_part
 * in the text. */
static void decode_env(struct cm_buf *bytes, enum cm_wire_reason want, const char *why_part)
{
    struct cm_envelope env;
    enum cm_wire_reason r = CM_WIRE_REASON__COUNT;
    char why[512] = "";
    int rc = cm_wire_decode_envelope((const uint8_t *)bytes->data, bytes->len, &env, &r, why,
                                     sizeof why);
    cm_buf_close(bytes);
    cr_assert_eq(r, want, "want %s, got %s (%s)", cm_wire_reason_name(want), cm_wire_reason_name(r),
                 why);
    if (want == CM_WIRE_OK) {
        cr_assert_eq(rc, 0);
        cm_wire_envelope_close(&env);
        return;
    }
    cr_assert_lt(rc, 0);
    cr_assert_eq(env.kind, CM_BODY_NONE);
    cr_assert_not_null(strstr(why, why_part), "'%s' not in '%s'", why_part, why);
}

static void decode_event(const struct raw_ev *e, enum cm_wire_reason want, const char *why)
{
    struct cm_buf env;
    raw_events_env(&env, e, 1);
    decode_env(&env, want, why);
}

Test(wire_events, decoder_accepts_the_valid_base)
{
    struct raw_ev e = raw_ev_ok();
    decode_event(&e, CM_WIRE_OK, NULL);
    e.ts = T0 - 30 * DAY_NS; /* read after a month-long outage */
    decode_event(&e, CM_WIRE_OK, NULL);
}

Test(wire_events, decoder_rejects_each_broken_event_field)
{
    char *r64 = rep('a', 64), *r65 = rep('a', 65), *r129 = rep('a', 129);
    const struct {
        int what;
        const char *s;
        int64_t v;
        const char *why;
    } cases[] = {
        {0, NULL, 0, "events[0].ts: 0 is not a time"},
        {0, NULL, INT64_C(7258118400) * CM_NS_PER_SEC, "events[0].ts:"},
        {0, NULL, -1, "events[0].ts:"},
        {1, "", 0, "events[0].rule_id: not 1..64"},
        {1, "-ssh", 0, "rule_id: not 1..64"},
        {1, "ssh fail", 0, "rule_id: not"},
        {1, "ssh/fail", 0, "rule_id: not"},
        {1, r65, 0, "events[0].rule_id: longer than 64 bytes"},
        {2, NULL, CM_LOG_SRC_UNKNOWN, "events[0].source.kind: unknown value 0"},
        {2, NULL, CM_LOG_SRC__COUNT, "source.kind: unknown value 6"},
        {3, "", 0, "events[0].source.path: empty"},
        {3, "/var/log/\xff", 0, "source.path: not valid UTF-8"},
        {4, "bad id!", 0, "events[0].source.container_id: not empty or"},
        {4, r129, 0, "source.container_id: longer than 128"},
        {5, "stdin", 0, "events[0].source.stream: not stdout, stderr or empty"},
        {5, "stdout ", 0, "source.stream"},
        {6, "12", 0, "events[0].source.file_key: not <dev>:<inode>"},
        {6, "a:1", 0, "source.file_key"},
        {6, "1:", 0, "source.file_key"},
        {6, ":1", 0, "source.file_key"},
        {6, "1:2:3", 0, "source.file_key"},
        {6, "1:2x", 0, "source.file_key"},
        {6, "-1:2", 0, "source.file_key"},
        {6, "123456789012345678901:2", 0, "source.file_key"},
        {7, "caf\xc3", 0, "events[0].message: not valid UTF-8"},
        {7, "\xed\xa0\x80", 0, "message: not valid UTF-8"}, /* a surrogate */
        {8, "", 0, "events[0].fields[0].key: empty"},
        {8, r65, 0, "fields[0].key: longer than 64 bytes"},
        {9, "\xc0\xaf", 0, "fields[0].value: not valid UTF-8"},
        {10, NULL, 0, "events[0].count: 0 sent"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct raw_ev e = raw_ev_ok();
        switch (cases[i].what) {
        case 0:
            e.ts = cases[i].v;
            break;
        case 1:
            e.rule_id = cases[i].s;
            break;
        case 2:
            e.src.kind = (unsigned)cases[i].v;
            break;
        case 3:
            e.src.path = cases[i].s;
            break;
        case 4:
            e.src.cid = cases[i].s;
            break;
        case 5:
            e.src.stream = cases[i].s;
            break;
        case 6:
            e.src.key = cases[i].s;
            break;
        case 7:
            e.message = cases[i].s;
            break;
        case 8:
            e.n_fields = 1, e.fkey = cases[i].s;
            break;
        case 9:
            e.n_fields = 1, e.fval = cases[i].s;
            break;
        default:
            e.has_count = true, e.count = 0;
            break;
        }
        decode_event(&e, CM_WIRE_BAD_FIELD, cases[i].why);
    }
    /* the good sides of the same rules */
    struct raw_ev e = raw_ev_ok();
    e.rule_id = r64;
    e.src = (struct raw_src){CM_LOG_SRC_CONTAINER, "/p", "runc:abc@1", "stdout",
                             "18446744073709551615:0"};
    e.n_fields = 1;
    e.fkey = r64;
    e.fval = NULL;
    e.has_count = true;
    e.count = 1;
    decode_event(&e, CM_WIRE_OK, NULL);
    free(r64);
    free(r65);
    free(r129);
}

Test(wire_events, decoder_rejects_a_missing_required_field_and_an_embedded_nul)
{
    struct raw_ev e = raw_ev_ok();
    e.src.key = NULL; /* required in the proto: protobuf-c refuses the message */
    decode_event(&e, CM_WIRE_MALFORMED, "not a valid");
    e = raw_ev_ok();
    e.src.path = NULL;
    decode_event(&e, CM_WIRE_MALFORMED, "not a valid");
    /* protobuf-c would cut "a\0b" at the NUL; the canonical size check sees it */
    struct cm_buf batch, ev, env;
    cm_buf_init(&batch, 1u << 20);
    cm_buf_init(&ev, 1u << 20);
    struct raw_src src = raw_ev_ok().src;
    tu_pb_uint(&ev, 1, (uint64_t)T0);
    tu_pb_str(&ev, 2, "r1");
    tu_pb_uint(&ev, 3, 1);
    raw_source(&ev, 4, &src);
    tu_pb_uint(&ev, 5, 0);
    tu_pb_bytes(&ev, 6, "a\0b", 3);
    tu_pb_sub(&batch, 1, &ev);
    raw_env(&env, 14, &batch);
    decode_env(&env, CM_WIRE_MALFORMED, "non-canonical");
}

Test(wire_events, decoder_caps_strings_at_their_limits)
{
    const struct {
        int what;
        size_t n;
        enum cm_wire_reason want;
        const char *why;
    } cases[] = {
        {0, CM_LOG_MESSAGE_MAX, CM_WIRE_OK, NULL},
        {0, CM_LOG_MESSAGE_MAX + 1, CM_WIRE_BAD_FIELD, "events[0].message: longer than 4096 bytes"},
        {1, CM_INV_STR_MAX, CM_WIRE_OK, NULL},
        {1, CM_INV_STR_MAX + 1, CM_WIRE_BAD_FIELD, "events[0].source.path: longer than 4096 bytes"},
        {2, CM_LOG_FIELD_MAX, CM_WIRE_OK, NULL},
        {2, CM_LOG_FIELD_MAX + 1, CM_WIRE_BAD_FIELD, "fields[0].value: longer than 1024 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = rep('x', cases[i].n);
        struct raw_ev e = raw_ev_ok();
        if (cases[i].what == 0) e.message = s;
        if (cases[i].what == 1) e.src.path = s;
        if (cases[i].what == 2) e.n_fields = 1, e.fval = s;
        decode_event(&e, cases[i].want, cases[i].why);
        free(s);
    }
}

Test(wire_events, decoder_caps_lists_at_their_limits)
{
    struct raw_ev e = raw_ev_ok();
    e.n_fields = CM_LOG_FIELDS_MAX;
    decode_event(&e, CM_WIRE_OK, NULL);
    e.n_fields = CM_LOG_FIELDS_MAX + 1;
    decode_event(&e, CM_WIRE_TOO_MANY, "events[0].fields: 33 entries, at most 32");

    struct cm_buf env;
    e = raw_ev_ok();
    raw_events_env(&env, &e, CM_LOG_MAX_EVENTS);
    decode_env(&env, CM_WIRE_OK, NULL);
    raw_events_env(&env, &e, CM_LOG_MAX_EVENTS + 1);
    decode_env(&env, CM_WIRE_TOO_MANY, "events: 10001 entries, at most 10000");

    for (size_t n = CM_LOG_MAX_STATS; n <= CM_LOG_MAX_STATS + 1; n++) {
        struct cm_buf batch;
        cm_buf_init(&batch, 64u * 1024 * 1024);
        for (size_t i = 0; i < n; i++)
            raw_stats(&batch, T0 - 1, T0);
        raw_env(&env, 14, &batch);
        decode_env(&env, n == CM_LOG_MAX_STATS ? CM_WIRE_OK : CM_WIRE_TOO_MANY,
                   "stats: 10001 entries, at most 10000");
    }
}

Test(wire_events, decoder_checks_stats_intervals)
{
    const struct {
        int64_t start, end;
        enum cm_wire_reason want;
        const char *why;
    } cases[] = {
        {T0, T0, CM_WIRE_OK, NULL},
        {T0, T0 - 1, CM_WIRE_BAD_FIELD, "stats[0].interval_end: before interval_start"},
        {0, T0, CM_WIRE_BAD_FIELD, "stats[0].interval_start: 0 is not a time"},
        {T0, 0, CM_WIRE_BAD_FIELD, "stats[0].interval_end: 0 is not a time"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cm_buf batch, env;
        cm_buf_init(&batch, 1u << 20);
        raw_stats(&batch, cases[i].start, cases[i].end);
        raw_env(&env, 14, &batch);
        decode_env(&env, cases[i].want, cases[i].why);
    }
}

static void decode_ack(const char *error, enum cm_wire_reason want, const char *why)
{
    struct cm_buf ack, env;
    cm_buf_init(&ack, 1u << 20);
    tu_pb_uint(&ack, 1, 3);
    tu_pb_uint(&ack, 2, 0);
    if (error) tu_pb_str(&ack, 3, error);
    tu_pb_uint(&ack, 4, 0); /* a sent 0 is "none" */
    raw_env(&env, 15, &ack);
    decode_env(&env, want, why);
}

Test(wire_events, decoder_checks_policy_ack)
{
    char *e255 = rep('e', 255), *e256 = rep('e', 256);
    decode_ack(NULL, CM_WIRE_OK, NULL);
    decode_ack(e255, CM_WIRE_OK, NULL);
    decode_ack(e256, CM_WIRE_BAD_FIELD, "policy_ack.error: longer than 255 bytes");
    decode_ack("bad \xff", CM_WIRE_BAD_FIELD, "policy_ack.error: not UTF-8");
    free(e255);
    free(e256);
}

/* ---- Policy: hand-built rules --------------------------------------------- */

struct raw_rule {
    const char *id, *title, *severity, *regex;
    size_t n_sources;
    unsigned sources[3];
    bool thr;
    uint32_t count, window;
    const char *group_by;
    size_t n_tags;
    const char *tag;
};

static struct raw_rule raw_rule_ok(void)
{
    return (struct raw_rule){"r1", "A title", "low", "Failed (", 0, {0}, false, 0, 0, NULL, 0, "t"};
}

static void raw_rule(struct cm_buf *policy, const struct raw_rule *r)
{
    struct cm_buf b;
    cm_buf_init(&b, 1u << 20);
    tu_pb_str(&b, 1, r->id);
    tu_pb_str(&b, 2, r->title);
    tu_pb_str(&b, 3, r->severity);
    for (size_t i = 0; i < r->n_sources; i++)
        tu_pb_uint(&b, 4, r->sources[i]);
    tu_pb_str(&b, 5, r->regex);
    if (r->thr) {
        struct cm_buf t;
        cm_buf_init(&t, 1u << 20);
        tu_pb_uint(&t, 1, r->count);
        tu_pb_uint(&t, 2, r->window);
        if (r->group_by) tu_pb_str(&t, 3, r->group_by);
        tu_pb_sub(&b, 6, &t);
    }
    for (size_t i = 0; i < r->n_tags; i++)
        tu_pb_str(&b, 7, r->tag);
    tu_pb_sub(policy, 2, &b);
}

/* A ServerMessage with a Policy of n copies of r (ids made unique when
 * unique is set), decoded: want OK, or the reason with why_part. */
static void decode_policy(const struct raw_rule *r, size_t n, bool unique, enum cm_wire_reason want,
                          const char *why_part)
{
    struct cm_buf pol, msg;
    cm_buf_init(&pol, 64u * 1024 * 1024);
    tu_pb_uint(&pol, 1, 2);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        struct raw_rule k = *r;
        snprintf(id, sizeof id, "r%zu", i);
        if (unique) k.id = id;
        raw_rule(&pol, &k);
    }
    cm_buf_init(&msg, 64u * 1024 * 1024);
    tu_pb_sub(&msg, 2, &pol);
    struct cm_server_msg m;
    enum cm_wire_reason got = CM_WIRE_REASON__COUNT;
    char why[512] = "";
    int rc = cm_wire_decode_server((const uint8_t *)msg.data, msg.len, &m, &got, why, sizeof why);
    cm_buf_close(&msg);
    cr_assert_eq(got, want, "want %s, got %s (%s)", cm_wire_reason_name(want),
                 cm_wire_reason_name(got), why);
    if (want == CM_WIRE_OK) {
        cr_assert_eq(rc, 0);
        cr_assert_eq(m.kind, CM_SERVER_POLICY);
        cr_assert_eq(m.body.policy.n, n);
        cm_wire_server_close(&m);
        return;
    }
    cr_assert_lt(rc, 0);
    cr_assert_eq(m.kind, CM_SERVER_NONE);
    cr_assert_not_null(strstr(why, why_part), "'%s' not in '%s'", why_part, why);
}

Test(wire_events, decoder_accepts_rules_without_compiling_them)
{
    struct raw_rule r = raw_rule_ok(); /* "Failed (" is no PCRE2; not the codec's call */
    decode_policy(&r, 1, false, CM_WIRE_OK, NULL);
    r.n_sources = 3;
    r.sources[0] = CM_LOG_SRC_FILE, r.sources[1] = CM_LOG_SRC_AUTH,
    r.sources[2] = CM_LOG_SRC_CONTAINER;
    r.thr = true, r.count = 1, r.window = 1;
    decode_policy(&r, 1, false, CM_WIRE_OK, NULL);
    decode_policy(&r, 0, false, CM_WIRE_OK, NULL);
}

Test(wire_events, decoder_rejects_each_broken_rule_field)
{
    char *r65 = rep('a', 65), *t257 = rep('t', 257), *x4097 = rep('x', CM_RULE_REGEX_MAX + 1);
    const struct {
        int what;
        const char *s;
        unsigned v;
        const char *why;
    } cases[] = {
        {0, "", 0, "rules[0].id: not 1..64 bytes"},
        {0, ".ssh", 0, "rules[0].id: not"},
        {0, "ssh:x", 0, "rules[0].id: not"},
        {0, r65, 0, "rules[0].id: longer than 64 bytes"},
        {1, "", 0, "rules[0].title: empty"},
        {1, t257, 0, "rules[0].title: longer than 256 bytes"},
        {1, "\xf5\x80\x80\x80", 0, "rules[0].title: not valid UTF-8"},
        {2, "urgent", 0, "rules[0].severity: not one of info, low, medium, high, critical"},
        {2, "", 0, "rules[0].severity: not one of"},
        {2, "Medium", 0, "severity: not one of"},
        {2, "mediummediummedium", 0, "rules[0].severity: longer than 15 bytes"},
        {3, NULL, CM_LOG_SRC_UNKNOWN, "rules[0].sources[0]: unknown value 0"},
        {3, NULL, CM_LOG_SRC__COUNT, "rules[0].sources[0]: unknown value 6"},
        {4, NULL, 0, "rules[0].sources[1]: auth listed twice"},
        {5, "", 0, "rules[0].regex: empty"},
        {5, x4097, 0, "rules[0].regex: longer than 4096 bytes"},
        {6, NULL, 0, "rules[0].threshold.count: must be >= 1"},
        {7, NULL, 0, "rules[0].threshold.window_seconds: 0 not in 1..86400"},
        {7, NULL, 86401, "rules[0].threshold.window_seconds: 86401 not in 1..86400"},
        {8, "", 0, "rules[0].threshold.group_by: empty"},
        {8, r65, 0, "rules[0].threshold.group_by: longer than 64 bytes"},
        {9, "", 0, "rules[0].tags[0]: empty"},
        {9, r65, 0, "rules[0].tags[0]: longer than 64 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct raw_rule r = raw_rule_ok();
        r.thr = true, r.count = 2, r.window = 60;
        switch (cases[i].what) {
        case 0:
            r.id = cases[i].s;
            break;
        case 1:
            r.title = cases[i].s;
            break;
        case 2:
            r.severity = cases[i].s;
            break;
        case 3:
            r.n_sources = 1, r.sources[0] = cases[i].v;
            break;
        case 4:
            r.n_sources = 2, r.sources[0] = r.sources[1] = CM_LOG_SRC_AUTH;
            break;
        case 5:
            r.regex = cases[i].s;
            break;
        case 6:
            r.count = 0;
            break;
        case 7:
            r.window = cases[i].v;
            break;
        case 8:
            r.group_by = cases[i].s;
            break;
        default:
            r.n_tags = 1, r.tag = cases[i].s;
            break;
        }
        decode_policy(&r, 1, false, CM_WIRE_BAD_FIELD, cases[i].why);
    }
    free(r65);
    free(t257);
    free(x4097);
}

Test(wire_events, decoder_caps_rules_at_their_limits)
{
    char *id64 = rep('i', CM_RULE_ID_MAX), *t256 = rep('t', 256), *x = rep('x', CM_RULE_REGEX_MAX),
         *g64 = rep('g', 64);
    struct raw_rule r = raw_rule_ok();
    r.id = id64, r.title = t256, r.regex = x;
    r.thr = true, r.count = UINT32_MAX, r.window = 86400, r.group_by = g64;
    r.n_tags = CM_RULE_TAGS_MAX, r.tag = g64;
    decode_policy(&r, 1, false, CM_WIRE_OK, NULL);
    r.n_tags = CM_RULE_TAGS_MAX + 1;
    decode_policy(&r, 1, false, CM_WIRE_TOO_MANY, "rules[0].tags: 33 entries, at most 32");
    r = raw_rule_ok();
    decode_policy(&r, CM_RULES_MAX, true, CM_WIRE_OK, NULL);
    decode_policy(&r, CM_RULES_MAX + 1, true, CM_WIRE_TOO_MANY,
                  "policy.rules: 2001 entries, at most 2000");
    free(id64);
    free(t256);
    free(x);
    free(g64);
}

Test(wire_events, decoder_rejects_duplicate_rule_ids)
{
    struct raw_rule r = raw_rule_ok();
    decode_policy(&r, 2, true, CM_WIRE_OK, NULL);
    decode_policy(&r, 3, false, CM_WIRE_BAD_FIELD, "rules: id 'r1' appears twice");
}

/* ---- the encoder refuses what the decoder would reject -------------------- */

/* Breaks one thing in a valid batch of 2 events and 1 stats. */
static void break_events(struct cm_event_batch *b, int what)
{
    struct cm_log_event *e = &b->events[0];
    switch (what) {
    case 0:
        e->ts_ns = 0;
        break;
    case 1:
        e->rule_id[0] = '_';
        break;
    case 2:
        memset(e->rule_id, 'a', sizeof e->rule_id);
        break; /* no NUL inside */
    case 3:
        e->source.kind = CM_LOG_SRC_UNKNOWN;
        break;
    case 4:
        e->source.kind = CM_LOG_SRC__COUNT;
        break;
    case 5:
        free(e->source.path), e->source.path = NULL;
        break;
    case 6:
        snprintf(e->source.container_id, sizeof e->source.container_id, "a b");
        break;
    case 7:
        snprintf(e->source.stream, sizeof e->source.stream, "both");
        break;
    case 8:
        snprintf(e->source.file_key, sizeof e->source.file_key, "1-2");
        break;
    case 9:
        free(e->message), e->message = NULL;
        break;
    case 10:
        e->message[0] = (char)0xff;
        break;
    case 11:
        free(e->fields[0].key), e->fields[0].key = NULL;
        break;
    case 12:
        b->events[1].fields = NULL, b->events[1].n_fields = 1;
        break;
    case 13:
        b->n_events = 3, b->events = NULL;
        break; /* the real array is leaked below */
    case 14:
        b->stats[0].end_ns = b->stats[0].start_ns - 1;
        break;
    case 15:
        b->stats[0].source.file_key[0] = '\0';
        break;
    default:
        b->n_stats = CM_LOG_MAX_STATS + 1;
        break;
    }
}

Test(wire_events, encoder_refuses_each_broken_event_field)
{
    for (int what = 0; what <= 16; what++) {
        struct cm_envelope env;
        fill_env(&env, 2, 1);
        struct cm_event_batch keep = env.body.events;
        break_events(&env.body.events, what);
        uint8_t *buf = NULL;
        size_t len = 0;
        int rc = cm_wire_encode_envelope(&env, &buf, &len);
        cr_assert_eq(rc, what == 16 ? CM_ETOOBIG : CM_EPROTO, "case %d: rc %d", what, rc);
        cr_assert_null(buf);
        if (what == 12) env.body.events.events[1].n_fields = 0;
        if (what == 13 || what == 16) env.body.events = keep;
        free_env(&env);
    }
}

Test(wire_events, encoder_refuses_too_many_events_and_fields)
{
    struct cm_envelope env;
    uint8_t *buf = NULL;
    size_t len = 0;
    fill_env(&env, 1, 0);
    struct cm_log_event *e = &env.body.events.events[0];
    struct cm_kv *kv = cm_xcalloc(CM_LOG_FIELDS_MAX + 1, sizeof *kv);
    for (size_t i = 0; i <= CM_LOG_FIELDS_MAX; i++)
        kv[i].key = cm_xstrdup("k");
    for (size_t i = 0; i < e->n_fields; i++)
        free(e->fields[i].key), free(e->fields[i].value);
    free(e->fields);
    e->fields = kv;
    e->n_fields = CM_LOG_FIELDS_MAX;
    cr_assert_eq(cm_wire_encode_envelope(&env, &buf, &len), 0);
    free(buf);
    e->n_fields = CM_LOG_FIELDS_MAX + 1;
    cr_assert_eq(cm_wire_encode_envelope(&env, &buf, &len), CM_ETOOBIG);
    free_env(&env);

    fill_env(&env, 0, 0);
    env.body.events.events = cm_xcalloc(1, sizeof *env.body.events.events);
    env.body.events.n_events = CM_LOG_MAX_EVENTS + 1; /* refused before it is read */
    cr_assert_eq(cm_wire_encode_envelope(&env, &buf, &len), CM_ETOOBIG);
    env.body.events.n_events = 0;
    free_env(&env);
}

Test(wire_events, encoder_refuses_a_broken_policy_ack)
{
    struct cm_envelope env = {
        .version = CM_WIRE_VERSION, .seq = 1, .sent_ns = T0, .kind = CM_BODY_POLICY_ACK};
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(env.body.policy_ack.error, 'e', sizeof env.body.policy_ack.error); /* no NUL */
    cr_assert_eq(cm_wire_encode_envelope(&env, &buf, &len), CM_EPROTO);
    snprintf(env.body.policy_ack.error, sizeof env.body.policy_ack.error, "\xc3(");
    cr_assert_eq(cm_wire_encode_envelope(&env, &buf, &len), CM_EPROTO);
    cr_assert_null(buf);
}

/* Breaks one thing in rule 0 of a valid 2-rule policy. */
static void break_rule(struct cm_policy *p, int what)
{
    struct cm_rule *r = &p->rules[0];
    switch (what) {
    case 0:
        r->id[0] = '\0';
        break;
    case 1:
        snprintf(p->rules[1].id, sizeof p->rules[1].id, "%s", r->id);
        break;
    case 2:
        free(r->title), r->title = NULL;
        break;
    case 3:
        snprintf(r->severity, sizeof r->severity, "warning");
        break;
    case 4:
        r->sources |= 1u;
        break; /* UNKNOWN */
    case 5:
        r->sources |= 1u << CM_LOG_SRC__COUNT;
        break;
    case 6:
        free(r->regex), r->regex = NULL;
        break;
    case 7:
        r->threshold.window_seconds = 0;
        break;
    case 8:
        r->threshold.window_seconds = 86401;
        break;
    case 9:
        r->threshold.group_by[0] = '\0';
        break;
    case 10:
        r->threshold.count = 0;
        break; /* window and group_by left behind */
    case 11:
        p->rules[1].threshold.window_seconds = 5;
        break; /* a window without a count */
    case 12:
        r->tags.v[1][0] = '\0';
        break;
    default:
        r->tags.n = CM_RULE_TAGS_MAX + 1;
        break;
    }
}

Test(wire_events, encoder_refuses_each_broken_rule_field)
{
    for (int what = 0; what <= 13; what++) {
        struct cm_server_msg m;
        fill_policy(&m, 2);
        size_t ntags = m.body.policy.rules[0].tags.n;
        break_rule(&m.body.policy, what);
        uint8_t *buf = NULL;
        size_t len = 0;
        int rc = cm_wire_encode_server(&m, &buf, &len);
        cr_assert_eq(rc, what == 13 ? CM_ETOOBIG : CM_EPROTO, "case %d: rc %d", what, rc);
        cr_assert_null(buf);
        m.body.policy.rules[0].tags.n = ntags;
        cm_policy_free(&m.body.policy);
    }
    struct cm_server_msg m = {.kind = CM_SERVER_POLICY};
    m.body.policy.n = CM_RULES_MAX + 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(cm_wire_encode_server(&m, &buf, &len), CM_ETOOBIG);
    m.body.policy.n = 1; /* rules missing */
    cr_assert_eq(cm_wire_encode_server(&m, &buf, &len), CM_EPROTO);
    m.kind = (enum cm_server_kind)7;
    cr_assert_eq(cm_wire_encode_server(&m, &buf, &len), CM_EPROTO);
}

Test(wire_events, envelope_kinds_past_policy_ack_are_refused)
{
    struct cm_envelope env;
    fill_env(&env, 0, 0);
    env.kind = (enum cm_body_kind)(CM_BODY_POLICY_ACK + 1);
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(cm_wire_encode_envelope(&env, &buf, &len), CM_EPROTO);
}
