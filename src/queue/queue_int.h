/*
 * The scheduler's internals, shared by queue.c (rounds, timers,
 * lifecycle), queue_dest.c (destinations, connections, transactions),
 * queue_route.c (relayhost / MX routing, loop detection, dead hosts),
 * queue_outcome.c (what an attempt's reply means, batched commits) and
 * queue_notice.c (DSNs). Loop thread only unless a function says so.
 */
#ifndef POSTEL_QUEUE_INT_H
#define POSTEL_QUEUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../core/config.h"
#include "../dns/dns.h"
#include "../store/store.h"
#include "queue.h"
#include "smtpc.h"
#include "tls_policy.h"

struct server;
struct event;
struct mta_sts;
struct mta_sts_req;
struct mta_sts_answer;
struct tlsrpt;

/* Recipients taken from the store per round. */
#define QUEUE_BATCH 500
/* Recipients held in memory (leased, not yet committed) before rounds
 * wait: the queue keeps only what is due now, whatever its size. */
#define QUEUE_MEM_MAX 2000
/* A lease outlives any attempt (a transaction is bounded by the client's
 * timeouts); a crash leaves leases behind, which the next start of this
 * node frees (queue.c, stale leases). */
#define QUEUE_LEASE_S 3600
/* Outcomes per commit job; more wait for the next one. */
#define QUEUE_COMMIT_BATCH 256
/* Messages whose notices are built per job. */
#define QUEUE_NOTICE_BATCH 32
/* A destination's route is looked up again after this (libunbound
 * caches answers for their TTL anyway). */
#define QUEUE_ROUTE_TTL 60
/* Addresses remembered as unreachable (the dead-host cache). */
#define QUEUE_DEAD_MAX 256
/* A destination with no work is forgotten after this, or sooner when
 * its route is out of date (QUEUE_ROUTE_TTL). */
#define QUEUE_DEST_IDLE_S 600
/* An idle connection waits this long for the next job of its
 * destination before QUIT: messages submitted one after another reuse it
 * instead of a new connection each (milliseconds). */
#define QUEUE_IDLE_KEEP_MS 2000
/* Connections per destination at first (then +1 per success, halved
 * on failure, up to queue_destination_concurrency). */
#define QUEUE_DEST_START_LIMIT 2

/* One transaction to make: recipients of one message for one
 * destination, at most queue_recipients_per_transaction. */
struct qjob {
	struct qjob *next;
	struct store_queue_msg msg;
	char *prefix;            /* sent before the file (DKIM), or NULL */
	struct store_queue_rcpt *rcpts;
	size_t n, alloc, cap;
	int64_t leased_at;
};

enum qconn_state { QCONN_CONNECTING, QCONN_IDLE, QCONN_BUSY };

/* One connection (or attempt to connect) of a destination. */
struct qconn {
	struct qconn *next;
	struct qdest *dest;
	struct smtpc *c;
	enum qconn_state state;
	size_t host_i, addr_i;   /* the address tried now */
	struct qjob *job;        /* QCONN_BUSY */
	struct event *idle_ev;   /* QCONN_IDLE: closes it when it fires */
	int fd;                  /* the job's message file, or -1 */
	char *data;              /* or its stored body (blob.h), or NULL */
	struct smtpc_msg msg;
	struct smtpc_rcpt *rcpts;
};

/* A destination: a recipient domain, or the relayhost for all. */
struct qdest {
	struct qdest *next;
	struct queue *q;
	char key[256];           /* domain; "" for the relayhost */
	struct qjob *jobs, **jobs_tail;
	size_t n_jobs;
	struct qconn *conns;
	unsigned n_conns, n_connecting;
	unsigned limit;
	struct dns_query *dq;    /* route lookup in flight */
	struct dns_mx_result *route; /* hosts to try (loop-checked) */
	int64_t route_until;
	struct smtpc_reply route_err; /* code != 0: routing failed */
	struct smtpc_reply last_err;  /* last connection failure */
	enum config_tls_mode tls;
	int64_t idle_since;
	/* DANE per MX host (tls_policy.h), looked up with the route. */
	struct tls_policy tls_policy;
	/* Messages with "TLS-Required: No" (RFC 8689 §3) travel apart:
	 * their domain's DANE policy is not applied. */
	bool relaxed;
	/* MTA-STS (queue_sts.c): the lookup in flight, and the policy in
	 * force or the failure to report (NULL: no policy). */
	struct mta_sts_req *stsq;
	struct mta_sts_answer *sts;
	/* TLS-RPT: the _smtp._tls lookup in flight, and the rua found
	 * (NULL: none, nothing is counted for the domain). */
	struct dns_query *rptq;
	char *rua;
};

struct qdead {
	struct sockaddr_storage addr;
	int64_t until;
	struct smtpc_reply why;
};

/* One outcome to commit, with its strings. */
struct qupd {
	struct store_queue_update u;
	int64_t msg_id;
	char status[16];
	char reply[STORE_QUEUE_REPLY_MAX + 1];
	char remote_mta[256 + 64];
};

/* Outcomes committed together (one commit job). */
struct qbatch {
	struct queue *q;
	struct qupd *u;
	size_t n, alloc;          /* in-memory recipients released unrecorded */
	bool notices;            /* some outcome owes a notice */
	bool deferred;           /* some recipient waits for a next attempt */
	char **orphans;
};

