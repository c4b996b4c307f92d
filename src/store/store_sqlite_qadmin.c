/*
 * SQLite backend: the outbound queue as `postel queue ...` sees it (list,
 * show, hold, release, flush, bounce; delete is in store_sqlite_queue.c
 * beside retire), and the loading of whole messages with their
 * recipients that these and store_queue_notices share. Every change here
 * raises the queue serial, so a running server notices it within a
 * second (store_queue_serial).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_sqlite_int.h"

/* ---- loading messages with their recipients --------------------------- */

/* A read transaction of its own when the caller has none, so a list sees
 * one state of the queue (the scheduler may retire a message between two
 * statements). */
int
store_sq_qload_begin(struct store *st, struct store_sq_qload *q,
		     const char **err_r)
{
	memset(q, 0, sizeof(*q));
	q->own = sqlite3_get_autocommit(store_sq(st)->db) != 0;
	if (q->own && sqlite3_exec(store_sq(st)->db, "BEGIN", NULL, NULL,
				   NULL) != SQLITE_OK) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sq_qload_end(struct store *st, struct store_sq_qload *q, bool ok,
		   struct store_queue_entry **entries_r, size_t *n_r,
		   const char **err_r)
{
	sqlite3 *db = store_sq(st)->db;

	/* Only reads happened: ending the transaction cannot lose work. */
	if (q->own && !sqlite3_get_autocommit(db) &&
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	if (!ok) {
		*err_r = st->err;
		store_queue_entries_free(q->v, q->n);
		memset(q, 0, sizeof(*q));
		return -1;
	}
	*entries_r = q->v;
	*n_r = q->n;
	memset(q, 0, sizeof(*q));
	return 0;
}

static int
sq_qrcpt_row(sqlite3_stmt *s, void *elem)
{
	store_sq_qrcpt_from_row(s, 0, elem);
	return 0;
}

/* Fills e->rcpts for e->msg.id; 0 or -1 (st->err). */
static int
sq_qload_rcpts(struct store *st, struct store_queue_entry *e)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_RCPTS);
	void *v = NULL;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, e->msg.id);
	rc = store_sq_rows(s, sizeof(*e->rcpts), sq_qrcpt_row, &v,
			   &e->n_rcpts);
	e->rcpts = v;
	if (rc != SQLITE_DONE) {
		store_sq_rows_err(st, rc);
		return -1;
	}
	return 0;
}

static int
sq_qmsg_row(sqlite3_stmt *s, void *elem)
{
	struct store_queue_entry *e = elem;

	store_sq_qmsg_from_row(s, 0, &e->msg);
	return 0;
}

/* Appends the messages SQ_QUEUE_MSG_LIST selects (qid, domain: '' for
 * any; held_only; msg_id: 0 for any) with their recipients to q. */
static int
sq_qload(struct store *st, struct store_sq_qload *q, const char *qid,
	 const char *domain, bool held_only, int64_t msg_id)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_MSG_LIST);
	struct store_queue_entry *v, *nv;
	void *rows = NULL;
	size_t n = 0;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, held_only ? 1 : 0);
	sqlite3_bind_int64(s, 4, msg_id);
	rc = store_sq_rows(s, sizeof(*v), sq_qmsg_row, &rows, &n);
	v = rows;
	if (rc != SQLITE_DONE) {
		store_queue_entries_free(v, n);
		store_sq_rows_err(st, rc);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (sq_qload_rcpts(st, &v[i]) < 0) {
			store_queue_entries_free(v, n);
			return -1;
		}
	}
	if (q->n == 0) {
		free(q->v);
		q->v = v;
		q->n = q->cap = n;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		nv = store_sq_grow(q->v, q->n, &q->cap, sizeof(*nv));
		if (nv == NULL) {
			for (size_t j = i; j < n; j++)
				store_queue_entry_fini(&v[j]);
			free(v);
			store_sq_fail(st, "out of memory");
			return -1;
		}
		q->v = nv;
		q->v[q->n++] = v[i];
	}
	free(v);
	return 0;
}

int
store_sq_qload_id(struct store *st, struct store_sq_qload *q, int64_t msg_id)
{
	return sq_qload(st, q, "", "", false, msg_id);
}

/* ---- administration ---------------------------------------------------- */

