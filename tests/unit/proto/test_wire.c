/* test_wire.c - the wire codec: round trips of every body, every rejection
 * reason, hostile bytes built by hand (the encoder refuses to produce them),
 * and truncation at every offset. Run under ASan, the failure paths double
 * as leak checks. */
#include "common/buf.h"
#include "common/err.h"
#include "common/timeutil.h"
#include "proto/wire.h"
#include "tests/util/wiretest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 (INT64_C(1790000000) * CM_NS_PER_SEC) /* 2026-09-21 */

static void raw_head(struct cm_buf *b, uint64_t version, uint64_t seq, int64_t sent)
{
    cm_buf_init(b, 64u * 1024 * 1024);
    tu_pb_uint(b, 1, version);
    tu_pb_uint(b, 2, seq);
    tu_pb_uint(b, 3, (uint64_t)sent);
}

static void raw_hello(struct cm_buf *h, const char *hostname, uint64_t mode)
{
    cm_buf_init(h, 1024 * 1024);
    tu_pb_str(h, 1, hostname);
    tu_pb_uint(h, 4, mode);
    tu_pb_str(h, 5, "0.1.0");
}

static void raw_sample(struct cm_buf *s, const char *id, const char *cgroup, int64_t ts)
{
    cm_buf_init(s, 1024 * 1024);
    tu_pb_str(s, 1, id);
    if (cgroup) tu_pb_str(s, 2, cgroup);
    tu_pb_uint(s, 4, (uint64_t)ts);
}

/* An envelope whose hello carries `hostname` and `mode`. */
static void raw_hello_env(struct cm_buf *b, const char *hostname, uint64_t mode)
{
    struct cm_buf h;
    raw_head(b, 1, 5, T0);
    raw_hello(&h, hostname, mode);
    tu_pb_sub(b, 10, &h);
}

/* An envelope with one sample; `extra` (may be NULL) is appended to it. */
static void raw_sample_env(struct cm_buf *b, const char *id, const char *cgroup, int64_t ts,
                           const struct cm_buf *extra)
{
    struct cm_buf m, s;
    raw_head(b, 1, 5, T0);
    cm_buf_init(&m, 1024 * 1024);
    tu_pb_uint(&m, 1, (uint64_t)T0);
    raw_sample(&s, id, cgroup, ts);
    if (extra) cm_buf_append(&s, extra->data, extra->len);
    tu_pb_sub(&m, 2, &s);
    tu_pb_sub(b, 11, &m);
}

static int decode_raw(struct cm_buf *b, enum cm_wire_reason *reason)
{
    struct cm_envelope env;
    char why[256];
    memset(&env, 0xAA, sizeof env);
    int rc =
        cm_wire_decode_envelope((const uint8_t *)b->data, b->len, &env, reason, why, sizeof why);
    if (rc < 0) {
        static const struct cm_envelope zero;
        cr_assert_eq(memcmp(&env, &zero, sizeof env), 0, "failed decode left data in env");
        cr_assert_neq(why[0], '\0', "a rejection must say why");
    }
    cm_wire_envelope_close(&env);
    cm_buf_close(b);
    return rc;
}

static void expect_reject(struct cm_buf *b, enum cm_wire_reason want, const char *what)
{
    enum cm_wire_reason r = CM_WIRE_OK;
    int rc = decode_raw(b, &r);
    cr_expect_lt(rc, 0, "%s: accepted", what);
    cr_expect_eq(r, want, "%s: reason %s, want %s", what, cm_wire_reason_name(r),
                 cm_wire_reason_name(want));
}

/* ---- valid envelopes ---------------------------------------------------- */

static void fill_hello(struct cm_envelope *e, bool full)
{
    memset(e, 0, sizeof *e);
    e->version = CM_WIRE_VERSION;
    e->seq = 42;
    e->sent_ns = T0 + 123;
    e->kind = CM_BODY_HELLO;
    snprintf(e->body.hello.hostname, sizeof e->body.hello.hostname, "host-1.example");
    snprintf(e->body.hello.agent_version, sizeof e->body.hello.agent_version, "0.1.0");
    e->body.hello.cgroup_mode = CM_CGROUP_V2;
    if (full) {
        snprintf(e->body.hello.machine_id, sizeof e->body.hello.machine_id, "0123abcd");
        snprintf(e->body.hello.kernel, sizeof e->body.hello.kernel, "6.1.0-13-amd64 (Ünïcode)");
        e->body.hello.boot_ns = T0 - 5 * CM_NS_PER_SEC;
    }
}

