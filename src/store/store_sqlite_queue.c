/*
 * SQLite backend: the outbound queue's rows (store_queue.h, schema v5).
 * This file holds what the scheduler runs: queueing, due work, leases,
 * attempt outcomes, notices, retiring; store_sqlite_qadmin.c holds what
 * `postel queue ...` runs. A queued message holds one reference on its
 * blob (blobs.refcount), taken here and dropped by retire and delete, so
 * the orphan sweep (sweep.c, which keeps every file with a blob row) and
 * an expunge of a local copy never remove a queued message's file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

/* The SQL (store_sqlite_sql.c) spells these values out. */
_Static_assert(STORE_QUEUE_PENDING == 0 && STORE_QUEUE_FAILED == 2,
	       "queue states as the SQL writes them");
_Static_assert(STORE_NOTICE_FAILED == 1 && STORE_NOTICE_DELAYED == 2,
	       "notices as the SQL writes them");
_Static_assert(STORE_NOTIFY_FAILURE == 2 && STORE_NOTIFY_NEVER == 8,
	       "NOTIFY bits as the SQL reads them");

/* Columns of SQ_QMSG_COLS and SQ_QRCPT_COLS. */
#define SQ_QMSG_NCOLS 10

static void
sq_col_copy(char *dst, size_t dstlen, sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(dst, dstlen, "%s", t != NULL ? (const char *)t : "");
}

void
store_sq_qmsg_from_row(sqlite3_stmt *s, int c, struct store_queue_msg *m)
{
	m->id = sqlite3_column_int64(s, c);
	sq_col_copy(m->qid, sizeof(m->qid), s, c + 1);
	sq_col_copy(m->blob, sizeof(m->blob), s, c + 2);
	m->size = sqlite3_column_int64(s, c + 3);
	sq_col_copy(m->from, sizeof(m->from), s, c + 4);
	sq_col_copy(m->envid, sizeof(m->envid), s, c + 5);
	m->ret = (enum store_ret)sqlite3_column_int(s, c + 6);
	m->flags = (unsigned)sqlite3_column_int64(s, c + 7);
	m->created = sqlite3_column_int64(s, c + 8);
	m->held = sqlite3_column_int(s, c + 9) != 0;
}

void
store_sq_qrcpt_from_row(sqlite3_stmt *s, int c, struct store_queue_rcpt *r)
{
	r->id = sqlite3_column_int64(s, c);
	r->msg_id = sqlite3_column_int64(s, c + 1);
	sq_col_copy(r->addr, sizeof(r->addr), s, c + 2);
	sq_col_copy(r->domain, sizeof(r->domain), s, c + 3);
	sq_col_copy(r->orcpt, sizeof(r->orcpt), s, c + 4);
	r->notify = (unsigned)sqlite3_column_int64(s, c + 5);
	r->state = (enum store_queue_state)sqlite3_column_int(s, c + 6);
	r->notice = (enum store_queue_notice)sqlite3_column_int(s, c + 7);
	r->warned = sqlite3_column_int(s, c + 8) != 0;
	r->attempts = (unsigned)sqlite3_column_int64(s, c + 9);
	r->next_attempt = sqlite3_column_int64(s, c + 10);
	r->last_attempt = sqlite3_column_int64(s, c + 11);
	sq_col_copy(r->status, sizeof(r->status), s, c + 12);
	sq_col_copy(r->reply, sizeof(r->reply), s, c + 13);
	sq_col_copy(r->remote_mta, sizeof(r->remote_mta), s, c + 14);
	sq_col_copy(r->lease_owner, sizeof(r->lease_owner), s, c + 15);
	r->lease_until = sqlite3_column_int64(s, c + 16);
}

int
store_sq_bind_capped(sqlite3_stmt *s, int col, const char *text, size_t max)
{
	size_t len;

	if (text == NULL)
		return sqlite3_bind_null(s, col);
	len = strlen(text);
	if (len > max) {
		len = max;
		/* Never cut a UTF-8 sequence in two: back off to its lead
		 * byte (an SMTP reply may carry UTF-8, RFC 6531). */
		while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
			len--;
	}
	return sqlite3_bind_text(s, col, text, (int)len, SQLITE_TRANSIENT);
}

int
store_sq_queue_bump(struct store *st)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_SERIAL_BUMP);

	if (s == NULL)
		return -1;
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

/* ---- store_queue_add ------------------------------------------------ */

/* The routing key of addr: its domain, lower-cased; -1 when addr is not
 * local@domain within the limits. */
