/*
 * Helpers shared by the store unit tests (test_store.c, test_store_imap.c):
 * a scratch data directory, and one-line SQL on its database file through
 * a connection of its own (what another process would see).
 */
#ifndef POSTEL_TEST_STORE_FX_H
#define POSTEL_TEST_STORE_FX_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline int
store_fx_rm_cb(const char *path, const struct stat *sb, int flag,
	       struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes the scratch directory and everything in it. */
static inline void
rm_tree(const char *dir)
{
	nftw(dir, store_fx_rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static inline sqlite3 *
store_fx_db(const char *dir)
{
	char path[256];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/postel.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* First column of the first row of a query, as an integer; -1 when no
 * row. */
static inline int64_t
sql_int(const char *dir, const char *sql)
{
	sqlite3 *db = store_fx_db(dir);
	sqlite3_stmt *s;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static inline void
sql_exec(const char *dir, const char *sql)
{
	sqlite3 *db = store_fx_db(dir);

	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

#endif
