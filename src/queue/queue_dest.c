/*
 * Destinations and their connections. The recipients of a round are
 * grouped per destination (the relayhost, or the recipient domain) and
 * per message into jobs of at most queue_recipients_per_transaction
 * recipients; each job is one transaction (RFC 5321 §3.3), and a
 * connection carries job after job of its destination until none is
 * left, then says QUIT.
 *
 * Concurrency per destination starts at QUEUE_DEST_START_LIMIT, grows by
 * one per successful transaction up to queue_destination_concurrency and
 * halves when a connection fails; queue_concurrency bounds the total.
 * Addresses are tried in route order (MX preference, then each address of
 * a host); one that fails goes into the dead-host cache, and when every
 * address of a destination is there its jobs are deferred at once with
 * the remembered reason, without a connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../core/log.h"
#include "../core/loop.h"
#include "../core/runtime.h"
#include "../store/blob.h"
#include "../store/store.h"
#include "mta_sts.h"
#include "queue_int.h"

/* ---- Connections freed later ---------------------------------------- */

static void
grave_add(struct queue *q, struct smtpc *c)
{
	struct timeval now = { 0, 0 };

	if (c == NULL)
		return;
	if (q->n_grave == q->cap_grave) {
		size_t nc = q->cap_grave ? 2 * q->cap_grave : 16;
		void *p = realloc(q->grave, nc * sizeof(*q->grave));
		if (p == NULL) {
			/* Better a leak than a free inside a callback. */
			log_error(NULL, "queue_oom", " what=grave");
			return;
		}
		q->grave = p;
		q->cap_grave = nc;
	}
	q->grave[q->n_grave++] = c;
	evtimer_add(q->grave_ev, &now);
}

static void
grave_empty(struct queue *q)
{
	while (q->n_grave > 0)
		smtpc_free(&q->grave[--q->n_grave]);
}

void
queue_grave_cb(evutil_socket_t fd, short what, void *arg)
{
	grave_empty(arg);
}

/* ---- Jobs ----------------------------------------------------------- */

void
queue_job_free(struct qjob *j)
{
	if (j == NULL)
		return;
	free(j->rcpts);
	free(j->prefix);
	free(j);
}

static struct qjob *
job_pop(struct qdest *d)
{
	struct qjob *j = d->jobs;

	if (j == NULL)
		return NULL;
	d->jobs = j->next;
	if (d->jobs == NULL)
		d->jobs_tail = &d->jobs;
	d->n_jobs--;
	j->next = NULL;
	return j;
}

static void
job_push_front(struct qdest *d, struct qjob *j)
{
	j->next = d->jobs;
	d->jobs = j;
	if (j->next == NULL)
		d->jobs_tail = &j->next;
	d->n_jobs++;
}

static void
job_push_back(struct qdest *d, struct qjob *j)
{
	j->next = NULL;
	*d->jobs_tail = j;
	d->jobs_tail = &j->next;
	d->n_jobs++;
}

/* cap: the most recipients the job may take; its array grows to it
 * (most messages have one recipient per destination). */
static struct qjob *
job_new(const struct store_queue_msg *m, const char *prefix, size_t cap,
	int64_t now)
{
	struct qjob *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	if (prefix != NULL && (j->prefix = strdup(prefix)) == NULL) {
		free(j);
		return NULL;
	}
	j->msg = *m;
	j->cap = cap;
	j->leased_at = now;
	return j;
}

static int
job_add(struct qjob *j, const struct store_queue_rcpt *r)
{
	if (j->n == j->alloc) {
		size_t na = j->alloc ? 2 * j->alloc : 1;
		void *p;

		if (na > j->cap)
			na = j->cap;
		p = realloc(j->rcpts, na * sizeof(*j->rcpts));
		if (p == NULL)
			return -1;
		j->rcpts = p;
		j->alloc = na;
	}
	j->rcpts[j->n++] = *r;
	return 0;
}

