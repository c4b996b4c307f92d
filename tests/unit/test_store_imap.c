/*
 * Unit tests of the IMAP part of the store (store.h, issue 3) on the SQLite
 * backend: schema migration 1 -> 2, mailboxes (create, delete, rename with
 * children and INBOX), subscriptions, APPEND, STORE with MODSEQ and
 * UNCHANGEDSINCE, COPY mapping, EXPUNGE and VANISHED (also from POP3),
 * metadata per blob, counters, UID exhaustion, two handles at once.
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

#define SIMAP_TMPL "/tmp/postel-simap-XXXXXX"

static int
setup_empty(void **state)
{
	return store_fx_setup_dir(state, SIMAP_TMPL);
}

/* A store with one account u@example.org (INBOX, Drafts, Sent, ...). */
static int
setup(void **state)
{
	const char *err = NULL;
	struct store_fx *f;

	if (store_fx_setup(state, SIMAP_TMPL) < 0)
		return -1;
	f = *state;
	assert_int_equal(store_domain_add(f->st, "example.org", &err), 0);
	f->acct = store_fx_add_user(f->st, "u@example.org");
	return 0;
}

static int
teardown(void **state)
{
	return store_fx_teardown(state);
}

static struct store_mailbox
box(struct store_fx *f, const char *name)
{
	struct store_mailbox b;

	if (store_mailbox_get(f->st, f->acct, name, &b) != 1)
		fail_msg("no mailbox %s", name);
	return b;
}

static int64_t
mkbox(struct store_fx *f, const char *name)
{
	const char *err = NULL;
	int64_t id = 0;

	if (store_mailbox_create(f->st, f->acct, name, NULL, &id, &err) < 0)
		fail_msg("create %s: %s", name, err);
	return id;
}

/* The stored counters equal what the messages table says. */
static void
check_counters(struct store_fx *f, int64_t mailbox_id)
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

static uint32_t
append(struct store_fx *f, int64_t mailbox_id, const char *blob, uint32_t flags,
       char *const *kw, size_t n_kw)
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

static struct store_imsg *
imsgs(struct store_fx *f, int64_t mailbox_id, uint64_t since, size_t *n)
{
	struct store_imsg *m = NULL;
	const char *err = NULL;

	if (store_mailbox_imsgs(f->st, mailbox_id, since, &m, n, &err) < 0)
		fail_msg("imsgs: %s", err);
	return m;
}

