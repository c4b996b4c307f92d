/*
 * The scheduler's lifecycle and rounds (queue.h). A round takes up to
 * QUEUE_BATCH due recipients and leases them, in the group commit's
 * transaction (SQLite never runs on the loop; the commit thread is the
 * one writer), then hands them to their destinations
 * (queue_dest.c). Rounds run when something is due: a kick after a
 * submission, the timer set at the earliest next_attempt, a change of
 * the queue serial (the CLI) seen by the one-second tick, or a full batch
 * just taken while memory allows more.
 *
 * Leases: this node leases as hostname:pid. A node that crashed leaves
 * its leases until they expire; at start the leases of an earlier
 * process of this host are freed first (store_queue_unlease) (one server per data directory,
 * serve.lock, so they cannot be in use), then rounds begin.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "../core/log.h"
#include "../core/loop.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../store/commit.h"
#include "../store/store.h"
#include "mta_sts.h"
#include "queue_int.h"
#include "tlsrpt.h"

int64_t
queue_now(void)
{
	return (int64_t)time(NULL);
}

void
queue_job_begin(struct queue *q)
{
	q->jobs++;
}

void
queue_job_end(struct queue *q)
{
	q->jobs--;
}

/* ---- Rounds ---------------------------------------------------------- */

struct qround {
	struct queue *q;
	char owner[64];
	int64_t now;
	struct store_queue_item *items;
	size_t n;
};

/* Commit thread, in the group commit's transaction (a savepoint of its
 * own): the due recipients, leased at once, so that what is handed out
 * is exactly what this node holds. The commit thread is the one writer:
 * taking leases there never waits on (nor delays) its lock. */
static int
round_apply(struct store *st, void *arg, const char **err_r)
{
	struct qround *r = arg;
	int64_t *ids;
	size_t taken = 0;
	int rc;

	store_queue_items_free(r->items, r->n);
	r->items = NULL;
	r->n = 0;
	if (store_queue_due(st, r->now, QUEUE_BATCH, &r->items, &r->n,
			    err_r) < 0)
		return -1;
	if (r->n == 0)
		return 0;
	if ((ids = malloc(r->n * sizeof(*ids))) == NULL) {
		*err_r = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < r->n; i++)
		ids[i] = r->items[i].rcpt.id;
	rc = store_queue_lease(st, ids, r->n, r->owner, r->now,
			       r->now + QUEUE_LEASE_S, &taken, err_r);
	free(ids);
	if (rc == 0 && taken != r->n) {
		/* Another node took some between the two statements (never
		 * with SQLite): leave this round to them. */
		*err_r = "lease raced";
		rc = -1;
	}
	return rc;
}

static void
round_done(void *arg, int result)
{
	struct qround *r = arg;
	struct queue *q = r->q;
	size_t n = r->n;

	queue_job_end(q);
	q->round_busy = false;
	if (result != 0) {
		/* Not committed: nothing is leased; try again later. */
		log_error(NULL, "queue_round", " reason=commit");
		n = 0;
	}
	if (!q->stopping && n > 0) {
		q->mem_items += n;
		queue_dest_add(q, r->items, n);
		/* A full batch: more may be due now. */
		if (n == QUEUE_BATCH)
			q->round_want = true;
	}
	store_queue_items_free(r->items, r->n);
	free(r);
	if (q->stopping)
		return;
	/* A round only leases what is due: the timer, when armed, still
	 * points at the earliest other attempt. Read it again only when it
	 * is not armed (it just fired, or nothing was waiting), not after
	 * every round a burst of submissions kicks. */
	if (!evtimer_pending(q->timer, NULL))
		queue_nextdue_refresh(q);
	queue_round_maybe(q);
}

void
queue_round_maybe(struct queue *q)
{
	struct commit_job job = { 0 };
	struct qround *r;

	if (!q->round_want || q->round_busy || q->draining || q->stopping ||
	    !q->started || q->srv->commit == NULL ||
	    q->mem_items + QUEUE_BATCH > QUEUE_MEM_MAX)
		return;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return;
	q->round_want = false;
	q->round_busy = true;
	r->q = q;
	r->now = queue_now();
	memcpy(r->owner, q->owner, sizeof(r->owner));
	job.apply = round_apply;
	job.done = round_done;
	job.arg = r;
	queue_job_begin(q);
	commit_submit(q->srv->commit, &job);
}