static void fill_sample(struct cm_sample *s, size_t i, bool full)
{
    memset(s, 0, sizeof *s);
    snprintf(s->container_id, sizeof s->container_id, "c%032zx", i);
    s->ts_ns = T0 + (int64_t)i;
    if (!full) return;
    snprintf(s->cgroup_path, sizeof s->cgroup_path, "/system.slice/docker-%zu.scope", i);
    s->runtime = (enum cm_runtime)(1 + i % (CM_RT__COUNT - 1));
    for (int f = 0; f < CM_F__COUNT; f++)
        cm_sample_set(s, (enum cm_field)f, UINT64_C(1) << 40 | (uint64_t)f << 8 | i);
}

static void fill_metrics(struct cm_envelope *e, struct cm_sample *samples, size_t n, bool full)
{
    memset(e, 0, sizeof *e);
    e->version = CM_WIRE_VERSION;
    e->seq = 43;
    e->sent_ns = T0 + 999;
    e->kind = CM_BODY_METRICS;
    e->body.metrics.collected_ns = T0;
    e->body.metrics.samples = samples;
    e->body.metrics.n = n;
    for (size_t i = 0; i < n; i++)
        fill_sample(&samples[i], i, full);
}

static void assert_samples_equal(const struct cm_sample *a, const struct cm_sample *b)
{
    cr_assert_str_eq(a->container_id, b->container_id);
    cr_assert_str_eq(a->cgroup_path, b->cgroup_path);
    cr_assert_eq(a->runtime, b->runtime);
    cr_assert_eq(a->ts_ns, b->ts_ns);
    cr_assert_eq(a->present, b->present, "present %#x vs %#x", a->present, b->present);
    for (int f = 0; f < CM_F__COUNT; f++) {
        if (cm_sample_has(a, (enum cm_field)f))
            cr_assert_eq(a->v[f], b->v[f], "field %s", cm_fields[f].name);
    }
}

TestSuite(wire, .timeout = 60);

Test(wire, field_table_matches_proto)
{
    cr_assert(cm_wire_fields_match_proto());
}

Test(wire, hello_roundtrip_full_and_minimal)
{
    for (int full = 0; full <= 1; full++) {
        struct cm_envelope in, out;
        fill_hello(&in, full);
        tu_wire_roundtrip(&in, &out);
        cr_assert_str_eq(out.body.hello.hostname, in.body.hello.hostname);
        cr_assert_str_eq(out.body.hello.machine_id, in.body.hello.machine_id);
        cr_assert_str_eq(out.body.hello.kernel, in.body.hello.kernel);
        cr_assert_str_eq(out.body.hello.agent_version, in.body.hello.agent_version);
        cr_assert_eq(out.body.hello.cgroup_mode, CM_CGROUP_V2);
        cr_assert_eq(out.body.hello.boot_ns, in.body.hello.boot_ns);
        cm_wire_envelope_close(&out);
    }
}

Test(wire, metrics_roundtrip_all_and_absent_fields)
{
    struct cm_sample samples[5];
    for (int full = 0; full <= 1; full++) {
        struct cm_envelope in, out;
        fill_metrics(&in, samples, 5, full);
        tu_wire_roundtrip(&in, &out);
        cr_assert_eq(out.body.metrics.n, 5);
        cr_assert_eq(out.body.metrics.collected_ns, T0);
        for (size_t i = 0; i < 5; i++)
            assert_samples_equal(&samples[i], &out.body.metrics.samples[i]);
        cr_assert_eq(out.body.metrics.samples[0].present, full ? (1u << CM_F__COUNT) - 1 : 0);
        cm_wire_envelope_close(&out);
        cr_assert_null(out.body.metrics.samples);
    }
}

