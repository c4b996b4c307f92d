/*
 * Process-wide counters for /metrics (src/http/, Prometheus text format):
 * connections, logins, messages, SMTP rejections, group-commit batches.
 * Like the log, they are reached without a handle: every layer and
 * thread counts where the event happens with one call, a relaxed atomic
 * add (the loop thread, workers and the commit thread all count).
 * Gauges that are a property of live objects (open connections, worker
 * queues) are read when rendered, not counted.
 */
#ifndef POSTEL_METRICS_H
#define POSTEL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

struct evbuffer;
struct server;

enum metrics_counter {
	METRICS_MSG_ACCEPTED = 0,  /* SMTP transactions accepted (250) */
	METRICS_MSG_STORED,        /* copies stored in local mailboxes */
	METRICS_QUEUE_SENT,        /* remote recipients the next hop took */
	METRICS_QUEUE_BOUNCED,     /* remote recipients failed for good */
	METRICS_QUEUE_DEFERRED,    /* remote attempts to try again */
	METRICS_HTTP_REQUESTS,     /* HTTP requests answered */
	METRICS_COUNTER_COUNT
};

/* Startup, before any connection: the listener names (the protocol
 * table's), the label of every per-protocol series. */
void metrics_set_proto_name(enum proto p, const char *name);

void metrics_inc(enum metrics_counter c);
/* A connection accepted by the listener of protocol p, or refused
 * (reason "limit" or "rate", a static string). */
void metrics_conn_accepted(enum proto p);
void metrics_conn_refused(enum proto p, bool rate);
/* A login on the listener named proto (conn_proto); ok false: failed,
 * reason the log line's reason= (one of a few static words). */
void metrics_login(const char *proto, bool ok, const char *reason);
/* An SMTP failure reply (code >= 400) with its enhanced code (NULL:
 * none); loop thread only. */
void metrics_smtp_reject(int code, const char *enh);
/* One group-commit batch: jobs in it and its time from start to the
 * hand-off back to the loop (commit thread). */
void metrics_commit_batch(size_t jobs, int64_t usec);

/* The outbound queue's size, counted by the endpoint on a worker:
 * recipients pending, held, sent and failed, then messages (the order of
 * counts); shown until replaced. Loop thread. */
#define METRICS_QUEUE_COUNTS 5
void metrics_queue_set(const uint64_t counts[METRICS_QUEUE_COUNTS],
		       time_t now);
/* A count younger than max_age_ms is there (none yet: false). */
bool metrics_queue_fresh(time_t now, int max_age_ms);

/* Appends every series above, the open connections per protocol and the
 * worker queue depths of srv in Prometheus text exposition format
 * (version 0.0.4). Loop thread. */
void metrics_render(struct server *srv, struct evbuffer *out);

#endif
