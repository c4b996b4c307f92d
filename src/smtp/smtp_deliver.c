/*
 * Delivery of an accepted message: the file is made durable on an io
 * worker, then ONE group-commit job (commit.h, one savepoint) delivers it
 * into the INBOX of every local account (store_deliver) and queues it for
 * every remote recipient (store_queue_add, store_queue.h); only then does
 * the client get its single 250, so a local copy and a queued one are
 * acknowledged together or not at all.
 *
 * Queue rows: one per distinct remote address (a recipient outside our
 * domains from an authenticated client, or an alias's external target;
 * ORCPT defaults to the address the client gave when an alias expanded
 * it, RFC 3461 §4.2), and one per local recipient that asked NOTIFY=SUCCESS,
 * queued SENT with the notice DELIVERED so the queue sends the success
 * DSN (RFC 3461 §5.2.2). The queue ID is the acceptance id (msg=).
 *
 * DKIM: a message an authenticated user sends to remote recipients is
 * signed once here, before the commit, when its From: domain has keys
 * (mailauth/dkim.h): on an io worker with the rest of the file's work, or
 * for a message written from the loop on a worker of its own (RSA signing
 * takes about a millisecond: never on the loop or the commit thread). The
 * signatures go into the queue row's prefix, sent before the file.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../core/config.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/loop.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../mailauth/dkim.h"
#include "../mime/mime.h"
#include "../store/blob.h"
#include "../store/commit.h"
#include "../store/store.h"
#include "../util/str.h"
#include "smtp_arc.h"
#include "smtp_int.h"
#include "smtp_srs.h"

/* The parser's DSN values are the store's (store_queue.h). */
static_assert((int)SMTP_NOTIFY_SUCCESS == (int)STORE_NOTIFY_SUCCESS &&
	      (int)SMTP_NOTIFY_FAILURE == (int)STORE_NOTIFY_FAILURE &&
	      (int)SMTP_NOTIFY_DELAY == (int)STORE_NOTIFY_DELAY &&
	      (int)SMTP_NOTIFY_NEVER == (int)STORE_NOTIFY_NEVER, "NOTIFY bits");
static_assert((int)SMTP_RET_FULL == (int)STORE_RET_FULL &&
	      (int)SMTP_RET_HDRS == (int)STORE_RET_HDRS, "RET values");
static_assert(SMTP_ENVID_MAX <= STORE_QUEUE_ENVID_MAX, "ENVID size");

/* The Message-ID logged at acceptance: longer ones are cut (the logger
 * cuts values at 200 octets anyway); looked for in the first
 * SMTP_LOG_HEAD_SCAN octets of a message not read for IMAP. */
#define SMTP_LOG_MESSAGE_ID_MAX 200
#define SMTP_LOG_HEAD_SCAN (16 * 1024)

struct smtp_delivery {
	struct smtp_session *s;
	struct smtp_spool *spool;  /* taken from the transaction */
	/* Finished in memory (smtp_spool_finish_here): the spool keeps the
	 * octets for the metadata pass and for the store. */
	bool here;
	int64_t *accounts;      /* distinct */
	size_t n_accounts;
	char path[BLOB_PATH_MAX];
	char msgid[17];
	/* The header's Message-ID, for the accept line (io worker). */
	char header_id[SMTP_LOG_MESSAGE_ID_MAX + 1];
	uint64_t size;          /* of the file, Received header included */
	struct store_meta meta;   /* ENVELOPE, BODYSTRUCTURE... for IMAP */
	struct store_delivery sd;
	/* The queue rows (n_rows == 0: nothing queued); their strings point
	 * into the transaction, which lives until deliver_done, or into
	 * orcpts (an alias's default ORCPT). */
	struct store_queue_rcpt_new *rows;
	char (*orcpts)[SMTP_ORCPT_MAX + 1];
	size_t n_rows;
	size_t n_remote;        /* rows[0..n_remote) are remote recipients */
	struct store_queue_new qm;
	/* DKIM: the keyring to sign with (NULL: no signing), and the
	 * DKIM-Signature fields made, NUL-terminated (queue prefix). */
	struct dkim_keyring *kr;
	struct buf prefix;
	/* ARC: our seal on a forwarded message (smtp_arc.h), or NULL. */
	struct smtp_arc_seal *seal;
	/* SRS: the sender a forward is queued with (smtp_srs.h), or "". */
	char srs_from[LIMIT_ADDRESS + 1];
};

