/*
 * Group commit (commit.h), in two stages, each a thread that takes every
 * waiting job as one batch:
 *
 *  - the sync stage makes the directory entries of the batch's message
 *    files durable (one fsync per distinct blob directory; the files were
 *    fdatasync'ed by whoever wrote them) and runs the jobs' before hooks;
 *  - the transaction stage owns a store handle for all session writes:
 *    one transaction with a savepoint per job, one COMMIT (one WAL fsync
 *    with synchronous=FULL), then one loop_post for every completion.
 *
 * A batch goes through the stages in order, so a row never commits before
 * its file is durable, and jobs commit in the order they were submitted.
 * The stages overlap: batch N+1's files sync while batch N's transaction
 * commits (the two fsyncs often share one journal commit), so the rate is
 * bound by the slower stage rather than by their sum. A job without files
 * goes straight to the transaction stage when the sync stage is idle
 * (nothing submitted before it is still there), saving the hand-off: the
 * common case, as a small message has no file (its octets are stored with
 * its rows, blob.h).
 * The more sessions write at once, the more messages share each round of
 * fsyncs, which is what makes thousands of durable messages per second
 * possible on one disk.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/loop.h"
#include "blob.h"
#include "commit.h"
#include "store.h"

/* Distinct blob directories remembered per batch; messages of one day
 * share a directory, so a batch rarely has more than one or two. */
#define COMMIT_DIRS_MAX 8
struct commit_item {
	struct commit_job job;
	int result; /* 0 or -1 */
	bool prepared; /* the sync stage ran (files durable, before hook) */
	struct commit_item *next;
};

struct commit_queue {
	struct commit_item *head, *tail;
};

struct commit {
	pthread_mutex_t mu;
	pthread_cond_t cv;               /* wakes the transaction stage */
	struct commit_queue txn;         /* under mu: files durable */
	pthread_cond_t sync_cv;          /* wakes the sync stage */
	struct commit_queue sync;        /* under mu: files to sync first */
	bool sync_busy;                  /* under mu: a batch is syncing */
	pthread_t sync_thread;
	bool sync_started;
	bool sync_stopping;              /* under mu */
	bool stopping;                   /* under mu: sync stage has ended */
	bool started;
	pthread_t thread;
	struct store *st;
	struct loop *loop;
	char *data_dir;
};

struct commit_dirs {
	char dir[COMMIT_DIRS_MAX][BLOB_PATH_MAX];
	int rc[COMMIT_DIRS_MAX];
	size_t n;
};

/* blob_sync_dir once per directory of the batch; 0 or -1. */
static int
commit_sync_blob(struct commit *c, struct commit_dirs *d, const char *blob)
{
	const char *slash = strrchr(blob, '/');
	size_t len = slash != NULL ? (size_t)(slash - blob) : 0;
	int rc;

	for (size_t i = 0; i < d->n; i++) {
		if (strlen(d->dir[i]) == len
		    && memcmp(d->dir[i], blob, len) == 0)
			return d->rc[i];
	}
	rc = blob_sync_dir(c->data_dir, blob) < 0 ? -1 : 0;
	if (rc < 0)
		log_error(NULL, "commit_sync_dir", " path=%s", log_qs(blob));
	if (d->n < COMMIT_DIRS_MAX && len < BLOB_PATH_MAX) {
		memcpy(d->dir[d->n], blob, len);
		d->dir[d->n][len] = '\0';
		d->rc[d->n++] = rc;
	}
	return rc;
}

/* Runs one job in its own savepoint. -1 when the whole transaction is
 * lost (a savepoint could not be rolled back or released), else 0 with
 * it->result set. */
static int
commit_apply(struct commit *c, struct commit_item *it)
{
	const char *err = "unknown error";

	if (store_savepoint(c->st, &err) < 0) {
		it->result = -1;
		log_error(NULL, "commit_savepoint", " reason=%s", log_qs(err));
		return -1;
	}
	if (it->job.apply != NULL
	    && it->job.apply(c->st, it->job.arg, &err) < 0) {
		it->result = -1;
		log_warn(NULL, "commit_job_failed", " reason=%s", log_qs(err));
		/* Fails when SQLite already rolled the transaction back
		 * (I/O error, disk full): the earlier jobs are gone too. */
		return store_rollback_to(c->st) < 0 ? -1 : 0;
	}
	if (store_release(c->st, &err) < 0) {
		it->result = -1;
		log_error(NULL, "commit_release", " reason=%s", log_qs(err));
		return -1;
	}
	return 0;
}

