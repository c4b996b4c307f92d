/*
 * Unit tests of the store interface (src/store/store.h) on the SQLite
 * backend: admin operations and their errors, recipient resolution,
 * delivery, UIDs, expunge and blob reference counts, persistence, schema
 * version. Each test gets a fresh data directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/blob.h"
#include "store/store.h"
#include "store/store_imap.h"
#include "store/store_sqlite_int.h"
#include "store_fx.h"

static struct store *
reopen(struct store_fx *f)
{
	store_close(&f->st);
	f->st = store_fx_open(f->dir);
	return f->st;
}

static int
setup(void **state)
{
	return store_fx_setup(state, "/tmp/postel-store-XXXXXX");
}

static int
teardown(void **state)
{
	return store_fx_teardown(state);
}

static void
add_domain(struct store *st, const char *d)
{
	const char *err = NULL;

	if (store_domain_add(st, d, &err) < 0)
		fail_msg("domain_add %s: %s", d, err);
}

static void
add_alias(struct store *st, const char *src, const char *dst)
{
	const char *err = NULL;

	if (store_alias_add(st, src, dst, &err) < 0)
		fail_msg("alias_add %s %s: %s", src, dst, err);
}

/* errp, not the string: the call in rc must run before *errp is read. */
static void
expect_err(int rc, const char *const *errp, const char *want)
{
	assert_int_equal(rc, -1);
	assert_non_null(*errp);
	assert_string_equal(*errp, want);
}

static void
same_as_file(const char *rel, const char *embedded)
{
	const char *src = __FILE__;
	const char *tail = strstr(src, "tests/unit/test_store.c");
	char path[512];
	FILE *fp;
	char *text;
	long len;

	assert_non_null(tail);
	snprintf(path, sizeof(path), "%.*s%s", (int)(tail - src), src, rel);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	text = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	assert_string_equal(text, embedded);
	free(text);
}

static void
test_schema_version(void **state)
{
	struct store_fx *f = *state;
	char path[512];

	assert_int_equal(sql_int(f->dir, "SELECT value FROM meta"
				    " WHERE key = 'schema_version'"),
			 STORE_SCHEMA_VERSION);
	/* One source of truth: the embedded schema is schema.sql, and each
	 * migration step its schema_vN.sql. */
	same_as_file("src/store/schema.sql", store_sqlite_schema_v1);
	same_as_file("src/store/schema_v2.sql", store_sqlite_schema_v2);
	same_as_file("src/store/schema_v3.sql", store_sqlite_schema_v3);
	same_as_file("src/store/schema_v4.sql", store_sqlite_schema_v4);
	same_as_file("src/store/schema_v5.sql", store_sqlite_schema_v5);
	same_as_file("src/store/schema_v6.sql", store_sqlite_schema_v6);
	same_as_file("src/store/schema_v7.sql", store_sqlite_schema_v7);
	same_as_file("src/store/schema_v8.sql", store_sqlite_schema_v8);
	same_as_file("src/store/schema_v9.sql", store_sqlite_schema_v9);
	/* WAL mode: the -wal file exists while a handle is open. */
	snprintf(path, sizeof(path), "%s/postel.db-wal", f->dir);
	assert_int_equal(access(path, F_OK), 0);
}

static void
test_newer_schema_refused(void **state)
{
	struct store_fx *f = *state;
	char err[256] = "", sql[128];
	struct store *st;

	store_close(&f->st);
	sql_exec(f->dir, "UPDATE meta SET value = '99'"
		    " WHERE key = 'schema_version'");
	st = store_open(NULL, f->dir, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "newer"));
	snprintf(sql, sizeof(sql), "UPDATE meta SET value = '%d'"
		 " WHERE key = 'schema_version'", STORE_SCHEMA_VERSION);
	sql_exec(f->dir, sql);
	reopen(f);
}

static void
test_unknown_backend(void **state)
{
	struct store_fx *f = *state;
	char err[256] = "";

	assert_null(store_open("nosuch://user:secret@host", f->dir, err,
			       sizeof(err)));
	assert_non_null(strstr(err, "unknown store backend"));
	assert_null(strstr(err, "secret"));
}

