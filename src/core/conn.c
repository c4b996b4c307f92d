/*
 * Client connections on libevent bufferevents. Callbacks are deferred
 * (BEV_OPT_DEFER_CALLBACKS) so a handler never runs inside conn_write();
 * closing is always reported through on_close exactly once.
 */
#include "conn_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "../util/zpipe.h"
#include "limits.h"
#include "log.h"
#include "loop.h"
#include "runtime_int.h"

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_tls_ev_cb(evutil_socket_t fd, short what, void *arg);
static void conn_z_flush(struct conn *c, size_t max);
static void conn_z_free(struct conn *c);

static void
conn_make_id(char id[17])
{
	static _Thread_local unsigned long long counter;
	unsigned long long r = 0;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	r = ((unsigned long long)tv.tv_sec << 24) ^
	    ((unsigned long long)tv.tv_usec << 4) ^ (counter++ * 0x9e3779b1ULL);
	snprintf(id, 17, "%016llx", r);
}

void
conn_report_close(struct conn *c, const char *reason)
{
	if (c->dead)
		return;
	c->dead = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->h != NULL && c->h->on_close != NULL)
		c->h->on_close(c->ctx, reason);
}

static void
conn_close_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	conn_report_close(c, c->close_reason);
}

/* Schedules on_close from the loop rather than from inside a caller. */
void
conn_schedule_close(struct conn *c, const char *reason)
{
	if (c->dead || c->close_reason != NULL)
		return;
	c->close_reason = reason;
	event_active(c->close_ev, 0, 0);
}

static void
conn_update_read(struct conn *c)
{
	if (c->dead || c->closing || c->starttls_pending)
		return;
	if (c->throttled)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

static void
conn_setup_bev(struct conn *c)
{
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, LIMIT_OUTPUT_HIGH_WATER / 2,
				 0);
	bufferevent_setwatermark(c->bev, EV_READ, 0, LIMIT_INPUT_HIGH_WATER);
	evbuffer_add_cb(bufferevent_get_input(c->bev), conn_count_in_cb, c);
	conn_set_timeout(c, c->timeout);
	conn_update_read(c);
}

struct conn *
conn_new(struct server *srv, int fd, const char *peer_ip, bool implicit_tls)
{
	struct event_base *base = loop_base(srv->loop);
	struct conn *c = calloc(1, sizeof(*c));
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;

	if (c == NULL) {
		evutil_closesocket(fd);
		return NULL;
	}
	c->srv = srv;
	snprintf(c->peer, sizeof(c->peer), "%s", peer_ip);
	conn_make_id(c->id);
	if (implicit_tls) {
		SSL *ssl = SSL_new(srv->tls_ctx);
		if (ssl != NULL)
			c->bev = bufferevent_openssl_socket_new(base, fd, ssl,
				BUFFEREVENT_SSL_ACCEPTING, opts);
		c->tls = true;
	} else {
		c->bev = bufferevent_socket_new(base, fd, opts);
	}
	c->close_ev = event_new(base, -1, 0, conn_close_ev_cb, c);
	c->tls_ev = event_new(base, -1, 0, conn_tls_ev_cb, c);
	c->hs_ev = evtimer_new(base, conn_hs_ev_cb, c);
	if (c->bev == NULL || c->close_ev == NULL || c->tls_ev == NULL ||
	    c->hs_ev == NULL) {
		if (c->bev == NULL)
			evutil_closesocket(fd);
		else
			bufferevent_free(c->bev);
		if (c->close_ev)
			event_free(c->close_ev);
		if (c->tls_ev)
			event_free(c->tls_ev);
		if (c->hs_ev)
			event_free(c->hs_ev);
		free(c);
		return NULL;
	}
	runtime_conn_added(srv, c);
	conn_setup_bev(c);
	if (implicit_tls)
		conn_hs_deadline(c);
	return c;
}

void
conn_set_handler(struct conn *c, const struct conn_handler *h, void *ctx)
{
	c->h = h;
	c->ctx = ctx;
}

void
conn_free(struct conn **cp)
{
	struct conn *c = *cp;

	if (c == NULL)
		return;
	runtime_conn_removed(c->srv, c);
	/* Best effort: push out what is queued without waiting. */
	if (!c->dead || c->closing) {
		conn_z_flush(c, SIZE_MAX);
		bufferevent_flush(c->bev, EV_WRITE, BEV_FINISHED);
	}
	/* Send close_notify (best effort, never waits) so clients see a clean
	 * end of the TLS stream rather than an unexpected EOF. */
	if (c->tls && conn_output_pending(c) == 0) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		if (ssl != NULL && SSL_is_init_finished(ssl))
			SSL_shutdown(ssl);
	}
	conn_linger_maybe(c);
	event_free(c->close_ev);
	event_free(c->tls_ev);
	event_free(c->hs_ev);
	conn_deadline_free(c);
	conn_z_free(c);
	bufferevent_free(c->bev);
	free(c);
	*cp = NULL;
}

