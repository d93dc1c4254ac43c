/* fuzz_cgroup_parse.c - feeds untrusted bytes to the cgroup file parsers and
 * the net/dev parser. The first byte picks the parser (modulo the number of
 * parsers), the rest is the file content; the finish step runs too, so unit
 * conversions and derived values see whatever the parsers produced. */
#include "agent/cgroup_int.h"
#include "agent/netdev.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NPARSERS (AG_CGF__COUNT + 2)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned which = data[0] % NPARSERS;
    size_t len = size - 1;
    if (len > AG_CG_READ_MAX) len = AG_CG_READ_MAX;
    /* a copy without a terminator, so reads past the end are caught */
    char *buf = malloc(len ? len : 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, len);
    if (which < AG_CGF__COUNT) {
        struct ag_cg_raw raw = {0};
        struct cm_sample s = {0};
        ag_cg_parse((enum ag_cg_file)which, buf, len, &raw);
        ag_cg_v1_finish(&raw, 100, &s);
        memset(&s, 0, sizeof(s));
        ag_cg_v2_finish(&raw, &s);
    } else if (which == AG_CGF__COUNT) {
        struct ag_netdev_totals t;
        ag_netdev_parse(buf, len, &t);
    } else {
        int pid;
        ag_cg_parse_first_pid(buf, len, &pid);
    }
    free(buf);
    return 0;
}