struct queue {
	struct server *srv;
	char owner[64];          /* lease owner: hostname:pid */
	struct event *timer;     /* earliest next_attempt */
	struct event *tick;      /* 1 s: the queue serial */
	struct event *flush_ev;  /* end of this loop turn: commit outcomes */
	bool draining, stopping;
	bool started;            /* stale leases were freed */
	bool round_busy, round_want;
	bool notice_busy, notice_want;
	bool serial_busy, serial_known;
	int64_t serial;
	bool nextdue_busy, nextdue_want;
	unsigned jobs;           /* worker and commit jobs in flight */
	size_t mem_items;        /* recipients held in memory */
	unsigned n_conns;        /* connections in total */
	struct qdest *dests;
	struct mta_sts *sts;     /* MTA-STS policies (mta_sts.h) */
	struct tlsrpt *tlsrpt;   /* TLS-RPT counts (tlsrpt.h) */
	struct qdead dead[QUEUE_DEAD_MAX];
	struct qbatch *batch;    /* outcomes not yet submitted */
	/* Connections to free at the end of this loop turn (never inside
	 * their own callback). */
	struct smtpc **grave;
	size_t n_grave, cap_grave;
	struct event *grave_ev;
	/* relayhost = HOST[:PORT] and its credentials */
	char relay_host[256];
	int relay_port;
	char *auth_user, *auth_pass;
	/* SMTP listener addresses (loop detection); any4/any6: a wildcard
	 * listener on port 25 makes every local address ours. */
	struct sockaddr_storage local[CONFIG_MAX_LISTENERS];
	size_t n_local;
	bool any4, any6;
};

/* queue.c */
int64_t queue_now(void);
/* Rounds may start again (memory was released, or something is due). */
void queue_round_maybe(struct queue *q);
void queue_nextdue_refresh(struct queue *q);
void queue_job_begin(struct queue *q);
void queue_job_end(struct queue *q);

/* queue_dest.c */
/* Takes the items (copied) into their destinations' jobs and starts
 * them. */
void queue_dest_add(struct queue *q, const struct store_queue_item *items,
		    size_t n);
void queue_dest_pump(struct qdest *d);
void queue_pump_all(struct queue *q);
/* Every job of the destination gets the reply as its outcome. */
void queue_dest_fail_all(struct qdest *d, const struct smtpc_reply *r);
/* Drops unstarted jobs (drain); closes idle connections. */
void queue_dest_drain(struct queue *q);
/* Frees everything (queue_free): connections cut, queries cancelled. */
void queue_dest_free_all(struct queue *q);
/* Forgets destinations idle for long. */
void queue_dest_gc(struct queue *q, int64_t now);
void queue_job_free(struct qjob *j);
void queue_grave_cb(int fd, short what, void *arg);

/* queue_route.c */
/* Parses relayhost (HOST[:PORT], [ADDRESS][:PORT]), reads
 * relayhost_auth_file, notes the SMTP listener addresses. 0 or -1. */
int queue_route_init(struct queue *q, char *err, size_t errlen);
/* Drops the hosts of a route that are this server and every less
 * preferred one; true when none is left (a loop, 5.4.6). */
bool queue_route_drop_self(const struct queue *q, struct dns_mx_result *r);
/* Starts the destination's route lookup: 1 done at once, 0 pending
 * (queue_dest_pump runs when it ends). */
int queue_route_start(struct qdest *d);
void queue_route_cancel(struct qdest *d);
bool queue_dead_get(struct queue *q, const struct sockaddr_storage *a,
		    int64_t now, struct smtpc_reply *why_r);
void queue_dead_add(struct queue *q, const struct sockaddr_storage *a,
		    int64_t now, const struct smtpc_reply *why);
void queue_reply_set(struct smtpc_reply *r, int code, const char *status,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* queue_sts.c */
/* Starts the destination's MTA-STS lookup (not for the relayhost);
 * queue_dest_pump runs when it ends. */
void queue_sts_start(struct qdest *d);
void queue_sts_cancel(struct qdest *d);
/* May the host be tried (enforce: it matches the policy's mx)? */
bool queue_sts_host_ok(const struct qdest *d, const struct dns_mx_host *h);
/* The TLS mode for a connection: verify under an enforced policy. */
enum config_tls_mode queue_sts_tls(const struct qdest *d,
				   enum config_tls_mode mode);
/* Enforce with no matching MX: d->route_err set (4.7.5), -1. */
int queue_sts_route_check(struct qdest *d);
/* One connection's result (ready or failed) for the report. */
void queue_sts_result(const struct qdest *d, const struct dns_mx_host *h,
		      const struct smtpc *c, bool ok);

/* queue_outcome.c */
/* Records one recipient's attempt: its log line, its new state, its
 * notice; committed with others at the end of this loop turn. relay is
 * smtpc_peer() or NULL (no connection). remote_dsn: the next hop took
 * the DSN parameters (RFC 3461 §5.2: a success notice is theirs). */
void queue_outcome(struct queue *q, const struct store_queue_msg *m,
		   const struct store_queue_rcpt *r,
		   const struct smtpc_reply *rep, const char *relay,
		   bool remote_dsn);
/* The wait before attempt attempts+1: retry_min * 2^(attempts-1), at
 * most retry_max, ±10% (seconds, >= 1). */
int64_t queue_backoff(const struct config *cfg, unsigned attempts);
/* n in-memory recipients leave without an outcome (drain, stale). */
void queue_release(struct queue *q, size_t n);
void queue_flush_now(struct queue *q);
void queue_flush_cb(int fd, short what, void *arg);
/* "550 5.1.1 text" from a reply, for the store and the DSN. */
void queue_reply_line(const struct smtpc_reply *r, char *out, size_t len);

/* queue_notice.c */
void queue_notice_start(struct queue *q);

#endif
