/*
 * The SMTP client's connection (smtpc.h): a non-blocking connect, reading
 * replies, timeouts and failures, and QUIT at the end. The session setup
 * (greeting, EHLO, STARTTLS, AUTH) is smtpc_setup.c, the transaction
 * smtpc_tx.c. Outgoing connections are bufferevents of their own, not
 * struct conn: they do not count in the listener's registry and limits.
 *
 * Callbacks into the caller run from our own libevent callbacks (or a
 * deferred event), never inside smtpc_connect/smtpc_send; the caller may
 * call smtpc_free or smtpc_send from inside them (c->busy keeps c alive
 * until our callback returns, STYLE.md rule 13).
 */
#include "smtpc_int.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../core/log.h"
#include "../core/loop.h"
#include "../core/runtime.h"

static void smtpc_read_cb(struct bufferevent *bev, void *arg);
static void smtpc_write_cb(struct bufferevent *bev, void *arg);
static void smtpc_event_cb(struct bufferevent *bev, short what, void *arg);

static const char *const smtpc_doing[] = {
	[SMTPC_CONNECTING] = "connecting",
	[SMTPC_GREETING] = "receiving the initial greeting",
	[SMTPC_EHLO] = "sending EHLO",
	[SMTPC_HELO] = "sending HELO",
	[SMTPC_STARTTLS] = "sending STARTTLS",
	[SMTPC_HANDSHAKE] = "in the TLS handshake",
	[SMTPC_AUTH] = "authenticating",
	[SMTPC_AUTH_USER] = "authenticating",
	[SMTPC_AUTH_PASS] = "authenticating",
	[SMTPC_READY] = "idle",
	[SMTPC_RSET] = "sending RSET",
	[SMTPC_MAIL] = "sending MAIL FROM",
	[SMTPC_RCPT] = "sending RCPT TO",
	[SMTPC_DATA] = "sending DATA",
	[SMTPC_BODY] = "sending message data",
	/* Postfix's words: the server may have taken it already. */
	[SMTPC_DATA_END] = ("sending end of data -- message may be sent "
			    "more than once"),
	[SMTPC_DISCARD] = "ending an empty DATA",
	[SMTPC_DEAD] = "closed",
};

static void
smtpc_make_id(char id[17])
{
	static _Thread_local unsigned long long counter;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	snprintf(id, 17, "%016llx",
		 ((unsigned long long)tv.tv_sec << 24) ^
			 ((unsigned long long)tv.tv_usec << 4) ^
			 (++counter * 0x9e3779b97f4a7c15ULL));
}

size_t
smtpc_out_pending(struct smtpc *c)
{
	return c->bev != NULL
		? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

void
smtpc_arm(struct smtpc *c, int seconds)
{
	struct timeval tv = { seconds, 0 };

	if (seconds > 0)
		evtimer_add(c->timer, &tv);
	else
		evtimer_del(c->timer);
}

void
smtpc_cmd(struct smtpc *c, const char *fmt, ...)
{
	struct evbuffer *out;
	size_t before;
	va_list ap;

	if (c->bev == NULL)
		return;
	out = bufferevent_get_output(c->bev);
	before = evbuffer_get_length(out);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	if (log_get_level() >= LOG_DEBUG) {
		size_t n = evbuffer_get_length(out) - before;
		struct evbuffer_ptr pos;
		char line[128];
		ev_ssize_t got;

		evbuffer_ptr_set(out, &pos, before, EVBUFFER_PTR_SET);
		got = evbuffer_copyout_from(out, &pos, line,
					    n < sizeof(line) - 1
					    ? n : sizeof(line) - 1);
		line[got > 0 ? got : 0] = '\0';
		/* Never log AUTH data (STYLE.md rule 16). */
		if (strncmp(line, "AUTH", 4) == 0 ||
		    c->state == SMTPC_AUTH_USER || c->state == SMTPC_AUTH_PASS)
			snprintf(line, sizeof(line), "AUTH ***");
		log_debug(c->id, "smtpc_cmd", " peer=%s line=%s",
			  log_qs(c->peer), log_qs(line));
	}
	evbuffer_add(out, "\r\n", 2);
	smtpc_arm(c, c->srv->cfg.smtp_client_timeout);
}

/* ---- callbacks to the caller -------------------------------------- */

void
smtpc_call(struct smtpc *c, bool ok)
{
	smtpc_cb cb = c->cb;

	c->cb = NULL;
	if (cb != NULL)
		cb(c->cb_arg, c, ok);
}

void
smtpc_defer(struct smtpc *c, bool ok)
{
	c->cb_ok = ok;
	event_active(c->defer_ev, 0, 0);
}

static void
smtpc_destroy(struct smtpc *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	event_free(c->timer);
	event_free(c->defer_ev);
	buf_fini(&c->conv);
	free(c->dane);
	if (c->auth_pass != NULL) {
		explicit_bzero(c->auth_pass, strlen(c->auth_pass));
		free(c->auth_pass);
	}
	free(c->auth_user);
	free(c);
}

static void
smtpc_enter(struct smtpc *c)
{
	c->busy++;
}

static void
smtpc_leave(struct smtpc *c)
{
	if (--c->busy == 0 && c->free_pending)
		smtpc_destroy(c);
}

static void
smtpc_defer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;

	smtpc_enter(c);
	smtpc_call(c, c->cb_ok);
	smtpc_leave(c);
}

