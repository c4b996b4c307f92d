/*
 * Unit tests of the outbound queue's rows (src/store/store_queue.h) on the
 * SQLite backend: queueing, due work, leases between two owners, attempt
 * outcomes, notices, retiring with the blob reference (a file shared with
 * a local delivery survives), the migration from a version 4 database,
 * and alias targets outside the hosted domains (store_resolve_rcpt's
 * remote list). The administration calls: test_store_qadmin.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_sqlite_int.h"
#include "store_fx.h"
#include "store_queue_fx.h"

static void
test_add_due(void **state)
{
	struct store_fx *f = *state;
	struct store_queue_rcpt_new r[2] = {
		{ .addr = "Bob@Remote.Example", .orcpt = "rfc822;bob@x.example",
		  .notify = STORE_NOTIFY_FAILURE | STORE_NOTIFY_DELAY },
		{ .addr = "carol@other.example" },
	};
	struct store_queue_new bad = { .qid = "00000000000000bb",
				       .blob = "msg/20231114/bb", .from = "",
				       .created = T0, .rcpts = r, .n_rcpts = 2 };
	struct store_queue_item *it;
	const char *err = NULL;
	int64_t s0 = serial(f->st), id;
	size_t n;

	id = q_add(f->st, "00000000000000aa", "msg/20231114/aa", T0, r, 2);
	assert_true(serial(f->st) > s0);
	/* A message with only remote recipients made its blob row. */
	assert_int_equal(blob_refs(f, "msg/20231114/aa"), 1);
	assert_int_equal(store_blob_known(f->st, "msg/20231114/aa"), 1);

	it = q_due(f->st, T0 - 1, 10, &n);
	assert_int_equal(n, 0);
	free(it);
	it = q_due(f->st, T0, 10, &n);
	assert_int_equal(n, 2);
	assert_int_equal(it[0].msg.id, id);
	assert_string_equal(it[0].msg.qid, "00000000000000aa");
	assert_string_equal(it[0].msg.blob, "msg/20231114/aa");
	assert_string_equal(it[0].msg.from, "s@example.org");
	assert_string_equal(it[0].msg.envid, "env-1");
	assert_int_equal(it[0].msg.ret, STORE_RET_HDRS);
	assert_int_equal(it[0].msg.flags, STORE_QMSG_8BIT);
	assert_int_equal(it[0].msg.size, 1234);
	assert_int_equal(it[0].msg.created, T0);
	assert_false(it[0].msg.held);
	assert_null(it[0].prefix);
	/* The local part as given, the routing key lower-cased. */
	assert_string_equal(it[0].rcpt.addr, "Bob@Remote.Example");
	assert_string_equal(it[0].rcpt.domain, "remote.example");
	assert_string_equal(it[0].rcpt.orcpt, "rfc822;bob@x.example");
	assert_int_equal(it[0].rcpt.notify,
			 STORE_NOTIFY_FAILURE | STORE_NOTIFY_DELAY);
	assert_int_equal(it[0].rcpt.state, STORE_QUEUE_PENDING);
	assert_int_equal(it[0].rcpt.notice, STORE_NOTICE_NONE);
	assert_int_equal(it[0].rcpt.attempts, 0);
	assert_int_equal(it[0].rcpt.next_attempt, T0);
	assert_int_equal(it[0].rcpt.last_attempt, 0);
	assert_string_equal(it[0].rcpt.lease_owner, "");
	assert_string_equal(it[1].rcpt.domain, "other.example");
	assert_string_equal(it[1].rcpt.orcpt, "");
	free(it);
	it = q_due(f->st, T0, 1, &n);
	assert_int_equal(n, 1);
	free(it);

	/* Errors change nothing. */
	s0 = serial(f->st);
	snprintf(bad.qid, sizeof(bad.qid), "00000000000000aa");
	assert_int_equal(store_queue_add(f->st, &bad, NULL, &err), -1);
	assert_string_equal(err, "queue id already exists");
	snprintf(bad.qid, sizeof(bad.qid), "00000000000000bb");
	r[1].addr = "no-domain";
	assert_int_equal(store_queue_add(f->st, &bad, NULL, &err), -1);
	assert_string_equal(err, "invalid address");
	r[1].addr = "x@";
	assert_int_equal(store_queue_add(f->st, &bad, NULL, &err), -1);
	assert_int_equal(serial(f->st), s0);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM queue_msgs"), 1);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blobs"), 1);

	/* The header prefix (DKIM signatures, schema v6) comes back as
	 * given; one over STORE_QUEUE_PREFIX_MAX is refused. */
	{
		char *big = malloc(STORE_QUEUE_PREFIX_MAX + 2);

		assert_non_null(big);
		memset(big, 'x', STORE_QUEUE_PREFIX_MAX + 1);
		big[STORE_QUEUE_PREFIX_MAX + 1] = '\0';
		r[1].addr = "carol@other.example";
		bad.prefix = big;
		assert_int_equal(store_queue_add(f->st, &bad, NULL, &err), -1);
		assert_string_equal(err, "header prefix too long");
		free(big);
		bad.prefix = "DKIM-Signature: v=1; a=ed25519-sha256\r\n";
		assert_int_equal(store_queue_add(f->st, &bad, NULL, &err), 0);
		assert_int_equal(store_queue_due(f->st, T0, 10, &it, &n,
						 &err), 0);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(it[i].msg.qid, "00000000000000bb") == 0)
				assert_string_equal(it[i].prefix, bad.prefix);
			else
				assert_null(it[i].prefix);
		}
		assert_int_equal(n, 4);
		store_queue_items_free(it, n);
	}
}

