/* test_logevent.c - the log event model's lifetime and names: every source
 * kind's name parses back to it, "unknown" and other names do not, and the
 * _free functions release fully populated structs (ASan checks for leaks),
 * leave them zeroed, and are harmless on zeroed structs and NULL. */
#include "common/alloc.h"
#include "common/err.h"
#include "common/logevent.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

TestSuite(logevent, .timeout = 30);

Test(logevent, kind_names_parse_back)
{
    const char *want[] = {"unknown", "container", "auth", "syslog", "kernel", "file"};
    cr_assert_eq(sizeof want / sizeof want[0], CM_LOG_SRC__COUNT);
    for (int k = 0; k < CM_LOG_SRC__COUNT; k++)
        cr_assert_str_eq(cm_log_source_kind_name((enum cm_log_source_kind)k), want[k]);
    for (int k = CM_LOG_SRC_UNKNOWN + 1; k < CM_LOG_SRC__COUNT; k++) {
        enum cm_log_source_kind out = CM_LOG_SRC_UNKNOWN;
        cr_assert_eq(cm_log_source_kind_parse(want[k], &out), 0);
        cr_assert_eq(out, (enum cm_log_source_kind)k);
    }
    cr_assert_str_eq(cm_log_source_kind_name(CM_LOG_SRC__COUNT), "unknown");
    cr_assert_str_eq(cm_log_source_kind_name((enum cm_log_source_kind) - 1), "unknown");
}

Test(logevent, kind_parse_refuses_unknown_and_other_names)
{
    const char *bad[] = {"unknown", "Auth", "auth ", "", "files", "kern"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum cm_log_source_kind out = CM_LOG_SRC_KERNEL;
        cr_assert_eq(cm_log_source_kind_parse(bad[i], &out), CM_EPARSE, "'%s'", bad[i]);
        cr_assert_eq(out, CM_LOG_SRC_KERNEL, "output touched on failure");
    }
    enum cm_log_source_kind out = CM_LOG_SRC_FILE;
    cr_assert_eq(cm_log_source_kind_parse(NULL, &out), CM_EPARSE);
    cr_assert_eq(out, CM_LOG_SRC_FILE);
}

static void fill_event(struct cm_log_event *e)
{
    memset(e, 0, sizeof *e);
    snprintf(e->rule_id, sizeof e->rule_id, "r1");
    e->source.kind = CM_LOG_SRC_AUTH;
    e->source.path = cm_xstrdup("/var/log/auth.log");
    e->message = cm_xstrdup("line");
    e->n_fields = 2;
    e->fields = cm_xcalloc(2, sizeof *e->fields);
    e->fields[0] = (struct cm_kv){cm_xstrdup("user"), cm_xstrdup("root")};
    e->fields[1] = (struct cm_kv){cm_xstrdup("ip"), NULL};
}

static bool is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i]) return false;
    }
    return true;
}

Test(logevent, event_and_batch_free_release_everything)
{
    struct cm_log_event e;
    fill_event(&e);
    cm_log_event_free(&e);
    cr_assert(is_zero(&e, sizeof e));
    cm_log_event_free(&e); /* twice: the zeroed struct */

    struct cm_event_batch b = {0};
    b.n_events = 3;
    b.events = cm_xcalloc(3, sizeof *b.events);
    fill_event(&b.events[0]);
    fill_event(&b.events[2]); /* [1] stays zeroed */
    b.n_stats = 2;
    b.stats = cm_xcalloc(2, sizeof *b.stats);
    b.stats[0].source.path = cm_xstrdup("/var/log/syslog");
    cm_event_batch_free(&b);
    cr_assert(is_zero(&b, sizeof b));
    cm_event_batch_free(&b);
    cm_event_batch_free(NULL);
    cm_log_event_free(NULL);
    cm_log_source_free(NULL);
}

Test(logevent, rule_and_policy_free_release_everything)
{
    struct cm_policy p = {.version = 3, .n = 2};
    p.rules = cm_xcalloc(2, sizeof *p.rules);
    struct cm_rule *r = &p.rules[0];
    snprintf(r->id, sizeof r->id, "ssh.failed_password");
    r->title = cm_xstrdup("t");
    r->regex = cm_xstrdup("x");
    r->threshold = (struct cm_rule_threshold){5, 60, cm_xstrdup("src_ip")};
    cr_assert_eq(cm_strv_push(&r->tags, "a"), 0);
    cr_assert_eq(cm_strv_push(&r->tags, "b"), 0);
    cm_policy_free(&p);
    cr_assert(is_zero(&p, sizeof p));
    cm_policy_free(&p);
    cm_policy_free(NULL);

    struct cm_rule one = {0};
    one.title = cm_xstrdup("t");
    cr_assert_eq(cm_strv_push(&one.tags, "a"), 0);
    cm_rule_free(&one);
    cr_assert(is_zero(&one, sizeof one));
    cm_rule_free(NULL);
}
