/*
 * Notices to senders (RFC 3464 DSNs): for each queued message that owes
 * some recipient's notice (failed, delayed, delivered, relayed), one DSN
 * covering all of them, built on a worker from the original file
 * (dsn.h), written and fdatasync'ed as a message file of its own, then
 * committed together with the clearing of the notices: into the INBOX
 * when the sender is hosted here, else queued with the null sender
 * (RFC 5321 §4.5.5) and the NOTICE flag.
 *
 * Never a notice to the null sender: a failed message that had none (a
 * notice itself, or another server's bounce) is reported to
 * postmaster@hostname once, flagged POSTMASTER; a failure of that one is
 * dropped (RFC 3461 §6.2 warns against notice loops).
 *
 * A notice cleared in the store is checked against the value it was
 * built from, inside the commit: an attempt that changed it meanwhile
 * (a delay notice overtaken by the failure) keeps the newer one owed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../mailauth/dkim.h"
#include "../mailauth/srs.h"
#include "../store/blob.h"
#include "../store/commit.h"
#include "../util/buf.h"
#include "dsn.h"
#include "queue_int.h"

/* What a DSN adds to the original it returns (headers, report). */
#define QUEUE_DSN_OVERHEAD (256 * 1024)

struct qnotices;

/* One DSN (or one message whose notices are dropped). */
struct qnote {
	struct qnotices *batch;
	int64_t msg_id;
	char orig_qid[STORE_QUEUE_ID_LEN + 1];
	char qid[STORE_QUEUE_ID_LEN + 1];
	char to[320 + 1];
	unsigned flags;          /* of the queued DSN */
	int64_t *ids;            /* recipients covered */
	enum store_queue_notice *seen; /* their notice when read */
	size_t n;
	char first_action[16];
	char path[BLOB_PATH_MAX];/* "" when no DSN is sent */
	int64_t size;
	int64_t *accounts;
	size_t n_accounts;
	char **remote;           /* queue the DSN to these */
	bool used;               /* the commit stored the DSN */
	char **orphans;
	char *prefix;            /* its DKIM-Signature fields, or NULL */
};

struct qnotices {
	struct queue *q;
	const struct config *cfg;
	struct qnote **notes;
	size_t n_notes;
	struct dkim_keyring *kr; /* DKIM keys to sign DSNs, or NULL */
	size_t n_entries;        /* as read: a full batch reads again */
	size_t pending;          /* commits in flight */
	bool queued;             /* a DSN went into the queue */
};

static const char *
action_name(enum store_queue_notice a)
{
	switch (a) {
	case STORE_NOTICE_FAILED: return "failed";
	case STORE_NOTICE_DELAYED: return "delayed";
	case STORE_NOTICE_DELIVERED: return "delivered";
	case STORE_NOTICE_RELAYED: return "relayed";
	default: return "none";
	}
}

static void
note_free(struct qnote *n)
{
	if (n == NULL)
		return;
	free(n->ids);
	free(n->seen);
	free(n->accounts);
	store_strv_free(n->remote);
	store_strv_free(n->orphans);
	free(n->prefix);
	free(n);
}

/* ---- Worker: build ---------------------------------------------------- */

static void
note_rcpt(const struct store_queue_entry *e, const struct store_queue_rcpt *r,
	  struct dsn_rcpt *d, char *mta, size_t mtalen, int lifetime)
{
	memset(d, 0, sizeof(*d));
	d->final_rcpt = r->addr;
	d->orcpt = r->orcpt[0] ? r->orcpt : NULL;
	d->action = r->notice;
	d->status = r->status[0] ? r->status
				 : r->notice == STORE_NOTICE_FAILED ? "5.0.0"
				 : r->notice == STORE_NOTICE_DELAYED ? "4.0.0"
								     : "2.0.0";
	/* "mx.example.org[192.0.2.1]": the name alone. */
	snprintf(mta, mtalen, "%.*s", (int)strcspn(r->remote_mta, "["),
		 r->remote_mta);
	d->remote_mta = mta[0] ? mta : NULL;
	d->diagnostic = r->reply[0] ? r->reply : NULL;
	d->last_attempt = (time_t)r->last_attempt;
	d->will_retry_until = (time_t)(e->msg.created + lifetime);
}

