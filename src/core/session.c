/*
 * The session base: lifecycle and line reading shared by the protocols
 * (session.h).
 */
#include "session.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include <event2/buffer.h>

#include "../util/str.h"
#include "conn.h"
#include "log.h"
#include "runtime_int.h"

static void
session_live_remove(struct session *s)
{
	struct runtime_reg *r = s->srv != NULL ? s->srv->reg : NULL;

	if (r == NULL)
		return;
	if (s->live_prev != NULL)
		s->live_prev->live_next = s->live_next;
	else if (r->sessions == s)
		r->sessions = s->live_next;
	else
		return; /* not on the list */
	if (s->live_next != NULL)
		s->live_next->live_prev = s->live_prev;
	s->live_prev = s->live_next = NULL;
	r->n_sessions--;
}

static void
session_read_cb(void *ctx)
{
	struct session *s = ctx;

	s->ops->on_read(s);
}

static void
session_close_cb(void *ctx, const char *reason)
{
	struct session *s = ctx;
	struct session_end end = { .tls = session_is_tls(s) };

	end.proto = conn_proto(s->conn);
	str_lcpy(end.ip, conn_peer(s->conn), sizeof(end.ip));
	session_live_remove(s);
	conn_free(&s->conn);
	s->closing = true;
	s->end = &end;
	s->ops->on_close(s, reason);
	s->end = NULL;
	session_unref(s);
}

static void
session_drain_cb(void *ctx)
{
	struct session *s = ctx;

	if (s->ops->on_drain != NULL)
		s->ops->on_drain(s);
}

static void
session_timeout_cb(void *ctx)
{
	struct session *s = ctx;

	s->ops->timeout_reply(s);
	session_close(s, "timeout");
}

static const struct conn_handler session_conn_handler = {
	.on_read = session_read_cb,
	.on_close = session_close_cb,
	.on_drain = session_drain_cb,
	.on_timeout = session_timeout_cb,
};

void
session_init(struct session *s, const struct session_ops *ops,
	     struct server *srv, struct conn *conn, bool implicit_tls)
{
	s->ops = ops;
	s->srv = srv;
	s->conn = conn;
	str_lcpy(s->id, conn_id(conn), sizeof(s->id));
	s->refs = 1;
	s->implicit_tls = implicit_tls;
	s->since = time(NULL);
	s->account_id = -1;
	/* Tests drive a session without a server. */
	if (srv != NULL && srv->reg != NULL) {
		s->live_next = srv->reg->sessions;
		if (s->live_next != NULL)
			s->live_next->live_prev = s;
		srv->reg->sessions = s;
		srv->reg->n_sessions++;
	}
	conn_set_handler(conn, &session_conn_handler, s);
}

