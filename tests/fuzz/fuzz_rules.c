/* fuzz_rules.c - untrusted bytes into the rules file parser (common/rules.h).
 *
 * The collector reads an operator's rules file and every agent compiles
 * what arrives in a Policy with the same checks, so a rules document must
 * never crash or leak either side. Besides that it checks the parser's
 * promises: a refusal explains itself and leaves the policy empty; an
 * accepted policy passes cm_rule_validate rule by rule, renders back to
 * JSON, and that JSON parses again into the same number of rules. */
#include "common/err.h"
#include "common/rules.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_roundtrip(const struct cm_policy *p)
{
    char err[256];
    for (size_t i = 0; i < p->n; i++) {
        err[0] = '\0';
        if (cm_rule_validate(&p->rules[i], err, sizeof err) != 0) abort();
    }
    cJSON *doc = cm_rules_to_json(p);
    if (!doc) abort();
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text) abort();
    struct cm_policy again = {0};
    if (cm_rules_parse(text, strlen(text), &again, err, sizeof err) != 0 || again.n != p->n)
        abort();
    cm_policy_free(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cm_policy p = {0};
    char err[256] = "";
    if (size > CM_RULES_FILE_MAX) return 0;
    int rc = cm_rules_parse((const char *)data, size, &p, err, sizeof err);
    if (rc != 0) {
        if (err[0] == '\0' || p.n != 0 || p.rules != NULL) abort();
        return 0;
    }
    fuzz_roundtrip(&p);
    cm_policy_free(&p);
    return 0;
}