/* The original's octets, mapped read-only (*map_r NULL when empty). */
static int
note_map(struct store *st, const struct config *cfg, const char *blob,
	 void **map_r, size_t *len_r)
{
	struct stat sb;
	int fd = blob_open(st, cfg->data_dir, blob);

	*map_r = NULL;
	*len_r = 0;
	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return -1;
	}
	if (sb.st_size > 0) {
		*map_r = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED,
			      fd, 0);
		if (*map_r == MAP_FAILED) {
			*map_r = NULL;
			close(fd);
			return -1;
		}
		*len_r = (size_t)sb.st_size;
	}
	close(fd);
	return 0;
}

static bool
memchr_8bit(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] & 0x80)
			return true;
	return false;
}

/* The DKIM signatures of a DSN (dsn.c's From: is postmaster of our host
 * name), when its domain has keys; unsigned otherwise. */
static void
note_sign(struct qnotices *b, struct qnote *n, const struct buf *msg)
{
	struct buf sig;
	const char *why = NULL;
	int rc;

	if (b->kr == NULL)
		return;
	buf_init(&sig, STORE_QUEUE_PREFIX_MAX + 1);
	rc = dkim_keyring_sign(b->kr, (const char *)msg->data, msg->len,
			       time(NULL), &sig, &why);
	if (rc > 0 && buf_append(&sig, "", 1) == 0) {
		n->prefix = (char *)sig.data; /* taken */
		return;
	}
	if (rc != 0)
		log_error(NULL, "dkim_sign", " dsn_to=%s reason=%s",
			  log_qs(n->to), log_qs(why ? why : "too long"));
	buf_fini(&sig);
}

static int
note_write(struct qnotices *b, struct store *st,
	   const struct store_queue_entry *e, struct qnote *n,
	   const struct dsn_rcpt *dr)
{
	const struct config *cfg = b->cfg;
	char postmaster[320];
	struct dsn_info info = { 0 };
	struct buf out;
	void *map;
	size_t len, skip, head_len = 0;
	char head[BLOB_DELIVERY_HEAD_MAX];
	int rc = -1;

	if (note_map(st, cfg, e->msg.blob, &map, &len) < 0)
		return -1;
	snprintf(postmaster, sizeof(postmaster), "postmaster@%s",
		 cfg->hostname);
	info.reporting_mta = cfg->hostname;
	info.envid = e->msg.envid[0] ? e->msg.envid : NULL;
	info.to = n->to;
	info.postmaster = postmaster;
	info.qid = e->msg.qid;
	info.arrival = (time_t)e->msg.created;
	/* RFC 8689 §4.3: a REQUIRETLS message comes back as if RET=HDRS,
	 * and its notice asks for TLS on its way too. */
	info.ret = e->msg.flags & STORE_QMSG_REQUIRETLS ? STORE_RET_HDRS
							: e->msg.ret;
	if (e->msg.flags & STORE_QMSG_REQUIRETLS)
		n->flags |= STORE_QMSG_REQUIRETLS;
	info.smtputf8 = (e->msg.flags & STORE_QMSG_SMTPUTF8) != 0;
	info.now = time(NULL);
	buf_init(&out, cfg->max_message_size + QUEUE_DSN_OVERHEAD);
	/* The original as it was relayed: without our delivery lines. */
	skip = map != NULL ? blob_delivery_prefix(map, len) : 0;
	/* Delivered here: Return-Path <> (RFC 3464 §2 notices have the
	 * null sender), and Delivered-To when one mailbox gets it. */
	if (n->n_accounts > 0)
		head_len = blob_delivery_head("", n->n_accounts == 1 ? n->to
					      : NULL, head, sizeof(head));
	if (dsn_build(&info, dr, n->n, map != NULL ? (char *)map + skip : NULL,
		      len - skip, cfg->max_message_size, &out) == 0 &&
	    blob_write(cfg->data_dir, head, head_len, out.data, out.len,
		       n->path, NULL) == 0) {
		n->size = (int64_t)(head_len + out.len);
		/* Sent on like any message: 8-bit text (an address or a
		 * reply in UTF-8, RFC 6533) needs 8BITMIME or a downgrade,
		 * a UTF-8 address needs SMTPUTF8. */
		if (memchr_8bit(out.data, out.len))
			n->flags |= STORE_QMSG_8BIT;
		if (memchr_8bit((const uint8_t *)n->to, strlen(n->to)))
			n->flags |= STORE_QMSG_SMTPUTF8;
		note_sign(b, n, &out);
		rc = 0;
	}
	buf_fini(&out);
	if (map != NULL)
		munmap(map, len);
	return rc;
}

