/*
 * DATA and BDAT: reading the message and handing it to the durable store.
 *
 * Policy on line endings (documented in docs/ARCHITECTURE.md): only the exact
 * sequence CRLF "." CRLF ends DATA (RFC 5321 §4.1.1.4). A bare LF or a bare
 * CR inside the text is stored as CRLF; neither ever ends the message, so
 * "\n.\n", "\r.\r" or "\n.\r\n" cannot smuggle a second message. Lines that
 * start with "." lose that dot (RFC 5321 §4.5.2). BDAT chunks are stored as
 * sent (RFC 3030).
 *
 * The message is written to its file while it arrives (smtp_spool.c; the
 * session holds a bounded part of it), after the Received header, which
 * is known before the first octet. At the end come the policy checks
 * (smtp_data_policy), then the delivery (smtp_deliver.c). A refused or
 * abandoned message leaves no file.
 *
 * RFC 3030 §2: a BDAT chunk's octets follow the command whatever the
 * reply, so every BDAT whose size could be read has its chunk read in
 * full, also when it is refused (wrong state, bad parameters, too big,
 * no recipients, an earlier chunk refused), and never taken as commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "../core/config.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../store/blob.h"
#include "../util/str.h"
#include "smtp_int.h"
#include "smtp_sender.h"

/* Keeps the header section (up to its empty line, at most
 * LIMIT_SMTP_HEADER_KEPT) for policy checks; a line ends at LF. */
static void
hdr_capture(struct smtp_tx *tx, const char *p, size_t n)
{
	struct buf *h = &tx->hdr;
	size_t take = LIMIT_SMTP_HEADER_KEPT - h->len, i = h->len;

	if (tx->hdr_done)
		return;
	if (take > n)
		take = n;
	if (buf_append(h, p, take) < 0) {
		tx->hdr_done = tx->hdr_cut = true;
		return;
	}
	for (; i < h->len; i++) {
		size_t ll = i - tx->hdr_line;

		if (h->data[i] != '\n')
			continue;
		if (ll == 0 || (ll == 1 && h->data[tx->hdr_line] == '\r')) {
			h->len = i + 1;
			tx->hdr_done = true;
			return;
		}
		tx->hdr_line = i + 1;
	}
	if (h->len == LIMIT_SMTP_HEADER_KEPT)
		tx->hdr_done = tx->hdr_cut = true;
}

/* Message octets: counted against max_message_size, then into the file.
 * Once the message is refused (too big, line too long, write failed) the
 * file is given up at once and the rest is only counted. */
static void
tx_append(struct smtp_session *s, const void *p, size_t n)
{
	struct smtp_tx *tx = s->tx;

	if (tx->spool == NULL || n == 0)
		return;
	if (tx->size + n > s->base.srv->cfg.max_message_size) {
		tx->too_big = true;
		smtp_spool_abort(&tx->spool);
		return;
	}
	tx->size += n;
	/* 8-bit content (RFC 6152) decides how the queue may relay it;
	 * looked for only until the first one. */
	if (!tx->seen_8bit)
		tx->seen_8bit = str_has_8bit(p, n);
	hdr_capture(tx, p, n);
	smtp_mailauth_scan(s, tx->size - n, p, n);
	if (smtp_spool_write(tx->spool, p, n) < 0)
		smtp_spool_abort(&tx->spool);
}

/* The framing of DATA text (smtp_datascan.h): kept apart from the session
 * so that tests/fuzz/fuzz_smtp_data.c can cut its input anywhere. */
void
smtp_datascan_init(struct smtp_datascan *st)
{
	st->line_start = true;
	st->prev_crlf = true;
}

size_t
smtp_datascan_step(struct smtp_datascan *st, const char *p, size_t n,
		   bool *done, smtp_datascan_emit_fn emit, void *arg)
{
	size_t i = 0;

	while (i < n) {
		if (st->line_start) {
			if (p[i] == '.') {
				/* Only CRLF "." CRLF ends the data: look ahead,
				 * waiting for bytes not yet received. */
				if (st->prev_crlf) {
					if (n - i < 2)
						break;
					if (p[i + 1] == '\r') {
						if (n - i < 3)
							break;
						if (p[i + 2] == '\n') {
							*done = true;
							return i + 3;
						}
					}
				}
				i++; /* dot-unstuffing */
			}
			st->line_start = false;
			continue;
		}
		size_t q = i;
		while (q < n && p[q] != '\r' && p[q] != '\n')
			q++;
		if (q > i)
			emit(arg, p + i, q - i, false);
		if (q == n)
			return n;
		if (p[q] == '\r' && q + 1 == n)
			return q; /* is it CRLF or a bare CR? wait */
		st->prev_crlf = p[q] == '\r' && p[q + 1] == '\n';
		emit(arg, NULL, 0, true);
		st->line_start = true;
		i = q + (st->prev_crlf ? 2 : 1);
	}
	return i;
}

