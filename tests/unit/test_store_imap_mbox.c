/*
 * Unit tests of the IMAP part of the store (store.h) on the SQLite backend,
 * mailboxes: keywords, schema migration 1 -> 2, create, delete, rename
 * with children and INBOX, subscriptions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_kw.h"
#include "store/store_sqlite_int.h"
#include "store_fx.h"


/* ---- keywords ---- */

static void
kw_expect(const char *cur, enum store_flag_mode mode, char *const *kw,
	  size_t n, const char *want)
{
	const char *err = NULL;
	char *out = NULL;

	if (store_kw_apply(cur, mode, kw, n, &out, &err) < 0)
		fail_msg("kw_apply: %s", err);
	assert_string_equal(out, want);
	free(out);
}

static void
test_keywords(void **state)
{
	char long_kw[STORE_KEYWORD_LEN_MAX + 2];
	const char *err = NULL;
	char *out = NULL;

	kw_expect("a B", STORE_FLAGS_ADD, (char *[]){ "b", "c", "C" }, 3,
		  "a B c");
	kw_expect("a B c", STORE_FLAGS_REMOVE, (char *[]){ "A", "zz" }, 2,
		  "B c");
	kw_expect("a B", STORE_FLAGS_SET, (char *[]){ "$Fwd", "$fwd" }, 2,
		  "$Fwd");
	kw_expect(NULL, STORE_FLAGS_ADD, NULL, 0, "");
	kw_expect("x", STORE_FLAGS_SET, NULL, 0, "");
	assert_true(store_kw_equal("a b", "B A"));
	assert_true(store_kw_equal(NULL, ""));
	assert_false(store_kw_equal("a b", "a"));
	memset(long_kw, 'k', sizeof(long_kw) - 1);
	long_kw[sizeof(long_kw) - 1] = '\0';
	assert_false(store_kw_valid((char *[]){ long_kw }, 1));
	long_kw[STORE_KEYWORD_LEN_MAX] = '\0';
	assert_true(store_kw_valid((char *[]){ long_kw }, 1));
	assert_false(store_kw_valid((char *[]){ "caf\xc3\xa9" }, 1));
	assert_false(store_kw_valid((char *[]){ "" }, 1));
	assert_false(store_kw_valid((char *[]){ "a]" }, 1));
	assert_int_equal(store_kw_apply("", STORE_FLAGS_ADD,
					(char *[]){ "a*" }, 1, &out, &err),
			 -1);
	assert_null(out);
	assert_string_equal(err, "invalid keyword");
}

/* ---- migration ---- */

/* A database as issue 2 left it: the version 1 schema, rows included. */
static void
make_v1(struct store_fx *f)
{
	sql_exec(f->dir, store_sqlite_schema_v1);
	sql_exec(f->dir,
		 "INSERT INTO meta VALUES ('schema_version', '1');"
		 "INSERT INTO meta VALUES ('uidvalidity', '1700000002');"
		 "INSERT INTO domains VALUES (1, 'example.org', 0);"
		 "INSERT INTO accounts VALUES (1, 1, 'u', '$y$h', 0);"
		 "INSERT INTO mailboxes VALUES (1, 1, 'INBOX', 1700000001, 4,"
		 " 7, NULL, 1);"
		 "INSERT INTO mailboxes VALUES (2, 1, 'Old', 1700000002, 1,"
		 " 1, NULL, 0);"
		 "INSERT INTO blobs VALUES (1, 'msg/a', 10, 1);"
		 "INSERT INTO blobs VALUES (2, 'msg/b', 20, 1);"
		 "INSERT INTO blobs VALUES (3, 'msg/c', 30, 1);"
		 "INSERT INTO messages VALUES (1, 1, 1, 1, 10, 5, 0, '', 2);"
		 "INSERT INTO messages VALUES (2, 1, 2, 2, 20, 6, 1, 'x', 3);"
		 "INSERT INTO messages VALUES (3, 1, 3, 3, 30, 7, 9, '', 4);");
}

