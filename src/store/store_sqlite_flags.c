/*
 * SQLite backend: STORE (flag and keyword changes, RFC 9051 §6.4.6 with
 * CONDSTORE's UNCHANGEDSINCE, RFC 7162 §3.1.3) and COPY (RFC 9051 §6.4.7
 * with UIDPLUS's COPYUID mapping, RFC 4315 §3). Both work on a sorted,
 * de-duplicated UID list, so the results come in ascending UID order.
 */
#include <stdlib.h>
#include <string.h>

#include "store_kw.h"
#include "store_sqlite_int.h"

/* One STORE operation in progress. */
struct sq_flags_op {
	int64_t mailbox_id;
	enum store_flag_mode mode;
	uint32_t flags;
	char *const *kw;
	size_t n_kw;
	uint64_t unchangedsince;
	uint64_t modseq;          /* the new MODSEQ of changed messages */
	struct store_flag_change *changes;
	size_t n_changes, cap_changes;
	uint32_t *failed;
	size_t n_failed, cap_failed;
	int64_t unseen;           /* counter deltas */
	int64_t deleted;
};

static uint32_t
sq_flags_apply(enum store_flag_mode mode, uint32_t old, uint32_t flags)
{
	switch (mode) {
	case STORE_FLAGS_ADD:
		return old | flags;
	case STORE_FLAGS_REMOVE:
		return old & ~flags;
	default:
		return flags;
	}
}

static int
sq_flags_record(struct store *st, struct sq_flags_op *op, uint32_t uid,
		uint32_t old, uint32_t flags, char *kw)
{
	struct store_flag_change *nc;

	nc = store_sq_grow(op->changes, op->n_changes, &op->cap_changes,
			   sizeof(*nc));
	if (nc == NULL) {
		store_sq_fail(st, "out of memory");
		return -1;
	}
	op->changes = nc;
	nc[op->n_changes].uid = uid;
	nc[op->n_changes].flags = flags;
	nc[op->n_changes].modseq = op->modseq;
	nc[op->n_changes].keywords = NULL;
	if (kw[0] != '\0')
		nc[op->n_changes].keywords = kw;
	else
		free(kw);
	op->n_changes++;
	op->unseen += (int64_t)((flags & STORE_FLAG_SEEN) == 0)
		      - (int64_t)((old & STORE_FLAG_SEEN) == 0);
	op->deleted += (int64_t)((flags & STORE_FLAG_DELETED) != 0)
		       - (int64_t)((old & STORE_FLAG_DELETED) != 0);
	return 0;
}

static int
sq_flags_fail(struct store *st, struct sq_flags_op *op, uint32_t uid)
{
	uint32_t *nf = store_sq_grow(op->failed, op->n_failed, &op->cap_failed,
				     sizeof(*nf));

	if (nf == NULL) {
		store_sq_fail(st, "out of memory");
		return -1;
	}
	op->failed = nf;
	op->failed[op->n_failed++] = uid;
	return 0;
}

/* Writes the new flags of one message; kw is consumed. */
static int
sq_flags_write(struct store *st, struct sq_flags_op *op, int64_t id,
	       uint32_t uid, uint32_t old, uint32_t flags, char *kw)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MSG_SETFLAGS);

	if (s == NULL) {
		free(kw);
		return -1;
	}
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, flags);
	sqlite3_bind_text(s, 3, kw, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (int64_t)op->modseq);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		free(kw);
		return -1;
	}
	return sq_flags_record(st, op, uid, old, flags, kw);
}

static int
sq_flags_one(struct store *st, struct sq_flags_op *op, uint32_t uid)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MSG_BY_UID);
	const char *why = NULL;
	char *kw = NULL;
	int64_t id;
	uint32_t old, flags;
	bool same;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, op->mailbox_id);
	sqlite3_bind_int64(s, 2, uid);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		if (rc == SQLITE_DONE)
			return 0; /* no such UID: skipped */
		store_sq_err(st, "database error");
		return -1;
	}
	id = sqlite3_column_int64(s, 0);
	old = (uint32_t)sqlite3_column_int64(s, 1);
	/* RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE fails. */
	if (op->unchangedsince > 0
	    && (uint64_t)sqlite3_column_int64(s, 3) > op->unchangedsince) {
		sqlite3_reset(s);
		return sq_flags_fail(st, op, uid);
	}
	flags = sq_flags_apply(op->mode, old, op->flags);
	rc = store_kw_apply((const char *)sqlite3_column_text(s, 2), op->mode,
			    op->kw, op->n_kw, &kw, &why);
	same = rc == 0 && flags == old
	       && store_kw_equal(kw, (const char *)sqlite3_column_text(s, 2));
	sqlite3_reset(s);
	if (rc < 0) {
		store_sq_fail(st, why);
		return -1;
	}
	if (same) {
		free(kw);
		return 0;
	}
	return sq_flags_write(st, op, id, uid, old, flags, kw);
}

