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
 * Delivery: a worker writes and fdatasyncs the message file (blob.h), then
 * the commit thread records it for every recipient in the shared group
 * commit (commit.h); only then does the client get 250.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "../core/config.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/server.h"
#include "../core/workers.h"
#include "../mime/mime.h"
#include "../store/blob.h"
#include "../store/commit.h"
#include "../store/store.h"
#include "smtp_int.h"
#include "smtp_sender.h"

/* Read at most this much of the input at a time. */
#define SMTP_DATA_CHUNK 65536

static void
tx_append(struct smtp_tx *tx, const void *p, size_t n)
{
	if (tx->too_big || n == 0)
		return;
	if (buf_append(&tx->data, p, n) < 0)
		tx->too_big = true;
}

/* Consumes p[0..n) of DATA text. Returns the number of bytes used; sets
 * *done when the terminating CRLF.CRLF was seen. Stops early (fewer bytes
 * used) when a decision needs bytes that have not arrived yet. */
static size_t
data_scan(struct smtp_tx *tx, const char *p, size_t n, bool *done)
{
	size_t i = 0;

	while (i < n) {
		if (tx->line_start) {
			if (p[i] == '.') {
				/* Only CRLF "." CRLF ends the data: look ahead,
				 * waiting for bytes not yet received. */
				if (tx->prev_crlf) {
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
			tx->line_start = false;
			continue;
		}
		size_t q = i;
		while (q < n && p[q] != '\r' && p[q] != '\n')
			q++;
		tx->line_len += q - i;
		if (tx->line_len > LIMIT_SMTP_DATA_LINE)
			tx->line_too_long = true;
		if (!tx->line_too_long)
			tx_append(tx, p + i, q - i);
		if (q == n)
			return n;
		if (p[q] == '\r' && q + 1 == n)
			return q; /* is it CRLF or a bare CR? wait */
		tx->prev_crlf = p[q] == '\r' && p[q + 1] == '\n';
		tx_append(tx, "\r\n", 2);
		tx->line_start = true;
		tx->line_len = 0;
		i = q + (tx->prev_crlf ? 2 : 1);
	}
	return i;
}

static void smtp_deliver(struct smtp_session *s);

static void
data_finish(struct smtp_session *s)
{
	smtp_set_mode(s, SMTP_MODE_COMMAND);
	if (s->tx->too_big) {
		log_info(s->id, "reject", " reason=size limit=%zu",
			 s->srv->cfg.max_message_size);
		smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		smtp_tx_free(s);
		return;
	}
	if (s->tx->line_too_long) {
		log_info(s->id, "reject", " reason=line_length limit=%d",
			 LIMIT_SMTP_DATA_LINE);
		smtp_reply(s, 552, "5.3.4", "Message has a line longer than %d "
			   "octets", LIMIT_SMTP_DATA_LINE);
		smtp_tx_free(s);
		return;
	}
	smtp_sender_data(s, (const char *)s->tx->data.data, s->tx->data.len,
			 false, smtp_deliver);
}

static void
data_read(struct smtp_session *s, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in);

	while (len > 0 && s->mode == SMTP_MODE_DATA) {
		size_t n = len < SMTP_DATA_CHUNK ? len : SMTP_DATA_CHUNK;
		const char *p = (const char *)evbuffer_pullup(in, (ssize_t)n);
		bool done = false;
		size_t used = data_scan(s->tx, p, n, &done);

		evbuffer_drain(in, used);
		if (done) {
			data_finish(s);
			return;
		}
		if (used == 0)
			return;
		len = evbuffer_get_length(in);
	}
}

static void
bdat_read(struct smtp_session *s, struct evbuffer *in)
{
	while (s->bdat_left > 0 && evbuffer_get_length(in) > 0) {
		size_t n = evbuffer_get_length(in);
		if (n > s->bdat_left)
			n = (size_t)s->bdat_left;
		if (n > SMTP_DATA_CHUNK)
			n = SMTP_DATA_CHUNK;
		const void *p = evbuffer_pullup(in, (ssize_t)n);
		if (!s->tx->bdat_failed)
			tx_append(s->tx, p, n);
		evbuffer_drain(in, n);
		s->bdat_left -= n;
	}
	if (s->bdat_left > 0)
		return;
	smtp_set_mode(s, SMTP_MODE_COMMAND);
	if (s->tx->bdat_failed) {
		smtp_reply(s, 554, "5.5.0", "Earlier chunk was refused");
		if (s->bdat_last)
			smtp_tx_free(s);
		return;
	}
	if (s->tx->too_big) {
		/* RFC 3030 §2: refuse the chunk; the transaction is over. */
		s->tx->bdat_failed = true;
		smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		if (s->bdat_last)
			smtp_tx_free(s);
		return;
	}
	if (s->bdat_last)
		smtp_sender_data(s, (const char *)s->tx->data.data,
				 s->tx->data.len, false, smtp_deliver);
	else
		smtp_reply(s, 250, "2.0.0", "%zu octets received",
			   s->tx->data.len);
}

void
smtp_data_input(struct smtp_session *s)
{
	struct evbuffer *in = conn_input(s->conn);

	if (s->mode == SMTP_MODE_DATA)
		data_read(s, in);
	else
		bdat_read(s, in);
}

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
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	smtp_set_mode(s, SMTP_MODE_DATA);
}