Test(wire, each_field_travels_alone)
{
    for (int f = 0; f < CM_F__COUNT; f++) {
        struct cm_sample s;
        struct cm_envelope in, out;
        fill_metrics(&in, &s, 1, false);
        cm_sample_set(&s, (enum cm_field)f, 1000 + (uint64_t)f);
        tu_wire_roundtrip(&in, &out);
        cr_assert_eq(out.body.metrics.samples[0].present, 1u << f, "%s", cm_fields[f].name);
        cr_assert_eq(out.body.metrics.samples[0].v[f], 1000 + (uint64_t)f);
        cm_wire_envelope_close(&out);
    }
}

Test(wire, empty_batch_and_heartbeat_roundtrip)
{
    struct cm_envelope in, out;
    fill_metrics(&in, NULL, 0, false);
    tu_wire_roundtrip(&in, &out);
    cr_assert_eq(out.body.metrics.n, 0);
    cm_wire_envelope_close(&out);

    memset(&in, 0, sizeof in);
    in.version = CM_WIRE_VERSION;
    in.seq = UINT64_MAX;
    in.sent_ns = T0;
    in.kind = CM_BODY_HEARTBEAT;
    in.body.heartbeat = (struct cm_heartbeat){3, 4, 5, UINT64_MAX, 0, 7, 8, 9};
    tu_wire_roundtrip(&in, &out);
    cr_assert_eq(memcmp(&out.body.heartbeat, &in.body.heartbeat, sizeof in.body.heartbeat), 0);
}

Test(wire, ack_roundtrip)
{
    struct cm_server_msg in = {.kind = CM_SERVER_ACK}, out;
    uint8_t *buf;
    size_t len;
    enum cm_wire_reason r;
    for (int st = 0; st <= 1; st++) {
        in.body.ack.seq = 77 + (uint64_t)st;
        in.body.ack.status = (enum cm_ack_status)st;
        snprintf(in.body.ack.reason, sizeof in.body.ack.reason, "%s", st ? "bad_field" : "");
        cr_assert_eq(cm_wire_encode_server(&in, &buf, &len), 0);
        cr_assert_eq(cm_wire_decode_server(buf, len, &out, &r, NULL, 0), 0);
        free(buf);
        cr_assert_eq(out.kind, CM_SERVER_ACK);
        cr_assert_eq(out.body.ack.seq, in.body.ack.seq);
        cr_assert_eq(out.body.ack.status, in.body.ack.status);
        cr_assert_str_eq(out.body.ack.reason, in.body.ack.reason);
    }
}

Test(wire, reason_names)
{
    static const char *const want[] = {"ok",      "too_big",   "malformed", "bad_version",
                                       "no_body", "bad_field", "too_many"};
    for (int r = 0; r < CM_WIRE_REASON__COUNT; r++)
        cr_assert_str_eq(cm_wire_reason_name((enum cm_wire_reason)r), want[r]);
    cr_assert_str_eq(cm_wire_reason_name(CM_WIRE_REASON__COUNT), "unknown");
}

/* ---- every rejection reason --------------------------------------------- */

Test(wire, raw_builder_builds_valid_messages)
{
    /* The hand-built messages below are only meaningful if the valid base
     * decodes; each test then breaks exactly one thing. */
    struct cm_buf b;
    enum cm_wire_reason r;
    raw_hello_env(&b, "h", 2);
    cr_assert_eq(decode_raw(&b, &r), 0);
    raw_sample_env(&b, "abc", "/x", T0, NULL);
    cr_assert_eq(decode_raw(&b, &r), 0);
}

Test(wire, too_big)
{
    size_t len = CM_WIRE_MAX_MESSAGE + 1;
    uint8_t *buf = calloc(1, len);
    struct cm_envelope env;
    enum cm_wire_reason r;
    cr_assert_eq(cm_wire_decode_envelope(buf, len, &env, &r, NULL, 0), CM_ETOOBIG);
    cr_assert_eq(r, CM_WIRE_TOO_BIG);
    struct cm_server_msg m;
    cr_assert_eq(cm_wire_decode_server(buf, len, &m, &r, NULL, 0), CM_ETOOBIG);
    free(buf);
}