static void
test_domains(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	char **v = NULL;

	add_domain(f->st, "b.example");
	add_domain(f->st, "a.example");
	expect_err(store_domain_add(f->st, "A.Example", &err), &err,
		   "domain already exists");
	assert_int_equal(store_domain_list(f->st, &v, &err), 0);
	assert_string_equal(v[0], "a.example");
	assert_string_equal(v[1], "b.example");
	assert_null(v[2]);
	store_strv_free(v);
	assert_int_equal(store_domain_exists(f->st, "A.EXAMPLE"), 1);
	assert_int_equal(store_domain_exists(f->st, "c.example"), 0);
	expect_err(store_domain_del(f->st, "c.example", &err), &err,
		   "no such domain");

	store_fx_add_user(f->st, "u@a.example");
	expect_err(store_domain_del(f->st, "a.example", &err), &err,
		   "domain still has users or aliases");
	add_alias(f->st, "x@b.example", "u@a.example");
	expect_err(store_domain_del(f->st, "b.example", &err), &err,
		   "domain still has users or aliases");
	assert_int_equal(store_alias_del(f->st, "x@b.example", NULL, &err), 0);
	assert_int_equal(store_domain_del(f->st, "b.example", &err), 0);
	assert_int_equal(store_domain_exists(f->st, "b.example"), 0);
}

static void
test_users(void **state)
{
	struct store_fx *f = *state;
	struct store_mailbox_info in, other;
	struct store_account a;
	const char *err = NULL;
	char **v = NULL;
	int64_t id;
	static const char *const boxes[] = { "INBOX", "Drafts", "Sent",
					     "Junk", "Trash", "Archive" };

	expect_err(store_user_add(f->st, "u@nowhere.example", "h", &err), &err,
		   "no such domain");
	add_domain(f->st, "example.org");
	id = store_fx_add_user(f->st, "Alice@Example.org");
	expect_err(store_user_add(f->st, "alice@example.org", "h", &err), &err,
		   "user already exists");
	assert_int_equal(store_account_lookup(f->st, "ALICE@example.ORG", &a),
			 1);
	assert_int_equal(a.id, id);
	assert_string_equal(a.address, "alice@example.org");
	assert_string_equal(a.pwhash, "$y$hash");
	assert_int_equal(store_account_lookup(f->st, "bob@example.org", &a), 0);

	assert_int_equal(store_user_passwd(f->st, "alice@example.org", "new",
					   &err), 0);
	assert_int_equal(store_account_lookup(f->st, "alice@example.org", &a),
			 1);
	assert_string_equal(a.pwhash, "new");
	expect_err(store_user_passwd(f->st, "bob@example.org", "x", &err), &err,
		   "no such user");

	store_fx_add_user(f->st, "bob@example.org");
	assert_int_equal(store_user_list(f->st, NULL, &v, &err), 0);
	assert_string_equal(v[0], "alice@example.org");
	assert_string_equal(v[1], "bob@example.org");
	assert_null(v[2]);
	store_strv_free(v);
	assert_int_equal(store_user_list(f->st, "example.org", &v, &err), 0);
	assert_string_equal(v[1], "bob@example.org");
	store_strv_free(v);
	expect_err(store_user_list(f->st, "x.example", &v, &err), &err,
		   "no such domain");

	/* The standard mailboxes, each with its own UIDVALIDITY. */
	assert_int_equal(store_mailbox_info(f->st, id, "inbox", &in), 1);
	assert_int_equal(in.uidnext, 1);
	for (size_t i = 1; i < sizeof(boxes) / sizeof(boxes[0]); i++) {
		assert_int_equal(
			store_mailbox_info(f->st, id, boxes[i], &other), 1);
		assert_true(other.uidvalidity != in.uidvalidity);
		assert_true(other.uidvalidity != 0);
	}
	assert_int_equal(store_mailbox_info(f->st, id, "sent", &other), 0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM mailboxes"
				    " WHERE special_use = '\\Trash'"), 2);

	assert_int_equal(store_user_del(f->st, "alice@example.org", &v, &err),
			 0);
	assert_null(v[0]);
	store_strv_free(v);
	assert_int_equal(store_account_lookup(f->st, "alice@example.org", &a),
			 0);
	assert_int_equal(store_mailbox_info(f->st, id, "INBOX", &in), 0);
	expect_err(store_user_del(f->st, "alice@example.org", &v, &err), &err,
		   "no such user");
	expect_err(store_user_add(f->st, "@example.org", "h", &err), &err,
		   "invalid address");
}

