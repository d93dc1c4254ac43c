/* floor.c - the floor for the agent's collection cycle: a bare loop that
 * only opens, reads and closes the same cgroup v1 stat files the agent
 * reads, once per sweep, and nothing else (no parsing, no discovery, no
 * allocation). The agent's sweep is reported as a ratio to this, measured
 * in the same run on the same cgroups.
 *
 *   bench-floor CGROUP_ROOT PARENT SWEEPS
 *     e.g. bench-floor /sys/fs/cgroup bwbench 200
 *
 * Containers are the directories under <root>/memory/<parent>/ (listed once,
 * before timing). Prints one JSON line: sweeps, containers, files per sweep,
 * median and p90 microseconds per sweep. Under callgrind, use
 * --toggle-collect=floor_sweep to count the instructions of sweeps only. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONTAINERS 10000

/* The files LIMITS.md names for the floor: what any v1 reader must read. */
static const char *const floor_files[][2] = {
    {"cpuacct", "cpuacct.usage"},  {"cpuacct", "cpuacct.stat"},
    {"cpu", "cpu.stat"},           {"memory", "memory.usage_in_bytes"},
    {"memory", "memory.limit_in_bytes"}, {"memory", "memory.stat"},
    {"blkio", "blkio.throttle.io_service_bytes"}, {"pids", "pids.current"},
};
#define NFILES (sizeof floor_files / sizeof floor_files[0])

static char *paths[MAX_CONTAINERS][NFILES];
static size_t ncontainers;
static volatile size_t sink;

static int by_u64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* noinline: callgrind's --toggle-collect needs a real frame to count. */
__attribute__((noinline)) void floor_sweep(void)
{
    char buf[8192];
    for (size_t c = 0; c < ncontainers; c++) {
        for (size_t f = 0; f < NFILES; f++) {
            int fd = open(paths[c][f], O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            ssize_t n = read(fd, buf, sizeof buf);
            if (n > 0)
                sink += (size_t)n;
            close(fd);
        }
    }
}

static int list_containers(const char *root, const char *parent)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/memory/%s", root, parent);
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && ncontainers < MAX_CONTAINERS) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        for (size_t f = 0; f < NFILES; f++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s/%s/%s/%s", root, floor_files[f][0], parent, e->d_name,
                     floor_files[f][1]);
            paths[ncontainers][f] = strdup(p);
        }
        ncontainers++;
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s CGROUP_ROOT PARENT SWEEPS\n", argv[0]);
        return 2;
    }
    long sweeps = strtol(argv[3], NULL, 10);
    if (sweeps < 1 || sweeps > 1000000 || list_containers(argv[1], argv[2]) < 0)
        return 2;
    double *us = calloc((size_t)sweeps, sizeof *us);
    if (!us)
        return 1;
    floor_sweep(); /* warm the dentry cache like the agent's first sweep does */
    for (long i = 0; i < sweeps; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        floor_sweep();
        clock_gettime(CLOCK_MONOTONIC, &b);
        us[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3;
    }
    qsort(us, (size_t)sweeps, sizeof *us, by_u64);
    printf("{\"bench\":\"floor\",\"sweeps\":%ld,\"containers\":%zu,\"files_per_sweep\":%zu,"
           "\"median_us\":%.1f,\"p90_us\":%.1f}\n",
           sweeps, ncontainers, ncontainers * NFILES, us[sweeps / 2], us[sweeps * 9 / 10]);
    free(us);
    for (size_t c = 0; c < ncontainers; c++)
        for (size_t f = 0; f < NFILES; f++)
            free(paths[c][f]);
    return 0;
}