static void
jobs_release(struct qdest *d)
{
	struct qjob *j;

	while ((j = job_pop(d)) != NULL) {
		queue_release(d->q, j->n);
		queue_job_free(j);
	}
}

void
queue_dest_fail_all(struct qdest *d, const struct smtpc_reply *r)
{
	struct qjob *j;

	while ((j = job_pop(d)) != NULL) {
		for (size_t i = 0; i < j->n; i++)
			queue_outcome(d->q, &j->msg, &j->rcpts[i], r, NULL,
				      false);
		queue_job_free(j);
	}
	d->idle_since = queue_now();
}

/* ---- Destinations ----------------------------------------------------- */

static struct qdest *
dest_get(struct queue *q, const char *key, bool relaxed)
{
	struct qdest *d;
	unsigned max = q->srv->cfg.queue_dest_concurrency;

	for (d = q->dests; d != NULL; d = d->next)
		if (strcmp(d->key, key) == 0 && d->relaxed == relaxed)
			return d;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->q = q;
	d->relaxed = relaxed;
	snprintf(d->key, sizeof(d->key), "%s", key);
	d->jobs_tail = &d->jobs;
	d->limit = QUEUE_DEST_START_LIMIT < max ? QUEUE_DEST_START_LIMIT : max;
	if (d->limit == 0)
		d->limit = 1;
	d->next = q->dests;
	q->dests = d;
	return d;
}

static int
dest_add_item(struct queue *q, const struct store_queue_item *it,
	      size_t per_tx, int64_t now)
{
	struct qdest *d = dest_get(q, q->relay_host[0] ? "" : it->rcpt.domain,
				   (it->msg.flags & STORE_QMSG_TLS_OPTIONAL) != 0);
	struct qjob *j;

	if (d == NULL)
		return -1;
	for (j = d->jobs; j != NULL; j = j->next)
		if (j->msg.id == it->msg.id && j->n < j->cap)
			break;
	if (j == NULL) {
		if ((j = job_new(&it->msg, it->prefix, per_tx, now)) == NULL)
			return -1;
		job_push_back(d, j);
	}
	return job_add(j, &it->rcpt);
}

void
queue_dest_add(struct queue *q, const struct store_queue_item *items,
	       size_t n)
{
	size_t per_tx = q->srv->cfg.queue_rcpts_per_tx;
	int64_t now = queue_now();

	if (per_tx == 0)
		per_tx = 1;
	for (size_t i = 0; i < n; i++)
		if (dest_add_item(q, &items[i], per_tx, now) < 0) {
			log_error(NULL, "queue_oom", " what=job");
			queue_release(q, 1);
		}
	queue_pump_all(q);
}

void
queue_pump_all(struct queue *q)
{
	for (struct qdest *d = q->dests; d != NULL; d = d->next)
		if (d->n_jobs > 0 || d->conns != NULL)
			queue_dest_pump(d);
}

/* ---- Connections -------------------------------------------------------- */

static void conn_ready_cb(void *arg, struct smtpc *c, bool ok);
static void tx_done_cb(void *arg, struct smtpc *c, bool ok);

