/*
 * SQLite backend: IMAP messages (store.h): the message list of a
 * mailbox, vanished UIDs, stored MIME metadata, APPEND, COPY and EXPUNGE
 * by UID. Every change takes one new MODSEQ for the whole operation (RFC
 * 7162 §3.1: messages changed together may share a mod-sequence) and
 * keeps the mailbox counters in step. Flag changes: store_sqlite_flags.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob.h"
#include "store_kw.h"
#include "store_sqlite_int.h"

int
store_sq_mailbox_modseq(struct store *st, int64_t mailbox_id,
			uint64_t *modseq_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MAILBOX_BY_ID);
	int64_t row[2];
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, mailbox_id);
	rc = store_sq_row_ints(st, s, row, 2);
	if (rc == 0)
		store_sq_fail(st, "no such mailbox");
	if (rc <= 0)
		return -1;
	if (modseq_r != NULL)
		*modseq_r = (uint64_t)row[0];
	return 0;
}

static int
sq_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

int
store_sq_uids_sorted(struct store *st, const uint32_t *uids, size_t n,
		     uint32_t **out_r, size_t *n_r)
{
	uint32_t *v;
	size_t m = 0;

	*out_r = NULL;
	*n_r = 0;
	if (n == 0)
		return 0;
	v = malloc(n * sizeof(*v));
	if (v == NULL) {
		store_sq_fail(st, "out of memory");
		return -1;
	}
	memcpy(v, uids, n * sizeof(*v));
	qsort(v, n, sizeof(*v), sq_u32_cmp);
	for (size_t i = 0; i < n; i++) {
		if (v[i] != 0 && (m == 0 || v[m - 1] != v[i]))
			v[m++] = v[i];
	}
	*out_r = v;
	*n_r = m;
	return 0;
}

static char *sq_column_dup(sqlite3_stmt *s, int col, size_t *len_r);

/* One row of SQ_IMSG_LIST / SQ_IMSG_UIDS into a zeroed *elem. */
static int
sq_imsg_row(sqlite3_stmt *s, void *elem)
{
	const char *kw = (const char *)sqlite3_column_text(s, 8);
	struct store_imsg *m = elem;

	m->id = sqlite3_column_int64(s, 0);
	m->uid = (uint32_t)sqlite3_column_int64(s, 1);
	m->flags = (uint32_t)sqlite3_column_int64(s, 2);
	m->modseq = (uint64_t)sqlite3_column_int64(s, 3);
	m->size = sqlite3_column_int64(s, 4);
	m->internaldate = sqlite3_column_int64(s, 5);
	m->blob_id = sqlite3_column_int64(s, 6);
	snprintf(m->blob, sizeof(m->blob), "%s",
		 (const char *)sqlite3_column_text(s, 7));
	m->savedate = sqlite3_column_int64(s, 9);
	if (kw != NULL && kw[0] != '\0' && (m->keywords = strdup(kw)) == NULL)
		return -1;
	return 0;
}

/* Appends the current row to *v (n used, *cap allocated); -1 when memory
 * runs out (the element then counts, for the caller's free). */
static int
sq_imsg_push(sqlite3_stmt *s, struct store_imsg **v, size_t *n, size_t *cap)
{
	struct store_imsg *nv = store_sq_grow(*v, *n, cap, sizeof(**v));

	if (nv == NULL)
		return -1;
	*v = nv;
	memset(&nv[*n], 0, sizeof(nv[*n]));
	return sq_imsg_row(s, &nv[(*n)++]);
}

/* The rows of statement id for (mailbox_id, since), once the mailbox's
 * modseq is known; since is bound only where id takes it. On failure *err_r is set and -1 returned; *v_r (NULL
 * or the rows read so far, *n_r of them) is the caller's to free. */
