/*
 * POP3 session lifecycle and input: reads command lines from the
 * connection one at a time (RFC 2449 §6.6 PIPELINING: in order, each
 * answered before the next is looked at) and hands them to the dispatcher.
 *
 * Lifetime: the session holds one reference for its connection and one per
 * pending asynchronous job (worker, auth, commit). The connection's on_close
 * frees the conn at once and drops its reference; the session is freed
 * when the last job has reported back, so a late callback never finds a
 * freed session (STYLE.md rule 13).
 */
#include "pop3_session.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../util/str.h"
#include "pop3_maildrop.h"
#include "pop3_reply.h"

static void pop3_session_read_cb(struct session *base);
static void pop3_session_close_cb(struct session *base, const char *reason);
static void pop3_session_drain_cb(struct session *base);
static void pop3_session_timeout_cb(struct session *base);
static void pop3_session_bye_cb(struct session *base, enum session_bye why);
static void pop3_session_errors_cb(struct session *base);
static void pop3_session_too_long_cb(struct session *base, bool line_end);
static void pop3_session_free(struct session *base);

static const struct session_ops pop3_session_ops = {
	.on_read = pop3_session_read_cb,
	.on_close = pop3_session_close_cb,
	.on_drain = pop3_session_drain_cb,
	.timeout_reply = pop3_session_timeout_cb,
	.bye_reply = pop3_session_bye_cb,
	.too_many_errors = pop3_session_errors_cb,
	.line_too_long = pop3_session_too_long_cb,
	.free = pop3_session_free,
	.max_errors = LIMIT_POP3_ERRORS,
};

void
pop3_session_start(struct server *srv, struct conn *conn, bool implicit_tls)
{
	struct pop3_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		log_error(conn_id(conn), "pop3_start", " error=nomem");
		conn_free(&conn);
		return;
	}
	session_init(&s->base, &pop3_session_ops, srv, conn, implicit_tls);
	s->state = POP3_STATE_AUTHORIZATION;
	/* RFC 1939 §3: the autologout timer, at least ten minutes by
	 * default (configurable for tests); before login preauth_timeout
	 * (pop3_session_timeouts). */
	conn_set_timeout(conn, srv->cfg.preauth_timeout > 0 &&
				       srv->cfg.preauth_timeout <
					       srv->cfg.pop3_timeout
			       ? srv->cfg.preauth_timeout
			       : srv->cfg.pop3_timeout);
	conn_set_line_deadline(conn, srv->cfg.command_deadline);
	log_info(s->base.id, "pop3_start", " peer=%s tls=%s",
		 log_qs(conn_peer(conn)), implicit_tls ? "yes" : "no");
	pop3_reply_ok(s, POP3_TXT_GREETING);
}

