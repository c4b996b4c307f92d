/*
 * Deadlines of a connection beside its idle timeout: the idle
 * timeout restarts on every read, so a client trickling bytes would keep
 * its slot forever. Three timers: the whole TLS handshake, one command
 * line from its first byte, and a minimum rate for a bulk transfer
 * (DATA/BDAT). All run on the loop thread.
 */
#include "conn_int.h"

#include <sys/time.h>
#include <time.h>

#include "log.h"
#include "loop.h"
#include "runtime.h"

/* The whole TLS handshake (implicit TLS or after STARTTLS) must finish
 * within tls_handshake_timeout: the idle timeout restarts with every byte,
 * so a client trickling handshake bytes would keep its slot forever. */
void
conn_hs_deadline(struct conn *c)
{
	struct timeval tv = { c->srv->cfg.tls_handshake_timeout, 0 };

	if (tv.tv_sec > 0)
		evtimer_add(c->hs_ev, &tv);
}

void
conn_hs_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->dead)
		return;
	log_info(c->id, "tls_timeout", " peer=%s", log_qs(c->peer));
	conn_report_close(c, "timeout");
}

void
conn_deadline_free(struct conn *c)
{
	if (c->line_ev != NULL)
		event_free(c->line_ev);
	if (c->rate_ev != NULL)
		event_free(c->rate_ev);
	c->line_ev = c->rate_ev = NULL;
}

void
conn_count_in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
		 void *arg)
{
	struct conn *c = arg;

	c->bytes_in += info->n_added;
}

/* The timer *ev, made on first use: 10,000 idle IMAP clients need none.
 * NULL when out of memory (the idle timeout still holds). */
static struct event *
conn_timer(struct conn *c, struct event **ev, event_callback_fn cb)
{
	if (*ev == NULL)
		*ev = evtimer_new(loop_base(c->srv->loop), cb, c);
	return *ev;
}

/* A deadline passed: the session answers as for an idle timeout. */
static void
conn_deadline_expired(struct conn *c, const char *kind)
{
	if (c->dead || c->closing)
		return;
	log_info(c->id, "deadline", " kind=%s", kind);
	if (c->h != NULL && c->h->on_timeout != NULL)
		c->h->on_timeout(c->ctx);
	else
		conn_schedule_close(c, "timeout");
}

void
conn_set_line_deadline(struct conn *c, int seconds)
{
	c->line_deadline = seconds;
}

static void
conn_line_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	c->line_armed = false;
	conn_deadline_expired(c, "line");
}

void
conn_line_wait(struct conn *c, bool waiting, bool consumed)
{
	struct timeval tv = { c->line_deadline, 0 };

	if (!waiting || c->line_deadline <= 0 || c->dead) {
		if (c->line_armed)
			event_del(c->line_ev);
		c->line_armed = false;
		return;
	}
	/* Runs from the first byte of the line still incomplete; a line
	 * taken meanwhile means the bytes waiting now start a new one. */
	if (c->line_armed && !consumed)
		return;
	if (conn_timer(c, &c->line_ev, conn_line_ev_cb) == NULL)
		return;
	event_add(c->line_ev, &tv);
	c->line_armed = true;
}

static double
conn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
conn_rate_arm(struct conn *c, double seconds)
{
	struct timeval tv;

	if (seconds < 0.01)
		seconds = 0.01;
	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	event_add(c->rate_ev, &tv);
}

/* The transfer may last grace seconds plus one second per min_rate bytes
 * received so far. While the session itself holds the input (paused for
 * a job) the client is not to blame: the measure starts again. */
static void
conn_rate_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	double now = conn_now(), allowed, elapsed;

	if (c->dead || c->closing || c->rate_min <= 0)
		return;
	if (c->paused || c->throttled) {
		conn_set_min_rate(c, c->rate_min, c->rate_grace);
		return;
	}
	allowed = c->rate_grace +
		  (double)(c->bytes_in - c->rate_base) / c->rate_min;
	elapsed = now - c->rate_start;
	if (elapsed < allowed) {
		conn_rate_arm(c, allowed - elapsed);
		return;
	}
	c->rate_min = 0;
	conn_deadline_expired(c, "rate");
}

void
conn_set_min_rate(struct conn *c, int min_rate, int grace)
{
	c->rate_min = min_rate;
	c->rate_grace = grace;
	if (min_rate <= 0 || c->dead) {
		if (c->rate_ev != NULL)
			event_del(c->rate_ev);
		return;
	}
	if (conn_timer(c, &c->rate_ev, conn_rate_ev_cb) == NULL)
		return;
	c->rate_start = conn_now();
	c->rate_base = c->bytes_in;
	conn_rate_arm(c, grace);
}
