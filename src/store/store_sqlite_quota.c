/*
 * Storage quotas in the SQLite backend (issue 7; RFC 9208 STORAGE):
 * accounts.quota_bytes (schema version 4) and the usage, summed from the
 * per-mailbox size counters that every write keeps (so reading it costs
 * one row per mailbox, never a scan of the messages).
 *
 * The statements are prepared per call rather than in the shared cache
 * (store_sq_stmt): two short statements, and it keeps this feature out of
 * the statement table.
 */
#include <string.h>

#include "store_sqlite_int.h"

#define SQ_QUOTA_GET                                                        \
	"SELECT a.quota_bytes, (SELECT COALESCE(SUM(m.size), 0) "           \
	"FROM mailboxes m WHERE m.account_id = a.id) "                      \
	"FROM accounts a WHERE a.id = ?1"
#define SQ_QUOTA_SET "UPDATE accounts SET quota_bytes = ?2 WHERE id = ?1"

static sqlite3_stmt *
sq_quota_prepare(struct store *st, const char *sql, const char **err_r)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(store_sq(st)->db, sql, -1, &s, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(s);
		*err_r = store_sq_err(st, "database error");
		return NULL;
	}
	return s;
}

int
store_sqlite_quota_get(struct store *st, int64_t account_id,
		       int64_t *quota_r, uint64_t *usage_r,
		       const char **err_r)
{
	sqlite3_stmt *s = sq_quota_prepare(st, SQ_QUOTA_GET, err_r);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		int64_t usage = sqlite3_column_int64(s, 1);

		*quota_r = sqlite3_column_type(s, 0) == SQLITE_NULL
				   ? STORE_QUOTA_DEFAULT
				   : sqlite3_column_int64(s, 0);
		if (*quota_r < 0)
			*quota_r = STORE_QUOTA_DEFAULT;
		*usage_r = usage > 0 ? (uint64_t)usage : 0;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		*err_r = store_sq_err(st, "database error");
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
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
	s = sq_quota_prepare(st, SQ_QUOTA_SET, err_r);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (quota == STORE_QUOTA_DEFAULT)
		sqlite3_bind_null(s, 2);
	else
		sqlite3_bind_int64(s, 2, quota);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		*err_r = store_sq_err(st, "database error");
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}
