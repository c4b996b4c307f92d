/*
 * Internals of a client connection shared by conn.c (I/O, TLS,
 * compression, close) and conn_deadline.c (the TLS handshake deadline and
 * the slow-client line deadline and transfer rate). Not for use
 * outside src/core/conn*.c: sessions see only conn.h.
 */
#ifndef POSTEL_CONN_INT_H
#define POSTEL_CONN_INT_H

#include <stdbool.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "conn.h"

struct bufferevent;
struct zpipe;

struct conn {
	struct server *srv;
	struct bufferevent *bev;
	const struct conn_handler *h;
	void *ctx;
	struct event *close_ev;   /* reports a close from a safe point */
	const char *close_reason;
	bool tls;
	bool paused;         /* by the session (async job) */
	bool throttled;      /* by backpressure */
	bool closing;        /* close after flush requested */
	bool dead;           /* on_close was (or is being) reported */
	bool starttls_pending; /* switch to TLS once output is flushed */
	/* The client half-closed: what it sent before still gets answered,
	 * then the connection closes (conn_eof_check). */
	bool eof;
	const char *flush_reason; /* on_close reason after a flushed close */
	struct event *tls_ev;
	struct event *hs_ev;      /* TLS handshake deadline */
	/* COMPRESS=DEFLATE (RFC 4978): the session reads z_in and writes
	 * z_out, plain text; the bufferevent carries the deflated bytes. */
	struct zpipe *z;
	struct evbuffer *z_in, *z_out;
	struct event *z_ev;       /* deflates z_out, inflates more input */
	int timeout;
	/* Slow clients: the idle timeout restarts on every read,
	 * so a line and a DATA transfer also have deadlines of their own. */
	/* Both timers are made on first use: 10,000 idle IMAP clients
	 * need neither. */
	struct event *line_ev;    /* line_deadline after a line's 1st byte */
	int line_deadline;
	bool line_armed;
	struct event *rate_ev;    /* conn_set_min_rate check */
	int rate_min, rate_grace;
	double rate_start;
	unsigned long long rate_base;
	unsigned long long bytes_in; /* read from the socket, ever */
	char peer[64];
	const char *proto;   /* listener's name, static: log lines */
	char id[17];
	char tls_info[96];
	struct conn *prev, *next; /* server's list of live connections */
};

/* conn.c: reports on_close now (once) / from the loop, as a safe point. */
void conn_report_close(struct conn *c, const char *reason);
void conn_schedule_close(struct conn *c, const char *reason);

/* conn_linger.c: called by conn_free before the bufferevent closes the
 * socket; keeps a dup draining the client's input after our close when
 * it has sent bytes we did not read. */
void conn_linger_maybe(struct conn *c);

/* conn_deadline.c */
/* hs_ev's callback: the TLS handshake took too long. */
void conn_hs_ev_cb(evutil_socket_t fd, short what, void *arg);
/* Arms hs_ev for tls_handshake_timeout (0: no deadline). */
void conn_hs_deadline(struct conn *c);
/* Input evbuffer callback counting bytes_in for the transfer rate. */
void conn_count_in_cb(struct evbuffer *buf,
		      const struct evbuffer_cb_info *info, void *arg);
/* Frees the line and rate timers (made on first use). */
void conn_deadline_free(struct conn *c);

#endif
