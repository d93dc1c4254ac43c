/* test_wire_inventory.c - the inventory codec: a fully populated batch (with
 * the host's inventory) and a single ContainerInventory round trip field by
 * field; every validation rule is broken once on the encoder side (a C
 * struct it must refuse) and once on the decoder side (bytes built by hand,
 * with the reason and the field named in the text); present_ids/complete.
 * The JSON rendering is tested in tests/unit/common/test_inventory_json.c.
 * Under ASan the failure paths are also leak checks. */
#include "common/alloc.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/inventory.h"
#include "common/timeutil.h"
#include "proto/wire.h"
#include "tests/util/invtest.h"
#include "tests/util/wiretest.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 TU_INV_T0
#define BIG_U64 TU_INV_BIG_U64

TestSuite(wire_inventory, .timeout = 60);

/* ---- a fully populated model --------------------------------------------- */

/* A batch of n full containers plus one that only has an id and a runtime. */
static void fill_batch(struct cm_envelope *e, size_t n, bool host)
{
    memset(e, 0, sizeof *e);
    e->version = CM_WIRE_VERSION;
    e->seq = 9;
    e->sent_ns = T0 + 5;
    e->kind = CM_BODY_INVENTORY;
    struct cm_inventory_batch *b = &e->body.inventory;
    b->collected_ns = T0;
    b->n = n + 1;
    b->containers = cm_xcalloc(n + 1, sizeof *b->containers);
    for (size_t i = 0; i < n; i++)
        tu_inv_fill_container(&b->containers[i], i);
    snprintf(b->containers[n].id, sizeof b->containers[n].id, "runc:minimal@1");
    b->containers[n].runtime = CM_RT_CUSTOM;
    if (host) {
        b->host = cm_xcalloc(1, sizeof *b->host);
        tu_inv_fill_host(b->host);
    }
    b->complete = true;
    b->n_present = n + 1;
    b->present_ids = cm_xcalloc(n + 1, sizeof *b->present_ids);
    for (size_t i = 0; i <= n; i++)
        b->present_ids[i] = cm_xstrdup(b->containers[i].id);
}

