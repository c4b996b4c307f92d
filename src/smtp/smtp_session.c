/*
 * SMTP session lifecycle and input loop. Input is read in the session's
 * current mode (command lines, message data, SASL responses); a command that
 * needs a worker (recipient lookup, password check, durable delivery) pauses
 * the connection, and smtp_session_resume() carries on with whatever the
 * client pipelined meanwhile.
 */
#include "smtp_session.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "../core/config.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../util/str.h"
#include "smtp_int.h"

static void smtp_on_read(struct session *base);
static void smtp_on_close(struct session *base, const char *reason);
static void smtp_on_timeout(struct session *base);
static void smtp_too_many_errors(struct session *base);
static void smtp_session_free(struct session *base);

/* Command lines are read by smtp_next_line (bare LF accepted, BDAT-aware
 * overlong handling), not session_read_line: no line_too_long. */
static const struct session_ops smtp_session_ops = {
	.on_read = smtp_on_read,
	.on_close = smtp_on_close,
	.timeout_reply = smtp_on_timeout,
	.too_many_errors = smtp_too_many_errors,
	.free = smtp_session_free,
	.max_errors = LIMIT_SMTP_ERRORS,
};

static void
smtp_session_free(struct session *base)
{
	struct smtp_session *s = (struct smtp_session *)base;

	smtp_tx_free(s);
	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	if (s->rcpt_delay_ev != NULL)
		event_free(s->rcpt_delay_ev);
	free(s);
}

static void
smtp_too_many_errors(struct session *base)
{
	smtp_reply((struct smtp_session *)base, 421, "4.7.0",
		   "Too many errors, closing connection");
}

struct smtp_tx *
smtp_tx_new(void)
{
	struct smtp_tx *tx = calloc(1, sizeof(*tx));

	if (tx == NULL)
		return NULL;
	buf_init(&tx->hdr, LIMIT_SMTP_HEADER_KEPT);
	smtp_datascan_init(&tx->scan);
	return tx;
}

void
smtp_tx_free(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx == NULL)
		return;
	for (size_t i = 0; i < tx->n_rcpts; i++)
		free(tx->rcpts[i].accounts);
	free(tx->rcpts);
	/* A message being received is dropped with its file. */
	smtp_spool_abort(&tx->spool);
	buf_fini(&tx->hdr);
	free(tx);
	s->tx = NULL;
	if (s->state & (SMTP_STATE_MAIL | SMTP_STATE_RCPT))
		s->state = SMTP_STATE_HELO;
}

/* The idle timeout for commands: shorter before authentication on the
 * submission ports, where nothing but AUTH (and STARTTLS) is of use; port
 * 25 has no login, so its clients get RFC 5321 §4.5.3.2.7's 5 minutes. */
static int
smtp_cmd_timeout(struct smtp_session *s)
{
	const struct config *cfg = &s->base.srv->cfg;

	if (s->proto != PROTO_SMTP && !s->authed && cfg->preauth_timeout > 0 &&
	    cfg->preauth_timeout < cfg->smtp_cmd_timeout)
		return cfg->preauth_timeout;
	return cfg->smtp_cmd_timeout;
}

void
smtp_set_mode(struct smtp_session *s, enum smtp_mode mode)
{
	bool bulk = mode == SMTP_MODE_DATA || mode == SMTP_MODE_BDAT;

	s->mode = mode;
	if (s->base.conn == NULL)
		return;
	s->timeout_authed = s->authed;
	conn_set_timeout(s->base.conn, bulk ? s->base.srv->cfg.smtp_data_timeout
					    : smtp_cmd_timeout(s));
	/* A whole DATA/BDAT transfer has a minimum rate (conn.h); between
	 * reads smtp_data_timeout still applies. */
	if (bulk != s->rate_on) {
		s->rate_on = bulk;
		conn_set_min_rate(s->base.conn,
				  bulk ? s->base.srv->cfg.smtp_data_min_rate
				       : 0,
				  s->base.srv->cfg.smtp_data_grace);
	}
}

void
smtp_session_start(struct server *srv, struct conn *conn, int proto)
{
	struct smtp_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		conn_free(&conn);
		return;
	}
	session_init(&s->base, &smtp_session_ops, srv, conn, false);
	s->proto = proto;
	s->state = SMTP_STATE_INIT;
	conn_set_line_deadline(conn, srv->cfg.command_deadline);
	smtp_set_mode(s, SMTP_MODE_COMMAND);
	smtp_reply(s, 220, NULL, "%s ESMTP Postel", srv->cfg.hostname);
}

/* A line too long to be a command: 500. When it starts with BDAT, its
 * chunk size is unknown and the octets after it could be chunk data that
 * must never run as commands (RFC 3030 §2): close the connection. */
static void
smtp_line_too_long(struct smtp_session *s, struct evbuffer *in)
{
	char head[5];
	ev_ssize_t n = evbuffer_copyout(in, head, sizeof(head));

	smtp_reply(s, 500, "5.5.2", "Line too long");
	if (n > 0 && smtp_line_is_bdat(head, (size_t)n)) {
		log_info(s->base.id, "bdat_unreadable", " action=close");
		session_close(&s->base, NULL);
		return;
	}
	session_error(&s->base);
}

