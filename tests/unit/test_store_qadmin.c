/*
 * Unit tests of the outbound queue's administration calls
 * (src/store/store_queue.h, `postel queue ...`) on the SQLite backend:
 * list with its filters, get, hold and release, flush by message, domain
 * or all, delete with its file, bounce by NOTIFY; each raises the serial.
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

/* Queues the admin tests' messages: 0a (two domains), 0b, 0c. */
static void
admin_fixture(struct store *st)
{
	struct store_queue_rcpt_new r[3] = {
		{ .addr = "a@one.example" },
		{ .addr = "b@two.example", .notify = STORE_NOTIFY_NEVER },
		{ .addr = "c@two.example", .notify = STORE_NOTIFY_SUCCESS },
	};

	q_add(st, "000000000000000a", "msg/20231114/0a", T0 + 2, r, 3);
	q_add1(st, "000000000000000b", "msg/20231114/0b", T0 + 1,
	       "x@Two.Example");
	q_add1(st, "000000000000000c", "msg/20231114/0c", T0 + 3,
	       "y@three.example");
}

static void
test_list_get(void **state)
{
	struct store_fx *f = *state;
	struct store_queue_entry *e = NULL, one;
	const char *err = NULL;
	size_t n = 0;

	admin_fixture(f->st);
	assert_int_equal(store_queue_list(f->st, NULL, false, &e, &n, &err), 0);
	assert_int_equal(n, 3);
	/* Oldest first. */
	assert_string_equal(e[0].msg.qid, "000000000000000b");
	assert_string_equal(e[1].msg.qid, "000000000000000a");
	assert_int_equal(e[1].n_rcpts, 3);
	assert_string_equal(e[1].rcpts[2].addr, "c@two.example");
	assert_string_equal(e[2].msg.qid, "000000000000000c");
	store_queue_entries_free(e, n);
	assert_int_equal(store_queue_list(f->st, "TWO.example", false, &e, &n,
					  &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].msg.qid, "000000000000000b");
	assert_string_equal(e[1].msg.qid, "000000000000000a");
	store_queue_entries_free(e, n);
	assert_int_equal(store_queue_list(f->st, "nowhere.example", false, &e,
					  &n, &err), 0);
	assert_int_equal(n, 0);
	store_queue_entries_free(e, n);
	assert_int_equal(store_queue_list(f->st, NULL, true, &e, &n, &err), 0);
	assert_int_equal(n, 0);
	store_queue_entries_free(e, n);

	assert_int_equal(store_queue_get(f->st, "000000000000000c", &one), 1);
	assert_string_equal(one.msg.blob, "msg/20231114/0c");
	assert_int_equal(one.n_rcpts, 1);
	assert_string_equal(one.rcpts[0].domain, "three.example");
	store_queue_entry_fini(&one);
	assert_int_equal(store_queue_get(f->st, "ffffffffffffffff", &one), 0);
	assert_null(one.rcpts);
}

static void
test_hold_flush(void **state)
{
	struct store_fx *f = *state;
	struct store_queue_entry *e = NULL;
	struct store_queue_item *it;
	const char *err = NULL;
	int64_t s0, when = 0, now = (int64_t)time(NULL);
	size_t n = 0;

	admin_fixture(f->st);
	/* All retried in an hour. */
	sql_exec(f->dir, "UPDATE queue_rcpts SET next_attempt ="
		 " CAST(strftime('%s', 'now') AS INTEGER) + 3600");
	s0 = serial(f->st);
	assert_int_equal(store_queue_hold(f->st, "000000000000000a", true,
					  &err), 0);
	assert_true(serial(f->st) > s0);
	assert_int_equal(store_queue_list(f->st, NULL, true, &e, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_true(e[0].msg.held);
	store_queue_entries_free(e, n);
	expect_no_qid(store_queue_hold(f->st, "0000000000000bad", true, &err),
		      &err);

	/* Flush by domain: 0b only (0a is held and stays so). */
	s0 = serial(f->st);
	assert_int_equal(store_queue_flush(f->st, NULL, "Two.Example", &n,
					   &err), 0);
	assert_int_equal(n, 1);
	assert_true(serial(f->st) > s0);
	it = q_due(f->st, now + 60, 10, &n);
	assert_int_equal(n, 1);
	assert_string_equal(it[0].msg.qid, "000000000000000b");
	free(it);
	/* By id, then everything; held work is never due. */
	assert_int_equal(store_queue_flush(f->st, "000000000000000c", NULL, &n,
					   &err), 0);
	assert_int_equal(n, 1);
	expect_no_qid(store_queue_flush(f->st, "0000000000000bad", NULL, &n,
					&err), &err);
	assert_int_equal(store_queue_flush(f->st, NULL, NULL, &n, &err), 0);
	assert_int_equal(n, 2);
	it = q_due(f->st, now + 60, 10, &n);
	assert_int_equal(n, 2);
	free(it);
	assert_int_equal(store_queue_next_due(f->st, &when), 1);
	assert_true(when <= now + 60);
	/* Released: due at its old time again, flushable. */
	assert_int_equal(store_queue_hold(f->st, "000000000000000a", false,
					  &err), 0);
	it = q_due(f->st, now + 60, 10, &n);
	assert_int_equal(n, 2);
	free(it);
	assert_int_equal(store_queue_flush(f->st, "000000000000000a", NULL, &n,
					   &err), 0);
	assert_int_equal(n, 3);
	it = q_due(f->st, now + 60, 10, &n);
	assert_int_equal(n, 5);
	free(it);
}

static void
test_delete_bounce(void **state)
{
	struct store_fx *f = *state;
	struct store_queue_entry e;
	const char *err = NULL;
	char **orphans = NULL;
	int64_t s0;

	admin_fixture(f->st);
	s0 = serial(f->st);
	assert_int_equal(store_queue_bounce(f->st, "000000000000000a", &err),
			 0);
	assert_true(serial(f->st) > s0);
	assert_int_equal(store_queue_get(f->st, "000000000000000a", &e), 1);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(e.rcpts[i].state, STORE_QUEUE_FAILED);
		assert_string_equal(e.rcpts[i].status, "5.0.0");
		assert_string_equal(e.rcpts[i].reply,
				    "given up by the administrator");
	}
	/* RFC 3461 §4.1: NOTIFY not given reports failures; NEVER and a
	 * NOTIFY without FAILURE do not. */
	assert_int_equal(e.rcpts[0].notice, STORE_NOTICE_FAILED);
	assert_int_equal(e.rcpts[1].notice, STORE_NOTICE_NONE);
	assert_int_equal(e.rcpts[2].notice, STORE_NOTICE_NONE);
	store_queue_entry_fini(&e);
	expect_no_qid(store_queue_bounce(f->st, "0000000000000bad", &err),
		      &err);
	/* Nothing pending left: still no error. */
	assert_int_equal(store_queue_bounce(f->st, "000000000000000a", &err),
			 0);

	s0 = serial(f->st);
	assert_int_equal(store_queue_delete(f->st, "000000000000000b",
					    &orphans, &err), 0);
	assert_string_equal(orphans[0], "msg/20231114/0b");
	assert_null(orphans[1]);
	store_strv_free(orphans);
	assert_true(serial(f->st) > s0);
	assert_int_equal(store_queue_get(f->st, "000000000000000b", &e), 0);
	assert_int_equal(store_queue_delete(f->st, "000000000000000b",
					    &orphans, &err), -1);
	assert_string_equal(err, "no such queue id");
	assert_null(orphans);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM queue_rcpts"),
			 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_flush, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete_bounce, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