void
smtp_cmd_bdat(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	s->tx->used_bdat = true;
	s->bdat_left = cmd->bdat_size;
	s->bdat_last = cmd->bdat_last;
	/* RFC 3030 §2: the chunk's octets follow the command whatever we
	 * answer, so they are always read; without recipients the chunk is
	 * refused after reading it. */
	if (s->tx->n_rcpts == 0)
		s->tx->bdat_failed = true;
	if (cmd->bdat_size > s->srv->cfg.max_message_size)
		s->tx->too_big = true;
	smtp_set_mode(s, SMTP_MODE_BDAT);
}

/* ---- delivery ---------------------------------------------------------- */

struct smtp_delivery {
	struct smtp_session *s;
	struct buf head;        /* Received header */
	struct buf body;        /* taken from the transaction */
	int64_t *accounts;      /* distinct */
	size_t n_accounts;
	char path[BLOB_PATH_MAX];
	char msgid[32];
	int write_rc;
	int errno_save;
	struct store_meta meta;   /* ENVELOPE, BODYSTRUCTURE... for IMAP */
	struct store_delivery sd;
};

static void
delivery_free(struct smtp_delivery *d)
{
	store_meta_free(&d->meta);
	buf_fini(&d->head);
	buf_fini(&d->body);
	free(d->accounts);
	free(d);
}

static void
received_header(struct smtp_session *s, struct smtp_delivery *d)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	const char *with;
	bool tls = conn_is_tls(s->conn);

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
	buf_printf(&d->head, "Received: from %s (%s)\r\n\tby %s (Postel) "
		   "with %s id %s", s->helo[0] ? s->helo : "unknown",
		   conn_peer(s->conn), s->srv->cfg.hostname, with, d->msgid);
	/* Name the recipient only when there is one (RFC 5321 §4.4 privacy). */
	if (s->tx->n_rcpts == 1)
		buf_printf(&d->head, "\r\n\tfor <%s>", s->tx->rcpts[0].addr);
	buf_printf(&d->head, ";\r\n\t%s\r\n", date);
}

static int
collect_accounts(struct smtp_session *s, struct smtp_delivery *d)
{
	size_t total = 0;

	for (size_t i = 0; i < s->tx->n_rcpts; i++)
		total += s->tx->rcpts[i].n_accounts;
	d->accounts = calloc(total ? total : 1, sizeof(int64_t));
	if (d->accounts == NULL)
		return -1;
	for (size_t i = 0; i < s->tx->n_rcpts; i++)
		for (size_t k = 0; k < s->tx->rcpts[i].n_accounts; k++) {
			int64_t id = s->tx->rcpts[i].accounts[k];
			bool seen = false;
			for (size_t m = 0; m < d->n_accounts && !seen; m++)
				seen = d->accounts[m] == id;
			if (!seen)
				d->accounts[d->n_accounts++] = id;
		}
	return 0;
}

static int
deliver_apply(struct store *st, void *arg, const char **err_r)
{
	struct smtp_delivery *d = arg;

	return store_deliver(st, &d->sd, err_r);
}

/* A delivery that was not committed leaves no file behind. */
static void
deliver_after(void *arg, bool ok)
{
	struct smtp_delivery *d = arg;

	if (!ok)
		blob_unlink(d->s->srv->cfg.data_dir, d->path);
}