static int
sq_rcpt_domain(const char *addr, char domain[STORE_SQ_DOMAIN_BUF])
{
	char local[STORE_SQ_LOCAL_BUF];

	if (addr == NULL || store_sq_split(addr, local, domain) < 0)
		return -1;
	return local[0] == '\0' ? -1 : 0;
}

static int
sq_queue_check(struct store *st, const struct store_queue_new *m)
{
	char domain[STORE_SQ_DOMAIN_BUF];

	if (m->qid[0] == '\0' || m->blob[0] == '\0' || m->n_rcpts == 0) {
		store_sq_fail(st, "incomplete queue entry");
		return -1;
	}
	if (m->from == NULL || strlen(m->from) > LIMIT_ADDRESS) {
		store_sq_fail(st, "invalid address");
		return -1;
	}
	if (m->envid != NULL && strlen(m->envid) > STORE_QUEUE_ENVID_MAX) {
		store_sq_fail(st, "ENVID too long");
		return -1;
	}
	if (m->prefix != NULL && strlen(m->prefix) > STORE_QUEUE_PREFIX_MAX) {
		store_sq_fail(st, "header prefix too long");
		return -1;
	}
	for (size_t i = 0; i < m->n_rcpts; i++) {
		const struct store_queue_rcpt_new *r = &m->rcpts[i];

		if (sq_rcpt_domain(r->addr, domain) < 0 ||
		    (r->orcpt != NULL && strlen(r->orcpt) >= 320 + 16)) {
			store_sq_fail(st, "invalid address");
			return -1;
		}
	}
	return 0;
}

static int
sq_queue_rcpt_add(struct store *st, int64_t msg_id, int64_t created,
		  const struct store_queue_rcpt_new *r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_RCPT_ADD);
	char domain[STORE_SQ_DOMAIN_BUF];

	if (s == NULL)
		return -1;
	(void)sq_rcpt_domain(r->addr, domain); /* checked before */
	sqlite3_bind_int64(s, 1, msg_id);
	sqlite3_bind_text(s, 2, r->addr, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, r->orcpt != NULL ? r->orcpt : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, r->notify);
	sqlite3_bind_int(s, 6, (int)r->state);
	sqlite3_bind_int(s, 7, (int)r->notice);
	sqlite3_bind_int64(s, 8, created);
	/* A recipient queued final (delivered here, say) was tried at
	 * arrival: its notice's Last-Attempt-Date (RFC 3464 §2.3.7). */
	sqlite3_bind_int64(s, 9, r->state == STORE_QUEUE_PENDING ? 0 : created);
	store_sq_bind_capped(s, 10, r->status != NULL ? r->status : "", 15);
	store_sq_bind_capped(s, 11, r->reply != NULL ? r->reply : "",
			     STORE_QUEUE_REPLY_MAX);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

static int
sq_queue_msg_add(struct store *st, const struct store_queue_new *m,
		 int64_t blob_id, int64_t *msg_id_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_MSG_ADD);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, m->qid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, blob_id);
	sqlite3_bind_int64(s, 3, m->size);
	sqlite3_bind_text(s, 4, m->from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, m->envid != NULL ? m->envid : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(s, 6, (int)m->ret);
	sqlite3_bind_int64(s, 7, m->flags);
	sqlite3_bind_int64(s, 8, m->created);
	sqlite3_bind_text(s, 9, m->prefix != NULL ? m->prefix : "", -1,
			  SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*msg_id_r = sqlite3_column_int64(s, 0);
		rc = store_sq_exec(s);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (sqlite3_extended_errcode(store_sq(st)->db)
	    == SQLITE_CONSTRAINT_UNIQUE)
		store_sq_fail(st, "queue id already exists");
	else
		store_sq_err(st, "database error");
	return -1;
}

static int
sq_queue_add_all(struct store *st, const struct store_queue_new *m,
		 int64_t *msg_id_r)
{
	int64_t blob_id;

	/* The message's one reference: a new blob row (only remote
	 * recipients), or one more on the row of its local copies. */
	if (store_sq_blob_add(st, m->blob, m->size, 1, m->data, m->data_len,
			      &blob_id) < 0)
		return -1;
	if (sq_queue_msg_add(st, m, blob_id, msg_id_r) < 0)
		return -1;
	for (size_t i = 0; i < m->n_rcpts; i++) {
		if (sq_queue_rcpt_add(st, *msg_id_r, m->created,
				      &m->rcpts[i]) < 0)
			return -1;
	}
	return store_sq_queue_bump(st);
}

int
store_sqlite_queue_add(struct store *st, const struct store_queue_new *m,
		       int64_t *msg_id_r, const char **err_r)
{
	int64_t id = 0;
	bool own;

	if (sq_queue_check(st, m) < 0) {
		*err_r = st->err;
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	if (sq_queue_add_all(st, m, &id) < 0) {
		*err_r = st->err;
		store_sq_op_end(st, own, false, err_r);
		return -1;
	}
	if (store_sq_op_end(st, own, true, err_r) < 0)
		return -1;
	if (msg_id_r != NULL)
		*msg_id_r = id;
	return 0;
}

/* ---- the scheduler's reads ----------------------------------------- */

static int
sq_item_row(sqlite3_stmt *s, void *elem)
{
	struct store_queue_item *it = elem;
	const unsigned char *prefix = sqlite3_column_text(s, 0);

	/* Column 0: the prefix; then the message's and recipient's. */
	store_sq_qmsg_from_row(s, 1, &it->msg);
	store_sq_qrcpt_from_row(s, 1 + SQ_QMSG_NCOLS, &it->rcpt);
	it->prefix = NULL;
	if (prefix != NULL && prefix[0] != '\0' &&
	    (it->prefix = strdup((const char *)prefix)) == NULL)
		return -1;
	return 0;
}

int
store_sqlite_queue_due(struct store *st, int64_t now, size_t limit,
		       struct store_queue_item **items_r, size_t *n_r,
		       const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_DUE);
	void *v = NULL;
	size_t n = 0;
	int rc;

	*items_r = NULL;
	*n_r = 0;
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	if (limit == 0)
		return 0;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, limit > INT64_MAX ? INT64_MAX
						   : (int64_t)limit);
	rc = store_sq_rows(s, sizeof(struct store_queue_item), sq_item_row,
			   &v, &n);
	if (rc != SQLITE_DONE) {
		*err_r = store_sq_rows_err(st, rc);
		store_queue_items_free(v, n);
		return -1;
	}
	*items_r = v;
	*n_r = n;
	return 0;
}

