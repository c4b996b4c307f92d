/*
 * Helpers shared by the store unit tests (test_store.c, test_store_imap.c,
 * test_quota.c): a scratch data directory with a store in it, an account,
 * and one-line SQL on its database file through a connection of its own
 * (what another process would see). Include after <cmocka.h>.
 */
#ifndef POSTEL_TEST_STORE_FX_H
#define POSTEL_TEST_STORE_FX_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

struct store_fx {
	char dir[64];
	struct store *st;
	int64_t acct; /* the account a test's setup made, if any */
};

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

/* Opens the store of dir; fails the test when it cannot. */
static inline struct store *
store_fx_open(const char *dir)
{
	char err[256] = "";
	struct store *st = store_open("sqlite", dir, err, sizeof(err));

	if (st == NULL)
		fail_msg("store_open: %s", err);
	return st;
}

/* cmocka setup: a fresh scratch directory from tmpl (mkdtemp), no store
 * open yet. */
static inline int
store_fx_setup_dir(void **state, const char *tmpl)
{
	struct store_fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s", tmpl);
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* cmocka setup: the same with the store open in it. */
static inline int
store_fx_setup(void **state, const char *tmpl)
{
	struct store_fx *f;

	if (store_fx_setup_dir(state, tmpl) < 0)
		return -1;
	f = *state;
	f->st = store_fx_open(f->dir);
	return 0;
}

static inline int
store_fx_teardown(void **state)
{
	struct store_fx *f = *state;

	store_close(&f->st);
	rm_tree(f->dir);
	free(f);
	return 0;
}

/* Adds a user (its domain must exist) and returns its account id. */
static inline int64_t
store_fx_add_user(struct store *st, const char *addr)
{
	struct store_account a;
	const char *err = NULL;

	if (store_user_add(st, addr, "$y$hash", &err) < 0)
		fail_msg("user_add %s: %s", addr, err);
	assert_int_equal(store_account_lookup(st, addr, &a), 1);
	return a.id;
}

/* Delivers one message of size octets, blob file name blob, to accounts
 * accts[0..n-1], in a transaction of its own. */
static inline void
store_fx_deliver(struct store *st, const char *blob, int64_t size,
		 const int64_t *accts, size_t n)
{
	struct store_delivery d = { .size = size, .internaldate = 1700000000,
				    .accounts = accts, .n_accounts = n };
	const char *err = NULL;

	snprintf(d.blob, sizeof(d.blob), "%s", blob);
	assert_int_equal(store_begin(st, &err), 0);
	if (store_deliver(st, &d, &err) < 0)
		fail_msg("deliver: %s", err);
	assert_int_equal(store_commit(st, &err), 0);
}

#endif
