/* logfmt.h - pure decoders for the log formats the tailer reads.
 *
 * One record at a time (a line of the file without its '\n'): Docker's
 * json-file record, the CRI / podman k8s-file record, and the timestamps
 * at the start of raw host log lines (syslog's "Mmm dd hh:mm:ss" without a
 * year, ISO 8601 / RFC 3339). Also the text sanitizer that makes any bytes
 * printable-safe (NUL and invalid UTF-8 become '?').
 *
 * Does not: read files, join partial records (the tailer does, with these
 * results), allocate or log. Invalid input returns CM_EPARSE, never crashes;
 * the caller counts it as an invalid line. */
#ifndef AG_LOGFMT_H
#define AG_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ag_logfmt_rec {
    const char *text; /* CRI: points into the input; Docker: the caller's out buffer */
    size_t len;       /* without the record's own line ending */
    bool partial;     /* the line continues in the next record */
    bool cut;         /* text longer than the room given: only the first len bytes kept */
    char stream[8];   /* "stdout", "stderr" or "" */
    int64_t ts_ns;    /* the record's time, 0 when absent */
};

/* Docker json-file: {"log":"...","stream":"stdout","time":"<RFC3339>"}.
 * The "log" value is unescaped into out (at most outcap bytes, more sets
 * rec->cut); a trailing "\n" in it means the line is complete (removed),
 * none means partial. input_cut: the caller kept only the first len bytes of
 * a longer record, so an unterminated "log" string is accepted as is. */
int ag_logfmt_docker(const char *line, size_t len, bool input_cut, char *out, size_t outcap,
                     struct ag_logfmt_rec *rec);
/* CRI / k8s-file: "<RFC3339Nano> <stdout|stderr> <P|F>[:tags] <text>". */
int ag_logfmt_cri(const char *line, size_t len, struct ag_logfmt_rec *rec);

/* "Mmm dd hh:mm:ss" at s (day may be space-padded), in local time, in the
 * year of now_ns, or the year before when that would be more than a day
 * past now_ns (a December line read in January). */
int ag_logfmt_syslog_time(const char *s, size_t len, int64_t now_ns, int64_t *ts_ns);
/* An RFC 3339 / ISO 8601 timestamp as the first space-separated token
 * ("2026-11-23T11:28:05.5+00:00 ..."). */
int ag_logfmt_iso_time(const char *s, size_t len, int64_t *ts_ns);
/* Either of the two at the start of a raw line. */
int ag_logfmt_line_time(const char *s, size_t len, int64_t now_ns, int64_t *ts_ns);

/* Replaces NUL bytes and every byte not part of a valid UTF-8 sequence by
 * '?', in place (length unchanged). Returns the number of bytes replaced. */
size_t ag_logfmt_sanitize(char *s, size_t len);

#endif