static void
test_aliases(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	char **v = NULL;

	add_domain(f->st, "example.org");
	expect_err(store_alias_add(f->st, "x@other.example", "u@example.org",
				   &err), &err, "source domain is not hosted");
	add_alias(f->st, "info@example.org", "u@example.org");
	add_alias(f->st, "info@example.org", "v@elsewhere.example");
	add_alias(f->st, "@example.org", "u@example.org");
	expect_err(store_alias_add(f->st, "INFO@example.org", "U@Example.org",
				   &err), &err, "alias already exists");
	assert_int_equal(store_alias_list(f->st, NULL, &v, &err), 0);
	assert_string_equal(v[0], "@example.org u@example.org");
	assert_string_equal(v[1], "info@example.org u@example.org");
	assert_string_equal(v[2], "info@example.org v@elsewhere.example");
	assert_null(v[3]);
	store_strv_free(v);
	assert_int_equal(store_alias_list(f->st, "example.org", &v, &err), 0);
	assert_non_null(v[2]);
	store_strv_free(v);

	assert_int_equal(store_alias_del(f->st, "info@example.org",
					 "v@elsewhere.example", &err), 0);
	expect_err(store_alias_del(f->st, "info@example.org",
				   "v@elsewhere.example", &err),
		   &err, "no such alias");
	expect_err(store_alias_del(f->st, "nope@example.org", NULL, &err), &err,
		   "no such alias");
	assert_int_equal(store_alias_del(f->st, "@example.org", NULL, &err), 0);
	assert_int_equal(store_alias_list(f->st, NULL, &v, &err), 0);
	assert_string_equal(v[0], "info@example.org u@example.org");
	assert_null(v[1]);
	store_strv_free(v);
}

/* Resolves addr and checks the status and the set of account ids. */
static void
expect_rcpt(struct store *st, const char *addr, enum store_rcpt_status want,
	    const int64_t *ids, size_t n)
{
	int64_t *got = NULL;
	size_t ngot = 99;

	assert_int_equal(store_resolve_rcpt(st, addr, &got, &ngot, NULL),
			 want);
	assert_int_equal(ngot, n);
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < ngot; j++)
			found = found || got[j] == ids[i];
		assert_true(found);
	}
	free(got);
}

static void
test_resolve_rcpt(void **state)
{
	struct store_fx *f = *state;
	int64_t u, w, both[2];
	const char *err;

	add_domain(f->st, "example.org");
	add_domain(f->st, "example.net");
	u = store_fx_add_user(f->st, "u@example.org");
	w = store_fx_add_user(f->st, "w@example.net");
	both[0] = u;
	both[1] = w;

	expect_rcpt(f->st, "u@example.org", STORE_RCPT_OK, &u, 1);
	expect_rcpt(f->st, "U@EXAMPLE.ORG", STORE_RCPT_OK, &u, 1);
	expect_rcpt(f->st, "u+lists@example.org", STORE_RCPT_OK, &u, 1);
	expect_rcpt(f->st, "u@example.com", STORE_RCPT_NOT_HOSTED, NULL, 0);
	expect_rcpt(f->st, "nobody@example.org", STORE_RCPT_NO_USER, NULL, 0);
	expect_rcpt(f->st, "not-an-address", STORE_RCPT_NOT_HOSTED, NULL, 0);

	/* A chain across domains, a list with a duplicate member. */
	add_alias(f->st, "a@example.org", "b@example.net");
	add_alias(f->st, "b@example.net", "c@example.org");
	add_alias(f->st, "c@example.org", "w@example.net");
	expect_rcpt(f->st, "a@example.org", STORE_RCPT_OK, &w, 1);
	expect_rcpt(f->st, "a+tag@example.org", STORE_RCPT_OK, &w, 1);
	add_alias(f->st, "team@example.org", "u@example.org");
	add_alias(f->st, "team@example.org", "a@example.org");
	add_alias(f->st, "team@example.org", "U+x@example.org");
	add_alias(f->st, "team@example.org", "far@remote.example");
	expect_rcpt(f->st, "team@example.org", STORE_RCPT_OK, both, 2);

	/* A loop alone resolves to nobody; a loop with an exit finds it. */
	add_alias(f->st, "x@example.org", "y@example.org");
	add_alias(f->st, "y@example.org", "x@example.org");
	expect_rcpt(f->st, "x@example.org", STORE_RCPT_NO_USER, NULL, 0);
	add_alias(f->st, "y@example.org", "u@example.org");
	expect_rcpt(f->st, "x@example.org", STORE_RCPT_OK, &u, 1);

	/* Only external targets: nobody here. */
	add_alias(f->st, "ext@example.org", "someone@remote.example");
	expect_rcpt(f->st, "ext@example.org", STORE_RCPT_NO_USER, NULL, 0);

	/* Catch-all, and an exact match still wins over it. */
	add_alias(f->st, "@example.org", "w@example.net");
	expect_rcpt(f->st, "nobody@example.org", STORE_RCPT_OK, &w, 1);
	expect_rcpt(f->st, "u@example.org", STORE_RCPT_OK, &u, 1);
	/* A catch-all target that does not exist ends, it does not loop. */
	assert_int_equal(store_alias_del(f->st, "@example.org", NULL, &err), 0);
	add_alias(f->st, "@example.org", "ghost@example.org");
	expect_rcpt(f->st, "nobody@example.org", STORE_RCPT_NO_USER, NULL, 0);
}

