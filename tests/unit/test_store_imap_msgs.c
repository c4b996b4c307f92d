/*
 * Unit tests of the IMAP part of the store (store.h) on the SQLite backend,
 * messages: APPEND, STORE with MODSEQ and UNCHANGEDSINCE, COPY mapping.
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
	int64_t id = fx_box(f, "Drafts").id;
	uint32_t uid;
	size_t n;

	b0 = fx_box(f, "Drafts");
	assert_int_equal(fx_append(f, id, "msg/1", 0, NULL, 0), 1);
	assert_int_equal(fx_append(f, id, "msg/2",
				STORE_FLAG_SEEN | STORE_FLAG_DRAFT | 0x100,
				(char *[]){ "foo", "$Junk", "FOO", "bar" }, 4),
			 2);
	b1 = fx_box(f, "Drafts");
	assert_int_equal(b1.uidnext, 3);
	assert_int_equal(b1.highestmodseq, b0.highestmodseq + 2);
	assert_int_equal(b1.messages, 2);
	assert_int_equal(b1.unseen, 1);
	assert_int_equal(b1.size, 200);
	m = fx_imsgs(f, id, 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[1].flags, STORE_FLAG_SEEN | STORE_FLAG_DRAFT);
	assert_string_equal(m[1].keywords, "foo $Junk bar");
	assert_int_equal(m[1].modseq, b1.highestmodseq);
	assert_true(m[1].blob_id > 0);
	assert_string_equal(m[1].blob, "msg/2");
	assert_int_equal(m[1].internaldate, 1700000000);
	store_imsgs_free(m, n);
	m = fx_imsgs(f, id, b1.highestmodseq - 1, &n);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].uid, 2);
	store_imsgs_free(m, n);
	m = fx_imsgs(f, id, b1.highestmodseq, &n);
	assert_int_equal(n, 0);
	assert_null(m);
	/* Errors change nothing. */
	fx_expect_err(store_append(f->st, 999, &d, 0, NULL, 0, &uid, &err), &err,
		   "no such mailbox");
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blobs"
				    " WHERE path = 'msg/x'"), 0);
	fx_expect_err(store_append(f->st, id, &d, 0, (char *[]){ "a b" }, 1, &uid,
				&err), &err, "invalid keyword");
	fx_expect_err(store_append(f->st, id, &d, 0, (char *[]){ "\\Seen" }, 1,
				&uid, &err), &err, "invalid keyword");
	for (int i = 0; i <= STORE_KEYWORDS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "k%d", i);
		many[i] = names[i];
	}
	fx_expect_err(store_append(f->st, id, &d, 0, many, STORE_KEYWORDS_MAX + 1,
				&uid, &err), &err, "too many keywords");
	assert_int_equal(store_append(f->st, id, &d, 0, many,
				      STORE_KEYWORDS_MAX, &uid, &err), 0);
	assert_int_equal(uid, 3);
	fx_expect_err(store_mailbox_imsgs(f->st, 999, 0, &m, &n, &err), &err,
		   "no such mailbox");
	fx_check_counters(f, id);
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

/* INBOX with four messages (UIDs 1 to 4); returns its id. */
static int64_t
fx_inbox4(struct store_fx *f)
{
	int64_t id = fx_box(f, "INBOX").id;

	for (int i = 0; i < 4; i++)
		fx_append(f, id, (const char *[]){ "m/1", "m/2", "m/3", "m/4" }[i],
		       0, NULL, 0);
	return id;
}

