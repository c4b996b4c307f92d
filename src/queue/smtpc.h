/*
 * The SMTP client: one outgoing connection to one server address, event
 * driven on the loop like the server sessions (core/session.h). It says
 * EHLO (HELO when EHLO is refused), takes STARTTLS when offered (per the
 * TLS mode), AUTH when given credentials (relayhost), and then carries
 * any number of transactions, one at a time: MAIL FROM with SIZE, BODY,
 * SMTPUTF8, RET/ENVID when the server has DSN; RCPT TO with NOTIFY/ORCPT;
 * DATA (or BDAT when CHUNKING), with PIPELINING when offered (RFC 2920).
 * The message is read from its file; dot-stuffing is done here.
 *
 * A message with 8-bit content (STORE_QMSG_8BIT) for a server without
 * 8BITMIME is converted to 7-bit (quoted-printable) while sent, or fails
 * permanently (5.6.3) when it cannot be; one that needs SMTPUTF8 for a
 * server without it fails with 5.6.7. SIZE over the server's limit fails
 * with 5.3.4 before MAIL.
 *
 * Every outcome is a reply: a real one from the server, or one made up
 * for a local failure ("421 4.4.1 connect to mx[192.0.2.1]:25:
 * Connection refused"), so the caller has one thing to record.
 */
#ifndef POSTEL_SMTPC_H
#define POSTEL_SMTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../core/config.h"
#include "tls_policy.h"

struct server;
struct smtpc;

/* A server reply (or a made-up one, see above). */
struct smtpc_reply {
	int code;                /* 250, 451, 550 ...; 0: none yet */
	char status[16];         /* RFC 3463 code from the reply, or one we
				  * chose ("4.4.1"), never "" once set */
	char text[512];          /* the reply, lines joined by " / ", for
				  * the log and the DSN's Diagnostic-Code */
};

/* Where to connect and how. */
struct smtpc_target {
	struct sockaddr_storage addr; /* with the port */
	char host[256];          /* MX (or relayhost) name: SNI, verify, logs */
	enum config_tls_mode tls;
	/* Relayhost AUTH (PLAIN, or LOGIN when only that is offered); NULL
	 * for none. Never sent without TLS. */
	const char *auth_user;
	const char *auth_pass;
	/* DANE (tls_policy.h): the host's TLSA records, copied; with tls
	 * CONFIG_TLS_VERIFY the peer must match one of them. NULL: none. */
	const struct tls_dane *dane;
};

/* Extensions the server announced (bit mask, smtpc_ext). */
enum smtpc_ext {
	SMTPC_EXT_PIPELINING = 1 << 0,
	SMTPC_EXT_SIZE = 1 << 1,
	SMTPC_EXT_8BITMIME = 1 << 2,
	SMTPC_EXT_SMTPUTF8 = 1 << 3,
	SMTPC_EXT_DSN = 1 << 4,
	SMTPC_EXT_CHUNKING = 1 << 5,
	SMTPC_EXT_STARTTLS = 1 << 6,
	SMTPC_EXT_AUTH = 1 << 7,
	SMTPC_EXT_REQUIRETLS = 1 << 8, /* RFC 8689 §2 */
};

struct smtpc_rcpt {
	const char *addr;
	const char *orcpt;       /* "rfc822;addr" (decoded: the address is
				  * xtext-encoded on the wire) or NULL */
	unsigned notify;         /* enum store_notify; 0: not sent */
	struct smtpc_reply reply;/* result: RCPT's reply, or DATA's when
				  * RCPT was accepted */
};

/* One transaction. */
struct smtpc_msg {
	const char *from;        /* "" = null sender */
	const char *envid;       /* or NULL */
	int ret;                 /* enum store_ret */
	unsigned flags;          /* enum store_queue_flag (8BIT, SMTPUTF8) */
	int fd;                  /* the message file, read from start */
	const char *data;        /* instead of fd when not NULL: in memory */
	uint64_t start;          /* offset of the first octet to send */
	uint64_t size;           /* octets to send from start */
	/* Sent before the file (its DKIM-Signature fields), or NULL. */
	const char *prefix;
	size_t prefix_len;
	struct smtpc_rcpt *rcpts;
	size_t n_rcpts;
	/* Result for the whole transaction: MAIL's or DATA's reply, or the
	 * connection's failure (every recipient then has it too). */
	struct smtpc_reply reply;
};

/* Runs on the loop. ok: the connection is usable (ready), or the
 * transaction ran (its results are in the message; a transaction with
 * every recipient refused is still "run"). When !ok the connection is
 * dead: call smtpc_free. */
typedef void (*smtpc_cb)(void *arg, struct smtpc *c, bool ok);

/* Connects, reads the greeting, EHLO, STARTTLS, AUTH; ready(arg, c, ok)
 * once done. On failure smtpc_error(c) says why. NULL only when out of
 * memory (ready not called). */
struct smtpc *smtpc_connect(struct server *srv, const struct smtpc_target *t,
			    smtpc_cb ready, void *arg);
/* Sends one transaction on a ready connection; done(arg, c, ok) when the
 * server has answered the end of data (or refused every recipient, or
 * the connection failed: ok false, every result set). m must live until
 * then. A recipient refused at RCPT keeps that reply even when the
 * connection fails later; the others get the failure. A message refused
 * before anything is sent (SIZE, SMTPUTF8, 8-bit) is ok true: the
 * connection stays usable. done may call smtpc_send or smtpc_free. */
void smtpc_send(struct smtpc *c, struct smtpc_msg *m, smtpc_cb done,
		void *arg);
/* Sends RSET between transactions when a previous one failed midway;
 * called by smtpc_send itself when needed. */
/* Says QUIT (not waiting for long) and frees; the callbacks never run
 * again. *cp becomes NULL. */
void smtpc_free(struct smtpc **cp);

/* Why the connection failed or was refused (a made-up or real reply). */
const struct smtpc_reply *smtpc_error(const struct smtpc *c);
unsigned smtpc_ext(const struct smtpc *c);
uint64_t smtpc_max_size(const struct smtpc *c); /* SIZE n; 0 = none */
/* "mx.example.org[192.0.2.1]:25" for logs and Remote-MTA. */
const char *smtpc_peer(const struct smtpc *c);
bool smtpc_is_tls(const struct smtpc *c);
/* TLS with a certificate that verified for the target's host name. */
bool smtpc_is_verified(const struct smtpc *c);
/* The TLS outcome for the policy's report (tls_policy.h), and why it
 * failed ("" on success). */
enum tls_result smtpc_tls_result(const struct smtpc *c, const char **why_r);
/* OpenSSL's verify result (X509_V_OK, X509_V_ERR_...) once the TLS
 * handshake completed; -1 before or without one (TLS-RPT's result). */
long smtpc_tls_verify(const struct smtpc *c);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" or "" */
const char *smtpc_tls_info(const struct smtpc *c);
/* Ready for smtpc_send: not failed, not closed by the server while idle
 * (a connection kept for reuse can die in between). */
bool smtpc_usable(const struct smtpc *c);
/* Transactions completed on this connection. */
unsigned smtpc_count(const struct smtpc *c);

#endif