static void
test_lease(void **state)
{
	struct store_fx *f = *state;
	struct store_queue_item *it;
	int64_t ids[2], when = 0;
	const char *err = NULL;
	char **orphans = NULL;
	size_t n;

	q_add1(f->st, "0000000000000001", "msg/20231114/01", T0,
	       "a@remote.example");
	q_add1(f->st, "0000000000000002", "msg/20231114/02", T0 + 5,
	       "b@remote.example");
	it = q_due(f->st, T0 + 10, 10, &n);
	assert_int_equal(n, 2);
	ids[0] = it[0].rcpt.id;
	ids[1] = it[1].rcpt.id;
	free(it);
	assert_int_equal(store_queue_next_due(f->st, &when), 1);
	assert_int_equal(when, T0);

	/* A takes both; B gets none while A's lease runs. */
	assert_int_equal(q_lease(f->st, ids, 2, "node-a", T0 + 10, T0 + 70), 2);
	assert_int_equal(q_lease(f->st, ids, 2, "node-b", T0 + 10, T0 + 70), 0);
	assert_int_equal(q_lease(f->st, ids, 2, "node-b", T0 + 70, T0 + 130),
			 0);
	it = q_due(f->st, T0 + 20, 10, &n);
	assert_int_equal(n, 0);
	free(it);
	/* Leased work is next due when its lease ends, not in the past. */
	assert_int_equal(store_queue_next_due(f->st, &when), 1);
	assert_int_equal(when, T0 + 71);
	/* Free work due before the leases end comes first. */
	q_add1(f->st, "0000000000000009", "msg/20231114/09", T0 + 50,
	       "c@remote.example");
	assert_int_equal(store_queue_next_due(f->st, &when), 1);
	assert_int_equal(when, T0 + 50);
	assert_int_equal(store_queue_delete(f->st, "0000000000000009",
					    &orphans, &err), 0);
	store_strv_free(orphans);
	/* Once the lease ran out, B may take it. */
	it = q_due(f->st, T0 + 71, 10, &n);
	assert_int_equal(n, 2);
	free(it);
	assert_int_equal(q_lease(f->st, ids, 1, "node-b", T0 + 71, T0 + 131),
			 1);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM queue_rcpts"
				 " WHERE lease_owner = 'node-b'"), 1);
	/* A held message is not leased. */
	assert_int_equal(store_queue_hold(f->st, "0000000000000002", true,
					  &err), 0);
	assert_int_equal(q_lease(f->st, ids + 1, 1, "node-b", T0 + 200,
				 T0 + 260), 0);
	assert_int_equal(store_queue_lease(f->st, ids, 1, "", T0, T0, NULL,
					   &err), -1);
}

/* store_queue_unlease: a restarted node frees the leases its earlier
 * process left, and nobody else's. */