static void batch_eq(const struct cm_inventory_batch *a, const struct cm_inventory_batch *b)
{
    cr_assert_eq(a->collected_ns, b->collected_ns);
    cr_assert_eq(a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        tu_inv_container_eq(&a->containers[i], &b->containers[i]);
    cr_assert_eq(!a->host, !b->host);
    if (a->host) tu_inv_host_eq(a->host, b->host);
    cr_assert_eq(a->complete, b->complete);
    cr_assert_eq(a->n_present, b->n_present);
    for (size_t i = 0; i < a->n_present; i++)
        tu_inv_str_eq(a->present_ids[i], b->present_ids[i], "present_ids");
}

/* ---- round trips ---------------------------------------------------------- */

Test(wire_inventory, full_batch_with_host_roundtrips)
{
    struct cm_envelope in, out;
    fill_batch(&in, 3, true);
    tu_wire_roundtrip(&in, &out);
    batch_eq(&in.body.inventory, &out.body.inventory);
    /* spot checks, so that a comparison helper that compares nothing fails */
    cr_assert_eq(out.body.inventory.n, 4);
    cr_assert_eq(out.body.inventory.containers[2].memory_limit_bytes, BIG_U64);
    cr_assert_eq(out.body.inventory.containers[0].pids_limit, INT64_MIN);
    cr_assert_str_eq(out.body.inventory.containers[1].labels[0].value, "team-1");
    cr_assert_null(out.body.inventory.containers[1].labels[1].value);
    cr_assert_str_eq(out.body.inventory.containers[0].error, "");
    cr_assert_null(out.body.inventory.containers[3].name);
    cr_assert_eq(out.body.inventory.host->runtime_sockets[0].mode, 0660);
    cm_wire_envelope_close(&out);
    cr_assert_eq(out.kind, CM_BODY_NONE);
    cm_wire_envelope_close(&out); /* twice is harmless */
    cm_inventory_batch_free(&in.body.inventory);
}

Test(wire_inventory, empty_batch_without_host_roundtrips)
{
    struct cm_envelope in, out;
    memset(&in, 0, sizeof in);
    in.version = CM_WIRE_VERSION;
    in.seq = 1;
    in.sent_ns = T0;
    in.kind = CM_BODY_INVENTORY;
    in.body.inventory.collected_ns = T0;
    tu_wire_roundtrip(&in, &out);
    cr_assert_eq(out.body.inventory.n, 0);
    cr_assert_null(out.body.inventory.containers);
    cr_assert_null(out.body.inventory.host);
    cr_assert_not(out.body.inventory.complete);
    cm_wire_envelope_close(&out);
}

Test(wire_inventory, complete_with_no_containers_means_none_present)
{
    struct cm_envelope in, out;
    memset(&in, 0, sizeof in);
    in.version = CM_WIRE_VERSION;
    in.seq = 2;
    in.sent_ns = T0;
    in.kind = CM_BODY_INVENTORY;
    in.body.inventory.collected_ns = T0;
    in.body.inventory.complete = true;
    tu_wire_roundtrip(&in, &out);
    cr_assert(out.body.inventory.complete);
    cr_assert_eq(out.body.inventory.n_present, 0);
    cm_wire_envelope_close(&out);
}

Test(wire_inventory, present_ids_only_with_complete)
{
    struct cm_envelope in;
    uint8_t *buf = NULL;
    size_t len = 0;
    fill_batch(&in, 1, false);
    in.body.inventory.complete = false;
    cr_assert_eq(cm_wire_encode_envelope(&in, &buf, &len), CM_EPROTO);
    in.body.inventory.complete = true;
    free(in.body.inventory.present_ids[0]);
    in.body.inventory.present_ids[0] = cm_xstrdup("not an id");
    cr_assert_eq(cm_wire_encode_envelope(&in, &buf, &len), CM_EPROTO);
    free(in.body.inventory.present_ids[0]);
    in.body.inventory.present_ids[0] = NULL;
    cr_assert_eq(cm_wire_encode_envelope(&in, &buf, &len), CM_EPROTO);
    in.body.inventory.present_ids[0] = cm_xstrdup("ok-id");
    cr_assert_eq(cm_wire_encode_envelope(&in, &buf, &len), 0);
    free(buf);
    cm_inventory_batch_free(&in.body.inventory);
}

Test(wire_inventory, single_container_roundtrips)
{
    struct cm_container_inv in, out;
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[128] = "x";
    tu_inv_fill_container(&in, 7);
    cr_assert_eq(cm_wire_encode_container_inv(&in, &buf, &len), 0);
    cr_assert_eq(cm_wire_decode_container_inv(buf, len, &out, why, sizeof why), 0, "%s", why);
    cr_assert_str_empty(why);
    tu_inv_container_eq(&in, &out);
    cr_assert_str_eq(out.name, "/web-7");
    cm_container_inv_free(&out);
    /* Truncated bytes are rejected and leave nothing behind. */
    memset(&out, 0xAA, sizeof out);
    cr_assert_lt(cm_wire_decode_container_inv(buf, len - 1, &out, why, sizeof why), 0);
    static const struct cm_container_inv zero;
    cr_assert_eq(memcmp(&out, &zero, sizeof out), 0);
    cr_assert_neq(why[0], '\0');
    free(buf);
    cm_container_inv_free(&in);
}

/* ---- the encoder refuses what the decoder would reject --------------------- */

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = s ? cm_xstrdup(s) : NULL;
}

static char *long_str(size_t n)
{
    char *s = cm_xmalloc(n + 1);
    memset(s, 'a', n);
    s[n] = '\0';
    return s;
}

/* Breaks rule k of a valid container; returns the error the encoder must
 * give, or 0 once every rule has had its turn. */
