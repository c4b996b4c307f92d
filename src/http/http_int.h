/*
 * HTTP endpoint internals shared by http_session.c (connection, request
 * reading, the one response path), http_routes.c (the path table and
 * handlers) and http_mailconf.c (autoconfig and autodiscover documents).
 */
#ifndef POSTEL_HTTP_INT_H
#define POSTEL_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/limits.h"
#include "../core/session.h"
#include "http_parse.h"

struct evbuffer;
struct server;
struct http_session;

/* The longest new password the endpoint takes (the SASL limit: it must
 * still fit every login). */
#define LIMIT_HTTP_PASSWORD 1024

/* Runs on the loop when a store job of the session has reported (the
 * connection is still there). */
typedef void (*http_next_cb)(struct http_session *s);

struct http_session {
	struct session base;     /* first: srv, conn, id, refs, closing... */
	bool busy;               /* a store job runs: input waits */
	bool keep_alive;         /* the current request's answer keeps it */
	bool continued;          /* 100 Continue sent for the waiting body */
	unsigned n_requests;     /* on this connection */
	char *req_buf;           /* the current request, head and body */
	size_t req_cap;
	struct http_request req; /* points into req_buf */
	/* Worker job: its input and result (job_result written on the
	 * worker, read by the done callback on the loop). */
	char domain[LIMIT_DOMAIN + 1];
	char address[LIMIT_ADDRESS + 1];
	int job_result;
	uint64_t job_counts[5];
	http_next_cb job_next;
	/* POST /account/password (http_account.c): the new password until
	 * it is hashed (wiped then), and the login's outcome. */
	char new_password[LIMIT_HTTP_PASSWORD + 1];
	int auth_result;          /* enum auth_result */
	unsigned auth_failures;
};

/* --- http_session.c --- */
/* The one response path: status line, Date, Content-Type (NULL: none),
 * Content-Length, Connection: close when the connection ends after it
 * (then closes), extra (NULL or whole "Name: value\r\n" lines); no body
 * for HEAD. Logs the request with its status. */
void http_respond(struct http_session *s, int status, const char *ctype,
		  const void *body, size_t body_len, const char *extra);
/* A short text/plain answer "<status> <reason>\r\n". */
void http_respond_status(struct http_session *s, int status);
/* Runs job on the store worker pool (input in s->domain): the session
 * waits (busy) and next runs on the loop afterwards, unless the
 * connection went away meanwhile. */
void http_session_job(struct http_session *s, void (*job)(void *),
		      http_next_cb next);

/* The session waits (busy, input paused, a reference) for work of its
 * own (a login); http_session_continue(s, next) ends the wait on the
 * loop: next runs unless the connection went away, then input resumes
 * and the reference is dropped. */
void http_session_hold(struct http_session *s);
void http_session_continue(struct http_session *s, http_next_cb next);

/* --- http_account.c --- */
/* POST /account/password: a user changes their own password (Basic
 * credentials, new_password in the form body); HTTPS only, and only when
 * user_password_change = yes (404 otherwise). */
void http_account_password(struct http_session *s);

/* --- http_routes.c --- */
/* Answers the parsed request in s->req (404, 405, or the handler). */
void http_routes_dispatch(struct http_session *s);

/* --- http_mailconf.c --- */
/* Thunderbird autoconfig (clientConfig 1.1) for a hosted domain. */
void http_mailconf_autoconfig(struct server *srv, const char *domain,
			      struct evbuffer *out);
/* Outlook autodiscover (POX, the 2006a response schema). */
void http_mailconf_autodiscover(struct server *srv, const char *address,
				struct evbuffer *out);
/* RFC 8461 §3.2 policy text, CRLF lines. */
void http_mailconf_mta_sts(struct server *srv, struct evbuffer *out);
/* The port of the first listener of proto p, or 0 when there is none. */
int http_mailconf_port(const struct server *srv, int p);

#endif
