/*
 * Unit tests for the failed-login throttle: counts per address group
 * (IPv4, IPv6 /64, IPv4-mapped IPv6 as IPv4) and per account name (any
 * case), the block after block_failures, the window and the block ending,
 * and the fixed table under a flood of addresses. The clock is injected,
 * so nothing sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/throttle.h"

static uint64_t
fake_clock(void *arg)
{
	return *(const uint64_t *)arg;
}

struct fixture {
	struct throttle *t;
	uint64_t now_ms;
};

static int
setup(void **state)
{
	static struct fixture f;
	const struct throttle_params p = {
		.block_failures = 3, .window_s = 60, .block_s = 30,
	};

	f.now_ms = 1000000;
	f.t = throttle_new(&p);
	if (f.t == NULL)
		return -1;
	throttle_set_clock(f.t, fake_clock, &f.now_ms);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	throttle_free(&f->t);
	throttle_free(&f->t); /* NULL is fine */
	return 0;
}

static unsigned
one_fail(struct fixture *f, const char *ip, const char *user, bool *blocked)
{
	struct throttle_fail r;

	throttle_fail(f->t, ip, user, &r);
	if (blocked != NULL)
		*blocked = r.blocked;
	return r.addr_failures;
}

static void
test_block_after_failures(void **state)
{
	struct fixture *f = *state;
	bool b;

	assert_int_equal(one_fail(f, "192.0.2.1", "a@x", &b), 1);
	assert_false(b);
	assert_int_equal(one_fail(f, "192.0.2.1", "b@x", &b), 2);
	assert_false(throttle_blocked(f->t, "192.0.2.1"));
	assert_int_equal(one_fail(f, "192.0.2.1", "c@x", &b), 3);
	assert_true(b);
	assert_true(throttle_blocked(f->t, "192.0.2.1"));
	assert_false(throttle_blocked(f->t, "192.0.2.2"));
	/* The block ends after block_s. */
	f->now_ms += 30 * 1000 - 1;
	assert_true(throttle_blocked(f->t, "192.0.2.1"));
	f->now_ms += 1;
	assert_false(throttle_blocked(f->t, "192.0.2.1"));
	/* A fresh count afterwards: three more failures block again. */
	assert_int_equal(one_fail(f, "192.0.2.1", "d@x", &b), 1);
	one_fail(f, "192.0.2.1", "d@x", &b);
	assert_false(b);
	one_fail(f, "192.0.2.1", "d@x", &b);
	assert_true(b);
}

static void
test_window_forgets(void **state)
{
	struct fixture *f = *state;

	one_fail(f, "198.51.100.7", "u@x", NULL);
	one_fail(f, "198.51.100.7", "u@x", NULL);
	f->now_ms += 60 * 1000;
	assert_int_equal(one_fail(f, "198.51.100.7", "u@x", NULL), 1);
	assert_false(throttle_blocked(f->t, "198.51.100.7"));
}

static void
test_ipv6_grouped_by_64(void **state)
{
	struct fixture *f = *state;
	bool b;

	one_fail(f, "2001:db8:1:2::1", NULL, NULL);
	one_fail(f, "2001:db8:1:2:ffff::9", NULL, NULL);
	assert_int_equal(one_fail(f, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", NULL, &b),
			 3);
	assert_true(b);
	assert_true(throttle_blocked(f->t, "2001:db8:1:2::42"));
	assert_false(throttle_blocked(f->t, "2001:db8:1:3::1"));
	/* IPv4-mapped IPv6 is the IPv4 address. */
	one_fail(f, "203.0.113.5", NULL, NULL);
	one_fail(f, "::ffff:203.0.113.5", NULL, NULL);
	assert_int_equal(one_fail(f, "203.0.113.5", NULL, NULL), 3);
	assert_true(throttle_blocked(f->t, "::ffff:203.0.113.5"));
}

static void
test_account_counts_across_addresses(void **state)
{
	struct fixture *f = *state;
	struct throttle_fail r;

	for (int i = 0; i < 10; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		throttle_fail(f->t, ip, i % 2 ? "Alice@Example.TEST"
					      : "alice@example.test", &r);
		assert_int_equal(r.account_failures, (unsigned)i + 1);
		assert_int_equal(r.addr_failures, 1);
		assert_false(r.blocked);
	}
	throttle_fail(f->t, "10.0.1.1", "bob@example.test", &r);
	assert_int_equal(r.account_failures, 1);
}

static void
test_flood_keeps_table_bounded_and_blocks(void **state)
{
	struct fixture *f = *state;
	char ip[64];

	/* A blocked address survives a flood of single failures from many
	 * other addresses: eviction takes the least useful entries. */
	one_fail(f, "192.0.2.99", NULL, NULL);
	one_fail(f, "192.0.2.99", NULL, NULL);
	one_fail(f, "192.0.2.99", NULL, NULL);
	for (unsigned i = 0; i < 4 * THROTTLE_CAPACITY; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i >> 16,
			 i & 0xffff);
		one_fail(f, ip, NULL, NULL);
	}
	assert_true(throttle_blocked(f->t, "192.0.2.99"));
}

static void
test_zero_disables_block(void **state)
{
	const struct throttle_params p = {
		.block_failures = 0, .window_s = 60, .block_s = 30,
	};
	struct throttle *t = throttle_new(&p);
	struct throttle_fail r;

	assert_non_null(t);
	for (int i = 0; i < 50; i++)
		throttle_fail(t, "192.0.2.1", "a@x", &r);
	assert_int_equal(r.addr_failures, 50);
	assert_false(throttle_blocked(t, "192.0.2.1"));
	throttle_fail(NULL, "192.0.2.1", "a@x", &r);
	assert_int_equal(r.addr_failures, 0);
	assert_false(throttle_blocked(NULL, "192.0.2.1"));
	throttle_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_block_after_failures,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_forgets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_grouped_by_64, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_account_counts_across_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_flood_keeps_table_bounded_and_blocks, setup,
			teardown),
		cmocka_unit_test(test_zero_disables_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