static int
sq_box_rows_since(struct store *st, enum store_sq_stmt id,
		  int64_t mailbox_id, uint64_t since, size_t elem,
		  store_sq_row_fn fill, void **v_r, size_t *n_r,
		  const char **err_r)
{
	sqlite3_stmt *s;
	int rc;

	*v_r = NULL;
	*n_r = 0;
	if (store_sq_mailbox_modseq(st, mailbox_id, NULL) < 0
	    || (s = store_sq_stmt(st, id)) == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, mailbox_id);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, (int64_t)since);
	rc = store_sq_rows(s, elem, fill, v_r, n_r);
	if (rc != SQLITE_DONE) {
		*err_r = store_sq_rows_err(st, rc);
		return -1;
	}
	return 0;
}

int
store_sqlite_mailbox_imsgs(struct store *st, int64_t mailbox_id,
			   uint64_t changedsince, struct store_imsg **msgs_r,
			   size_t *n_r, const char **err_r)
{
	void *v;
	size_t n;

	*msgs_r = NULL;
	*n_r = 0;
	if (sq_box_rows_since(st, SQ_IMSG_LIST, mailbox_id, changedsince,
			      sizeof(struct store_imsg), sq_imsg_row, &v, &n,
			      err_r) < 0) {
		store_imsgs_free(v, n);
		return -1;
	}
	*msgs_r = v;
	*n_r = n;
	return 0;
}

/* Reads the rows of a statement into a view list; the array is trimmed
 * to its length, since a session keeps it as long as it stays selected. */
static int
sq_vmsg_row(sqlite3_stmt *s, void *elem)
{
	const char *kw = (const char *)sqlite3_column_text(s, 3);
	struct store_vmsg *m = elem;

	m->uid = (uint32_t)sqlite3_column_int64(s, 0);
	m->flags = (uint32_t)sqlite3_column_int64(s, 1);
	m->modseq = (uint64_t)sqlite3_column_int64(s, 2);
	if (kw != NULL && kw[0] != '\0' && (m->keywords = strdup(kw)) == NULL)
		return -1;
	return 0;
}

static int
sq_vmsgs_read(struct store *st, sqlite3_stmt *s, struct store_vmsg **v_r,
	      size_t *n_r)
{
	struct store_vmsg *nv;
	void *v;
	size_t n;
	int rc = store_sq_rows(s, sizeof(struct store_vmsg), sq_vmsg_row, &v,
			       &n);

	if (rc != SQLITE_DONE) {
		store_vmsgs_free(v, n);
		store_sq_rows_err(st, rc);
		return -1;
	}
	if (n > 0 && (nv = realloc(v, n * sizeof(*nv))) != NULL)
		v = nv;
	*v_r = v;
	*n_r = n;
	return 0;
}

int
store_sqlite_mailbox_vmsgs(struct store *st, int64_t mailbox_id,
			   uint64_t changedsince, struct store_vmsg **msgs_r,
			   size_t *n_r, const char **err_r)
{
	sqlite3_stmt *s;

	*msgs_r = NULL;
	*n_r = 0;
	if (store_sq_mailbox_modseq(st, mailbox_id, NULL) < 0
	    || (s = store_sq_stmt(st, changedsince > 0 ? SQ_VMSG_LIST
							: SQ_VMSG_ALL)) == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, mailbox_id);
	if (changedsince > 0)
		sqlite3_bind_int64(s, 2, (int64_t)changedsince);
	if (sq_vmsgs_read(st, s, msgs_r, n_r) < 0) {
		*err_r = st->err;
		return -1;
	}
	return 0;
}

/* Steps s and keeps the rows whose UID is in uids[*k..n) (both ascending),
 * advancing *k past the UIDs it has passed. */