static int break_container(struct cm_container_inv *c, int k)
{
    switch (k) {
    case 0:
        c->id[0] = '\0';
        return CM_EPROTO;
    case 1:
        c->id[3] = '/';
        return CM_EPROTO;
    case 2:
        memset(c->id, 'a', sizeof c->id);
        return CM_EPROTO; /* no NUL in the array */
    case 3:
        c->runtime = CM_RT__COUNT;
        return CM_EPROTO;
    case 4:
        c->state = CM_INV_STATE__COUNT;
        return CM_EPROTO;
    case 5:
        c->created_ns = -1;
        return CM_EPROTO;
    case 6:
        c->started_ns = INT64_MAX;
        return CM_EPROTO;
    case 7:
        c->pid = 4194305;
        return CM_EPROTO;
    case 8:
        c->host_namespaces = 1u << 6;
        return CM_EPROTO;
    case 9:
        c->known = 1u << 17;
        return CM_EPROTO;
    case 10:
        c->name[0] = (char)0xff;
        return CM_EPROTO;
    case 11:
        free(c->image);
        c->image = long_str(CM_INV_STR_MAX + 1);
        return CM_EPROTO;
    case 12:
        set_str(&c->labels[0].key, NULL);
        return CM_EPROTO;
    case 13:
        set_str(&c->labels[1].value, "\xc0\xaf");
        return CM_EPROTO;
    case 14:
        set_str(&c->cap_add.v[1], NULL);
        return CM_EPROTO;
    case 15:
        set_str(&c->security_opt.v[0], "\xed\xa0\x80");
        return CM_EPROTO;
    case 16:
        set_str(&c->devices.v[0], NULL);
        free(c->devices.v);
        c->devices.v = NULL;
        return CM_EPROTO; /* n = 1 without an array */
    case 17:
        set_str(&c->mounts[1].destination, NULL);
        return CM_EPROTO;
    case 18:
        c->ports[0].container_port = 0;
        return CM_EPROTO;
    case 19:
        c->ports[1].container_port = 65536;
        return CM_EPROTO;
    case 20:
        c->ports[0].host_port = 65536;
        return CM_EPROTO;
    case 21:
        set_str(&c->ports[1].protocol, NULL);
        return CM_EPROTO;
    case 22:
        set_str(&c->env[0].name, NULL);
        return CM_EPROTO;
    case 23:
        c->env[1].secret_like = false;
        return CM_EPROTO;
    case 24:
        c->listening[0].port = 65536;
        return CM_EPROTO;
    case 25:
        set_str(&c->listening[0].address, NULL);
        return CM_EPROTO;
    case 26:
        set_str(&c->processes[1].exe, NULL);
        return CM_EPROTO;
    case 27:
        set_str(&c->processes[0].comm, "\x80");
        return CM_EPROTO;
    case 28:
        c->cap_drop.v = cm_xrealloc(c->cap_drop.v, (CM_INV_LIST_MAX + 1) * sizeof(char *));
        for (size_t i = c->cap_drop.n; i <= CM_INV_LIST_MAX; i++)
            c->cap_drop.v[i] = cm_xstrdup("X");
        c->cap_drop.n = CM_INV_LIST_MAX + 1;
        return CM_ETOOBIG;
    default:
        return 0;
    }
}

Test(wire_inventory, encoder_refuses_each_broken_container_rule)
{
    int k = 0, want;
    for (;; k++) {
        struct cm_container_inv c;
        struct cm_envelope env;
        uint8_t *buf = NULL;
        size_t len = 0;
        tu_inv_fill_container(&c, 0);
        if ((want = break_container(&c, k)) == 0) {
            cm_container_inv_free(&c);
            break;
        }
        cr_expect_eq(cm_wire_encode_container_inv(&c, &buf, &len), want, "rule %d", k);
        fill_batch(&env, 0, false);
        cm_container_inv_free(&env.body.inventory.containers[0]);
        env.body.inventory.containers[0] = c; /* the batch owns it now */
        set_str(&env.body.inventory.present_ids[0], "abc");
        cr_expect_eq(cm_wire_encode_envelope(&env, &buf, &len), want, "rule %d in a batch", k);
        cm_inventory_batch_free(&env.body.inventory);
    }
    cr_assert_eq(k, 29, "every rule had its turn");
}