static void
test_unlease(void **state)
{
	struct store_fx *f = *state;
	struct store_queue_item *it;
	int64_t ids[3];
	const char *err = NULL;
	size_t n, freed = 9;

	q_add1(f->st, "0000000000000001", "msg/20231114/01", T0,
	       "a@remote.example");
	q_add1(f->st, "0000000000000002", "msg/20231114/02", T0,
	       "b@remote.example");
	q_add1(f->st, "0000000000000003", "msg/20231114/03", T0,
	       "c@remote.example");
	it = q_due(f->st, T0, 10, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++)
		ids[i] = it[i].rcpt.id;
	free(it);
	assert_int_equal(q_lease(f->st, ids, 1, "mx.test:100", T0, T0 + 3600),
			 1);
	assert_int_equal(q_lease(f->st, ids + 1, 1, "mx.test:200", T0,
				 T0 + 3600), 1);
	assert_int_equal(q_lease(f->st, ids + 2, 1, "other.test:100", T0,
				 T0 + 3600), 1);
	assert_int_equal(store_queue_unlease(f->st, "mx.test:", "mx.test:200",
					     T0 + 1, &freed, &err), 0);
	assert_int_equal(freed, 1);
	/* Only the earlier process's recipient is due again. */
	it = q_due(f->st, T0 + 1, 10, &n);
	assert_int_equal(n, 1);
	assert_int_equal(it[0].rcpt.id, ids[0]);
	free(it);
}

static void
test_update(void **state)
{
	struct store_fx *f = *state;
	struct store_queue_update u = { .state = STORE_QUEUE_PENDING,
					.attempts = 1,
					.next_attempt = T0 + 300,
					.last_attempt = T0 + 1,
					.status = "4.4.1",
					.reply = "connection refused",
					.remote_mta = "mx.remote.example[192.0.2.1]" };
	struct store_queue_entry e;
	struct store_queue_item *it;
	char longreply[STORE_QUEUE_REPLY_MAX + 40];
	const char *err = NULL;
	int64_t id, when = 0;
	size_t n;

	q_add1(f->st, "0000000000000003", "msg/20231114/03", T0,
	       "a@remote.example");
	it = q_due(f->st, T0, 10, &n);
	id = u.rcpt_id = it[0].rcpt.id;
	free(it);
	assert_int_equal(q_lease(f->st, &id, 1, "me", T0, T0 + 60), 1);
	assert_int_equal(store_queue_update(f->st, &u, &err), 0);
	assert_int_equal(store_queue_get(f->st, "0000000000000003", &e), 1);
	assert_int_equal(e.n_rcpts, 1);
	assert_int_equal(e.rcpts[0].attempts, 1);
	assert_int_equal(e.rcpts[0].next_attempt, T0 + 300);
	assert_int_equal(e.rcpts[0].last_attempt, T0 + 1);
	assert_string_equal(e.rcpts[0].status, "4.4.1");
	assert_string_equal(e.rcpts[0].reply, "connection refused");
	assert_string_equal(e.rcpts[0].remote_mta,
			    "mx.remote.example[192.0.2.1]");
	/* The lease is free again. */
	assert_string_equal(e.rcpts[0].lease_owner, "");
	assert_int_equal(e.rcpts[0].lease_until, 0);
	store_queue_entry_fini(&e);
	it = q_due(f->st, T0 + 299, 10, &n);
	assert_int_equal(n, 0);
	free(it);
	assert_int_equal(store_queue_next_due(f->st, &when), 1);
	assert_int_equal(when, T0 + 300);

	/* NULL status: unchanged; a reply is kept to its maximum; a delay
	 * notice and warned are set. */
	memset(longreply, 'r', sizeof(longreply) - 1);
	longreply[sizeof(longreply) - 1] = '\0';
	u.status = NULL;
	u.reply = longreply;
	u.remote_mta = NULL;
	u.attempts = 2;
	u.notice = STORE_NOTICE_DELAYED;
	u.warned = true;
	assert_int_equal(store_queue_update(f->st, &u, &err), 0);
	assert_int_equal(store_queue_get(f->st, "0000000000000003", &e), 1);
	assert_string_equal(e.rcpts[0].status, "4.4.1");
	assert_string_equal(e.rcpts[0].remote_mta,
			    "mx.remote.example[192.0.2.1]");
	assert_int_equal(strlen(e.rcpts[0].reply), STORE_QUEUE_REPLY_MAX);
	assert_int_equal(e.rcpts[0].notice, STORE_NOTICE_DELAYED);
	assert_true(e.rcpts[0].warned);
	store_queue_entry_fini(&e);

	/* Given up by the administrator while being tried: the late
	 * outcome does not bring it back. */
	assert_int_equal(store_queue_bounce(f->st, "0000000000000003", &err),
			 0);
	u.state = STORE_QUEUE_SENT;
	u.status = "2.0.0";
	assert_int_equal(store_queue_update(f->st, &u, &err), 0);
	assert_int_equal(store_queue_get(f->st, "0000000000000003", &e), 1);
	assert_int_equal(e.rcpts[0].state, STORE_QUEUE_FAILED);
	assert_string_equal(e.rcpts[0].status, "5.0.0");
	store_queue_entry_fini(&e);
	assert_int_equal(store_queue_next_due(f->st, &when), 0);
}

