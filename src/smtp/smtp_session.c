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
#include "../store/store.h"
#include "../util/str.h"
#include "smtp_int.h"

static void smtp_on_read(struct session *base);
static void smtp_on_close(struct session *base, const char *reason);
static void smtp_on_timeout(struct session *base);
static void smtp_on_bye(struct session *base, enum session_bye why);
static void smtp_too_many_errors(struct session *base);
static void smtp_session_free(struct session *base);
static void smtp_line_too_long(struct session *base, bool line_end);

/* Command and SASL lines come from session_read_line; LIMIT_SMTP_LINE
 * counts the CR of CRLF (max_counts_cr). */
static const struct session_ops smtp_session_ops = {
	.on_read = smtp_on_read,
	.on_close = smtp_on_close,
	.timeout_reply = smtp_on_timeout,
	.bye_reply = smtp_on_bye,
	.too_many_errors = smtp_too_many_errors,
	.line_too_long = smtp_line_too_long,
	.free = smtp_session_free,
	.max_errors = LIMIT_SMTP_ERRORS,
	.max_counts_cr = true,
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
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		free(tx->rcpts[i].accounts);
		store_strv_free(tx->rcpts[i].remote);
	}
	free(tx->rcpts);
	/* A message being received is dropped with its file. */
	smtp_spool_abort(&tx->spool);
	smtp_mailauth_free(&tx->auth);
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
 * must never run as commands (RFC 3030 §2): close the connection. While
 * the rest of the line is dropped (line_end false) the session reads
 * command lines again, whatever it read before (a SASL response too). */
static void
smtp_line_too_long(struct session *base, bool line_end)
{
	struct smtp_session *s = (struct smtp_session *)base;

	smtp_reply(s, 500, "5.5.2", "Line too long");
	if (!line_end)
		s->mode = SMTP_MODE_COMMAND;
	if (smtp_line_is_bdat(base->line_head, base->line_head_len)) {
		log_info(s->base.id, "bdat_unreadable", " action=close");
		session_close(&s->base, NULL);
		return;
	}
	session_error(&s->base);
}

/* Next command line: 1 and *line_r (NUL-terminated, to free), 0 none
 * complete yet, -1 an overlong line was (partly) dropped and answered.
 * A bare LF ends a command line too (RFC 5321 §2.3.8 asks for CRLF;
 * rejecting LF-only clients helps nobody here). */
static int
smtp_next_line(struct smtp_session *s, char **line_r, size_t *len_r)
{
	size_t n;
	int r = session_read_line(&s->base, LIMIT_SMTP_LINE, &n);
	char *line;

	if (r <= 0)
		return r;
	line = malloc(n + 1);
	if (line == NULL)
		return 0;
	session_take_line(&s->base, line, n);
	line[n] = '\0';
	*line_r = line;
	*len_r = n;
	return 1;
}

/* After a turn of smtp_process: the command line deadline runs while part
 * of a line waits and no job does; a login changes the idle timeout. */
static void
smtp_process_end(struct smtp_session *s, bool consumed)
{
	bool line_mode = s->mode == SMTP_MODE_COMMAND ||
			 s->mode == SMTP_MODE_SASL;

	if (s->base.conn == NULL)
		return;
	if (s->timeout_authed != s->authed && line_mode)
		smtp_set_mode(s, s->mode);
	conn_line_wait(s->base.conn, smtp_session_jobs(s) == 1 &&
		       !s->base.closing && line_mode &&
		       (s->base.discarding ||
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
	       smtp_session_jobs(s) == 1 &&
	       (s->tx == NULL || !s->tx->auth_wait)) {
		/* No job runs: a message being committed has been answered. */
		if (session_bye_due(&s->base))
			break;
		in = conn_input(s->base.conn);
		if (s->mode == SMTP_MODE_DATA || s->mode == SMTP_MODE_BDAT) {
			size_t before = evbuffer_get_length(in);
			enum smtp_mode m = s->mode;
			smtp_data_input(s);
			if (s->mode == m && evbuffer_get_length(in) == before)
				break;
			continue;
		}
		size_t len;
		char *line = NULL;
		bool discarding = s->base.discarding;
		int r = smtp_next_line(s, &line, &len);
		if (r == 0)
			break;
		if (r < 0) {
			/* The end of an overlong line being dropped counts as
			 * input taken, as a line does. */
			consumed |= discarding && !s->base.discarding;
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

	log_info(s->base.id, "timeout", " mode=%d",
		 (int)(s->base.discarding ? SMTP_MODE_DISCARD : s->mode));
	smtp_reply(s, 421, "4.4.2", "%s Timeout, closing connection",
		   s->base.srv->cfg.hostname);
}

/* RFC 5321 §3.8: 421 at any time when the service must close. */
static void
smtp_on_bye(struct session *base, enum session_bye why)
{
	struct smtp_session *s = (struct smtp_session *)base;

	if (why == SESSION_BYE_SHUTDOWN)
		smtp_reply(s, 421, "4.3.2", "%s Server shutting down",
			   s->base.srv->cfg.hostname);
	else
		smtp_reply(s, 421, "4.7.0", "%s Session ended by the "
			   "administrator", s->base.srv->cfg.hostname);
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

	session_log_end(&s->base, reason, " helo=%s messages=%u",
			log_qs(s->helo), s->accepted);
	/* A delayed AUTH answer or RCPT lookup holds a reference: nobody is
	 * left to wait for, so let its timer fire now (at shutdown the loop
	 * would otherwise stop first and the session would never be freed). */
	smtp_fire_now(s->delay_ev);
	smtp_fire_now(s->rcpt_delay_ev);
}