static void
test_resolve_depth(void **state)
{
	struct store_fx *f = *state;
	char src[64], dst[64];
	int64_t u;

	add_domain(f->st, "example.org");
	u = store_fx_add_user(f->st, "u@example.org");
	/* l0 -> l1 -> ... -> l8 -> u: the account is 9 levels down. */
	for (int i = 0; i <= 8; i++) {
		snprintf(src, sizeof(src), "l%d@example.org", i);
		if (i == 8)
			snprintf(dst, sizeof(dst), "u@example.org");
		else
			snprintf(dst, sizeof(dst), "l%d@example.org", i + 1);
		add_alias(f->st, src, dst);
	}
	expect_rcpt(f->st, "l1@example.org", STORE_RCPT_OK, &u, 1);
	expect_rcpt(f->st, "l0@example.org", STORE_RCPT_NO_USER, NULL, 0);
}

static void
inbox(struct store *st, int64_t acct, struct store_mailbox_info *info,
      struct store_msg **msgs, size_t *n)
{
	const char *err = NULL;

	assert_int_equal(store_mailbox_info(st, acct, "INBOX", info), 1);
	assert_int_equal(store_mailbox_messages(st, info->id, msgs, n, &err),
			 0);
}

static void
test_deliver_expunge(void **state)
{
	struct store_fx *f = *state;
	struct store_mailbox_info info, info2;
	struct store_msg *m = NULL;
	int64_t u, w, both[2], ids[3];
	const char *err = NULL;
	char **orphans = NULL;
	size_t n;

	add_domain(f->st, "example.org");
	u = store_fx_add_user(f->st, "u@example.org");
	w = store_fx_add_user(f->st, "w@example.org");
	both[0] = u;
	both[1] = w;
	store_fx_deliver(f->st, "msg/20260101/shared", 100, both, 2);
	store_fx_deliver(f->st, "msg/20260101/m2", 100, &u, 1);
	store_fx_deliver(f->st, "msg/20260101/m3", 100, &u, 1);
	assert_int_equal(sql_int(f->dir, "SELECT refcount FROM blobs"
				    " WHERE path = 'msg/20260101/shared'"), 2);

	inbox(f->st, u, &info, &m, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(m[i].uid, i + 1);
		assert_int_equal(m[i].size, 100);
		assert_int_equal(m[i].internaldate, 1700000000);
		assert_int_equal(m[i].flags, 0);
		if (i > 0)
			assert_true(m[i].modseq > m[i - 1].modseq);
		ids[i] = m[i].id;
	}
	assert_string_equal(m[0].blob, "msg/20260101/shared");
	assert_int_equal(info.uidnext, 4);
	assert_int_equal(info.highestmodseq, m[2].modseq);
	free(m);

	/* Expunging the shared copy keeps the file; the last UID goes too. */
	assert_int_equal(store_messages_expunge(f->st, info.id, (int64_t[]){
				ids[0], ids[2] }, 2, &orphans, &err), 0);
	assert_string_equal(orphans[0], "msg/20260101/m3");
	assert_null(orphans[1]);
	store_strv_free(orphans);
	assert_int_equal(store_mailbox_info(f->st, u, "INBOX", &info2), 1);
	assert_true(info2.highestmodseq > info.highestmodseq);

	/* UIDs are never reused, even after the highest one is expunged. */
	store_fx_deliver(f->st, "msg/20260101/m4", 100, &u, 1);
	inbox(f->st, u, &info, &m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].uid, 2);
	assert_int_equal(m[1].uid, 4);
	assert_true(m[1].id > ids[2]);
	free(m);

	/* Ids of another mailbox are ignored. */
	inbox(f->st, w, &info2, &m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].uid, 1);
	assert_int_equal(store_messages_expunge(f->st, info.id, &m[0].id, 1,
						&orphans, &err), 0);
	assert_null(orphans[0]);
	store_strv_free(orphans);
	free(m);
	inbox(f->st, w, &info2, &m, &n);
	assert_int_equal(n, 1);
	free(m);

	/* Deleting w drops the last reference to the shared file. */
	assert_int_equal(store_user_del(f->st, "w@example.org", &orphans, &err),
			 0);
	assert_string_equal(orphans[0], "msg/20260101/shared");
	assert_null(orphans[1]);
	store_strv_free(orphans);
	assert_int_equal(store_user_del(f->st, "u@example.org", &orphans, &err),
			 0);
	assert_string_equal(orphans[0], "msg/20260101/m2");
	assert_string_equal(orphans[1], "msg/20260101/m4");
	assert_null(orphans[2]);
	store_strv_free(orphans);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blobs"), 0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM messages"), 0);
}