/* ---- The timer at the earliest next attempt ------------------------- */

struct qnextdue {
	struct queue *q;
	const struct config *cfg;
	int rc;
	int64_t when;
};

static void
nextdue_work(void *arg)
{
	struct qnextdue *n = arg;
	struct store *st = store_thread_handle(n->cfg);

	n->rc = st != NULL ? store_queue_next_due(st, &n->when) : -1;
}

static void
nextdue_done(void *arg)
{
	struct qnextdue *n = arg;
	struct queue *q = n->q;
	int64_t now = queue_now(), delay;
	struct timeval tv = { 0, 0 };

	queue_job_end(q);
	q->nextdue_busy = false;
	if (!q->stopping && !q->draining && n->rc == 1) {
		/* Recipients leased here (in memory) are due too but not
		 * taken again: never sooner than a second, so they cannot
		 * make the timer spin. */
		delay = n->when - now;
		tv.tv_sec = delay < 1 ? 1 : (time_t)delay;
		event_add(q->timer, &tv);
	}
	free(n);
	if (q->nextdue_want)
		queue_nextdue_refresh(q);
}

void
queue_nextdue_refresh(struct queue *q)
{
	struct qnextdue *n;

	if (q->stopping || q->draining || q->srv->workers == NULL)
		return;
	if (q->nextdue_busy) {
		q->nextdue_want = true;
		return;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return;
	q->nextdue_want = false;
	q->nextdue_busy = true;
	n->q = q;
	n->cfg = &q->srv->cfg;
	queue_job_begin(q);
	workers_submit(q->srv->workers, nextdue_work, nextdue_done, n);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;

	q->round_want = true;
	queue_round_maybe(q);
}

/* ---- The one-second tick: the queue serial -------------------------- */

struct qserial {
	struct queue *q;
	const struct config *cfg;
	int rc;
	int64_t serial;
};

static void
serial_work(void *arg)
{
	struct qserial *s = arg;
	struct store *st = store_thread_handle(s->cfg);

	s->rc = st != NULL ? store_queue_serial(st, &s->serial) : -1;
}

static void
serial_done(void *arg)
{
	struct qserial *s = arg;
	struct queue *q = s->q;

	queue_job_end(q);
	q->serial_busy = false;
	if (s->rc == 0 && !q->stopping) {
		if (!q->serial_known || s->serial != q->serial) {
			/* flush, hold, release, delete, bounce, or a new
			 * message: look now (the first reading too: a change
			 * may have come before it). */
			q->round_want = true;
			queue_round_maybe(q);
			queue_notice_start(q);
			queue_nextdue_refresh(q);
		}
		q->serial = s->serial;
		q->serial_known = true;
	}
	free(s);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue *q = arg;
	struct qserial *s;

	queue_dest_gc(q, queue_now());
	if (!q->draining && !q->stopping)
		tlsrpt_tick(q->tlsrpt);
	if (q->serial_busy || q->draining || q->stopping ||
	    q->srv->workers == NULL || (s = calloc(1, sizeof(*s))) == NULL)
		return;
	q->serial_busy = true;
	s->q = q;
	s->cfg = &q->srv->cfg;
	queue_job_begin(q);
	workers_submit(q->srv->workers, serial_work, serial_done, s);
}

/* ---- Stale leases of an earlier process of this host ---------------- */

struct qstale {
	struct queue *q;
	char prefix[64];         /* "hostname:" */
	char owner[64];
	size_t freed;
};

/* Commit thread: one UPDATE; nothing can hold these leases any more (one
 * server per data directory, serve.lock). */
static int
stale_apply(struct store *st, void *arg, const char **err_r)
{
	struct qstale *s = arg;

	return store_queue_unlease(st, s->prefix, s->owner, queue_now(),
				   &s->freed, err_r);
}

static void
stale_done(void *arg, int result)
{
	struct qstale *s = arg;
	struct queue *q = s->q;

	queue_job_end(q);
	if (result != 0)
		log_error(NULL, "queue_leases", " reason=commit");
	else if (s->freed > 0)
		log_info(NULL, "queue_leases", " freed=%zu", s->freed);
	free(s);
	if (q->stopping)
		return;
	q->started = true;
	q->round_want = true;
	queue_round_maybe(q);
	queue_notice_start(q);
	queue_nextdue_refresh(q);
}

static int
stale_start(struct queue *q)
{
	struct qstale *s = calloc(1, sizeof(*s));
	struct commit_job job = { 0 };

	if (s == NULL)
		return -1;
	s->q = q;
	snprintf(s->prefix, sizeof(s->prefix), "%.50s:", q->srv->cfg.hostname);
	memcpy(s->owner, q->owner, sizeof(s->owner));
	job.apply = stale_apply;
	job.done = stale_done;
	job.arg = s;
	queue_job_begin(q);
	commit_submit(q->srv->commit, &job);
	return 0;
}

/* ---- Lifecycle ------------------------------------------------------ */

static void
queue_kick_adaptor(struct queue *q, bool notices)
{
	queue_kick(q, notices);
}

struct queue *
queue_new(struct server *srv, char *err, size_t errlen)
{
	struct queue *q = calloc(1, sizeof(*q));
	struct event_base *base = loop_base(srv->loop);
	struct timeval sec = { 1, 0 };

	if (q == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->srv = srv;
	snprintf(q->owner, sizeof(q->owner), "%.50s:%ld", srv->cfg.hostname,
		 (long)getpid());
	if (queue_route_init(q, err, errlen) < 0)
		goto fail;
	if ((q->sts = mta_sts_new(srv)) == NULL ||
	    (q->tlsrpt = tlsrpt_new(srv)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	q->timer = evtimer_new(base, timer_cb, q);
	q->tick = event_new(base, -1, EV_PERSIST, tick_cb, q);
	q->flush_ev = evtimer_new(base, queue_flush_cb, q);
	q->grave_ev = evtimer_new(base, queue_grave_cb, q);
	if (q->timer == NULL || q->tick == NULL || q->flush_ev == NULL ||
	    q->grave_ev == NULL ||
	    stale_start(q) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	event_add(q->tick, &sec);
	srv->queue = q;
	srv->queue_kick_fn = queue_kick_adaptor;
	return q;
fail:
	queue_free(&q);
	return NULL;
}

void
queue_kick(struct queue *q, bool notices)
{
	if (q == NULL)
		return;
	q->round_want = true;
	queue_round_maybe(q);
	/* A local delivery asked for a success notice: the scan (a worker
	 * job) runs only then, not after every submission. */
	if (notices)
		queue_notice_start(q);
}

void
queue_drain(struct queue *q)
{
	if (q == NULL || q->draining)
		return;
	q->draining = true;
	if (q->timer != NULL)
		event_del(q->timer);
	if (q->tick != NULL)
		event_del(q->tick);
	queue_dest_drain(q);
	/* Counts still in memory go to the store before the workers stop. */
	tlsrpt_flush(q->tlsrpt);
	log_info(NULL, "queue_drain", " connections=%u jobs=%u", q->n_conns,
		 q->jobs);
}

unsigned
queue_busy(const struct queue *q)
{
	if (q == NULL)
		return 0;
	return q->n_conns + q->jobs + (q->batch != NULL ? 1 : 0);
}

void
queue_free(struct queue **qp)
{
	struct queue *q = *qp;

	if (q == NULL)
		return;
	*qp = NULL;
	q->stopping = true;
	q->draining = true;
	queue_dest_free_all(q);
	mta_sts_free(&q->sts);
	tlsrpt_free(&q->tlsrpt);
	if (q->batch != NULL) {
		free(q->batch->u);
		free(q->batch);
	}
	if (q->jobs > 0)
		log_warn(NULL, "queue_free", " jobs=%u", q->jobs);
	if (q->timer != NULL)
		event_free(q->timer);
	if (q->tick != NULL)
		event_free(q->tick);
	if (q->flush_ev != NULL)
		event_free(q->flush_ev);
	if (q->grave_ev != NULL)
		event_free(q->grave_ev);
	if (q->auth_pass != NULL)
		explicit_bzero(q->auth_pass, strlen(q->auth_pass));
	free(q->auth_user);
	free(q->auth_pass);
	if (q->srv->queue == q) {
		q->srv->queue = NULL;
		q->srv->queue_kick_fn = NULL;
	}
	free(q);
}