/* The DATA reader's output: a line's text is counted against
 * LIMIT_SMTP_DATA_LINE and appended; a line end is appended as CRLF. */
static void
data_emit(void *arg, const char *p, size_t n, bool eol)
{
	struct smtp_session *s = arg;
	struct smtp_tx *tx = s->tx;

	if (eol) {
		tx_append(s, "\r\n", 2);
		tx->line_len = 0;
		return;
	}
	tx->line_len += n;
	if (tx->line_len > LIMIT_SMTP_DATA_LINE && !tx->line_too_long) {
		tx->line_too_long = true;
		smtp_spool_abort(&tx->spool);
	}
	tx_append(s, p, n);
}

/* RFC 5321 §6.3: a message that has gone through more than this many
 * relays is looping. */
#define SMTP_MAX_RECEIVED 30

/* Received header fields in the header section as received (ours,
 * written before it, is not there). */
static size_t
received_count(const struct smtp_tx *tx)
{
	const char *h = (const char *)tx->hdr.data;
	size_t n = 0, len = tx->hdr.len;

	for (size_t i = 0; i + 9 <= len; i++) {
		if ((i == 0 || h[i - 1] == '\n') &&
		    str_ieq(h + i, 9, "Received:"))
			n++;
		const char *nl = memchr(h + i, '\n', len - i);
		if (nl == NULL)
			break;
		i = (size_t)(nl - h);
	}
	return n;
}

/* After sender authentication: submission's sender identity, then
 * delivery. */
static void
smtp_data_sender(struct smtp_session *s)
{
	smtp_sender_data(s, (const char *)s->tx->hdr.data, s->tx->hdr.len,
			 s->tx->hdr_cut, smtp_deliver);
}

/* Policy checks on the complete message, then delivery. The header
 * section as received is in s->tx->hdr (hdr_cut when it was longer than
 * LIMIT_SMTP_HEADER_KEPT). Today: the hop count (more than
 * SMTP_MAX_RECEIVED Received fields: 554 5.4.6), then sender
 * authentication and the Authentication-Results field
 * (smtp_mailauth.c), then submission's
 * sender identity (From:/Sender:,
 * smtp_sender.h), which may look addresses up on a worker; it calls
 * smtp_deliver when the message may go, or replies and frees the
 * transaction. */
static void
smtp_data_policy(struct smtp_session *s)
{
	size_t received = received_count(s->tx);

	if (received > SMTP_MAX_RECEIVED) {
		log_info(s->base.id, "reject", " msg=%s reason=loop "
			 "received=%zu", s->tx->msgid, received);
		smtp_reply(s, 554, "5.4.6", "Too many Received headers: mail "
			   "loop detected");
		smtp_tx_free(s);
		return;
	}
	smtp_mailauth_data(s, smtp_data_sender);
}

/* Both spool buffers full: stop reading until the write ends; the spool
 * resumes us (smtp_session_resume). Pausing the connection (not only
 * returning) keeps a half-closed client's pending input from being taken
 * as the end (conn.h), and the socket's input stays bounded by
 * LIMIT_INPUT_HIGH_WATER meanwhile. */
static bool
spool_wait(struct smtp_session *s)
{
	if (s->tx->spool == NULL || !smtp_spool_full(s->tx->spool))
		return false;
	conn_pause(s->base.conn);
	return true;
}