static void
commit_fail_all(struct commit_item *batch)
{
	for (struct commit_item *it = batch; it != NULL; it = it->next)
		it->result = -1;
}

/* The transaction of one batch. 0 committed, -1 every job failed. */
static int
commit_transaction(struct commit *c, struct commit_item *batch, size_t n)
{
	const char *err = "unknown error";

	if (store_begin(c->st, &err) < 0)
		goto fail;
	for (struct commit_item *it = batch; it != NULL; it = it->next) {
		if (it->result == 0 && commit_apply(c, it) < 0) {
			err = "transaction lost after a failed job";
			store_rollback(c->st);
			goto fail;
		}
	}
	if (store_commit(c->st, &err) < 0) {
		store_rollback(c->st);
		goto fail;
	}
	return 0;
fail:
	commit_fail_all(batch);
	log_error(NULL, "commit_batch_failed", " jobs=%zu reason=%s", n,
		  log_qs(err));
	return -1;
}

/* Loop: every completion of a batch, in order, from one loop_post. */
static void
commit_post_done(void *arg)
{
	struct commit_item *it = arg;

	while (it != NULL) {
		struct commit_item *next = it->next;

		it->job.done(it->job.arg, it->result);
		free(it);
		it = next;
	}
}

static void
commit_queue_append(struct commit_queue *q, struct commit_item *first,
		    struct commit_item *last)
{
	if (q->tail != NULL)
		q->tail->next = first;
	else
		q->head = first;
	q->tail = last;
}

static struct commit_item *
commit_queue_take(struct commit_queue *q)
{
	struct commit_item *all = q->head;

	q->head = q->tail = NULL;
	return all;
}

/* Sync stage: the directory entries of the files must be durable before
 * the rows that point at them. */
static void
commit_sync_batch(struct commit *c, struct commit_item *batch)
{
	struct commit_dirs dirs = { .n = 0 };

	for (struct commit_item *it = batch; it != NULL; it = it->next) {
		if (it->job.sync_blob[0] != '\0'
		    && commit_sync_blob(c, &dirs, it->job.sync_blob) < 0)
			it->result = -1;
		if (it->job.before != NULL)
			it->job.before(it->job.arg);
		it->prepared = true;
	}
}

/* Transaction stage: one transaction for the batch, then the orphans,
 * the after hooks, and one hand-off back to the loop. */
