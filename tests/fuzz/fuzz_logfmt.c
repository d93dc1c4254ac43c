/* fuzz_logfmt.c - feeds untrusted bytes to the log record decoders. The
 * first byte picks the decoder (low 3 bits) and, for json-file, whether the
 * record counts as cut at the tailer's cap (bit 3) and how small the output
 * room is (high bits); the rest is one record without its newline. Checks
 * what the decoders promise: text inside its room or its input, a cut only
 * when text was dropped, and the sanitizer leaving valid UTF-8 without NUL. */
#include "agent/logfmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NOW_NS INT64_C(1795000000000000000) /* 2026-11-18 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_docker(const char *buf, size_t len, unsigned sel)
{
    size_t room = (sel >> 4) == 0 ? len + 1 : (sel >> 4);
    char *out = malloc(room);
    struct ag_logfmt_rec r;
    if (out && ag_logfmt_docker(buf, len, (sel & 8) != 0, out, room, &r) == 0) {
        if (r.len > room || r.text != out) abort();
        if (r.partial && r.cut) abort();
        ag_logfmt_sanitize(out, r.len);
    }
    free(out);
}

static void fuzz_cri(const char *buf, size_t len)
{
    struct ag_logfmt_rec r;
    if (ag_logfmt_cri(buf, len, &r) != 0) return;
    if (r.text < buf || r.text + r.len != buf + len) abort();
    if (strcmp(r.stream, "stdout") != 0 && strcmp(r.stream, "stderr") != 0) abort();
}

static void fuzz_sanitize(char *buf, size_t len)
{
    ag_logfmt_sanitize(buf, len);
    if (memchr(buf, '\0', len)) abort();
    if (ag_logfmt_sanitize(buf, len) != 0) abort(); /* clean after one pass */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned sel = data[0];
    size_t len = size - 1;
    /* a copy without a terminator, so reads past the end are caught */
    char *buf = malloc(len ? len : 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, len);
    int64_t ts;
    switch (sel & 7) {
    case 0: fuzz_docker(buf, len, sel); break;
    case 1: fuzz_cri(buf, len); break;
    case 2: ag_logfmt_syslog_time(buf, len, FUZZ_NOW_NS, &ts); break;
    case 3: ag_logfmt_iso_time(buf, len, &ts); break;
    case 4: ag_logfmt_line_time(buf, len, FUZZ_NOW_NS, &ts); break;
    default: fuzz_sanitize(buf, len); break;
    }
    free(buf);
    return 0;
}
