/*
 * Unit tests of the IMAP part of the store (store.h) on the SQLite backend,
 * what readers see: read snapshots, view lists, EXPUNGE and VANISHED (also
 * from POP3), search fields, metadata per blob, counters, UID exhaustion,
 * two handles at once.
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

/* A read snapshot: the reads inside see one state; a write inside works
 * when nobody else wrote meanwhile; the handle never stays inside a
 * transaction afterwards, even when one was left open before. */
static void
test_read_snapshot(void **state)
{
	struct store_fx *f = *state;
	int64_t id = fx_box(f, "INBOX").id;
	struct store_vmsg *v = NULL;
	const char *err = NULL;
	size_t n;

	fx_append(f, id, "r/1", 0, NULL, 0);
	assert_int_equal(store_read_begin(f->st, &err), 0);
	assert_int_equal(store_mailbox_vmsgs(f->st, id, 0, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	store_vmsgs_free(v, n);
	fx_append(f, id, "r/2", 0, NULL, 0);   /* a write inside the snapshot */
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
	int64_t id = fx_box(f, "INBOX").id;
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
		fx_append(f, id, blob, i % 3 == 0 ? STORE_FLAG_SEEN : 0,
		       i == 7 ? kw : NULL, i == 7 ? 1 : 0);
	}
	mid = fx_box(f, "INBOX").highestmodseq;
	fx_append(f, id, "v/late", STORE_FLAG_FLAGGED, NULL, 0);
	all = fx_imsgs(f, id, 0, &n_all);
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
	fx_expect_err(store_mailbox_imsgs_uids(f->st, id, many,
					    sizeof(many) / sizeof(many[0]),
					    &m, &n, &err), &err,
		   "too many UIDs");
	fx_expect_err(store_mailbox_vmsgs(f->st, 999, 0, &v, &n, &err), &err,
		   "no such mailbox");
	fx_expect_err(store_mailbox_imsgs_uids(f->st, 999, many, 2, &m, &n, &err),
		   &err, "no such mailbox");
	store_imsgs_free(all, n_all);
}

static void
test_expunge_vanished(void **state)
{
	struct store_fx *f = *state;
	int64_t id = fx_box(f, "INBOX").id;
	struct store_mailbox b0, b1;
	struct store_msg *pm = NULL;
	uint32_t *v = NULL;
	const char *err = NULL;
	char **orphans = NULL;
	size_t n;

	for (int i = 0; i < 5; i++)
		fx_append(f, id, (const char *[]){ "m/1", "m/2", "m/3", "m/4",
						"m/5" }[i],
		       i == 0 ? STORE_FLAG_SEEN : 0, NULL, 0);
	b0 = fx_box(f, "INBOX");
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
	b1 = fx_box(f, "INBOX");
	assert_int_equal(b1.highestmodseq, b0.highestmodseq + 1);
	assert_int_equal(b1.messages, 3);
	assert_int_equal(b1.unseen, 3);
	fx_check_counters(f, id);
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
	assert_int_equal(fx_box(f, "INBOX").highestmodseq, b1.highestmodseq);
	/* POP3's expunge is seen by a QRESYNC client too. */
	assert_int_equal(store_mailbox_messages(f->st, id, &pm, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pm[2].uid, 5);
	assert_int_equal(store_messages_expunge(f->st, id, &pm[2].id, 1,
						&orphans, &err), 0);
	free(pm);
	store_strv_free(orphans);
	b0 = fx_box(f, "INBOX");
	assert_int_equal(b0.highestmodseq, b1.highestmodseq + 1);
	assert_int_equal(store_vanished_since(f->st, id, b1.highestmodseq, &v,
					      &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0], 5);
	free(v);
	fx_check_counters(f, id);
	fx_expect_err(store_vanished_since(f->st, 999, 0, &v, &n, &err), &err,
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
	int64_t id = fx_box(f, "INBOX").id;
	size_t n;

	other.fields = "Subject: other\r\n";
	other.fields_len = strlen(other.fields);
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_deliver(f->st, &d, &err), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
	fx_append(f, id, "m/f2", 0, NULL, 0);   /* no metadata at all */
	fx_append(f, id, "m/f3", 0, NULL, 0);
	m = fx_imsgs(f, id, 0, &n);
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
	fx_expect_err(store_mailbox_fields(f->st, 999, &fl, &n, &err), &err,
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
	int64_t id = fx_box(f, "INBOX").id, blob;
	size_t n;

	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_deliver(f->st, &d, &err), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
	m = fx_imsgs(f, id, 0, &n);
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
	fx_append(f, id, "m/plain", 0, NULL, 0);
	m = fx_imsgs(f, id, 0, &n);
	blob = m[1].blob_id;
	store_imsgs_free(m, n);
	assert_int_equal(store_meta_get(f->st, blob, &out), 0);
	assert_null(out.envelope);
	fx_expect_err(store_meta_put(f->st, blob, &bad, &err), &err,
		   "incomplete");
	fx_expect_err(store_meta_put(f->st, 999, &other, &err), &err,
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
	int64_t id = fx_box(f, "Junk").id, src = fx_box(f, "INBOX").id;
	uint32_t *su = NULL, *du = NULL, uid;
	const char *err = NULL;
	size_t n;

	fx_append(f, src, "m/s1", 0, NULL, 0);
	fx_append(f, src, "m/s2", 0, NULL, 0);
	store_close(&f->st);
	sql_exec(f->dir, "UPDATE mailboxes SET uidnext = 4294967295"
		    " WHERE name = 'Junk'");
	f->st = store_fx_open(f->dir);
	fx_expect_err(store_copy(f->st, src, id, (uint32_t[]){ 1, 2 }, 2, &su,
			      &du, &n, &err), &err, "UID space exhausted");
	assert_int_equal(fx_append(f, id, "m/last", 0, NULL, 0), 4294967295u);
	fx_expect_err(store_append(f->st, id, &d, 0, NULL, 0, &uid, &err), &err,
		   "UID space exhausted");
	assert_int_equal(fx_box(f, "Junk").messages, 1);
	fx_check_counters(f, id);
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
	int64_t id = fx_box(f, "INBOX").id;
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
	assert_int_equal(fx_box(f, "INBOX").messages, 3);
	assert_int_equal(store_mailbox_create(other, f->acct, "Shared", NULL,
					      NULL, &err), 0);
	fx_box(f, "Shared");
	fx_check_counters(f, id);
	store_close(&other);
}

/* \Recent (RFC 3501 §2.3.2): a claim takes what is above recent_uid
 * once; a second claim gets nothing; new mail is claimable again; the
 * count of unclaimed messages follows. */
static void
test_recent_claim(void **state)
{
	struct store_fx *f = *state;
	int64_t id = fx_box(f, "INBOX").id;
	struct store_mailbox box;
	const char *err = NULL;
	uint32_t lo, hi, count;

	fx_append(f, id, "rc/1", 0, NULL, 0);
	fx_append(f, id, "rc/2", 0, NULL, 0);
	assert_int_equal(store_recent_count(f->st, id, 0, &count, &err), 0);
	assert_int_equal(count, 2);
	assert_int_equal(store_recent_claim(f->st, id, &lo, &hi, &err), 0);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 2);
	assert_int_equal(store_recent_claim(f->st, id, &lo, &hi, &err), 0);
	assert_int_equal(lo, 2);
	assert_int_equal(hi, 2);
	assert_int_equal(store_mailbox_get(f->st, f->acct, "INBOX", &box), 1);
	assert_int_equal(box.recent_uid, 2);
	assert_int_equal(store_recent_count(f->st, id, box.recent_uid, &count,
					    &err), 0);
	assert_int_equal(count, 0);
	fx_append(f, id, "rc/3", 0, NULL, 0);
	assert_int_equal(store_recent_claim(f->st, id, &lo, &hi, &err), 0);
	assert_int_equal(lo, 2);
	assert_int_equal(hi, 3);
	/* A mailbox that does not exist claims nothing. */
	assert_int_equal(store_recent_claim(f->st, id + 1000, &lo, &hi, &err),
			 0);
	assert_int_equal(lo, hi);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_expunge_vanished,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_meta,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_search_fields,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_view_lists,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_read_snapshot,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_uid_exhaustion,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_two_handles,
						fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_recent_claim,
						fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