static void
conn_remove(struct qconn *k)
{
	struct qdest *d = k->dest;
	struct queue *q = d->q;

	for (struct qconn **pp = &d->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	if (k->state == QCONN_CONNECTING)
		d->n_connecting--;
	d->n_conns--;
	q->n_conns--;
	if (k->job != NULL) {
		queue_release(q, k->job->n);
		queue_job_free(k->job);
	}
	if (k->fd >= 0)
		close(k->fd);
	free(k->data);
	if (k->idle_ev != NULL)
		event_free(k->idle_ev);
	free(k->rcpts);
	grave_add(q, k->c);
	free(k);
	if (d->n_conns == 0)
		d->idle_since = queue_now();
}

/* The address k tries (advance: the next one), skipping dead ones; NULL
 * when none is left (d->last_err then says why, when known). */
static const struct sockaddr_storage *
conn_addr(struct qdest *d, struct qconn *k, int64_t now, bool advance)
{
	const struct dns_mx_result *r = d->route;

	if (r == NULL)
		return NULL;
	if (advance)
		k->addr_i++;
	for (; k->host_i < r->n_hosts; k->host_i++, k->addr_i = 0) {
		const struct dns_mx_host *h = &r->hosts[k->host_i];
		/* DANE: a host whose TLSA lookup failed waits. */
		if (tls_policy_host_blocked(&d->tls_policy, k->host_i,
					    &d->last_err))
			continue;
		/* MTA-STS enforce: only the policy's MX hosts. */
		for (; k->addr_i < h->n_addrs && queue_sts_host_ok(d, h);
		     k->addr_i++)
			if (!queue_dead_get(d->q, &h->addrs[k->addr_i], now,
					    &d->last_err))
				return &h->addrs[k->addr_i];
	}
	return NULL;
}

static int
conn_connect(struct qconn *k)
{
	struct qdest *d = k->dest;
	struct queue *q = d->q;
	const struct dns_mx_host *h = &d->route->hosts[k->host_i];
	struct smtpc_target t = { 0 };

	t.addr = h->addrs[k->addr_i];
	snprintf(t.host, sizeof(t.host), "%s", h->name);
	t.tls = queue_sts_tls(d, d->tls);
	tls_policy_target(&d->tls_policy, k->host_i, &t);
	if (d->key[0] == '\0') {
		t.auth_user = q->auth_user;
		t.auth_pass = q->auth_pass;
	}
	k->state = QCONN_CONNECTING;
	k->c = smtpc_connect(q->srv, &t, conn_ready_cb, k);
	return k->c != NULL ? 0 : -1;
}

/* 0 connecting; -1 no address left (or out of memory). */
static int
conn_open(struct qdest *d, int64_t now)
{
	struct queue *q = d->q;
	struct qconn *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	k->dest = d;
	k->fd = -1;
	if (conn_addr(d, k, now, false) == NULL) {
		if (d->last_err.code == 0)
			queue_reply_set(&d->last_err, 451, "4.4.4",
					"No address to connect to for %s",
					d->key[0] ? d->key : q->relay_host);
		free(k);
		return -1;
	}
	k->next = d->conns;
	d->conns = k;
	k->state = QCONN_CONNECTING;
	d->n_conns++;
	d->n_connecting++;
	q->n_conns++;
	if (conn_connect(k) < 0) {
		queue_reply_set(&d->last_err, 451, "4.3.0", "Out of memory");
		conn_remove(k);
		return -1;
	}
	return 0;
}

static void
conn_ready_cb(void *arg, struct smtpc *c, bool ok)
{
	struct qconn *k = arg;
	struct qdest *d = k->dest;
	struct queue *q = d->q;
	int64_t now = queue_now();
	const struct dns_mx_host *h = &d->route->hosts[k->host_i];
	const char *why;
	enum tls_result tr = smtpc_tls_result(c, &why);

	tls_policy_report(d->key, &d->tls_policy, h->name, smtpc_peer(c),
			  tr, why);
	queue_sts_result(d, h, c, ok);
	if (ok) {
		k->state = QCONN_IDLE;
		d->n_connecting--;
		queue_dest_pump(d);
		return;
	}
	d->last_err = *smtpc_error(c);
	queue_dead_add(q, &h->addrs[k->addr_i], now, &d->last_err);
	log_info(NULL, "remote_connect", " dest=%s relay=%s status=%s "
		 "reply=%s", log_qs(d->key[0] ? d->key : q->relay_host),
		 log_qs(smtpc_peer(c)), d->last_err.status,
		 log_qs(d->last_err.text));
	grave_add(q, k->c);
	k->c = NULL;
	if (!q->draining && conn_addr(d, k, now, true) != NULL &&
	    conn_connect(k) == 0)
		return;
	/* This connection found no server: fewer at once from now on. */
	conn_remove(k);
	d->limit = d->limit > 1 ? d->limit / 2 : 1;
	if (d->n_conns == 0)
		queue_dest_fail_all(d, &d->last_err);
	queue_pump_all(q);
}

/* The final-delivery lines at the top of a message file, which are not
 * relayed (RFC 5321 §4.4: Return-Path is added at final delivery). One
 * small read of the head, as the SMTP client reads the rest. */
static uint64_t
conn_delivery_prefix(int fd)
{
	char head[BLOB_DELIVERY_HEAD_MAX];
	ssize_t n = pread(fd, head, sizeof(head), 0);

	return n > 0 ? blob_delivery_prefix(head, (size_t)n) : 0;
}

/* The job's message: a stored body read into k->data (a few warm pages of
 * the store's database, on the loop like a file's open), else its file
 * opened as k->fd. 0 or -1. */
static int
conn_message_open(struct qconn *k, const struct qjob *j)
{
	struct queue *q = k->dest->q;
	struct store *st = store_thread_handle(&q->srv->cfg);
	size_t len;

	if (blob_is_stored(j->msg.blob))
		return blob_read(st, q->srv->cfg.data_dir, j->msg.blob,
				 j->msg.size, &k->data, &len);
	k->fd = blob_open(st, q->srv->cfg.data_dir, j->msg.blob);
	return k->fd >= 0 ? 0 : -1;
}

static void
conn_message_close(struct qconn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	free(k->data);
	k->data = NULL;
}

/* 0 sent; -1 the job ended at once (its outcomes recorded). */
static int
conn_send(struct qconn *k, struct qjob *j)
{
	struct queue *q = k->dest->q;
	struct smtpc_reply r;

	k->rcpts = conn_message_open(k, j) == 0
		   ? calloc(j->n, sizeof(*k->rcpts)) : NULL;
	if (k->rcpts == NULL) {
		queue_reply_set(&r, 451, "4.3.0", "Cannot read the message "
				"file %s", j->msg.blob);
		log_error(NULL, "queue_file", " msg=%s file=%s", j->msg.qid,
			  log_qs(j->msg.blob));
		for (size_t i = 0; i < j->n; i++)
			queue_outcome(q, &j->msg, &j->rcpts[i], &r, NULL,
				      false);
		conn_message_close(k);
		queue_job_free(j);
		return -1;
	}
	for (size_t i = 0; i < j->n; i++) {
		k->rcpts[i].addr = j->rcpts[i].addr;
		k->rcpts[i].orcpt = j->rcpts[i].orcpt[0] ? j->rcpts[i].orcpt
							 : NULL;
		k->rcpts[i].notify = j->rcpts[i].notify;
	}
	memset(&k->msg, 0, sizeof(k->msg));
	/* Return-Path and Delivered-To are the local copies' (blob.h). */
	k->msg.start = k->data != NULL
		       ? blob_delivery_prefix(k->data, (size_t)j->msg.size)
		       : conn_delivery_prefix(k->fd);
	k->msg.from = j->msg.from;
	k->msg.envid = j->msg.envid[0] ? j->msg.envid : NULL;
	k->msg.ret = (int)j->msg.ret;
	k->msg.flags = j->msg.flags;
	k->msg.fd = k->fd;
	k->msg.data = k->data;
	k->msg.size = j->msg.size > 0 && (uint64_t)j->msg.size > k->msg.start
		      ? (uint64_t)j->msg.size - k->msg.start : 0;
	k->msg.prefix = j->prefix;
	k->msg.prefix_len = j->prefix != NULL ? strlen(j->prefix) : 0;
	k->msg.rcpts = k->rcpts;
	k->msg.n_rcpts = j->n;
	k->job = j;
	k->state = QCONN_BUSY;
	smtpc_send(k->c, &k->msg, tx_done_cb, k);
	return 0;
}

static void
conn_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qconn *k = arg;
	struct queue *q = k->dest->q;

	conn_remove(k);
	queue_pump_all(q); /* a slot of queue_concurrency is free */
}

