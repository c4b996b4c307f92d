/*
 * SQLite backend: mailboxes and messages. Delivery takes each message's
 * UID from its mailbox's UIDNEXT and its MODSEQ from HIGHESTMODSEQ in one
 * UPDATE (RFC 9051 §2.3.1.1: UIDs strictly ascend and are never reused;
 * RFC 7162 §3.1: every change gets a higher mod-sequence).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "blob.h"
#include "store_sqlite_int.h"

/* RFC 6154 §2: the special-use attributes of the standard mailboxes. */
static const struct {
	const char *name;
	const char *special_use;
} sq_default_mailboxes[] = {
	{ "INBOX", NULL },	  { "Drafts", "\\Drafts" },
	{ "Sent", "\\Sent" },	  { "Junk", "\\Junk" },
	{ "Trash", "\\Trash" },	  { "Archive", "\\Archive" },
};

/* RFC 9051 §2.3.1.1: a mailbox name must never get a UIDVALIDITY it had
 * before. One store-wide counter, at least the current time, gives every
 * new mailbox a value no mailbox ever had (until 2106). */
int
store_sq_uidvalidity_next(struct store *st, uint32_t *v_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_META_GET);
	int64_t last = 0, now = (int64_t)time(NULL), v;
	char text[24];
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, "uidvalidity", -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		last = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	v = last + 1 > now ? last + 1 : now;
	if (v <= 0 || v > (int64_t)UINT32_MAX) {
		store_sq_fail(st, "UIDVALIDITY space exhausted");
		return -1;
	}
	s = store_sq_stmt(st, SQ_META_SET);
	if (s == NULL)
		return -1;
	snprintf(text, sizeof(text), "%lld", (long long)v);
	sqlite3_bind_text(s, 1, "uidvalidity", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
	if (store_sq_exec(s) != SQLITE_DONE)
		goto fail;
	*v_r = (uint32_t)v;
	return 0;
fail:
	store_sq_err(st, "database error");
	return -1;
}

/* The standard mailboxes start subscribed (as in schema version 1). */
static int
sq_subscribe_default(struct store *st, int64_t account_id, const char *name)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_SUB_ADD);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	return store_sq_exec(s) == SQLITE_DONE ? 0 : -1;
}

int
store_sq_mailboxes_create(struct store *st, int64_t account_id,
			  const char **err_r)
{
	size_t n = sizeof(sq_default_mailboxes);

	n /= sizeof(sq_default_mailboxes[0]);
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s;
		uint32_t uidvalidity;

		if (store_sq_uidvalidity_next(st, &uidvalidity) < 0
		    || (s = store_sq_stmt(st, SQ_MAILBOX_ADD)) == NULL) {
			*err_r = st->err;
			return -1;
		}
		sqlite3_bind_int64(s, 1, account_id);
		sqlite3_bind_text(s, 2, sq_default_mailboxes[i].name, -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, uidvalidity);
		if (sq_default_mailboxes[i].special_use != NULL)
			sqlite3_bind_text(s, 4,
					  sq_default_mailboxes[i].special_use,
					  -1, SQLITE_STATIC);
		if (store_sq_exec(s) != SQLITE_DONE
		    || sq_subscribe_default(st, account_id,
					    sq_default_mailboxes[i].name)
			       < 0) {
			*err_r = store_sq_err(st, "database error");
			return -1;
		}
	}
	return 0;
}

int
store_sq_row_ints(struct store *st, sqlite3_stmt *s, int64_t *out, int ncol)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++)
			out[i] = sqlite3_column_int64(s, i);
		rc = store_sq_exec(s);
		if (rc == SQLITE_DONE)
			return 1;
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	store_sq_err(st, "database error");
	return -1;
}

