/* hostinfo.c - reads the host's name, machine id and kernel release.
 *
 * Each file is read once at start-up with a fixed-size buffer: a file larger
 * than the cap is cut, never allocated for. Only printable text survives;
 * anything else would be rejected by the wire codec anyway. */
#include "agent/hostinfo.h"

#include "common/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Keeps the first line, trims surrounding whitespace and replaces anything
 * but printable ASCII. Returns the new length. */
static size_t ag_hostinfo_clean(char *s)
{
    char *nl = strchr(s, '\n');
    if (nl) *nl = '\0';
    size_t start = 0, end = strlen(s);
    while (start < end && (s[start] == ' ' || s[start] == '\t' || s[start] == '\r'))
        start++;
    while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r'))
        end--;
    memmove(s, s + start, end - start);
    s[end - start] = '\0';
    for (char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c >= 0x7f) *p = '?';
    }
    return end - start;
}

/* Reads at most outlen-1 bytes of <root>/<rel>, keeps the first line,
 * trims surrounding whitespace. Returns the length or a negative error. */
static int ag_hostinfo_file(const char *root, const char *rel, char *out, size_t outlen)
{
    char path[4096];
    size_t rlen = strlen(root);
    while (rlen > 1 && root[rlen - 1] == '/')
        rlen--;
    if (rlen == 1 && root[0] == '/') rlen = 0;
    if (snprintf(path, sizeof path, "%.*s/%s", (int)rlen, root, rel) >= (int)sizeof path)
        return CM_ETOOBIG;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return -errno;
    ssize_t n;
    do {
        n = read(fd, out, outlen - 1);
    } while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0) return -e;
    out[n] = '\0';
    return (int)ag_hostinfo_clean(out);
}

int ag_hostinfo_read(const char *host_root, struct ag_hostinfo *out)
{
    struct ag_hostinfo hi;
    memset(&hi, 0, sizeof hi);
    if (ag_hostinfo_file(host_root, "proc/sys/kernel/hostname", hi.hostname, sizeof hi.hostname) <=
        0) {
        if (gethostname(hi.hostname, sizeof hi.hostname - 1) < 0) hi.hostname[0] = '\0';
        hi.hostname[sizeof hi.hostname - 1] = '\0';
        ag_hostinfo_clean(hi.hostname);
    }
    if (ag_hostinfo_file(host_root, "etc/machine-id", hi.machine_id, sizeof hi.machine_id) < 0)
        hi.machine_id[0] = '\0';
    if (ag_hostinfo_file(host_root, "proc/sys/kernel/osrelease", hi.kernel, sizeof hi.kernel) < 0)
        hi.kernel[0] = '\0';
    if (!hi.hostname[0]) return CM_ENOTFOUND;
    *out = hi;
    return 0;
}