void
session_log_end(const struct session *s, const char *reason,
		const char *fmt, ...)
{
	char extra[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	log_info(s->id, "session", " proto=%s ip=%s reason=%s secs=%lld tls=%s"
		 " user=%s%s", s->end != NULL ? s->end->proto : "?",
		 s->end != NULL ? s->end->ip : "?",
		 s->end_reason != NULL ? s->end_reason : reason,
		 (long long)(time(NULL) - s->since),
		 s->end != NULL && s->end->tls ? "yes" : "no",
		 log_qs(s->user != NULL ? s->user : ""), extra);
}

void
session_set_user(struct session *s, int64_t account_id, const char *user)
{
	s->account_id = account_id;
	s->user = user;
	s->login_at = time(NULL);
}

void
session_bye(struct session *s, enum session_bye why)
{
	if (s->closing || s->conn == NULL || s->bye != SESSION_BYE_NONE)
		return;
	s->bye = why;
	/* The protocol's input loop calls session_bye_due at its next
	 * command boundary: now when it waits for a command. No reference
	 * is taken here: SMTP reads "a job runs" from the count (a close is
	 * only scheduled, so s outlives the call). */
	s->ops->on_read(s);
}

bool
session_bye_due(struct session *s)
{
	if (s->bye == SESSION_BYE_NONE || s->conn == NULL)
		return false;
	if (!s->closing) {
		if (s->ops->bye_reply != NULL)
			s->ops->bye_reply(s, s->bye);
		session_close(s, s->bye == SESSION_BYE_KICK ? "kick"
							    : "shutdown");
	}
	return true;
}

struct session *
session_live_first(struct server *srv)
{
	return srv->reg->sessions;
}

unsigned
session_live_count(const struct server *srv)
{
	return srv->reg->n_sessions;
}

unsigned
session_bye_all(struct server *srv, enum session_bye why, const char *user)
{
	struct session *s = srv->reg->sessions;
	unsigned n = 0;

	/* A bye only schedules the close (the list changes on a later loop
	 * turn), but step first anyway. */
	while (s != NULL) {
		struct session *next = s->live_next;

		if (user == NULL ||
		    (s->user != NULL && strcasecmp(s->user, user) == 0)) {
			session_bye(s, why);
			n++;
		}
		s = next;
	}
	return n;
}

void
session_ref(struct session *s)
{
	s->refs++;
}

bool
session_unref(struct session *s)
{
	if (--s->refs > 0)
		return false;
	s->ops->free(s);
	return true;
}

bool
session_is_tls(const struct session *s)
{
	return s->conn != NULL && (s->implicit_tls || conn_is_tls(s->conn));
}

void
session_close(struct session *s, const char *reason)
{
	if (s->closing || s->conn == NULL)
		return;
	s->closing = true;
	s->end_reason = reason;
	conn_close_after_flush(s->conn);
}

bool
session_error(struct session *s)
{
	if (++s->errors < s->ops->max_errors)
		return false;
	s->ops->too_many_errors(s);
	session_close(s, "errors");
	return true;
}

/* Keeps the first octets of the overlong line at the front of the input
 * for ops->line_too_long, before they are dropped. */
static void
session_keep_head(struct session *s, struct evbuffer *in)
{
	ev_ssize_t n = evbuffer_copyout(in, s->line_head,
					sizeof(s->line_head));

	s->line_head_len = n > 0 ? (size_t)n : 0;
}

int
session_read_line(struct session *s, size_t max, size_t *len_r)
{
	struct evbuffer *in = conn_input(s->conn);
	size_t eol_len = 0, counted;
	struct evbuffer_ptr eol =
		evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);

	if (eol.pos < 0) {
		size_t have = evbuffer_get_length(in);

		if (have <= max)
			return 0;
		/* Refuse once and skip everything up to the next LF. */
		if (!s->discarding)
			session_keep_head(s, in);
		evbuffer_drain(in, have);
		if (!s->discarding) {
			s->discarding = true;
			s->ops->line_too_long(s, false);
		}
		return -1;
	}
	counted = (size_t)eol.pos;
	if (s->ops->max_counts_cr)
		counted += eol_len - 1;
	if (s->discarding || counted > max) {
		bool answered = s->discarding;

		if (!answered)
			session_keep_head(s, in);
		evbuffer_drain(in, (size_t)eol.pos + eol_len);
		s->discarding = false;
		if (!answered)
			s->ops->line_too_long(s, true);
		return -1;
	}
	s->eol_len = eol_len;
	*len_r = (size_t)eol.pos;
	return 1;
}

void
session_take_line(struct session *s, void *dst, size_t len)
{
	struct evbuffer *in = conn_input(s->conn);

	if (dst != NULL)
		evbuffer_remove(in, dst, len);
	else
		evbuffer_drain(in, len);
	evbuffer_drain(in, s->eol_len);
	s->eol_len = 0;
}

int
session_starttls(struct session *s)
{
	if (conn_starttls(s->conn) < 0) {
		log_warn(s->id, "starttls", " result=fail");
		session_close(s, "tls");
		return -1;
	}
	log_info(s->id, "starttls", " result=ok");
	return 0;
}
