/* rules.h - the detection rules file: JSON in, a validated cm_policy out.
 *
 * The collector reads the rules file at start and on SIGHUP and refuses a
 * bad one with the file, the rule id and the reason; agents receive the
 * same rules in a Policy and compile them with the same function, so a rule
 * the collector accepted compiles on every agent. Regular expressions are
 * PCRE2 (Debian's libpcre2-8), compiled with JIT where the platform has it.
 * Pure: no file access (the caller reads the file), no logging.
 *
 * File schema (docs/RULES.md has the reference):
 *   {"rules": [{"id": "ssh.failed_password", "title": "...",
 *               "severity": "medium", "sources": ["auth"],
 *               "regex": "Failed password for (invalid user )?(?<user>\\S+) from (?<src_ip>[0-9a-f.:]+)",
 *               "threshold": {"count": 5, "window_seconds": 60, "group_by": "src_ip"},
 *               "tags": ["attack.t1110"]}, ...]}
 */
#ifndef CM_RULES_H
#define CM_RULES_H

#include "common/logevent.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CM_RULES_FILE_MAX (4u * 1024 * 1024)

/* Parses and validates a rules document into *out (version left 0 for the
 * caller to set). Every rule: id ([A-Za-z0-9][A-Za-z0-9_.-]*, unique),
 * title, severity, sources (known names), a regex that compiles, a
 * threshold whose group_by is a named capture of the regex, tags. On error
 * returns CM_EPARSE with err = "rule <id>: <reason>" (or "rules[3]: ..." when
 * the id itself is missing) and *out empty. */
int cm_rules_parse(const char *json, size_t len, struct cm_policy *out, char *err, size_t errlen);

/* Validates one rule that arrived in a Policy (the same checks). */
int cm_rule_validate(const struct cm_rule *r, char *err, size_t errlen);

/* Compiles one rule's regex exactly as the matcher does (PCRE2_UTF, \C
 * refused, capped length; a regex that matches the empty string is refused).
 * On success *out is the caller's: free it with pcre2_code_free_8. On error
 * CM_EPARSE with err = "regex: <reason>". (Added by the rules engineer so
 * cm_rule_validate and agent/matcher.c compile one way.) */
struct pcre2_real_code_8;
int cm_rule_regex_compile(const char *regex, struct pcre2_real_code_8 **out, char *err,
                          size_t errlen);

/* The rule set as the rules file's JSON (for the API). NULL on OOM. */
struct cJSON *cm_rules_to_json(const struct cm_policy *p);

#endif