Test(wire, malformed)
{
    struct cm_buf b;
    cm_buf_init(&b, 64);
    cm_buf_append(&b, "\xff\xff\xff\xff", 4);
    expect_reject(&b, CM_WIRE_MALFORMED, "garbage");
    cm_buf_init(&b, 64);
    expect_reject(&b, CM_WIRE_MALFORMED, "empty message (required fields missing)");
    /* A NUL inside a string: protobuf-c would silently cut it there. */
    struct cm_buf h;
    raw_head(&b, 1, 5, T0);
    cm_buf_init(&h, 1024);
    tu_pb_bytes(&h, 1, "ho\0st", 5);
    tu_pb_uint(&h, 4, 2);
    tu_pb_str(&h, 5, "0.1.0");
    tu_pb_sub(&b, 10, &h);
    expect_reject(&b, CM_WIRE_MALFORMED, "NUL in hostname");
    /* The same field twice is legal protobuf but never what we send. */
    raw_hello_env(&b, "h", 2);
    tu_pb_uint(&b, 2, 6);
    expect_reject(&b, CM_WIRE_MALFORMED, "duplicate seq");
}

Test(wire, unknown_fields_are_tolerated)
{
    struct cm_buf b;
    enum cm_wire_reason r;
    raw_hello_env(&b, "h", 2);
    tu_pb_str(&b, 99, "from a newer agent");
    cr_assert_eq(decode_raw(&b, &r), 0);
}

Test(wire, bad_version_and_no_body)
{
    struct cm_buf b, h;
    raw_head(&b, 2, 5, T0);
    raw_hello(&h, "h", 2);
    tu_pb_sub(&b, 10, &h);
    expect_reject(&b, CM_WIRE_BAD_VERSION, "version 2");
    raw_head(&b, 0, 5, T0);
    expect_reject(&b, CM_WIRE_BAD_VERSION, "version 0 without body");
    raw_head(&b, 1, 5, T0);
    expect_reject(&b, CM_WIRE_NO_BODY, "no body");
}

Test(wire, bad_envelope_fields)
{
    struct cm_buf b, h;
    struct {
        uint64_t seq;
        int64_t sent;
        const char *what;
    } cases[] = {
        {0, T0, "seq 0"},
        {1, 0, "sent 0"},
        {1, -5, "sent negative"},
        {1, INT64_C(7258118400) * CM_NS_PER_SEC, "sent in 2200"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_head(&b, 1, cases[i].seq, cases[i].sent);
        raw_hello(&h, "h", 2);
        tu_pb_sub(&b, 10, &h);
        expect_reject(&b, CM_WIRE_BAD_FIELD, cases[i].what);
    }
}

Test(wire, bad_hello_fields)
{
    char longname[CM_WIRE_HOSTNAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    struct cm_buf b;
    raw_hello_env(&b, "", 2);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "empty hostname");
    raw_hello_env(&b, longname, 2);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "hostname 256 bytes");
    longname[CM_WIRE_HOSTNAME_MAX] = '\0';
    enum cm_wire_reason r;
    raw_hello_env(&b, longname, 2);
    cr_assert_eq(decode_raw(&b, &r), 0, "255-byte hostname fits");
    raw_hello_env(&b, "evil\x1b[31m", 2);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "control character");
    /* boot time sent as an explicit 0 */
    struct cm_buf h;
    raw_head(&b, 1, 5, T0);
    raw_hello(&h, "h", 2);
    tu_pb_uint(&h, 6, 0);
    tu_pb_sub(&b, 10, &h);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "boot 0");
}

Test(wire, invalid_utf8)
{
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 bytes */
        "\xf0\x80\x80\xaf", /* overlong, 4 bytes */
        "\xed\xa0\x80",     /* UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "\xf8\x88\x80\x80\x80",
        "\x80",      /* lone continuation */
        "a\xe2\x82", /* truncated */
        "\xe2\x28\xa1",
        "\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(cm_wire_check_utf8(bad[i], strlen(bad[i])), CM_EPARSE, "case %zu", i);
        struct cm_buf b;
        raw_hello_env(&b, bad[i], 2);
        expect_reject(&b, CM_WIRE_BAD_FIELD, bad[i]);
    }
    static const char *const good[] = {"plain",        "h\xc3\xa9llo",
                                       "\xe2\x82\xac", "\xf0\x9d\x84\x9e",
                                       "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_expect_eq(cm_wire_check_utf8(good[i], strlen(good[i])), 0, "good case %zu", i);
    cr_expect_eq(cm_wire_check_utf8("a\0b", 3), CM_EPARSE, "NUL");
    cr_expect_eq(cm_wire_check_utf8("", 0), 0);
}

