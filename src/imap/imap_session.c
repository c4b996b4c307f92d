/*
 * IMAP session lifecycle and input. Reads one command at a time: a line,
 * and when it ends with a literal announcement (RFC 9051 §4.3, RFC 7888
 * LITERAL+/-) the literal octets and the next line, until the command is
 * complete. The literal size is checked against the limit BEFORE anything
 * of it is read or allocated. Pipelined commands wait in the input buffer
 * until the running one has been answered.
 *
 * Lifetime: one reference for the connection and one per pending job; the
 * session is freed when the last is dropped (STYLE.md rule 13).
 */
#include "imap_session.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../store/blob.h"
#include "../store/commit.h"
#include "../util/str.h"
#include "imap_int.h"

static void imap_session_read_cb(struct session *base);
static void imap_session_close_cb(struct session *base, const char *reason);
static void imap_session_timeout_cb(struct session *base);
static void imap_session_bye_cb(struct session *base, enum session_bye why);
static void imap_session_drain_cb(struct session *base);
static void imap_session_errors_cb(struct session *base);
static void imap_session_too_long_cb(struct session *base, bool line_end);
static void imap_session_free(struct session *base);
static void imap_session_process(struct imap_session *s);

static const struct session_ops imap_session_ops = {
	.on_read = imap_session_read_cb,
	.on_close = imap_session_close_cb,
	.on_drain = imap_session_drain_cb,
	.timeout_reply = imap_session_timeout_cb,
	.bye_reply = imap_session_bye_cb,
	.too_many_errors = imap_session_errors_cb,
	.line_too_long = imap_session_too_long_cb,
	.free = imap_session_free,
	.max_errors = LIMIT_IMAP_ERRORS,
};

/* RFC 9051 §5.4: "If a server has an inactivity autologout timer that
 * applies to sessions after authentication, the duration of that timer
 * MUST be at least 30 minutes." and "this specification doesn't have any
 * restrictions on an autologout timer used before successful client
 * authentication": before login the shorter preauth_timeout applies. */
static int
imap_session_idle_timeout(const struct imap_session *s)
{
	const struct config *cfg = &s->base.srv->cfg;
	int t = cfg->imap_timeout > 0 ? cfg->imap_timeout
				      : LIMIT_IMAP_TIMEOUT_DEFAULT;

	if (s->state == IMAP_STATE_NOAUTH && cfg->preauth_timeout > 0 &&
	    cfg->preauth_timeout < t)
		return cfg->preauth_timeout;
	return t;
}

/* UNAUTHENTICATE went back to the not-authenticated state: its shorter
 * timeout applies again, and the longer one after the next login. */
void
imap_session_timeout_reset(struct imap_session *s)
{
	s->timeout_authed = false;
	if (s->base.conn != NULL)
		conn_set_timeout(s->base.conn, imap_session_idle_timeout(s));
}

void
imap_session_start(struct server *srv, struct conn *conn, bool implicit_tls)
{
	struct imap_session *s = calloc(1, sizeof(*s));
	struct buf caps;

	if (s == NULL) {
		log_error(conn_id(conn), "imap_start", " error=nomem");
		conn_free(&conn);
		return;
	}
	session_init(&s->base, &imap_session_ops, srv, conn, implicit_tls);
	s->state = IMAP_STATE_NOAUTH;
	buf_init(&s->in, LIMIT_IMAP_COMMAND);
	buf_init(&s->tagged, 1024);
	conn_set_timeout(conn, imap_session_idle_timeout(s));
	conn_set_line_deadline(conn, srv->cfg.command_deadline);
	log_info(s->base.id, "imap_start", " peer=%s tls=%s",
		 log_qs(conn_peer(conn)), implicit_tls ? "yes" : "no");
	/* RFC 9051 §7.1: the greeting may carry the capabilities. */
	buf_init(&caps, 1024);
	imap_cmds_capability(s, &caps);
	imap_untagged(s, "OK [CAPABILITY %.*s] Postel IMAP ready",
		      (int)caps.len, (const char *)caps.data);
	buf_fini(&caps);
}