/* The end of a message whose octets were all read: refuse or deliver. */
static void
data_end(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx->too_big) {
		log_info(s->base.id, "reject", " reason=size limit=%zu",
			 s->base.srv->cfg.max_message_size);
		smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
	} else if (tx->line_too_long) {
		log_info(s->base.id, "reject", " reason=line_length limit=%d",
			 LIMIT_SMTP_DATA_LINE);
		smtp_reply(s, 552, "5.3.4", "Message has a line longer than %d "
			   "octets", LIMIT_SMTP_DATA_LINE);
	} else if (tx->spool == NULL) {
		log_error(s->base.id, "spool", " msg=%s reason=write",
			  tx->msgid);
		smtp_reply(s, 451, "4.3.0", "Temporary failure storing the "
			   "message, try again later");
	} else {
		smtp_data_policy(s);
		return;
	}
	smtp_tx_free(s);
}

static void
data_read(struct smtp_session *s, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in);

	while (len > 0 && s->mode == SMTP_MODE_DATA) {
		size_t n = len < SMTP_DATA_STEP ? len : SMTP_DATA_STEP;
		const char *p;
		bool done = false;
		size_t used;

		if (spool_wait(s))
			return;
		p = (const char *)evbuffer_pullup(in, (ssize_t)n);
		used = smtp_datascan_step(&s->tx->scan, p, n, &done,
					  data_emit, s);
		evbuffer_drain(in, used);
		if (done) {
			smtp_set_mode(s, SMTP_MODE_COMMAND);
			data_end(s);
			return;
		}
		if (used == 0)
			return;
		len = evbuffer_get_length(in);
	}
}

/* The end of a BDAT chunk that was accepted by its handler. */
static void
bdat_end(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx->bdat_failed) {
		smtp_reply(s, 554, "5.5.0", "Earlier chunk was refused");
	} else if (tx->too_big) {
		/* RFC 3030 §2: refuse the chunk; the transaction is over. */
		tx->bdat_failed = true;
		smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
	} else if (tx->spool == NULL) {
		tx->bdat_failed = true;
		log_error(s->base.id, "spool", " msg=%s reason=write",
			  tx->msgid);
		smtp_reply(s, 451, "4.3.0", "Temporary failure storing the "
			   "message, try again later");
	} else if (s->bdat_last) {
		smtp_data_policy(s);
		return;
	} else {
		smtp_reply(s, 250, "2.0.0", "%llu octets received",
			   (unsigned long long)tx->size);
		return;
	}
	if (s->bdat_last)
		smtp_tx_free(s);
}

static void
bdat_read(struct smtp_session *s, struct evbuffer *in)
{
	while (s->bdat_left > 0 && evbuffer_get_length(in) > 0) {
		size_t n = evbuffer_get_length(in);

		if (n > s->bdat_left)
			n = (size_t)s->bdat_left;
		if (n > SMTP_DATA_STEP)
			n = SMTP_DATA_STEP;
		if (!s->bdat_skip) {
			if (spool_wait(s))
				return;
			if (!s->tx->bdat_failed)
				tx_append(s, evbuffer_pullup(in, (ssize_t)n),
					  n);
		}
		evbuffer_drain(in, n);
		s->bdat_left -= n;
	}
	if (s->bdat_left > 0)
		return;
	smtp_set_mode(s, SMTP_MODE_COMMAND);
	if (s->bdat_skip)
		s->bdat_skip = false; /* answered when it was refused */
	else
		bdat_end(s);
}

void
smtp_data_input(struct smtp_session *s)
{
	struct evbuffer *in = conn_input(s->base.conn);

	if (s->mode == SMTP_MODE_DATA)
		data_read(s, in);
	else
		bdat_read(s, in);
}

static int tx_begin(struct smtp_session *s);

void
smtp_cmd_data(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	if (s->tx->used_bdat) {
		smtp_reply(s, 503, "5.5.1", "DATA may not follow BDAT");
		return;
	}
	if (s->tx->n_rcpts == 0) {
		smtp_reply(s, 554, "5.5.1", "No valid recipients");
		return;
	}
	if (tx_begin(s) < 0) {
		smtp_reply(s, 451, "4.3.0", "Out of memory");
		return;
	}
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	smtp_set_mode(s, SMTP_MODE_DATA);
}

void
smtp_bdat_skip(struct smtp_session *s, unsigned long long size)
{
	s->bdat_left = size;
	s->bdat_skip = true;
	smtp_set_mode(s, SMTP_MODE_BDAT);
}