/* A body kept in the store ("db/" path): delivered with its rows, read
 * back whole through the store, as a file (blob_open) and as a buffer
 * (blob_read), and gone with the last reference, without any file. */
static void
test_stored_body(void **state)
{
	struct store_fx *f = *state;
	static const char body[] = "Subject: s\r\n\r\nhello\0world\r\n";
	const size_t len = sizeof(body) - 1;
	struct store_delivery d = { .blob = "db/00000000000000aa", .data = body,
				    .data_len = len, .size = (int64_t)len,
				    .internaldate = 1700000000 };
	struct store_mailbox_info info;
	struct store_msg *m = NULL;
	const char *err = NULL;
	char **orphans = NULL, *data = NULL, got[64];
	size_t n, got_len = 0;
	int64_t u;
	int fd;

	add_domain(f->st, "example.org");
	u = store_fx_add_user(f->st, "u@example.org");
	d.accounts = &u;
	d.n_accounts = 1;
	assert_true(blob_is_stored(d.blob));
	assert_int_equal(store_deliver(f->st, &d, &err), 0);
	assert_int_equal(store_blob_data(f->st, d.blob, &data, &got_len, &err),
			 0);
	assert_int_equal(got_len, len);
	assert_memory_equal(data, body, len);
	assert_int_equal(data[len], '\0');
	free(data);
	assert_int_equal(blob_read(f->st, f->dir, d.blob, (int64_t)len, &data,
				   &got_len), 0);
	assert_memory_equal(data, body, len);
	free(data);
	/* A size that does not match is a damaged message. */
	assert_int_equal(blob_read(f->st, f->dir, d.blob, (int64_t)len + 1,
				   &data, &got_len), -1);
	assert_null(data);
	fd = blob_open(f->st, f->dir, d.blob);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, sizeof(got)), (ssize_t)len);
	assert_memory_equal(got, body, len);
	close(fd);
	/* Without a store handle, or for an unknown body: an error. */
	assert_int_equal(blob_open(NULL, f->dir, d.blob), -1);
	assert_int_equal(blob_open(f->st, f->dir, "db/00000000000000bb"), -1);
	assert_int_equal(store_blob_data(f->st, "db/00000000000000bb", &data,
					 &got_len, &err), -1);
	assert_string_equal(err, "no such message body");

	inbox(f->st, u, &info, &m, &n);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].blob, d.blob);
	assert_int_equal(store_messages_expunge(f->st, info.id, &m[0].id, 1,
						&orphans, &err), 0);
	free(m);
	assert_string_equal(orphans[0], d.blob);
	blob_unlink_all(f->dir, orphans); /* nothing to do, no complaint */
	store_strv_free(orphans);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_data"), 0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blobs"), 0);
}

/* A version 7 database (every body a file) is upgraded in place: its
 * messages keep their files, and new ones can be stored bodies. */
/* An IMAP expunge keeps a stored body for the sessions not told yet (in
 * blob_trash): readable until released (store_blob_drop), or until the
 * start-up sweep of a later server. */
