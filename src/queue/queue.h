/*
 * The outbound queue's scheduler: it runs on the loop, takes due
 * recipients from the store (store_queue.h) in batches on a worker,
 * routes them (relayhost, or MX through dns.h), groups them per
 * destination domain, and delivers over smtpc.h connections with
 * per-destination concurrency and a dead-host cache. Each outcome is
 * committed through the group commit before anything else follows from
 * it (the message file is only removed once every recipient is final
 * and no notice is owed). Notices (bounces, delay warnings, success
 * notices) are built with dsn.h and delivered locally or queued.
 *
 * In memory: the recipients leased for the current round, the
 * connections, and per-destination state; nothing per queued message
 * beyond that. Between rounds one timer sleeps until the earliest
 * next_attempt; a one-second tick reads only the store's queue serial, so
 * `postel queue flush|hold|release|delete|bounce` is noticed within a
 * second.
 */
#ifndef POSTEL_QUEUE_H
#define POSTEL_QUEUE_H

#include <stddef.h>

struct server;
struct queue;

/* Needs srv->loop, srv->workers, srv->commit and srv->dns. NULL with err
 * set on failure. Sets srv->queue and srv->queue_kick_fn. */
struct queue *queue_new(struct server *srv, char *err, size_t errlen);
/* Something is due now (server_queue_kick); notices: a notice too. */
void queue_kick(struct queue *q, bool notices);
/* SIGTERM: no new attempts; connections in flight finish their
 * transaction (their results are committed) or are cut at the deadline
 * (their recipients stay pending: a duplicate is possible only for a
 * transaction cut after the remote end of data). */
void queue_drain(struct queue *q);
/* True while attempts are in flight. */
unsigned queue_busy(const struct queue *q);
void queue_free(struct queue **qp);

#endif
