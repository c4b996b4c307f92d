/*
 * Helpers shared by the store unit tests (test_store.c, test_store_imap_*.c,
 * test_quota.c): a scratch data directory with a store in it, an account,
 * and one-line SQL on its database file through a connection of its own
 * (what another process would see); for the IMAP tests mailboxes, APPEND,
 * counters checked against the rows. Include after <cmocka.h>.
 */
#ifndef POSTEL_TEST_STORE_FX_H
#define POSTEL_TEST_STORE_FX_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_sqlite_int.h"

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
/* A database as schema version `version` left it: the migration steps
 * 1..version, as the server ran them (the caller adds the meta rows). */
static inline void
sql_schema_upto(const char *dir, int version)
{
	static const char *const steps[] = {
		store_sqlite_schema_v1, store_sqlite_schema_v2,
		store_sqlite_schema_v3, store_sqlite_schema_v4,
		store_sqlite_schema_v5, store_sqlite_schema_v6,
		store_sqlite_schema_v7, store_sqlite_schema_v8,
		store_sqlite_schema_v9,
	};

	for (int i = 0; i < version && i < (int)(sizeof(steps) /
						 sizeof(steps[0])); i++)
		sql_exec(dir, steps[i]);
}

static inline struct store *
store_fx_open(const char *dir)
{
	char err[256] = "";
	struct store *st = store_open("sqlite", dir, err, sizeof(err));

	if (st == NULL)
		fail_msg("store_open: %s", err);
	return st;
}

/* store_fx_open of a database left at an older version: it must come
 * out migrated to the current one. */
static inline struct store *
store_fx_open_migrated(const char *dir)
{
	struct store *st = store_fx_open(dir);

	assert_int_equal(sql_int(dir, "SELECT value FROM meta"
				      " WHERE key = 'schema_version'"),
			 STORE_SCHEMA_VERSION);
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

/* ---- the IMAP store tests (test_store_imap_*.c) ---- */

#define STORE_FX_IMAP_TMPL "/tmp/postel-simap-XXXXXX"

static inline int
fx_setup_empty(void **state)
{
	return store_fx_setup_dir(state, STORE_FX_IMAP_TMPL);
}

static inline int
fx_teardown(void **state)
{
	return store_fx_teardown(state);
}

/* A store with one account u@example.org (INBOX, Drafts, Sent, ...). */
static inline int
fx_setup(void **state)
{
	const char *err = NULL;
	struct store_fx *f;

	if (store_fx_setup(state, STORE_FX_IMAP_TMPL) < 0)
		return -1;
	f = *state;
	assert_int_equal(store_domain_add(f->st, "example.org", &err), 0);
	f->acct = store_fx_add_user(f->st, "u@example.org");
	return 0;
}

static inline struct store_mailbox
fx_box(struct store_fx *f, const char *name)
{
	struct store_mailbox b;

	if (store_mailbox_get(f->st, f->acct, name, &b) != 1)
		fail_msg("no mailbox %s", name);
	return b;
}

static inline int64_t
fx_mkbox(struct store_fx *f, const char *name)
{
	const char *err = NULL;
	int64_t id = 0;

	if (store_mailbox_create(f->st, f->acct, name, NULL, &id, &err) < 0)
		fail_msg("create %s: %s", name, err);
	return id;
}

/* The stored counters equal what the messages table says. */
static inline void
fx_check_counters(struct store_fx *f, int64_t mailbox_id)
{
	char sql[512];
	struct store_mailbox_info info;
	int64_t want[4], got[4];
	const char *cols[4] = { "COUNT(*)", "SUM(1 - flags % 2)",
				"SUM((flags / 8) % 2)", "SUM(size)" };
	const char *mine[4] = { "messages", "unseen", "deleted", "size" };

	(void)info;
	for (int i = 0; i < 4; i++) {
		snprintf(sql, sizeof(sql),
			 "SELECT COALESCE(%s, 0) FROM messages"
			 " WHERE mailbox_id = %lld",
			 cols[i], (long long)mailbox_id);
		want[i] = sql_int(f->dir, sql);
		snprintf(sql, sizeof(sql),
			 "SELECT %s FROM mailboxes WHERE id = %lld", mine[i],
			 (long long)mailbox_id);
		got[i] = sql_int(f->dir, sql);
		if (want[i] != got[i])
			fail_msg("mailbox %lld %s: stored %lld, real %lld",
				 (long long)mailbox_id, mine[i],
				 (long long)got[i], (long long)want[i]);
	}
}

static inline uint32_t
fx_append(struct store_fx *f, int64_t mailbox_id, const char *blob,
		uint32_t flags, char *const *kw, size_t n_kw)
{
	struct store_delivery d = { .size = 100, .internaldate = 1700000000 };
	const char *err = NULL;
	uint32_t uid = 0;

	snprintf(d.blob, sizeof(d.blob), "%s", blob);
	if (store_append(f->st, mailbox_id, &d, flags, kw, n_kw, &uid, &err)
	    < 0)
		fail_msg("append %s: %s", blob, err);
	return uid;
}

static inline struct store_imsg *
fx_imsgs(struct store_fx *f, int64_t mailbox_id, uint64_t since,
	       size_t *n)
{
	struct store_imsg *m = NULL;
	const char *err = NULL;

	if (store_mailbox_imsgs(f->st, mailbox_id, since, &m, n, &err) < 0)
		fail_msg("imsgs: %s", err);
	return m;
}

/* errp, not err: the call's arguments are evaluated in any order. */
static inline void
fx_expect_err(int rc, const char *const *errp, const char *want)
{
	assert_int_equal(rc, -1);
	assert_non_null(*errp);
	if (strstr(*errp, want) == NULL)
		fail_msg("error \"%s\", wanted \"%s\"", *errp, want);
}

#endif