/* errp, not err: the call's arguments are evaluated in any order. */
static void
expect_err(int rc, const char *const *errp, const char *want)
{
	assert_int_equal(rc, -1);
	assert_non_null(*errp);
	if (strstr(*errp, want) == NULL)
		fail_msg("error \"%s\", wanted \"%s\"", *errp, want);
}

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
	f->st = store_fx_open(f->dir);
	f->acct = 1;
	assert_int_equal(sql_int(f->dir, "SELECT value FROM meta"
				    " WHERE key = 'schema_version'"),
			 STORE_SCHEMA_VERSION);
	snprintf(path, sizeof(path), "%s/postel.db.v1.bak", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	/* Version 4: every account follows the default quota, no grants. */
	assert_int_equal(sql_int(f->dir, "SELECT count(*) FROM accounts"
				    " WHERE quota_bytes IS NULL"), 1);
	assert_int_equal(sql_int(f->dir, "SELECT count(*) FROM"
				    " sender_grants"), 0);
	/* Nothing lost: UIDVALIDITY, UIDNEXT, MODSEQ, flags, keywords. */
	b = box(f, "INBOX");
	assert_int_equal(b.uidvalidity, 1700000001);
	assert_int_equal(b.uidnext, 4);
	assert_int_equal(b.highestmodseq, 7);
	assert_int_equal(b.messages, 3);
	assert_int_equal(b.unseen, 1);
	assert_int_equal(b.deleted, 1);
	assert_int_equal(b.size, 60);
	assert_true(b.subscribed);
	m = imsgs(f, b.id, 0, &n);
	assert_int_equal(n, 3);
	assert_int_equal(m[1].flags, 1);
	assert_string_equal(m[1].keywords, "x");
	assert_null(m[0].keywords);
	assert_int_equal(m[2].modseq, 4);
	assert_string_equal(m[2].blob, "msg/c");
	store_imsgs_free(m, n);
	assert_false(box(f, "Old").subscribed);
	assert_int_equal(store_subscriptions(f->st, 1, &subs, &err), 0);
	assert_string_equal(subs[0], "INBOX");
	assert_null(subs[1]);
	store_strv_free(subs);
	/* It keeps working: a new message takes UID 4, a new mailbox a
	 * UIDVALIDITY above every earlier one. */
	assert_int_equal(append(f, b.id, "msg/d", 0, NULL, 0), 4);
	check_counters(f, b.id);
	assert_true(box(f, "Old").uidvalidity == 1700000002);
	mkbox(f, "New");
	assert_true(box(f, "New").uidvalidity > 1700000002);
	/* And opens again without migrating twice. */
	store_close(&f->st);
	f->st = store_fx_open(f->dir);
	assert_int_equal(box(f, "INBOX").messages, 4);
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

	id = mkbox(f, "Zeta");
	b = box(f, "Zeta");
	assert_int_equal(b.id, id);
	assert_int_equal(b.uidnext, 1);
	assert_true(b.highestmodseq >= 1);
	assert_int_equal(b.messages, 0);
	assert_false(b.subscribed);
	assert_true(b.uidvalidity > box(f, "Archive").uidvalidity);
	assert_int_equal(store_mailbox_create(f->st, f->acct, "Zeta/Ä",
					      "\\Flagged", NULL, &err), 0);
	assert_string_equal(box(f, "Zeta/Ä").special_use, "\\Flagged");
	expect_err(store_mailbox_create(f->st, f->acct, "Zeta", NULL, &id,
					&err), &err, "mailbox already exists");
	expect_err(store_mailbox_create(f->st, f->acct, "inbox", NULL, &id,
					&err), &err, "mailbox already exists");
	expect_err(store_mailbox_create(f->st, f->acct, "", NULL, &id, &err), &err, "invalid mailbox name");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	expect_err(store_mailbox_create(f->st, f->acct, longname, NULL, &id,
					&err), &err, "too long");
	assert_int_equal(store_mailbox_get(f->st, f->acct, longname, &b), 0);
	longname[STORE_MAILBOX_NAME_MAX] = '\0';
	assert_int_equal(store_mailbox_create(f->st, f->acct, longname, NULL,
					      &id, &err), 0);
	expect_err(store_mailbox_create(f->st, f->acct, "X",
					"\\WayTooLongAttribute", &id, &err), &err, "special-use");
	expect_err(store_mailbox_create(f->st, 999, "X", NULL, &id, &err), &err,
		   "no such account");
	/* RFC 9051 §5.1: INBOX in any case, also as a parent. */
	assert_int_equal(store_mailbox_get(f->st, f->acct, "iNbOx", &b), 1);
	assert_string_equal(b.name, "INBOX");
	mkbox(f, "inbox/Sub");
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
	int64_t a = mkbox(f, "A"), inbox = box(f, "INBOX").id;
	size_t n;

	mkbox(f, "A/child");
	append(f, a, "msg/one", 0, NULL, 0);
	append(f, a, "msg/two", 0, NULL, 0);
	assert_int_equal(store_copy(f->st, a, inbox, (uint32_t[]){ 2 }, 1, &su,
				    &du, &n, &err), 0);
	free(su);
	free(du);
	before = box(f, "A");
	expect_err(store_mailbox_delete(f->st, f->acct, "inbox", &orphans,
					&err), &err, "cannot delete INBOX");
	assert_null(orphans);
	expect_err(store_mailbox_delete(f->st, f->acct, "Nope", &orphans,
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
	box(f, "A/child");
	a = mkbox(f, "A");
	assert_true(box(f, "A").uidvalidity > before.uidvalidity);
	assert_int_equal(append(f, a, "msg/three", 0, NULL, 0), 1);
}

static void
test_rename(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	struct store_mailbox a, ax;
	char **subs = NULL;
	char longname[STORE_MAILBOX_NAME_MAX + 1];
	int64_t id = mkbox(f, "a");

	mkbox(f, "a/x");
	mkbox(f, "a/x/y");
	mkbox(f, "ab");
	mkbox(f, "c");
	mkbox(f, "c/x");
	append(f, id, "msg/1", STORE_FLAG_SEEN, NULL, 0);
	assert_int_equal(store_subscribe(f->st, f->acct, "a/x", true, &err), 0);
	a = box(f, "a");
	ax = box(f, "a/x");
	expect_err(store_mailbox_rename(f->st, f->acct, "zz", "b", &err), &err,
		   "no such mailbox");
	expect_err(store_mailbox_rename(f->st, f->acct, "a", "ab", &err), &err,
		   "mailbox already exists");
	expect_err(store_mailbox_rename(f->st, f->acct, "a", "a", &err), &err,
		   "mailbox already exists");
	expect_err(store_mailbox_rename(f->st, f->acct, "a", "INBOX", &err), &err, "mailbox already exists");
	/* "c" -> "d" is fine, but "a" -> "c" would clash at "c/x". */
	expect_err(store_mailbox_rename(f->st, f->acct, "a/x", "c", &err), &err,
		   "mailbox already exists");
	expect_err(store_mailbox_rename(f->st, f->acct, "a", "a/new", &err), &err, "into itself");
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[STORE_MAILBOX_NAME_MAX - 3] = '\0'; /* + "/x/y" too long */
	expect_err(store_mailbox_rename(f->st, f->acct, "a", longname, &err), &err, "too long");
	box(f, "a/x/y"); /* nothing changed */
	assert_int_equal(store_mailbox_rename(f->st, f->acct, "a", "b/deep",
					      &err), 0);
	assert_int_equal(box(f, "b/deep").id, a.id);
	assert_int_equal(box(f, "b/deep").uidvalidity, a.uidvalidity);
	assert_int_equal(box(f, "b/deep").messages, 1);
	assert_int_equal(box(f, "b/deep/x").uidvalidity, ax.uidvalidity);
	assert_true(box(f, "b/deep/x").subscribed);
	box(f, "b/deep/x/y");
	box(f, "ab");
	assert_int_equal(store_mailbox_get(f->st, f->acct, "a", &a), 0);
	assert_int_equal(store_mailbox_get(f->st, f->acct, "a/x", &a), 0);
	assert_int_equal(store_subscriptions(f->st, f->acct, &subs, &err), 0);
	for (size_t i = 0; subs[i] != NULL; i++)
		assert_string_not_equal(subs[i], "a/x");
	store_strv_free(subs);
	/* A name freed by RENAME gets a new UIDVALIDITY when re-created. */
	mkbox(f, "a");
	assert_true(box(f, "a").uidvalidity > ax.uidvalidity);
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
	int64_t inbox = box(f, "INBOX").id;
	size_t n;

	mkbox(f, "INBOX/keep");
	append(f, inbox, "msg/1", 0, NULL, 0);
	append(f, inbox, "msg/2", STORE_FLAG_SEEN, (char *[]){ "k" }, 1);
	append(f, inbox, "msg/3", STORE_FLAG_DELETED, NULL, 0);
	assert_int_equal(store_expunge_uids(f->st, inbox, (uint32_t[]){ 3 }, 1,
					    &orphans, &err), 0);
	store_strv_free(orphans);
	before = box(f, "INBOX");
	expect_err(store_mailbox_rename(f->st, f->acct, "INBOX", "INBOX/keep",
					&err), &err, "mailbox already exists");
	assert_int_equal(store_mailbox_rename(f->st, f->acct, "inbox", "Old",
					      &err), 0);
	after = box(f, "INBOX");
	old = box(f, "Old");
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
	m = imsgs(f, old.id, 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[1].uid, 2);
	assert_string_equal(m[1].keywords, "k");
	store_imsgs_free(m, n);
	box(f, "INBOX/keep");
	check_counters(f, inbox);
	check_counters(f, old.id);
	assert_int_equal(append(f, inbox, "msg/4", 0, NULL, 0), 4);
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
	expect_err(store_subscribe(f->st, f->acct, "", true, &err), &err,
		   "invalid mailbox name");
	expect_err(store_subscribe(f->st, 999, "X", true, &err), &err,
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
	assert_false(box(f, "Trash").subscribed);
	/* Deleting a mailbox keeps its subscription (RFC 9051 §6.3.9). */
	mkbox(f, "Tmp");
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

/* ---- messages ---- */

static void
test_append(void **state)
{
	struct store_fx *f = *state;
	struct store_delivery d = { .blob = "msg/x", .size = 5 };
	struct store_mailbox b0, b1;
	struct store_imsg *m;
	char *many[STORE_KEYWORDS_MAX + 1];
	char names[STORE_KEYWORDS_MAX + 1][8];
	const char *err = NULL;
	int64_t id = box(f, "Drafts").id;
	uint32_t uid;
	size_t n;

	b0 = box(f, "Drafts");
	assert_int_equal(append(f, id, "msg/1", 0, NULL, 0), 1);
	assert_int_equal(append(f, id, "msg/2",
				STORE_FLAG_SEEN | STORE_FLAG_DRAFT | 0x100,
				(char *[]){ "foo", "$Junk", "FOO", "bar" }, 4),
			 2);
	b1 = box(f, "Drafts");
	assert_int_equal(b1.uidnext, 3);
	assert_int_equal(b1.highestmodseq, b0.highestmodseq + 2);
	assert_int_equal(b1.messages, 2);
	assert_int_equal(b1.unseen, 1);
	assert_int_equal(b1.size, 200);
	m = imsgs(f, id, 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[1].flags, STORE_FLAG_SEEN | STORE_FLAG_DRAFT);
	assert_string_equal(m[1].keywords, "foo $Junk bar");
	assert_int_equal(m[1].modseq, b1.highestmodseq);
	assert_true(m[1].blob_id > 0);
	assert_string_equal(m[1].blob, "msg/2");
	assert_int_equal(m[1].internaldate, 1700000000);
	store_imsgs_free(m, n);
	m = imsgs(f, id, b1.highestmodseq - 1, &n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].uid, 2);
	store_imsgs_free(m, n);
	m = imsgs(f, id, b1.highestmodseq, &n);
	assert_int_equal(n, 0);
	assert_null(m);
	/* Errors change nothing. */
	expect_err(store_append(f->st, 999, &d, 0, NULL, 0, &uid, &err), &err,
		   "no such mailbox");
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blobs"
				    " WHERE path = 'msg/x'"), 0);
	expect_err(store_append(f->st, id, &d, 0, (char *[]){ "a b" }, 1, &uid,
				&err), &err, "invalid keyword");
	expect_err(store_append(f->st, id, &d, 0, (char *[]){ "\\Seen" }, 1,
				&uid, &err), &err, "invalid keyword");
	for (int i = 0; i <= STORE_KEYWORDS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "k%d", i);
		many[i] = names[i];
	}
	expect_err(store_append(f->st, id, &d, 0, many, STORE_KEYWORDS_MAX + 1,
				&uid, &err), &err, "too many keywords");
	assert_int_equal(store_append(f->st, id, &d, 0, many,
				      STORE_KEYWORDS_MAX, &uid, &err), 0);
	assert_int_equal(uid, 3);
	expect_err(store_mailbox_imsgs(f->st, 999, 0, &m, &n, &err), &err,
		   "no such mailbox");
	check_counters(f, id);
}

