/* bench_decode.c - bench-decode: the collector's per-envelope codec cost.
 *
 * Builds one MetricBatch envelope of C containers (default 50) with 64-hex
 * container ids, docker-like cgroup paths and plausible counters (every
 * field a v1 host reports), encodes it once with cm_wire_encode_envelope,
 * then in a loop bounded by time and count decodes+validates those bytes
 * with cm_wire_decode_envelope (and frees the result, as the collector
 * does). Encode is timed the same way for reference. Single thread.
 *
 *   bench-decode [SECONDS] [CONTAINERS]      defaults 3 and 50
 *
 * Prints one JSON line: envelope bytes, envelopes/s and samples/s for
 * decode and encode, and µs per envelope. It never fails on speed; exit 1
 * only when the codec refuses the envelope. Under callgrind use
 * --toggle-collect=bench_decode_once. */
#include "common/timeutil.h"
#include "proto/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BD_MAX_ITERS 100000000ull
#define BD_CHECK_EVERY 256
#define MIB (1024ull * 1024)

static volatile uint64_t bd_sink;

static void bd_fill(struct cm_sample *s, size_t c, int64_t ts)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t x = 0x9e3779b97f4a7c15ull * (c + 1);
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 64; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        s->container_id[i] = hex[x & 15];
    }
    snprintf(s->cgroup_path, sizeof s->cgroup_path, "/docker/%s", s->container_id);
    s->runtime = CM_RT_DOCKER;
    s->ts_ns = ts;
    uint64_t cpu = 3600ull * 1000000000 * (c % 7 + 1) + c * 12345;
    uint64_t mem = (64 + c % 200) * MIB + c * 4096;
    cm_sample_set(s, CM_F_CPU_USAGE_NS, cpu);
    cm_sample_set(s, CM_F_CPU_USER_NS, cpu / 4 * 3);
    cm_sample_set(s, CM_F_CPU_SYSTEM_NS, cpu / 4);
    cm_sample_set(s, CM_F_CPU_PERIODS, 360000 + c);
    cm_sample_set(s, CM_F_CPU_THROTTLED_PERIODS, c % 5);
    cm_sample_set(s, CM_F_CPU_THROTTLED_NS, (c % 5) * 1000000);
    cm_sample_set(s, CM_F_MEM_USAGE_BYTES, mem);
    cm_sample_set(s, CM_F_MEM_LIMIT_BYTES, 1024 * MIB);
    cm_sample_set(s, CM_F_MEM_RSS_BYTES, mem / 2);
    cm_sample_set(s, CM_F_MEM_CACHE_BYTES, mem / 4);
    cm_sample_set(s, CM_F_MEM_SWAP_BYTES, 0);
    cm_sample_set(s, CM_F_OOM_KILLS, 0);
    cm_sample_set(s, CM_F_BLK_READ_BYTES, 300 * MIB + c * 512);
    cm_sample_set(s, CM_F_BLK_WRITE_BYTES, 900 * MIB + c * 4096);
    cm_sample_set(s, CM_F_BLK_READ_OPS, 20000 + c);
    cm_sample_set(s, CM_F_BLK_WRITE_OPS, 60000 + c);
    cm_sample_set(s, CM_F_PIDS_CURRENT, 1 + c % 40);
    cm_sample_set(s, CM_F_PIDS_LIMIT, 4096);
    cm_sample_set(s, CM_F_NET_RX_BYTES, 5000 * MIB + c * 1500);
    cm_sample_set(s, CM_F_NET_TX_BYTES, 2000 * MIB + c * 1500);
    cm_sample_set(s, CM_F_NET_RX_PACKETS, 4000000 + c);
    cm_sample_set(s, CM_F_NET_TX_PACKETS, 1600000 + c);
}

/* noinline: a frame for callgrind's --toggle-collect. */
__attribute__((noinline)) int bench_decode_once(const uint8_t *buf, size_t len)
{
    struct cm_envelope env;
    enum cm_wire_reason reason;
    char why[128];
    int rc = cm_wire_decode_envelope(buf, len, &env, &reason, why, sizeof why);
    if (rc < 0) {
        fprintf(stderr, "bench-decode: decode failed: %s\n", why);
        return rc;
    }
    bd_sink += env.body.metrics.n;
    cm_wire_envelope_close(&env);
    return 0;
}

__attribute__((noinline)) int bench_encode_once(const struct cm_envelope *env)
{
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = cm_wire_encode_envelope(env, &out, &len);
    bd_sink += len;
    free(out);
    return rc;
}

/* Runs one of the two loops for `secs`; returns envelopes done, *elapsed_s set. */
static uint64_t bd_loop(int which, const struct cm_envelope *env, const uint8_t *buf, size_t len,
                        double secs, double *elapsed_s)
{
    int64_t t0 = cm_time_mono_ns(), end = t0 + (int64_t)(secs * 1e9), now = t0;
    uint64_t n = 0;
    while (n < BD_MAX_ITERS) {
        int rc = which ? bench_encode_once(env) : bench_decode_once(buf, len);
        if (rc < 0) return 0;
        n++;
        if (n % BD_CHECK_EVERY == 0 && (now = cm_time_mono_ns()) >= end) break;
    }
    now = cm_time_mono_ns();
    *elapsed_s = (double)(now - t0) / 1e9;
    return n;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 3.0;
    long nc = argc > 2 ? strtol(argv[2], NULL, 10) : 50;
    if (secs <= 0 || secs > 600 || nc < 1 || nc > CM_WIRE_MAX_SAMPLES) {
        fprintf(stderr, "usage: bench-decode [SECONDS (0..600]] [CONTAINERS]\n");
        return 2;
    }
    struct cm_sample *samples = calloc((size_t)nc, sizeof *samples);
    int64_t ts = cm_time_now_ns() / 1000 * 1000;
    for (long c = 0; c < nc; c++)
        bd_fill(&samples[c], (size_t)c, ts);
    struct cm_envelope env = {
        .version = CM_WIRE_VERSION, .seq = 123456, .sent_ns = ts, .kind = CM_BODY_METRICS};
    env.body.metrics.collected_ns = ts;
    env.body.metrics.samples = samples;
    env.body.metrics.n = (size_t)nc;
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cm_wire_encode_envelope(&env, &buf, &len) < 0 || bench_decode_once(buf, len) < 0) {
        fprintf(stderr, "bench-decode: the codec refused the test envelope\n");
        return 1;
    }
    double dt_dec = 0, dt_enc = 0;
    uint64_t n_dec = bd_loop(0, &env, buf, len, secs, &dt_dec);
    uint64_t n_enc = bd_loop(1, &env, buf, len, secs / 2, &dt_enc);
    if (n_dec == 0 || n_enc == 0) return 1;
    double dec_eps = (double)n_dec / dt_dec, enc_eps = (double)n_enc / dt_enc;
    printf("{\"containers\":%ld,\"envelope_bytes\":%zu,\"decode_envelopes\":%llu,"
           "\"decode_s\":%.3f,\"decode_envelopes_per_s\":%.0f,\"decode_samples_per_s\":%.0f,"
           "\"decode_us_per_envelope\":%.2f,\"encode_envelopes_per_s\":%.0f,"
           "\"encode_samples_per_s\":%.0f,\"encode_us_per_envelope\":%.2f}\n",
           nc, len, (unsigned long long)n_dec, dt_dec, dec_eps, dec_eps * (double)nc, 1e6 / dec_eps,
           enc_eps, enc_eps * (double)nc, 1e6 / enc_eps);
    free(buf);
    free(samples);
    return 0;
}