static void
delivery_free(struct smtp_delivery *d)
{
	smtp_spool_free(&d->spool, d->here);
	store_meta_free(&d->meta);
	dkim_keyring_unref(&d->kr);
	smtp_arc_seal_free(&d->seal);
	buf_fini(&d->prefix);
	free(d->accounts);
	free(d->rows);
	free(d->orcpts);
	free(d);
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

static bool
ascii_only(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return false;
	return true;
}

/* True when addr already has a row (one row per address: two RCPTs or
 * aliases reaching it make one delivery). Exact: a local part's case may
 * matter to its server (RFC 5321 §2.4), a duplicate costs one copy. */
static bool
row_seen(const struct smtp_delivery *d, const char *addr)
{
	for (size_t i = 0; i < d->n_rows; i++)
		if (strcmp(d->rows[i].addr, addr) == 0)
			return true;
	return false;
}

/* One row per distinct remote address. A target an alias expanded gets
 * the address the client gave as its ORCPT when none was given, so that
 * a notice names what the sender wrote (RFC 3461 §4.2). */
static void
rows_remote(const struct smtp_tx *tx, struct smtp_delivery *d)
{
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		const struct smtp_rcpt *r = &tx->rcpts[i];

		for (size_t k = 0; k < r->n_remote; k++) {
			struct store_queue_rcpt_new *q = &d->rows[d->n_rows];
			char *o = d->orcpts[d->n_rows];
			bool alias = strcasecmp(r->remote[k], r->addr) != 0;

			if (row_seen(d, r->remote[k]))
				continue;
			q->addr = r->remote[k];
			if (r->orcpt[0] == '\0' && alias)
				snprintf(o, sizeof(d->orcpts[0]), "%s;%s",
					 ascii_only(r->addr) ? "rfc822" : "utf-8",
					 r->addr);
			else
				snprintf(o, sizeof(d->orcpts[0]), "%s",
					 r->orcpt);
			q->orcpt = o;
			q->notify = r->notify;
			q->state = STORE_QUEUE_PENDING;
			q->notice = STORE_NOTICE_NONE;
			d->n_rows++;
		}
	}
	d->n_remote = d->n_rows;
}

/* A local recipient whose sender asked NOTIFY=SUCCESS: queued as done,
 * owing only the "delivered" notice (RFC 3461 §5.2.2). Never for the
 * null sender: nobody could receive the notice (RFC 3461 §6.2, RFC 5321
 * §4.5.5). */
/* RFC 8689 §3: "TLS-Required: No" asks that the recipient domain's TLS
 * policy (DANE, MTA-STS) not hold the message back; REQUIRETLS, when
 * given, wins (§4.1: the field is then ignored). */
static bool
tls_required_no(const struct smtp_tx *tx)
{
	const char *h = (const char *)tx->hdr.data;
	struct mime_field f;
	size_t pos = 0;

	while (h != NULL && mime_next_field(h, tx->hdr.len, &pos, &f) == 1) {
		const char *v = f.value;
		size_t n = f.value_len;

		if (!str_ieq(f.name, f.name_len, "TLS-Required"))
			continue;
		while (n > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			n--;
		}
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' ||
				 v[n - 1] == '\r' || v[n - 1] == '\n'))
			n--;
		return str_ieq(v, n, "No");
	}
	return false;
}

static void
rows_success(const struct smtp_tx *tx, struct smtp_delivery *d)
{
	if (tx->from[0] == '\0')
		return;
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		const struct smtp_rcpt *r = &tx->rcpts[i];
		struct store_queue_rcpt_new *q = &d->rows[d->n_rows];

		if (r->n_accounts == 0 || !(r->notify & SMTP_NOTIFY_SUCCESS) ||
		    row_seen(d, r->addr))
			continue;
		q->addr = r->addr;
		q->orcpt = r->orcpt;
		q->notify = r->notify;
		q->state = STORE_QUEUE_SENT;
		q->notice = STORE_NOTICE_DELIVERED;
		q->status = "2.0.0";
		q->reply = "delivered to mailbox";
		d->n_rows++;
	}
}