int
store_sq_blob_add(struct store *st, const char *path, int64_t size,
		  int64_t refs, const void *data, size_t data_len,
		  int64_t *blob_id_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_BLOB_ADD);
	int64_t key = 0;

	if (s == NULL)
		return -1;
	if (data != NULL && blob_stored_key(path, &key) < 0) {
		store_sq_fail(st, "invalid stored message path");
		return -1;
	}
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, size);
	sqlite3_bind_int64(s, 3, refs);
	if (store_sq_row_ints(st, s, blob_id_r, 1) <= 0)
		return -1;
	if (data == NULL)
		return 0;
	s = store_sq_stmt(st, SQ_BLOB_DATA_ADD);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, key);
	sqlite3_bind_blob64(s, 2, data, data_len, SQLITE_STATIC);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sq_bump(struct store *st, int64_t mailbox_id, uint32_t n,
	      int64_t unseen, int64_t deleted, int64_t size, uint32_t *uid_r,
	      uint64_t *modseq_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MAILBOX_BUMP);
	int64_t row[2];
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, n);
	sqlite3_bind_int64(s, 3, unseen);
	sqlite3_bind_int64(s, 4, deleted);
	sqlite3_bind_int64(s, 5, size);
	rc = store_sq_row_ints(st, s, row, 2);
	if (rc == 0)
		store_sq_fail(st, "no such mailbox");
	if (rc <= 0)
		return -1;
	/* RFC 9051 §2.3.1.1: UIDs are 32-bit and never reused; a mailbox
	 * that used them all must be re-created (new UIDVALIDITY). The
	 * caller's transaction rolls the bump back. */
	if (row[0] < 1 || row[0] + (int64_t)n - 1 > (int64_t)UINT32_MAX) {
		store_sq_fail(st, "mailbox UID space exhausted");
		return -1;
	}
	*uid_r = (uint32_t)row[0];
	*modseq_r = (uint64_t)row[1];
	return 0;
}

int
store_sq_msg_insert(struct store *st, int64_t mailbox_id, uint32_t uid,
		    int64_t blob_id, int64_t size, int64_t internaldate,
		    uint32_t flags, const char *keywords, uint64_t modseq)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MSG_ADD);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	sqlite3_bind_int64(s, 3, blob_id);
	sqlite3_bind_int64(s, 4, size);
	sqlite3_bind_int64(s, 5, internaldate);
	sqlite3_bind_int64(s, 6, flags);
	sqlite3_bind_text(s, 7, keywords != NULL ? keywords : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, (int64_t)modseq);
	/* RFC 8514 §3: every insert (delivery, APPEND, COPY, MOVE) saves
	 * the message in its mailbox now. */
	sqlite3_bind_int64(s, 9, (int64_t)time(NULL));
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

static int
sq_bind_blob(sqlite3_stmt *s, int col, const void *p, size_t len)
{
	/* A zero-length BLOB, never NULL, for the NOT NULL columns. */
	if (p == NULL || len == 0)
		return sqlite3_bind_zeroblob(s, col, 0);
	return sqlite3_bind_blob64(s, col, p, len, SQLITE_STATIC);
}

static int
sq_meta_exec(struct store *st, sqlite3_stmt *s)
{
	if (store_sq_exec(s) == SQLITE_DONE)
		return 0;
	if (sqlite3_extended_errcode(store_sq(st)->db)
	    == SQLITE_CONSTRAINT_FOREIGNKEY)
		store_sq_fail(st, "no such blob");
	else
		store_sq_err(st, "database error");
	return -1;
}

int
store_sq_meta_put(struct store *st, int64_t blob_id,
		  const struct store_meta *meta)
{
	sqlite3_stmt *s;
	const char *text[3];

	if (meta == NULL)
		return 0;
	text[0] = meta->envelope;
	text[1] = meta->body;
	text[2] = meta->bodystructure;
	for (int i = 0; i < 3; i++) {
		if (text[i] == NULL || text[i][0] == '\0') {
			store_sq_fail(st, "incomplete message metadata");
			return -1;
		}
	}
	s = store_sq_stmt(st, SQ_BLOB_META_PUT);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, blob_id);
	for (int i = 0; i < 3; i++)
		sq_bind_blob(s, 2 + i, text[i], strlen(text[i]));
	sq_bind_blob(s, 5, meta->partmap, meta->partmap_len);
	if (sq_meta_exec(st, s) < 0)
		return -1;
	if (meta->fields == NULL || meta->fields_len == 0)
		return 0;
	if ((s = store_sq_stmt(st, SQ_BLOB_FIELDS_PUT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, blob_id);
	sq_bind_blob(s, 2, meta->fields, meta->fields_len);
	return sq_meta_exec(st, s);
}

/* Appends one copy of the blob to the account's INBOX (or Junk). */
static int
sq_deliver_one(struct store *st, const struct store_delivery *d,
	       int64_t blob_id, int64_t account_id)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MAILBOX_GET);
	int64_t mbox[4];
	uint32_t uid;
	uint64_t modseq;
	int rc;

	if (s == NULL)
		return -1;
	if (d->mailbox != NULL) {
		if (store_sq_mbox_junk(st, account_id, mbox) < 0)
			return -1;
	} else {
		sqlite3_bind_int64(s, 1, account_id);
		sqlite3_bind_text(s, 2, "INBOX", -1, SQLITE_STATIC);
		rc = store_sq_row_ints(st, s, mbox, 1);
		if (rc == 0)
			store_sq_fail(st, "no such user");
		if (rc <= 0)
			return -1;
	}
	/* A delivered message has no flags: it counts as unseen. */
	if (store_sq_bump(st, mbox[0], 1, 1, 0, d->size, &uid, &modseq) < 0)
		return -1;
	return store_sq_msg_insert(st, mbox[0], uid, blob_id, d->size,
				   d->internaldate, 0, "", modseq);
}