static void
commit_run_batch(struct commit *c, struct commit_item *batch)
{
	struct commit_item *posts = NULL, **tail = &posts;
	struct timespec t0, t1;
	size_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (struct commit_item *it = batch; it != NULL; it = it->next) {
		n++;
		/* Came straight here (no files): only its hook to run. */
		if (!it->prepared && it->job.before != NULL)
			it->job.before(it->job.arg);
	}
	(void)commit_transaction(c, batch, n);
	while (batch != NULL) {
		struct commit_item *it = batch;

		batch = it->next;
		if (it->job.orphans != NULL) {
			if (it->result == 0)
				blob_unlink_all(c->data_dir, *it->job.orphans);
			store_strv_free(*it->job.orphans);
			*it->job.orphans = NULL;
		}
		if (it->job.after != NULL)
			it->job.after(it->job.arg, it->result == 0);
		it->next = NULL;
		if (it->job.done == NULL) {
			free(it);
		} else {
			*tail = it;
			tail = &it->next;
		}
	}
	/* One hand-off back to the loop for the whole batch. */
	if (posts != NULL && c->loop != NULL)
		loop_post(c->loop, commit_post_done, posts);
	else if (posts != NULL)
		commit_post_done(posts);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	metrics_commit_batch(n, (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
				       (t1.tv_nsec - t0.tv_nsec) / 1000);
	log_debug(NULL, "commit_batch", " jobs=%zu us=%lld", n,
		  (long long)(t1.tv_sec - t0.tv_sec) * 1000000
			  + (t1.tv_nsec - t0.tv_nsec) / 1000);
}

/* Sync stage thread: takes every job waiting for its files, makes them
 * durable, passes the batch on in order. Ends when stopping and empty. */
static void *
commit_sync_main(void *arg)
{
	struct commit *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct commit_item *batch, *last;

		while (c->sync.head == NULL && !c->sync_stopping)
			pthread_cond_wait(&c->sync_cv, &c->mu);
		if (c->sync.head == NULL)
			break;
		last = c->sync.tail;
		batch = commit_queue_take(&c->sync);
		c->sync_busy = true;
		pthread_mutex_unlock(&c->mu);
		commit_sync_batch(c, batch);
		pthread_mutex_lock(&c->mu);
		c->sync_busy = false;
		commit_queue_append(&c->txn, batch, last);
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Transaction stage thread: every batch the sync stage has passed on (and
 * jobs without files) as one transaction. Ends when the sync stage has
 * ended and nothing is left. */
static void *
commit_main(void *arg)
{
	struct commit *c = arg;

	for (;;) {
		struct commit_item *batch;

		pthread_mutex_lock(&c->mu);
		while (c->txn.head == NULL && !c->stopping)
			pthread_cond_wait(&c->cv, &c->mu);
		batch = commit_queue_take(&c->txn);
		pthread_mutex_unlock(&c->mu);
		/* Empty only when stopping: the queue has been drained. */
		if (batch == NULL)
			break;
		commit_run_batch(c, batch);
	}
	return NULL;
}

struct commit *
commit_new(const char *store_url, const char *data_dir, struct loop *loop,
	   char *err, size_t errlen)
{
	struct commit *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->data_dir = strdup(data_dir)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	c->loop = loop;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->sync_cv, NULL);
	c->st = store_open(store_url, data_dir, err, errlen);
	if (c->st == NULL) {
		commit_free(&c);
		return NULL;
	}
	if (pthread_create(&c->thread, NULL, commit_main, c) != 0) {
		snprintf(err, errlen, "cannot start the commit thread");
		commit_free(&c);
		return NULL;
	}
	c->started = true;
	if (pthread_create(&c->sync_thread, NULL, commit_sync_main, c) != 0) {
		snprintf(err, errlen, "cannot start the file sync thread");
		commit_free(&c);
		return NULL;
	}
	c->sync_started = true;
	return c;
}

void
commit_submit(struct commit *c, const struct commit_job *job)
{
	struct commit_item *it = calloc(1, sizeof(*it));

	if (it == NULL) {
		/* Dropping the job would leave its session waiting forever,
		 * like loop_post(): fatal by design. */
		log_error(NULL, "commit_submit", " reason=oom");
		abort();
	}
	it->job = *job;
	it->job.next = NULL;
	it->job.sync_blob[sizeof(it->job.sync_blob) - 1] = '\0';
	pthread_mutex_lock(&c->mu);
	/* Straight to the transaction only when everything submitted before
	 * is past the sync stage: jobs commit in submission order. */
	if (it->job.sync_blob[0] == '\0' &&
	    c->sync.head == NULL && !c->sync_busy) {
		commit_queue_append(&c->txn, it, it);
		pthread_cond_signal(&c->cv);
	} else {
		commit_queue_append(&c->sync, it, it);
		pthread_cond_signal(&c->sync_cv);
	}
	pthread_mutex_unlock(&c->mu);
}

void
commit_free(struct commit **cp)
{
	struct commit *c = *cp;

	if (c == NULL)
		return;
	/* The sync stage drains first, then the transaction stage takes
	 * what it passed on. */
	if (c->sync_started) {
		pthread_mutex_lock(&c->mu);
		c->sync_stopping = true;
		pthread_cond_signal(&c->sync_cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->sync_thread, NULL);
	}
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stopping = true;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
	}
	store_close(&c->st);
	pthread_cond_destroy(&c->sync_cv);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c->data_dir);
	free(c);
	*cp = NULL;
}