/* The queue rows of the transaction and its envelope. 0 or -1. */
static int
collect_rows(struct smtp_session *s, struct smtp_delivery *d)
{
	const struct smtp_tx *tx = s->tx;
	size_t max = 0;

	for (size_t i = 0; i < tx->n_rcpts; i++)
		max += tx->rcpts[i].n_remote + 1;
	d->rows = calloc(max, sizeof(*d->rows));
	d->orcpts = calloc(max, sizeof(*d->orcpts));
	if (d->rows == NULL || d->orcpts == NULL)
		return -1;
	rows_remote(tx, d);
	rows_success(tx, d);
	memcpy(d->qm.qid, d->msgid, sizeof(d->qm.qid));
	d->qm.from = tx->from;
	if (d->n_remote > 0)
		smtp_srs_sender(s, d->srs_from, sizeof(d->srs_from));
	d->qm.envid = tx->envid[0] != '\0' ? tx->envid : NULL;
	d->qm.ret = (enum store_ret)tx->dsn_ret;
	d->qm.flags = (tx->smtputf8 ? STORE_QMSG_SMTPUTF8 : 0) |
		      (tx->body_8bit || tx->seen_8bit ? STORE_QMSG_8BIT : 0) |
		      (tx->requiretls ? STORE_QMSG_REQUIRETLS
		       : tls_required_no(tx) ? STORE_QMSG_TLS_OPTIONAL : 0);
	d->qm.rcpts = d->rows;
	d->qm.n_rcpts = d->n_rows;
	return 0;
}

/* Commit thread, one savepoint: the local copies and the queue rows
 * together. */
static int
deliver_apply(struct store *st, void *arg, const char **err_r)
{
	struct smtp_delivery *d = arg;
	int64_t qmsg_id;

	if (d->n_accounts > 0 && store_deliver(st, &d->sd, err_r) < 0)
		return -1;
	if (d->n_rows == 0)
		return 0;
	d->qm.prefix = d->prefix.len > 0 ? (const char *)d->prefix.data : NULL;
	d->qm.from = smtp_srs_choose(st, d->qm.from, d->srs_from);
	snprintf(d->qm.blob, sizeof(d->qm.blob), "%s", d->sd.blob);
	/* The stored octets go with the row the first reference makes. */
	if (d->n_accounts == 0) {
		d->qm.data = d->sd.data;
		d->qm.data_len = d->sd.data_len;
	}
	d->qm.size = d->sd.size;
	d->qm.created = d->sd.internaldate;
	return store_queue_add(st, &d->qm, &qmsg_id, err_r);
}

/* A delivery that was not committed leaves no file behind. */
static void
deliver_after(void *arg, bool ok)
{
	struct smtp_delivery *d = arg;

	if (!ok)
		blob_unlink(d->s->base.srv->cfg.data_dir, d->path);
}

/* One "deliver" line per stored copy (an account reached twice, say
 * directly and through an alias, holds one copy), naming the first
 * recipient address that reached it. */
static void
deliver_log(struct smtp_session *s, struct smtp_delivery *d)
{
	log_info(s->base.id, "accept", " msg=%s message_id=%s from=%s "
		 "size=%llu rcpts=%zu", d->msgid, log_qs(d->header_id),
		 log_qs(s->tx->from), (unsigned long long)d->size,
		 s->tx->n_rcpts);
	metrics_inc(METRICS_MSG_ACCEPTED);
	s->accepted++;
	for (size_t m = 0; m < d->n_accounts; m++) {
		metrics_inc(METRICS_MSG_STORED);
		const char *rcpt = "";

		for (size_t i = 0; i < s->tx->n_rcpts && rcpt[0] == '\0'; i++)
			for (size_t k = 0; k < s->tx->rcpts[i].n_accounts; k++)
				if (s->tx->rcpts[i].accounts[k] ==
				    d->accounts[m]) {
					rcpt = s->tx->rcpts[i].addr;
					break;
				}
		log_info(s->base.id, "deliver", " msg=%s rcpt=%s account=%lld "
			 "mailbox=%s", d->msgid, log_qs(rcpt),
			 (long long)d->accounts[m],
			 s->tx->junk ? STORE_DELIVER_JUNK : "INBOX");
	}
	for (size_t i = 0; i < d->n_remote; i++)
		log_info(s->base.id, "queue", " msg=%s rcpt=%s notify=%u "
			 "orcpt=%s", d->msgid, log_qs(d->rows[i].addr),
			 d->rows[i].notify, log_qs(d->rows[i].orcpt));
}

static void
deliver_done(void *arg, int result)
{
	struct smtp_delivery *d = arg;
	struct smtp_session *s = d->s;

	server_busy_end(s->base.srv);
	/* The transaction outlives a vanished client until we unref. */
	if (result == 0) {
		deliver_log(s, d);
		for (size_t i = 0; i < d->n_accounts; i++)
			server_notify_account(s->base.srv, d->accounts[i]);
		/* Rows past n_remote are local ones owing a success
		 * notice. */
		if (d->n_rows > 0)
			server_queue_kick(s->base.srv,
					  d->n_rows > d->n_remote);
	}
	if (s->base.conn != NULL) {
		if (result == 0)
			smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", d->msgid);
		else
			smtp_reply(s, 451, "4.3.0", "Temporary failure storing "
				   "the message, try again later");
		smtp_tx_free(s);
	}
	delivery_free(d);
	if (!session_unref(&s->base))
		smtp_session_resume(s);
}