static void
test_notices(void **state)
{
	struct store_fx *f = *state;
	/* Delivered here at once with NOTIFY=SUCCESS, and one remote. */
	struct store_queue_rcpt_new r[2] = {
		{ .addr = "u@example.org", .notify = STORE_NOTIFY_SUCCESS,
		  .state = STORE_QUEUE_SENT, .notice = STORE_NOTICE_DELIVERED,
		  .status = "2.0.0", .reply = "delivered" },
		{ .addr = "x@remote.example" },
	};
	struct store_queue_update u = { .state = STORE_QUEUE_PENDING,
					.notice = STORE_NOTICE_DELAYED,
					.attempts = 3,
					.next_attempt = T0 + 900 };
	struct store_queue_entry *e = NULL;
	const char *err = NULL;
	int64_t ids[2];
	size_t n = 0;

	q_add(f->st, "0000000000000004", "msg/20231114/04", T0, r, 2);
	q_add1(f->st, "0000000000000005", "msg/20231114/05", T0,
	       "y@remote.example");
	assert_int_equal(store_queue_notices(f->st, 10, &e, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].msg.qid, "0000000000000004");
	/* Every recipient of the message, also those owing nothing. */
	assert_int_equal(e[0].n_rcpts, 2);
	assert_int_equal(e[0].rcpts[0].state, STORE_QUEUE_SENT);
	assert_int_equal(e[0].rcpts[0].notice, STORE_NOTICE_DELIVERED);
	assert_string_equal(e[0].rcpts[0].status, "2.0.0");
	assert_string_equal(e[0].rcpts[0].reply, "delivered");
	assert_int_equal(e[0].rcpts[0].last_attempt, T0);
	assert_int_equal(e[0].rcpts[1].notice, STORE_NOTICE_NONE);
	ids[0] = e[0].rcpts[0].id;
	ids[1] = e[0].rcpts[1].id;
	store_queue_entries_free(e, n);

	/* A delay on the second message too. */
	assert_int_equal(store_queue_notice_done(f->st, ids, 1, &err), 0);
	u.rcpt_id = ids[1];
	assert_int_equal(store_queue_update(f->st, &u, &err), 0);
	assert_int_equal(store_queue_notices(f->st, 10, &e, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].rcpts[0].notice, STORE_NOTICE_NONE);
	assert_int_equal(e[0].rcpts[1].notice, STORE_NOTICE_DELAYED);
	assert_false(e[0].rcpts[1].warned);
	store_queue_entries_free(e, n);
	assert_int_equal(store_queue_notice_done(f->st, ids + 1, 1, &err), 0);
	assert_int_equal(store_queue_notices(f->st, 10, &e, &n, &err), 0);
	assert_int_equal(n, 0);
	store_queue_entries_free(e, n);
	assert_int_equal(sql_int(f->dir, "SELECT warned FROM queue_rcpts"
				 " WHERE addr = 'x@remote.example'"), 1);
	/* limit */
	assert_int_equal(store_queue_bounce(f->st, "0000000000000004", &err),
			 0);
	assert_int_equal(store_queue_bounce(f->st, "0000000000000005", &err),
			 0);
	assert_int_equal(store_queue_notices(f->st, 1, &e, &n, &err), 0);
	assert_int_equal(n, 1);
	store_queue_entries_free(e, n);
	assert_int_equal(store_queue_notices(f->st, 10, &e, &n, &err), 0);
	assert_int_equal(n, 2);
	store_queue_entries_free(e, n);
}

