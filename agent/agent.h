/* agent.h - the agent daemon: one libuv loop that sweeps cgroups on a timer,
 * splits each sweep into envelopes, and hands them to the sender (spooled on
 * disk, delivered until acked), or, with --print, writes them to stdout as
 * JSON.
 *
 * Modes (from struct ag_config):
 *   --once --print  one sweep, one JSON document on stdout; needs no
 *                   collector, no key file and no state directory
 *   --print         one JSON line per sweep, forever
 *   --once          one sweep spooled, Hello + delivery once connected; exit
 *                   0 when the spool is drained within AG_ONCE_WAIT_MS, 1
 *                   otherwise (what is unacked stays spooled)
 *   (none)          run until SIGINT/SIGTERM; unacked envelopes stay in the
 *                   spool and go out after the next start
 * Sending modes need collector_public_key and key_file (mode 0600) and keep
 * the sequence numbers and the spool in state_dir. */
#ifndef AG_AGENT_H
#define AG_AGENT_H

#include "agent/config.h"

#define AG_ONCE_WAIT_MS 10000

/* Runs until done or signalled. Returns the process exit code: 0 on a clean
 * stop (and, with --once, when every envelope was acked), 1 otherwise. Logs
 * the reason for any failure; cfg is borrowed for the call. */
int ag_run(const struct ag_config *cfg);

#endif