static int
sq_imsgs_pick(struct store *st, sqlite3_stmt *s, const uint32_t *uids,
	      size_t n, size_t *k, struct store_imsg **v, size_t *len,
	      size_t *cap)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(s, 1);

		while (*k < n && uids[*k] < uid)
			(*k)++;
		if (*k < n && uids[*k] == uid &&
		    sq_imsg_push(s, v, len, cap) < 0) {
			sqlite3_reset(s);
			store_sq_fail(st, "out of memory");
			return -1;
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

static int
sq_fields_row(sqlite3_stmt *s, void *elem)
{
	struct store_fields *f = elem;

	f->uid = (uint32_t)sqlite3_column_int64(s, 0);
	if (sqlite3_column_type(s, 1) != SQLITE_NULL &&
	    (f->fields = sq_column_dup(s, 1, &f->len)) == NULL)
		return -1;
	return 0;
}

int
store_sqlite_mailbox_fields(struct store *st, int64_t mailbox_id,
			    struct store_fields **fields_r, size_t *n_r,
			    const char **err_r)
{
	void *v;
	size_t n;

	if (sq_box_rows_since(st, SQ_FIELDS_LIST, mailbox_id, 0,
			      sizeof(struct store_fields), sq_fields_row, &v,
			      &n, err_r) < 0) {
		store_fields_free(v, n);
		return -1;
	}
	*fields_r = v;
	*n_r = n;
	return 0;
}

int
store_sqlite_mailbox_imsgs_uids(struct store *st, int64_t mailbox_id,
				const uint32_t *uids, size_t n,
				struct store_imsg **msgs_r, size_t *n_r,
				const char **err_r)
{
	struct store_imsg *v = NULL;
	size_t len = 0, cap = 0, k = 0;
	sqlite3_stmt *s;
	bool range;
	int rc = 0;

	if (store_sq_mailbox_modseq(st, mailbox_id, NULL) < 0) {
		*err_r = st->err;
		return -1;
	}
	if (n == 0)
		return 0;
	/* One range scan when the UIDs are dense (FETCH 1:20), else one
	 * indexed lookup per UID (FETCH 1,90000). */
	range = (uint64_t)uids[n - 1] - uids[0] < 4 * (uint64_t)n;
	if (range) {
		if ((s = store_sq_stmt(st, SQ_IMSG_RANGE)) == NULL)
			rc = -1;
		else {
			sqlite3_bind_int64(s, 1, mailbox_id);
			sqlite3_bind_int64(s, 2, uids[0]);
			sqlite3_bind_int64(s, 3, uids[n - 1]);
			rc = sq_imsgs_pick(st, s, uids, n, &k, &v, &len, &cap);
		}
	}
	for (size_t i = 0; !range && rc == 0 && i < n; i++) {
		if ((s = store_sq_stmt(st, SQ_IMSG_ONE)) == NULL) {
			rc = -1;
			break;
		}
		sqlite3_bind_int64(s, 1, mailbox_id);
		sqlite3_bind_int64(s, 2, uids[i]);
		k = i;
		rc = sq_imsgs_pick(st, s, uids, n, &k, &v, &len, &cap);
	}
	if (rc < 0) {
		store_imsgs_free(v, len);
		*err_r = st->err;
		return -1;
	}
	*msgs_r = v;
	*n_r = len;
	return 0;
}

static int
sq_uid_row(sqlite3_stmt *s, void *uid)
{
	*(uint32_t *)uid = (uint32_t)sqlite3_column_int64(s, 0);
	return 0;
}

int
store_sqlite_vanished_since(struct store *st, int64_t mailbox_id,
			    uint64_t since, uint32_t **uids_r, size_t *n_r,
			    const char **err_r)
{
	void *v;
	size_t n;

	*uids_r = NULL;
	*n_r = 0;
	if (sq_box_rows_since(st, SQ_VANISHED_LIST, mailbox_id, since,
			      sizeof(uint32_t), sq_uid_row, &v, &n,
			      err_r) < 0) {
		free(v);
		return -1;
	}
	*uids_r = v;
	*n_r = n;
	return 0;
}

/* A malloc'ed copy of a BLOB column, NUL-terminated; NULL when out of
 * memory. */
static char *
sq_column_dup(sqlite3_stmt *s, int col, size_t *len_r)
{
	const void *p = sqlite3_column_blob(s, col);
	size_t len = (size_t)sqlite3_column_bytes(s, col);
	char *out = malloc(len + 1);

	if (out == NULL)
		return NULL;
	if (len > 0)
		memcpy(out, p, len);
	out[len] = '\0';
	if (len_r != NULL)
		*len_r = len;
	return out;
}

int
store_sqlite_blob_known(struct store *st, const char *path)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_BLOB_KNOWN);
	int64_t one;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	return store_sq_row_ints(st, s, &one, 1);
}