/* Marks every recipient of qid sent (no notice). */
static void
q_all_sent(struct store *st, const char *qid)
{
	struct store_queue_update u = { .state = STORE_QUEUE_SENT,
					.attempts = 1, .status = "2.0.0",
					.reply = "250 ok" };
	struct store_queue_entry e;
	const char *err = NULL;

	assert_int_equal(store_queue_get(st, qid, &e), 1);
	for (size_t i = 0; i < e.n_rcpts; i++) {
		u.rcpt_id = e.rcpts[i].id;
		assert_int_equal(store_queue_update(st, &u, &err), 0);
	}
	store_queue_entry_fini(&e);
}

static void
test_retire(void **state)
{
	struct store_fx *f = *state;
	struct store_queue_rcpt_new r = { .addr = "a@remote.example",
					  .notify = STORE_NOTIFY_SUCCESS };
	const char *err = NULL;
	char **orphans = NULL;
	int64_t id;

	id = q_add(f->st, "0000000000000006", "msg/20231114/06", T0, &r, 1);
	/* Pending: stays. */
	assert_int_equal(store_queue_retire(f->st, id, &orphans, &err), 0);
	assert_non_null(orphans);
	assert_null(orphans[0]);
	store_strv_free(orphans);
	/* Sent but a notice owed: stays. */
	q_all_sent(f->st, "0000000000000006");
	assert_int_equal(sql_exec_changes(f, "UPDATE queue_rcpts SET"
					  " notice = 4"), 1);
	assert_int_equal(store_queue_retire(f->st, id, &orphans, &err), 0);
	store_strv_free(orphans);
	sql_exec(f->dir, "UPDATE queue_rcpts SET notice = 0");
	/* Final, nothing owed: gone, with its file (only remote). */
	assert_int_equal(store_queue_retire(f->st, id, &orphans, &err), 1);
	assert_non_null(orphans);
	assert_string_equal(orphans[0], "msg/20231114/06");
	assert_null(orphans[1]);
	store_strv_free(orphans);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM queue_rcpts"),
			 0);
	assert_int_equal(blob_refs(f, "msg/20231114/06"), -1);
	assert_int_equal(store_queue_retire(f->st, id, &orphans, &err), 0);
	store_strv_free(orphans);
}

static void
test_retire_shared_blob(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	char **orphans = NULL;
	struct store_msg *msgs = NULL;
	struct store_mailbox_info in;
	int64_t id, acct;
	size_t n = 0;

	assert_int_equal(store_domain_add(f->st, "example.org", &err), 0);
	acct = store_fx_add_user(f->st, "u@example.org");
	/* One message, a local copy and a remote recipient. */
	store_fx_deliver(f->st, "msg/20231114/07", 1234, &acct, 1);
	id = q_add1(f->st, "0000000000000007", "msg/20231114/07", T0,
		    "a@remote.example");
	assert_int_equal(blob_refs(f, "msg/20231114/07"), 2);
	q_all_sent(f->st, "0000000000000007");
	assert_int_equal(store_queue_retire(f->st, id, &orphans, &err), 1);
	assert_null(orphans[0]);
	store_strv_free(orphans);
	assert_int_equal(blob_refs(f, "msg/20231114/07"), 1);

	/* The other way round: the local copy expunged while queued. */
	id = q_add1(f->st, "0000000000000008", "msg/20231114/07", T0,
		    "b@remote.example");
	assert_int_equal(store_mailbox_info(f->st, acct, "INBOX", &in), 1);
	assert_int_equal(store_mailbox_messages(f->st, in.id, &msgs, &n, &err),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_messages_expunge(f->st, in.id, &msgs[0].id, 1,
						&orphans, &err), 0);
	free(msgs);
	assert_null(orphans[0]);
	store_strv_free(orphans);
	/* The orphan sweep keeps every file with a blob row. */
	assert_int_equal(store_blob_known(f->st, "msg/20231114/07"), 1);
	assert_int_equal(store_queue_delete(f->st, "0000000000000008",
					    &orphans, &err), 0);
	assert_string_equal(orphans[0], "msg/20231114/07");
	store_strv_free(orphans);
	assert_int_equal(store_blob_known(f->st, "msg/20231114/07"), 0);
}

