/*
 * Unit tests of the quota functions of the store (store_quota_get/set,
 * store_quota_limit/exceeded) on the SQLite backend, and of the
 * size parser behind quota_default, min_free_disk and `user quota`
 * (str_tosize).
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
#include <unistd.h>

#include "core/diskfree.h"
#include "store/store.h"
#include "store_fx.h"
#include "util/str.h"

static int
setup(void **state)
{
	return store_fx_setup(state, "/tmp/postel-quota-XXXXXX");
}


static void
expect_quota(struct store *st, int64_t id, int64_t quota, uint64_t usage)
{
	const char *err = NULL;
	int64_t q = 42;
	uint64_t u = 42;

	assert_int_equal(store_quota_get(st, id, &q, &u, &err), 1);
	assert_int_equal(q, quota);
	assert_int_equal(u, usage);
}

static void
test_quota_get_set(void **state)
{
	struct store_fx *f = *state;
	const char *err = NULL;
	int64_t u, w, both[2], q;
	uint64_t usage;

	assert_int_equal(store_domain_add(f->st, "example.org", &err), 0);
	u = store_fx_add_user(f->st, "u@example.org");
	w = store_fx_add_user(f->st, "w@example.org");
	/* New accounts follow the default and use nothing. */
	expect_quota(f->st, u, STORE_QUOTA_DEFAULT, 0);
	assert_int_equal(store_quota_get(f->st, 999999, &q, &usage, &err), 0);

	/* Usage: every copy counts (shared file or not), per account. */
	both[0] = u;
	both[1] = w;
	store_fx_deliver(f->st, "msg/20260101/a", 1000, both, 2);
	store_fx_deliver(f->st, "msg/20260101/b", 234, &u, 1);
	expect_quota(f->st, u, STORE_QUOTA_DEFAULT, 1234);
	expect_quota(f->st, w, STORE_QUOTA_DEFAULT, 1000);
	/* Other mailboxes count too. */
	sql_exec(f->dir, "UPDATE mailboxes SET size = size + 10"
			 " WHERE name = 'Archive' AND account_id = 1");
	expect_quota(f->st, u, STORE_QUOTA_DEFAULT, 1244);

	assert_int_equal(store_quota_set(f->st, "u@example.org", 5000, &err),
			 0);
	expect_quota(f->st, u, 5000, 1244);
	expect_quota(f->st, w, STORE_QUOTA_DEFAULT, 1000);
	assert_int_equal(store_quota_set(f->st, "u@example.org", 0, &err), 0);
	expect_quota(f->st, u, 0, 1244);
	assert_int_equal(sql_int(f->dir, "SELECT quota_bytes FROM accounts"
					 " WHERE id = 1"), 0);
	assert_int_equal(store_quota_set(f->st, "u@example.org",
					 STORE_QUOTA_DEFAULT, &err), 0);
	expect_quota(f->st, u, STORE_QUOTA_DEFAULT, 1244);
	assert_int_equal(sql_int(f->dir, "SELECT COUNT(*) FROM accounts"
					 " WHERE quota_bytes IS NULL"), 2);

	assert_int_equal(store_quota_set(f->st, "x@example.org", 1, &err), -1);
	assert_string_equal(err, "no such user");
	assert_int_equal(store_quota_set(f->st, "u@example.org", -2, &err), -1);
	assert_string_equal(err, "invalid quota");

	/* Inside a transaction the usage includes its own changes (the
	 * group commit's serial check). */
	assert_int_equal(store_begin(f->st, &err), 0);
	{
		struct store_delivery d = { .blob = "msg/20260101/c",
					    .size = 46,
					    .internaldate = 1700000000,
					    .accounts = &u, .n_accounts = 1 };

		assert_int_equal(store_deliver(f->st, &d, &err), 0);
	}
	expect_quota(f->st, u, STORE_QUOTA_DEFAULT, 1290);
	assert_int_equal(store_rollback(f->st), 0);
	expect_quota(f->st, u, STORE_QUOTA_DEFAULT, 1244);
}

static void
test_quota_limit_exceeded(void **state)
{
	(void)state;
	assert_int_equal(store_quota_limit(STORE_QUOTA_DEFAULT, 0), 0);
	assert_int_equal(store_quota_limit(STORE_QUOTA_DEFAULT, 77), 77);
	assert_int_equal(store_quota_limit(0, 77), 0);
	assert_int_equal(store_quota_limit(5, 77), 5);

	assert_false(store_quota_exceeded(0, UINT64_MAX, UINT64_MAX));
	assert_false(store_quota_exceeded(100, 99, 1));
	assert_true(store_quota_exceeded(100, 100, 1));
	assert_false(store_quota_exceeded(100, 100, 0));
	assert_true(store_quota_exceeded(100, 101, 0));
	assert_true(store_quota_exceeded(100, 0, 101));
	assert_true(store_quota_exceeded(100, 50, UINT64_MAX));
}

static void
test_str_tosize(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(str_tosize("0", UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(str_tosize("123", UINT64_MAX, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(str_tosize("2k", UINT64_MAX, &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(str_tosize("10M", UINT64_MAX, &v), 0);
	assert_int_equal(v, 10ULL << 20);
	assert_int_equal(str_tosize("1GB", UINT64_MAX, &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(str_tosize("3t", UINT64_MAX, &v), 0);
	assert_int_equal(v, 3ULL << 40);
	assert_int_equal(str_tosize("1000000G", 1ULL << 62, &v), 0);
	assert_int_equal(v, 1000000ULL << 30);
	const char *bad[] = { "", "-1", "+1", " 1", "1 ", "1.5G", "1X",
			      "1KK", "1B", "1Gb2", "K", "1 G",
			      "99999999999999999999", "5000000000G" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		if (str_tosize(bad[i], 1ULL << 62, &v) == 0)
			fail_msg("accepted '%s'", bad[i]);
		assert_int_equal(v, 7);
	}
	assert_int_equal(str_tosize("4097", 4096, &v), -1);
	assert_int_equal(str_tosize("5K", 4096, &v), -1);
	assert_int_equal(str_tosize("4K", 4096, &v), 0);
}

static void
test_diskfree(void **state)
{
	(void)state;
	/* 0 turns the check off; the reading (cached) compares with any
	 * minimum: /tmp has more than one octet and less than 2^62. */
	assert_false(diskfree_low("/tmp", 0));
	assert_false(diskfree_low("/tmp", 1));
	assert_true(diskfree_low("/tmp", 1ULL << 62));
	assert_false(diskfree_low("/tmp", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_quota_get_set, setup,
						store_fx_teardown),
		cmocka_unit_test(test_quota_limit_exceeded),
		cmocka_unit_test(test_str_tosize),
		cmocka_unit_test(test_diskfree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
