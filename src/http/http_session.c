/*
 * HTTP session: reads requests one at a time (pipelined ones wait in the
 * input buffer and are answered in order, RFC 9112 §9.3.2), hands each to
 * the route table, writes the one response, keeps the connection for at
 * most LIMIT_HTTP_REQUESTS_PER_CONN requests.
 *
 * Deadlines: http_timeout idle between requests (conn_set_timeout), and
 * http_request_deadline from a request's first byte to its last body
 * octet (the connection's line deadline, conn_line_wait), so a client
 * dribbling bytes cannot hold a slot (408, then close).
 */
#include "http_session.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "http_int.h"

static void http_session_read_cb(struct session *base);
static void http_session_close_cb(struct session *base, const char *reason);
static void http_session_timeout_cb(struct session *base);
static void http_session_errors_cb(struct session *base);
static void http_session_too_long_cb(struct session *base, bool line_end);
static void http_session_free(struct session *base);
static void http_session_process(struct http_session *s);

static const struct session_ops http_session_ops = {
	.on_read = http_session_read_cb,
	.on_close = http_session_close_cb,
	.timeout_reply = http_session_timeout_cb,
	.too_many_errors = http_session_errors_cb,
	.line_too_long = http_session_too_long_cb,
	.free = http_session_free,
	.max_errors = 1,
};

void
http_session_start(struct server *srv, struct conn *conn, bool implicit_tls)
{
	struct http_session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		log_error(conn_id(conn), "http_start", " error=nomem");
		conn_free(&conn);
		return;
	}
	session_init(&s->base, &http_session_ops, srv, conn, implicit_tls);
	conn_set_timeout(conn, srv->cfg.http_timeout);
	conn_set_line_deadline(conn, srv->cfg.http_request_deadline);
	log_debug(s->base.id, "http_start", " peer=%s tls=%s",
		  log_qs(conn_peer(conn)), implicit_tls ? "yes" : "no");
}

static void
http_session_free(struct session *base)
{
	struct http_session *s = (struct http_session *)base;

	explicit_bzero(s->new_password, sizeof(s->new_password));
	free(s->req_buf);
	free(s);
}

static void
http_session_close_cb(struct session *base, const char *reason)
{
	struct http_session *s = (struct http_session *)base;

	log_debug(s->base.id, "close", " reason=%s requests=%u",
		  s->base.end_reason != NULL ? s->base.end_reason : reason,
		  s->n_requests);
}

static void
http_session_read_cb(struct session *base)
{
	http_session_process((struct http_session *)base);
}

/* RFC 9110 §15.5.9: 408 when a request was begun and not finished; an
 * idle kept-alive connection is just closed (RFC 9112 §9.5). */
static void
http_session_timeout_cb(struct session *base)
{
	struct http_session *s = (struct http_session *)base;

	if (s->base.conn != NULL && !s->busy &&
	    evbuffer_get_length(conn_input(s->base.conn)) > 0) {
		s->keep_alive = false;
		s->req.method = HTTP_METHOD_GET;
		s->req.path = NULL;
		http_respond_status(s, 408);
	}
}

/* Not reached: requests are not read with session_read_line, and every
 * refusal closes the connection itself. */
static void
http_session_errors_cb(struct session *base)
{
}

static void
http_session_too_long_cb(struct session *base, bool line_end)
{
}

static const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

void
http_respond(struct http_session *s, int status, const char *ctype,
	     const void *body, size_t body_len, const char *extra)
{
	struct conn *c = s->base.conn;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);

	if (c == NULL || s->base.closing)
		return;
	gmtime_r(&now, &tm);
	/* RFC 9110 §5.6.7: IMF-fixdate. */
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	conn_printf(c, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: postel\r\n"
		    "Content-Length: %zu\r\n%s%s%s%s%s", status,
		    http_reason(status), date, body_len,
		    ctype != NULL ? "Content-Type: " : "",
		    ctype != NULL ? ctype : "", ctype != NULL ? "\r\n" : "",
		    extra != NULL ? extra : "",
		    s->keep_alive ? "" : "Connection: close\r\n");
	conn_write(c, "\r\n", 2);
	if (s->req.method != HTTP_METHOD_HEAD && body_len > 0)
		conn_write(c, body, body_len);
	metrics_inc(METRICS_HTTP_REQUESTS);
	log_info(s->base.id, "http", " ip=%s method=%s path=%s status=%d "
		 "size=%zu", log_qs(conn_peer(c)),
		 s->req.method == HTTP_METHOD_GET    ? "GET"
		 : s->req.method == HTTP_METHOD_HEAD ? "HEAD"
		 : s->req.method == HTTP_METHOD_POST ? "POST" : "-",
		 s->req.path != NULL ? log_q(s->req.path, s->req.path_len) : "-",
		 status, body_len);
	/* A request with a large body is answered: its buffer goes, so
	 * kept-alive connections hold no more than a head's worth. */
	if (s->req_cap > LIMIT_HTTP_HEAD) {
		memset(&s->req, 0, sizeof(s->req));
		free(s->req_buf);
		s->req_buf = NULL;
		s->req_cap = 0;
	}
	if (!s->keep_alive)
		session_close(&s->base, "http_close");
}