/* No job now: the connection waits QUEUE_IDLE_KEEP_MS for one. */
static void
conn_keep(struct qconn *k)
{
	struct queue *q = k->dest->q;
	struct timeval tv = { QUEUE_IDLE_KEEP_MS / 1000,
			      (QUEUE_IDLE_KEEP_MS % 1000) * 1000 };

	if (q->draining || !smtpc_usable(k->c)) {
		conn_remove(k);
		return;
	}
	if (k->idle_ev == NULL &&
	    (k->idle_ev = evtimer_new(loop_base(q->srv->loop), conn_idle_cb,
				      k)) == NULL) {
		conn_remove(k);
		return;
	}
	if (!evtimer_pending(k->idle_ev, NULL))
		evtimer_add(k->idle_ev, &tv);
}

/* An idle connection takes the next job, or waits for one. */
static void
conn_take_job(struct qconn *k)
{
	struct qdest *d = k->dest;
	struct queue *q = d->q;
	int64_t stale = queue_now() - (QUEUE_LEASE_S -
				       4 * q->srv->cfg.smtp_client_timeout);
	struct qjob *j;

	if (!smtpc_usable(k->c)) {
		/* Closed by the server while it waited. */
		conn_remove(k);
		return;
	}
	if (k->idle_ev != NULL)
		evtimer_del(k->idle_ev);
	while (!q->draining && (j = job_pop(d)) != NULL) {
		/* Held so long that the lease may have run out: the store
		 * hands it out again; this copy must not be sent. */
		if (j->leased_at < stale) {
			queue_release(q, j->n);
			queue_job_free(j);
			continue;
		}
		if (conn_send(k, j) == 0)
			return;
	}
	conn_keep(k);
}

