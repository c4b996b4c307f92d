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
static int
sq_uidvalidity_next(struct store *st, uint32_t *v_r)
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

int
store_sq_mailboxes_create(struct store *st, int64_t account_id,
			  const char **err_r)
{
	size_t n = sizeof(sq_default_mailboxes);

	n /= sizeof(sq_default_mailboxes[0]);
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s;
		uint32_t uidvalidity;

		if (sq_uidvalidity_next(st, &uidvalidity) < 0
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
		if (store_sq_exec(s) != SQLITE_DONE) {
			*err_r = store_sq_err(st, "database error");
			return -1;
		}
	}
	return 0;
}

/* Runs a bound statement whose first row holds integers; 1 with the
 * first ncol columns in out[], 0 no row, -1 error (st->err). */
static int
sq_row_ints(struct store *st, sqlite3_stmt *s, int64_t *out, int ncol)
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

/* Appends one copy of the blob to the account's INBOX. */
static int
sq_deliver_one(struct store *st, const struct store_delivery *d,
	       int64_t blob_id, int64_t account_id)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MAILBOX_GET);
	int64_t mbox[4], bump[2];
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, "INBOX", -1, SQLITE_STATIC);
	rc = sq_row_ints(st, s, mbox, 1);
	if (rc == 0)
		store_sq_fail(st, "no such user");
	if (rc <= 0 || (s = store_sq_stmt(st, SQ_MAILBOX_BUMP)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mbox[0]);
	if (sq_row_ints(st, s, bump, 2) <= 0)
		return -1;
	s = store_sq_stmt(st, SQ_MSG_ADD);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mbox[0]);
	sqlite3_bind_int64(s, 2, bump[0]);
	sqlite3_bind_int64(s, 3, blob_id);
	sqlite3_bind_int64(s, 4, d->size);
	sqlite3_bind_int64(s, 5, d->internaldate);
	sqlite3_bind_int64(s, 6, bump[1]);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

static int
sq_deliver_all(struct store *st, const struct store_delivery *d)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_BLOB_ADD);
	int64_t blob_id;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, d->blob, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, d->size);
	sqlite3_bind_int64(s, 3, (int64_t)d->n_accounts);
	if (sq_row_ints(st, s, &blob_id, 1) <= 0)
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
	rc = sq_row_ints(st, s, row, 4);
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

int
store_sqlite_mailbox_messages(struct store *st, int64_t mailbox_id,
			      struct store_msg **msgs_r, size_t *n_r,
			      const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MSG_LIST);
	struct store_msg *msgs = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*msgs_r = NULL;
	*n_r = 0;
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, mailbox_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap == 0 ? 16 : cap * 2;
			struct store_msg *nm;

			nm = realloc(msgs, ncap * sizeof(*nm));

			if (nm == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			msgs = nm;
			cap = ncap;
		}
		sq_msg_from_row(s, &msgs[n++]);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		*err_r = rc == SQLITE_NOMEM
				 ? store_sq_fail(st, "out of memory")
				 : store_sq_err(st, "database error");
		free(msgs);
		return -1;
	}
	*msgs_r = msgs;
	*n_r = n;
	return 0;
}

/* Deletes one message of the mailbox and drops its blob reference; 1
 * deleted, 0 not in this mailbox, -1 error. */
static int
sq_expunge_one(struct store *st, int64_t mailbox_id, int64_t msg_id,
	       struct store_sq_orphans *o)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MSG_DEL);
	int64_t blob_id;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg_id);
	sqlite3_bind_int64(s, 2, mailbox_id);
	rc = sq_row_ints(st, s, &blob_id, 1);
	if (rc <= 0)
		return rc;
	s = store_sq_stmt(st, SQ_BLOB_UNREF);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, blob_id);
	rc = store_sq_orphans_collect(o, s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 1;
}

static int
sq_expunge_all(struct store *st, int64_t mailbox_id, const int64_t *msg_ids,
	       size_t n, struct store_sq_orphans *o)
{
	sqlite3_stmt *s;
	size_t removed = 0;

	for (size_t i = 0; i < n; i++) {
		int rc = sq_expunge_one(st, mailbox_id, msg_ids[i], o);

		if (rc < 0)
			return -1;
		removed += (size_t)rc;
	}
	if (store_sq_orphans_delete(st, o) < 0)
		return -1;
	if (removed == 0)
		return 0;
	/* RFC 7162 §3.2.10: an expunge is a change; CONDSTORE clients see a
	 * higher HIGHESTMODSEQ. */
	s = store_sq_stmt(st, SQ_MAILBOX_MODSEQ);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sqlite_messages_expunge(struct store *st, int64_t mailbox_id,
			      const int64_t *msg_ids, size_t n,
			      char ***orphan_blobs_r, const char **err_r)
{
	struct store_sq_orphans o;
	bool own;

	*orphan_blobs_r = NULL;
	if (store_sq_orphans_init(st, &o) < 0) {
		*err_r = st->err;
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0) {
		store_sq_orphans_fini(&o);
		return -1;
	}
	if (sq_expunge_all(st, mailbox_id, msg_ids, n, &o) < 0) {
		*err_r = st->err;
		store_sq_op_end(st, own, false, err_r);
		store_sq_orphans_fini(&o);
		return -1;
	}
	if (store_sq_op_end(st, own, true, err_r) < 0) {
		store_sq_orphans_fini(&o);
		return -1;
	}
	store_sq_orphans_finish(&o, orphan_blobs_r);
	return 0;
}