static void
deliver_log(struct smtp_session *s, struct smtp_delivery *d)
{
	log_info(s->id, "accept", " msg=%s from=%s size=%zu rcpts=%zu",
		 d->msgid, log_qs(s->tx->from), d->head.len + d->body.len,
		 s->tx->n_rcpts);
	for (size_t i = 0; i < s->tx->n_rcpts; i++)
		for (size_t k = 0; k < s->tx->rcpts[i].n_accounts; k++)
			log_info(s->id, "deliver", " msg=%s rcpt=%s account=%lld "
				 "mailbox=INBOX", d->msgid,
				 log_qs(s->tx->rcpts[i].addr),
				 (long long)s->tx->rcpts[i].accounts[k]);
}

static void
deliver_done(void *arg, int result)
{
	struct smtp_delivery *d = arg;
	struct smtp_session *s = d->s;

	server_busy_end(s->srv);
	/* The transaction outlives a vanished client until we unref. */
	if (result == 0) {
		deliver_log(s, d);
		for (size_t i = 0; i < d->n_accounts; i++)
			server_notify_account(s->srv, d->accounts[i]);
	}
	if (!s->closed) {
		if (result == 0)
			smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", d->msgid);
		else
			smtp_reply(s, 451, "4.3.0", "Temporary failure storing "
				   "the message, try again later");
		smtp_tx_free(s);
	}
	delivery_free(d);
	if (!smtp_session_unref(s))
		smtp_session_resume(s);
}

/* IMAP's view of the message is computed once, here, off the loop (mime.h).
 * It needs the stored bytes in one piece, so the Received header and the
 * body are copied into one buffer for the time of the parse. Without
 * memory for that the message is still delivered; IMAP computes the
 * metadata on first use. */
static void
delivery_meta(struct smtp_delivery *d)
{
	struct buf whole;

	buf_init(&whole, d->head.len + d->body.len);
	if (buf_append(&whole, d->head.data, d->head.len) < 0 ||
	    buf_append(&whole, d->body.data, d->body.len) < 0 ||
	    mime_compute_meta((const char *)whole.data, whole.len,
			      &d->meta.envelope, &d->meta.body,
			      &d->meta.bodystructure, &d->meta.partmap,
			      &d->meta.partmap_len) < 0) {
		buf_fini(&whole);
		return;
	}
	/* Without them (too big) SEARCH reads the message instead. */
	(void)mime_search_fields((const char *)whole.data, whole.len,
				 &d->meta.fields, &d->meta.fields_len);
	buf_fini(&whole);
	d->sd.meta = &d->meta;
}

static void
blob_work(void *arg)
{
	struct smtp_delivery *d = arg;
	struct smtp_session *s = d->s;

	d->write_rc = blob_write(s->srv->cfg.data_dir, d->head.data,
				 d->head.len, d->body.data, d->body.len,
				 d->path, NULL);
	d->errno_save = errno;
	if (d->write_rc == 0)
		delivery_meta(d);
}

static void
blob_done(void *arg)
{
	struct smtp_delivery *d = arg;
	struct commit_job job = { 0 };

	if (d->write_rc < 0) {
		log_error(d->s->id, "blob_write", " msg=%s errno=%d", d->msgid,
			  d->errno_save);
		deliver_done(d, -1);
		return;
	}
	snprintf(d->sd.blob, sizeof(d->sd.blob), "%s", d->path);
	d->sd.size = (int64_t)(d->head.len + d->body.len);
	d->sd.internaldate = (int64_t)time(NULL);
	d->sd.accounts = d->accounts;
	d->sd.n_accounts = d->n_accounts;
	job.apply = deliver_apply;
	job.after = deliver_after;
	job.done = deliver_done;
	job.arg = d;
	snprintf(job.sync_blob, sizeof(job.sync_blob), "%s", d->path);
	commit_submit(d->s->srv->commit, &job);
}

static void
smtp_deliver(struct smtp_session *s)
{
	struct smtp_delivery *d = calloc(1, sizeof(*d));

	if (d == NULL || collect_accounts(s, d) < 0) {
		free(d);
		smtp_reply(s, 451, "4.3.0", "Out of memory");
		smtp_tx_free(s);
		return;
	}
	d->s = s;
	blob_new_id(d->msgid);
	buf_init(&d->head, 4096);
	received_header(s, d);
	d->body = s->tx->data;            /* moved, not copied */
	buf_init(&s->tx->data, 0);
	smtp_session_ref(s);
	server_busy_begin(s->srv);
	conn_pause(s->conn);
	workers_submit(s->srv->io_workers, blob_work, blob_done, d);
}