static void
pop3_session_free(struct session *base)
{
	struct pop3_session *s = (struct pop3_session *)base;

	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	pop3_maildrop_retr_free(s);
	if (s->locked)
		server_mailbox_unlock(s->base.srv, s->drop.mailbox_id);
	if (s->in_session_count)
		server_busy_end(s->base.srv);
	pop3_maildrop_fini(s);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

static void
pop3_session_errors_cb(struct session *base)
{
	pop3_reply_err((struct pop3_session *)base, NULL,
		       "Too many errors, closing connection");
}

void
pop3_session_busy(struct pop3_session *s)
{
	s->busy = true;
	if (s->base.conn != NULL)
		conn_pause(s->base.conn);
}

static void pop3_session_process(struct pop3_session *s);

void
pop3_session_unbusy(struct pop3_session *s)
{
	s->busy = false;
	if (s->base.conn == NULL || s->base.closing)
		return;
	conn_resume(s->base.conn);
	/* Pipelined commands may already sit in the input buffer; no new
	 * read event would announce them. */
	pop3_session_process(s);
}

static void
pop3_session_close_cb(struct session *base, const char *reason)
{
	struct pop3_session *s = (struct pop3_session *)base;

	/* Our own reason (quit, errors, auth) beats the conn's "quit". */
	session_log_end(&s->base, reason, " state=%s",
			s->state == POP3_STATE_TRANSACTION ? "transaction"
							   : "authorization");
	/* The timer belongs to the session; jobs in flight keep their own
	 * references and see conn == NULL when they report. */
	if (s->delay_ev != NULL)
		event_del(s->delay_ev);
}

static void
pop3_session_read_cb(struct session *base)
{
	pop3_session_process((struct pop3_session *)base);
}

static void
pop3_session_drain_cb(struct session *base)
{
	pop3_maildrop_retr_drain((struct pop3_session *)base);
}

/* RFC 1939 §3: the autologout timer ends the session without entering the
 * UPDATE state, so nothing marked is deleted. */
static void
pop3_session_timeout_cb(struct session *base)
{
	struct pop3_session *s = (struct pop3_session *)base;

	pop3_reply_err(s, NULL, "Autologout; idle for too long");
}

/* Like the autologout: no UPDATE state, nothing marked is deleted.
 * SYS/TEMP (RFC 3206 §4): the trouble is ours and passes. */
static void
pop3_session_bye_cb(struct session *base, enum session_bye why)
{
	struct pop3_session *s = (struct pop3_session *)base;

	if (why == SESSION_BYE_SHUTDOWN)
		pop3_reply_err(s, POP3_CODE_SYS_TEMP, "Server shutting down");
	else
		pop3_reply_err(s, NULL, "Session ended by the administrator");
}

/* RFC 2449 §4: commands are limited in length; refused once, the rest of
 * the line is skipped (session_read_line). */
static void
pop3_session_too_long_cb(struct session *base, bool line_end)
{
	struct pop3_session *s = (struct pop3_session *)base;

	pop3_reply_err(s, NULL, "Line too long");
	session_error(&s->base);
}

static void
pop3_session_line(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_cmd cmd;
	const char *err = NULL;

	if (s->sasl_wait) {
		pop3_auth_sasl_line(s, line, len);
		return;
	}
	memset(&cmd, 0, sizeof(cmd));
	if (pop3_parse_command(line, len, &cmd, &err) < 0) {
		log_debug(s->base.id, "cmd", " error=%s",
			  log_qs(err != NULL ? err : "syntax"));
		pop3_reply_err(s, NULL, "%s", err != NULL ? err : "Syntax error");
		session_error(&s->base);
		return;
	}
	pop3_reply_log_cmd(s, &cmd);
	pop3_cmds_dispatch(s, &cmd);
}

/* After a turn of the input loop: RFC 1939 §3's ten-minute autologout
 * once logged in (a client still in AUTHORIZATION has only
 * preauth_timeout), and the command line deadline while part of a line
 * waits and no job runs. */
static void
pop3_session_timeouts(struct pop3_session *s, bool consumed)
{
	if (s->base.conn == NULL || s->base.closing)
		return;
	if (!s->timeout_authed && s->state == POP3_STATE_TRANSACTION) {
		s->timeout_authed = true;
		conn_set_timeout(s->base.conn, s->base.srv->cfg.pop3_timeout);
	}
	conn_line_wait(s->base.conn, !s->busy && !s->tls_pending &&
		       (s->base.discarding ||
			evbuffer_get_length(conn_input(s->base.conn)) > 0),
		       consumed);
}

/* Handles complete lines until input runs out or a command has to wait for
 * a job. The reference keeps s alive if a reply path closes the conn. */
static void
pop3_session_process(struct pop3_session *s)
{
	/* SASL responses may be longer than command lines (RFC 5034 §4). */
	char line[LIMIT_SASL_LINE + 1];
	bool consumed = false;

	/* RFC 2595 §4 (and RFC 3207 §4.2): lines that came with STLS are
	 * never commands; wait until the conn runs TLS. */
	if (s->tls_pending && s->base.conn != NULL &&
	    !conn_is_tls(s->base.conn))
		return;
	s->tls_pending = false;
	session_ref(&s->base);
	while (s->base.conn != NULL && !s->busy && !s->base.closing &&
	       !s->tls_pending) {
		size_t cap = s->sasl_wait ? LIMIT_SASL_LINE : LIMIT_POP3_LINE;
		size_t len = 0;
		int r;

		/* Between commands (a RETR being sent is busy). */
		if (session_bye_due(&s->base))
			break;
		r = session_read_line(&s->base, cap, &len);
		if (r == 0)
			break;
		consumed = true;
		if (r < 0)
			continue;
		session_take_line(&s->base, line, len);
		line[len] = '\0';
		pop3_session_line(s, line, len);
		explicit_bzero(line, len);
	}
	pop3_session_timeouts(s, consumed);
	session_unref(&s->base);
}