struct evbuffer *
conn_input(struct conn *c)
{
	return c->z != NULL ? c->z_in : bufferevent_get_input(c->bev);
}

/* Where the session's output goes: plain text to be deflated, or the
 * bufferevent itself. */
static struct evbuffer *
conn_outbuf(struct conn *c)
{
	if (c->z == NULL)
		return bufferevent_get_output(c->bev);
	/* Deflate once per loop turn, not per write: one sync flush covers
	 * every reply line written meanwhile. */
	event_active(c->z_ev, EV_WRITE, 0);
	return c->z_out;
}

static void
conn_check_backpressure(struct conn *c)
{
	if (!c->throttled && conn_output_pending(c) > LIMIT_OUTPUT_HIGH_WATER) {
		c->throttled = true;
		conn_update_read(c);
	}
}

void
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->dead)
		return;
	evbuffer_add(conn_outbuf(c), data, len);
	conn_check_backpressure(c);
}

void
conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->dead)
		return;
	va_start(ap, fmt);
	evbuffer_add_vprintf(conn_outbuf(c), fmt, ap);
	va_end(ap);
	conn_check_backpressure(c);
}

size_t
conn_output_pending(struct conn *c)
{
	size_t n = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (c->z != NULL)
		n += evbuffer_get_length(c->z_out);
	return n;
}

/* Replaces the plaintext bufferevent by a TLS one on the same socket. Runs
 * once the "go ahead" reply has left, from a loop event (never inside the
 * old bufferevent's own callback). */
static void
conn_tls_switch(struct conn *c)
{
	struct event_base *base = loop_base(c->srv->loop);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	SSL *ssl = SSL_new(c->srv->tls_ctx);
	struct bufferevent *tbev = NULL;

	c->starttls_pending = false;
	/* RFC 3207 §4.2: nothing the client sent before the handshake may be
	 * acted upon; drop what is buffered. Bytes still in the socket are
	 * read by the handshake and make it fail. */
	evbuffer_drain(bufferevent_get_input(c->bev),
		       evbuffer_get_length(bufferevent_get_input(c->bev)));
	if (ssl != NULL) {
		bufferevent_setfd(c->bev, -1); /* keep the socket open */
		tbev = bufferevent_openssl_socket_new(base, fd, ssl,
			BUFFEREVENT_SSL_ACCEPTING,
			BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	}
	if (tbev == NULL) {
		if (ssl != NULL)
			evutil_closesocket(fd);
		conn_report_close(c, "tls");
		return;
	}
	bufferevent_free(c->bev);
	c->bev = tbev;
	c->tls = true;
	conn_setup_bev(c);
	conn_hs_deadline(c);
}

int
conn_starttls(struct conn *c)
{
	/* TLS goes under compression, never on top of it. */
	if (c->tls || c->dead || c->starttls_pending || c->z != NULL)
		return -1;
	c->starttls_pending = true;
	bufferevent_disable(c->bev, EV_READ);
	/* RFC 3207 §4.2: drop what the client pipelined after the command,
	 * now, so the session cannot run it before the switch. */
	evbuffer_drain(bufferevent_get_input(c->bev),
		       evbuffer_get_length(bufferevent_get_input(c->bev)));
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	event_active(c->tls_ev, 0, 0);
	return 0;
}

static void
conn_tls_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	/* The reply is flushed first; conn_write_cb calls back when done. */
	if (!c->dead && c->starttls_pending && conn_output_pending(c) == 0)
		conn_tls_switch(c);
}

bool
conn_is_tls(const struct conn *c)
{
	return c->tls;
}

const char *
conn_tls_info(const struct conn *c)
{
	return c->tls_info;
}

/* ---- COMPRESS=DEFLATE (RFC 4978) ---------------------------------- */

static void
conn_z_free(struct conn *c)
{
	if (c->z_in != NULL)
		evbuffer_free(c->z_in);
	if (c->z_out != NULL)
		evbuffer_free(c->z_out);
	if (c->z_ev != NULL)
		event_free(c->z_ev);
	zpipe_free(&c->z);
	c->z_in = c->z_out = NULL;
	c->z_ev = NULL;
}