/* Next command line, or NULL when none is complete yet. A line longer than
 * LIMIT_SMTP_LINE gets 500 and the rest of it is discarded. */
static char *
smtp_next_line(struct smtp_session *s, struct evbuffer *in, size_t *len_r)
{
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL,
						      EVBUFFER_EOL_LF);

	if (eol.pos < 0) {
		if (evbuffer_get_length(in) > LIMIT_SMTP_LINE) {
			smtp_line_too_long(s, in);
			evbuffer_drain(in, evbuffer_get_length(in));
			s->mode = SMTP_MODE_DISCARD;
		}
		return NULL;
	}
	if ((size_t)eol.pos > LIMIT_SMTP_LINE) {
		smtp_line_too_long(s, in);
		evbuffer_drain(in, (size_t)eol.pos + 1);
		*len_r = 0;
		return NULL;
	}
	/* Accept CRLF and, for commands only, a bare LF (RFC 5321 §2.3.8
	 * asks for CRLF; rejecting LF-only clients helps nobody here). */
	size_t n = (size_t)eol.pos;
	char *line = malloc(n + 1);
	if (line == NULL)
		return NULL;
	evbuffer_remove(in, line, n);
	evbuffer_drain(in, 1);
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	*len_r = n;
	return line;
}

/* Drops the tail of an over-long line, up to and including its LF. */
static bool
smtp_discard(struct evbuffer *in)
{
	struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, NULL,
						      EVBUFFER_EOL_LF);

	if (eol.pos < 0) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return false;
	}
	evbuffer_drain(in, (size_t)eol.pos + 1);
	return true;
}

/* After a turn of smtp_process: the command line deadline runs while part
 * of a line waits and no job does; a login changes the idle timeout. */
static void
smtp_process_end(struct smtp_session *s, bool consumed)
{
	bool line_mode = s->mode == SMTP_MODE_COMMAND ||
			 s->mode == SMTP_MODE_SASL ||
			 s->mode == SMTP_MODE_DISCARD;

	if (s->base.conn == NULL)
		return;
	if (s->timeout_authed != s->authed && line_mode)
		smtp_set_mode(s, s->mode);
	conn_line_wait(s->base.conn, smtp_session_jobs(s) == 1 &&
		       !s->base.closing && line_mode &&
		       (s->mode == SMTP_MODE_DISCARD ||
			evbuffer_get_length(conn_input(s->base.conn)) > 0),
		       consumed);
}

/* Runs commands while input is complete and no async step is pending. */
static void
smtp_process(struct smtp_session *s)
{
	struct evbuffer *in;
	bool consumed = false;

	session_ref(&s->base);
	while (s->base.conn != NULL && !s->base.closing &&
	       smtp_session_jobs(s) == 1) {
		in = conn_input(s->base.conn);
		if (s->mode == SMTP_MODE_DISCARD) {
			if (!smtp_discard(in))
				break;
			consumed = true;
			s->mode = SMTP_MODE_COMMAND;
			continue;
		}
		if (s->mode == SMTP_MODE_DATA || s->mode == SMTP_MODE_BDAT) {
			size_t before = evbuffer_get_length(in);
			enum smtp_mode m = s->mode;
			smtp_data_input(s);
			if (s->mode == m && evbuffer_get_length(in) == before)
				break;
			continue;
		}
		size_t len;
		size_t before = evbuffer_get_length(in);
		char *line = smtp_next_line(s, in, &len);
		if (line == NULL) {
			if (evbuffer_get_length(in) == before ||
			    s->base.conn == NULL)
				break;
			continue;
		}
		consumed = true;
		if (s->mode == SMTP_MODE_SASL)
			smtp_sasl_line(s, line, len);
		else
			smtp_dispatch(s, line, len);
		free(line);
	}
	smtp_process_end(s, consumed);
	session_unref(&s->base);
}

void
smtp_session_resume(struct smtp_session *s)
{
	if (s->base.conn == NULL || s->base.closing)
		return;
	conn_resume(s->base.conn);
	smtp_process(s);
}

static void
smtp_on_read(struct session *base)
{
	struct smtp_session *s = (struct smtp_session *)base;

	if (smtp_session_jobs(s) > 0)
		return; /* an async step is pending; it resumes us */
	smtp_process(s);
}

static void
smtp_on_timeout(struct session *base)
{
	struct smtp_session *s = (struct smtp_session *)base;

	log_info(s->base.id, "timeout", " mode=%d", (int)s->mode);
	smtp_reply(s, 421, "4.4.2", "%s Timeout, closing connection",
		   s->base.srv->cfg.hostname);
}

static void
smtp_fire_now(struct event *ev)
{
	if (ev != NULL && evtimer_pending(ev, NULL)) {
		evtimer_del(ev);
		event_active(ev, EV_TIMEOUT, 1);
	}
}

static void
smtp_on_close(struct session *base, const char *reason)
{
	struct smtp_session *s = (struct smtp_session *)base;

	log_info(s->base.id, "disconnect", " reason=%s", reason);
	/* A delayed AUTH answer or RCPT lookup holds a reference: nobody is
	 * left to wait for, so let its timer fire now (at shutdown the loop
	 * would otherwise stop first and the session would never be freed). */
	smtp_fire_now(s->delay_ev);
	smtp_fire_now(s->rcpt_delay_ev);
}
