/* spool_rec.c - encoding and decoding of spool records and the meta block
 * (formats in spool_int.h). Pure functions on bytes: no files, no logging.
 * The CRC is zlib's crc32, a maintained and table-driven implementation. */
#include "agent/spool_int.h"

#include "agent/spool.h"
#include "common/err.h"

#include <zlib.h>

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void put_counters(uint8_t *p, const struct ag_spool_counters *c)
{
    put64(p, c->envelopes_total);
    put64(p + 8, c->samples_total);
    put64(p + 16, c->dropped_envelopes);
    put64(p + 24, c->dropped_samples);
}

static void get_counters(const uint8_t *p, struct ag_spool_counters *c)
{
    c->envelopes_total = get64(p);
    c->samples_total = get64(p + 8);
    c->dropped_envelopes = get64(p + 16);
    c->dropped_samples = get64(p + 24);
}

/* crc32 takes a uInt length; payloads are capped far below that. */
static uint32_t crc_of(const uint8_t *head, size_t head_len, const uint8_t *body, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, head, (uInt)head_len);
    if (len) crc = crc32(crc, body, (uInt)len);
    return (uint32_t)crc;
}

uint32_t ag_spool_rec_crc(const uint8_t hdr[AG_SPOOL_HDR_LEN], const uint8_t *payload,
                          size_t len)
{
    return crc_of(hdr + 8, AG_SPOOL_HDR_LEN - 8, payload, len);
}

void ag_spool_hdr_encode(struct ag_spool_hdr *h, const uint8_t *payload,
                         uint8_t out[AG_SPOOL_HDR_LEN])
{
    put32(out, AG_SPOOL_REC_MAGIC);
    put32(out + 8, h->len);
    put32(out + 12, h->samples);
    put64(out + 16, h->seq);
    put_counters(out + 24, &h->c);
    h->crc = ag_spool_rec_crc(out, payload, h->len);
    put32(out + 4, h->crc);
}

int ag_spool_hdr_decode(const uint8_t *buf, size_t n, struct ag_spool_hdr *h)
{
    if (n < AG_SPOOL_HDR_LEN || get32(buf) != AG_SPOOL_REC_MAGIC) return CM_EPARSE;
    uint32_t len = get32(buf + 8);
    if (len > AG_SPOOL_RECORD_MAX) return CM_ETOOBIG;
    h->crc = get32(buf + 4);
    h->len = len;
    h->samples = get32(buf + 12);
    h->seq = get64(buf + 16);
    get_counters(buf + 24, &h->c);
    return 0;
}

int ag_spool_rec_decode(const uint8_t *buf, size_t n, struct ag_spool_hdr *h,
                        const uint8_t **payload, size_t *total)
{
    struct ag_spool_hdr tmp;
    int rc = ag_spool_hdr_decode(buf, n, &tmp);
    if (rc < 0) return rc;
    if (n - AG_SPOOL_HDR_LEN < tmp.len) return CM_EPARSE;
    if (ag_spool_rec_crc(buf, buf + AG_SPOOL_HDR_LEN, tmp.len) != tmp.crc) return CM_EPARSE;
    *h = tmp;
    *payload = buf + AG_SPOOL_HDR_LEN;
    *total = AG_SPOOL_HDR_LEN + tmp.len;
    return 0;
}

void ag_spool_meta_encode(const struct ag_spool_meta *m, uint8_t out[AG_SPOOL_META_LEN])
{
    put32(out, AG_SPOOL_META_MAGIC);
    put32(out + 4, 0);
    put_counters(out + 8, &m->c);
    put64(out + 40, m->floor_seq);
    put64(out + 48, m->last_seq);
    put32(out + 4, crc_of(out + 8, AG_SPOOL_META_LEN - 8, NULL, 0));
}

int ag_spool_meta_decode(const uint8_t *buf, size_t n, struct ag_spool_meta *m)
{
    if (n != AG_SPOOL_META_LEN || get32(buf) != AG_SPOOL_META_MAGIC) return CM_EPARSE;
    if (get32(buf + 4) != crc_of(buf + 8, AG_SPOOL_META_LEN - 8, NULL, 0)) return CM_EPARSE;
    get_counters(buf + 8, &m->c);
    m->floor_seq = get64(buf + 40);
    m->last_seq = get64(buf + 48);
    return 0;
}