Test(wire, container_ids)
{
    char id[CM_CONTAINER_ID_MAX + 2];
    memset(id, 'f', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    cr_expect_eq(cm_wire_check_container_id(id), CM_EPROTO, "129 bytes");
    id[CM_CONTAINER_ID_MAX] = '\0';
    cr_expect_eq(cm_wire_check_container_id(id), 0, "128 bytes");
    cr_expect_eq(cm_wire_check_container_id("k8s_app@ns:1.2-x"), 0);
    static const char *const bad[] = {"", "a b", "a/b", "../x", "a\nb", "\xc3\xa9", "a;b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(cm_wire_check_container_id(bad[i]), CM_EPROTO, "'%s'", bad[i]);
        struct cm_buf b;
        raw_sample_env(&b, bad[i], NULL, T0, NULL);
        expect_reject(&b, CM_WIRE_BAD_FIELD, bad[i]);
    }
}

Test(wire, bad_sample_fields)
{
    char longpath[CM_CGROUP_PATH_MAX + 2];
    memset(longpath, 'p', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    struct cm_buf b;
    raw_sample_env(&b, "abc", "relative/path", T0, NULL);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "cgroup path without /");
    raw_sample_env(&b, "abc", longpath, T0, NULL);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "cgroup path 513 bytes");
    raw_sample_env(&b, "abc", "/\xed\xa0\x80", T0, NULL);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "cgroup path surrogate");
    raw_sample_env(&b, "abc", NULL, 0, NULL);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "ts 0");
    raw_sample_env(&b, "abc", NULL, INT64_MAX, NULL);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "ts far future");
}

Test(wire, unknown_enum_values)
{
    struct cm_buf b, extra;
    raw_hello_env(&b, "h", 4);
    expect_reject(&b, CM_WIRE_BAD_FIELD, "cgroup_mode 4");
    raw_hello_env(&b, "h", UINT64_MAX); /* -1 as a 10-byte varint */
    expect_reject(&b, CM_WIRE_BAD_FIELD, "cgroup_mode -1");
    uint64_t runtimes[] = {6, 99, (uint64_t)-3};
    for (size_t i = 0; i < 3; i++) {
        cm_buf_init(&extra, 64);
        tu_pb_uint(&extra, 3, runtimes[i]);
        raw_sample_env(&b, "abc", NULL, T0, &extra);
        cm_buf_close(&extra);
        expect_reject(&b, CM_WIRE_BAD_FIELD, "runtime");
    }
    cm_buf_init(&extra, 64);
    tu_pb_uint(&extra, 3, 5);
    raw_sample_env(&b, "abc", NULL, T0, &extra);
    cm_buf_close(&extra);
    enum cm_wire_reason r;
    cr_assert_eq(decode_raw(&b, &r), 0, "runtime custom (5) is known");
}

Test(wire, sample_count_cap)
{
    size_t n = CM_WIRE_MAX_SAMPLES + 1;
    struct cm_sample *samples = calloc(n, sizeof *samples);
    struct cm_envelope in, out;
    uint8_t *buf;
    size_t len;
    fill_metrics(&in, samples, n, false);
    cr_assert_eq(cm_wire_encode_envelope(&in, &buf, &len), CM_ETOOBIG, "encode 20001");
    in.body.metrics.n = CM_WIRE_MAX_SAMPLES;
    tu_wire_roundtrip(&in, &out);
    cr_assert_eq(out.body.metrics.n, CM_WIRE_MAX_SAMPLES);
    cm_wire_envelope_close(&out);
    free(samples);

    struct cm_buf b, m, s;
    raw_head(&b, 1, 5, T0);
    cm_buf_init(&m, 64u * 1024 * 1024);
    tu_pb_uint(&m, 1, (uint64_t)T0);
    raw_sample(&s, "a", NULL, T0);
    for (size_t i = 0; i < n; i++)
        tu_pb_bytes(&m, 2, s.data, s.len);
    cm_buf_close(&s);
    tu_pb_sub(&b, 11, &m);
    expect_reject(&b, CM_WIRE_TOO_MANY, "20001 samples");
}

