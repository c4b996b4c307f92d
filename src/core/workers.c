/*
 * Fixed pool of threads for blocking work. Jobs run in FIFO order; each
 * job's completion is posted back to the loop thread.
 */
#include "workers.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "loop.h"

#define WORKERS_MAX 64

struct workers_job {
	workers_fn work;
	workers_fn done;
	void *arg;
	struct workers_job *next;
};

struct workers {
	struct loop *loop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct workers_job *head, *tail;
	unsigned queued; /* jobs between head and tail */
	bool stopping;
	int n;
	pthread_t threads[WORKERS_MAX];
};

static void *
workers_main(void *arg)
{
	struct workers *w = arg;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		struct workers_job *j = w->head;
		if (j == NULL) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		w->head = j->next;
		w->queued--;
		if (w->head == NULL)
			w->tail = NULL;
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

/* Appends j unless max_queued jobs wait already; 0 or -1. */
static int
workers_enqueue(struct workers *w, struct workers_job *j, unsigned max_queued)
{
	pthread_mutex_lock(&w->mu);
	if (w->queued >= max_queued) {
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->queued++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int
workers_try_submit(struct workers *w, unsigned max_queued, workers_fn work,
		   workers_fn done, void *arg)
{
	struct workers_job *j = malloc(sizeof(*j));

	if (j == NULL) {
		log_error(NULL, "workers_submit", " reason=oom");
		abort();
	}
	j->work = work;
	j->done = done;
	j->arg = arg;
	j->next = NULL;
	if (workers_enqueue(w, j, max_queued) < 0) {
		free(j);
		return -1;
	}
	return 0;
}

void
workers_submit(struct workers *w, workers_fn work, workers_fn done, void *arg)
{
	(void)workers_try_submit(w, UINT_MAX, work, done, arg);
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