/* A forward queued with our SRS address as its sender (smtp_srs.h): its
 * notice goes where a bounce to that address would, to the sender it
 * stands for. */
static void
note_srs(const struct server *srv, char *to, size_t cap)
{
	char orig[sizeof(((struct qnote *)0)->to)];
	const char *why = NULL;

	if (srv->srs_ready && srs_reverse(srv->srs_secret, to, time(NULL),
					  orig, sizeof(orig), &why) == 1)
		snprintf(to, cap, "%s", orig);
}

/* Whom the DSN goes to, and how: 1 send, 0 drop, -1 try later. */
static int
note_route(struct qnotices *b, struct store *st,
	   const struct store_queue_entry *e, struct qnote *n)
{
	enum store_rcpt_status rs;

	if (e->msg.flags & STORE_QMSG_POSTMASTER)
		return 0;
	n->flags = STORE_QMSG_NOTICE;
	if (e->msg.from[0] == '\0') {
		snprintf(n->to, sizeof(n->to), "postmaster@%s",
			 b->cfg->hostname);
		n->flags |= STORE_QMSG_POSTMASTER;
	} else {
		snprintf(n->to, sizeof(n->to), "%s", e->msg.from);
		note_srs(b->q->srv, n->to, sizeof(n->to));
	}
	rs = store_resolve_rcpt(st, n->to, &n->accounts, &n->n_accounts,
				&n->remote);
	if (rs == STORE_RCPT_ERROR)
		return -1;
	if (rs == STORE_RCPT_NO_USER) {
		log_warn(NULL, "dsn_dropped", " orig=%s to=%s reason=%s",
			 e->msg.qid, log_qs(n->to), "no such user");
		return 0;
	}
	if (rs == STORE_RCPT_NOT_HOSTED) {
		store_strv_free(n->remote);
		n->remote = calloc(2, sizeof(char *));
		if (n->remote == NULL ||
		    (n->remote[0] = strdup(n->to)) == NULL)
			return -1;
	}
	return n->n_accounts > 0 || (n->remote && n->remote[0]) ? 1 : 0;
}

