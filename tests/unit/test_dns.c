/*
 * Unit tests for the resolver: the rdata parsers (dns_wire.c), and the
 * query life cycle on a real loop without any DNS answer (a resolver
 * address nothing listens on): callbacks never run from the starting
 * call, cancelling is safe before an answer, inside another query's
 * callback and inside the query's own, and dns_free with queries in
 * flight runs no callback (ASan checks nothing leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>

#include "core/config.h"
#include "dns/dns.h"
#include "dns/dns_int.h"

/* The loop of a test stops after this even if a callback never came. */
#define TEST_DNS_LOOP_MAX_S 30

static void
test_txt_and_ptr(void **state)
{
	static const unsigned char spf[] = "\x07v=spf1 \x04-all";
	static const unsigned char ptr[] = "\x04Mail\x07""example\x04test";
	char out[64];

	(void)state;
	/* Two character-strings joined with nothing between. */
	assert_int_equal(dns_txt_text(spf, sizeof(spf) - 1, out, sizeof(out)),
			 11);
	assert_string_equal(out, "v=spf1 -all");
	/* An empty string is text of length 0; no string is malformed. */
	assert_int_equal(dns_txt_text((const unsigned char *)"", 1, out,
				      sizeof(out)), 0);
	assert_int_equal(dns_txt_text(spf, 0, out, sizeof(out)), -1);
	/* A length past the end; text too long for the buffer. */
	assert_int_equal(dns_txt_text(spf, 5, out, sizeof(out)), -1);
	assert_int_equal(dns_txt_text(spf, sizeof(spf) - 1, out, 11), -1);
	assert_int_equal(dns_ptr_name(ptr, sizeof(ptr), out, sizeof(out)), 0);
	assert_string_equal(out, "mail.example.test");
	assert_int_equal(dns_ptr_name(ptr, sizeof(ptr) + 1, out, sizeof(out)),
			 -1);
}

static void
test_wire_name(void **state)
{
	static const unsigned char mx[] = "\x00\x0a\x03mx1\x07""Example\x04test";
	static const unsigned char odd[] = "\x00\x01\x03""a.b\x00";
	static const unsigned char root[] = "\x00\x00\x00";
	char host[256];
	unsigned pref;

	(void)state;
	assert_int_equal(dns_wire_mx(mx, sizeof(mx), &pref, host,
				     sizeof(host)), 0);
	assert_int_equal(pref, 10);
	assert_string_equal(host, "mx1.example.test");
	assert_int_equal(dns_wire_mx(odd, sizeof(odd) - 1, &pref, host,
				     sizeof(host)), 0);
	assert_string_equal(host, "a\\046b");
	assert_int_equal(dns_wire_mx(root, 3, &pref, host, sizeof(host)), 0);
	assert_string_equal(host, "");
	/* Truncated, trailing bytes, a compression pointer, too small. */
	assert_int_equal(dns_wire_mx(mx, 8, &pref, host, sizeof(host)), -1);
	assert_int_equal(dns_wire_mx(root, sizeof(root), &pref, host,
				     sizeof(host)), -1);
	assert_int_equal(dns_wire_mx((const unsigned char *)"\0\1\xc0\x0c",
				     4, &pref, host, sizeof(host)), -1);
	assert_int_equal(dns_wire_mx(mx, sizeof(mx), &pref, host, 8), -1);
}

static void
test_name_ok(void **state)
{
	char big[300];

	(void)state;
	assert_true(dns_name_ok("mx1.example.test"));
	assert_true(dns_name_ok("_25._tcp.mx.test"));
	assert_false(dns_name_ok(""));
	assert_false(dns_name_ok("a..b"));
	assert_false(dns_name_ok(".a"));
	assert_false(dns_name_ok("a b"));
	memset(big, 'a', 64);
	big[64] = '\0';
	assert_false(dns_name_ok(big));
	for (int i = 0; i < 260; i++)
		big[i] = i % 2 ? '.' : 'a';
	big[260] = '\0';
	assert_false(dns_name_ok(big));
}

struct test_dns {
	struct event_base *base;
	struct dns *d;
	struct dns_query *other;   /* cancelled from a callback */
	struct dns_query *self;    /* cancelled from its own callback */
	int mx_calls, answer_calls, never;
	struct dns_mx_result mx;
};

