/*
 * POP3 server session (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034
 * SASL, RFC 3206 response codes): the state machine between the parser and
 * the connection. pop3_session_start() is the only entry point for the
 * listener; the rest is shared by the pop3_*.c files of this module.
 */
#ifndef POSTEL_POP3_SESSION_H
#define POSTEL_POP3_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/limits.h"
#include "../core/session.h"
#include "../store/store.h"
#include "pop3_parse.h"

struct server;
struct conn;
struct event;

/* Called by the listener after conn_new(). Installs the conn handler, sends
 * the greeting; the session frees itself after the conn closes and every
 * pending job has reported back. */
void pop3_session_start(struct server *srv, struct conn *conn,
			bool implicit_tls);

/* --- module internals (pop3_cmds.c, pop3_auth.c, pop3_maildrop.c) --- */

/* RFC 1939 §3: the UPDATE state is entered by QUIT and ends the session, so
 * only the two states that accept commands are listed. Bits of a mask. */
enum pop3_state {
	POP3_STATE_AUTHORIZATION = 1 << 0,
	POP3_STATE_TRANSACTION = 1 << 1,
};

/* The maildrop as listed at login (RFC 1939 §8: fixed for the session). */
struct pop3_maildrop {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	struct store_msg *msgs; /* malloc'ed, UID order; number = index + 1 */
	bool *deleted;          /* marked by DELE, parallel to msgs */
	size_t n;
	/* Filled by the expunge job on the commit thread. */
	char **orphans;
	int64_t *del_ids;
	size_t n_del;
};

struct pop3_retr; /* RETR/TOP in progress (pop3_maildrop.c) */

struct pop3_session {
	struct session base;     /* first: srv, conn, id, refs, closing... */
	enum pop3_state state;
	bool busy;               /* a job or timer runs: input waits */
	bool sasl_wait;          /* "+ " sent, next line is the response */
	bool tls_pending;        /* STLS accepted, handshake not begun */
	bool timeout_authed;     /* idle timeout chosen for TRANSACTION */
	bool locked;             /* holds the mailbox lock of drop.mailbox_id */
	bool in_session_count;   /* server_busy_begin() is in force */
	unsigned auth_failures;
	char user[LIMIT_ADDRESS + 1]; /* from USER, "" when none */
	char address[LIMIT_ADDRESS + 1]; /* logged-in account */
	int64_t account_id;
	const char *auth_mech;   /* "USER" or "PLAIN", for the log */
	struct event *delay_ev;  /* failed-login delay */
	struct pop3_maildrop drop;
	struct pop3_retr *retr;
	/* Result of the pending worker job (written on the worker, read by
	 * its done callback on the loop). */
	int job_result;
	struct store_mailbox_info job_info;
};

/* Reference counting, close, is_tls and the error count are the base's
 * (core/session.h: session_ref(&s->base), ...). */

/* Stops reading commands while an async job runs; pop3_session_unbusy()
 * resumes and processes pipelined input that arrived meanwhile. */
void pop3_session_busy(struct pop3_session *s);
void pop3_session_unbusy(struct pop3_session *s);
/* pop3_cmds.c: runs one parsed command (state and TLS checks, then the
 * handler from the table). */
void pop3_cmds_dispatch(struct pop3_session *s, const struct pop3_cmd *cmd);
/* Flags of the command table. */
enum pop3_cmd_flag {
	POP3_CMD_NEEDS_TLS = 1 << 0, /* plaintext password inside */
};
/* Allowed-states mask and flags of a verb; -1 for an unknown verb. */
int pop3_cmds_lookup(enum pop3_verb verb, unsigned *states_r,
		     unsigned *flags_r);
/* "RETR", ... ; "?" for an unknown verb. */
const char *pop3_cmds_name(enum pop3_verb verb);

/* pop3_auth.c: USER, PASS, AUTH and the SASL continuation line. */
void pop3_auth_user(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_auth_pass(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_auth_auth(struct pop3_session *s, const struct pop3_cmd *cmd);
void pop3_auth_sasl_line(struct pop3_session *s, const char *line,
			 size_t len);

#endif