static struct qnote *
note_build(struct qnotices *b, struct store *st,
	   const struct store_queue_entry *e)
{
	struct qnote *n = calloc(1, sizeof(*n));
	struct dsn_rcpt *dr = calloc(e->n_rcpts + 1, sizeof(*dr));
	char (*mta)[256] = calloc(e->n_rcpts + 1, sizeof(*mta));
	int route;

	if (n == NULL || dr == NULL || mta == NULL ||
	    (n->ids = calloc(e->n_rcpts + 1, sizeof(*n->ids))) == NULL ||
	    (n->seen = calloc(e->n_rcpts + 1, sizeof(*n->seen))) == NULL)
		goto fail;
	n->batch = b;
	n->msg_id = e->msg.id;
	memcpy(n->orig_qid, e->msg.qid, sizeof(n->orig_qid));
	for (size_t i = 0; i < e->n_rcpts; i++) {
		const struct store_queue_rcpt *r = &e->rcpts[i];

		if (r->notice == STORE_NOTICE_NONE)
			continue;
		note_rcpt(e, r, &dr[n->n], mta[n->n], sizeof(mta[0]),
			  b->cfg->queue_lifetime);
		n->ids[n->n] = r->id;
		n->seen[n->n++] = r->notice;
	}
	if (n->n == 0)
		goto fail;
	snprintf(n->first_action, sizeof(n->first_action), "%s",
		 action_name(n->seen[0]));
	route = note_route(b, st, e, n);
	if (route < 0 || (route == 1 && note_write(b, st, e, n, dr) < 0)) {
		log_error(NULL, "dsn_build", " orig=%s to=%s", e->msg.qid,
			  log_qs(n->to));
		goto fail;
	}
	blob_new_id(n->qid);
	free(dr);
	free(mta);
	return n;
fail:
	free(dr);
	free(mta);
	note_free(n);
	return NULL;
}

static void
notices_work(void *arg)
{
	struct qnotices *b = arg;
	struct store *st = store_thread_handle(b->cfg);
	struct store_queue_entry *e = NULL;
	const char *err = NULL;
	size_t n = 0;

	if (st == NULL ||
	    store_queue_notices(st, QUEUE_NOTICE_BATCH, &e, &n, &err) < 0) {
		log_error(NULL, "dsn_read", " reason=%s",
			  log_qs(err ? err : "no store handle"));
		return;
	}
	b->n_entries = n;
	b->notes = calloc(n + 1, sizeof(*b->notes));
	for (size_t i = 0; i < n && b->notes != NULL; i++) {
		struct qnote *note = note_build(b, st, &e[i]);
		if (note != NULL)
			b->notes[b->n_notes++] = note;
	}
	store_queue_entries_free(e, n);
}

/* ---- Commit ------------------------------------------------------------ */

/* The covered recipients whose notice is still the one reported. */
static size_t
note_still_owed(struct store *st, struct qnote *n)
{
	struct store_queue_entry *e = calloc(1, sizeof(*e));
	size_t kept = 0;

	if (e == NULL || store_queue_get(st, n->orig_qid, e) != 1) {
		free(e);
		return 0;
	}
	for (size_t i = 0; i < n->n; i++)
		for (size_t k = 0; k < e->n_rcpts; k++)
			if (e->rcpts[k].id == n->ids[i] &&
			    e->rcpts[k].notice == n->seen[i]) {
				n->ids[kept] = n->ids[i];
				n->seen[kept++] = n->seen[i];
				break;
			}
	store_queue_entries_free(e, 1);
	n->n = kept;
	return kept;
}

static int
note_store(struct store *st, struct qnote *n, const char **err_r)
{
	struct store_delivery sd = { 0 };
	struct store_queue_new qm = { 0 };
	struct store_queue_rcpt_new *rows = NULL;
	size_t nr = 0;
	int64_t id;
	int rc = 0;

	snprintf(sd.blob, sizeof(sd.blob), "%s", n->path);
	sd.size = n->size;
	sd.internaldate = queue_now();
	sd.accounts = n->accounts;
	sd.n_accounts = n->n_accounts;
	if (n->n_accounts > 0 && store_deliver(st, &sd, err_r) < 0)
		return -1;
	while (n->remote != NULL && n->remote[nr] != NULL)
		nr++;
	if (nr == 0)
		return 0;
	if ((rows = calloc(nr, sizeof(*rows))) == NULL) {
		*err_r = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < nr; i++)
		rows[i].addr = n->remote[i];
	memcpy(qm.qid, n->qid, sizeof(qm.qid));
	snprintf(qm.blob, sizeof(qm.blob), "%s", n->path);
	qm.size = n->size;
	qm.from = "";
	qm.flags = n->flags;
	qm.created = queue_now();
	qm.prefix = n->prefix;
	qm.rcpts = rows;
	qm.n_rcpts = nr;
	rc = store_queue_add(st, &qm, &id, err_r);
	free(rows);
	return rc;
}