static void
imap_session_free(struct session *base)
{
	struct imap_session *s = (struct imap_session *)base;

	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	imap_view_close(s);
	imap_notify_free(s);
	buf_fini(&s->in);
	buf_fini(&s->tagged);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

static void
imap_session_errors_cb(struct session *base)
{
	imap_untagged((struct imap_session *)base,
		      "BYE Too many errors, closing connection");
}

static void
imap_session_close_cb(struct session *base, const char *reason)
{
	struct imap_session *s = (struct imap_session *)base;

	session_log_end(&s->base, reason, "%s", "");
	if (s->delay_ev != NULL)
		event_del(s->delay_ev);
	/* No more notifications for a gone client. */
	imap_view_close(s);
	if (s->drain_job != NULL) {
		struct imap_job *j = s->drain_job;

		s->drain_job = NULL;
		if (j->free != NULL)
			j->free(j);
		else
			free(j);
		session_unref(&s->base); /* the parked job's reference */
	}
}

static void
imap_session_read_cb(struct session *base)
{
	imap_session_process((struct imap_session *)base);
}

/* Output fell below half the high-water mark: a parked FETCH batch may
 * go on. */
static void
imap_session_drain_cb(struct session *base)
{
	struct imap_session *s = (struct imap_session *)base;
	struct imap_job *j = s->drain_job;

	if (j == NULL || s->base.conn == NULL)
		return;
	s->drain_job = NULL;
	log_debug(s->base.id, "drain", " pending=%zu",
		  conn_output_pending(s->base.conn));
	if (j->resume != NULL)
		j->resume(j);
	else
		imap_job_read(s, j);
	session_unref(&s->base); /* the parked job's reference */
}

static void
imap_session_timeout_cb(struct session *base)
{
	struct imap_session *s = (struct imap_session *)base;

	imap_untagged(s, "BYE Autologout; idle for too long");
}

/* RFC 9051 §7.1.5: BYE before the close; UNAVAILABLE (RFC 5530 §3) tells
 * the client the server itself is going away. */
static void
imap_session_bye_cb(struct session *base, enum session_bye why)
{
	struct imap_session *s = (struct imap_session *)base;

	if (why == SESSION_BYE_SHUTDOWN)
		imap_untagged(s, "BYE [UNAVAILABLE] Server shutting down");
	else
		imap_untagged(s, "BYE Session ended by the administrator");
}

void
imap_session_kick(struct imap_session *s)
{
	if (s->base.conn == NULL || s->base.closing || s->in_process)
		return;
	conn_resume(s->base.conn);
	imap_session_process(s);
}

/* ---- reading a command -------------------------------------------- */

/* The tag of a command still being read, for an early BAD. */
static void
imap_session_peek_tag(struct imap_session *s)
{
	const char *p = (const char *)s->in.data;
	size_t n = 0;

	while (n < s->in.len && n < IMAP_TAG_MAX && p[n] > ' ' &&
	       p[n] < 0x7f && p[n] != '{' && p[n] != '(' && p[n] != '"')
		n++;
	if (n == 0 || n >= s->in.len || p[n] != ' ') {
		str_lcpy(s->tag, "*", sizeof(s->tag));
		return;
	}
	memcpy(s->tag, p, n);
	s->tag[n] = '\0';
}

/* APPEND literals may be as large as a message (RFC 7889 APPENDLIMIT);
 * every other literal has LIMIT_IMAP_LITERAL. */
static bool
imap_session_is_append(const struct imap_session *s)
{
	const char *p = (const char *)s->in.data;
	size_t i = 0, len = s->in.len;

	while (i < len && p[i] != ' ')
		i++;
	i++;
	if (i + 7 <= len && str_ieq(p + i, 6, "APPEND") && p[i + 6] == ' ')
		return true;
	return false;
}

/* Before authentication a command is small (LOGIN, AUTHENTICATE): the
 * pre-authentication limits, see LIMIT_IMAP_PREAUTH_LITERAL. */
static bool
imap_session_preauth(const struct imap_session *s)
{
	return (s->state & IMAP_STATE_NOAUTH) != 0;
}

static size_t
imap_session_line_max(const struct imap_session *s)
{
	return imap_session_preauth(s) ? LIMIT_IMAP_PREAUTH_COMMAND
				       : LIMIT_IMAP_LINE;
}

/* Forgets the command read; an allocation grown for a large literal (an
 * APPEND) is given back rather than kept for the life of the connection,
 * so 10,000 idle sessions do not each hold their largest command. */
static void
imap_session_reset_input(struct imap_session *s)
{
	if (s->in.cap > LIMIT_IMAP_BUF_KEEP)
		buf_fini(&s->in);
	buf_reset(&s->in);
	s->in.max = LIMIT_IMAP_COMMAND;
	s->lit_left = 0;
}

/* Refuses a command while reading it: BAD with the tag when known. A
 * non-synchronising literal already on its way cannot be skipped safely,
 * so that one ends the connection (RFC 7888 §4). */
static void
imap_session_refuse(struct imap_session *s, const char *code,
		    const char *text, bool fatal)
{
	imap_session_peek_tag(s);
	imap_session_reset_input(s);
	s->in_cmd = true;
	s->cmd_flags = 0;
	imap_finish(s, "BAD", code, "%s", text);
	if (fatal) {
		imap_untagged(s, "BYE %s", text);
		session_close(&s->base, "toobig");
		/* What came of the literal is never read: give it back now,
		 * not when the last reply has been flushed. */
		if (s->base.conn != NULL)
			evbuffer_drain(conn_input(s->base.conn),
				       evbuffer_get_length(
					       conn_input(s->base.conn)));
		return;
	}
	session_error(&s->base);
}

/* Handles a literal announcement at the end of the line just read. 0 ok
 * (reading the literal next), -1 refused. */
static int
imap_session_literal(struct imap_session *s, uint64_t size, bool nonsync)
{
	bool preauth = imap_session_preauth(s);
	bool append = !preauth && imap_session_is_append(s);
	uint64_t max = preauth	? LIMIT_IMAP_PREAUTH_LITERAL
		       : append ? s->base.srv->cfg.max_message_size
				: LIMIT_IMAP_LITERAL;
	uint64_t total = preauth ? LIMIT_IMAP_PREAUTH_COMMAND
				 : LIMIT_IMAP_COMMAND + (append ? max : 0);

	if (size > max || s->in.len + size + 2 > total) {
		log_warn(s->base.id, "literal_too_big",
			 " size=%llu max=%llu preauth=%s",
			 (unsigned long long)size, (unsigned long long)max,
			 preauth ? "yes" : "no");
		/* RFC 7888 §4: a refused non-synchronising literal is on its
		 * way already; it cannot be skipped without reading it, so
		 * the connection ends (imap_session_refuse, fatal). */
		imap_session_refuse(s, "TOOBIG", "Literal too large", nonsync);
		return -1;
	}
	s->in.max = (size_t)total;
	/* Grow once for the whole literal: the size was just checked. */
	if (buf_reserve(&s->in, (size_t)size) < 0) {
		imap_session_refuse(s, NULL, "Out of memory", nonsync);
		return -1;
	}
	s->lit_left = size;
	s->lit_nonsync = nonsync;
	if (!nonsync)
		imap_continue(s, "Ready for literal data");
	return 0;
}

/* Reads literal octets; true when the literal is complete. */
static bool
imap_session_read_literal(struct imap_session *s)
{
	struct evbuffer *in = conn_input(s->base.conn);
	size_t have = evbuffer_get_length(in);
	size_t take = have < s->lit_left ? have : (size_t)s->lit_left;

	if (take > 0) {
		evbuffer_remove(in, s->in.data + s->in.len, take);
		s->in.len += take;
		s->lit_left -= take;
	}
	return s->lit_left == 0;
}

/* An overlong line (session_read_line), refused once: "Line too long"
 * while its end has not come, "Command too long" when it has. */
static void
imap_session_too_long_cb(struct session *base, bool line_end)
{
	imap_session_refuse((struct imap_session *)base, NULL,
			    line_end ? "Command too long" : "Line too long",
			    false);
}

/* One line into s->in. 1 got it, 0 need more, -1 refused (answered). */
static int
imap_session_read_line(struct imap_session *s, size_t *start_r,
		       size_t *len_r)
{
	size_t len = 0;
	int r;

	/* The state may have changed since the last command (LOGIN is
	 * answered asynchronously): the limit is taken when one starts. */
	if (s->in.len == 0)
		s->in.max = imap_session_preauth(s)
				    ? LIMIT_IMAP_PREAUTH_COMMAND
				    : LIMIT_IMAP_COMMAND;
	r = session_read_line(&s->base, imap_session_line_max(s), &len);
	if (r <= 0)
		return r;
	if (buf_reserve(&s->in, len + 2) < 0) {
		session_take_line(&s->base, NULL, len);
		imap_session_refuse(s, NULL, "Command too long", false);
		return -1;
	}
	*start_r = s->in.len;
	session_take_line(&s->base, s->in.data + s->in.len, len);
	s->in.len += len;
	*len_r = len;
	memcpy(s->in.data + s->in.len, "\r\n", 2);
	s->in.len += 2;
	return 1;
}

static void
imap_session_command(struct imap_session *s)
{
	struct imap_cmd cmd;
	const char *err = NULL;

	memset(&cmd, 0, sizeof(cmd));
	if (imap_parse_command((const char *)s->in.data, s->in.len, &cmd,
			       &err) < 0) {
		str_lcpy(s->tag, cmd.tag[0] != '\0' ? cmd.tag : "*",
			 sizeof(s->tag));
		imap_cmd_free(&cmd);
		imap_session_reset_input(s);
		log_debug(s->base.id, "cmd", " error=%s",
			  log_qs(err != NULL ? err : "syntax"));
		s->in_cmd = true;
		s->cmd_flags = 0;
		imap_finish(s, "BAD", NULL, "%s",
			    err != NULL ? err : "Syntax error");
		session_error(&s->base);
		return;
	}
	imap_cmds_dispatch(s, &cmd);
	imap_cmd_free(&cmd);
	/* Literal octets (a password, a message) are not kept around. */
	if (s->in.len > 0)
		explicit_bzero(s->in.data, s->in.len);
	imap_session_reset_input(s);
}

/* Continues the command being read; true when a complete command or a
 * special line (IDLE DONE, SASL response) was handled. */
static int
imap_session_step(struct imap_session *s)
{
	size_t start = 0, len = 0;
	uint64_t size = 0;
	bool nonsync = false, lit8 = false;
	int r;

	if (s->lit_left > 0) {
		if (!imap_session_read_literal(s))
			return 0;
	}
	r = imap_session_read_line(s, &start, &len);
	if (r <= 0)
		return r;
	if (s->idling || s->sasl_wait) {
		const char *line = (const char *)s->in.data + start;

		if (s->idling)
			imap_idle_line(s, line, len);
		else
			imap_auth_sasl_line(s, line, len);
		explicit_bzero(s->in.data, s->in.len);
		imap_session_reset_input(s);
		return 1;
	}
	r = imap_line_literal((const char *)s->in.data + start, len, &size,
			      &nonsync, &lit8);
	if (r < 0) {
		imap_session_refuse(s, NULL, "Malformed literal", false);
		return 1;
	}
	if (r == 1)
		(void)imap_session_literal(s, size, nonsync);
	else
		imap_session_command(s);
	return 1;
}

/* After a turn of the input loop: the autologout timer once logged in,
 * and the command deadline while part of a command (its lines and small
 * literals; an APPEND's message literal is bulk data) waits and the
 * command is not running. */
static void
imap_session_timeouts(struct imap_session *s, bool consumed)
{
	/* A NOTIFY pass holds the next command like a running one. */
	bool running = (s->in_cmd && !s->idling && !s->sasl_wait) ||
		       s->notify_busy;
	bool bulk = s->lit_left > 0 && imap_session_is_append(s);

	if (s->base.conn == NULL || s->base.closing)
		return;
	if (!s->timeout_authed && s->state != IMAP_STATE_NOAUTH) {
		s->timeout_authed = true;
		conn_set_timeout(s->base.conn, imap_session_idle_timeout(s));
	}
	conn_line_wait(s->base.conn, !running && !bulk && !s->tls_pending &&
		       (s->in.len > 0 || s->base.discarding ||
			evbuffer_get_length(conn_input(s->base.conn)) > 0),
		       consumed || bulk);
}

static void
imap_session_process(struct imap_session *s)
{
	bool consumed = false;

	/* STARTTLS (RFC 9051 §6.2.1): nothing that came with the command
	 * is a command; wait until the connection runs TLS. */
	if (s->tls_pending && s->base.conn != NULL &&
	    !conn_is_tls(s->base.conn))
		return;
	s->tls_pending = false;
	if (s->in_process)
		return;
	s->in_process = true;
	session_ref(&s->base);
	while (s->base.conn != NULL && !s->base.closing && !s->tls_pending) {
		int r;

		/* A command running finishes first; IDLE and a SASL
		 * exchange are waits for the client, not work. */
		if ((!s->in_cmd || s->idling || s->sasl_wait) &&
		    session_bye_due(&s->base))
			break;
		/* A NOTIFY pass between commands holds the next one. */
		if ((s->in_cmd && !s->idling && !s->sasl_wait) ||
		    (s->notify_busy && !s->in_cmd)) {
			conn_pause(s->base.conn);
			break;
		}
		r = imap_session_step(s);
		if (r == 0)
			break;
		if (s->in.len == 0)
			consumed = true;
	}
	imap_session_timeouts(s, consumed);
	s->in_process = false;
	session_unref(&s->base);
}

/* ---- jobs ---------------------------------------------------------- */


static void
imap_job_end(struct imap_job *j)
{
	struct imap_session *s = j->s;

	if (s->base.conn != NULL && j->done != NULL)
		j->done(j);
	if (j->requeue && s->base.conn != NULL) {
		/* The next step of the same command (FETCH batches). */
		j->requeue = false;
		if (j->requeue_drain && s->drain_job == NULL &&
		    conn_output_pending(s->base.conn) >
			    LIMIT_OUTPUT_HIGH_WATER) {
			/* Parked, keeping its session reference, until
			 * imap_session_drain_cb. */
			j->requeue_drain = false;
			s->drain_job = j;
			return;
		}
		j->requeue_drain = false;
		if (j->requeue_commit) {
			j->requeue_commit = false;
			imap_job_commit(s, j);
		} else {
			imap_job_read(s, j);
		}
		session_unref(&s->base);
		return;
	}
	if (j->free != NULL)
		j->free(j);
	else
		free(j);
	session_unref(&s->base);
}

static void
imap_job_read_work(void *arg)
{
	struct imap_job *j = arg;
	struct store *st = store_thread_handle(&j->s->base.srv->cfg);
	const char *err = NULL;

	if (st == NULL) {
		j->result = -1;
		str_lcpy(j->err, "store unavailable", sizeof(j->err));
		return;
	}
	/* One snapshot per step: FETCH 1:20 reads its 21 rows with one look
	 * at the WAL instead of 21 (and a consistent answer). */
	if (store_read_begin(st, &err) < 0) {
		j->result = -1;
		str_lcpy(j->err, err != NULL ? err : "store error",
			 sizeof(j->err));
		return;
	}
	j->result = j->work(j, st);
	store_read_end(st);
}

static void
imap_job_read_done(void *arg)
{
	imap_job_end(arg);
}

void
imap_job_read(struct imap_session *s, struct imap_job *j)
{
	j->s = s;
	session_ref(&s->base);
	workers_submit(s->base.srv->workers, imap_job_read_work,
		       imap_job_read_done, j);
}

static void
imap_job_io_work(void *arg)
{
	struct imap_job *j = arg;

	j->result = j->work(j, NULL);
}

void
imap_job_io(struct imap_session *s, struct imap_job *j)
{
	j->s = s;
	session_ref(&s->base);
	workers_submit(s->base.srv->io_workers, imap_job_io_work,
		       imap_job_read_done, j);
}

static int
imap_job_commit_apply(struct store *st, void *arg, const char **err_r)
{
	struct imap_job *j = arg;
	int r = j->work(j, st);

	if (r < 0)
		*err_r = j->err[0] != '\0' ? j->err : "store error";
	return r;
}

static void
imap_job_commit_after(void *arg, bool ok)
{
	struct imap_job *j = arg;

	if (j->after != NULL)
		j->after(j, ok);
}

static void
imap_job_commit_done(void *arg, int result)
{
	struct imap_job *j = arg;

	j->result = result;
	server_busy_end(j->s->base.srv);
	imap_job_end(j);
}

void
imap_job_commit(struct imap_session *s, struct imap_job *j)
{
	struct commit_job cj;

	memset(&cj, 0, sizeof(cj));
	j->s = s;
	cj.apply = imap_job_commit_apply;
	cj.done = imap_job_commit_done;
	cj.after = imap_job_commit_after;
	cj.orphans = &j->orphans;
	cj.arg = j;
	str_lcpy(cj.sync_blob, j->sync_blob, sizeof(cj.sync_blob));
	session_ref(&s->base);
	/* SIGTERM waits for acknowledged writes in flight. */
	server_busy_begin(s->base.srv);
	commit_submit(s->base.srv->commit, &cj);
}