Test(wire, server_message_rejections)
{
    struct cm_buf b, a;
    struct cm_server_msg m;
    enum cm_wire_reason r;
    cm_buf_init(&b, 64);
    cr_assert_eq(cm_wire_decode_server((const uint8_t *)"", 0, &m, &r, NULL, 0), CM_EPROTO);
    cr_assert_eq(r, CM_WIRE_NO_BODY);
    uint64_t seqs[] = {0, 9, 9}, status[] = {0, 2, UINT64_MAX};
    for (size_t i = 0; i < 3; i++) {
        cm_buf_init(&a, 64);
        tu_pb_uint(&a, 1, seqs[i]);
        tu_pb_uint(&a, 2, status[i]);
        tu_pb_sub(&b, 1, &a);
        memset(&m, 0x55, sizeof m);
        cr_expect_eq(cm_wire_decode_server((const uint8_t *)b.data, b.len, &m, &r, NULL, 0),
                     CM_EPROTO, "case %zu", i);
        cr_expect_eq(r, CM_WIRE_BAD_FIELD);
        cr_expect_eq(m.kind, CM_SERVER_NONE);
        cm_buf_close(&b);
    }
    cr_assert_eq(cm_wire_decode_server((const uint8_t *)"\x0a\x02\x08", 3, &m, &r, NULL, 0),
                 CM_EPARSE);
    cr_assert_eq(r, CM_WIRE_MALFORMED);
}

/* ---- the encoder refuses what the decoder would reject ------------------- */

Test(wire, encode_validates)
{
    struct cm_envelope e;
    uint8_t *buf = NULL;
    size_t len;
    fill_hello(&e, true);
    e.version = 2;
    cr_assert_eq(cm_wire_encode_envelope(&e, &buf, &len), CM_EPROTO);
    fill_hello(&e, true);
    e.seq = 0;
    cr_assert_eq(cm_wire_encode_envelope(&e, &buf, &len), CM_EPROTO);
    fill_hello(&e, true);
    memset(e.body.hello.hostname, 'a', sizeof e.body.hello.hostname); /* no NUL */
    cr_assert_eq(cm_wire_encode_envelope(&e, &buf, &len), CM_EPROTO);
    fill_hello(&e, true);
    e.kind = CM_BODY_NONE;
    cr_assert_eq(cm_wire_encode_envelope(&e, &buf, &len), CM_EPROTO);
    fill_hello(&e, true);
    e.body.hello.cgroup_mode = CM_CGROUP__COUNT;
    cr_assert_eq(cm_wire_encode_envelope(&e, &buf, &len), CM_EPROTO);

    struct cm_sample s;
    fill_metrics(&e, &s, 1, true);
    snprintf(s.container_id, sizeof s.container_id, "bad id");
    cr_assert_eq(cm_wire_encode_envelope(&e, &buf, &len), CM_EPROTO);
    fill_metrics(&e, &s, 1, true);
    s.present |= 1u << CM_F__COUNT;
    cr_assert_eq(cm_wire_encode_envelope(&e, &buf, &len), CM_EPROTO);
    fill_metrics(&e, &s, 1, true);
    s.runtime = CM_RT__COUNT;
    cr_assert_eq(cm_wire_encode_envelope(&e, &buf, &len), CM_EPROTO);
    cr_assert_null(buf, "nothing allocated on failure");

    struct cm_server_msg m = {.kind = CM_SERVER_ACK, .body.ack = {.seq = 0}};
    cr_assert_eq(cm_wire_encode_server(&m, &buf, &len), CM_EPROTO);
    m.kind = CM_SERVER_NONE;
    cr_assert_eq(cm_wire_encode_server(&m, &buf, &len), CM_EPROTO);
}

/* ---- truncation ---------------------------------------------------------- */

