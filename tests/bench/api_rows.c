/* api_rows.c - bench-api-rows: writes container_samples rows in COPY text
 * format on stdout for the API latency benchmark (scripts/bench/api.sh).
 *
 *   bench-api-rows CONTAINERS HOURS END_EPOCH_S [FIRST_REF]
 *
 * One row per container every 10 s over HOURS hours ending at END_EPOCH_S,
 * time-major (every container's row for one tick, then the next tick), the
 * order the collector stores them in. Counters are monotonic with a
 * per-container rate and jitter, so the API's rate math has real deltas;
 * every 97th container restarts half-way (its counters drop to zero) to
 * exercise the counter-reset path. Gauges wander around a per-container
 * base. Deterministic: the same arguments give the same rows.
 * Does not talk to PostgreSQL; the script pipes this into psql's COPY. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_ROWS_STEP_S 10
#define API_ROWS_MAX_CONTAINERS 100000
#define API_ROWS_MAX_HOURS (24 * 31)

struct api_rows_ctr {
    uint64_t rng;
    uint64_t cpu_user, cpu_sys, periods, thr_periods, thr_ns;
    uint64_t rd_b, wr_b, rd_ops, wr_ops, rx_b, tx_b, rx_p, tx_p;
    uint64_t mem_base, cpu_rate; /* ns of CPU per 10 s tick */
    int64_t ref;
};

static uint64_t api_rows_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static char *api_rows_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    *p++ = '\t';
    return p;
}

static void api_rows_tick(struct api_rows_ctr *c)
{
    uint64_t j = api_rows_rand(&c->rng) % 1000; /* jitter 0.5 .. 1.5 */
    uint64_t cpu = c->cpu_rate / 1000 * (500 + j);
    c->cpu_user += cpu / 10 * 7;
    c->cpu_sys += cpu / 10 * 3;
    c->periods += 100;
    if (j > 950) {
        c->thr_periods += j - 950;
        c->thr_ns += (j - 950) * 1000000;
    }
    c->rd_b += (j & 7) * 4096;
    c->rd_ops += j & 7;
    c->wr_b += (j & 15) * 8192;
    c->wr_ops += j & 15;
    c->rx_b += 1500 * (j + 10);
    c->rx_p += j + 10;
    c->tx_b += 900 * (j / 2 + 5);
    c->tx_p += j / 2 + 5;
}

static void api_rows_reset(struct api_rows_ctr *c)
{
    uint64_t keep_rng = c->rng, mem = c->mem_base, rate = c->cpu_rate;
    int64_t ref = c->ref;
    memset(c, 0, sizeof *c);
    c->rng = keep_rng;
    c->mem_base = mem;
    c->cpu_rate = rate;
    c->ref = ref;
}

static char *api_rows_line(char *p, const char *ts, struct api_rows_ctr *c)
{
    uint64_t j = api_rows_rand(&c->rng) % 1000;
    uint64_t mem = c->mem_base + c->mem_base / 5000 * j;
    p += snprintf(p, 64, "%s\t%" PRId64 "\t", ts, c->ref);
    p = api_rows_u64(p, c->cpu_user + c->cpu_sys);
    p = api_rows_u64(p, c->cpu_user);
    p = api_rows_u64(p, c->cpu_sys);
    p = api_rows_u64(p, c->periods);
    p = api_rows_u64(p, c->thr_periods);
    p = api_rows_u64(p, c->thr_ns);
    p = api_rows_u64(p, mem);
    p = api_rows_u64(p, mem / 10 * 8);
    p = api_rows_u64(p, 512ULL << 20 << (c->ref & 1));
    p = api_rows_u64(p, mem / 10 * 6);
    p = api_rows_u64(p, mem / 10 * 3);
    p = api_rows_u64(p, 0);
    p = api_rows_u64(p, 0);
    p = api_rows_u64(p, c->rd_b);
    p = api_rows_u64(p, c->wr_b);
    p = api_rows_u64(p, c->rd_ops);
    p = api_rows_u64(p, c->wr_ops);
    p = api_rows_u64(p, 5 + (uint64_t)c->ref % 20);
    p = api_rows_u64(p, 1024);
    p = api_rows_u64(p, c->rx_b);
    p = api_rows_u64(p, c->tx_b);
    p = api_rows_u64(p, c->rx_p);
    p = api_rows_u64(p, c->tx_p);
    p[-1] = '\n';
    return p;
}

static int api_rows_arg(const char *s, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    long long n, hours, end, first = 1;
    if ((argc != 4 && argc != 5) || api_rows_arg(argv[1], 1, API_ROWS_MAX_CONTAINERS, &n) < 0 ||
        api_rows_arg(argv[2], 1, API_ROWS_MAX_HOURS, &hours) < 0 ||
        api_rows_arg(argv[3], 86400, 1LL << 40, &end) < 0 ||
        (argc == 5 && api_rows_arg(argv[4], 1, 1LL << 50, &first) < 0)) {
        fprintf(stderr, "usage: bench-api-rows CONTAINERS HOURS END_EPOCH_S [FIRST_REF]\n");
        return 2;
    }
    struct api_rows_ctr *c = calloc((size_t)n, sizeof *c);
    char *buf = malloc((size_t)1 << 20);
    if (!c || !buf)
        return 1;
    for (long long i = 0; i < n; i++) {
        c[i].rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)i;
        c[i].ref = first + i;
        c[i].cpu_rate = (uint64_t)(20 + (i % 50) * 10) * 10000000ULL; /* 0.02..0.51 cores */
        c[i].mem_base = (uint64_t)(32 + (i % 64) * 4) << 20;
    }
    long long ticks = hours * 3600 / API_ROWS_STEP_S;
    long long start = end - (ticks - 1) * API_ROWS_STEP_S;
    size_t used = 0;
    for (long long t = 0; t < ticks; t++) {
        time_t ts = (time_t)(start + t * API_ROWS_STEP_S);
        struct tm tm;
        char tss[40];
        gmtime_r(&ts, &tm);
        strftime(tss, sizeof tss, "%Y-%m-%d %H:%M:%S+00", &tm);
        for (long long i = 0; i < n; i++) {
            if (t == ticks / 2 && i % 97 == 96)
                api_rows_reset(&c[i]);
            api_rows_tick(&c[i]);
            if (used > ((size_t)1 << 20) - 1024) {
                if (fwrite(buf, 1, used, stdout) != used)
                    return 1;
                used = 0;
            }
            used = (size_t)(api_rows_line(buf + used, tss, &c[i]) - buf);
        }
    }
    if (fwrite(buf, 1, used, stdout) != used || fflush(stdout) != 0)
        return 1;
    free(buf);
    free(c);
    return 0;
}