static int
sq_flags_run(struct store *st, struct sq_flags_op *op, const uint32_t *uids,
	     size_t n)
{
	int64_t counters[5];
	uint64_t highest;
	sqlite3_stmt *s;

	if (store_sq_mailbox_modseq(st, op->mailbox_id, &highest) < 0)
		return -1;
	/* Inside the write transaction nobody else can take it. */
	op->modseq = highest + 1;
	for (size_t i = 0; i < n; i++) {
		if (sq_flags_one(st, op, uids[i]) < 0)
			return -1;
	}
	if (op->n_changes == 0)
		return 0;
	s = store_sq_stmt(st, SQ_MAILBOX_NEXTMODSEQ);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, op->mailbox_id);
	if (store_sq_row_ints(st, s, counters, 1) <= 0)
		return -1;
	s = store_sq_stmt(st, SQ_MAILBOX_COUNTERS);
	if (s == NULL)
		return -1;
	counters[0] = op->mailbox_id;
	counters[1] = 0;
	counters[2] = op->unseen;
	counters[3] = op->deleted;
	counters[4] = 0;
	for (int i = 0; i < 5; i++)
		sqlite3_bind_int64(s, i + 1, counters[i]);
	if (store_sq_exec(s) != SQLITE_DONE) {
		store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}

int
store_sqlite_flags_change(struct store *st, int64_t mailbox_id,
			  const uint32_t *uids, size_t n,
			  enum store_flag_mode mode, uint32_t flags,
			  char *const *keywords, size_t n_keywords,
			  uint64_t unchangedsince,
			  struct store_flag_change **changes_r,
			  size_t *n_changes_r, uint32_t **failed_r,
			  size_t *n_failed_r, const char **err_r)
{
	struct sq_flags_op op = {
		.mailbox_id = mailbox_id, .mode = mode,
		.flags = flags & STORE_FLAGS_ALL, .kw = keywords,
		.n_kw = n_keywords, .unchangedsince = unchangedsince,
	};
	uint32_t *sorted = NULL;
	size_t m;
	bool own, ok;

	*changes_r = NULL;
	*n_changes_r = 0;
	*failed_r = NULL;
	*n_failed_r = 0;
	if (!store_kw_valid(keywords, n_keywords)) {
		*err_r = store_sq_fail(st, "invalid keyword");
		return -1;
	}
	if (store_sq_uids_sorted(st, uids, n, &sorted, &m) < 0) {
		*err_r = st->err;
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0) {
		free(sorted);
		return -1;
	}
	ok = sq_flags_run(st, &op, sorted, m) == 0;
	free(sorted);
	if (!ok)
		*err_r = st->err;
	if (store_sq_op_end(st, own, ok, err_r) < 0 || !ok) {
		store_flag_changes_free(op.changes, op.n_changes);
		free(op.failed);
		return -1;
	}
	*changes_r = op.changes;
	*n_changes_r = op.n_changes;
	*failed_r = op.failed;
	*n_failed_r = op.n_failed;
	return 0;
}

/* A source message of a COPY. */
struct sq_copy_src {
	uint32_t uid;
	uint32_t flags;
	int64_t blob_id;
	int64_t size;
	int64_t internaldate;
	char *kw;
};

