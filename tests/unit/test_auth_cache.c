/*
 * Unit tests for the verified-login cache: a hit needs the same address,
 * password and stored hash within the TTL; the table never grows past its
 * fixed capacity. The clock is injected, so nothing sleeps.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "auth/auth_cache.h"

static const char addr[] = "alice@example.test";
static const char pw[] = "correct horse";
static const char hash1[] = "$y$j9T$salt1$abcdefghijklmnopqrstuvwxyz0123456";
static const char hash2[] = "$y$j9T$salt2$abcdefghijklmnopqrstuvwxyz0123456";

/* The fake clock: milliseconds, advanced by the tests. */
static uint64_t
fake_clock(void *arg)
{
	return *(const uint64_t *)arg;
}

struct fixture {
	struct auth_cache *c;
	uint64_t now_ms;
};

static int
setup(void **state)
{
	static struct fixture f;

	f.now_ms = 1000000;
	f.c = auth_cache_new(300);
	if (f.c == NULL)
		return -1;
	auth_cache_set_clock(f.c, fake_clock, &f.now_ms);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	auth_cache_free(&f->c);
	return f->c == NULL ? 0 : -1;
}

static void
test_hit_after_insert(void **state)
{
	struct fixture *f = *state;

	assert_false(auth_cache_lookup(f->c, addr, pw, hash1));
	auth_cache_insert(f->c, addr, pw, hash1);
	assert_true(auth_cache_lookup(f->c, addr, pw, hash1));
	assert_true(auth_cache_lookup(f->c, addr, pw, hash1));
	assert_int_equal(auth_cache_count(f->c), 1);
	/* Inserting again refreshes the one entry, never duplicates it. */
	auth_cache_insert(f->c, addr, pw, hash1);
	assert_int_equal(auth_cache_count(f->c), 1);
}

static void
test_miss_other_password(void **state)
{
	struct fixture *f = *state;

	auth_cache_insert(f->c, addr, pw, hash1);
	assert_false(auth_cache_lookup(f->c, addr, "correct hors", hash1));
	assert_false(auth_cache_lookup(f->c, addr, "correct horse ", hash1));
	assert_false(auth_cache_lookup(f->c, addr, "", hash1));
	/* A failed lookup must not disturb the real entry. */
	assert_true(auth_cache_lookup(f->c, addr, pw, hash1));
}

static void
test_miss_other_address(void **state)
{
	struct fixture *f = *state;

	auth_cache_insert(f->c, addr, pw, hash1);
	assert_false(auth_cache_lookup(f->c, "bob@example.test", pw, hash1));
	assert_false(auth_cache_lookup(f->c, "alice@example.tes", pw, hash1));
	/* The 0 separator: moving a byte between the parts changes the key. */
	auth_cache_insert(f->c, "a@b", "cd", hash1);
	assert_false(auth_cache_lookup(f->c, "a@bc", "d", hash1));
	assert_true(auth_cache_lookup(f->c, "a@b", "cd", hash1));
}

static void
test_miss_changed_hash(void **state)
{
	struct fixture *f = *state;

	auth_cache_insert(f->c, addr, pw, hash1);
	/* `postel user passwd` rehashes (new salt) even for the same
	 * password; a locked account's hash changes too. */
	assert_false(auth_cache_lookup(f->c, addr, pw, hash2));
	assert_false(auth_cache_lookup(f->c, addr, pw, "!"));
	assert_false(auth_cache_lookup(f->c, addr, pw, ""));
	assert_false(auth_cache_lookup(f->c, addr, pw, NULL));
	/* The stale entry was dropped on the first mismatch. */
	assert_false(auth_cache_lookup(f->c, addr, pw, hash1));
	assert_int_equal(auth_cache_count(f->c), 0);
}

static void
test_expiry(void **state)
{
	struct fixture *f = *state;

	auth_cache_insert(f->c, addr, pw, hash1);
	f->now_ms += 300 * 1000 - 1;
	assert_true(auth_cache_lookup(f->c, addr, pw, hash1));
	f->now_ms += 1;
	assert_false(auth_cache_lookup(f->c, addr, pw, hash1));
	assert_int_equal(auth_cache_count(f->c), 0);
	/* A hit does not extend the life of an entry: only a verification
	 * (an insert) does. */
	auth_cache_insert(f->c, addr, pw, hash1);
	f->now_ms += 200 * 1000;
	assert_true(auth_cache_lookup(f->c, addr, pw, hash1));
	f->now_ms += 100 * 1000;
	assert_false(auth_cache_lookup(f->c, addr, pw, hash1));
}

static void
test_ttl_zero_and_null(void **state)
{
	struct auth_cache *c = auth_cache_new(0);

	assert_non_null(c);
	auth_cache_insert(c, addr, pw, hash1);
	assert_false(auth_cache_lookup(c, addr, pw, hash1));
	assert_int_equal(auth_cache_count(c), 0);
	auth_cache_free(&c);
	assert_null(c);
	/* The server leaves the cache NULL when it is off. */
	auth_cache_insert(NULL, addr, pw, hash1);
	assert_false(auth_cache_lookup(NULL, addr, pw, hash1));
	assert_int_equal(auth_cache_count(NULL), 0);
	auth_cache_free(&c);
	auth_cache_free(NULL);
}

