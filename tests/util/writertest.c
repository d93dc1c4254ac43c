/* writertest.c - see writertest.h. */
#include "tests/util/writertest.h"

#include <string.h>
#include <time.h>

void tu_writer_config(struct col_config *cfg, const char *conninfo)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->database = (char *)conninfo;
    cfg->batch_max_samples = 10000;
    cfg->batch_max_delay_ms = 20;
    cfg->queue_max_envelopes = 64;
    cfg->max_sample_age_ms = 30ULL * 86400 * 1000;
    cfg->max_clock_skew_ms = 600 * 1000;
}

void tu_ack_count_init(struct tu_ack_count *c)
{
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->acks = c->stored = 0;
}

void tu_ack_count_on_ack(void *arg, const struct col_writer_item *it, enum cm_ack_status st,
                         const char *reason)
{
    struct tu_ack_count *c = arg;
    (void)it, (void)reason;
    pthread_mutex_lock(&c->mu);
    c->acks++;
    c->stored += st == CM_ACK_STORED;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

size_t tu_ack_count_wait(struct tu_ack_count *c, size_t n, size_t *stored)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&c->mu);
    while (c->acks < n && pthread_cond_timedwait(&c->cv, &c->mu, &dl) == 0) {
    }
    size_t got = c->acks;
    if (stored) *stored = c->stored;
    pthread_mutex_unlock(&c->mu);
    return got;
}