Test(wire_inventory, encoder_refuses_broken_host_and_batch)
{
    struct cm_envelope e;
    uint8_t *buf = NULL;
    size_t len = 0;
    for (int k = 0; k < 9; k++) {
        fill_batch(&e, 1, true);
        struct cm_inventory_batch *b = &e.body.inventory;
        struct cm_host_inv *h = b->host;
        int want = CM_EPROTO;
        switch (k) {
        case 0:
            h->runtime_sockets[0].mode = 010000;
            break;
        case 1:
            set_str(&h->runtime_sockets[1].path, NULL);
            break;
        case 2:
            set_str(&h->runtime_sockets[0].group, "\xff");
            break;
        case 3:
            set_str(&h->daemon_settings[0].key, NULL);
            break;
        case 4:
            set_str(&h->daemon_config_path, "\xc1\xbf");
            break;
        case 5:
            b->collected_ns = 0;
            break;
        case 6:
            b->present_ids[0][0] = ' ';
            break;
        case 7:
            b->containers =
                cm_xrealloc(b->containers, (CM_INV_MAX_CONTAINERS + 1) * sizeof *b->containers);
            memset(b->containers + b->n, 0,
                   (CM_INV_MAX_CONTAINERS + 1 - b->n) * sizeof *b->containers);
            b->n = CM_INV_MAX_CONTAINERS + 1;
            want = CM_ETOOBIG;
            break;
        case 8:
            b->present_ids =
                cm_xrealloc(b->present_ids, (CM_WIRE_MAX_PRESENT_IDS + 1) * sizeof *b->present_ids);
            for (size_t i = b->n_present; i <= CM_WIRE_MAX_PRESENT_IDS; i++)
                b->present_ids[i] = tu_inv_dupf("id%zu", i);
            b->n_present = CM_WIRE_MAX_PRESENT_IDS + 1;
            want = CM_ETOOBIG;
            break;
        }
        cr_expect_eq(cm_wire_encode_envelope(&e, &buf, &len), want, "case %d", k);
        cm_inventory_batch_free(b);
    }
}

/* ---- the decoder rejects hand-built bytes, and says where ----------------- */

struct raw_field {
    unsigned field;
    const char *s; /* a string field when set, else the varint u */
    uint64_t u;
};

struct raw_case {
    struct raw_field f;      /* the field; with sub[0].field set, a sub-message */
    struct raw_field sub[4]; /* of these fields */
    enum cm_wire_reason want;
    const char *why;
};

static void raw_put(struct cm_buf *b, const struct raw_field *f)
{
    if (f->s)
        tu_pb_str(b, f->field, f->s);
    else
        tu_pb_uint(b, f->field, f->u);
}

/* A ContainerInventory: id "abc" and runtime docker unless k sets them,
 * then k's field. k may be NULL (the valid base). */
static void raw_container(struct cm_buf *b, const struct raw_case *k)
{
    unsigned f = k ? k->f.field : 0;
    cm_buf_init(b, 64u * 1024 * 1024);
    if (f != 1) tu_pb_str(b, 1, "abc");
    if (f != 2) tu_pb_uint(b, 2, CM_RT_DOCKER);
    if (!k) return;
    if (!k->sub[0].field) {
        raw_put(b, &k->f);
        return;
    }
    struct cm_buf s;
    cm_buf_init(&s, 1024 * 1024);
    for (size_t i = 0; i < 4 && k->sub[i].field; i++)
        raw_put(&s, &k->sub[i]);
    tu_pb_sub(b, f, &s);
}

/* An InventoryBatch body: collected_unix_ns first (or not, when 0). */
static void raw_batch(struct cm_buf *b, int64_t collected)
{
    cm_buf_init(b, 64u * 1024 * 1024);
    if (collected) tu_pb_uint(b, 1, (uint64_t)collected);
}

/* Wraps a finished batch into an Envelope (and closes the batch). */
static void raw_env(struct cm_buf *env, struct cm_buf *batch)
{
    cm_buf_init(env, 64u * 1024 * 1024);
    tu_pb_uint(env, 1, CM_WIRE_VERSION);
    tu_pb_uint(env, 2, 5);
    tu_pb_uint(env, 3, (uint64_t)T0);
    tu_pb_sub(env, 13, batch);
}

