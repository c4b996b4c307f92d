/*
 * Internals shared by the SMTP session files: the session and transaction
 * structs (as OpenSMTPD: RSET or the end of a message frees the transaction
 * and nothing else).
 */
#ifndef POSTEL_SMTP_INT_H
#define POSTEL_SMTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../auth/sasl.h"
#include "../core/limits.h"
#include "../core/session.h"
#include "../util/buf.h"
#include "smtp_datascan.h"
#include "smtp_parse.h"

struct server;
struct conn;
struct event;
struct smtp_spool;
struct smtp_mailauth;

/* DATA/BDAT input is taken in steps of at most this many octets; the
 * spool hands its buffer to a worker once it holds SMTP_SPOOL_FLUSH. */
#define SMTP_DATA_STEP 16384
#define SMTP_SPOOL_FLUSH 65536

/* What the bytes from the client are read as. */
enum smtp_mode {
	SMTP_MODE_COMMAND = 0, /* command lines */
	SMTP_MODE_DATA,        /* message text after 354, up to CRLF.CRLF */
	SMTP_MODE_BDAT,        /* bdat_left raw octets of a BDAT chunk */
	SMTP_MODE_SASL,        /* a response to a 334 AUTH challenge */
	SMTP_MODE_DISCARD,     /* logged only: the session base drops the
				* rest of an over-long line (discarding) */
};

/* Session states for the dispatch table's masks. */
enum smtp_state {
	SMTP_STATE_INIT = 1 << 0, /* before HELO/EHLO */
	SMTP_STATE_HELO = 1 << 1, /* greeted, no transaction */
	SMTP_STATE_MAIL = 1 << 2, /* MAIL given, no recipient yet */
	SMTP_STATE_RCPT = 1 << 3, /* at least one recipient */
};

/* One RCPT the client gave: its local accounts and the addresses it
 * reaches outside our domains (remote: the address itself on
 * submission, or the external targets of an alias), which are queued. */
struct smtp_rcpt {
	char addr[LIMIT_ADDRESS + 1];
	int64_t *accounts;
	size_t n_accounts;
	char **remote;      /* NULL-terminated (store_strv_free), or NULL */
	size_t n_remote;
	unsigned notify;    /* RFC 3461 NOTIFY (enum smtp_notify), 0 */
	char orcpt[SMTP_ORCPT_MAX + 1]; /* decoded "rfc822;..." or "" */
};

struct smtp_tx {
	char from[LIMIT_ADDRESS + 1];
	bool smtputf8;
	bool body_8bit;     /* MAIL BODY=8BITMIME (RFC 6152) */
	bool requiretls;    /* MAIL REQUIRETLS (RFC 8689) */
	bool seen_8bit;     /* an octet >= 0x80 in the message */
	enum smtp_ret dsn_ret;               /* RFC 3461 RET */
	char envid[SMTP_ENVID_MAX + 1];      /* RFC 3461 ENVID, decoded */
	struct smtp_rcpt *rcpts;
	size_t n_rcpts;
	/* The message file, written as the message arrives (smtp_spool.c);
	 * NULL before DATA/BDAT and once the message is refused. */
	struct smtp_spool *spool;
	uint64_t received_len; /* our Received field, first in the file */
	/* Sender authentication (smtp_mailauth.c), from MAIL FROM on. */
	struct smtp_mailauth *auth;
	/* The end of the message waits for sender authentication (no
	 * reference is held: a vanished client frees the transaction,
	 * which cancels the lookups); no further command is taken. */
	bool auth_wait;
	/* DMARC quarantine (smtp_mailauth.c): local copies go to Junk. */
	bool junk;
	uint64_t size;      /* message octets received (Received excluded) */
	char msgid[17];     /* log and Received id, chosen at DATA/BDAT */
	/* The header section as received, up to and including its empty
	 * line, at most LIMIT_SMTP_HEADER_KEPT octets (hdr_cut: it was longer).
	 * Complete once hdr_done; for policy checks at the end of data. */
	struct buf hdr;
	size_t hdr_line;    /* offset in hdr of the current line */
	bool hdr_done;
	bool hdr_cut;
	bool too_big;       /* over max_message_size: refuse at the end */
	bool used_bdat;     /* DATA may not follow BDAT (RFC 3030 §2) */
	bool bdat_failed;   /* a chunk was refused: the rest are refused too */
	uint64_t declared_size; /* MAIL SIZE= (RFC 1870), 0 when absent */
	/* DATA reader state (smtp_data.c). */
	struct smtp_datascan scan;
	size_t line_len;    /* octets of the current line so far */
	bool line_too_long; /* a line over LIMIT_SMTP_DATA_LINE: refuse */
};