static void
test_in_caller_transaction(void **state)
{
	struct store_fx *f = *state;
	struct store_queue_item *it;
	const char *err = NULL;
	size_t n;

	/* As the group commit runs it: rolled back with the job. */
	assert_int_equal(store_begin(f->st, &err), 0);
	assert_int_equal(store_savepoint(f->st, &err), 0);
	q_add1(f->st, "0000000000000011", "msg/20231114/11", T0,
	       "a@remote.example");
	assert_int_equal(store_rollback_to(f->st), 0);
	assert_int_equal(store_commit(f->st, &err), 0);
	it = q_due(f->st, T0, 10, &n);
	assert_int_equal(n, 0);
	free(it);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM blobs"), 0);
	assert_int_equal(serial(f->st), 0);
}

/* ---- migration ---- */

static void
test_migration_v4(void **state)
{
	struct store_fx *f = *state;
	struct store_mailbox_info in;
	struct store_msg *msgs = NULL;
	struct store_queue_item *it;
	const char *err = NULL;
	char path[128];
	size_t n = 0;

	store_close(&f->st);
	rm_tree(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	/* A database as version 4 left it, with a delivered message. */
	sql_schema_upto(f->dir, 4);
	sql_exec(f->dir,
		 "INSERT INTO meta VALUES ('schema_version', '4');"
		 "INSERT INTO meta VALUES ('uidvalidity', '1700000001');"
		 "INSERT INTO domains VALUES (1, 'example.org', 0);"
		 "INSERT INTO accounts VALUES (1, 1, 'u', '$y$h', 0, NULL);"
		 "INSERT INTO mailboxes VALUES (1, 1, 'INBOX', 1700000001, 2,"
		 " 2, NULL, 1, 1, 1, 0, 10);"
		 "INSERT INTO blobs VALUES (1, 'msg/a', 10, 1);"
		 "INSERT INTO messages VALUES (1, 1, 1, 1, 10, 5, 0, '', 2);");
	f->st = store_fx_open_migrated(f->dir);
	/* Version 6: an old row's SAVEDATE is its INTERNALDATE. */
	assert_int_equal(sql_int(f->dir, "SELECT savedate FROM messages"), 5);
	snprintf(path, sizeof(path), "%s/postel.db.v4.bak", f->dir);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(serial(f->st), 0);
	assert_int_equal(store_mailbox_info(f->st, 1, "INBOX", &in), 1);
	assert_int_equal(store_mailbox_messages(f->st, in.id, &msgs, &n, &err),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(msgs[0].blob, "msg/a");
	free(msgs);
	/* The existing file can be queued too (forwarded later). */
	q_add1(f->st, "0000000000000012", "msg/a", T0, "a@remote.example");
	assert_int_equal(blob_refs(f, "msg/a"), 2);
	it = q_due(f->st, T0, 10, &n);
	assert_int_equal(n, 1);
	free(it);
}

/* ---- alias targets outside the hosted domains ---- */

/* Resolves addr wanting remote targets: the status, the number of
 * accounts, and the remote list joined by spaces in *remote (sorted as
 * returned). */
static enum store_rcpt_status
resolve(struct store *st, const char *addr, size_t *n_acct, char *remote,
	size_t cap)
{
	int64_t *ids = NULL;
	char **rem = (char **)1;
	enum store_rcpt_status rc;

	rc = store_resolve_rcpt(st, addr, &ids, n_acct, &rem);
	remote[0] = '\0';
	for (size_t i = 0; rem != NULL && rem[i] != NULL; i++) {
		if (i > 0)
			strncat(remote, " ", cap - strlen(remote) - 1);
		strncat(remote, rem[i], cap - strlen(remote) - 1);
	}
	free(ids);
	store_strv_free(rem);
	return rc;
}

static void
add_alias(struct store *st, const char *src, const char *dst)
{
	const char *err = NULL;

	if (store_alias_add(st, src, dst, &err) < 0)
		fail_msg("alias_add %s %s: %s", src, dst, err);
}

static void
test_resolve_remote(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	char remote[512];
	int64_t u, *ids = NULL;
	size_t n = 0;

	assert_int_equal(store_domain_add(f->st, "example.org", &err), 0);
	u = store_fx_add_user(f->st, "u@example.org");
	add_alias(f->st, "ext@example.org", "Someone@Remote.EXAMPLE");
	assert_int_equal(resolve(f->st, "ext@example.org", &n, remote,
				 sizeof(remote)), STORE_RCPT_OK);
	assert_int_equal(n, 0);
	assert_string_equal(remote, "someone@remote.example");
	/* Without the list, nothing here: as before the queue. */
	assert_int_equal(store_resolve_rcpt(f->st, "ext@example.org", &ids, &n,
					    NULL), STORE_RCPT_NO_USER);
	/* A chain to an external address, and +tag. */
	add_alias(f->st, "chain@example.org", "ext@example.org");
	assert_int_equal(resolve(f->st, "chain+x@example.org", &n, remote,
				 sizeof(remote)), STORE_RCPT_OK);
	assert_string_equal(remote, "someone@remote.example");
	/* Mixed: local account, two external, one duplicate through the
	 * chain. */
	add_alias(f->st, "team@example.org", "u@example.org");
	add_alias(f->st, "team@example.org", "chain@example.org");
	add_alias(f->st, "team@example.org", "other@elsewhere.example");
	add_alias(f->st, "team@example.org", "someone@remote.example");
	assert_int_equal(resolve(f->st, "team@example.org", &n, remote,
				 sizeof(remote)), STORE_RCPT_OK);
	assert_int_equal(n, 1);
	assert_non_null(strstr(remote, "someone@remote.example"));
	assert_non_null(strstr(remote, "other@elsewhere.example"));
	assert_int_equal(strlen(remote), strlen("someone@remote.example "
						"other@elsewhere.example"));
	/* A loop with an external exit ends, and finds the exit. */
	add_alias(f->st, "x@example.org", "y@example.org");
	add_alias(f->st, "y@example.org", "x@example.org");
	assert_int_equal(resolve(f->st, "x@example.org", &n, remote,
				 sizeof(remote)), STORE_RCPT_NO_USER);
	assert_string_equal(remote, "");
	add_alias(f->st, "y@example.org", "far@remote.example");
	assert_int_equal(resolve(f->st, "x@example.org", &n, remote,
				 sizeof(remote)), STORE_RCPT_OK);
	assert_string_equal(remote, "far@remote.example");
	/* A catch-all to an external address. */
	add_alias(f->st, "@example.org", "catch@remote.example");
	assert_int_equal(resolve(f->st, "nobody@example.org", &n, remote,
				 sizeof(remote)), STORE_RCPT_OK);
	assert_string_equal(remote, "catch@remote.example");
	/* Own addresses: no list. */
	assert_int_equal(resolve(f->st, "u@example.org", &n, remote,
				 sizeof(remote)), STORE_RCPT_OK);
	assert_string_equal(remote, "");
	assert_int_equal(resolve(f->st, "u@remote.example", &n, remote,
				 sizeof(remote)), STORE_RCPT_NOT_HOSTED);
	/* An alias to an external address gives no sender right. */
	assert_int_equal(store_sender_allowed(f->st, u, "ext@example.org"), 0);
	assert_int_equal(store_sender_allowed(f->st, u, "team@example.org"), 1);
}

static void
test_resolve_remote_depth(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	char src[64], dst[64], remote[256];
	size_t n = 0;

	assert_int_equal(store_domain_add(f->st, "example.org", &err), 0);
	/* l0 -> ... -> l8 -> far: the target is 9 levels down. */
	for (int i = 0; i <= 8; i++) {
		snprintf(src, sizeof(src), "l%d@example.org", i);
		if (i == 8)
			snprintf(dst, sizeof(dst), "far@remote.example");
		else
			snprintf(dst, sizeof(dst), "l%d@example.org", i + 1);
		add_alias(f->st, src, dst);
	}
	assert_int_equal(resolve(f->st, "l1@example.org", &n, remote,
				 sizeof(remote)), STORE_RCPT_OK);
	assert_string_equal(remote, "far@remote.example");
	assert_int_equal(resolve(f->st, "l0@example.org", &n, remote,
				 sizeof(remote)), STORE_RCPT_NO_USER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retire_shared_blob, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_in_caller_transaction,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_v4, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resolve_remote, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resolve_remote_depth,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