/* Decodes b as an Envelope (closing b); returns the reason, checks that a
 * rejection says `why` and leaves nothing behind. */
static enum cm_wire_reason env_verdict(struct cm_buf *b, const char *why_part, const char *what)
{
    static const struct cm_envelope zero;
    struct cm_envelope env;
    enum cm_wire_reason r = CM_WIRE_TOO_BIG;
    char why[256] = "";
    memset(&env, 0xAA, sizeof env);
    int rc = cm_wire_decode_envelope((const uint8_t *)b->data, b->len, &env, &r, why, sizeof why);
    cm_buf_close(b);
    if (rc == 0) {
        cm_wire_envelope_close(&env);
        return r;
    }
    cr_expect(strstr(why, why_part), "%s: why '%s' lacks '%s'", what, why, why_part);
    cr_expect_eq(memcmp(&env, &zero, sizeof env), 0, "%s: failed decode left data", what);
    return r;
}

/* Same for a lone ContainerInventory. */
static int container_verdict(struct cm_buf *b, const char *why_part, const char *what)
{
    static const struct cm_container_inv zero;
    struct cm_container_inv c;
    char why[256] = "";
    memset(&c, 0xAA, sizeof c);
    int rc = cm_wire_decode_container_inv((const uint8_t *)b->data, b->len, &c, why, sizeof why);
    if (rc == 0) {
        cm_container_inv_free(&c);
        return 0;
    }
    cr_expect(strstr(why, why_part), "%s: why '%s' lacks '%s'", what, why, why_part);
    cr_expect_eq(memcmp(&c, &zero, sizeof c), 0, "%s: failed decode left data", what);
    return rc;
}

/* The container inside a batch inside an envelope. */
static void env_of_container(struct cm_buf *env, struct cm_buf *c)
{
    struct cm_buf batch;
    raw_batch(&batch, T0);
    tu_pb_sub(&batch, 2, c);
    raw_env(env, &batch);
}

Test(wire_inventory, raw_base_messages_are_valid)
{
    struct cm_buf c, env;
    raw_container(&c, NULL);
    cr_assert_eq(container_verdict(&c, "", "base"), 0);
    env_of_container(&env, &c);
    cr_assert_eq(env_verdict(&env, "", "base"), CM_WIRE_OK);
}