void
http_respond_status(struct http_session *s, int status)
{
	char body[80];
	int n = snprintf(body, sizeof(body), "%d %s\r\n", status,
			 http_reason(status));

	http_respond(s, status, "text/plain; charset=utf-8", body, (size_t)n,
		     status == 405 ? "Allow: GET, HEAD, POST\r\n" : NULL);
}

struct http_job {
	struct http_session *s;
	void (*work)(void *);
};

static void
http_job_work(void *arg)
{
	struct http_job *j = arg;

	j->work(j->s);
}

void
http_session_hold(struct http_session *s)
{
	s->busy = true;
	conn_pause(s->base.conn);
	session_ref(&s->base);
}

void
http_session_continue(struct http_session *s, http_next_cb next)
{
	s->busy = false;
	if (s->base.conn != NULL && !s->base.closing) {
		next(s);
		/* next may have started more work (busy again). */
		if (s->base.conn != NULL && !s->base.closing && !s->busy) {
			conn_resume(s->base.conn);
			http_session_process(s);
		}
	}
	session_unref(&s->base);
}

static void
http_job_done(void *arg)
{
	struct http_job *j = arg;
	struct http_session *s = j->s;

	free(j);
	http_session_continue(s, s->job_next);
}

void
http_session_job(struct http_session *s, void (*job)(void *),
		 http_next_cb next)
{
	struct http_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		http_respond_status(s, 503);
		return;
	}
	j->s = s;
	j->work = job;
	s->job_next = next;
	http_session_hold(s);
	workers_submit(s->base.srv->workers, http_job_work, http_job_done, j);
}

/* Copies the complete request (head_len + body octets) out of the input
 * into s->req_buf and parses it again there, so the request's pointers
 * stay valid while a job runs and the input moves on. 0 or -1. */
static int
http_session_take(struct http_session *s, struct evbuffer *in, size_t total)
{
	int status;

	if (total + 1 > s->req_cap) {
		char *p = realloc(s->req_buf, total + 1);

		if (p == NULL)
			return -1;
		s->req_buf = p;
		s->req_cap = total + 1;
	}
	evbuffer_remove(in, s->req_buf, total);
	s->req_buf[total] = '\0';
	return http_parse_head(s->req_buf, total, &s->req, &status) == 1
		       ? 0 : -1;
}

/* One request from the input. 1 one was answered (or started), 0 wait
 * for more, -1 refused (the connection closes). */
static int
http_session_one(struct http_session *s, struct evbuffer *in)
{
	size_t have = evbuffer_get_length(in);
	size_t look = have < LIMIT_HTTP_HEAD + 1 ? have : LIMIT_HTTP_HEAD + 1;
	const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
	struct http_request req;
	int status = 0;
	int r = p != NULL ? http_parse_head(p, look, &req, &status) : 0;

	if (r < 0) {
		log_info(s->base.id, "http_refuse", " ip=%s status=%d",
			 log_qs(conn_peer(s->base.conn)), status);
		s->keep_alive = false;
		memset(&s->req, 0, sizeof(s->req));
		http_respond_status(s, status);
		return -1;
	}
	if (r == 0)
		return 0;
	if (have < req.head_len + req.content_length) {
		/* RFC 9110 §10.1.1: a client that asked waits for this before
		 * it sends the body (curl: a second, otherwise). */
		if (req.expect_continue && !s->continued &&
		    req.version_minor >= 1) {
			conn_printf(s->base.conn, "HTTP/1.1 100 Continue\r\n\r\n");
			s->continued = true;
		}
		return 0;
	}
	s->continued = false;
	if (http_session_take(s, in, req.head_len +
				     (size_t)req.content_length) < 0) {
		s->keep_alive = false;
		http_respond_status(s, 503);
		return -1;
	}
	s->n_requests++;
	/* RFC 9112 §9.6: the last request we take says so in its answer. */
	s->keep_alive = s->req.keep_alive && !s->base.srv->draining &&
			s->n_requests < LIMIT_HTTP_REQUESTS_PER_CONN;
	http_routes_dispatch(s);
	return 1;
}

static void
http_session_process(struct http_session *s)
{
	bool consumed = false;

	session_ref(&s->base);
	while (s->base.conn != NULL && !s->busy && !s->base.closing) {
		struct evbuffer *in = conn_input(s->base.conn);
		int r;

		if (evbuffer_get_length(in) == 0)
			break;
		r = http_session_one(s, in);
		if (r <= 0)
			break;
		consumed = true;
	}
	if (s->base.conn != NULL && !s->base.closing)
		conn_line_wait(s->base.conn, !s->busy &&
			       evbuffer_get_length(conn_input(s->base.conn)) > 0,
			       consumed);
	session_unref(&s->base);
}