static void
test_stored_body_kept_by_expunge(void **state)
{
	struct store_fx *f = *state;
	static const char body[] = "Subject: k\r\n\r\nkept\r\n";
	const size_t len = sizeof(body) - 1;
	struct store_delivery d = { .data = body, .data_len = len,
				    .size = (int64_t)len };
	struct store_mailbox_info info;
	const char *err = NULL;
	char **orphans = NULL, *data = NULL, paths[2][64];
	size_t got_len, n = 9;
	uint32_t uid = 1;
	int64_t u;

	add_domain(f->st, "example.org");
	u = store_fx_add_user(f->st, "u@example.org");
	d.accounts = &u;
	d.n_accounts = 1;
	for (int i = 0; i < 2; i++) {
		blob_stored_path(paths[i]);
		snprintf(d.blob, sizeof(d.blob), "%s", paths[i]);
		assert_int_equal(store_deliver(f->st, &d, &err), 0);
	}
	assert_int_equal(store_mailbox_info(f->st, u, "INBOX", &info), 1);
	assert_int_equal(store_expunge_uids(f->st, info.id, &uid, 1, &orphans,
					    &err), 0);
	assert_string_equal(orphans[0], paths[0]);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_trash"), 1);
	assert_int_equal(blob_read(f->st, f->dir, paths[0], (int64_t)len,
				   &data, &got_len), 0);
	free(data);
	/* Released: gone, the other message's body stays. */
	assert_int_equal(store_blob_drop(f->st, orphans, &err), 0);
	store_strv_free(orphans);
	assert_int_equal(blob_read(f->st, f->dir, paths[0], (int64_t)len,
				   &data, &got_len), -1);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_trash"), 0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_data"), 1);

	/* Never released (the server was killed): the sweep takes what was
	 * kept before the start, not what a later expunge keeps. */
	uid = 2;
	assert_int_equal(store_expunge_uids(f->st, info.id, &uid, 1, &orphans,
					    &err), 0);
	store_strv_free(orphans);
	assert_int_equal(store_blob_trash_sweep(f->st, time(NULL) - 600, &n,
						&err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_data"), 1);
	assert_int_equal(store_blob_trash_sweep(f->st, time(NULL) + 1, &n,
						&err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_data"), 0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_trash"), 0);
}

static void
test_migration_v7(void **state)
{
	struct store_fx *f = *state;
	static const char body[] = "Subject: new\r\n\r\nx\r\n";
	struct store_delivery d = { .blob = "db/00000000000000cc", .data = body,
				    .data_len = sizeof(body) - 1,
				    .size = sizeof(body) - 1 };
	struct store_mailbox_info info;
	struct store_msg *m = NULL;
	const char *err = NULL;
	int64_t u = 1;
	size_t n;

	store_close(&f->st);
	rm_tree(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	sql_schema_upto(f->dir, 7);
	sql_exec(f->dir, "INSERT INTO meta VALUES ('schema_version', '7');"
			 "INSERT INTO meta VALUES ('uidvalidity', '1700000001');");
	f->st = store_fx_open(f->dir);
	add_domain(f->st, "example.org");
	u = store_fx_add_user(f->st, "u@example.org");
	store_fx_deliver(f->st, "msg/20260101/old", 100, &u, 1);
	store_close(&f->st);
	/* The same database, as version 7 left it. */
	sql_exec(f->dir, "DROP TABLE blob_data; DROP TABLE blob_trash;"
			 "UPDATE meta SET value = '7'"
			 " WHERE key = 'schema_version';");
	f->st = store_fx_open_migrated(f->dir);
	d.accounts = &u;
	d.n_accounts = 1;
	assert_int_equal(store_deliver(f->st, &d, &err), 0);
	inbox(f->st, u, &info, &m, &n);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].blob, "msg/20260101/old");
	assert_string_equal(m[1].blob, d.blob);
	free(m);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_data"), 1);
}

/* v8 -> v9: blob_meta and blob_fields rebuilt around their rowid; every
 * row kept, the cascade from blobs still in place, no index left. */
static void
test_migration_v8(void **state)
{
	struct store_fx *f = *state;
	struct store_meta out = { 0 };

	store_close(&f->st);
	rm_tree(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	sql_schema_upto(f->dir, 8);
	sql_exec(f->dir, "INSERT INTO meta VALUES ('schema_version', '8');"
			 "INSERT INTO meta VALUES ('uidvalidity', '1700000001');"
			 "INSERT INTO blobs (id, path, size, refcount)"
			 " VALUES (41, 'msg/a', 10, 1), (42, 'msg/b', 20, 1);"
			 "INSERT INTO blob_meta VALUES (41, 'env41', 'body41',"
			 " 'bs41', X'0102'), (42, 'env42', 'b42', 'bs42', X'');"
			 "INSERT INTO blob_fields VALUES (41, X'4142');");
	f->st = store_fx_open_migrated(f->dir);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM sqlite_schema"
				    " WHERE type = 'index' AND tbl_name IN"
				    " ('blob_meta', 'blob_fields')"), 0);
	assert_int_equal(store_meta_get(f->st, 41, &out), 1);
	assert_string_equal(out.envelope, "env41");
	assert_string_equal(out.body, "body41");
	assert_string_equal(out.bodystructure, "bs41");
	assert_int_equal(out.partmap_len, 2);
	store_meta_free(&out);
	assert_int_equal(store_meta_get(f->st, 42, &out), 1);
	assert_string_equal(out.envelope, "env42");
	store_meta_free(&out);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_fields"
				    " WHERE blob_id = 41 AND fields = X'4142'"),
			 1);
	/* The blob going takes its metadata and fields with it. */
	sql_exec(f->dir, "PRAGMA foreign_keys = ON;"
			 "DELETE FROM blobs WHERE id = 41;");
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_meta"), 1);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blob_fields"),
			 0);
}