/* Deflates the queued text onto the bufferevent, ending with a sync
 * flush so the client can read every reply at once. On the loop: at most
 * LIMIT_DEFLATE_STEP bytes per turn (a 1 MB FETCH batch would otherwise
 * hold every other connection for tens of ms); the rest is taken up again
 * at the next turn. */
static void
conn_z_flush(struct conn *c, size_t max)
{
	if (c->z == NULL || evbuffer_get_length(c->z_out) == 0)
		return;
	if (zpipe_deflate(c->z, c->z_out, bufferevent_get_output(c->bev),
			  max) < 0) {
		evbuffer_drain(c->z_out, evbuffer_get_length(c->z_out));
		log_warn(c->id, "compress", " error=deflate");
		conn_schedule_close(c, "compress");
	}
}

/* Inflates what the socket brought, but only until the session's input
 * holds LIMIT_INPUT_HIGH_WATER: the rest stays compressed in the
 * bufferevent, whose own high-water mark then stops reading the socket.
 * So a decompression bomb costs at most both marks. 0 or -1 (closed). */
static int
conn_z_inflate(struct conn *c)
{
	if (zpipe_inflate(c->z, bufferevent_get_input(c->bev), c->z_in,
			  LIMIT_INPUT_HIGH_WATER) == 0)
		return 0;
	log_info(c->id, "compress", " error=inflate");
	conn_report_close(c, "compress");
	return -1;
}

/* The session consumed input: inflate more if some is waiting (a full
 * z_in stopped inflating, and the socket may not bring a new read). */
static void
conn_z_in_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
	     void *arg)
{
	struct conn *c = arg;

	if (info->n_deleted == 0 || c->dead || c->z == NULL)
		return;
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ||
	    zpipe_inflate_pending(c->z))
		event_active(c->z_ev, EV_READ, 0);
}

static void
conn_z_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->dead)
		return;
	conn_z_flush(c, LIMIT_DEFLATE_STEP);
	if (evbuffer_get_length(c->z_out) > 0)
		event_active(c->z_ev, EV_WRITE, 0);
	if (what & EV_READ)
		conn_read_cb(c->bev, c);
}

int
conn_compress_start(struct conn *c)
{
	struct event_base *base = loop_base(c->srv->loop);

	if (c->z != NULL || c->dead || c->closing || c->starttls_pending)
		return -1;
	c->z = zpipe_new();
	c->z_in = evbuffer_new();
	c->z_out = evbuffer_new();
	c->z_ev = event_new(base, -1, 0, conn_z_ev_cb, c);
	if (c->z == NULL || c->z_in == NULL || c->z_out == NULL ||
	    c->z_ev == NULL ||
	    evbuffer_add_cb(c->z_in, conn_z_in_cb, c) == NULL) {
		conn_z_free(c);
		return -1;
	}
	/* RFC 4978 §3: the client compresses from the first command after
	 * COMPRESS; what it already sent past that command is deflated. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		event_active(c->z_ev, EV_READ, 0);
	return 0;
}

bool
conn_is_compressed(const struct conn *c)
{
	return c->z != NULL;
}

/* A pause does not touch epoll (that would cost two epoll_ctl calls per
 * command): reading goes on into the input buffer, up to its high-water
 * mark, and the session simply is not told until it resumes. */
void
conn_pause(struct conn *c)
{
	c->paused = true;
}

void
conn_resume(struct conn *c)
{
	c->paused = false;
	/* Input that arrived (pipelined) before the pause is still waiting:
	 * let the session see it without a new network read. */
	/* After a half-close the same deferred read ends the connection
	 * once nothing is left (conn_eof_check): not here, since the
	 * session may still write the reply that made it resume. */
	if (!c->dead && !c->closing &&
	    (c->eof || evbuffer_get_length(conn_input(c)) > 0 ||
	     evbuffer_get_length(bufferevent_get_input(c->bev)) > 0))
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS |
					     BEV_TRIG_IGNORE_WATERMARKS);
}

void
conn_set_timeout(struct conn *c, int seconds)
{
	struct timeval tv = { seconds, 0 };

	c->timeout = seconds;
	/* The write timeout catches a client that stops reading. */
	bufferevent_set_timeouts(c->bev, seconds > 0 ? &tv : NULL,
				 seconds > 0 ? &tv : NULL);
}