#define BAD CM_WIRE_BAD_FIELD
static const struct raw_case raw_cases[] = {
    {{1, "a/b", 0}, {{0}}, BAD, "container_id: not 1..128 bytes"},
    {{1, "", 0}, {{0}}, BAD, "container_id: not 1..128 bytes"},
    {{2, NULL, 6}, {{0}}, BAD, "runtime: unknown value 6"},
    {{3, NULL, 7}, {{0}}, BAD, "state: unknown value 7"},
    {{9, NULL, (uint64_t)-5}, {{0}}, BAD, "created: -5 is not a time"},
    {{10, NULL, UINT64_C(7258118400000000000)}, {{0}}, BAD, "started: 7258118400000000000"},
    {{12, NULL, 4194305}, {{0}}, BAD, "pid: 4194305 not in 0..4194304"},
    {{27, NULL, 64}, {{0}}, BAD, "host_namespaces: unknown bits 0x40"},
    {{50, NULL, 1u << 17}, {{0}}, BAD, "known: unknown bits 0x20000"},
    {{5, "\xc3\x28", 0}, {{0}}, BAD, "name: not valid UTF-8"},
    {{49, "\xc0\xaf", 0}, {{0}}, BAD, "cgroup_parent: not valid UTF-8"},
    {{22, "\xed\xa0\x80", 0}, {{0}}, BAD, "cap_add[0]: not valid UTF-8"},
    {{48, "\xf4\x90\x80\x80", 0}, {{0}}, BAD, "devices[0]: not valid UTF-8"},
    {{8, NULL, 0}, {{1, "k", 0}, {2, "\xff", 0}}, BAD, "labels[0].value: not valid UTF-8"},
    {{8, NULL, 0}, {{1, "\xfe", 0}}, BAD, "labels[0].key: not valid UTF-8"},
    {{26, NULL, 0}, {{2, "\xff", 0}}, BAD, "mounts[0].destination: not valid UTF-8"},
    {{26, NULL, 0}, {{1, "/src", 0}}, CM_WIRE_MALFORMED, "not a valid"}, /* required destination */
    {{40, NULL, 0},
     {{1, NULL, 0}, {2, "tcp", 0}},
     BAD,
     "ports[0].container_port: 0 not in 1..65535"},
    {{40, NULL, 0},
     {{1, NULL, 65536}, {2, "tcp", 0}},
     BAD,
     "ports[0].container_port: 65536 not in"},
    {{40, NULL, 0},
     {{1, NULL, 80}, {2, "tcp", 0}, {4, NULL, 65536}},
     BAD,
     "ports[0].host_port: 65536 not in 0..65535"},
    {{40, NULL, 0}, {{1, NULL, 80}, {2, "\xff", 0}}, BAD, "ports[0].protocol: not valid UTF-8"},
    {{44, NULL, 0},
     {{1, "A", 0}, {3, "name:A", 0}},
     BAD,
     "env[0].secret_reason: set but secret_like"},
    {{44, NULL, 0}, {{1, "\xe0\x80\x80", 0}}, BAD, "env[0].name: not valid UTF-8"},
    {{45, NULL, 0},
     {{1, "tcp", 0}, {2, "0.0.0.0", 0}, {3, NULL, 65536}},
     BAD,
     "listening[0].port: 65536 not in 0..65535"},
    {{46, NULL, 0}, {{1, "\xff", 0}}, BAD, "processes[0].exe: not valid UTF-8"},
    {{46, NULL, 0}, {{1, "/bin/sh", 0}, {2, "\x80", 0}}, BAD, "processes[0].comm: not valid UTF-8"},
};
#undef BAD

Test(wire_inventory, decoder_rejects_each_broken_field_with_its_reason)
{
    for (size_t i = 0; i < sizeof raw_cases / sizeof raw_cases[0]; i++) {
        const struct raw_case *k = &raw_cases[i];
        char what[32], prefixed[200];
        struct cm_buf c, env;
        snprintf(what, sizeof what, "case %zu", i);
        raw_container(&c, k);
        cr_expect_lt(container_verdict(&c, k->why, what), 0, "%s: lone container accepted", what);
        env_of_container(&env, &c);
        snprintf(prefixed, sizeof prefixed, "%s%s",
                 k->want == CM_WIRE_MALFORMED ? "" : "containers[0].", k->why);
        enum cm_wire_reason r = env_verdict(&env, prefixed, what);
        cr_expect_eq(r, k->want, "%s: reason %s, want %s", what, cm_wire_reason_name(r),
                     cm_wire_reason_name(k->want));
    }
}

Test(wire_inventory, decoder_rejects_long_strings_and_embedded_nul)
{
    struct cm_buf c, env;
    char *id = long_str(CM_CONTAINER_ID_MAX + 1), *image = long_str(CM_INV_STR_MAX + 1);
    struct raw_case k = {{1, id, 0}, {{0}}, CM_WIRE_BAD_FIELD, NULL};
    raw_container(&c, &k);
    env_of_container(&env, &c);
    cr_expect_eq(env_verdict(&env, "containers[0].container_id: longer than 128 bytes", "id"),
                 CM_WIRE_BAD_FIELD);
    k.f = (struct raw_field){6, image, 0};
    raw_container(&c, &k);
    env_of_container(&env, &c);
    cr_expect_eq(env_verdict(&env, "containers[0].image: longer than 4096 bytes", "image"),
                 CM_WIRE_BAD_FIELD);
    image[CM_INV_STR_MAX] = '\0'; /* exactly at the cap is fine */
    raw_container(&c, &k);
    cr_expect_eq(container_verdict(&c, "", "image at cap"), 0);
    cm_buf_close(&c);
    free(id);
    free(image);
    /* protobuf-c would cut "a\0b" at the NUL; the canonical size check sees it */
    raw_container(&c, NULL);
    tu_pb_bytes(&c, 5, "a\0b", 3);
    cr_expect_eq(container_verdict(&c, "non-canonical", "NUL"), CM_EPARSE);
    env_of_container(&env, &c);
    cr_expect_eq(env_verdict(&env, "non-canonical", "NUL"), CM_WIRE_MALFORMED);
}

