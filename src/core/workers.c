/*
 * Fixed pool of threads for blocking work. Jobs run in FIFO order within
 * each of two lanes, urgent first; each job's completion is posted back to
 * the loop thread.
 */
#include "workers.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "loop.h"

#define WORKERS_MAX 64
/* Urgent jobs in a row, while normal ones wait, before one normal job is
 * taken anyway: a flood of urgent work slows the rest, never stops it. */
#define WORKERS_URGENT_BURST 8

struct workers_job {
	workers_fn work;
	workers_fn done;
	void *arg;
	struct workers_job *next;
};

struct workers_lane {
	struct workers_job *head, *tail;
};

struct workers {
	struct loop *loop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct workers_lane lane[2]; /* [0] normal, [1] urgent */
	int urgent_run;              /* urgent jobs taken in a row */
	unsigned queued;             /* jobs waiting in both lanes */
	unsigned idle;               /* threads waiting on cv */
	bool stopping;
	int n;
	pthread_t threads[WORKERS_MAX];
};

/* The next job under w->mu, urgent lane first (see
 * WORKERS_URGENT_BURST); NULL when both lanes are empty. */
static struct workers_job *
workers_take(struct workers *w)
{
	struct workers_lane *l = &w->lane[1];
	struct workers_job *j;

	if (l->head == NULL ||
	    (w->urgent_run >= WORKERS_URGENT_BURST && w->lane[0].head != NULL))
		l = &w->lane[0];
	j = l->head;
	if (j == NULL)
		return NULL;
	w->urgent_run = l == &w->lane[1] ? w->urgent_run + 1 : 0;
	w->queued--;
	l->head = j->next;
	if (l->head == NULL)
		l->tail = NULL;
	return j;
}

static void *
workers_main(void *arg)
{
	struct workers *w = arg;

	for (;;) {
		struct workers_job *j;

		pthread_mutex_lock(&w->mu);
		while ((j = workers_take(w)) == NULL && !w->stopping) {
			w->idle++;
			pthread_cond_wait(&w->cv, &w->mu);
			w->idle--;
		}
		if (j == NULL) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		pthread_mutex_unlock(&w->mu);

		j->work(j->arg);
		if (j->done != NULL)
			loop_post(w->loop, j->done, j->arg);
		free(j);
	}
}

struct workers *
workers_new(struct loop *loop, int nthreads)
{
	struct workers *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > WORKERS_MAX)
		nthreads = WORKERS_MAX;
	w->loop = loop;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&w->threads[i], NULL, workers_main, w) != 0)
			break;
		w->n++;
	}
	if (w->n == 0) {
		workers_free(&w);
		return NULL;
	}
	return w;
}

unsigned
workers_queued(struct workers *w)
{
	unsigned n;

	pthread_mutex_lock(&w->mu);
	n = w->queued;
	pthread_mutex_unlock(&w->mu);
	return n;
}

/* Appends a job to a lane unless max_queued jobs wait already (in both
 * lanes, not counting those running); 0 or -1. */
static int
workers_enqueue(struct workers *w, workers_fn work, workers_fn done,
		void *arg, bool urgent, unsigned max_queued)
{
	struct workers_job *j = malloc(sizeof(*j));
	struct workers_lane *l = &w->lane[urgent ? 1 : 0];
	bool wake;

	if (j == NULL) {
		log_error(NULL, "workers_submit", " reason=oom");
		abort();
	}
	j->work = work;
	j->done = done;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->queued >= max_queued) {
		pthread_mutex_unlock(&w->mu);
		free(j);
		return -1;
	}
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	w->queued++;
	/* A thread still busy takes the job when it looks again, so wake
	 * one only when some wait, and after the unlock, so that the thread
	 * woken does not at once block on the mutex the loop still holds:
	 * each futex call saved is a context switch on two cores. */
	wake = w->idle > 0;
	pthread_mutex_unlock(&w->mu);
	if (wake)
		pthread_cond_signal(&w->cv);
	return 0;
}

void
workers_submit(struct workers *w, workers_fn work, workers_fn done, void *arg)
{
	(void)workers_enqueue(w, work, done, arg, false, UINT_MAX);
}

void
workers_submit_urgent(struct workers *w, workers_fn work, workers_fn done,
		      void *arg)
{
	(void)workers_enqueue(w, work, done, arg, true, UINT_MAX);
}

int
workers_try_submit(struct workers *w, unsigned max_queued, workers_fn work,
		   workers_fn done, void *arg)
{
	return workers_enqueue(w, work, done, arg, false, max_queued);
}

void
workers_free(struct workers **wp)
{
	struct workers *w = *wp;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	*wp = NULL;
}
