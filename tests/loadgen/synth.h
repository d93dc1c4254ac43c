/* synth.h - the synthetic container sample boxwatch-loadgen sends and the
 * COPY-ceiling benchmark stores: one definition, so the ceiling rows have
 * exactly the shape of what the pipeline carries (the same 16 counters,
 * values growing with time at a per-container rate). */
#ifndef BW_SYNTH_H
#define BW_SYNTH_H

#include "common/sample.h"

#include <stddef.h>
#include <stdint.h>

/* Fills the counters of s for container number c at t_us microseconds of
 * the caller's time base; leaves id, path, runtime and ts alone. */
void bw_synth_sample(struct cm_sample *s, size_t c, uint64_t t_us);

#endif