struct smtp_session {
	/* First: srv, conn (NULL once gone), id (a copy, valid after close:
	 * a delivery may end after the client), refs (1 for the conn + 1 per
	 * async step in flight), closing (last reply queued or conn gone),
	 * errors. */
	struct session base;
	int proto;          /* enum proto */
	bool timeout_authed; /* authed when the idle timeout was chosen */
	bool rate_on;       /* DATA/BDAT minimum rate armed (conn.h) */
	enum smtp_mode mode;
	enum smtp_state state;
	bool esmtp;
	char helo[LIMIT_DOMAIN + 1];
	bool authed;
	char auth_user[LIMIT_ADDRESS + 1];
	unsigned auth_failures;
	enum sasl_mech sasl_mech;
	int sasl_step;
	char sasl_user[LIMIT_ADDRESS + 1];
	struct event *delay_ev; /* failed-AUTH delay */
	unsigned bad_rcpts;     /* refused RCPTs: harvesting (smtp_cmds.c) */
	unsigned accepted;      /* messages answered 250 (event=session) */
	struct event *rcpt_delay_ev; /* holds rcpt_delayed back */
	void *rcpt_delayed;     /* the RCPT lookup waiting for the timer */
	unsigned long long bdat_left;
	bool bdat_last;
	bool bdat_skip;     /* a refused chunk: read its octets, keep none */
	struct smtp_tx *tx;
};

/* smtp_session.c; references, close and the error count are the base's
 * (core/session.h). */
/* Async steps in flight (references beyond the connection's). */
static inline int
smtp_session_jobs(const struct smtp_session *s)
{
	return s->base.refs - (s->base.conn != NULL ? 1 : 0);
}
void smtp_tx_free(struct smtp_session *s);
struct smtp_tx *smtp_tx_new(void);
void smtp_set_mode(struct smtp_session *s, enum smtp_mode mode);
/* Continue with pipelined input after an async step. */
void smtp_session_resume(struct smtp_session *s);

/* smtp_cmds.c */
void smtp_dispatch(struct smtp_session *s, const char *line, size_t len);
void smtp_reset_after_tls(struct smtp_session *s);

/* smtp_deliver.c: the complete, accepted message is made durable and
 * committed for its local accounts and queued for its remote recipients
 * in one group-commit job, then answered (250 or 451). */
void smtp_deliver(struct smtp_session *s);

/* smtp_data.c */
void smtp_cmd_data(struct smtp_session *s, const struct smtp_cmd *cmd);
void smtp_cmd_bdat(struct smtp_session *s, const struct smtp_cmd *cmd);
/* Reads message bytes in DATA/BDAT mode; returns true while more input is
 * needed in that mode. */
void smtp_data_input(struct smtp_session *s);

/* The chunk of a BDAT refused before its handler ran (dispatcher): its
 * size octets are read and dropped (RFC 3030 §2), never taken as
 * commands. The reply has been sent. */
void smtp_bdat_skip(struct smtp_session *s, unsigned long long size);

/* smtp_rcpt_cache.c: recipient answers kept on the loop (loop thread
 * only). _serial: the admin change counter now (false: no cache); _get:
 * 1 with a malloc'ed copy of the accounts when addr is known, else 0;
 * _put: keeps a lookup's success that began at serial (the counter then)
 * and found n local accounts without quota and nothing remote. */
#define SMTP_RCPT_CACHE_ACCOUNTS 4
bool smtp_rcpt_cache_serial(const char *data_dir, uint64_t *serial_r);
int smtp_rcpt_cache_get(const char *data_dir, const char *addr,
			int64_t **accounts_r, size_t *n_r);
void smtp_rcpt_cache_put(const char *addr, const int64_t *accounts, size_t n,
			 uint64_t serial);

/* smtp_spool.c: the message file written as it arrives. */
/* Runs on the io worker over the complete, durable file: fd (read-write)
 * and, when the whole message is still in memory, data (else NULL). */