static struct qjob *
tx_retry_job(struct qjob *retry, const struct qjob *j, size_t i)
{
	struct qjob *r = retry;

	if (r == NULL && (r = job_new(&j->msg, j->prefix, j->n,
					   j->leased_at)) == NULL)
		return NULL;
	if (job_add(r, &j->rcpts[i]) < 0) {
		if (retry == NULL)
			queue_job_free(r);
		return NULL;
	}
	return r;
}

static void
tx_done_cb(void *arg, struct smtpc *c, bool ok)
{
	struct qconn *k = arg;
	struct qdest *d = k->dest;
	struct queue *q = d->q;
	struct qjob *j = k->job, *retry = NULL;
	bool dsn = (smtpc_ext(c) & SMTPC_EXT_DSN) != 0, progress = false;
	const char *peer = smtpc_peer(c);
	unsigned max = q->srv->cfg.queue_dest_concurrency;

	for (size_t i = 0; i < j->n; i++)
		progress |= k->rcpts[i].reply.code / 100 == 2;
	for (size_t i = 0; i < j->n; i++) {
		const struct smtpc_reply *r = &k->rcpts[i].reply;
		struct qjob *t;

		/* RFC 5321 §4.5.3.1.10: 452 for recipients beyond the
		 * server's limit; they go in the next transaction, now
		 * (only while others got through, so this ends). */
		if (ok && progress && r->code == 452 &&
		    (t = tx_retry_job(retry, j, i)) != NULL) {
			retry = t;
			continue;
		}
		queue_outcome(q, &j->msg, &j->rcpts[i], r, peer, dsn);
	}
	conn_message_close(k);
	free(k->rcpts);
	k->rcpts = NULL;
	k->job = NULL;
	queue_job_free(j);
	if (retry != NULL)
		job_push_front(d, retry);
	if (progress && d->limit < max)
		d->limit++;
	if (!ok) {
		d->limit = d->limit > 1 ? d->limit / 2 : 1;
		conn_remove(k);
		queue_pump_all(q);
		return;
	}
	k->state = QCONN_IDLE;
	queue_dest_pump(d);
}

/* ---- Pumping ------------------------------------------------------------ */

static void
dest_close_idle(struct qdest *d)
{
	struct qconn *k, *next;

	for (k = d->conns; k != NULL; k = next) {
		next = k->next;
		if (k->state == QCONN_IDLE)
			conn_remove(k);
	}
}