static struct store_flag_change *
change(struct store_fx *f, int64_t id, const uint32_t *uids, size_t n,
       enum store_flag_mode mode, uint32_t flags, char *const *kw,
       size_t n_kw, uint64_t unchangedsince, size_t *n_r, uint32_t **failed,
       size_t *n_failed)
{
	struct store_flag_change *c = NULL;
	const char *err = NULL;

	if (store_flags_change(f->st, id, uids, n, mode, flags, kw, n_kw,
			       unchangedsince, &c, n_r, failed, n_failed, &err)
	    < 0)
		fail_msg("flags_change: %s", err);
	return c;
}

static void
test_flags_change(void **state)
{
	struct store_fx *f = *state;
	struct store_flag_change *c;
	struct store_mailbox b0, b1;
	struct store_imsg *m;
	uint32_t *failed = NULL;
	int64_t id = box(f, "INBOX").id;
	size_t n, nf;

	for (int i = 0; i < 4; i++)
		append(f, id, (const char *[]){ "m/1", "m/2", "m/3", "m/4" }[i],
		       0, NULL, 0);
	b0 = box(f, "INBOX");
	/* ADD \Seen to 1, 2 (twice) and a missing UID. */
	c = change(f, id, (uint32_t[]){ 2, 1, 2, 99 }, 4, STORE_FLAGS_ADD,
		   STORE_FLAG_SEEN, (char *[]){ "Work" }, 1, 0, &n, &failed,
		   &nf);
	b1 = box(f, "INBOX");
	assert_int_equal(n, 2);
	assert_int_equal(nf, 0);
	assert_null(failed);
	assert_int_equal(c[0].uid, 1);
	assert_int_equal(c[1].uid, 2);
	assert_int_equal(c[0].flags, STORE_FLAG_SEEN);
	assert_string_equal(c[0].keywords, "Work");
	assert_int_equal(c[0].modseq, b0.highestmodseq + 1);
	assert_int_equal(b1.highestmodseq, b0.highestmodseq + 1);
	assert_int_equal(b1.unseen, 2);
	store_flag_changes_free(c, n);
	/* No change at all: no new MODSEQ, nothing reported. */
	c = change(f, id, (uint32_t[]){ 1, 2 }, 2, STORE_FLAGS_ADD,
		   STORE_FLAG_SEEN, (char *[]){ "work" }, 1, 0, &n, &failed,
		   &nf);
	assert_int_equal(n, 0);
	assert_null(c);
	assert_int_equal(box(f, "INBOX").highestmodseq, b1.highestmodseq);
	/* Only messages changed since b1 come back with CHANGEDSINCE. */
	m = imsgs(f, id, b0.highestmodseq, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[1].uid, 2);
	assert_string_equal(m[1].keywords, "Work");
	store_imsgs_free(m, n);
	/* REMOVE matches keywords case-insensitively; SET clears them. */
	c = change(f, id, (uint32_t[]){ 1 }, 1, STORE_FLAGS_REMOVE, 0,
		   (char *[]){ "WORK" }, 1, 0, &n, &failed, &nf);
	assert_int_equal(n, 1);
	assert_null(c[0].keywords);
	assert_int_equal(c[0].flags, STORE_FLAG_SEEN);
	store_flag_changes_free(c, n);
	c = change(f, id, (uint32_t[]){ 2, 3 }, 2, STORE_FLAGS_SET,
		   STORE_FLAG_DELETED | STORE_FLAG_FLAGGED, NULL, 0, 0, &n,
		   &failed, &nf);
	assert_int_equal(n, 2);
	assert_int_equal(c[0].flags, STORE_FLAG_DELETED | STORE_FLAG_FLAGGED);
	assert_null(c[0].keywords);
	store_flag_changes_free(c, n);
	b1 = box(f, "INBOX");
	assert_int_equal(b1.deleted, 2);
	assert_int_equal(b1.unseen, 3);
	check_counters(f, id);
}

