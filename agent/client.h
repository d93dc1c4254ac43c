/* client.h - the agent's ZeroMQ link to the collector.
 *
 * One DEALER socket with CURVE (the collector's public key, this agent's key
 * pair), driven by the caller's libuv loop: ZMQ_FD of the socket and of a
 * socket monitor are watched with uv_poll. The monitor reports each finished
 * CURVE handshake, so the caller's on_connect runs on every (re)connect (the
 * agent sends Hello there), and a refused key is logged clearly.
 *
 * The client is a transport only: it sends already-encoded envelopes and
 * reports each Ack, each handshake and each refusal. It keeps no record of
 * what is unacked and never resends: that is the sender's job (sender.c,
 * over the disk spool). ZMQ_IMMEDIATE is on, so nothing is queued for a
 * connection that is not up: a send while disconnected fails with -ENOTCONN
 * (the caller keeps the record) instead of piling up in memory.
 *
 * Logs connection events (rate-limited); never logs message contents or
 * secrets. */
#ifndef AG_CLIENT_H
#define AG_CLIENT_H

#include "common/keys.h"
#include "proto/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define AG_CLIENT_LINGER_MS 1000

/* Called on the loop thread after each successful CURVE handshake. */
typedef void (*ag_client_connect_cb)(void *data);
/* Called on the loop thread for each Ack; ack is borrowed for the call. */
typedef void (*ag_client_ack_cb)(void *data, const struct cm_ack *ack);
/* Called on the loop thread for each Policy (detection rules) the collector
 * pushes; p is borrowed for the call. */
typedef void (*ag_client_policy_cb)(void *data, const struct cm_policy *p);
/* Called when the collector's ZAP handler refused our key (already logged);
 * ZeroMQ keeps retrying, so a long-running caller can ignore it. */
typedef void (*ag_client_refused_cb)(void *data);

struct ag_client_opts {
    const char *endpoint;            /* "tcp://host:port"; copied */
    const char *server_public_z85;   /* collector key, 40 Z85 characters; copied */
    const struct cm_keypair *keys;   /* this agent's key pair; copied */
    ag_client_connect_cb on_connect; /* may be NULL */
    ag_client_ack_cb on_ack;         /* may be NULL */
    ag_client_refused_cb on_refused; /* may be NULL */
    ag_client_policy_cb on_policy;   /* may be NULL */
    void *data;                      /* passed to the callbacks */
};

struct ag_client_stats {
    uint64_t sent;         /* envelopes handed to ZeroMQ */
    uint64_t acked;        /* Acks with status STORED */
    uint64_t rejected;     /* Acks with status REJECTED */
    uint64_t connects;     /* successful handshakes */
    uint64_t bad_messages; /* server messages that did not decode */
    uint64_t refused;      /* handshakes refused by the collector (key not enrolled) */
    uint64_t policies;     /* Policy messages received */
};

struct ag_client;

/* Creates the socket and starts connecting (asynchronously). Fails on bad
 * keys or a malformed endpoint; err says why. Caller frees with
 * ag_client_free. Even after a failure, run the loop before closing it:
 * handles already initialised are released from close callbacks. */
int ag_client_new(uv_loop_t *loop, const struct ag_client_opts *opts, struct ag_client **out,
                  char *err, size_t errlen);
bool ag_client_is_connected(const struct ag_client *c);
/* Sends one encoded envelope (buf borrowed for the call). Returns 0,
 * -ENOTCONN while no connection is up, -EAGAIN when ZeroMQ's queue is full
 * (high-water mark; retry later), -ESHUTDOWN after ag_client_free, or
 * another -errno. Acks arrive later through on_ack, never inside this call. */
int ag_client_send(struct ag_client *c, const void *buf, size_t len);
void ag_client_get_stats(const struct ag_client *c, struct ag_client_stats *out);
/* Stops watching and closes the libuv handles; the sockets and memory are
 * released from the handles' close callbacks, so the caller must run the
 * loop afterwards (uv_run until it returns). No callback fires after this
 * call. Harmless on NULL. */
void ag_client_free(struct ag_client *c);

#endif
