/* bench_sweep.c - the agent's real collection code (ag_cgroup_sweep: walk,
 * recognise, read and parse every container) timed over many sweeps on the
 * same cgroups the floor reads.
 *
 *   bench-sweep HOST_ROOT PATTERN SWEEPS
 *     e.g. bench-sweep / '' 200     (no user pattern: Docker's names are built in)
 *     e.g. bench-sweep / '^/bwbench/([0-9a-f]{64})$' 200
 *
 * Prints one JSON line like floor.c. Under callgrind, use
 * --toggle-collect=bench_measured_sweep: warm-up sweeps (which open the
 * files the agent then keeps open) are not counted. */
#include "agent/cgroup.h"
#include "common/timeutil.h"

#include <stdio.h>
#include <stdlib.h>

#define WARMUP_SWEEPS 3

static struct ag_cgroup *cg;
static size_t last_n;

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

__attribute__((noinline)) int bench_measured_sweep(void)
{
    const struct cm_sample *samples;
    return ag_cgroup_sweep(cg, cm_time_now_ns(), &samples, &last_n);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST_ROOT PATTERN SWEEPS\n", argv[0]);
        return 2;
    }
    long sweeps = strtol(argv[3], NULL, 10);
    if (sweeps < 1 || sweeps > 1000000)
        return 2;
    struct cm_strlist patterns = {0};
    if (argv[2][0])
        cm_strlist_add(&patterns, argv[2]);
    struct ag_cgroup_opts opts = {.host_root = argv[1], .patterns = &patterns};
    char err[256];
    if (ag_cgroup_new(&opts, &cg, err, sizeof err) < 0) {
        fprintf(stderr, "bench-sweep: %s\n", err);
        return 1;
    }
    const struct cm_sample *samples;
    for (int i = 0; i < WARMUP_SWEEPS; i++)
        ag_cgroup_sweep(cg, cm_time_now_ns(), &samples, &last_n);
    double *us = calloc((size_t)sweeps, sizeof *us);
    if (!us)
        return 1;
    for (long i = 0; i < sweeps; i++) {
        int64_t a = cm_time_mono_ns();
        if (bench_measured_sweep() < 0) {
            fprintf(stderr, "bench-sweep: sweep failed\n");
            return 1;
        }
        us[i] = (double)(cm_time_mono_ns() - a) / 1e3;
    }
    qsort(us, (size_t)sweeps, sizeof *us, by_double);
    printf("{\"bench\":\"agent_sweep\",\"sweeps\":%ld,\"containers\":%zu,"
           "\"median_us\":%.1f,\"p90_us\":%.1f}\n",
           sweeps, last_n, us[sweeps / 2], us[sweeps * 9 / 10]);
    free(us);
    ag_cgroup_free(cg);
    cm_strlist_free(&patterns);
    return 0;
}