static void
test_flags_change(void **state)
{
	struct store_fx *f = *state;
	struct store_flag_change *c;
	struct store_mailbox b0, b1;
	struct store_imsg *m;
	uint32_t *failed = NULL;
	int64_t id = fx_inbox4(f);
	size_t n, nf;

	b0 = fx_box(f, "INBOX");
	/* ADD \Seen to 1, 2 (twice) and a missing UID. */
	c = change(f, id, (uint32_t[]){ 2, 1, 2, 99 }, 4, STORE_FLAGS_ADD,
		   STORE_FLAG_SEEN, (char *[]){ "Work" }, 1, 0, &n, &failed,
		   &nf);
	b1 = fx_box(f, "INBOX");
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
	assert_int_equal(fx_box(f, "INBOX").highestmodseq, b1.highestmodseq);
	/* Only messages changed since b1 come back with CHANGEDSINCE. */
	m = fx_imsgs(f, id, b0.highestmodseq, &n);
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
	b1 = fx_box(f, "INBOX");
	assert_int_equal(b1.deleted, 2);
	assert_int_equal(b1.unseen, 3);
	fx_check_counters(f, id);
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
	int64_t id = fx_inbox4(f);
	size_t n, nf;

	b0 = fx_box(f, "INBOX");
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
		b1 = fx_box(f, "INBOX");
		fx_expect_err(store_flags_change(f->st, id, (uint32_t[]){ 1, 4 },
					      2, STORE_FLAGS_ADD, 0,
					      (char *[]){ "one-more" }, 1, 0,
					      &c, &n, &failed, &nf, &err), &err, "too many keywords");
		assert_null(c);
		assert_int_equal(fx_box(f, "INBOX").highestmodseq,
				 b1.highestmodseq);
		m = fx_imsgs(f, id, b1.highestmodseq - 1, &n);
		assert_int_equal(n, 1);
		assert_null(strstr(m[0].keywords, "one-more"));
		store_imsgs_free(m, n);
	}
	fx_expect_err(store_flags_change(f->st, id, (uint32_t[]){ 1 }, 1,
				      STORE_FLAGS_ADD, 0, (char *[]){ "a(" },
				      1, 0, &c, &n, &failed, &nf, &err), &err, "invalid keyword");
	fx_expect_err(store_flags_change(f->st, 999, (uint32_t[]){ 1 }, 1,
				      STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL,
				      0, 0, &c, &n, &failed, &nf, &err), &err, "no such mailbox");
	fx_check_counters(f, id);
}

static void
test_copy(void **state)
{
	struct store_fx *f = *state;
	int64_t src = fx_box(f, "INBOX").id, dst = fx_box(f, "Archive").id;
	uint32_t *su = NULL, *du = NULL;
	struct store_mailbox d0;
	struct store_imsg *m;
	const char *err = NULL;
	char **orphans = NULL;
	size_t n;

	fx_append(f, src, "m/1", STORE_FLAG_SEEN, (char *[]){ "k1" }, 1);
	fx_append(f, src, "m/2", 0, NULL, 0);
	fx_append(f, src, "m/3", STORE_FLAG_DELETED, NULL, 0);
	fx_append(f, dst, "m/a", 0, NULL, 0);
	d0 = fx_box(f, "Archive");
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
	assert_int_equal(fx_box(f, "Archive").highestmodseq,
			 d0.highestmodseq + 1);
	m = fx_imsgs(f, dst, d0.highestmodseq, &n);
	assert_int_equal(n, 2);
	assert_int_equal(m[0].flags, STORE_FLAG_SEEN);
	assert_string_equal(m[0].keywords, "k1");
	assert_string_equal(m[0].blob, "m/1");
	assert_int_equal(m[1].flags, STORE_FLAG_DELETED);
	assert_int_equal(m[0].modseq, d0.highestmodseq + 1);
	store_imsgs_free(m, n);
	fx_check_counters(f, dst);
	assert_int_equal(sql_int(f->dir, "SELECT refcount FROM blobs"
				    " WHERE path = 'm/1'"), 2);
	/* Into the same mailbox, and nothing at all. */
	assert_int_equal(store_copy(f->st, src, src, (uint32_t[]){ 2 }, 1, &su,
				    &du, &n, &err), 0);
	assert_int_equal(du[0], 4);
	free(su);
	free(du);
	d0 = fx_box(f, "Archive");
	assert_int_equal(store_copy(f->st, src, dst, (uint32_t[]){ 50 }, 1,
				    &su, &du, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(su);
	assert_null(du);
	assert_int_equal(fx_box(f, "Archive").highestmodseq, d0.highestmodseq);
	fx_expect_err(store_copy(f->st, src, 999, (uint32_t[]){ 1 }, 1, &su, &du,
			      &n, &err), &err, "no such mailbox");
	fx_expect_err(store_copy(f->st, 999, dst, (uint32_t[]){ 1 }, 1, &su, &du,
			      &n, &err), &err, "no such mailbox");
	fx_check_counters(f, src);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_flags_change,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_flags_unchangedsince,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_copy,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
