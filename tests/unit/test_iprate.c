/*
 * Address groups (IPv4 /32, IPv6 /64, v4-mapped as IPv4) and the bounded
 * table of connection-rate token buckets (core/iprate.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/iprate.h"

static void
assert_group(const char *ip, const char *want)
{
	char out[64];

	iprate_group(ip, out, sizeof(out));
	assert_string_equal(out, want);
}

static void
test_groups(void **state)
{
	assert_group("192.0.2.1", "192.0.2.1");
	assert_group("::ffff:192.0.2.1", "192.0.2.1");
	assert_group("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64");
	assert_group("2001:db8:1:2::1", "2001:db8:1:2::/64");
	assert_group("::1", "::/64");
	assert_group("not-an-ip", "not-an-ip");
}

static void
test_keys_same_64(void **state)
{
	uint8_t a[IPRATE_KEY_LEN], b[IPRATE_KEY_LEN], c[IPRATE_KEY_LEN];

	assert_int_equal(iprate_key("2001:db8:0:1::1", a), 0);
	assert_int_equal(iprate_key("2001:db8:0:1:ffff::9", b), 0);
	assert_int_equal(iprate_key("2001:db8:0:2::1", c), 0);
	assert_memory_equal(a, b, IPRATE_KEY_LEN);
	assert_memory_not_equal(a, c, IPRATE_KEY_LEN);
	assert_int_equal(iprate_key("10.0.0.1", a), 0);
	assert_int_equal(iprate_key("::ffff:10.0.0.1", b), 0);
	assert_memory_equal(a, b, IPRATE_KEY_LEN);
	assert_int_equal(iprate_key("10.0.0.2", c), 0);
	assert_memory_not_equal(a, c, IPRATE_KEY_LEN);
	assert_int_equal(iprate_key("", a), -1);
	assert_int_equal(iprate_key("1.2.3", a), -1);
}

static void
test_bucket(void **state)
{
	struct iprate *r = iprate_new();
	uint8_t a[IPRATE_KEY_LEN], b[IPRATE_KEY_LEN];
	double t = 1000.0;

	assert_non_null(r);
	iprate_key("2001:db8::1", a);
	iprate_key("2001:db8::2", b); /* same /64 */
	for (int i = 0; i < 3; i++)
		assert_true(iprate_take(r, i % 2 ? b : a, 3, t));
	assert_false(iprate_take(r, a, 3, t));
	assert_false(iprate_take(r, b, 3, t + 1));
	/* 3 per minute: one token back after 20 seconds. */
	assert_true(iprate_take(r, a, 3, t + 20.5));
	assert_false(iprate_take(r, a, 3, t + 21));
	/* A full minute refills the bucket, never beyond its capacity. */
	for (int i = 0; i < 3; i++)
		assert_true(iprate_take(r, a, 3, t + 1000));
	assert_false(iprate_take(r, a, 3, t + 1000));
	/* 0 means no limit. */
	assert_true(iprate_take(r, a, 0, t + 1000));
	iprate_free(&r);
	assert_null(r);
}

/* Many addresses cannot grow the table: it is fixed; an address seen
 * once long ago may be forgotten (least recently used in its set), a busy
 * one keeps its bucket. */
static void
test_bounded(void **state)
{
	struct iprate *r = iprate_new();
	uint8_t k[IPRATE_KEY_LEN], busy[IPRATE_KEY_LEN];
	char ip[64];
	double t = 50.0;

	iprate_key("192.0.2.200", busy);
	for (int i = 0; i < 2; i++)
		assert_true(iprate_take(r, busy, 2, t));
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255,
			 (i >> 8) & 255, i & 255);
		iprate_key(ip, k);
		t += 0.0001; /* 100,000 connections in 10 s */
		assert_true(iprate_take(r, k, 2, t));
		/* The busy client keeps trying; it stays limited while its
		 * bucket is not refilled. */
		if (i % 1000 == 0)
			assert_false(iprate_take(r, busy, 2, t));
	}
	iprate_free(&r);
}

static void
test_prefixes(void **state)
{
	struct iprate_prefix p[IPRATE_PREFIX_MAX];
	int n;

	n = iprate_parse_prefixes("127.0.0.0/8 ::1, 2001:db8::/32,192.0.2.7",
				  p, IPRATE_PREFIX_MAX);
	assert_int_equal(n, 4);
	assert_true(iprate_in_prefixes("127.1.2.3", p, n));
	assert_true(iprate_in_prefixes("::1", p, n));
	assert_true(iprate_in_prefixes("2001:db8:ffff::1", p, n));
	assert_true(iprate_in_prefixes("192.0.2.7", p, n));
	assert_false(iprate_in_prefixes("192.0.2.8", p, n));
	assert_false(iprate_in_prefixes("128.0.0.1", p, n));
	assert_false(iprate_in_prefixes("::2", p, n));
	assert_false(iprate_in_prefixes("2001:db9::1", p, n));
	/* An odd length compares the leading bits only. */
	n = iprate_parse_prefixes("10.0.0.0/9", p, IPRATE_PREFIX_MAX);
	assert_true(iprate_in_prefixes("10.127.0.1", p, n));
	assert_false(iprate_in_prefixes("10.128.0.1", p, n));
	assert_int_equal(iprate_parse_prefixes("", p, IPRATE_PREFIX_MAX), 0);
	assert_int_equal(iprate_parse_prefixes("0.0.0.0/0", p, 1), 1);
	assert_true(iprate_in_prefixes("203.0.113.1", p, 1));
	assert_false(iprate_in_prefixes("2001:db8::1", p, 1));
	assert_int_equal(iprate_parse_prefixes("10.0.0.0/33", NULL, 4), -1);
	assert_int_equal(iprate_parse_prefixes("::/129", NULL, 4), -1);
	assert_int_equal(iprate_parse_prefixes("example.org", NULL, 4), -1);
	assert_int_equal(iprate_parse_prefixes("1.2.3.4/", NULL, 4), -1);
	assert_int_equal(iprate_parse_prefixes("1.1.1.1 2.2.2.2", NULL, 1),
			 -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_keys_same_64),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