static void
test_dns_setup(struct test_dns *t)
{
	static struct config cfg;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	/* Nothing listens there: no answer ever comes. */
	snprintf(cfg.resolvers[0], sizeof(cfg.resolvers[0]), "127.0.0.1@1");
	cfg.n_resolvers = 1;
	snprintf(cfg.dnssec_trust_anchor, sizeof(cfg.dnssec_trust_anchor),
		 "none");
	memset(t, 0, sizeof(*t));
	t->base = event_base_new();
	assert_non_null(t->base);
	t->d = dns_new(t->base, &cfg, err, sizeof(err));
	assert_non_null(t->d);
}

static void
test_dns_teardown(struct test_dns *t)
{
	dns_free(&t->d);
	assert_null(t->d);
	event_base_free(t->base);
}

static void
test_dns_run(struct test_dns *t)
{
	struct timeval tv = { TEST_DNS_LOOP_MAX_S, 0 };

	event_base_loopexit(t->base, &tv);
	(void)event_base_dispatch(t->base);
}

static void
test_never_cb(void *arg, const struct dns_mx_result *r)
{
	struct test_dns *t = arg;

	t->never++;
}

static void
test_never_answer_cb(void *arg, const struct dns_answer *a)
{
	struct test_dns *t = arg;

	t->never++;
}

static void
test_mx_cb(void *arg, const struct dns_mx_result *r)
{
	struct test_dns *t = arg;

	t->mx_calls++;
	t->mx = *r;
	event_base_loopbreak(t->base);
}

static void
test_deferred(void **state)
{
	struct test_dns t;
	char ip[64];

	(void)state;
	test_dns_setup(&t);
	assert_non_null(dns_host(t.d, "127.0.0.7", test_mx_cb, &t));
	assert_int_equal(t.mx_calls, 0);
	test_dns_run(&t);
	assert_int_equal(t.mx_calls, 1);
	assert_int_equal(t.mx.status, DNS_OK);
	assert_int_equal(t.mx.n_hosts, 1);
	assert_true(t.mx.implicit);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&t.mx.hosts[0].addrs[0])
		  ->sin_addr, ip, sizeof(ip));
	assert_string_equal(ip, "127.0.0.7");
	/* Not a domain name: answered later too, never at the call. */
	assert_non_null(dns_mx(t.d, "bad name!", test_mx_cb, &t));
	assert_int_equal(t.mx_calls, 1);
	test_dns_run(&t);
	assert_int_equal(t.mx_calls, 2);
	assert_int_equal(t.mx.status, DNS_NXDOMAIN);
	test_dns_teardown(&t);
}

/* Cancels another query and itself from inside its callback. */
static void
test_cancel_others_cb(void *arg, const struct dns_answer *a)
{
	struct test_dns *t = arg;

	t->answer_calls++;
	assert_int_equal(a->status, DNS_NXDOMAIN);
	dns_cancel(t->other);
	t->other = NULL;
	dns_cancel(t->self);
	event_base_loopbreak(t->base);
}

static void
test_cancel(void **state)
{
	struct test_dns t;
	struct dns_query *q;

	(void)state;
	test_dns_setup(&t);
	/* Cancelled at once. */
	q = dns_mx(t.d, "example.test", test_never_cb, &t);
	assert_non_null(q);
	dns_cancel(q);
	q = dns_host(t.d, "127.0.0.1", test_never_cb, &t);
	assert_non_null(q);
	dns_cancel(q);
	dns_cancel(NULL);
	/* One ends and cancels the other from its callback. It must end
	 * first: "invalid." is answered inside libunbound at once, while the
	 * other waits for a server that never answers (two queries to that
	 * server could end in either order). */
	t.self = dns_lookup(t.d, "a.invalid", 1, test_cancel_others_cb, &t);
	assert_non_null(t.self);
	t.other = dns_lookup(t.d, "b.example.test", 28, test_never_answer_cb,
			     &t);
	assert_non_null(t.other);
	test_dns_run(&t);
	assert_int_equal(t.answer_calls, 1);
	assert_int_equal(t.never, 0);
	/* In flight at dns_free: no callback. */
	assert_non_null(dns_mx(t.d, "c.example.test", test_never_cb, &t));
	assert_non_null(dns_lookup(t.d, "d.example.test", 16,
				   test_never_answer_cb, &t));
	test_dns_teardown(&t);
	assert_int_equal(t.never, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_name),
		cmocka_unit_test(test_txt_and_ptr),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_deferred),
		cmocka_unit_test(test_cancel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
