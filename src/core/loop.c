/*
 * The event loop and its one thread-safe door: loop_post() queues a call and
 * wakes the loop through an eventfd, so worker and commit threads never touch
 * libevent state themselves.
 */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

struct loop_call {
	loop_fn fn;
	void *arg;
	struct loop_call *next;
};

struct loop {
	struct event_base *base;
	int wake_fd;
	struct event *wake_ev;
	pthread_mutex_t mu;
	struct loop_call *head, *tail;
};

static void
loop_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop *l = arg;
	uint64_t v;
	struct loop_call *list;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error(NULL, "loop_wake", " errno=%d", errno);
	pthread_mutex_lock(&l->mu);
	list = l->head;
	l->head = l->tail = NULL;
	pthread_mutex_unlock(&l->mu);
	while (list != NULL) {
		struct loop_call *c = list;
		list = c->next;
		c->fn(c->arg);
		free(c);
	}
}

/* An epoll base whose interest changes wait for the next epoll_wait: a
 * session that pauses reading while a worker looks something up and
 * resumes in the same loop turn costs no epoll_ctl (libevent's
 * changelist; safe because no descriptor here is dup'ed into the loop). */
static struct event_base *
loop_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

struct loop *
loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->base = loop_base_new();
	if (l->wake_fd < 0 || l->base == NULL)
		goto fail;
	l->wake_ev = event_new(l->base, l->wake_fd, EV_READ | EV_PERSIST,
			       loop_wake_cb, l);
	if (l->wake_ev == NULL || event_add(l->wake_ev, NULL) < 0)
		goto fail;
	return l;
fail:
	loop_free(&l);
	return NULL;
}

void
loop_free(struct loop **lp)
{
	struct loop *l = *lp;

	if (l == NULL)
		return;
	if (l->wake_ev != NULL)
		event_free(l->wake_ev);
	if (l->base != NULL)
		event_base_free(l->base);
	if (l->wake_fd >= 0)
		close(l->wake_fd);
	while (l->head != NULL) {
		struct loop_call *c = l->head;
		l->head = c->next;
		free(c);
	}
	pthread_mutex_destroy(&l->mu);
	free(l);
	*lp = NULL;
}

struct event_base *
loop_base(const struct loop *l)
{
	return l->base;
}

void
loop_post(struct loop *l, loop_fn fn, void *arg)
{
	struct loop_call *c = malloc(sizeof(*c));
	uint64_t one = 1;
	bool was_empty;

	if (c == NULL) {
		/* Out of memory in a completion path: losing the call would
		 * leak a session forever, so this is fatal by design. */
		log_error(NULL, "loop_post", " reason=oom");
		abort();
	}
	c->fn = fn;
	c->arg = arg;
	c->next = NULL;
	pthread_mutex_lock(&l->mu);
	was_empty = l->head == NULL;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	pthread_mutex_unlock(&l->mu);
	if (was_empty) {
		ssize_t w = write(l->wake_fd, &one, sizeof(one));
		(void)w;
	}
}

/* event_base_dispatch, one turn at a time: the turn's log lines go out
 * together after it (log_batch_flush), before the loop waits again. */
int
loop_run(struct loop *l)
{
	int rc;

	log_batch_begin();
	for (;;) {
		rc = event_base_loop(l->base, EVLOOP_ONCE);
		log_batch_flush();
		if (rc != 0 || event_base_got_break(l->base) ||
		    event_base_got_exit(l->base))
			break;
	}
	log_batch_end();
	return rc < 0 ? -1 : 0;
}

void
loop_stop(struct loop *l)
{
	event_base_loopbreak(l->base);
}