static void
test_deliver_errors(void **state)
{
	struct store_fx *f = *state;
	struct store_delivery d = { .blob = "msg/20260101/x", .size = 1 };
	int64_t bad[2];
	const char *err = NULL;

	add_domain(f->st, "example.org");
	bad[0] = store_fx_add_user(f->st, "u@example.org");
	bad[1] = 9999;
	d.accounts = bad;
	d.n_accounts = 2;
	/* All or nothing: the first recipient's copy is undone too. */
	assert_int_equal(store_deliver(f->st, &d, &err), -1);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM messages"), 0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blobs"), 0);
	d.n_accounts = 0;
	assert_int_equal(store_deliver(f->st, &d, &err), -1);
	/* Without begin/commit, a delivery is its own transaction. */
	d.n_accounts = 1;
	assert_int_equal(store_deliver(f->st, &d, &err), 0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM messages"), 1);
}

static void
test_transactions(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;

	assert_int_equal(store_begin(f->st, &err), 0);
	add_domain(f->st, "gone.example");
	assert_int_equal(store_rollback(f->st), 0);
	assert_int_equal(store_domain_exists(f->st, "gone.example"), 0);

	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_savepoint(f->st, &err), 0);
	add_domain(f->st, "undone.example");
	store_fx_add_user(f->st, "u@undone.example");
	assert_int_equal(store_rollback_to(f->st), 0);
	assert_int_equal(store_savepoint(f->st, &err), 0);
	add_domain(f->st, "kept.example");
	/* A failing operation inside a job leaves the job's work alone. */
	expect_err(store_user_add(f->st, "u@nope.example", "h", &err), &err,
		   "no such domain");
	assert_int_equal(store_release(f->st, &err), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
	assert_int_equal(store_domain_exists(f->st, "undone.example"), 0);
	assert_int_equal(store_domain_exists(f->st, "kept.example"), 1);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM accounts"), 0);
}

static void
test_reopen_persists(void **state)
{
	struct store_fx *f = *state;
	struct store_mailbox_info before, after;
	struct store_account a;
	int64_t u;
	char **v = NULL;
	const char *err = NULL;

	add_domain(f->st, "example.org");
	u = store_fx_add_user(f->st, "u@example.org");
	add_alias(f->st, "a@example.org", "u@example.org");
	store_fx_deliver(f->st, "msg/20260101/p", 100, &u, 1);
	assert_int_equal(store_mailbox_info(f->st, u, "INBOX", &before), 1);
	reopen(f);
	assert_int_equal(store_domain_exists(f->st, "example.org"), 1);
	assert_int_equal(store_account_lookup(f->st, "u@example.org", &a), 1);
	assert_int_equal(a.id, u);
	assert_int_equal(store_alias_list(f->st, NULL, &v, &err), 0);
	assert_string_equal(v[0], "a@example.org u@example.org");
	store_strv_free(v);
	assert_int_equal(store_mailbox_info(f->st, u, "INBOX", &after), 1);
	assert_memory_equal(&before, &after, sizeof(before));
	/* A mailbox created after the reopen still gets a new UIDVALIDITY. */
	u = store_fx_add_user(f->st, "v@example.org");
	assert_int_equal(store_mailbox_info(f->st, u, "INBOX", &after), 1);
	assert_true(after.uidvalidity > before.uidvalidity);
}

static void
test_two_handles(void **state)
{
	struct store_fx *f = *state;
	char err[256];
	const char *e = NULL;
	struct store *other = store_open(NULL, f->dir, err, sizeof(err));

	/* The CLI and the server share the file. */
	assert_non_null(other);
	add_domain(f->st, "one.example");
	assert_int_equal(store_domain_exists(other, "one.example"), 1);
	assert_int_equal(store_domain_add(other, "two.example", &e), 0);
	assert_int_equal(store_domain_exists(f->st, "two.example"), 1);
	store_close(&other);
	assert_null(other);
}

/* Sender identity: own address, +tag, aliases that deliver to
 * the account, never a catch-all; grants by address and by domain. */
/* store_sender_allowed(st, acct, a) is want for each a of the list. */
static void
expect_senders(struct store *st, int64_t acct, int want,
	       const char *const *addrs)
{
	for (size_t i = 0; addrs[i] != NULL; i++) {
		if (store_sender_allowed(st, acct, addrs[i]) != want)
			fail_msg("sender_allowed(%lld, %s) != %d",
				 (long long)acct, addrs[i], want);
	}
}