int
store_sqlite_queue_list(struct store *st, const char *domain_or_null,
			bool held_only, struct store_queue_entry **entries_r,
			size_t *n_r, const char **err_r)
{
	char domain[STORE_SQ_DOMAIN_BUF] = "";
	struct store_sq_qload q;
	int rc;

	*entries_r = NULL;
	*n_r = 0;
	if (domain_or_null != NULL &&
	    store_sq_lower(domain, sizeof(domain), domain_or_null) < 0) {
		*err_r = store_sq_fail(st, "invalid domain");
		return -1;
	}
	if (store_sq_qload_begin(st, &q, err_r) < 0)
		return -1;
	rc = sq_qload(st, &q, "", domain, held_only, 0);
	return store_sq_qload_end(st, &q, rc == 0, entries_r, n_r, err_r);
}

int
store_sqlite_queue_get(struct store *st, const char *qid,
		       struct store_queue_entry *e)
{
	struct store_queue_entry *v = NULL;
	struct store_sq_qload q;
	const char *err;
	size_t n = 0;
	int rc;

	memset(e, 0, sizeof(*e));
	if (qid == NULL || qid[0] == '\0')
		return 0;
	if (store_sq_qload_begin(st, &q, &err) < 0)
		return -1;
	rc = sq_qload(st, &q, qid, "", false, 0);
	if (store_sq_qload_end(st, &q, rc == 0, &v, &n, &err) < 0)
		return -1;
	if (n == 0)
		return 0;
	/* qid is UNIQUE: never more than one. */
	*e = v[0];
	v[0].rcpts = NULL;
	store_queue_entries_free(v, n);
	return 1;
}

/* 1 when a message has queue id qid, 0 not, -1 error (st->err). */
static int
sq_qid_exists(struct store *st, const char *qid)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUEUE_MSG_GET);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_STATIC);
	return store_sq_row_ints(st, s, NULL, 0);
}

/* Runs the bound statement s in one operation with the check that the
 * message qid exists (when qid is not NULL; "no such queue id", also for
 * a statement that rightly changes no row, such as a bounce of a message
 * without pending recipients), then raises the serial. *changed_r: the
 * rows s changed. */
static int
sq_qadmin_exec(struct store *st, sqlite3_stmt *s, const char *qid,
	       size_t *changed_r, const char **err_r)
{
	bool own;
	int rc = 1;

	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	if (qid != NULL && (rc = sq_qid_exists(st, qid)) == 0)
		store_sq_fail(st, "no such queue id");
	if (rc == 1 && store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		rc = -1;
	}
	if (rc == 1) {
		*changed_r = (size_t)sqlite3_changes(store_sq(st)->db);
		if (store_sq_queue_bump(st) < 0)
			rc = -1;
	}
	if (rc != 1) {
		/* s may still hold its bindings (never stepped). */
		sqlite3_reset(s);
		*err_r = st->err;
		store_sq_op_end(st, own, false, err_r);
		return -1;
	}
	return store_sq_op_end(st, own, true, err_r);
}

int
store_sqlite_queue_hold(struct store *st, const char *qid, bool hold,
			const char **err_r)
{
	sqlite3_stmt *s;
	size_t changed = 0;

	if (qid == NULL) {
		*err_r = store_sq_fail(st, "no such queue id");
		return -1;
	}
	if ((s = store_sq_stmt(st, SQ_QUEUE_HOLD)) == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, hold ? 1 : 0);
	return sq_qadmin_exec(st, s, qid, &changed, err_r);
}

int
store_sqlite_queue_flush(struct store *st, const char *qid_or_null,
			 const char *domain_or_null, size_t *n_r,
			 const char **err_r)
{
	char domain[STORE_SQ_DOMAIN_BUF] = "";
	sqlite3_stmt *s;
	size_t changed = 0;

	if (domain_or_null != NULL &&
	    store_sq_lower(domain, sizeof(domain), domain_or_null) < 0) {
		*err_r = store_sq_fail(st, "invalid domain");
		return -1;
	}
	if ((s = store_sq_stmt(st, SQ_QUEUE_FLUSH)) == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_text(s, 1, qid_or_null != NULL ? qid_or_null : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(s, 2, domain, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, 0);
	sqlite3_bind_int64(s, 4, (int64_t)time(NULL));
	if (sq_qadmin_exec(st, s, qid_or_null, &changed, err_r) < 0)
		return -1;
	if (n_r != NULL)
		*n_r = changed;
	return 0;
}

int
store_sqlite_queue_bounce(struct store *st, const char *qid,
			  const char **err_r)
{
	sqlite3_stmt *s;
	size_t changed = 0;

	if (qid == NULL) {
		*err_r = store_sq_fail(st, "no such queue id");
		return -1;
	}
	if ((s = store_sq_stmt(st, SQ_QUEUE_BOUNCE)) == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_text(s, 1, qid, -1, SQLITE_STATIC);
	return sq_qadmin_exec(st, s, qid, &changed, err_r);
}
