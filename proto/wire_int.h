/* wire_int.h - what the codec's files share: wire.c (envelope, hello,
 * metrics, heartbeat, acks, the unpack budget), wire_inventory.c
 * (InventoryBatch, ContainerInventory) and wire_events.c (EventBatch,
 * PolicyAck, Policy). Not for use outside proto/; the
 * generated protobuf-c types stay behind this line. */
#ifndef CM_WIRE_INT_H
#define CM_WIRE_INT_H

#include "proto/boxwatch.pb-c.h"
#include "proto/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where a failure is reported and which list item it happened in. The
 * "<item_name>[<item>]." prefix (or "<item_name>." when item is -1) is
 * written only when a check fails: formatting labels up front for every
 * field of every item was a quarter of the decoder's time. */
struct cm_wire_ctx {
    enum cm_wire_reason reason;
    char *why; /* may be NULL */
    size_t whylen;
    const char *item_name; /* "samples", "containers", "host" or NULL */
    long item;             /* index in item_name, or -1 */
};

#define CM_WIRE_CTX_INIT(why, whylen)                                                              \
    {                                                                                              \
        CM_WIRE_OK, (why), (whylen), NULL, -1                                                      \
    }

/* Records the reason, writes the prefixed text into c->why, and returns the
 * error code that goes with the reason (CM_ETOOBIG, CM_EPARSE, CM_EPROTO). */
int cm_wire_fail(struct cm_wire_ctx *c, enum cm_wire_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* ns is a time after 1970 and before 2200. */
int cm_wire_check_ts(struct cm_wire_ctx *c, const char *what, int64_t ns);
int cm_wire_check_enum(struct cm_wire_ctx *c, const char *what, unsigned v, unsigned count);
/* Copies src (NULL, an absent optional, becomes "") into char[size];
 * bad_field "<what>: longer than size-1 bytes" when it does not fit. */
int cm_wire_copy_str(struct cm_wire_ctx *c, const char *what, char *dst, size_t size,
                     const char *src);

/* Packs m into a new buffer (caller frees); CM_ETOOBIG over the message cap. */
int cm_wire_pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len);

/* Every decoder's path: size cap, unpack under the allocation budget,
 * canonical-size check, from_pb (convert and validate into the zeroed
 * `out`), free the protobuf; on failure reset(out) leaves it owning
 * nothing. reason may be NULL. */
int cm_wire_decode_msg(const ProtobufCMessageDescriptor *desc,
                       int (*from_pb)(struct cm_wire_ctx *, const ProtobufCMessage *, void *),
                       void (*reset)(void *), void *out, const uint8_t *buf, size_t len,
                       enum cm_wire_reason *reason, char *why, size_t whylen);

/* Allocations made while mapping C structs to protobuf-c ones for one
 * encode, released together by cm_wire_arena_free. */
struct cm_wire_arena {
    void **p;
    size_t n, cap;
};

/* Zeroed; NULL for count 0 (protobuf-c never reads an empty list's array). */
void *cm_wire_arena_alloc(struct cm_wire_arena *a, size_t count, size_t size);
void cm_wire_arena_free(struct cm_wire_arena *a);

/* wire_inventory.c: the checks both directions run on the C model, the
 * conversion of an unpacked InventoryBatch (into the zeroed *b; on failure
 * *b may hold part of it, for cm_inventory_batch_free), and the mapping to
 * protobuf-c (borrowing b's strings; arrays from the arena). */
int cm_wire_check_inventory(struct cm_wire_ctx *c, const struct cm_inventory_batch *b);
int cm_wire_inventory_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__InventoryBatch *p,
                              struct cm_inventory_batch *b);
void cm_wire_inventory_to_pb(struct cm_wire_arena *a, const struct cm_inventory_batch *b,
                             Boxwatch__V1__InventoryBatch *p);

/* wire_events.c, the same three steps for each body: checks on the C model
 * (both directions), conversion of the unpacked message into the zeroed
 * C struct (on failure it may hold part of it, for its _free function),
 * and the mapping to protobuf-c (everything from the arena, strings
 * borrowed from the C struct). */
int cm_wire_check_events(struct cm_wire_ctx *c, const struct cm_event_batch *b);
int cm_wire_events_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__EventBatch *p,
                           struct cm_event_batch *b);
Boxwatch__V1__EventBatch *cm_wire_events_to_pb(struct cm_wire_arena *a,
                                               const struct cm_event_batch *b);
int cm_wire_check_policy_ack(struct cm_wire_ctx *c, const struct cm_policy_ack *a);
int cm_wire_policy_ack_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__PolicyAck *p,
                               struct cm_policy_ack *a);
Boxwatch__V1__PolicyAck *cm_wire_policy_ack_to_pb(struct cm_wire_arena *a,
                                                  const struct cm_policy_ack *ack);
int cm_wire_check_policy(struct cm_wire_ctx *c, const struct cm_policy *p);
int cm_wire_policy_from_pb(struct cm_wire_ctx *c, const Boxwatch__V1__Policy *p,
                           struct cm_policy *pol);
Boxwatch__V1__Policy *cm_wire_policy_to_pb(struct cm_wire_arena *a, const struct cm_policy *pol);

#endif