static void
test_flags_unchangedsince(void **state)
{
	struct store_fx *f = *state;
	struct store_flag_change *c;
	struct store_mailbox b0, b1;
	struct store_imsg *m;
	uint32_t *failed = NULL;
	const char *err = NULL;
	int64_t id = box(f, "INBOX").id;
	size_t n, nf;

	for (int i = 0; i < 4; i++)
		append(f, id, (const char *[]){ "m/1", "m/2", "m/3", "m/4" }[i],
		       0, NULL, 0);
	b0 = box(f, "INBOX");
	c = change(f, id, (uint32_t[]){ 2, 3 }, 2, STORE_FLAGS_SET,
		   STORE_FLAG_FLAGGED, NULL, 0, 0, &n, &failed, &nf);
	store_flag_changes_free(c, n);
	/* UNCHANGEDSINCE: 2 and 3 changed after b0, 4 did not. */
	c = change(f, id, (uint32_t[]){ 2, 3, 4 }, 3, STORE_FLAGS_ADD,
		   STORE_FLAG_ANSWERED, NULL, 0, b0.highestmodseq, &n, &failed,
		   &nf);
	assert_int_equal(n, 1);
	assert_int_equal(c[0].uid, 4);
	assert_int_equal(nf, 2);
	assert_int_equal(failed[0], 2);
	assert_int_equal(failed[1], 3);
	store_flag_changes_free(c, n);
	free(failed);
	/* Too many keywords: the whole STORE fails, nothing changes. */
	{
		char *many[STORE_KEYWORDS_MAX];
		char names[STORE_KEYWORDS_MAX][8];

		for (int i = 0; i < STORE_KEYWORDS_MAX; i++) {
			snprintf(names[i], sizeof(names[i]), "k%d", i);
			many[i] = names[i];
		}
		c = change(f, id, (uint32_t[]){ 4 }, 1, STORE_FLAGS_SET, 0,
			   many, STORE_KEYWORDS_MAX, 0, &n, &failed, &nf);
		store_flag_changes_free(c, n);
		b1 = box(f, "INBOX");
		expect_err(store_flags_change(f->st, id, (uint32_t[]){ 1, 4 },
					      2, STORE_FLAGS_ADD, 0,
					      (char *[]){ "one-more" }, 1, 0,
					      &c, &n, &failed, &nf, &err), &err, "too many keywords");
		assert_null(c);
		assert_int_equal(box(f, "INBOX").highestmodseq,
				 b1.highestmodseq);
		m = imsgs(f, id, b1.highestmodseq - 1, &n);
		assert_int_equal(n, 1);
		assert_null(strstr(m[0].keywords, "one-more"));
		store_imsgs_free(m, n);
	}
	expect_err(store_flags_change(f->st, id, (uint32_t[]){ 1 }, 1,
				      STORE_FLAGS_ADD, 0, (char *[]){ "a(" },
				      1, 0, &c, &n, &failed, &nf, &err), &err, "invalid keyword");
	expect_err(store_flags_change(f->st, 999, (uint32_t[]){ 1 }, 1,
				      STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL,
				      0, 0, &c, &n, &failed, &nf, &err), &err, "no such mailbox");
	check_counters(f, id);
}