/* n copies of a field, as a sub-message when sub is set. */
static void raw_repeat(struct cm_buf *b, unsigned field, size_t n, const char *s, bool sub)
{
    for (size_t i = 0; i < n; i++) {
        if (!sub) {
            tu_pb_str(b, field, s);
            continue;
        }
        struct cm_buf kv;
        cm_buf_init(&kv, 1024);
        tu_pb_str(&kv, 1, s);
        tu_pb_sub(b, field, &kv);
    }
}

Test(wire_inventory, decoder_rejects_lists_over_their_caps)
{
    struct cm_buf c, env, batch;
    const struct {
        unsigned field;
        bool sub;
        const char *why;
    } lists[] = {{8, true, "containers[0].labels: 1025 entries, at most 1024"},
                 {23, false, "containers[0].cap_drop: 1025 entries, at most 1024"},
                 {44, true, "containers[0].env: 1025 entries"},
                 {46, true, "containers[0].processes: 1025 entries"}};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        raw_container(&c, NULL);
        raw_repeat(&c, lists[i].field, CM_INV_LIST_MAX + 1, "X", lists[i].sub);
        cr_expect_eq(container_verdict(&c, lists[i].why + strlen("containers[0]."), "lone"),
                     CM_ETOOBIG);
        env_of_container(&env, &c);
        cr_expect_eq(env_verdict(&env, lists[i].why, lists[i].why), CM_WIRE_TOO_MANY);
    }
    /* at the cap is fine */
    raw_container(&c, NULL);
    raw_repeat(&c, 8, CM_INV_LIST_MAX, "X", true);
    cr_expect_eq(container_verdict(&c, "", "labels at cap"), 0);
    cm_buf_close(&c);

    raw_batch(&batch, T0);
    for (size_t i = 0; i <= CM_INV_MAX_CONTAINERS; i++) {
        raw_container(&c, NULL);
        tu_pb_sub(&batch, 2, &c);
    }
    raw_env(&env, &batch);
    cr_expect_eq(env_verdict(&env, "inventory.containers: 2001 entries, at most 2000", "n"),
                 CM_WIRE_TOO_MANY);

    raw_batch(&batch, T0);
    tu_pb_uint(&batch, 4, 1);
    raw_repeat(&batch, 5, CM_WIRE_MAX_PRESENT_IDS + 1, "abc", false);
    raw_env(&env, &batch);
    cr_expect_eq(env_verdict(&env, "inventory.present_ids: 20001 entries", "present"),
                 CM_WIRE_TOO_MANY);
}

Test(wire_inventory, decoder_checks_batch_and_present_ids)
{
    struct cm_buf env, batch, c;
    raw_batch(&batch, 0); /* collected_unix_ns is required: unpack fails */
    raw_env(&env, &batch);
    cr_expect_eq(env_verdict(&env, "not a valid", "no collected"), CM_WIRE_MALFORMED);
    raw_batch(&batch, -1);
    raw_env(&env, &batch);
    cr_expect_eq(env_verdict(&env, "inventory.collected: -1 is not a time", "collected"),
                 CM_WIRE_BAD_FIELD);

    raw_batch(&batch, T0);
    tu_pb_str(&batch, 5, "abc");
    raw_env(&env, &batch);
    cr_expect_eq(env_verdict(&env, "inventory.present_ids: sent without complete", "!complete"),
                 CM_WIRE_BAD_FIELD);

    raw_batch(&batch, T0);
    tu_pb_uint(&batch, 4, 1);
    tu_pb_str(&batch, 5, "abc");
    tu_pb_str(&batch, 5, "a b");
    raw_env(&env, &batch);
    cr_expect_eq(env_verdict(&env, "inventory.present_ids[1]: not 1..128 bytes", "bad id"),
                 CM_WIRE_BAD_FIELD);

    /* the second container is the broken one, and the text says so */
    raw_batch(&batch, T0);
    raw_container(&c, NULL);
    tu_pb_sub(&batch, 2, &c);
    raw_container(&c, &(struct raw_case){{12, NULL, 4194305}, {{0}}, 0, NULL});
    tu_pb_sub(&batch, 2, &c);
    raw_env(&env, &batch);
    cr_expect_eq(env_verdict(&env, "containers[1].pid:", "second"), CM_WIRE_BAD_FIELD);

    /* complete, with ids: accepted and carried */
    raw_batch(&batch, T0);
    tu_pb_uint(&batch, 4, 1);
    tu_pb_str(&batch, 5, "abc");
    raw_env(&env, &batch);
    struct cm_envelope out;
    enum cm_wire_reason r;
    cr_assert_eq(cm_wire_decode_envelope((const uint8_t *)env.data, env.len, &out, &r, NULL, 0), 0);
    cm_buf_close(&env);
    cr_assert(out.body.inventory.complete);
    cr_assert_eq(out.body.inventory.n_present, 1);
    cr_assert_str_eq(out.body.inventory.present_ids[0], "abc");
    cm_wire_envelope_close(&out);
}

