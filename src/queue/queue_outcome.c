/*
 * What one attempt's reply means for a recipient, and how it is made
 * durable. 2xx: sent (RFC 3461 §5.2.2: a "relayed" notice is owed when
 * the sender asked NOTIFY=SUCCESS and the next hop has no DSN); 5xx:
 * failed at once; anything else: deferred with exponential backoff
 * between retry_min and retry_max (±10% jitter so that recipients queued
 * together spread out), failed with 4.4.7 once queue_lifetime has passed
 * (RFC 5321 §4.5.4.1 asks for a give-up time of 4-5 days), and a delay
 * notice once after delay_warning.
 *
 * Outcomes of one loop turn are committed together in one group-commit
 * job (at most QUEUE_COMMIT_BATCH), then messages now finished are
 * retired and their files unlinked after the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/runtime.h"
#include "../store/commit.h"
#include "queue_int.h"

void
queue_reply_line(const struct smtpc_reply *r, char *out, size_t len)
{
	char code[8];

	snprintf(code, sizeof(code), "%d", r->code);
	if (r->code > 0 && strncmp(r->text, code, 3) != 0)
		snprintf(out, len, "%d %s%s%s", r->code, r->status,
			 r->status[0] ? " " : "", r->text);
	else
		snprintf(out, len, "%s", r->text);
}

int64_t
queue_backoff(const struct config *cfg, unsigned attempts)
{
	int64_t d = cfg->retry_min > 0 ? cfg->retry_min : 1;
	int64_t max = cfg->retry_max > d ? cfg->retry_max : d;
	int64_t j;

	for (unsigned i = 1; i < attempts && d < max; i++)
		d *= 2;
	if (d > max)
		d = max;
	j = d / 10;
	if (j > 0)
		d += (int64_t)arc4random_uniform((uint32_t)(2 * j + 1)) - j;
	return d > 0 ? d : 1;
}

/* RFC 3461 §4.1: NOTIFY=NEVER, or a NOTIFY without FAILURE, asks for no
 * failure notice; a notice that fails goes to the postmaster once
 * (queue_notice.c), one that fails there stops. */
static enum store_queue_notice
failure_notice(const struct store_queue_msg *m,
	       const struct store_queue_rcpt *r)
{
	if (r->notify & STORE_NOTIFY_NEVER)
		return STORE_NOTICE_NONE;
	if (r->notify != 0 && !(r->notify & STORE_NOTIFY_FAILURE))
		return STORE_NOTICE_NONE;
	if (m->flags & STORE_QMSG_POSTMASTER)
		return STORE_NOTICE_NONE;
	return STORE_NOTICE_FAILED;
}

static bool
delay_due(const struct queue *q, const struct store_queue_msg *m,
	  const struct store_queue_rcpt *r, int64_t now)
{
	int dw = q->srv->cfg.delay_warning;

	if (dw <= 0 || r->warned || r->notice != STORE_NOTICE_NONE ||
	    now - m->created < dw)
		return false;
	if (m->from[0] == '\0' || (m->flags & STORE_QMSG_NOTICE))
		return false;
	/* RFC 3461 §4.1: without NOTIFY, delays may be reported. */
	return r->notify == 0 || (r->notify & STORE_NOTIFY_DELAY);
}

static void
remote_mta_of(const char *relay, char *out, size_t len)
{
	const char *end;

	if (relay == NULL) {
		out[0] = '\0';
		return;
	}
	/* "mx[192.0.2.1]:25" -> "mx[192.0.2.1]" */
	end = strrchr(relay, ']');
	if (end != NULL)
		snprintf(out, len, "%.*s", (int)(end - relay + 1), relay);
	else
		snprintf(out, len, "%s", relay);
}

static struct qupd *
batch_slot(struct queue *q)
{
	struct timeval now = { 0, 0 };
	struct qbatch *b = q->batch;

	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return NULL;
		b->q = q;
		q->batch = b;
		evtimer_add(q->flush_ev, &now);
	}
	/* Grown as outcomes come (a turn often has one or two). */
	if (b->n == b->alloc) {
		size_t na = b->alloc ? 2 * b->alloc : 8;
		void *p;

		if (na > QUEUE_COMMIT_BATCH)
			na = QUEUE_COMMIT_BATCH;
		if ((p = realloc(b->u, na * sizeof(*b->u))) == NULL)
			return NULL;
		b->u = p;
		b->alloc = na;
	}
	return &b->u[b->n];
}

static void
outcome_log(const struct store_queue_msg *m, const struct store_queue_rcpt *r,
	    const char *relay, int64_t now, const char *status,
	    const struct qupd *u)
{
	log_info(NULL, "remote",
		 " msg=%s to=%s relay=%s delay=%lld attempt=%u status=%s "
		 "dsn=%s reply=%s",
		 m->qid, log_qs(r->addr), log_qs(relay ? relay : "none"),
		 (long long)(now - m->created), u->u.attempts, status,
		 u->status[0] ? u->status : "-", log_qs(u->reply));
}