static void
test_copy(void **state)
{
	struct store_fx *f = *state;
	int64_t src = box(f, "INBOX").id, dst = box(f, "Archive").id;
	uint32_t *su = NULL, *du = NULL;
	struct store_mailbox d0;
	struct store_imsg *m;
	const char *err = NULL;
	char **orphans = NULL;
	size_t n;

	append(f, src, "m/1", STORE_FLAG_SEEN, (char *[]){ "k1" }, 1);
	append(f, src, "m/2", 0, NULL, 0);
	append(f, src, "m/3", STORE_FLAG_DELETED, NULL, 0);
	append(f, dst, "m/a", 0, NULL, 0);
	d0 = box(f, "Archive");
	assert_int_equal(store_copy(f->st, src, dst,
				    (uint32_t[]){ 3, 1, 99, 1 }, 4, &su, &du,
				    &n, &err), 0);
	/* RFC 4315 COPYUID: ascending source UIDs, matching new UIDs. */
	assert_int_equal(n, 2);
	assert_int_equal(su[0], 1);
	assert_int_equal(su[1], 3);
	assert_int_equal(du[0], 2);
	assert_int_equal(du[1], 3);
	free(su);
	free(du);
	assert_int_equal(box(f, "Archive").highestmodseq,
			 d0.highestmodseq + 1);
	m = imsgs(f, dst, d0.highestmodseq, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].flags, STORE_FLAG_SEEN);
	assert_string_equal(m[0].keywords, "k1");
	assert_string_equal(m[0].blob, "m/1");
	assert_int_equal(m[1].flags, STORE_FLAG_DELETED);
	assert_int_equal(m[0].modseq, d0.highestmodseq + 1);
	store_imsgs_free(m, n);
	check_counters(f, dst);
	assert_int_equal(sql_int(f->dir, "SELECT refcount FROM blobs"
				    " WHERE path = 'm/1'"), 2);
	/* Into the same mailbox, and nothing at all. */
	assert_int_equal(store_copy(f->st, src, src, (uint32_t[]){ 2 }, 1, &su,
				    &du, &n, &err), 0);
	assert_int_equal(du[0], 4);
	free(su);
	free(du);
	d0 = box(f, "Archive");
	assert_int_equal(store_copy(f->st, src, dst, (uint32_t[]){ 50 }, 1,
				    &su, &du, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(su);
	assert_null(du);
	assert_int_equal(box(f, "Archive").highestmodseq, d0.highestmodseq);
	expect_err(store_copy(f->st, src, 999, (uint32_t[]){ 1 }, 1, &su, &du,
			      &n, &err), &err, "no such mailbox");
	expect_err(store_copy(f->st, 999, dst, (uint32_t[]){ 1 }, 1, &su, &du,
			      &n, &err), &err, "no such mailbox");
	check_counters(f, src);
	/* The file goes only with its last copy. */
	assert_int_equal(store_expunge_uids(f->st, src, (uint32_t[]){ 1 }, 1,
					    &orphans, &err), 0);
	assert_null(orphans[0]);
	store_strv_free(orphans);
	assert_int_equal(store_expunge_uids(f->st, dst, (uint32_t[]){ 2 }, 1,
					    &orphans, &err), 0);
	assert_string_equal(orphans[0], "m/1");
	store_strv_free(orphans);
}

/* A read snapshot: the reads inside see one state; a write inside works
 * when nobody else wrote meanwhile; the handle never stays inside a
 * transaction afterwards, even when one was left open before. */
static void
test_read_snapshot(void **state)
{
	struct store_fx *f = *state;
	int64_t id = box(f, "INBOX").id;
	struct store_vmsg *v = NULL;
	const char *err = NULL;
	size_t n;

	append(f, id, "r/1", 0, NULL, 0);
	assert_int_equal(store_read_begin(f->st, &err), 0);
	assert_int_equal(store_mailbox_vmsgs(f->st, id, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	store_vmsgs_free(v, n);
	append(f, id, "r/2", 0, NULL, 0);   /* a write inside the snapshot */
	store_read_end(f->st);
	/* Left inside a transaction (a caller's bug): the next snapshot
	 * still starts, and sees both messages. */
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_read_begin(f->st, &err), 0);
	assert_int_equal(store_mailbox_vmsgs(f->st, id, 0, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	store_vmsgs_free(v, n);
	store_read_end(f->st);
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
}

/* The selected view's list (UID, flags, modseq, keywords) and the rows a
 * FETCH reads for some UIDs: dense (one range) and sparse (one lookup
 * each), UIDs that are gone left out. */
static void
test_view_lists(void **state)
{
	struct store_fx *f = *state;
	int64_t id = box(f, "INBOX").id;
	char *kw[] = { "$Junk" };
	struct store_vmsg *v = NULL;
	struct store_imsg *m = NULL, *all;
	const char *err = NULL;
	char **orphans = NULL;
	uint32_t many[STORE_IMSGS_UIDS_MAX + 1];
	size_t n, n_all;
	uint64_t mid;

	for (int i = 0; i < 40; i++) {
		char blob[16];

		snprintf(blob, sizeof(blob), "v/%d", i);
		append(f, id, blob, i % 3 == 0 ? STORE_FLAG_SEEN : 0,
		       i == 7 ? kw : NULL, i == 7 ? 1 : 0);
	}
	mid = box(f, "INBOX").highestmodseq;
	append(f, id, "v/late", STORE_FLAG_FLAGGED, NULL, 0);
	all = imsgs(f, id, 0, &n_all);
	assert_int_equal(store_mailbox_vmsgs(f->st, id, 0, &v, &n, &err), 0);
	assert_int_equal(n, n_all);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(v[i].uid, all[i].uid);
		assert_int_equal(v[i].flags, all[i].flags);
		assert_int_equal(v[i].modseq, all[i].modseq);
		if (all[i].keywords == NULL)
			assert_null(v[i].keywords);
		else
			assert_string_equal(v[i].keywords, all[i].keywords);
	}
	assert_string_equal(v[7].keywords, "$Junk");
	store_vmsgs_free(v, n);
	assert_int_equal(store_mailbox_vmsgs(f->st, id, mid, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].flags, STORE_FLAG_FLAGGED);
	store_vmsgs_free(v, n);

	assert_int_equal(store_expunge_uids(f->st, id, (uint32_t[]){ 3 }, 1,
					    &orphans, &err), 0);
	store_strv_free(orphans);
	/* Dense: 2..5 without 3, which is gone. */
	assert_int_equal(store_mailbox_imsgs_uids(f->st, id,
		(uint32_t[]){ 2, 3, 4, 5 }, 4, &m, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(m[0].uid, 2);
	assert_int_equal(m[1].uid, 4);
	assert_int_equal(m[2].uid, 5);
	assert_string_equal(m[1].blob, all[3].blob);
	assert_int_equal(m[1].size, 100);
	assert_int_equal(m[1].internaldate, 1700000000);
	assert_int_equal(m[1].blob_id, all[3].blob_id);
	store_imsgs_free(m, n);
	/* Sparse, with a UID that never existed. */
	assert_int_equal(store_mailbox_imsgs_uids(f->st, id,
		(uint32_t[]){ 1, 3, 41, 500 }, 4, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].uid, 1);
	assert_int_equal(m[1].uid, 41);
	assert_int_equal(m[1].flags, STORE_FLAG_FLAGGED);
	store_imsgs_free(m, n);
	assert_int_equal(store_mailbox_imsgs_uids(f->st, id, NULL, 0, &m, &n,
						  &err), 0);
	assert_int_equal(n, 0);
	assert_null(m);
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
		many[i] = (uint32_t)i + 1;
	expect_err(store_mailbox_imsgs_uids(f->st, id, many,
					    sizeof(many) / sizeof(many[0]),
					    &m, &n, &err), &err,
		   "too many UIDs");
	expect_err(store_mailbox_vmsgs(f->st, 999, 0, &v, &n, &err), &err,
		   "no such mailbox");
	expect_err(store_mailbox_imsgs_uids(f->st, 999, many, 2, &m, &n, &err),
		   &err, "no such mailbox");
	store_imsgs_free(all, n_all);
}

static void
test_expunge_vanished(void **state)
{
	struct store_fx *f = *state;
	int64_t id = box(f, "INBOX").id;
	struct store_mailbox b0, b1;
	struct store_msg *pm = NULL;
	uint32_t *v = NULL;
	const char *err = NULL;
	char **orphans = NULL;
	size_t n;

	for (int i = 0; i < 5; i++)
		append(f, id, (const char *[]){ "m/1", "m/2", "m/3", "m/4",
						"m/5" }[i],
		       i == 0 ? STORE_FLAG_SEEN : 0, NULL, 0);
	b0 = box(f, "INBOX");
	assert_int_equal(store_vanished_since(f->st, id, 0, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(store_expunge_uids(f->st, id,
					    (uint32_t[]){ 4, 1, 4, 77 }, 4,
					    &orphans, &err), 0);
	assert_string_equal(orphans[0], "m/1");
	assert_string_equal(orphans[1], "m/4");
	assert_null(orphans[2]);
	store_strv_free(orphans);
	b1 = box(f, "INBOX");
	assert_int_equal(b1.highestmodseq, b0.highestmodseq + 1);
	assert_int_equal(b1.messages, 3);
	assert_int_equal(b1.unseen, 3);
	check_counters(f, id);
	assert_int_equal(store_vanished_since(f->st, id, b0.highestmodseq, &v,
					      &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 4);
	free(v);
	assert_int_equal(store_vanished_since(f->st, id, b1.highestmodseq, &v,
					      &n, &err), 0);
	assert_int_equal(n, 0);
	/* Nothing to expunge: no new MODSEQ. */
	assert_int_equal(store_expunge_uids(f->st, id, (uint32_t[]){ 1 }, 1,
					    &orphans, &err), 0);
	assert_null(orphans[0]);
	store_strv_free(orphans);
	assert_int_equal(box(f, "INBOX").highestmodseq, b1.highestmodseq);
	/* POP3's expunge is seen by a QRESYNC client too. */
	assert_int_equal(store_mailbox_messages(f->st, id, &pm, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pm[2].uid, 5);
	assert_int_equal(store_messages_expunge(f->st, id, &pm[2].id, 1,
						&orphans, &err), 0);
	free(pm);
	store_strv_free(orphans);
	b0 = box(f, "INBOX");
	assert_int_equal(b0.highestmodseq, b1.highestmodseq + 1);
	assert_int_equal(store_vanished_since(f->st, id, b1.highestmodseq, &v,
					      &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], 5);
	free(v);
	check_counters(f, id);
	expect_err(store_vanished_since(f->st, 999, 0, &v, &n, &err), &err,
		   "no such mailbox");
	/* Deleting the user takes vanished rows and subscriptions along. */
	assert_int_equal(store_user_del(f->st, "u@example.org", &orphans,
					&err), 0);
	store_strv_free(orphans);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM vanished"), 0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM subscriptions"),
			 0);
}

/* Search fields (schema 3): stored with the metadata at delivery, added
 * to metadata stored without them, listed per mailbox in UID order, gone
 * with their blob. */
static void
test_search_fields(void **state)
{
	struct store_fx *f = *state;
	static const char flds[] = "Subject: hi\r\nFrom: a@b\r\n";
	struct store_meta with = { .envelope = "E", .body = "B",
				   .bodystructure = "S",
				   .fields = (char *)flds,
				   .fields_len = sizeof(flds) - 1 };
	struct store_meta without = { .envelope = "E", .body = "B",
				      .bodystructure = "S" };
	struct store_meta other = with, out;
	struct store_delivery d = { .blob = "m/f1", .size = 9,
				    .accounts = &f->acct, .n_accounts = 1,
				    .meta = &with };
	struct store_fields *fl = NULL;
	struct store_imsg *m;
	const char *err = NULL;
	int64_t id = box(f, "INBOX").id;
	size_t n;

	other.fields = "Subject: other\r\n";
	other.fields_len = strlen(other.fields);
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_deliver(f->st, &d, &err), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
	append(f, id, "m/f2", 0, NULL, 0);   /* no metadata at all */
	append(f, id, "m/f3", 0, NULL, 0);
	m = imsgs(f, id, 0, &n);
	assert_int_equal(n, 3);
	/* Metadata without fields (as stored by schema 2), then fields. */
	assert_int_equal(store_meta_put(f->st, m[2].blob_id, &without, &err),
			 0);
	assert_int_equal(store_meta_get(f->st, m[2].blob_id, &out), 1);
	assert_null(out.fields);
	store_meta_free(&out);
	assert_int_equal(store_mailbox_fields(f->st, id, &fl, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(fl[0].uid, m[0].uid);
	assert_memory_equal(fl[0].fields, flds, sizeof(flds) - 1);
	assert_null(fl[1].fields);
	assert_null(fl[2].fields);
	store_fields_free(fl, n);
	assert_int_equal(store_meta_put(f->st, m[2].blob_id, &other, &err), 0);
	/* The first fields stay. */
	assert_int_equal(store_meta_put(f->st, m[0].blob_id, &other, &err), 0);
	assert_int_equal(store_mailbox_fields(f->st, id, &fl, &n, &err), 0);
	assert_memory_equal(fl[0].fields, flds, sizeof(flds) - 1);
	assert_string_equal(fl[2].fields, other.fields);
	assert_int_equal(fl[2].len, other.fields_len);
	store_fields_free(fl, n);
	store_imsgs_free(m, 3);
	expect_err(store_mailbox_fields(f->st, 999, &fl, &n, &err), &err,
		   "no such mailbox");
	{
		char **orphans = NULL;

		assert_int_equal(store_expunge_uids(f->st, id,
				 (uint32_t[]){ 1, 2, 3 }, 3, &orphans, &err),
				 0);
		store_strv_free(orphans);
	}
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_fields"), 0);
}

static void
test_meta(void **state)
{
	struct store_fx *f = *state;
	static const char pm[] = { 1, 0, 2, 0, 3 };
	struct store_meta in = { .envelope = "(NIL \"s\" NIL)",
				 .body = "(\"text\" \"plain\")",
				 .bodystructure = "(\"text\" \"plain\" NIL)",
				 .partmap = (char *)pm,
				 .partmap_len = sizeof(pm) };
	struct store_meta other = { .envelope = "E2", .body = "B2",
				    .bodystructure = "S2" };
	struct store_meta out, bad = { .envelope = "E" };
	struct store_delivery d = { .blob = "m/meta", .size = 9,
				    .accounts = &f->acct, .n_accounts = 1,
				    .meta = &in };
	struct store_imsg *m;
	const char *err = NULL;
	char **orphans = NULL;
	int64_t id = box(f, "INBOX").id, blob;
	size_t n;

	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_deliver(f->st, &d, &err), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
	m = imsgs(f, id, 0, &n);
	blob = m[0].blob_id;
	store_imsgs_free(m, n);
	assert_int_equal(store_meta_get(f->st, blob, &out), 1);
	assert_string_equal(out.envelope, in.envelope);
	assert_string_equal(out.body, in.body);
	assert_string_equal(out.bodystructure, in.bodystructure);
	assert_int_equal(out.partmap_len, sizeof(pm));
	assert_memory_equal(out.partmap, pm, sizeof(pm));
	store_meta_free(&out);
	assert_null(out.envelope);
	/* Once per blob: a second store keeps the first. */
	assert_int_equal(store_meta_put(f->st, blob, &other, &err), 0);
	assert_int_equal(store_meta_get(f->st, blob, &out), 1);
	assert_string_equal(out.envelope, in.envelope);
	store_meta_free(&out);
	/* A message without metadata gets it later; no part map is NULL. */
	append(f, id, "m/plain", 0, NULL, 0);
	m = imsgs(f, id, 0, &n);
	blob = m[1].blob_id;
	store_imsgs_free(m, n);
	assert_int_equal(store_meta_get(f->st, blob, &out), 0);
	assert_null(out.envelope);
	expect_err(store_meta_put(f->st, blob, &bad, &err), &err,
		   "incomplete");
	expect_err(store_meta_put(f->st, 999, &other, &err), &err,
		   "no such blob");
	assert_int_equal(store_meta_put(f->st, blob, &other, &err), 0);
	assert_int_equal(store_meta_get(f->st, blob, &out), 1);
	assert_string_equal(out.bodystructure, "S2");
	assert_null(out.partmap);
	assert_int_equal(out.partmap_len, 0);
	store_meta_free(&out);
	assert_int_equal(store_meta_get(f->st, 999, &out), 0);
	/* The metadata goes with its blob. */
	assert_int_equal(store_expunge_uids(f->st, id, (uint32_t[]){ 1, 2 }, 2,
					    &orphans, &err), 0);
	store_strv_free(orphans);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_meta"), 0);
	store_meta_free(NULL);
}

static void
test_uid_exhaustion(void **state)
{
	struct store_fx *f = *state;
	struct store_delivery d = { .blob = "m/z", .size = 1 };
	int64_t id = box(f, "Junk").id, src = box(f, "INBOX").id;
	uint32_t *su = NULL, *du = NULL, uid;
	const char *err = NULL;
	size_t n;

	append(f, src, "m/s1", 0, NULL, 0);
	append(f, src, "m/s2", 0, NULL, 0);
	store_close(&f->st);
	sql_exec(f->dir, "UPDATE mailboxes SET uidnext = 4294967295"
		    " WHERE name = 'Junk'");
	f->st = store_fx_open(f->dir);
	expect_err(store_copy(f->st, src, id, (uint32_t[]){ 1, 2 }, 2, &su,
			      &du, &n, &err), &err, "UID space exhausted");
	assert_int_equal(append(f, id, "m/last", 0, NULL, 0), 4294967295u);
	expect_err(store_append(f->st, id, &d, 0, NULL, 0, &uid, &err), &err,
		   "UID space exhausted");
	assert_int_equal(box(f, "Junk").messages, 1);
	check_counters(f, id);
}

/* ---- two handles ---- */

struct writer {
	struct store_fx *f;
	int64_t mailbox_id;
	uint32_t uid;
	int rc;
	/* Set (under mu, signalled on cv) once the writer's handle is open
	 * and it is about to append: the main thread commits only then. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool appending;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	char err[256];
	struct store *st = store_open(NULL, w->f->dir, err, sizeof(err));
	struct store_delivery d = { .blob = "m/thread", .size = 3 };
	const char *e = NULL;

	w->rc = -1;
	pthread_mutex_lock(&w->mu);
	w->appending = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (st == NULL)
		return NULL;
	w->rc = store_append(st, w->mailbox_id, &d, 0, NULL, 0, &w->uid, &e);
	store_close(&st);
	return NULL;
}

static void
test_two_handles(void **state)
{
	struct store_fx *f = *state;
	struct store *other = store_fx_open(f->dir);
	struct store_delivery d = { .blob = "m/a", .size = 3 };
	int64_t id = box(f, "INBOX").id;
	struct store_imsg *m = NULL;
	struct writer w = {
		.f = f, .mailbox_id = id,
		.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER,
	};
	const char *err = NULL;
	struct timespec until;
	pthread_t t;
	uint32_t uid;
	size_t n;

	/* A reader sees the last commit, not a transaction in progress. */
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_append(f->st, id, &d, 0, NULL, 0, &uid, &err),
			 0);
	assert_int_equal(store_mailbox_imsgs(other, id, 0, &m, &n, &err), 0);
	assert_int_equal(n, 0);
	/* A writer on another handle waits for the lock (busy timeout). */
	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	/* Commit only once the writer is appending (bounded: 10 s), so its
	 * append meets the lock we hold; it cannot finish before the commit,
	 * hence uid 2 below. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&w.mu);
	while (!w.appending &&
	       pthread_cond_timedwait(&w.cv, &w.mu, &until) == 0)
		;
	assert_true(w.appending);
	pthread_mutex_unlock(&w.mu);
	assert_int_equal(store_commit(f->st, &err), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, 0);
	assert_int_equal(uid, 1);
	assert_int_equal(w.uid, 2);
	assert_int_equal(store_mailbox_imsgs(other, id, 0, &m, &n, &err), 0);
	assert_int_equal(n, 2);
	store_imsgs_free(m, n);
	/* Changes made through one handle are visible through the other. */
	d.blob[2] = 'b';
	assert_int_equal(store_append(other, id, &d, 0, NULL, 0, &uid, &err),
			 0);
	assert_int_equal(uid, 3);
	assert_int_equal(box(f, "INBOX").messages, 3);
	assert_int_equal(store_mailbox_create(other, f->acct, "Shared", NULL,
					      NULL, &err), 0);
	box(f, "Shared");
	check_counters(f, id);
	store_close(&other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test_setup_teardown(test_migration_v1_v2,
						setup_empty, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_create_list, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_delete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_inbox, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_change, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flags_unchangedsince,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_vanished, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_meta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_view_lists, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_snapshot, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_uid_exhaustion, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_handles, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