int
store_sqlite_queue_next_due(struct store *st, int64_t *when_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_NEXT_DUE);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		/* MIN over no rows is one row holding NULL. */
		bool none = sqlite3_column_type(s, 0) == SQLITE_NULL;

		*when_r = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return none ? 0 : 1;
	}
	sqlite3_reset(s);
	store_sq_err(st, "database error");
	return -1;
}

int
store_sqlite_queue_serial(struct store *st, int64_t *serial_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_SERIAL);
	int rc;

	if (s == NULL)
		return -1;
	rc = store_sq_row_ints(st, s, serial_r, 1);
	if (rc == 0)
		store_sq_fail(st, "queue serial missing");
	return rc == 1 ? 0 : -1;
}

/* ---- leases, outcomes, notices --------------------------------------- */

/* Runs stmt once per id (bound as ?1) in one operation; *changed_r (may
 * be NULL) gets how many rows changed. 0 or -1 (*err_r). */
static int
sq_per_id(struct store *st, enum store_sq_stmt stmt, const int64_t *ids,
	  size_t n, const char *owner, int64_t now, int64_t until,
	  size_t *changed_r, const char **err_r)
{
	size_t changed = 0;
	bool own, ok = true;

	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	for (size_t i = 0; ok && i < n; i++) {
		sqlite3_stmt *s = store_sq_stmt(st, stmt);

		if (s == NULL) {
			ok = false;
			break;
		}
		sqlite3_bind_int64(s, 1, ids[i]);
		if (owner != NULL) {
			sqlite3_bind_text(s, 2, owner, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 3, now);
			sqlite3_bind_int64(s, 4, until);
		}
		if (store_sq_exec(s) != SQLITE_DONE) {
			store_sq_err(st, "database error");
			ok = false;
		} else {
			changed += (size_t)sqlite3_changes(store_sq(st)->db);
		}
	}
	if (!ok) {
		*err_r = st->err;
		store_sq_op_end(st, own, false, err_r);
		return -1;
	}
	if (store_sq_op_end(st, own, true, err_r) < 0)
		return -1;
	if (changed_r != NULL)
		*changed_r = changed;
	return 0;
}

int
store_sqlite_queue_lease(struct store *st, const int64_t *rcpt_ids, size_t n,
			 const char *owner, int64_t now, int64_t until,
			 size_t *taken_r, const char **err_r)
{
	if (owner == NULL || owner[0] == '\0' || strlen(owner) >= 64) {
		*err_r = store_sq_fail(st, "invalid lease owner");
		return -1;
	}
	return sq_per_id(st, SQ_QUEUE_LEASE, rcpt_ids, n, owner, now, until,
			 taken_r, err_r);
}

