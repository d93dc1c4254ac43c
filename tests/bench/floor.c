/* floor.c - the floor for the agent's collection cycle: a bare loop that
 * only opens, reads and closes the same cgroup v1 stat files the agent
 * reads, once per sweep, and nothing else (no parsing, no discovery, no
 * allocation). The agent's sweep is reported as a ratio to this, measured
 * in the same run on the same cgroups.
 *
 *   bench-floor CGROUP_ROOT PARENT SWEEPS [IDS_FILE]
 *     e.g. bench-floor /sys/fs/cgroup docker 200 ids.txt
 *
 * Containers are the directories under <root>/memory/<parent>/ (listed once,
 * before timing); with IDS_FILE (one name a line) only those names, so a
 * parent shared with a running engine reads only the benchmark's cgroups. Prints one JSON line: sweeps, containers, files per sweep,
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

static void sweep_files(void)
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

/* noinline: callgrind's --toggle-collect needs a real frame to count; the
 * warm-up sweep calls sweep_files() directly and is not counted. */
__attribute__((noinline)) void floor_sweep(void)
{
    sweep_files();
}

/* True when name is a line of the ids file (or there is no ids file). */
static int wanted(const char *ids, const char *name)
{
    if (!ids)
        return 1;
    size_t n = strlen(name);
    for (const char *p = ids; (p = strstr(p, name)) != NULL; p += n)
        if ((p == ids || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return NULL;
    }
    static char text[MAX_CONTAINERS * 80];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static int list_containers(const char *root, const char *parent, const char *ids)
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
        if (e->d_type != DT_DIR || e->d_name[0] == '.' || !wanted(ids, e->d_name))
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
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s CGROUP_ROOT PARENT SWEEPS [IDS_FILE]\n", argv[0]);
        return 2;
    }
    long sweeps = strtol(argv[3], NULL, 10);
    const char *ids = NULL;
    if (argc == 5 && (ids = slurp(argv[4])) == NULL)
        return 2;
    if (sweeps < 1 || sweeps > 1000000 || list_containers(argv[1], argv[2], ids) < 0)
        return 2;
    double *us = calloc((size_t)sweeps, sizeof *us);
    if (!us)
        return 1;
    sweep_files(); /* warm the dentry cache like the agent's first sweep does */
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
