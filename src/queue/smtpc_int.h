/*
 * Internals of the SMTP client shared by smtpc.c (connection, reading
 * replies, failures, free), smtpc_setup.c (greeting, EHLO, STARTTLS,
 * AUTH) and smtpc_tx.c (one transaction: MAIL, RCPT, DATA, the
 * message). Not for use outside src/queue/smtpc*.c.
 *
 * States: CONNECTING -> GREETING -> EHLO [-> HELO] [-> STARTTLS ->
 * HANDSHAKE -> EHLO] [-> AUTH (-> AUTH_USER -> AUTH_PASS)] -> READY;
 * per transaction READY [-> RSET] -> MAIL -> RCPT... -> DATA -> BODY ->
 * DATA_END -> READY (DISCARD: a 354 nobody needs, RFC 2920 §3.1); DEAD
 * once the connection failed.
 */
#ifndef POSTEL_SMTPC_INT_H
#define POSTEL_SMTPC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "smtpc.h"
#include "smtpc_reply.h"

struct bufferevent;
struct event;

enum smtpc_state {
	SMTPC_CONNECTING = 0,
	SMTPC_GREETING,
	SMTPC_EHLO,
	SMTPC_HELO,
	SMTPC_STARTTLS,
	SMTPC_HANDSHAKE,
	SMTPC_AUTH,
	SMTPC_AUTH_USER,
	SMTPC_AUTH_PASS,
	SMTPC_READY,
	SMTPC_RSET,
	SMTPC_MAIL,
	SMTPC_RCPT,
	SMTPC_DATA,
	SMTPC_BODY,
	SMTPC_DATA_END,
	SMTPC_DISCARD,
	SMTPC_DEAD,
};

/* AUTH mechanisms we can use (RFC 4954 §3, RFC 4616). */
enum smtpc_auth_mech {
	SMTPC_AUTH_PLAIN = 1 << 0,
	SMTPC_AUTH_LOGIN = 1 << 1,
};

/* The message body in bytes per loop turn (reading the local file is a
 * blocking read from the page cache, bounded by this). */
#define SMTPC_BODY_CHUNK (64 * 1024)
/* Output queued before we wait for the socket to drain. */
#define SMTPC_OUT_HIGH (256 * 1024)

struct smtpc {
	struct server *srv;
	struct smtpc_target t;
	char *auth_user, *auth_pass;  /* copies, wiped at free */
	struct bufferevent *bev;
	struct event *timer;          /* connect / reply / transfer */
	struct event *defer_ev;       /* callbacks never run inside a call */
	enum smtpc_state state;
	smtpc_cb cb;
	void *cb_arg;
	bool cb_ok;                   /* for a deferred callback */
	unsigned busy;                /* inside one of our event callbacks */
	bool free_pending;            /* smtpc_free came while busy */
	bool need_rset;               /* the last transaction ended early */
	bool verified;
	bool tls;
	struct tls_dane *dane;        /* c->t.dane's copy, or NULL */
	enum tls_result tls_result;
	char tls_why[128];
	unsigned ext;
	unsigned auth_mechs;
	uint64_t max_size;
	unsigned count;
	struct smtpc_reply err;
	struct smtpc_reply_state rs;
	struct smtpc_reply cur;       /* the reply being read */
	char id[17];                  /* log sess= */
	char ip[64];
	char peer[320];               /* host[ip]:port */
	char tls_info[96];
	/* The transaction in progress. */
	struct smtpc_msg *m;
	size_t rcpt_next;             /* RCPT replies read so far */
	size_t n_accepted;
	bool mail_ok;
	struct buf conv;              /* 7-bit version of an 8-bit message */
	bool use_conv;
	uint64_t body_off;
	uint64_t body_len;
	int body_col;                 /* 0: at a line start; 1 after CR */
	bool body_cr;
};

/* smtpc.c */
/* Queues a command line (CRLF added); what is logged masks AUTH data. */
void smtpc_cmd(struct smtpc *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* (Re)arms the timer for one reply or one step of the transfer. */
void smtpc_arm(struct smtpc *c, int seconds);
/* The connection failed: r is why (made up or real). Results set for the
 * transaction in progress, the callback called (ok false). */
void smtpc_fail(struct smtpc *c, const struct smtpc_reply *r);
/* Calls the current callback from the loop, never from inside the call
 * that asked for it (smtpc_send). */
void smtpc_defer(struct smtpc *c, bool ok);
/* Calls the current callback now (we are in a loop callback). */
void smtpc_call(struct smtpc *c, bool ok);
size_t smtpc_out_pending(struct smtpc *c);
/* Our callbacks and watermarks on c->bev (new, or after STARTTLS). */
void smtpc_bev_setup(struct smtpc *c);

/* smtpc_setup.c */
/* A whole reply in a session-setup state (GREETING to AUTH_PASS). */
void smtpc_setup_reply(struct smtpc *c);
/* One EHLO keyword line (after the first line of a 250 to EHLO). */
void smtpc_ehlo_line(struct smtpc *c, const char *t, size_t n);
/* The TLS handshake completed: check, log, EHLO again. */
void smtpc_tls_done(struct smtpc *c);

/* smtpc_tx.c */
/* A reply while in a transaction state. */
void smtpc_tx_reply(struct smtpc *c);
/* The socket drained: send more of the message. */
void smtpc_tx_body(struct smtpc *c);
/* The transaction in progress failed with r: results for every
 * recipient still open. */
void smtpc_tx_fail(struct smtpc *c, const struct smtpc_reply *r);
/* Starts the transaction c->m on a ready connection. */
void smtpc_tx_start(struct smtpc *c);

#endif
