/* fuzz_wire_decode.c - untrusted bytes into both wire decoders.
 *
 * Besides "no crash, no leak", it checks the codec's symmetry: whatever the
 * decoder accepts, the encoder (which runs the same validation) must accept
 * too, and the re-encoded message must decode to the same envelope (or
 * server message: acks, and the Policy an agent receives). */
#include "proto/wire.h"

#include <stdlib.h>
#include <string.h>

static void fuzz_envelope(const uint8_t *data, size_t size)
{
    struct cm_envelope env, again;
    enum cm_wire_reason reason;
    char why[256];
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cm_wire_decode_envelope(data, size, &env, &reason, why, sizeof why) < 0) {
        if (reason == CM_WIRE_OK || env.kind != CM_BODY_NONE) abort();
        return;
    }
    if (cm_wire_encode_envelope(&env, &buf, &len) < 0)
        abort(); /* decoder accepted what the encoder refuses */
    if (cm_wire_decode_envelope(buf, len, &again, &reason, NULL, 0) < 0) abort();
    if (again.kind != env.kind || again.seq != env.seq || again.sent_ns != env.sent_ns) abort();
    if (env.kind == CM_BODY_METRICS &&
        (again.body.metrics.n != env.body.metrics.n ||
         (env.body.metrics.n && memcmp(again.body.metrics.samples, env.body.metrics.samples,
                                       env.body.metrics.n * sizeof *env.body.metrics.samples))))
        abort();
    if (env.kind == CM_BODY_EVENTS && (again.body.events.n_events != env.body.events.n_events ||
                                       again.body.events.n_stats != env.body.events.n_stats))
        abort();
    free(buf);
    cm_wire_envelope_close(&again);
    cm_wire_envelope_close(&env);
}

/* Agents decode server messages from the network: a Policy's rules get the
 * same symmetry check as envelopes. */
static void fuzz_server(const uint8_t *data, size_t size)
{
    struct cm_server_msg msg, again;
    enum cm_wire_reason reason;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cm_wire_decode_server(data, size, &msg, &reason, NULL, 0) < 0) {
        if (reason == CM_WIRE_OK || msg.kind != CM_SERVER_NONE) abort();
        return;
    }
    if (cm_wire_encode_server(&msg, &buf, &len) < 0) abort();
    if (cm_wire_decode_server(buf, len, &again, &reason, NULL, 0) < 0) abort();
    if (again.kind != msg.kind) abort();
    if (msg.kind == CM_SERVER_POLICY) {
        const struct cm_policy *a = &msg.body.policy, *b = &again.body.policy;
        if (a->version != b->version || a->n != b->n) abort();
        for (size_t i = 0; i < a->n; i++) {
            if (strcmp(a->rules[i].id, b->rules[i].id) != 0 ||
                a->rules[i].sources != b->rules[i].sources ||
                a->rules[i].threshold.count != b->rules[i].threshold.count ||
                a->rules[i].tags.n != b->rules[i].tags.n)
                abort();
        }
    }
    free(buf);
    cm_wire_server_close(&again);
    cm_wire_server_close(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_envelope(data, size);
    fuzz_server(data, size);
    return 0;
}