int
store_sqlite_queue_unlease(struct store *st, const char *prefix,
			   const char *keep_owner, int64_t now,
			   size_t *freed_r, const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_UNLEASE);

	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, keep_owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, now);
	if (store_sq_exec(s) != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	if (freed_r != NULL)
		*freed_r = (size_t)sqlite3_changes(store_sq(st)->db);
	return 0;
}

int
store_sqlite_queue_update(struct store *st, const struct store_queue_update *u,
			  const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_UPDATE);

	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, u->rcpt_id);
	sqlite3_bind_int(s, 2, (int)u->state);
	sqlite3_bind_int(s, 3, (int)u->notice);
	sqlite3_bind_int(s, 4, u->warned ? 1 : 0);
	sqlite3_bind_int64(s, 5, u->attempts);
	sqlite3_bind_int64(s, 6, u->next_attempt);
	sqlite3_bind_int64(s, 7, u->last_attempt);
	store_sq_bind_capped(s, 8, u->status, 15);
	store_sq_bind_capped(s, 9, u->reply, STORE_QUEUE_REPLY_MAX);
	store_sq_bind_capped(s, 10, u->remote_mta, 256 + 64 - 1);
	if (store_sq_exec(s) != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sqlite_queue_notices(struct store *st, size_t limit,
			   struct store_queue_entry **entries_r, size_t *n_r,
			   const char **err_r)
{
	struct store_sq_qload q = { 0 };
	sqlite3_stmt *s;
	int rc = SQLITE_DONE;

	*entries_r = NULL;
	*n_r = 0;
	if (limit == 0)
		return 0;
	if (store_sq_qload_begin(st, &q, err_r) < 0)
		return -1;
	if ((s = store_sq_stmt(st, SQ_QUEUE_NOTICE_MSGS)) == NULL)
		return store_sq_qload_end(st, &q, false, entries_r, n_r, err_r);
	sqlite3_bind_int64(s, 1, limit > INT64_MAX ? INT64_MAX
						   : (int64_t)limit);
	/* A failed load leaves rc at SQLITE_ROW with st->err set. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	       store_sq_qload_id(st, &q, sqlite3_column_int64(s, 0)) == 0)
		;
	sqlite3_reset(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		store_sq_err(st, "database error");
	return store_sq_qload_end(st, &q, rc == SQLITE_DONE, entries_r, n_r,
				  err_r);
}

int
store_sqlite_queue_notice_done(struct store *st, const int64_t *rcpt_ids,
			       size_t n, const char **err_r)
{
	return sq_per_id(st, SQ_QUEUE_NOTICE_DONE, rcpt_ids, n, NULL, 0, 0,
			 NULL, err_r);
}

/* ---- removing a message ------------------------------------------------ */

struct sq_qdel_args {
	enum store_sq_stmt stmt;  /* SQ_QUEUE_RETIRE or SQ_QUEUE_DELETE */
	int64_t id;
	const char *qid;
	int removed;              /* 1 when the message went */
};

/* Deletes the message (its recipients go by ON DELETE CASCADE) and drops
 * its blob reference, collecting the blob when that was the last. */
static int
sq_qdel_op(struct store *st, void *arg, struct store_sq_orphans *o)
{
	struct sq_qdel_args *a = arg;
	sqlite3_stmt *s = store_sq_stmt(st, a->stmt);
	int64_t blob_id;
	int rc;

	if (s == NULL)
		return -1;
	if (a->qid != NULL)
		sqlite3_bind_text(s, 1, a->qid, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(s, 1, a->id);
	rc = store_sq_row_ints(st, s, &blob_id, 1);
	if (rc <= 0) {
		if (rc == 0 && a->qid != NULL) {
			store_sq_fail(st, "no such queue id");
			return -1;
		}
		return rc;
	}
	a->removed = 1;
	if (store_sq_unref_collect(st, SQ_BLOB_UNREF, blob_id, o) < 0 ||
	    store_sq_orphans_delete(st, o) < 0)
		return -1;
	return a->qid != NULL ? store_sq_queue_bump(st) : 0;
}

int
store_sqlite_queue_retire(struct store *st, int64_t msg_id, char ***orphans_r,
			  const char **err_r)
{
	struct sq_qdel_args a = { SQ_QUEUE_RETIRE, msg_id, NULL, 0 };

	if (store_sq_orphan_op(st, sq_qdel_op, &a, orphans_r, err_r) < 0)
		return -1;
	return a.removed;
}

int
store_sqlite_queue_delete(struct store *st, const char *qid,
			  char ***orphans_r, const char **err_r)
{
	struct sq_qdel_args a = { SQ_QUEUE_DELETE, 0, qid, 0 };

	return store_sq_orphan_op(st, sq_qdel_op, &a, orphans_r, err_r);
}