static void
test_refuses_bad_input(void **state)
{
	struct fixture *f = *state;
	static char longpw[2048];

	memset(longpw, 'x', sizeof(longpw) - 1);
	auth_cache_insert(f->c, addr, longpw, hash1);
	assert_false(auth_cache_lookup(f->c, addr, longpw, hash1));
	auth_cache_insert(f->c, "", pw, hash1);
	assert_false(auth_cache_lookup(f->c, "", pw, hash1));
	auth_cache_insert(f->c, addr, pw, "");
	assert_false(auth_cache_lookup(f->c, addr, pw, ""));
	assert_int_equal(auth_cache_count(f->c), 0);
}

static void
test_capacity_bound(void **state)
{
	struct fixture *f = *state;
	char a[64];
	size_t n = 10 * AUTH_CACHE_CAPACITY;

	for (size_t i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "user%zu@example.test", i);
		auth_cache_insert(f->c, a, pw, hash1);
		/* Time moves on, so "oldest" is well defined. */
		f->now_ms++;
	}
	assert_true(auth_cache_count(f->c) <= AUTH_CACHE_CAPACITY);
	/* The buckets are fairly full: the table was really used. */
	assert_true(auth_cache_count(f->c) >= AUTH_CACHE_CAPACITY / 2);
	/* The most recent logins survive: with 512 buckets of 8, 64 recent
	 * entries overflowing one bucket is ~1e-11 likely. */
	for (size_t i = n - 64; i < n; i++) {
		snprintf(a, sizeof(a), "user%zu@example.test", i);
		assert_true(auth_cache_lookup(f->c, a, pw, hash1));
	}
	/* The very first ones were pushed out long ago. */
	size_t old_hits = 0;
	for (size_t i = 0; i < 64; i++) {
		snprintf(a, sizeof(a), "user%zu@example.test", i);
		old_hits += auth_cache_lookup(f->c, a, pw, hash1);
	}
	assert_int_equal(old_hits, 0);
}

/* Separate caches have separate random keys: an entry of one never
 * matches in another (and nothing survives a restart). */
static void
test_key_per_cache(void **state)
{
	struct auth_cache *a = auth_cache_new(60);
	struct auth_cache *b = auth_cache_new(60);

	assert_non_null(a);
	assert_non_null(b);
	auth_cache_insert(a, addr, pw, hash1);
	assert_true(auth_cache_lookup(a, addr, pw, hash1));
	assert_false(auth_cache_lookup(b, addr, pw, hash1));
	auth_cache_free(&a);
	auth_cache_free(&b);
}

/* The real CLOCK_MONOTONIC: the one test that sleeps (just over 1 s). */
static void
test_real_clock_expiry(void **state)
{
	struct auth_cache *c = auth_cache_new(1);
	struct timespec ts = {1, 50 * 1000 * 1000};

	assert_non_null(c);
	auth_cache_insert(c, addr, pw, hash1);
	assert_true(auth_cache_lookup(c, addr, pw, hash1));
	nanosleep(&ts, NULL);
	assert_false(auth_cache_lookup(c, addr, pw, hash1));
	auth_cache_free(&c);
}

struct worker_arg {
	struct auth_cache *c;
	int id;
	size_t hits;
};

static void *
worker_main(void *p)
{
	struct worker_arg *w = p;
	char a[64];

	for (size_t i = 0; i < 2000; i++) {
		snprintf(a, sizeof(a), "w%d-%zu@example.test", w->id, i);
		auth_cache_insert(w->c, a, pw, hash1);
		w->hits += auth_cache_lookup(w->c, a, pw, hash1);
		(void)auth_cache_lookup(w->c, a, "wrong", hash1);
	}
	return NULL;
}

/* The server's two auth workers share one cache. */
static void
test_two_threads(void **state)
{
	struct auth_cache *c = auth_cache_new(60);
	struct worker_arg w[2] = {{c, 0, 0}, {c, 1, 0}};
	pthread_t t[2];

	assert_non_null(c);
	for (int i = 0; i < 2; i++)
		assert_int_equal(
		    pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	/* Another thread may evict an entry between insert and lookup only
	 * when its bucket is full: rare, never the rule. */
	assert_true(w[0].hits > 1000 && w[1].hits > 1000);
	assert_true(auth_cache_count(c) <= AUTH_CACHE_CAPACITY);
	auth_cache_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_hit_after_insert, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_miss_other_password, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_miss_other_address, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_miss_changed_hash, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
	    cmocka_unit_test(test_ttl_zero_and_null),
	    cmocka_unit_test_setup_teardown(test_refuses_bad_input, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_capacity_bound, setup,
	                                    teardown),
	    cmocka_unit_test(test_key_per_cache),
	    cmocka_unit_test(test_real_clock_expiry),
	    cmocka_unit_test(test_two_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