int
store_sqlite_blob_data(struct store *st, const char *path, char **data_r,
		       size_t *len_r, const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_BLOB_DATA_GET);
	char *out = NULL;
	size_t len = 0;
	int64_t key;
	int rc;

	*data_r = NULL;
	*len_r = 0;
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	if (blob_stored_key(path, &key) < 0) {
		*err_r = store_sq_fail(st, "invalid stored message path");
		return -1;
	}
	sqlite3_bind_int64(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(s, 0);

		len = (size_t)sqlite3_column_bytes(s, 0);
		out = malloc(len + 1);
		if (out != NULL) {
			if (len > 0)
				memcpy(out, p, len);
			out[len] = '\0';
		}
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE) {
		*err_r = store_sq_fail(st, "no such message body");
		return -1;
	}
	if (rc != SQLITE_ROW) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	if (out == NULL) {
		*err_r = store_sq_fail(st, "out of memory");
		return -1;
	}
	*data_r = out;
	*len_r = len;
	return 0;
}

int
store_sqlite_blob_drop(struct store *st, char *const *paths,
		       const char **err_r)
{
	bool own;

	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	for (size_t i = 0; paths != NULL && paths[i] != NULL; i++) {
		int64_t key;

		if (blob_stored_key(paths[i], &key) < 0)
			continue;
		if (store_sq_exec_id(st, SQ_BLOB_DATA_DEL, key) < 0
		    || store_sq_exec_id(st, SQ_BLOB_TRASH_DEL, key) < 0) {
			*err_r = st->err;
			store_sq_op_end(st, own, false, err_r);
			return -1;
		}
	}
	return store_sq_op_end(st, own, true, err_r);
}

int
store_sqlite_blob_trash_sweep(struct store *st, int64_t before,
			      size_t *n_r, const char **err_r)
{
	sqlite3 *db = store_sq(st)->db;
	sqlite3_stmt *s = NULL;
	bool own;
	int rc;

	*n_r = 0;
	if (store_sq_op_begin(st, &own, err_r) < 0)
		return -1;
	rc = sqlite3_prepare_v2(db, "DELETE FROM blob_data WHERE id IN"
				" (SELECT id FROM blob_trash WHERE since < ?1)",
				-1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, before);
		rc = sqlite3_step(s);
		*n_r = (size_t)sqlite3_changes(db);
		sqlite3_finalize(s);
		s = NULL;
	}
	if (rc == SQLITE_DONE)
		rc = sqlite3_prepare_v2(db, "DELETE FROM blob_trash"
					" WHERE since < ?1", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, before);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
	}
	if (rc != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		store_sq_op_end(st, own, false, err_r);
		return -1;
	}
	return store_sq_op_end(st, own, true, err_r);
}

int
store_sqlite_meta_get(struct store *st, int64_t blob_id, struct store_meta *r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_BLOB_META_GET);
	int rc;

	memset(r, 0, sizeof(*r));
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, blob_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		r->envelope = sq_column_dup(s, 0, NULL);
		r->body = sq_column_dup(s, 1, NULL);
		r->bodystructure = sq_column_dup(s, 2, NULL);
		r->partmap = sq_column_dup(s, 3, &r->partmap_len);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW) {
		store_sq_err(st, "database error");
		return -1;
	}
	if (r->envelope == NULL || r->body == NULL || r->bodystructure == NULL
	    || r->partmap == NULL) {
		store_meta_free(r);
		store_sq_fail(st, "out of memory");
		return -1;
	}
	if (r->partmap_len == 0) {
		free(r->partmap);
		r->partmap = NULL;
	}
	return 1;
}

