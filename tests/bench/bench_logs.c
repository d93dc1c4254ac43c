/* bench_logs.c - bench-logs: lines per second per core through rule
 * matching with the built-in rule set, next to its floor in the same run.
 *
 * Reads one log file again and again for SECONDS each way, single thread:
 *   (a) floor: fopen + getline, strip the line end, count lines and bytes;
 *   (b) match: the same reading, each line handed to ag_matcher_match as an
 *       auth-log line (events freed, as the agent would after batching);
 *   (c) tail: what the agent really does per line: the tailer (agent/
 *       logtail.c, without a loop: fresh offsets, the file read from 0 to its
 *       end, UTF-8 checked, timestamps parsed) feeding the matcher.
 * The file is the Loghub OpenSSH sample (BOXWATCH_CORPUS_DIR/logs/OpenSSH/
 * OpenSSH_2k.log, read in place) or, when absent, a generated auth log of the
 * same mix (mostly failed passwords and invalid users, some accepted logins,
 * cron and session lines). Rates are lines per CPU second of this process
 * (= per core) and per wall second.
 *
 *   bench-logs [SECONDS] [RULES_JSON] [LOG]   defaults 3, rules/builtin.json, the corpus
 *
 * Prints one JSON line; exit 1 only when the rules or the file cannot be
 * read. Under callgrind use --toggle-collect=bench_logs_pass. */
#define _POSIX_C_SOURCE 200809L
#include "agent/logtail.h"
#include "agent/matcher.h"
#include "common/rules.h"
#include "common/timeutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BL_GEN_LINES 20000

struct bl_pass {
    uint64_t lines, bytes, events;
};

static int64_t bl_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * CM_NS_PER_SEC + ts.tv_nsec;
}

/* One pass over the file; m == NULL is the floor. */
__attribute__((noinline)) int bench_logs_pass(const char *path, struct ag_matcher *m,
                                              struct bl_pass *acc)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    struct cm_log_source src = {.kind = CM_LOG_SRC_AUTH, .file_key = "1:1"};
    src.path = (char *)path;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t off = 0;
    int64_t now = cm_time_now_ns();
    while ((n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        acc->bytes += len;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        acc->lines++;
        if (m) {
            struct ag_tail_line l = {.source = &src,
                                     .offset = off,
                                     .end_offset = off + (uint64_t)n,
                                     .text = line,
                                     .len = len};
            struct cm_log_event ev[8];
            size_t k = ag_matcher_match(m, &l, now += 1000000, ev, 8);
            for (size_t i = 0; i < k; i++)
                cm_log_event_free(&ev[i]);
            acc->events += k;
        }
        off += (uint64_t)n;
    }
    free(line);
    fclose(f);
    return 0;
}

struct bl_tail_ctx {
    struct ag_matcher *m;
    struct bl_pass *acc;
    int64_t now;
};

static void bl_on_line(void *arg, const struct ag_tail_line *l)
{
    struct bl_tail_ctx *x = arg;
    struct cm_log_event ev[8];
    x->acc->lines++;
    x->acc->bytes += l->end_offset - l->offset;
    size_t k = ag_matcher_match(x->m, l, x->now += 1000000, ev, 8);
    for (size_t i = 0; i < k; i++)
        cm_log_event_free(&ev[i]);
    x->acc->events += k;
}

/* One pass through the real tailer: a new one each time (its offsets in a
 * scratch dir, removed after), polled until the file is read to its end. */
__attribute__((noinline)) int bench_logs_tail_pass(const char *path, struct ag_matcher *m,
                                                   struct bl_pass *acc)
{
    char dir[] = "/tmp/bench-logs-tail.XXXXXX", err[256] = "";
    if (!mkdtemp(dir)) return -1;
    struct bl_tail_ctx x = {m, acc, cm_time_now_ns()};
    struct ag_tail_opts o = {.state_dir = dir, .on_line = bl_on_line, .arg = &x};
    struct ag_tail *t = NULL;
    int rc = ag_tail_new(NULL, &o, &t, err, sizeof err);
    struct ag_tail_source src = {.path = path, .kind = CM_LOG_SRC_AUTH, .format = AG_LOG_FMT_RAW};
    if (rc == 0) rc = ag_tail_set_sources(t, &src, 1);
    if (rc == 0) {
        do
            ag_tail_poll(t);
        while (ag_tail_has_pending(t));
    }
    ag_tail_free(t);
    char f[sizeof dir + 32];
    snprintf(f, sizeof f, "%s/log-offsets", dir);
    remove(f);
    rmdir(dir);
    return rc < 0 ? -1 : 0;
}