/* All of queue_concurrency in use: an idle connection of another
 * destination gives its slot up. */
static bool
reclaim_idle(struct queue *q, const struct qdest *except)
{
	for (struct qdest *d = q->dests; d != NULL; d = d->next)
		for (struct qconn *k = d->conns; d != except && k != NULL;
		     k = k->next)
			if (k->state == QCONN_IDLE) {
				conn_remove(k);
				return true;
			}
	return false;
}

static void
dest_open_more(struct qdest *d, int64_t now)
{
	struct queue *q = d->q;
	unsigned total = q->srv->cfg.queue_concurrency;

	while (d->n_jobs > d->n_connecting && d->n_conns < d->limit &&
	       (q->n_conns < total || reclaim_idle(q, d)))
		if (conn_open(d, now) < 0) {
			/* Every address is dead for now: with no
			 * connection left, the jobs wait for a later round. */
			if (d->n_conns == 0)
				queue_dest_fail_all(d, &d->last_err);
			return;
		}
}

void
queue_dest_pump(struct qdest *d)
{
	struct queue *q = d->q;
	int64_t now = queue_now();
	struct qconn *k, *next;

	if (q->stopping || d->dq != NULL || d->stsq != NULL ||
	    d->rptq != NULL || tls_policy_pending(&d->tls_policy))
		return;
	if (q->draining)
		jobs_release(d);
	if (d->n_jobs == 0) {
		for (k = d->conns; k != NULL; k = next) {
			next = k->next;
			if (k->state == QCONN_IDLE)
				conn_keep(k);
		}
		d->idle_since = now;
		return;
	}
	if (d->n_connecting == 0 && d->route_until <= now &&
	    (queue_route_start(d) == 0 || d->stsq != NULL ||
	     d->rptq != NULL))
		return;
	if (d->route_err.code != 0 || queue_sts_route_check(d) < 0) {
		queue_dest_fail_all(d, &d->route_err);
		dest_close_idle(d);
		return;
	}
	for (k = d->conns; k != NULL; k = next) {
		next = k->next;
		if (k->state == QCONN_IDLE)
			conn_take_job(k);
	}
	dest_open_more(d, now);
}

/* ---- Drain, free, forget ------------------------------------------------ */

void
queue_dest_drain(struct queue *q)
{
	for (struct qdest *d = q->dests; d != NULL; d = d->next) {
		struct qconn *k, *next;

		queue_route_cancel(d);
		queue_sts_cancel(d);
		jobs_release(d);
		for (k = d->conns; k != NULL; k = next) {
			next = k->next;
			if (k->state != QCONN_BUSY)
				conn_remove(k);
		}
	}
}

static void
dest_free(struct qdest *d)
{
	queue_route_cancel(d);
	queue_sts_cancel(d);
	jobs_release(d);
	while (d->conns != NULL)
		conn_remove(d->conns);
	free(d->route);
	free(d->sts);
	free(d->rua);
	free(d);
}

void
queue_dest_free_all(struct queue *q)
{
	struct qdest *d;

	while ((d = q->dests) != NULL) {
		q->dests = d->next;
		dest_free(d);
	}
	grave_empty(q);
	free(q->grave);
	q->grave = NULL;
}

void
queue_dest_gc(struct queue *q, int64_t now)
{
	struct qdest **pp = &q->dests, *d;

	while ((d = *pp) != NULL) {
		/* Idle, and its route (the costly part) out of date, or idle
		 * for long: its concurrency starts again at the floor. */
		if (d->n_jobs == 0 && d->conns == NULL && d->dq == NULL &&
		    d->stsq == NULL && d->rptq == NULL &&
		    (d->route_until <= now ||
		     d->idle_since + QUEUE_DEST_IDLE_S < now)) {
			*pp = d->next;
			dest_free(d);
			continue;
		}
		pp = &d->next;
	}
}