int
store_sqlite_meta_put(struct store *st, int64_t blob_id,
		      const struct store_meta *meta, const char **err_r)
{
	if (meta == NULL) {
		*err_r = store_sq_fail(st, "incomplete message metadata");
		return -1;
	}
	if (store_sq_meta_put(st, blob_id, meta) < 0) {
		*err_r = st->err;
		return -1;
	}
	return 0;
}

static int
sq_append(struct store *st, int64_t mailbox_id, const struct store_delivery *d,
	  uint32_t flags, const char *kw, uint32_t *uid_r)
{
	int64_t blob_id;
	uint64_t modseq;
	uint32_t uid;

	if (store_sq_blob_add(st, d->blob, d->size, 1, d->data, d->data_len,
			      &blob_id) < 0
	    || store_sq_meta_put(st, blob_id, d->meta) < 0)
		return -1;
	if (store_sq_bump(st, mailbox_id, 1, (flags & STORE_FLAG_SEEN) == 0,
			  (flags & STORE_FLAG_DELETED) != 0, d->size, &uid,
			  &modseq)
	    < 0)
		return -1;
	if (store_sq_msg_insert(st, mailbox_id, uid, blob_id, d->size,
				d->internaldate, flags, kw, modseq)
	    < 0)
		return -1;
	*uid_r = uid;
	return 0;
}

int
store_sqlite_append(struct store *st, int64_t mailbox_id,
		    const struct store_delivery *d, uint32_t flags,
		    char *const *keywords, size_t n_keywords, uint32_t *uid_r,
		    const char **err_r)
{
	char *kw = NULL;
	uint32_t uid = 0;
	bool own;

	if (d->blob[0] == '\0' || d->size < 0) {
		*err_r = store_sq_fail(st, "invalid message");
		return -1;
	}
	if (store_kw_apply(NULL, STORE_FLAGS_SET, keywords, n_keywords, &kw,
			   err_r)
	    < 0) {
		*err_r = store_sq_fail(st, *err_r);
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0) {
		free(kw);
		return -1;
	}
	if (sq_append(st, mailbox_id, d, flags & STORE_FLAGS_ALL, kw, &uid) < 0) {
		*err_r = st->err;
		store_sq_op_end(st, own, false, err_r);
		free(kw);
		return -1;
	}
	free(kw);
	if (store_sq_op_end(st, own, true, err_r) < 0)
		return -1;
	if (uid_r != NULL)
		*uid_r = uid;
	return 0;
}

struct sq_expunge_uids_args {
	int64_t mailbox_id;
	const uint32_t *uids; /* ascending, distinct */
	size_t n;
};

static int
sq_expunge_uids_op(struct store *st, void *arg, struct store_sq_orphans *o)
{
	const struct sq_expunge_uids_args *a = arg;
	struct store_sq_gone g = { 0 };
	bool ok = true;

	/* Sessions not told yet may still FETCH what this removes
	 * (imap_keep.c): stored bodies wait in blob_trash. */
	o->defer_stored = true;
	for (size_t i = 0; i < a->n && ok; i++)
		ok = store_sq_expunge_one(st, SQ_MSG_DEL_UID, a->mailbox_id,
					  a->uids[i], o, &g)
		     >= 0;
	ok = ok && store_sq_expunge_finish(st, a->mailbox_id, o, &g) == 0;
	free(g.uids);
	return ok ? 0 : -1;
}

int
store_sqlite_expunge_uids(struct store *st, int64_t mailbox_id,
			  const uint32_t *uids, size_t n,
			  char ***orphan_blobs_r, const char **err_r)
{
	struct sq_expunge_uids_args a = { .mailbox_id = mailbox_id };
	uint32_t *sorted;
	int rc;

	*orphan_blobs_r = NULL;
	if (store_sq_uids_sorted(st, uids, n, &sorted, &a.n) < 0) {
		*err_r = st->err;
		return -1;
	}
	a.uids = sorted;
	rc = store_sq_orphan_op(st, sq_expunge_uids_op, &a, orphan_blobs_r,
				err_r);
	free(sorted);
	return rc;
}
