/* wire.h - the boxwatch wire codec: C structs <-> protobuf bytes.
 *
 * The only module that touches the protobuf-c generated types. Decoding
 * validates every field (sizes, ranges, enums, UTF-8 of strings, id
 * character sets) and bounds the message size before protobuf-c allocates
 * anything, so the rest of the collector only ever sees well-formed data.
 * It never logs: a rejection comes back as an error code plus a reason
 * (a stable short name for counting, and a human text for the log). */
#ifndef CM_WIRE_H
#define CM_WIRE_H

#include "common/inventory.h"
#include "common/logevent.h"
#include "common/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CM_WIRE_VERSION 1
#define CM_WIRE_MAX_MESSAGE (8u * 1024 * 1024) /* bytes of one ZeroMQ message */
#define CM_WIRE_MAX_SAMPLES 20000              /* samples in one MetricBatch */
#define CM_WIRE_HOSTNAME_MAX 255
#define CM_WIRE_TEXT_MAX 255 /* machine id, kernel, agent version, reasons */
#define CM_WIRE_MAX_PRESENT_IDS 20000 /* present_ids in one InventoryBatch */

/* Why a message was rejected; stable names for counters (cm_wire_reason_name). */
enum cm_wire_reason {
    CM_WIRE_OK = 0,
    CM_WIRE_TOO_BIG,     /* over CM_WIRE_MAX_MESSAGE */
    CM_WIRE_MALFORMED,   /* protobuf-c could not unpack it */
    CM_WIRE_BAD_VERSION, /* version != CM_WIRE_VERSION */
    CM_WIRE_NO_BODY,     /* no body set */
    CM_WIRE_BAD_FIELD,   /* a field failed validation */
    CM_WIRE_TOO_MANY,    /* a list over its cap: samples, containers, present_ids, any
                            inventory list (CM_INV_LIST_MAX) */
    CM_WIRE_REASON__COUNT
};

const char *cm_wire_reason_name(enum cm_wire_reason r); /* "too_big", ... */

struct cm_hello {
    char hostname[CM_WIRE_HOSTNAME_MAX + 1];
    char machine_id[CM_WIRE_TEXT_MAX + 1];
    char kernel[CM_WIRE_TEXT_MAX + 1];
    enum cm_cgroup_mode cgroup_mode;
    char agent_version[CM_WIRE_TEXT_MAX + 1];
    int64_t boot_ns;
};

struct cm_metric_batch {
    int64_t collected_ns;
    struct cm_sample
        *samples; /* encode: borrowed; decode: owned, freed by cm_wire_envelope_close */
    size_t n;
};

struct cm_heartbeat {
    uint64_t containers;
    uint64_t spool_dropped_envelopes;
    uint64_t spool_dropped_samples;
    uint64_t spool_bytes;
    uint64_t unacked;
    uint64_t envelopes_total;
    uint64_t samples_total;
    uint64_t spool_floor_seq; /* 0 = not reported */
};

enum cm_body_kind {
    CM_BODY_NONE = 0,
    CM_BODY_HELLO,
    CM_BODY_METRICS,
    CM_BODY_HEARTBEAT,
    CM_BODY_INVENTORY,
    CM_BODY_EVENTS,
    CM_BODY_POLICY_ACK
};

struct cm_envelope {
    uint32_t version;
    uint64_t seq;
    int64_t sent_ns;
    enum cm_body_kind kind;
    union {
        struct cm_hello hello;
        struct cm_metric_batch metrics;
        struct cm_heartbeat heartbeat;
        struct cm_inventory_batch inventory;
        struct cm_event_batch events;
        struct cm_policy_ack policy_ack;
    } body;
};

enum cm_ack_status { CM_ACK_STORED = 0, CM_ACK_REJECTED = 1 };

struct cm_ack {
    uint64_t seq;
    enum cm_ack_status status;
    char reason[CM_WIRE_TEXT_MAX + 1]; /* empty when none */
};

enum cm_server_kind { CM_SERVER_NONE = 0, CM_SERVER_ACK, CM_SERVER_POLICY };

struct cm_server_msg {
    enum cm_server_kind kind;
    union {
        struct cm_ack ack;
        struct cm_policy policy; /* encode: borrowed; decode: owned (cm_wire_server_close) */
    } body;
};

/* Encodes into a new buffer (caller frees with free()). Validates like the
 * decoder does, so an agent cannot send what a collector would reject:
 * returns CM_EPROTO for an invalid struct, CM_ETOOBIG over the size cap. */
int cm_wire_encode_envelope(const struct cm_envelope *env, uint8_t **out, size_t *out_len);

/* Decodes and validates. On success *env is filled (release it with
 * cm_wire_envelope_close). On failure returns CM_ETOOBIG/CM_EPARSE/CM_EPROTO,
 * sets *reason and writes a human text into why (may be NULL); *env is
 * left zeroed and owns nothing. */
int cm_wire_decode_envelope(const uint8_t *buf, size_t len, struct cm_envelope *env,
                            enum cm_wire_reason *reason, char *why, size_t whylen);

/* Frees what a decoded envelope owns; harmless on a zeroed or encoded one
 * only if it owns nothing (do not call it on envelopes you built yourself). */
void cm_wire_envelope_close(struct cm_envelope *env);

/* The seq of bytes that unpack as an Envelope, without validating it (so a
 * rejection can still be acked). CM_EPARSE/CM_ETOOBIG when there is none. */
int cm_wire_peek_seq(const uint8_t *buf, size_t len, uint64_t *seq);

int cm_wire_encode_server(const struct cm_server_msg *msg, uint8_t **out, size_t *out_len);
int cm_wire_decode_server(const uint8_t *buf, size_t len, struct cm_server_msg *msg,
                          enum cm_wire_reason *reason, char *why, size_t whylen);
/* Frees what a decoded server message owns (a Policy's rules). */
void cm_wire_server_close(struct cm_server_msg *msg);

/* One ContainerInventory on its own, for the collector to keep the exact
 * record it checked (re-evaluated later without the agent). Validated like
 * inside an envelope. decode: *c owned by the caller (cm_container_inv_free). */
int cm_wire_encode_container_inv(const struct cm_container_inv *c, uint8_t **out, size_t *out_len);
int cm_wire_decode_container_inv(const uint8_t *buf, size_t len, struct cm_container_inv *c,
                                 char *why, size_t whylen);

/* Checks that `s` (of length len) is valid UTF-8 without NUL bytes, overlong
 * forms, surrogates or code points above U+10FFFF. 0 or CM_EPARSE. */
int cm_wire_check_utf8(const char *s, size_t len);
/* Container ids: 1..CM_CONTAINER_ID_MAX bytes of [A-Za-z0-9_.:@-]. 0 or CM_EPROTO. */
int cm_wire_check_container_id(const char *s);

/* True when the codec's enum cm_field <-> ContainerSample table agrees with
 * the protobuf descriptor (same names as cm_fields[], uint64, same offsets).
 * For tests: a swapped table line would otherwise round-trip unnoticed. */
bool cm_wire_fields_match_proto(void);

#endif