struct bl_result {
    struct bl_pass p;
    uint64_t passes;
    double wall_s, cpu_s;
};

static int bl_run(const char *path, struct ag_matcher *m, bool tail, double secs,
                  struct bl_result *r)
{
    int64_t w0 = cm_time_mono_ns(), c0 = bl_cpu_ns(), end = w0 + (int64_t)(secs * 1e9);
    memset(r, 0, sizeof *r);
    do {
        int rc = tail ? bench_logs_tail_pass(path, m, &r->p) : bench_logs_pass(path, m, &r->p);
        if (rc < 0) return -1;
        r->passes++;
    } while (cm_time_mono_ns() < end);
    r->wall_s = (double)(cm_time_mono_ns() - w0) / 1e9;
    r->cpu_s = (double)(bl_cpu_ns() - c0) / 1e9;
    return 0;
}

/* An auth log with the corpus's mix, for machines without the corpus. */
static int bl_generate(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (unsigned i = 0; i < BL_GEN_LINES; i++) {
        unsigned ip = 0x9e3779b9u * (i / 40 + 1), s = i % 60, mi = (i / 60) % 60;
        const char *stamp = "Dec 10 10";
        switch (i % 10) {
        case 0:
        case 1:
        case 2:
        case 3:
            fprintf(f,
                    "%s:%02u:%02u LabSZ sshd[%u]: Failed password for root from %u.%u.%u.%u port "
                    "%u ssh2\r\n",
                    stamp, mi, s, 20000 + i, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
                    30000 + i % 30000);
            break;
        case 4:
            fprintf(f, "%s:%02u:%02u LabSZ sshd[%u]: Invalid user admin%u from 10.%u.%u.%u\r\n",
                    stamp, mi, s, 20000 + i, i % 97, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
            break;
        case 5:
            fprintf(f,
                    "%s:%02u:%02u LabSZ sshd[%u]: pam_unix(sshd:auth): authentication failure; "
                    "logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.%u.%u  user=root\r\n",
                    stamp, mi, s, 20000 + i, (ip >> 8) & 255, ip & 255);
            break;
        case 6:
            fprintf(f,
                    "%s:%02u:%02u LabSZ sshd[%u]: Received disconnect from 10.0.0.%u: 11: Bye Bye "
                    "[preauth]\r\n",
                    stamp, mi, s, 20000 + i, ip & 255);
            break;
        case 7:
            fprintf(f,
                    "%s:%02u:%02u LabSZ CRON[%u]: pam_unix(cron:session): session opened for user "
                    "root by (uid=0)\r\n",
                    stamp, mi, s, 20000 + i);
            break;
        case 8:
            fprintf(f, "%s:%02u:%02u LabSZ sshd[%u]: Connection closed by 10.0.0.%u [preauth]\r\n",
                    stamp, mi, s, 20000 + i, ip & 255);
            break;
        default:
            fprintf(f,
                    "%s:%02u:%02u LabSZ sshd[%u]: Accepted publickey for deploy from 10.1.0.%u "
                    "port %u ssh2\r\n",
                    stamp, mi, s, 20000 + i, ip & 255, 40000 + i % 20000);
        }
    }
    return fclose(f) == 0 ? 0 : -1;
}

static struct ag_matcher *bl_matcher(const char *rules_path)
{
    FILE *f = fopen(rules_path, "r");
    if (!f) return NULL;
    static char text[CM_RULES_FILE_MAX];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    struct cm_policy p = {0};
    struct ag_matcher *m = NULL;
    char err[256];
    if (cm_rules_parse(text, len, &p, err, sizeof err) < 0 ||
        ag_matcher_new(&p, &m, err, sizeof err) < 0)
        fprintf(stderr, "bench-logs: %s: %s\n", rules_path, err);
    cm_policy_free(&p);
    return m;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 3.0;
    char rules[4096], log[4096], gen[64] = "";
    const char *cut = strstr(__FILE__, "/tests/bench/");
    snprintf(rules, sizeof rules, "%.*s/rules/builtin.json", cut ? (int)(cut - __FILE__) : 1,
             cut ? __FILE__ : ".");
    if (argc > 2) snprintf(rules, sizeof rules, "%s", argv[2]);
    const char *corpus = getenv("BOXWATCH_CORPUS_DIR");
    snprintf(log, sizeof log, "%s/logs/OpenSSH/OpenSSH_2k.log", corpus ? corpus : "/nonexistent");
    if (argc > 3) snprintf(log, sizeof log, "%s", argv[3]);
    if (secs <= 0 || secs > 600) {
        fprintf(stderr, "usage: bench-logs [SECONDS (0..600]] [RULES_JSON] [LOG]\n");
        return 2;
    }
    FILE *probe = fopen(log, "r");
    if (probe)
        fclose(probe);
    else {
        snprintf(gen, sizeof gen, "/tmp/bench-logs.%ld.log", (long)getpid());
        if (bl_generate(gen) < 0) return 1;
        snprintf(log, sizeof log, "%s", gen);
    }
    struct ag_matcher *m = bl_matcher(rules);
    struct bl_result floor, match, tail;
    int rc = !m || bl_run(log, NULL, false, secs, &floor) < 0 ||
             bl_run(log, m, false, secs, &match) < 0 || bl_run(log, m, true, secs, &tail) < 0;
    if (gen[0]) remove(gen);
    if (rc) {
        fprintf(stderr, "bench-logs: cannot read %s or %s\n", rules, log);
        ag_matcher_free(m);
        return 1;
    }
    double floor_cpu = (double)floor.p.lines / floor.cpu_s,
           match_cpu = (double)match.p.lines / match.cpu_s,
           tail_cpu = (double)tail.p.lines / tail.cpu_s;
    struct ag_matcher_stats st;
    ag_matcher_get_stats(m, &st);
    printf("{\"input\":\"%s\",\"rules\":%zu,\"file_lines\":%llu,\"file_bytes\":%llu,"
           "\"floor_lines_per_s\":%.0f,\"floor_lines_per_wall_s\":%.0f,\"floor_mib_per_s\":%.1f,"
           "\"match_lines_per_s\":%.0f,\"match_lines_per_wall_s\":%.0f,\"match_mib_per_s\":%.1f,"
           "\"match_floor_ratio\":%.4f,\"match_ns_per_line\":%.0f,\"events_per_pass\":%llu,"
           "\"match_errors\":%llu,\"floor_s\":%.3f,\"match_s\":%.3f,"
           "\"tail_match_lines_per_s\":%.0f,\"tail_match_floor_ratio\":%.4f,\"tail_s\":%.3f}\n",
           gen[0] ? "generated" : "OpenSSH_2k", ag_matcher_rules(m),
           (unsigned long long)(floor.p.lines / floor.passes),
           (unsigned long long)(floor.p.bytes / floor.passes), floor_cpu,
           (double)floor.p.lines / floor.wall_s, (double)floor.p.bytes / floor.cpu_s / 1048576.0,
           match_cpu, (double)match.p.lines / match.wall_s,
           (double)match.p.bytes / match.cpu_s / 1048576.0, match_cpu / floor_cpu, 1e9 / match_cpu,
           (unsigned long long)(match.p.events / match.passes), (unsigned long long)st.match_errors,
           floor.cpu_s, match.cpu_s, tail_cpu, tail_cpu / floor_cpu, tail.cpu_s);
    ag_matcher_free(m);
    return 0;
}