/* A batch whose host inventory holds one socket with these fields, or the
 * field `f` of the host itself. */
static void raw_host_env(struct cm_buf *env, const struct raw_field *sock, size_t nsock,
                         const struct raw_field *f)
{
    struct cm_buf batch, host, s;
    raw_batch(&batch, T0);
    cm_buf_init(&host, 1024 * 1024);
    tu_pb_uint(&host, 1, 1);
    if (f) raw_put(&host, f);
    if (nsock) {
        cm_buf_init(&s, 1024);
        for (size_t i = 0; i < nsock; i++)
            raw_put(&s, &sock[i]);
        tu_pb_sub(&host, 5, &s);
    }
    tu_pb_sub(&batch, 3, &host);
    raw_env(env, &batch);
}

Test(wire_inventory, decoder_checks_host_inventory)
{
    struct cm_buf env;
    const struct raw_field ok[] = {{1, "/run/docker.sock", 0}, {5, NULL, 07777}};
    raw_host_env(&env, ok, 2, NULL);
    cr_expect_eq(env_verdict(&env, "", "valid host"), CM_WIRE_OK);
    const struct raw_field mode[] = {{1, "/run/docker.sock", 0}, {5, NULL, 010000}};
    raw_host_env(&env, mode, 2, NULL);
    cr_expect_eq(env_verdict(&env, "host.runtime_sockets[0].mode: 4096 not in 0..4095", "mode"),
                 CM_WIRE_BAD_FIELD);
    const struct raw_field path[] = {{1, "\xff", 0}};
    raw_host_env(&env, path, 1, NULL);
    cr_expect_eq(env_verdict(&env, "host.runtime_sockets[0].path: not valid UTF-8", "path"),
                 CM_WIRE_BAD_FIELD);
    const struct raw_field owner[] = {{1, "/s", 0}, {6, "\xc2", 0}};
    raw_host_env(&env, owner, 2, NULL);
    cr_expect_eq(env_verdict(&env, "host.runtime_sockets[0].owner: not valid UTF-8", "owner"),
                 CM_WIRE_BAD_FIELD);
    const struct raw_field cfg = {2, "\xe2\x82", 0};
    raw_host_env(&env, NULL, 0, &cfg);
    cr_expect_eq(env_verdict(&env, "host.daemon_config_path: not valid UTF-8", "config path"),
                 CM_WIRE_BAD_FIELD);

    struct cm_buf batch, host;
    raw_batch(&batch, T0);
    cm_buf_init(&host, 1024 * 1024);
    raw_repeat(&host, 4, CM_INV_LIST_MAX + 1, "icc", true);
    tu_pb_sub(&batch, 3, &host);
    raw_env(&env, &batch);
    cr_expect_eq(env_verdict(&env, "host.daemon_settings: 1025 entries", "settings"),
                 CM_WIRE_TOO_MANY);
}