static int
sq_deliver_all(struct store *st, const struct store_delivery *d)
{
	int64_t blob_id;

	if (store_sq_blob_add(st, d->blob, d->size, (int64_t)d->n_accounts,
			      d->data, d->data_len, &blob_id) < 0)
		return -1;
	/* IMAP FETCH never parses the file again. */
	if (store_sq_meta_put(st, blob_id, d->meta) < 0)
		return -1;
	for (size_t i = 0; i < d->n_accounts; i++) {
		if (sq_deliver_one(st, d, blob_id, d->accounts[i]) < 0)
			return -1;
	}
	return 0;
}

int
store_sqlite_deliver(struct store *st, const struct store_delivery *d,
		     const char **err_r)
{
	bool own;

	if (d->n_accounts == 0 || d->blob[0] == '\0') {
		*err_r = store_sq_fail(st, "delivery without recipients");
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	if (sq_deliver_all(st, d) < 0) {
		*err_r = st->err;
		store_sq_op_end(st, own, false, err_r);
		return -1;
	}
	return store_sq_op_end(st, own, true, err_r);
}

int
store_sqlite_mailbox_info(struct store *st, int64_t account_id,
			  const char *mailbox,
			  struct store_mailbox_info *info_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MAILBOX_GET);
	int64_t row[4];
	int rc;

	if (s == NULL)
		return -1;
	/* RFC 9051 §5.1: INBOX is case-insensitive, other names are not. */
	if (strcasecmp(mailbox, "INBOX") == 0)
		mailbox = "INBOX";
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, mailbox, -1, SQLITE_STATIC);
	rc = store_sq_row_ints(st, s, row, 4);
	if (rc == 1) {
		info_r->id = row[0];
		info_r->uidvalidity = (uint32_t)row[1];
		info_r->uidnext = (uint32_t)row[2];
		info_r->highestmodseq = (uint64_t)row[3];
	}
	return rc;
}

static void
sq_msg_from_row(sqlite3_stmt *s, struct store_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(s, 0);
	m->uid = (uint32_t)sqlite3_column_int64(s, 1);
	m->flags = (uint32_t)sqlite3_column_int64(s, 2);
	m->modseq = (uint64_t)sqlite3_column_int64(s, 3);
	m->size = sqlite3_column_int64(s, 4);
	m->internaldate = sqlite3_column_int64(s, 5);
	snprintf(m->blob, sizeof(m->blob), "%s",
		 (const char *)sqlite3_column_text(s, 6));
}

static int
sq_msg_row(sqlite3_stmt *s, void *m)
{
	sq_msg_from_row(s, m);
	return 0;
}

int
store_sqlite_mailbox_messages(struct store *st, int64_t mailbox_id,
			      struct store_msg **msgs_r, size_t *n_r,
			      const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MSG_LIST);
	void *msgs;
	size_t n;
	int rc;

	*msgs_r = NULL;
	*n_r = 0;
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, mailbox_id);
	rc = store_sq_rows(s, sizeof(struct store_msg), sq_msg_row, &msgs, &n);
	if (rc != SQLITE_DONE) {
		*err_r = store_sq_rows_err(st, rc);
		free(msgs);
		return -1;
	}
	*msgs_r = msgs;
	*n_r = n;
	return 0;
}