/* ---- failure ------------------------------------------------------- */

static void
smtpc_drop(struct smtpc *c)
{
	evtimer_del(c->timer);
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->state = SMTPC_DEAD;
}

void
smtpc_fail(struct smtpc *c, const struct smtpc_reply *r)
{
	if (c->state == SMTPC_DEAD)
		return;
	c->err = *r;
	log_info(c->id, "smtpc_fail", " peer=%s state=%s reply=%s",
		 log_qs(c->peer), log_qs(smtpc_doing[c->state]),
		 log_qs(r->text));
	if (c->m != NULL)
		smtpc_tx_fail(c, r);
	smtpc_drop(c);
	smtpc_call(c, false);
}

/* The connection went away or timed out: a made-up temporary reply that
 * says what we were doing (the caller retries). */
static void
smtpc_fail_io(struct smtpc *c, const char *what)
{
	struct smtpc_reply r;

	if (c->state == SMTPC_CONNECTING)
		smtpc_reply_set(&r, 421, "4.4.1", "connect to %s: %s", c->peer,
				what);
	else if (c->state == SMTPC_HANDSHAKE) {
		c->tls_result = TLS_RESULT_VALIDATION_FAILURE;
		smtpc_reply_set(&r, 421, "4.7.5",
				"TLS handshake with %s failed: %s", c->peer,
				what);
	} else
		smtpc_reply_set(&r, 421, "4.4.2", "%s with %s while %s", what,
				c->peer, smtpc_doing[c->state]);
	smtpc_fail(c, &r);
}

static void
smtpc_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc *c = arg;

	smtpc_enter(c);
	smtpc_fail_io(c, c->state == SMTPC_CONNECTING ? "timed out"
			 : c->state == SMTPC_HANDSHAKE ? "timed out"
			 : "conversation timed out");
	smtpc_leave(c);
}

/* ---- reading replies -------------------------------------------------- */

static void
smtpc_reply_done(struct smtpc *c)
{
	log_debug(c->id, "smtpc_reply", " peer=%s reply=%s", log_qs(c->peer),
		  log_qs(c->cur.text));
	if (c->state >= SMTPC_RSET && c->state <= SMTPC_DISCARD)
		smtpc_tx_reply(c);
	else if (c->state == SMTPC_READY)
		/* Unasked (a 421 before an idle close): the connection is
		 * no longer usable. */
		smtpc_fail(c, &c->cur);
	else
		smtpc_setup_reply(c);
}

/* One line from the input: 1 taken, 0 need more, -1 failed (c dead). */
static int
smtpc_read_line(struct smtpc *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char line[SMTPC_REPLY_LINE_MAX + 1];
	struct evbuffer_ptr eol;
	size_t eol_len = 0, n;
	const char *t;
	size_t tl;
	int rc;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) <= SMTPC_REPLY_LINE_MAX)
			return 0;
		n = SIZE_MAX;
	} else {
		n = (size_t)eol.pos;
	}
	if (n > SMTPC_REPLY_LINE_MAX) {
		rc = -1;
	} else {
		evbuffer_remove(in, line, n);
		evbuffer_drain(in, eol_len);
		if (c->rs.r == NULL)
			smtpc_reply_begin(&c->rs, &c->cur);
		rc = smtpc_reply_line(&c->rs, line, n, &t, &tl);
	}
	if (rc < 0) {
		struct smtpc_reply r;
		smtpc_reply_set(&r, 421, "4.5.0", "malformed reply from %s "
				"while %s", c->peer, smtpc_doing[c->state]);
		smtpc_fail(c, &r);
		return -1;
	}
	/* EHLO keywords follow the first line (RFC 5321 §4.1.1.1). */
	if (c->state == SMTPC_EHLO && c->rs.code == 250 && c->rs.lines > 1)
		smtpc_ehlo_line(c, t, tl);
	if (rc == 1) {
		c->rs.r = NULL;
		smtpc_reply_done(c);
	}
	return 1;
}