/* The parse touches every page of the mapping, and mapped pages count in
 * the process's resident set while mapped (page cache, not heap, but
 * still). Messages above this size are parsed one at a time per process,
 * so twenty 30 MB messages ending together map 30 MB, not 600 MB. The
 * lock is process-wide because the bound is; only io workers take it,
 * never the loop (they wait at most one parse, as they wait on fdatasync). */
#define SMTP_META_SERIAL_SIZE (1024 * 1024)
static pthread_mutex_t smtp_meta_lock = PTHREAD_MUTEX_INITIALIZER;

/* IMAP's view of the message is computed once, here, on the io worker,
 * from the complete file mapped read-only: no copy of the message on the
 * heap (mime.h). Without it (no memory, mmap failed) the message is still
 * delivered; IMAP computes the metadata on first use. */
static void
delivery_meta_of(struct smtp_delivery *d, const char *msg, size_t size)
{
	if (mime_compute_meta(msg, size, &d->meta.envelope, &d->meta.body,
			      &d->meta.bodystructure, &d->meta.partmap,
			      &d->meta.partmap_len) < 0)
		return;
	/* Without them (too big) SEARCH reads the message instead. */
	(void)mime_search_fields(msg, size, &d->meta.fields,
				 &d->meta.fields_len);
	d->sd.meta = &d->meta;
}

/* The Message-ID of a message nobody reads here, from its first octets. */
static void
delivery_head_id(struct smtp_delivery *d, int fd)
{
	char head[SMTP_LOG_HEAD_SCAN];
	ssize_t n = pread(fd, head, sizeof(head), 0);

	if (n > 0)
		mime_message_id(head, (size_t)n, d->header_id,
				sizeof(d->header_id));
}

/* Worker: the DKIM signatures of the message (msg NULL: mapped from fd),
 * or the ARC seal of a forward (smtp_arc.h). Without them (no key for its
 * From: domain, an error) it is queued unsigned, and the log says why. */
static void
delivery_sign(struct smtp_delivery *d, int fd, const char *msg, size_t size)
{
	void *map = NULL;
	const char *why = NULL;
	int rc;

	if (msg == NULL) {
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			log_error(NULL, "dkim_sign", " msg=%s reason=%s",
				  d->msgid, log_qs("cannot map the message"));
			return;
		}
		msg = map;
	}
	rc = d->kr != NULL ? dkim_keyring_sign(d->kr, msg, size, time(NULL),
					       &d->prefix, &why) : 1;
	if (rc > 0 && buf_append(&d->prefix, "", 1) == 0)
		d->prefix.len--; /* NUL-terminated for the store */
	else if (rc > 0)
		rc = -1, why = "signatures too long";
	if (rc <= 0)
		buf_reset(&d->prefix);
	if (rc < 0)
		log_error(NULL, "dkim_sign", " msg=%s reason=%s", d->msgid,
			  log_qs(why));
	else if (rc == 0)
		log_info(NULL, "dkim_unsigned", " msg=%s reason=%s", d->msgid,
			 log_qs(why));
	if (d->seal != NULL)
		smtp_arc_seal_run(d->seal, msg, size, &d->prefix, d->msgid);
	if (map != NULL)
		munmap(map, size);
}

static void
delivery_sign_work(void *arg)
{
	struct smtp_delivery *d = arg;

	delivery_sign(d, -1, smtp_spool_data(d->spool), d->size);
}

/* A message that fit in one spool buffer is parsed from that buffer: a
 * mapping costs a page fault per page and, at munmap, a TLB shootdown
 * that interrupts every CPU running one of our threads (the loop too). */