static void
conn_close_after_flush_as(struct conn *c, const char *reason)
{
	if (c->dead || c->closing)
		return;
	c->closing = true;
	c->flush_reason = reason;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	conn_z_flush(c, LIMIT_DEFLATE_STEP);
	if (c->z != NULL && evbuffer_get_length(c->z_out) > 0)
		event_active(c->z_ev, EV_WRITE, 0);
	if (conn_output_pending(c) == 0)
		conn_schedule_close(c, reason);
}

void
conn_close_after_flush(struct conn *c)
{
	conn_close_after_flush_as(c, "quit");
}

/* After a half-close, once the session has taken in everything the client
 * sent (it is not waiting for a job, the last on_read is done), the rest
 * of the replies go out and the connection closes. Input left over then is
 * an incomplete command that can never be completed. */
static void
conn_eof_check(struct conn *c)
{
	if (c->eof && !c->paused && !c->dead)
		conn_close_after_flush_as(c, "eof");
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

const char *
conn_id(const struct conn *c)
{
	return c->id;
}

void
conn_set_proto(struct conn *c, const char *name)
{
	c->proto = name;
}

const char *
conn_proto(const struct conn *c)
{
	return c->proto != NULL ? c->proto : "?";
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->dead || c->closing || c->starttls_pending)
		return;
	if (c->z != NULL && conn_z_inflate(c) < 0)
		return;
	if (c->paused)
		return;
	/* Compressed input that is not a whole deflate block yet gives no
	 * text: nothing new for the session. */
	if ((c->z == NULL || evbuffer_get_length(c->z_in) > 0) &&
	    c->h != NULL && c->h->on_read != NULL)
		c->h->on_read(c->ctx);
	/* Closing is always deferred (conn_schedule_close): c is alive. */
	conn_eof_check(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->dead)
		return;
	if (c->closing) {
		if (conn_output_pending(c) == 0)
			conn_report_close(c, c->flush_reason);
		return;
	}
	if (c->starttls_pending) {
		if (conn_output_pending(c) == 0)
			conn_tls_switch(c);
		return;
	}
	if (c->throttled && conn_output_pending(c) <= LIMIT_OUTPUT_HIGH_WATER / 2) {
		c->throttled = false;
		conn_update_read(c);
	}
	if (c->h != NULL && c->h->on_drain != NULL)
		c->h->on_drain(c->ctx);
}

static void
conn_note_tls(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	evtimer_del(c->hs_ev);
	if (ssl == NULL)
		return;
	snprintf(c->tls_info, sizeof(c->tls_info), "%s %s",
		 SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	log_info(c->id, "tls", " version=%s cipher=%s", SSL_get_version(ssl),
		 SSL_get_cipher_name(ssl));
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	const char *reason = "error";

	if (what & BEV_EVENT_CONNECTED) {
		conn_note_tls(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    !c->closing && c->h != NULL && c->h->on_timeout != NULL) {
		c->h->on_timeout(c->ctx);
		return;
	}
	/* A half-close (RFC 5321 and 9051 clients may pipeline commands and
	 * shut down their side): answer what was sent, then close. Reading
	 * has stopped; pipelined input may still wait behind a job. */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    !c->closing && !c->starttls_pending && !c->dead) {
		c->eof = true;
		/* libevent's TLS bufferevent stops writing at the end of the
		 * peer's stream too, and re-arms the write event only when
		 * output is added to an empty buffer: replies queued behind a
		 * job would never go out. Writing is ours to stop. */
		if (c->tls)
			bufferevent_enable(bev, EV_WRITE);
		/* One more (deferred) read lets the session take what is
		 * left, then conn_eof_check closes; while a job runs,
		 * conn_resume does the same. */
		if (!c->paused)
			bufferevent_trigger(bev, EV_READ,
					    BEV_TRIG_DEFER_CALLBACKS |
					    BEV_TRIG_IGNORE_WATERMARKS);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		reason = "timeout";
	else if (what & BEV_EVENT_EOF)
		reason = "eof";
	else if (c->tls && bufferevent_get_openssl_error(bev) != 0)
		reason = "tls";
	/* Clear the error queue so it cannot leak into another connection. */
	for (int i = 0; i < 16 && bufferevent_get_openssl_error(bev) != 0; i++)
		;
	conn_report_close(c, reason);
}

void
conn_shutdown_all(struct server *srv, const char *reason)
{
	struct conn *c = srv->reg->conns;

	/* on_close may free c (never another conn), so step first. */
	while (c != NULL) {
		struct conn *next = c->next;
		conn_report_close(c, reason);
		c = next;
	}
}