static int
note_apply(struct store *st, void *arg, const char **err_r)
{
	struct qnote *n = arg;

	n->used = false;
	if (note_still_owed(st, n) == 0)
		return 0;
	if (n->path[0] != '\0') {
		if (note_store(st, n, err_r) < 0)
			return -1;
		n->used = true;
	}
	if (store_queue_notice_done(st, n->ids, n->n, err_r) < 0)
		return -1;
	return store_queue_retire(st, n->msg_id, &n->orphans, err_r) < 0 ? -1
									  : 0;
}

/* Commit thread: a DSN file no row took is removed. */
static void
note_after(void *arg, bool ok)
{
	struct qnote *n = arg;

	if (n->path[0] != '\0' && (!ok || !n->used))
		blob_unlink(n->batch->cfg->data_dir, n->path);
}

static void
notices_finish(struct qnotices *b)
{
	struct queue *q = b->q;
	bool again = b->n_entries == QUEUE_NOTICE_BATCH && b->n_notes > 0;

	queue_job_end(q);
	q->notice_busy = false;
	if (b->queued) {
		q->round_want = true;
		queue_round_maybe(q);
	}
	free(b->notes);
	dkim_keyring_unref(&b->kr);
	free(b);
	if (again || q->notice_want) {
		q->notice_want = false;
		queue_notice_start(q);
	}
}

static void
note_done(void *arg, int result)
{
	struct qnote *n = arg;
	struct qnotices *b = n->batch;
	struct queue *q = b->q;

	if (result == 0 && n->used) {
		log_info(NULL, "dsn", " msg=%s orig=%s to=%s action=%s "
			 "rcpts=%zu delivery=%s", n->qid, n->orig_qid,
			 log_qs(n->to), n->first_action, n->n,
			 n->n_accounts > 0 ? "local" : "queued");
		for (size_t i = 0; i < n->n_accounts; i++)
			server_notify_account(q->srv, n->accounts[i]);
		if (n->remote != NULL && n->remote[0] != NULL)
			b->queued = true;
	} else if (result != 0) {
		log_error(NULL, "dsn_commit", " orig=%s", n->orig_qid);
	}
	note_free(n);
	if (--b->pending == 0)
		notices_finish(b);
}

static void
notices_done(void *arg)
{
	struct qnotices *b = arg;
	struct queue *q = b->q;

	if (q->stopping || q->srv->commit == NULL || b->n_notes == 0) {
		for (size_t i = 0; i < b->n_notes; i++) {
			if (b->notes[i]->path[0] != '\0')
				blob_unlink(b->cfg->data_dir,
					    b->notes[i]->path);
			note_free(b->notes[i]);
		}
		b->n_notes = 0;
		notices_finish(b);
		return;
	}
	b->pending = b->n_notes;
	for (size_t i = 0; i < b->n_notes; i++) {
		struct qnote *n = b->notes[i];
		struct commit_job job = { 0 };

		job.apply = note_apply;
		job.after = note_after;
		job.done = note_done;
		job.arg = n;
		job.orphans = &n->orphans;
		snprintf(job.sync_blob, sizeof(job.sync_blob), "%s", n->path);
		commit_submit(q->srv->commit, &job);
	}
}

void
queue_notice_start(struct queue *q)
{
	struct qnotices *b;

	if (q->stopping || q->draining || !q->started ||
	    q->srv->workers == NULL)
		return;
	if (q->notice_busy) {
		q->notice_want = true;
		return;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return;
	q->notice_busy = true;
	q->notice_want = false;
	b->q = q;
	b->cfg = &q->srv->cfg;
	if (b->cfg->dkim_sign)
		b->kr = dkim_keyring_get(&q->srv->dkim);
	queue_job_begin(q);
	workers_submit(q->srv->workers, notices_work, notices_done, b);
}