void
smtp_cmd_bdat(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_tx *tx = s->tx;

	s->bdat_left = cmd->bdat_size;
	s->bdat_last = cmd->bdat_last;
	s->bdat_skip = false;
	/* RFC 3030 §2: the chunk's octets follow the command whatever we
	 * answer, so they are always read; without recipients the chunk is
	 * refused after reading it. */
	if (tx->n_rcpts == 0)
		tx->bdat_failed = true;
	else if (!tx->used_bdat && tx_begin(s) < 0)
		tx->bdat_failed = true; /* no memory: spool is NULL */
	tx->used_bdat = true;
	if (cmd->bdat_size > s->base.srv->cfg.max_message_size - tx->size) {
		tx->too_big = true;
		smtp_spool_abort(&tx->spool);
	}
	smtp_set_mode(s, SMTP_MODE_BDAT);
}

/* ---- delivery ---------------------------------------------------------- */

/* RFC 5321 §4.4 trace field. RFC 4954 §7 allows naming the authenticated
 * identity in a comment; like Postfix (smtpd_sasl_authenticated_header =
 * no) we do not: it would tell every recipient the sender's login name.
 * "with ESMTPSA" says that the client authenticated. */
static void
received_header(struct smtp_session *s, struct buf *out)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	const char *with;
	bool tls = conn_is_tls(s->base.conn);

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* RFC 3848 / RFC 6531 §3.7.4 protocol names. */
	if (s->tx->smtputf8)
		with = s->authed ? (tls ? "UTF8SMTPSA" : "UTF8SMTPA")
				 : (tls ? "UTF8SMTPS" : "UTF8SMTP");
	else if (!s->esmtp)
		with = "SMTP";
	else
		with = s->authed ? (tls ? "ESMTPSA" : "ESMTPA")
				 : (tls ? "ESMTPS" : "ESMTP");
	buf_printf(out, "Received: from %s (%s)\r\n\tby %s (Postel) "
		   "with %s id %s", s->helo[0] ? s->helo : "unknown",
		   conn_peer(s->base.conn), s->base.srv->cfg.hostname, with,
		   s->tx->msgid);
	/* Name the recipient only when there is one (RFC 5321 §4.4 privacy). */
	if (s->tx->n_rcpts == 1)
		buf_printf(out, "\r\n\tfor <%s>", s->tx->rcpts[0].addr);
	buf_printf(out, ";\r\n\t%s\r\n", date);
}

/* RFC 5321 §4.4: the server making the final delivery adds Return-Path
 * with the reverse path ("<>" for the null sender). The file is one for
 * every recipient (blob.h), so it gets these lines when some recipient
 * is local; Delivered-To (the RCPT address, as Dovecot's LDA and Postfix
 * write it) only when exactly one local account is reached by exactly one
 * RCPT address: with several, each mailbox would need a copy of its own
 * (docs/ARCHITECTURE.md, "Delivery header fields"). The queue relays
 * the file from after them. */
static void
delivery_head(const struct smtp_tx *tx, struct buf *out)
{
	char head[BLOB_DELIVERY_HEAD_MAX];
	const char *to = NULL;
	int64_t account = -1;
	bool local = false, single = true;
	size_t len;

	for (size_t i = 0; i < tx->n_rcpts; i++)
		for (size_t k = 0; k < tx->rcpts[i].n_accounts; k++) {
			int64_t id = tx->rcpts[i].accounts[k];

			if (local && (id != account ||
				      strcmp(to, tx->rcpts[i].addr) != 0))
				single = false;
			local = true;
			account = id;
			to = tx->rcpts[i].addr;
		}
	if (!local)
		return;
	len = blob_delivery_head(tx->from, single ? to : NULL, head,
				 sizeof(head));
	buf_append(out, head, len);
}

/* The message starts: its id, the file and the Received header, which
 * is known now (recipients come before DATA/BDAT, RFC 3030 §3). 0 or -1
 * (no memory). */
static int
tx_begin(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	struct buf head;
	int rc;

	blob_new_id(tx->msgid);
	tx->spool = smtp_spool_new(s);
	if (tx->spool == NULL)
		return -1;
	buf_init(&head, 4096);
	delivery_head(tx, &head);
	received_header(s, &head);
	rc = head.len > 0 ? smtp_spool_write(tx->spool, head.data, head.len)
			  : -1;
	tx->received_len = head.len;
	buf_fini(&head);
	if (rc < 0)
		smtp_spool_abort(&tx->spool);
	return rc;
}