typedef void (*smtp_spool_fn)(void *arg, int fd, const void *data,
			      size_t size);
struct smtp_spool *smtp_spool_new(struct smtp_session *s);
/* Copies n octets in; 0, or -1 when the file cannot be written (an
 * earlier write failed, or out of memory): refuse the message. */
int smtp_spool_write(struct smtp_spool *sp, const void *p, size_t n);
/* True when the session must stop reading: both buffers are full. The
 * spool resumes the session (smtp_session_resume) when one is free. */
bool smtp_spool_full(struct smtp_spool *sp);
/* Octets written into the spool so far. */
uint64_t smtp_spool_size(const struct smtp_spool *sp);
/* errno of a failed write, 0. Relative path ("msg/YYYYMMDD/<id>") once
 * the file exists, else "". */
int smtp_spool_error(const struct smtp_spool *sp);
const char *smtp_spool_path(const struct smtp_spool *sp);
/* Gives the message up: the spool is detached at once and its file
 * removed on a worker; *spp becomes NULL. NULL: nothing. */
void smtp_spool_abort(struct smtp_spool **spp);
/* The message is complete: writes the rest and fdatasyncs on an io
 * worker, then runs work(arg, fd, data, size) there on the complete file
 * (smtp_spool_fn), closes, and runs done(arg) on the loop. Then
 * smtp_spool_error tells the outcome; the spool is the caller's to free
 * with smtp_spool_free. */
/* Loop, instead of smtp_spool_finish: a message that is still all in
 * memory (nothing handed to a worker yet) is finished here, with no file:
 * it is edited in its buffer, named with a stored-body path ("db/<id>",
 * blob.h; smtp_spool_path) and stays readable through smtp_spool_data
 * until the spool is freed, for the commit to store with its rows. 1:
 * done; 0: a file was begun, use smtp_spool_finish. */
int smtp_spool_finish_here(struct smtp_spool *sp);
/* Before smtp_spool_finish(_here): when the message is finished, ins
 * goes in at octet at of the file (after our Received field) and the
 * ranges cuts[i] = {offset, length} (sorted, at or after at, file
 * offsets) are removed. 0, or -1 when they do not fit the limits. */
#define SMTP_SPOOL_EDIT_MAX 4000
#define SMTP_SPOOL_CUTS_MAX 32
int smtp_spool_edit(struct smtp_spool *sp, uint64_t at, const void *ins,
		    size_t ins_len, const uint64_t (*cuts)[2], size_t n_cuts);
/* The message octets of a spool finished with smtp_spool_finish_here. */
const void *smtp_spool_data(const struct smtp_spool *sp);
void smtp_spool_finish(struct smtp_spool *sp, smtp_spool_fn work,
		       void (*done)(void *arg), void *arg);
/* Frees a finished spool; without keep_file its file is removed (on a
 * worker). */
void smtp_spool_free(struct smtp_spool **spp, bool keep_file);

/* smtp_mailauth.c: sender authentication (SPF) and the
 * Authentication-Results field. _mail at MAIL FROM (0, or -1 without
 * memory); _scan with each piece of message text at its offset; _data
 * at the end of the message: waits for the results, hands the field
 * and the removal of forged ones to the spool (smtp_spool_edit), then
 * calls cont, or replies and frees the transaction. */
typedef void (*smtp_mailauth_cont_fn)(struct smtp_session *s);
int smtp_mailauth_mail(struct smtp_session *s);
void smtp_mailauth_scan(struct smtp_session *s, uint64_t off, const char *p,
			size_t n);
void smtp_mailauth_data(struct smtp_session *s, smtp_mailauth_cont_fn cont);
void smtp_mailauth_free(struct smtp_mailauth **ap);

/* smtp_auth.c */
void smtp_cmd_auth(struct smtp_session *s, const struct smtp_cmd *cmd);
void smtp_sasl_line(struct smtp_session *s, const char *line, size_t len);

/* smtp_reply.c: the one reply path. */
void smtp_reply(struct smtp_session *s, int code, const char *enh,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Multi-line reply: lines[0..n) each become "code-" / "code " lines. */
void smtp_reply_lines(struct smtp_session *s, int code, const char **lines,
		      size_t n);
#endif
