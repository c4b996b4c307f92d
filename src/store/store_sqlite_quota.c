/*
 * Storage quotas in the SQLite backend (RFC 9208 STORAGE):
 * accounts.quota_bytes (schema version 4) and the usage, summed from the
 * per-mailbox size counters that every write keeps (so reading it costs
 * one row per mailbox, never a scan of the messages).
 *
 * Both statements are in the shared cache (store_sq_stmt): every RCPT on
 * port 25 reads its recipient's quota.
 */
#include <string.h>

#include "store_sqlite_int.h"

int
store_sqlite_quota_get(struct store *st, int64_t account_id,
		       int64_t *quota_r, uint64_t *usage_r,
		       const char **err_r)
{
	sqlite3_stmt *s = store_sq_stmt(st, SQ_QUOTA_GET);
	int64_t row[2];
	int rc;

	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, account_id);
	rc = store_sq_row_ints(st, s, row, 2);
	if (rc < 0) {
		*err_r = st->err;
		return -1;
	}
	if (rc == 1) {
		/* NULL (the default) reads as STORE_QUOTA_DEFAULT. */
		*quota_r = row[0] < 0 ? STORE_QUOTA_DEFAULT : row[0];
		*usage_r = row[1] > 0 ? (uint64_t)row[1] : 0;
	}
	return rc;
}

int
store_sqlite_quota_set(struct store *st, const char *address, int64_t quota,
		       const char **err_r)
{
	sqlite3_stmt *s;
	int64_t id = 0;
	int rc;

	if (quota < STORE_QUOTA_DEFAULT) {
		*err_r = store_sq_fail(st, "invalid quota");
		return -1;
	}
	if (store_sq_user_id(st, address, &id, err_r) < 0)
		return -1;
	s = store_sq_stmt(st, SQ_QUOTA_SET);
	if (s == NULL) {
		*err_r = st->err;
		return -1;
	}
	sqlite3_bind_int64(s, 1, id);
	if (quota == STORE_QUOTA_DEFAULT)
		sqlite3_bind_null(s, 2);
	else
		sqlite3_bind_int64(s, 2, quota);
	rc = store_sq_exec(s);
	if (rc != SQLITE_DONE) {
		*err_r = store_sq_err(st, "database error");
		return -1;
	}
	return 0;
}