void
queue_outcome(struct queue *q, const struct store_queue_msg *m,
	      const struct store_queue_rcpt *r,
	      const struct smtpc_reply *rep, const char *relay,
	      bool remote_dsn)
{
	const struct config *cfg = &q->srv->cfg;
	int64_t now = queue_now();
	struct qupd *u = batch_slot(q);
	const char *what;

	if (u == NULL) {
		log_error(NULL, "queue_oom", " what=outcome msg=%s", m->qid);
		queue_release(q, 1);
		return;
	}
	memset(u, 0, sizeof(*u));
	u->msg_id = m->id;
	u->u.rcpt_id = r->id;
	u->u.attempts = r->attempts + 1;
	u->u.last_attempt = now;
	u->u.next_attempt = now;
	snprintf(u->status, sizeof(u->status), "%s",
		 rep->status[0] ? rep->status
				: rep->code / 100 == 2 ? "2.0.0"
				: rep->code / 100 == 5 ? "5.0.0" : "4.0.0");
	queue_reply_line(rep, u->reply, sizeof(u->reply));
	remote_mta_of(relay, u->remote_mta, sizeof(u->remote_mta));
	if (rep->code / 100 == 2) {
		u->u.state = STORE_QUEUE_SENT;
		if ((r->notify & STORE_NOTIFY_SUCCESS) && !remote_dsn &&
		    !(r->notify & STORE_NOTIFY_NEVER))
			u->u.notice = STORE_NOTICE_RELAYED;
		what = "sent";
	} else if (rep->code / 100 == 5) {
		u->u.state = STORE_QUEUE_FAILED;
		u->u.notice = failure_notice(m, r);
		what = "bounced";
	} else if (now >= m->created + cfg->queue_lifetime) {
		/* RFC 3463: X.4.7 delivery time expired. */
		u->u.state = STORE_QUEUE_FAILED;
		u->u.notice = failure_notice(m, r);
		snprintf(u->status, sizeof(u->status), "4.4.7");
		what = "bounced";
	} else {
		u->u.state = STORE_QUEUE_PENDING;
		u->u.next_attempt = now + queue_backoff(cfg, u->u.attempts);
		if (delay_due(q, m, r, now))
			u->u.notice = STORE_NOTICE_DELAYED;
		q->batch->deferred = true;
		what = "deferred";
	}
	outcome_log(m, r, relay, now, what, u);
	metrics_inc(u->u.state == STORE_QUEUE_SENT     ? METRICS_QUEUE_SENT
		    : u->u.state == STORE_QUEUE_FAILED ? METRICS_QUEUE_BOUNCED
						       : METRICS_QUEUE_DEFERRED);
	q->batch->notices |= u->u.notice != STORE_NOTICE_NONE;
	if (++q->batch->n == QUEUE_COMMIT_BATCH)
		queue_flush_now(q);
}

void
queue_release(struct queue *q, size_t n)
{
	q->mem_items = q->mem_items > n ? q->mem_items - n : 0;
	queue_round_maybe(q);
}

/* ---- The commit job ------------------------------------------------- */

static int
strv_merge(char ***into, char **more)
{
	size_t a = 0, b = 0;
	char **v;

	if (more == NULL)
		return 0;
	while (*into != NULL && (*into)[a] != NULL)
		a++;
	while (more[b] != NULL)
		b++;
	v = realloc(*into, (a + b + 1) * sizeof(*v));
	if (v == NULL) {
		store_strv_free(more);
		return -1;
	}
	memcpy(v + a, more, (b + 1) * sizeof(*v));
	free(more);
	*into = v;
	return 0;
}

static bool
seen_before(const struct qbatch *b, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (b->u[k].msg_id == b->u[i].msg_id)
			return true;
	return false;
}

static int
batch_apply(struct store *st, void *arg, const char **err_r)
{
	struct qbatch *b = arg;
	const char *err = NULL;

	for (size_t i = 0; i < b->n; i++) {
		struct qupd *u = &b->u[i];

		u->u.status = u->status;
		u->u.reply = u->reply;
		u->u.remote_mta = u->remote_mta;
		/* One recipient deleted meanwhile (queue delete) must not
		 * undo the others' outcomes. */
		if (store_queue_update(st, &u->u, &err) < 0)
			log_warn(NULL, "queue_update", " rcpt=%lld reason=%s",
				 (long long)u->u.rcpt_id, log_qs(err));
	}
	for (size_t i = 0; i < b->n; i++) {
		char **orphans = NULL;

		if (seen_before(b, i))
			continue;
		if (store_queue_retire(st, b->u[i].msg_id, &orphans, &err) < 0)
			log_warn(NULL, "queue_retire", " id=%lld reason=%s",
				 (long long)b->u[i].msg_id, log_qs(err));
		else if (strv_merge(&b->orphans, orphans) < 0) {
			*err_r = "out of memory";
			return -1;
		}
	}
	return 0;
}

static void
batch_done(void *arg, int result)
{
	struct qbatch *b = arg;
	struct queue *q = b->q;

	queue_job_end(q);
	if (result != 0)
		log_error(NULL, "queue_commit", " outcomes=%zu", b->n);
	q->mem_items = q->mem_items > b->n ? q->mem_items - b->n : 0;
	if (b->notices)
		queue_notice_start(q);
	/* The timer at the earliest next attempt moves only when someone
	 * waits for a next attempt (a delivered or bounced recipient leaves
	 * it at worst early, which costs one empty round): no worker job
	 * per batch of deliveries. */
	if (b->deferred || result != 0)
		queue_nextdue_refresh(q);
	free(b->u);
	free(b);
	queue_round_maybe(q);
}

void
queue_flush_now(struct queue *q)
{
	struct qbatch *b = q->batch;
	struct commit_job job = { 0 };

	if (b == NULL)
		return;
	q->batch = NULL;
	event_del(q->flush_ev);
	if (b->n == 0 || q->srv->commit == NULL) {
		/* Nothing recorded, or shut down: the leases stay. */
		queue_release(q, b->n);
		free(b->u);
		free(b);
		return;
	}
	job.apply = batch_apply;
	job.done = batch_done;
	job.arg = b;
	job.orphans = &b->orphans;
	queue_job_begin(q);
	commit_submit(q->srv->commit, &job);
}

void
queue_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	queue_flush_now(arg);
}