static void
test_sender_allowed(void **state)
{
	struct store_fx *f = *state;
	int64_t u, w;

	add_domain(f->st, "example.org");
	add_domain(f->st, "example.net");
	u = store_fx_add_user(f->st, "u@example.org");
	w = store_fx_add_user(f->st, "w@example.net");
	add_alias(f->st, "sales@example.org", "u@example.org");
	add_alias(f->st, "chain@example.net", "sales@example.org");
	add_alias(f->st, "team@example.org", "u@example.org");
	add_alias(f->st, "team@example.org", "w@example.net");
	add_alias(f->st, "@example.net", "u@example.org");

	/* Its own address (any case, +tag), aliases and chains to it, a list
	 * delivering to both (each member may use it). */
	static const char *const u_may[] = {
		"u@example.org", "U@Example.ORG", "u+x@example.org",
		"sales@example.org", "sales+q@example.org", "chain@example.net",
		"team@example.org", NULL };
	/* Other users, unknown and foreign addresses, the catch-all,
	 * malformed ones. */
	static const char *const u_may_not[] = {
		"w@example.net", "x@example.org", "u@remote.example",
		"any@example.net", "", "@example.org", "u", "\"u\"@example.org",
		NULL };
	static const char *const w_may[] = { "team@example.org", NULL };
	static const char *const w_may_not[] = {
		"u@example.org", "sales@example.org", NULL };

	expect_senders(f->st, u, 1, u_may);
	expect_senders(f->st, u, 0, u_may_not);
	expect_senders(f->st, w, 1, w_may);
	expect_senders(f->st, w, 0, w_may_not);
	/* Grants: one address (and its +tag forms), a whole domain. */
	const char *err = NULL;
	assert_int_equal(store_sender_grant_add(f->st, "u@example.org",
						"Boss@Example.NET", &err), 0);
	assert_int_equal(store_sender_allowed(f->st, u, "boss@example.net"),
			 1);
	assert_int_equal(store_sender_allowed(f->st, u,
					      "boss+x@example.net"), 1);
	assert_int_equal(store_sender_allowed(f->st, u, "bos@example.net"), 0);
	assert_int_equal(store_sender_grant_add(f->st, "u@example.org",
						"@remote.example", &err), 0);
	assert_int_equal(store_sender_allowed(f->st, u, "a@REMOTE.example"),
			 1);
	assert_int_equal(store_sender_allowed(f->st, u, "a@sub.remote.example"),
			 0);
	assert_int_equal(store_sender_allowed(f->st, w, "a@remote.example"),
			 0);
}

static void
test_sender_grants(void **state)
{
	static const char *const bad[] = { "example.com", "a@",
					   "a b@example.com",
					   "a@b@example.com" };
	struct store_fx *f = *state;
	const char *err = NULL;
	char **v = NULL;
	char **orphans = NULL;

	add_domain(f->st, "example.org");
	store_fx_add_user(f->st, "u@example.org");
	store_fx_add_user(f->st, "v@example.org");
	assert_int_equal(store_sender_grant_add(f->st, "U@example.org",
						"@Example.COM", &err), 0);
	assert_int_equal(store_sender_grant_add(f->st, "u@example.org",
						"x@example.com", &err), 0);
	assert_int_equal(store_sender_grant_add(f->st, "v@example.org",
						"y@example.com", &err), 0);
	expect_err(store_sender_grant_add(f->st, "u@example.org",
					  "@example.com", &err), &err,
		   "grant already exists");
	expect_err(store_sender_grant_add(f->st, "nobody@example.org",
					  "@example.com", &err), &err,
		   "no such user");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err(store_sender_grant_add(f->st, "u@example.org", bad[i],
						  &err), &err,
			   "invalid sender pattern");
	assert_int_equal(store_sender_grant_list(f->st, "u@example.org", &v,
						 &err), 0);
	assert_non_null(v);
	assert_string_equal(v[0], "@example.com");
	assert_string_equal(v[1], "x@example.com");
	assert_null(v[2]);
	store_strv_free(v);
	expect_err(store_sender_grant_list(f->st, "z@example.org", &v, &err),
		   &err, "no such user");

	assert_int_equal(store_sender_grant_del(f->st, "u@example.org",
						"X@EXAMPLE.com", &err), 0);
	expect_err(store_sender_grant_del(f->st, "u@example.org",
					  "x@example.com", &err), &err,
		   "no such grant");
	/* Deleting the account deletes its grants (ON DELETE CASCADE with
	 * PRAGMA foreign_keys=ON), and only its own. */
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM sender_grants"),
			 2);
	assert_int_equal(store_user_del(f->st, "u@example.org", &orphans,
					&err), 0);
	store_strv_free(orphans);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM sender_grants"),
			 1);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM sender_grants"
				 " WHERE pattern = 'y@example.com'"), 1);
	/* A new account with the same address starts without grants. */
	store_fx_add_user(f->st, "u@example.org");
	assert_int_equal(store_sender_grant_list(f->st, "u@example.org", &v,
						 &err), 0);
	assert_null(v[0]);
	store_strv_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_version, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_backend, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_rcpt, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sender_allowed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sender_grants, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resolve_depth, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deliver_expunge, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stored_body, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stored_body_kept_by_expunge,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_v7, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migration_v8, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deliver_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reopen_persists, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_handles, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