/* Loads the source rows of the UIDs that exist; *v_r malloc'ed. */
static int
sq_copy_load(struct store *st, int64_t mailbox_id, const uint32_t *uids,
	     size_t n, struct sq_copy_src *v, size_t *n_r)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *s = store_sq_stmt(st, SQ_MSG_BY_UID);
		int rc;

		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, mailbox_id);
		sqlite3_bind_int64(s, 2, uids[i]);
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			v[k].uid = uids[i];
			v[k].flags = (uint32_t)sqlite3_column_int64(s, 1);
			v[k].kw = strdup((const char *)sqlite3_column_text(s, 2));
			v[k].blob_id = sqlite3_column_int64(s, 4);
			v[k].size = sqlite3_column_int64(s, 5);
			v[k].internaldate = sqlite3_column_int64(s, 6);
			*n_r = ++k;
			rc = v[k - 1].kw != NULL ? SQLITE_DONE : SQLITE_NOMEM;
		}
		sqlite3_reset(s);
		if (rc != SQLITE_DONE) {
			if (rc == SQLITE_NOMEM)
				store_sq_fail(st, "out of memory");
			else
				store_sq_err(st, "database error");
			return -1;
		}
	}
	return 0;
}

static int
sq_copy_insert(struct store *st, int64_t dst, const struct sq_copy_src *v,
	       size_t k, uint32_t *dst_uids)
{
	int64_t unseen = 0, deleted = 0, size = 0;
	uint64_t modseq;
	uint32_t first;

	for (size_t i = 0; i < k; i++) {
		unseen += (v[i].flags & STORE_FLAG_SEEN) == 0;
		deleted += (v[i].flags & STORE_FLAG_DELETED) != 0;
		size += v[i].size;
	}
	if (store_sq_bump(st, dst, (uint32_t)k, unseen, deleted, size, &first,
			  &modseq)
	    < 0)
		return -1;
	for (size_t i = 0; i < k; i++) {
		sqlite3_stmt *s;

		dst_uids[i] = first + (uint32_t)i;
		if (store_sq_msg_insert(st, dst, dst_uids[i], v[i].blob_id,
					v[i].size, v[i].internaldate,
					v[i].flags, v[i].kw, modseq)
		    < 0)
			return -1;
		/* The copy shares the file: one more reference. */
		s = store_sq_stmt(st, SQ_BLOB_REF);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, v[i].blob_id);
		if (store_sq_exec(s) != SQLITE_DONE) {
			store_sq_err(st, "database error");
			return -1;
		}
	}
	return 0;
}

/* Copies into dst; on success the source UIDs are sorted[0..*k_r). */
static int
sq_copy(struct store *st, int64_t src, int64_t dst, uint32_t *sorted,
	size_t m, uint32_t *dst_uids, size_t *k_r)
{
	struct sq_copy_src *v;
	size_t k = 0;
	int rc = -1;

	if (store_sq_mailbox_modseq(st, src, NULL) < 0
	    || store_sq_mailbox_modseq(st, dst, NULL) < 0)
		return -1;
	v = calloc(m + 1, sizeof(*v));
	if (v == NULL) {
		store_sq_fail(st, "out of memory");
		return -1;
	}
	/* Read every source row first: src may be dst. */
	if (sq_copy_load(st, src, sorted, m, v, &k) == 0)
		rc = k == 0 ? 0 : sq_copy_insert(st, dst, v, k, dst_uids);
	for (size_t i = 0; i < k; i++) {
		sorted[i] = v[i].uid;
		free(v[i].kw);
	}
	free(v);
	*k_r = k;
	return rc;
}

int
store_sqlite_copy(struct store *st, int64_t src_mailbox, int64_t dst_mailbox,
		  const uint32_t *uids, size_t n, uint32_t **src_uids_r,
		  uint32_t **dst_uids_r, size_t *n_copied_r, const char **err_r)
{
	uint32_t *sorted = NULL, *dst = NULL;
	size_t m, k = 0;
	bool own, ok;

	*src_uids_r = NULL;
	*dst_uids_r = NULL;
	*n_copied_r = 0;
	if (store_sq_uids_sorted(st, uids, n, &sorted, &m) < 0
	    || (dst = calloc(m + 1, sizeof(*dst))) == NULL) {
		*err_r = store_sq_fail(st, "out of memory");
		free(sorted);
		return -1;
	}
	if (store_sq_op_begin(st, &own, err_r) < 0) {
		free(sorted);
		free(dst);
		return -1;
	}
	ok = sq_copy(st, src_mailbox, dst_mailbox, sorted, m, dst, &k) == 0;
	if (!ok)
		*err_r = st->err;
	if (store_sq_op_end(st, own, ok, err_r) < 0)
		ok = false;
	if (!ok || k == 0) {
		free(sorted);
		free(dst);
		return ok ? 0 : -1;
	}
	*src_uids_r = sorted;
	*dst_uids_r = dst;
	*n_copied_r = k;
	return 0;
}