static void
test_migration_v1_v2(void **state)
{
	struct store_fx *f = *state;
	struct store_mailbox b;
	struct store_imsg *m;
	char **subs = NULL, path[128];
	const char *err = NULL;
	size_t n;

	make_v1(f);
	f->st = store_fx_open_migrated(f->dir);
	f->acct = 1;
	snprintf(path, sizeof(path), "%s/postel.db.v1.bak", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	/* Version 4: every account follows the default quota, no grants. */
	assert_int_equal(sql_int(f->dir, "SELECT count(*) FROM accounts"
				    " WHERE quota_bytes IS NULL"), 1);
	assert_int_equal(sql_int(f->dir, "SELECT count(*) FROM"
				    " sender_grants"), 0);
	/* Nothing lost: UIDVALIDITY, UIDNEXT, MODSEQ, flags, keywords. */
	b = fx_box(f, "INBOX");
	assert_int_equal(b.uidvalidity, 1700000001);
	assert_int_equal(b.uidnext, 4);
	assert_int_equal(b.highestmodseq, 7);
	assert_int_equal(b.messages, 3);
	assert_int_equal(b.unseen, 1);
	assert_int_equal(b.deleted, 1);
	assert_int_equal(b.size, 60);
	assert_true(b.subscribed);
	m = fx_imsgs(f, b.id, 0, &n);
	assert_int_equal(n, 3);
	assert_int_equal(m[1].flags, 1);
	assert_string_equal(m[1].keywords, "x");
	assert_null(m[0].keywords);
	assert_int_equal(m[2].modseq, 4);
	assert_string_equal(m[2].blob, "msg/c");
	store_imsgs_free(m, n);
	assert_false(fx_box(f, "Old").subscribed);
	assert_int_equal(store_subscriptions(f->st, 1, &subs, &err), 0);
	assert_string_equal(subs[0], "INBOX");
	assert_null(subs[1]);
	store_strv_free(subs);
	/* It keeps working: a new message takes UID 4, a new mailbox a
	 * UIDVALIDITY above every earlier one. */
	assert_int_equal(fx_append(f, b.id, "msg/d", 0, NULL, 0), 4);
	fx_check_counters(f, b.id);
	assert_true(fx_box(f, "Old").uidvalidity == 1700000002);
	fx_mkbox(f, "New");
	assert_true(fx_box(f, "New").uidvalidity > 1700000002);
	/* And opens again without migrating twice. */
	store_close(&f->st);
	f->st = store_fx_open(f->dir);
	assert_int_equal(fx_box(f, "INBOX").messages, 4);
}

/* ---- mailboxes ---- */

static void
test_mailbox_create_list(void **state)
{
	struct store_fx *f = *state;
	struct store_mailbox *v = NULL, b;
	const char *err = NULL;
	char longname[STORE_MAILBOX_NAME_MAX + 2];
	int64_t id;
	size_t n;

	id = fx_mkbox(f, "Zeta");
	b = fx_box(f, "Zeta");
	assert_int_equal(b.id, id);
	assert_int_equal(b.uidnext, 1);
	assert_true(b.highestmodseq >= 1);
	assert_int_equal(b.messages, 0);
	assert_false(b.subscribed);
	assert_true(b.uidvalidity > fx_box(f, "Archive").uidvalidity);
	assert_int_equal(store_mailbox_create(f->st, f->acct, "Zeta/Ä",
					      "\\Flagged", NULL, &err), 0);
	assert_string_equal(fx_box(f, "Zeta/Ä").special_use, "\\Flagged");
	fx_expect_err(store_mailbox_create(f->st, f->acct, "Zeta", NULL, &id,
					&err), &err, "mailbox already exists");
	fx_expect_err(store_mailbox_create(f->st, f->acct, "inbox", NULL, &id,
					&err), &err, "mailbox already exists");
	fx_expect_err(store_mailbox_create(f->st, f->acct, "", NULL, &id, &err), &err, "invalid mailbox name");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	fx_expect_err(store_mailbox_create(f->st, f->acct, longname, NULL, &id,
					&err), &err, "too long");
	assert_int_equal(store_mailbox_get(f->st, f->acct, longname, &b), 0);
	longname[STORE_MAILBOX_NAME_MAX] = '\0';
	assert_int_equal(store_mailbox_create(f->st, f->acct, longname, NULL,
					      &id, &err), 0);
	fx_expect_err(store_mailbox_create(f->st, f->acct, "X",
					"\\WayTooLongAttribute", &id, &err), &err, "special-use");
	fx_expect_err(store_mailbox_create(f->st, 999, "X", NULL, &id, &err), &err,
		   "no such account");
	/* RFC 9051 §5.1: INBOX in any case, also as a parent. */
	assert_int_equal(store_mailbox_get(f->st, f->acct, "iNbOx", &b), 1);
	assert_string_equal(b.name, "INBOX");
	fx_mkbox(f, "inbox/Sub");
	assert_int_equal(store_mailbox_get(f->st, f->acct, "INBOX/Sub", &b), 1);
	assert_int_equal(store_mailbox_get(f->st, f->acct, "zeta", &b), 0);
	assert_int_equal(store_mailbox_list(f->st, f->acct, &v, &n, &err), 0);
	assert_int_equal(n, 10);
	/* INBOX first, then byte order. */
	assert_string_equal(v[0].name, "INBOX");
	assert_string_equal(v[1].name, "Archive");
	assert_string_equal(v[2].name, "Drafts");
	assert_string_equal(v[2].special_use, "\\Drafts");
	assert_true(v[2].subscribed);
	assert_string_equal(v[3].name, "INBOX/Sub");
	assert_string_equal(v[7].name, "Zeta");
	assert_string_equal(v[8].name, "Zeta/Ä");
	assert_int_equal(v[8].uidnext, 1);
	assert_string_equal(v[9].name, longname);
	free(v);
	assert_int_equal(store_mailbox_list(f->st, 999, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

static void
test_mailbox_delete(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	char **orphans = NULL;
	uint32_t *su = NULL, *du = NULL;
	struct store_mailbox before;
	int64_t a = fx_mkbox(f, "A"), inbox = fx_box(f, "INBOX").id;
	size_t n;

	fx_mkbox(f, "A/child");
	fx_append(f, a, "msg/one", 0, NULL, 0);
	fx_append(f, a, "msg/two", 0, NULL, 0);
	assert_int_equal(store_copy(f->st, a, inbox, (uint32_t[]){ 2 }, 1, &su,
				    &du, &n, &err), 0);
	free(su);
	free(du);
	before = fx_box(f, "A");
	fx_expect_err(store_mailbox_delete(f->st, f->acct, "inbox", &orphans,
					&err), &err, "cannot delete INBOX");
	assert_null(orphans);
	fx_expect_err(store_mailbox_delete(f->st, f->acct, "Nope", &orphans,
					&err), &err, "no such mailbox");
	assert_int_equal(store_mailbox_delete(f->st, f->acct, "A", &orphans,
					      &err), 0);
	/* msg/two is still in INBOX. */
	assert_string_equal(orphans[0], "msg/one");
	assert_null(orphans[1]);
	store_strv_free(orphans);
	assert_int_equal(sql_int(f->dir, "SELECT refcount FROM blobs"
				    " WHERE path = 'msg/two'"), 1);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blobs"
				    " WHERE path = 'msg/one'"), 0);
	/* Children stay; the same name made again is a new mailbox. */
	fx_box(f, "A/child");
	a = fx_mkbox(f, "A");
	assert_true(fx_box(f, "A").uidvalidity > before.uidvalidity);
	assert_int_equal(fx_append(f, a, "msg/three", 0, NULL, 0), 1);
}

static void
test_rename(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	struct store_mailbox a, ax;
	char **subs = NULL;
	char longname[STORE_MAILBOX_NAME_MAX + 1];
	int64_t id = fx_mkbox(f, "a");

	fx_mkbox(f, "a/x");
	fx_mkbox(f, "a/x/y");
	fx_mkbox(f, "ab");
	fx_mkbox(f, "c");
	fx_mkbox(f, "c/x");
	fx_append(f, id, "msg/1", STORE_FLAG_SEEN, NULL, 0);
	assert_int_equal(store_subscribe(f->st, f->acct, "a/x", true, &err), 0);
	a = fx_box(f, "a");
	ax = fx_box(f, "a/x");
	fx_expect_err(store_mailbox_rename(f->st, f->acct, "zz", "b", &err), &err,
		   "no such mailbox");
	fx_expect_err(store_mailbox_rename(f->st, f->acct, "a", "ab", &err), &err,
		   "mailbox already exists");
	fx_expect_err(store_mailbox_rename(f->st, f->acct, "a", "a", &err), &err,
		   "mailbox already exists");
	fx_expect_err(store_mailbox_rename(f->st, f->acct, "a", "INBOX", &err), &err, "mailbox already exists");
	/* "c" -> "d" is fine, but "a" -> "c" would clash at "c/x". */
	fx_expect_err(store_mailbox_rename(f->st, f->acct, "a/x", "c", &err), &err,
		   "mailbox already exists");
	fx_expect_err(store_mailbox_rename(f->st, f->acct, "a", "a/new", &err), &err, "into itself");
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[STORE_MAILBOX_NAME_MAX - 3] = '\0'; /* + "/x/y" too long */
	fx_expect_err(store_mailbox_rename(f->st, f->acct, "a", longname, &err), &err, "too long");
	fx_box(f, "a/x/y"); /* nothing changed */
	assert_int_equal(store_mailbox_rename(f->st, f->acct, "a", "b/deep",
					      &err), 0);
	assert_int_equal(fx_box(f, "b/deep").id, a.id);
	assert_int_equal(fx_box(f, "b/deep").uidvalidity, a.uidvalidity);
	assert_int_equal(fx_box(f, "b/deep").messages, 1);
	assert_int_equal(fx_box(f, "b/deep/x").uidvalidity, ax.uidvalidity);
	assert_true(fx_box(f, "b/deep/x").subscribed);
	fx_box(f, "b/deep/x/y");
	fx_box(f, "ab");
	assert_int_equal(store_mailbox_get(f->st, f->acct, "a", &a), 0);
	assert_int_equal(store_mailbox_get(f->st, f->acct, "a/x", &a), 0);
	assert_int_equal(store_subscriptions(f->st, f->acct, &subs, &err), 0);
	for (size_t i = 0; subs[i] != NULL; i++)
		assert_string_not_equal(subs[i], "a/x");
	store_strv_free(subs);
	/* A name freed by RENAME gets a new UIDVALIDITY when re-created. */
	fx_mkbox(f, "a");
	assert_true(fx_box(f, "a").uidvalidity > ax.uidvalidity);
}

static void
test_rename_inbox(void **state)
{
	struct store_fx *f = *state;
	struct store_mailbox before, after, old;
	struct store_imsg *m;
	const char *err = NULL;
	char **orphans = NULL;
	uint32_t *uids = NULL;
	int64_t inbox = fx_box(f, "INBOX").id;
	size_t n;

	fx_mkbox(f, "INBOX/keep");
	fx_append(f, inbox, "msg/1", 0, NULL, 0);
	fx_append(f, inbox, "msg/2", STORE_FLAG_SEEN, (char *[]){ "k" }, 1);
	fx_append(f, inbox, "msg/3", STORE_FLAG_DELETED, NULL, 0);
	assert_int_equal(store_expunge_uids(f->st, inbox, (uint32_t[]){ 3 }, 1,
					    &orphans, &err), 0);
	store_strv_free(orphans);
	before = fx_box(f, "INBOX");
	fx_expect_err(store_mailbox_rename(f->st, f->acct, "INBOX", "INBOX/keep",
					&err), &err, "mailbox already exists");
	assert_int_equal(store_mailbox_rename(f->st, f->acct, "inbox", "Old",
					      &err), 0);
	after = fx_box(f, "INBOX");
	old = fx_box(f, "Old");
	/* INBOX: same mailbox, empty, nothing reused, a new MODSEQ. */
	assert_int_equal(after.id, before.id);
	assert_int_equal(after.uidvalidity, before.uidvalidity);
	assert_int_equal(after.uidnext, before.uidnext);
	assert_int_equal(after.messages, 0);
	assert_int_equal(after.size, 0);
	assert_true(after.highestmodseq > before.highestmodseq);
	assert_int_equal(store_vanished_since(f->st, inbox,
					      before.highestmodseq, &uids, &n,
					      &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(uids[0], 1);
	assert_int_equal(uids[1], 2);
	free(uids);
	/* Old: a new mailbox holding the messages under their UIDs. */
	assert_true(old.uidvalidity > before.uidvalidity);
	assert_int_equal(old.uidnext, before.uidnext);
	assert_int_equal(old.messages, 2);
	assert_int_equal(old.unseen, 1);
	assert_int_equal(old.highestmodseq, before.highestmodseq);
	m = fx_imsgs(f, old.id, 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[1].uid, 2);
	assert_string_equal(m[1].keywords, "k");
	store_imsgs_free(m, n);
	fx_box(f, "INBOX/keep");
	fx_check_counters(f, inbox);
	fx_check_counters(f, old.id);
	assert_int_equal(fx_append(f, inbox, "msg/4", 0, NULL, 0), 4);
}

static void
test_subscriptions(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	char **v = NULL;

	assert_int_equal(store_subscribe(f->st, f->acct, "Ghost", true, &err),
			 0);
	assert_int_equal(store_subscribe(f->st, f->acct, "Ghost", true, &err),
			 0);
	assert_int_equal(store_subscribe(f->st, f->acct, "Trash", false, &err),
			 0);
	assert_int_equal(store_subscribe(f->st, f->acct, "Trash", false, &err),
			 0);
	assert_int_equal(store_subscribe(f->st, f->acct, "inbox", true, &err),
			 0);
	fx_expect_err(store_subscribe(f->st, f->acct, "", true, &err), &err,
		   "invalid mailbox name");
	fx_expect_err(store_subscribe(f->st, 999, "X", true, &err), &err,
		   "no such account");
	assert_int_equal(store_subscriptions(f->st, f->acct, &v, &err), 0);
	assert_string_equal(v[0], "INBOX");
	assert_string_equal(v[1], "Archive");
	assert_string_equal(v[2], "Drafts");
	assert_string_equal(v[3], "Ghost");
	assert_string_equal(v[4], "Junk");
	assert_string_equal(v[5], "Sent");
	assert_null(v[6]);
	store_strv_free(v);
	assert_false(fx_box(f, "Trash").subscribed);
	/* Deleting a mailbox keeps its subscription (RFC 9051 §6.3.9). */
	fx_mkbox(f, "Tmp");
	assert_int_equal(store_subscribe(f->st, f->acct, "Tmp", true, &err), 0);
	assert_int_equal(store_mailbox_delete(f->st, f->acct, "Tmp", &v, &err),
			 0);
	store_strv_free(v);
	assert_int_equal(store_subscriptions(f->st, f->acct, &v, &err), 0);
	assert_string_equal(v[6], "Tmp");
	store_strv_free(v);
	assert_int_equal(store_subscriptions(f->st, 999, &v, &err), 0);
	assert_null(v[0]);
	store_strv_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test_setup_teardown(test_migration_v1_v2,
						fx_setup_empty, fx_teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_create_list,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_delete,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rename_inbox,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