static void
delivery_meta(void *arg, int fd, const void *data, size_t size)
{
	struct smtp_delivery *d = arg;
	bool serial = size > SMTP_META_SERIAL_SIZE;
	void *map;

	if (size == 0)
		return;
	if (d->kr != NULL || d->seal != NULL)
		delivery_sign(d, fd, data, size);
	if (data != NULL)
		mime_message_id(data, size, d->header_id, sizeof(d->header_id));
	/* Only remote recipients: nobody reads it over IMAP here. */
	if (d->n_accounts == 0) {
		if (data == NULL)
			delivery_head_id(d, fd);
		return;
	}
	if (data != NULL) {
		delivery_meta_of(d, data, size);
		return;
	}
	if (serial)
		pthread_mutex_lock(&smtp_meta_lock);
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map != MAP_FAILED) {
		(void)madvise(map, size, MADV_SEQUENTIAL);
		mime_message_id(map, size, d->header_id, sizeof(d->header_id));
		delivery_meta_of(d, map, size);
		munmap(map, size);
	}
	if (serial)
		pthread_mutex_unlock(&smtp_meta_lock);
}

/* Commit thread, before the batch's fdatasyncs: the metadata of a
 * message the loop wrote, from the spool's copy. */
static void
deliver_before(void *arg)
{
	struct smtp_delivery *d = arg;
	const void *data = smtp_spool_data(d->spool);

	if (d->size == 0)
		return;
	/* For the accept line, whoever the recipients are. */
	mime_message_id(data, d->size, d->header_id, sizeof(d->header_id));
	if (d->n_accounts > 0)
		delivery_meta_of(d, data, d->size);
}

/* Loop: the file is complete and on disk (or failed), or the message was
 * finished in memory (d->here) and goes into the store with its rows. */
static void
blob_done(void *arg)
{
	struct smtp_delivery *d = arg;
	struct commit_job job = { 0 };
	int err = smtp_spool_error(d->spool);

	if (err != 0) {
		log_error(d->s->base.id, "blob_write", " msg=%s errno=%d",
			  d->msgid, err);
		deliver_done(d, -1);
		return;
	}
	snprintf(d->path, sizeof(d->path), "%s", smtp_spool_path(d->spool));
	d->size = smtp_spool_size(d->spool);
	/* From now on the commit owns the file (deliver_after). */
	if (d->here) {
		job.before = deliver_before;
		d->sd.data = smtp_spool_data(d->spool);
		d->sd.data_len = d->size;
	} else {
		smtp_spool_free(&d->spool, true);
		snprintf(job.sync_blob, sizeof(job.sync_blob), "%s", d->path);
	}
	snprintf(d->sd.blob, sizeof(d->sd.blob), "%s", d->path);
	d->sd.size = (int64_t)d->size;
	d->sd.internaldate = (int64_t)time(NULL);
	d->sd.accounts = d->accounts;
	d->sd.n_accounts = d->n_accounts;
	/* DMARC quarantine (smtp_mailauth.c). */
	d->sd.mailbox = d->s->tx->junk ? STORE_DELIVER_JUNK : NULL;
	job.apply = deliver_apply;
	job.after = deliver_after;
	job.done = deliver_done;
	job.arg = d;
	commit_submit(d->s->base.srv->commit, &job);
}

void
smtp_deliver(struct smtp_session *s)
{
	struct smtp_delivery *d = calloc(1, sizeof(*d));

	if (d != NULL)
		memcpy(d->msgid, s->tx->msgid, sizeof(d->msgid));
	if (d == NULL || collect_accounts(s, d) < 0 ||
	    collect_rows(s, d) < 0) {
		if (d != NULL)
			delivery_free(d);
		smtp_reply(s, 451, "4.3.0", "Out of memory");
		smtp_tx_free(s);
		return;
	}
	d->s = s;
	buf_init(&d->prefix, STORE_QUEUE_PREFIX_MAX + 1);
	/* Only what our users send is signed (never mail relayed for
	 * others, e.g. forwarded by an alias). */
	if (s->authed && d->n_remote > 0 && s->base.srv->cfg.dkim_sign)
		d->kr = dkim_keyring_get(&s->base.srv->dkim);
	else if (d->n_remote > 0)
		d->seal = smtp_arc_seal_new(s);
	d->spool = s->tx->spool;          /* moved: the delivery owns it */
	s->tx->spool = NULL;
	session_ref(&s->base);
	server_busy_begin(s->base.srv);
	conn_pause(s->base.conn);
	if (smtp_spool_finish_here(d->spool)) {
		d->here = true;
		d->size = smtp_spool_size(d->spool);
		if ((d->kr != NULL || d->seal != NULL) && d->size > 0)
			workers_submit(s->base.srv->workers,
				       delivery_sign_work, blob_done, d);
		else
			blob_done(d); /* straight to the commit */
	} else {
		smtp_spool_finish(d->spool, delivery_meta, blob_done, d);
	}
}
