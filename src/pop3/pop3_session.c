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

static void pop3_session_read_cb(void *ctx);
static void pop3_session_close_cb(void *ctx, const char *reason);
static void pop3_session_drain_cb(void *ctx);
static void pop3_session_timeout_cb(void *ctx);

static const struct conn_handler pop3_conn_handler = {
	.on_read = pop3_session_read_cb,
	.on_close = pop3_session_close_cb,
	.on_drain = pop3_session_drain_cb,
	.on_timeout = pop3_session_timeout_cb,
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
	s->srv = srv;
	s->conn = conn;
	str_lcpy(s->sess_id, conn_id(conn), sizeof(s->sess_id));
	s->refs = 1;
	s->state = POP3_STATE_AUTHORIZATION;
	s->implicit_tls = implicit_tls;
	conn_set_handler(conn, &pop3_conn_handler, s);
	/* RFC 1939 §3: the autologout timer, at least ten minutes by
	 * default (configurable for tests); before login preauth_timeout
	 * (pop3_session_timeouts). */
	conn_set_timeout(conn, srv->cfg.preauth_timeout > 0 &&
				       srv->cfg.preauth_timeout <
					       srv->cfg.pop3_timeout
			       ? srv->cfg.preauth_timeout
			       : srv->cfg.pop3_timeout);
	conn_set_line_deadline(conn, srv->cfg.command_deadline);
	log_info(s->sess_id, "pop3_start", " peer=%s tls=%s",
		 log_qs(conn_peer(conn)), implicit_tls ? "yes" : "no");
	pop3_reply_ok(s, POP3_TXT_GREETING);
}

static void
pop3_session_free(struct pop3_session *s)
{
	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	pop3_maildrop_retr_free(s);
	if (s->locked)
		server_mailbox_unlock(s->srv, s->drop.mailbox_id);
	if (s->in_session_count)
		server_busy_end(s->srv);
	pop3_maildrop_fini(s);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

void
pop3_session_ref(struct pop3_session *s)
{
	s->refs++;
}

void
pop3_session_unref(struct pop3_session *s)
{
	if (--s->refs == 0)
		pop3_session_free(s);
}

bool
pop3_session_is_tls(const struct pop3_session *s)
{
	return s->conn != NULL && (s->implicit_tls || conn_is_tls(s->conn));
}

void
pop3_session_close(struct pop3_session *s, const char *reason)
{
	if (s->closing || s->conn == NULL)
		return;
	s->closing = true;
	s->end_reason = reason;
	conn_close_after_flush(s->conn);
}

bool
pop3_session_error(struct pop3_session *s)
{
	if (++s->errors < LIMIT_POP3_ERRORS)
		return false;
	pop3_reply_err(s, NULL, "Too many errors, closing connection");
	pop3_session_close(s, "errors");
	return true;
}

void
pop3_session_busy(struct pop3_session *s)
{
	s->busy = true;
	if (s->conn != NULL)
		conn_pause(s->conn);
}

static void pop3_session_process(struct pop3_session *s);

void
pop3_session_unbusy(struct pop3_session *s)
{
	s->busy = false;
	if (s->conn == NULL || s->closing)
		return;
	conn_resume(s->conn);
	/* Pipelined commands may already sit in the input buffer; no new
	 * read event would announce them. */
	pop3_session_process(s);
}

static void
pop3_session_close_cb(void *ctx, const char *reason)
{
	struct pop3_session *s = ctx;

	/* Our own reason (quit, errors, auth) beats the conn's "quit". */
	log_info(s->sess_id, "close", " reason=%s state=%s",
		 s->end_reason != NULL ? s->end_reason : reason,
		 s->state == POP3_STATE_TRANSACTION ? "transaction"
						    : "authorization");
	conn_free(&s->conn);
	s->closing = true;
	/* The timer belongs to the session; jobs in flight keep their own
	 * references and see conn == NULL when they report. */
	if (s->delay_ev != NULL)
		event_del(s->delay_ev);
	pop3_session_unref(s);
}

static void
pop3_session_read_cb(void *ctx)
{
	pop3_session_process(ctx);
}

static void
pop3_session_drain_cb(void *ctx)
{
	pop3_maildrop_retr_drain(ctx);
}

/* RFC 1939 §3: the autologout timer ends the session without entering the
 * UPDATE state, so nothing marked is deleted. */
static void
pop3_session_timeout_cb(void *ctx)
{
	struct pop3_session *s = ctx;

	pop3_reply_err(s, NULL, "Autologout; idle for too long");
	pop3_session_close(s, "timeout");
}

/* Takes the next complete line out of the input buffer into line (without
 * its CRLF or LF). 1 got a line, 0 need more input, -1 an overlong line was
 * met and dropped (answered once; the caller loops on). */
static int
pop3_session_next_line(struct pop3_session *s, char *line, size_t cap,
		       size_t *len_r)
{
	struct evbuffer *in = conn_input(s->conn);
	struct evbuffer_ptr eol;
	size_t eol_len = 0;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (eol.pos < 0) {
		size_t have = evbuffer_get_length(in);

		if (have <= cap)
			return 0;
		/* RFC 2449 §4: commands are limited in length; refuse
		 * once and skip everything up to the next LF. */
		evbuffer_drain(in, have);
		if (!s->discarding) {
			s->discarding = true;
			pop3_reply_err(s, NULL, "Line too long");
			pop3_session_error(s);
		}
		return -1;
	}
	if (s->discarding || (size_t)eol.pos > cap) {
		bool answered = s->discarding;

		evbuffer_drain(in, (size_t)eol.pos + eol_len);
		s->discarding = false;
		if (!answered) {
			pop3_reply_err(s, NULL, "Line too long");
			pop3_session_error(s);
		}
		return -1;
	}
	evbuffer_remove(in, line, (size_t)eol.pos);
	evbuffer_drain(in, eol_len);
	*len_r = (size_t)eol.pos;
	return 1;
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
		log_debug(s->sess_id, "cmd", " error=%s",
			  log_qs(err != NULL ? err : "syntax"));
		pop3_reply_err(s, NULL, "%s", err != NULL ? err : "Syntax error");
		pop3_session_error(s);
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
	if (s->conn == NULL || s->closing)
		return;
	if (!s->timeout_authed && s->state == POP3_STATE_TRANSACTION) {
		s->timeout_authed = true;
		conn_set_timeout(s->conn, s->srv->cfg.pop3_timeout);
	}
	conn_line_wait(s->conn, !s->busy && !s->tls_pending &&
		       (s->discarding ||
			evbuffer_get_length(conn_input(s->conn)) > 0),
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
	if (s->tls_pending && s->conn != NULL && !conn_is_tls(s->conn))
		return;
	s->tls_pending = false;
	pop3_session_ref(s);
	while (s->conn != NULL && !s->busy && !s->closing &&
	       !s->tls_pending) {
		size_t cap = s->sasl_wait ? LIMIT_SASL_LINE : LIMIT_POP3_LINE;
		size_t len = 0;
		int r = pop3_session_next_line(s, line, cap, &len);

		if (r == 0)
			break;
		consumed = true;
		if (r < 0)
			continue;
		line[len] = '\0';
		pop3_session_line(s, line, len);
		explicit_bzero(line, len);
	}
	pop3_session_timeouts(s, consumed);
	pop3_session_unref(s);
}
