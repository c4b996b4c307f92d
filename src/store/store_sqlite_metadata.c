/*
 * RFC 5464 METADATA entries in the SQLite backend (the metadata table of
 * schema version 6): read by (account, mailbox), set and deleted one
 * entry at a time inside the caller's transaction, so one SETMETADATA is
 * all or nothing. The rows go with their mailbox (sq_mbox_purge) and
 * their account (sq_user_purge).
 */
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

void
store_metadata_free(struct store_metadata *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
}

int
store_sqlite_metadata_list(struct store *st, int64_t account_id,
			   int64_t mailbox_id, struct store_metadata **v_r,
			   size_t *n_r, const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_MD_LIST);
	struct store_metadata *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*v_r = NULL;
	*n_r = 0;
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_int64(s, 2, mailbox_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		const void *val = sqlite3_column_blob(s, 1);
		size_t len = (size_t)sqlite3_column_bytes(s, 1);
		struct store_metadata *nv = store_sq_grow(v, n, &cap,
							  sizeof(*v));

		if (nv == NULL)
			break;
		v = nv;
		memset(&v[n], 0, sizeof(v[n]));
		v[n].name = strdup(name != NULL ? name : "");
		v[n].value = malloc(len + 1);
		n++;
		if (v[n - 1].name == NULL || v[n - 1].value == NULL)
			break;
		if (len > 0)
			memcpy(v[n - 1].value, val, len);
		v[n - 1].value[len] = '\0';
		v[n - 1].len = len;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_metadata_free(v, n);
		*err_r = rc == SQLITE_ROW ? store_sq_fail(st, "out of memory")
					  : store_sq_err(st, "database error");
		return -1;
	}
	*v_r = v;
	*n_r = n;
	return 0;
}

int
store_sqlite_metadata_set(struct store *st, int64_t account_id,
			  int64_t mailbox_id, const char *name,
			  const char *value, size_t len, size_t max_entries,
			  const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, value != NULL ? SQ_MD_SET
							  : SQ_MD_DEL);
	int64_t count = 0;

	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_int64(s, 2, mailbox_id);
	sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
	if (value != NULL)
		sqlite3_bind_blob(s, 4, len > 0 ? value : "", (int)len,
				  SQLITE_STATIC);
	if (store_sq_exec(s) != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	if (value == NULL || max_entries == 0)
		return 0;
	/* Counted after the write: the caller's savepoint takes it back. */
	s = store_sq_stmt(st, SQ_MD_COUNT);
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, account_id);
	if (store_sq_row_ints(st, s, &count, 1) < 0) {
		*err_r = st->err;
		return -1;
	}
	if ((uint64_t)count > max_entries) {
		*err_r = store_sq_fail(st, "too many entries");
		return -1;
	}
	return 0;
}