static void truncate_everywhere(const struct cm_envelope *in)
{
    uint8_t *buf;
    size_t len;
    cr_assert_eq(cm_wire_encode_envelope(in, &buf, &len), 0);
    for (size_t cut = 0; cut < len; cut++) {
        struct cm_envelope out;
        enum cm_wire_reason r = CM_WIRE_OK;
        /* A fresh copy of exactly `cut` bytes, so ASan sees any over-read. */
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, buf, cut);
        int rc = cm_wire_decode_envelope(part, cut, &out, &r, NULL, 0);
        free(part);
        cr_assert_lt(rc, 0, "prefix of %zu/%zu bytes accepted", cut, len);
        cr_assert_neq(r, CM_WIRE_OK);
        cr_assert_eq(out.kind, CM_BODY_NONE);
        cm_wire_envelope_close(&out);
    }
    free(buf);
}

Test(wire, truncation_at_every_offset)
{
    struct cm_envelope e;
    struct cm_sample samples[3];
    fill_hello(&e, true);
    truncate_everywhere(&e);
    fill_metrics(&e, samples, 3, true);
    truncate_everywhere(&e);

    struct cm_server_msg m = {.kind = CM_SERVER_ACK, .body.ack = {5, CM_ACK_REJECTED, "why"}};
    uint8_t *buf;
    size_t len;
    cr_assert_eq(cm_wire_encode_server(&m, &buf, &len), 0);
    for (size_t cut = 0; cut < len; cut++) {
        struct cm_server_msg out;
        enum cm_wire_reason r;
        cr_assert_lt(cm_wire_decode_server(buf, cut, &out, &r, NULL, 0), 0, "cut %zu", cut);
    }
    free(buf);
}

Test(wire, expansion_budget)
{
    /* 8 MiB of two-byte unknown fields: protobuf-c keeps each as a separate
     * record, ~25 bytes apiece, so unpacking would take >100 MiB. */
    struct cm_buf b;
    raw_head(&b, 1, 5, T0);
    while (b.len + 2 <= CM_WIRE_MAX_MESSAGE)
        cm_buf_append(&b, "\x78\x01", 2); /* field 15, varint 1 */
    expect_reject(&b, CM_WIRE_TOO_BIG, "unknown-field flood");
}

/* The reason names the sample and the field that failed (the label is built
 * only on failure, so check it is still exact). */
Test(wire, rejection_names_the_failing_sample_and_field)
{
    struct cm_buf b, m, s;
    raw_head(&b, 1, 5, T0);
    cm_buf_init(&m, 1024 * 1024);
    tu_pb_uint(&m, 1, (uint64_t)T0);
    const char *ids[] = {"good0", "good1", "bad id"};
    for (size_t i = 0; i < 3; i++) {
        raw_sample(&s, ids[i], "/docker/x", T0);
        tu_pb_sub(&m, 2, &s);
    }
    raw_sample(&s, "good3", "no-slash", T0);
    tu_pb_sub(&m, 2, &s);
    tu_pb_sub(&b, 11, &m);
    struct cm_envelope env;
    enum cm_wire_reason r;
    char why[256] = "";
    cr_assert_lt(cm_wire_decode_envelope((const uint8_t *)b.data, b.len, &env, &r, why, sizeof why),
                 0);
    cr_assert_eq(r, CM_WIRE_BAD_FIELD);
    cr_assert(strncmp(why, "samples[2].container_id: ", 25) == 0, "why: %s", why);
    cm_buf_close(&b);

    /* the first bad one wins; a later field of another sample */
    raw_head(&b, 1, 5, T0);
    cm_buf_init(&m, 1024 * 1024);
    tu_pb_uint(&m, 1, (uint64_t)T0);
    raw_sample(&s, "good0", "/docker/x", T0);
    tu_pb_sub(&m, 2, &s);
    raw_sample(&s, "good1", "no-slash", T0);
    tu_pb_sub(&m, 2, &s);
    tu_pb_sub(&b, 11, &m);
    why[0] = '\0';
    cr_assert_lt(cm_wire_decode_envelope((const uint8_t *)b.data, b.len, &env, &r, why, sizeof why),
                 0);
    cr_assert(strcmp(why, "samples[1].cgroup_path: does not start with '/'") == 0, "why: %s", why);
    cm_buf_close(&b);
}
