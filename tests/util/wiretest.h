/* wiretest.h - what the wire codec's tests share: a tiny protobuf writer
 * for bytes our encoder refuses to produce (invalid fields, hostile sizes,
 * duplicated fields), and an encode-then-decode round trip.
 *
 * Header-only, for Criterion tests: a failed step fails the test. A raw
 * buffer is the caller's (cm_buf_init before, cm_buf_close after);
 * tu_pb_sub appends a finished sub-message and closes it. */
#ifndef BW_WIRETEST_H
#define BW_WIRETEST_H

#include "common/buf.h"
#include "proto/wire.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void tu_pb_varint(struct cm_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) tmp[n] |= 0x80;
        n++;
    } while (v);
    cr_assert_eq(cm_buf_append(b, tmp, n), 0);
}

/* A varint field (uint32/64, int64 as two's complement, bool, enum). */
static inline void tu_pb_uint(struct cm_buf *b, unsigned field, uint64_t v)
{
    tu_pb_varint(b, (uint64_t)field << 3);
    tu_pb_varint(b, v);
}

/* A length-delimited field (string, bytes, sub-message). */
static inline void tu_pb_bytes(struct cm_buf *b, unsigned field, const void *p, size_t n)
{
    tu_pb_varint(b, ((uint64_t)field << 3) | 2);
    tu_pb_varint(b, n);
    cr_assert_eq(cm_buf_append(b, p, n), 0);
}

static inline void tu_pb_str(struct cm_buf *b, unsigned field, const char *s)
{
    tu_pb_bytes(b, field, s, strlen(s));
}

/* Appends `sub` as a length-delimited field and frees it. */
static inline void tu_pb_sub(struct cm_buf *b, unsigned field, struct cm_buf *sub)
{
    tu_pb_bytes(b, field, sub->data, sub->len);
    cm_buf_close(sub);
}

/* Encodes `in`, decodes the bytes into `out` (release it with
 * cm_wire_envelope_close) and checks the head survived. */
static inline void tu_wire_roundtrip(const struct cm_envelope *in, struct cm_envelope *out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    enum cm_wire_reason r = CM_WIRE_TOO_MANY;
    char why[256] = "x";
    cr_assert_eq(cm_wire_encode_envelope(in, &buf, &len), 0);
    int rc = cm_wire_decode_envelope(buf, len, out, &r, why, sizeof why);
    free(buf);
    cr_assert_eq(rc, 0, "decode failed: %s (%s)", cm_wire_reason_name(r), why);
    cr_assert_eq(r, CM_WIRE_OK);
    cr_assert_str_empty(why);
    cr_assert_eq(out->version, in->version);
    cr_assert_eq(out->seq, in->seq);
    cr_assert_eq(out->sent_ns, in->sent_ns);
    cr_assert_eq(out->kind, in->kind);
}

#endif