static int
sq_gone_add(struct store_sq_gone *g, uint32_t uid, uint32_t flags,
	    int64_t size)
{
	uint32_t *nu = store_sq_grow(g->uids, g->n, &g->cap, sizeof(*nu));

	if (nu == NULL)
		return -1;
	g->uids = nu;
	g->uids[g->n++] = uid;
	g->unseen += (flags & STORE_FLAG_SEEN) == 0;
	g->deleted += (flags & STORE_FLAG_DELETED) != 0;
	g->size += size;
	return 0;
}

int
store_sq_expunge_one(struct store *st, enum store_sq_stmt stmt,
		     int64_t mailbox_id, int64_t key,
		     struct store_sq_orphans *o, struct store_sq_gone *g)
{
	sqlite3_stmt *s = store_sq_stmt(st, stmt);
	int64_t row[4];
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	sqlite3_bind_int64(s, 2, key);
	rc = store_sq_row_ints(st, s, row, 4);
	if (rc <= 0)
		return rc;
	if (sq_gone_add(g, (uint32_t)row[1], (uint32_t)row[2], row[3]) < 0) {
		store_sq_fail(st, "out of memory");
		return -1;
	}
	s = store_sq_stmt(st, SQ_BLOB_UNREF);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, row[0]);
	rc = store_sq_orphans_collect(o, s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 1;
}

static int
sq_exec_ints(struct store *st, enum store_sq_stmt id, const int64_t *v,
	     int n)
{
	sqlite3_stmt *s = store_sq_stmt(st, id);

	if (s == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(s, i + 1, v[i]);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sq_expunge_finish(struct store *st, int64_t mailbox_id,
			struct store_sq_orphans *o, struct store_sq_gone *g)
{
	sqlite3_stmt *s;
	int64_t modseq;
	int64_t counters[5] = { mailbox_id, -(int64_t)g->n, -g->unseen,
				-g->deleted, -g->size };

	if (store_sq_orphans_delete(st, o) < 0)
		return -1;
	if (g->n == 0)
		return 0;
	/* RFC 7162 §3.2.10: an expunge is a change; the UIDs vanish with
	 * the new MODSEQ so QRESYNC can report them (also POP3's). */
	s = store_sq_stmt(st, SQ_MAILBOX_NEXTMODSEQ);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	if (store_sq_row_ints(st, s, &modseq, 1) <= 0)
		return -1;
	for (size_t i = 0; i < g->n; i++) {
		int64_t v[3] = { mailbox_id, g->uids[i], modseq };

		if (sq_exec_ints(st, SQ_VANISHED_ADD, v, 3) < 0)
			return -1;
	}
	return sq_exec_ints(st, SQ_MAILBOX_COUNTERS, counters, 5);
}

static int
sq_expunge_all(struct store *st, int64_t mailbox_id, const int64_t *msg_ids,
	       size_t n, struct store_sq_orphans *o)
{
	struct store_sq_gone g = { 0 };
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (store_sq_expunge_one(st, SQ_MSG_DEL, mailbox_id,
					 msg_ids[i], o, &g) < 0)
			rc = -1;
	}
	if (rc == 0)
		rc = store_sq_expunge_finish(st, mailbox_id, o, &g);
	free(g.uids);
	return rc;
}

struct sq_expunge_args {
	int64_t mailbox_id;
	const int64_t *msg_ids;
	size_t n;
};

static int
sq_expunge_all_op(struct store *st, void *arg, struct store_sq_orphans *o)
{
	const struct sq_expunge_args *a = arg;

	return sq_expunge_all(st, a->mailbox_id, a->msg_ids, a->n, o);
}

int
store_sqlite_messages_expunge(struct store *st, int64_t mailbox_id,
			      const int64_t *msg_ids, size_t n,
			      char ***orphan_blobs_r, const char **err_r)
{
	struct sq_expunge_args a = { mailbox_id, msg_ids, n };

	return store_sq_orphan_op(st, sq_expunge_all_op, &a, orphan_blobs_r,
				  err_r);
}