static void
smtpc_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtpc *c = arg;

	smtpc_enter(c);
	/* Replies are read in order (RFC 2920 §3.2); a reply may switch the
	 * connection (STARTTLS), start the message or end it. The message
	 * is being sent: its reply comes after the end of data. */
	for (int i = 0;; i++) {
		if (c->free_pending || c->bev == NULL ||
		    c->state == SMTPC_DEAD || c->state == SMTPC_HANDSHAKE ||
		    c->state == SMTPC_BODY || c->state == SMTPC_CONNECTING)
			break;
		/* Bounded per turn; the rest in the next (deferred) one. */
		if (i == SMTPC_REPLY_LINES_MAX) {
			bufferevent_trigger(c->bev, EV_READ,
					    BEV_TRIG_DEFER_CALLBACKS);
			break;
		}
		if (smtpc_read_line(c) <= 0)
			break;
	}
	smtpc_leave(c);
}

static void
smtpc_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtpc *c = arg;

	smtpc_enter(c);
	if (c->state == SMTPC_BODY && !c->free_pending)
		smtpc_tx_body(c);
	smtpc_leave(c);
}

void
smtpc_bev_setup(struct smtpc *c)
{
	bufferevent_setcb(c->bev, smtpc_read_cb, smtpc_write_cb,
			  smtpc_event_cb, c);
	/* The write callback asks for more of the message once the socket
	 * took all but one chunk. */
	bufferevent_setwatermark(c->bev, EV_WRITE, SMTPC_BODY_CHUNK, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
smtpc_connected(struct smtpc *c)
{
	if (c->state == SMTPC_HANDSHAKE) {
		smtpc_tls_done(c);
		return;
	}
	c->state = SMTPC_GREETING;
	log_info(c->id, "smtpc_connect", " peer=%s", log_qs(c->peer));
	smtpc_arm(c, c->srv->cfg.smtp_client_timeout);
}

static void
smtpc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtpc *c = arg;
	char why[160];
	unsigned long e;

	smtpc_enter(c);
	if (what & BEV_EVENT_CONNECTED) {
		smtpc_connected(c);
	} else if (c->state == SMTPC_CONNECTING) {
		smtpc_fail_io(c, evutil_socket_error_to_string(
					 EVUTIL_SOCKET_ERROR()));
	} else if (c->state == SMTPC_HANDSHAKE) {
		e = bufferevent_get_openssl_error(bev);
		if (e != 0)
			ERR_error_string_n(e, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "connection closed");
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		smtpc_fail_io(c, why);
	} else {
		int err = EVUTIL_SOCKET_ERROR();

		while (c->tls && bufferevent_get_openssl_error(bev) != 0)
			;
		/* The peer closing while we write shows as EPIPE or a reset,
		 * not as EOF: the same event for the log and the DSN. */
		smtpc_fail_io(c, (what & BEV_EVENT_EOF) || err == EPIPE ||
					 err == ECONNRESET
				 ? "lost connection"
				 : "connection error");
	}
	smtpc_leave(c);
}

/* ---- public ------------------------------------------------------------- */

static int
smtpc_set_peer(struct smtpc *c)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->t.addr;
	socklen_t len = sa->sa_family == AF_INET6
		? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	char port[16];

	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		return -1;
	/* Numeric only: never a DNS lookup on the loop. */
	if (getnameinfo(sa, len, c->ip, sizeof(c->ip), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return -1;
	snprintf(c->peer, sizeof(c->peer), "%s[%s]:%s",
		 c->t.host[0] ? c->t.host : c->ip, c->ip, port);
	return 0;
}

static int
smtpc_start(struct smtpc *c)
{
	struct event_base *base = loop_base(c->srv->loop);
	struct sockaddr *sa = (struct sockaddr *)&c->t.addr;
	int len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					    : sizeof(struct sockaddr_in);

	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE |
					BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL)
		return -1;
	smtpc_bev_setup(c);
	smtpc_arm(c, c->srv->cfg.smtp_client_connect_timeout);
	return bufferevent_socket_connect(c->bev, sa, len);
}

struct smtpc *
smtpc_connect(struct server *srv, const struct smtpc_target *t,
	      smtpc_cb ready, void *arg)
{
	struct event_base *base = loop_base(srv->loop);
	struct smtpc *c = calloc(1, sizeof(*c));
	struct smtpc_reply r;

	if (c == NULL)
		return NULL;
	c->srv = srv;
	c->t = *t;
	c->t.host[sizeof(c->t.host) - 1] = '\0';
	c->cb = ready;
	c->cb_arg = arg;
	buf_init(&c->conv, 0);
	smtpc_make_id(c->id);
	c->timer = evtimer_new(base, smtpc_timer_cb, c);
	c->defer_ev = event_new(base, -1, 0, smtpc_defer_cb, c);
	if (t->auth_user != NULL && t->auth_pass != NULL) {
		c->auth_user = strdup(t->auth_user);
		c->auth_pass = strdup(t->auth_pass);
	}
	c->t.auth_user = c->t.auth_pass = NULL;
	c->dane = tls_dane_dup(t->dane);
	c->t.dane = NULL;
	if (c->timer == NULL || c->defer_ev == NULL ||
	    (t->dane != NULL && c->dane == NULL) ||
	    (t->auth_user != NULL && t->auth_pass != NULL &&
	     (c->auth_user == NULL || c->auth_pass == NULL))) {
		c->bev = NULL;
		smtpc_destroy(c);
		return NULL;
	}
	if (smtpc_set_peer(c) < 0) {
		snprintf(c->peer, sizeof(c->peer), "%s", t->host);
		smtpc_reply_set(&r, 421, "4.4.1", "connect to %s: bad address",
				c->peer);
	} else if (smtpc_start(c) < 0) {
		smtpc_reply_set(&r, 421, "4.4.1", "connect to %s: %s", c->peer,
				strerror(errno));
	} else {
		return c;
	}
	c->err = r;
	smtpc_drop(c);
	smtpc_defer(c, false);
	return c;
}

/* QUIT (RFC 5321 §4.1.1.10) written straight to the socket when nothing
 * else is queued: we do not wait for the 221. */
static void
smtpc_say_quit(struct smtpc *c)
{
	static const char quit[] = "QUIT\r\n";
	SSL *ssl;

	if (c->bev == NULL || c->state == SMTPC_CONNECTING ||
	    c->state == SMTPC_HANDSHAKE || smtpc_out_pending(c) > 0)
		return;
	ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	if (ssl != NULL) {
		if (SSL_write(ssl, quit, sizeof(quit) - 1) > 0)
			SSL_shutdown(ssl);
		ERR_clear_error();
	} else if (!c->tls) {
		(void)send(bufferevent_getfd(c->bev), quit, sizeof(quit) - 1,
			   MSG_NOSIGNAL | MSG_DONTWAIT);
	}
}

void
smtpc_free(struct smtpc **cp)
{
	struct smtpc *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	c->cb = NULL;
	smtpc_say_quit(c);
	smtpc_drop(c);
	event_del(c->defer_ev);
	if (c->busy > 0)
		c->free_pending = true;
	else
		smtpc_destroy(c);
}

const struct smtpc_reply *
smtpc_error(const struct smtpc *c)
{
	return &c->err;
}

unsigned
smtpc_ext(const struct smtpc *c)
{
	return c->ext;
}

uint64_t
smtpc_max_size(const struct smtpc *c)
{
	return c->max_size;
}

const char *
smtpc_peer(const struct smtpc *c)
{
	return c->peer;
}

bool
smtpc_is_tls(const struct smtpc *c)
{
	return c->tls;
}

bool
smtpc_is_verified(const struct smtpc *c)
{
	return c->verified;
}

enum tls_result
smtpc_tls_result(const struct smtpc *c, const char **why_r)
{
	*why_r = c->tls_why;
	return c->tls_result;
}

const char *
smtpc_tls_info(const struct smtpc *c)
{
	return c->tls_info;
}

bool
smtpc_usable(const struct smtpc *c)
{
	return c->state == SMTPC_READY;
}

unsigned
smtpc_count(const struct smtpc *c)
{
	return c->count;
}
