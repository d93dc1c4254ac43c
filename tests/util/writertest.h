/* writertest.h - what the tests that drive the real writer thread share:
 * the writer options they run with, and a counter of the acks it reports
 * that the test thread can wait on. */
#ifndef TU_WRITERTEST_H
#define TU_WRITERTEST_H

#include "collector/config.h"
#include "collector/writer.h"

#include <pthread.h>
#include <stddef.h>

/* Zeroes *cfg and sets what a writer test needs: the database, batches of
 * up to 10,000 samples flushed after 20 ms, a 64-envelope queue, 30 days of
 * sample age and 10 minutes of clock skew. */
void tu_writer_config(struct col_config *cfg, const char *conninfo);

struct tu_ack_count {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t acks, stored;
};

void tu_ack_count_init(struct tu_ack_count *c);
/* A col_writer_ack_cb; arg is the struct tu_ack_count. */
void tu_ack_count_on_ack(void *arg, const struct col_writer_item *it, enum cm_ack_status st,
                         const char *reason);
/* Waits up to 10 s for at least n acks; returns how many came, *stored how
 * many of them were STORED. */
size_t tu_ack_count_wait(struct tu_ack_count *c, size_t n, size_t *stored);

#endif
