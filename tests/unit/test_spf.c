/*
 * SPF record syntax and macro expansion (src/mailauth/spf_parse.c), with
 * the examples of RFC 7208 §7.4, and the Authentication-Results writer
 * and reader (src/mailauth/authres.c).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mailauth/authres.h"
#include "mailauth/spf_parse.h"
#include "util/buf.h"

static void
ctx(struct spf_macro_ctx *m, const char *ip)
{
	memset(m, 0, sizeof(*m));
	m->sender = "strong-bad@email.example.com";
	m->local = "strong-bad";
	m->sender_domain = "email.example.com";
	m->domain = "email.example.com";
	m->helo = "mx.example.org";
	m->receiver = "mx.test";
	if (inet_pton(AF_INET, ip, m->ip) == 1) {
		m->family = AF_INET;
	} else {
		m->family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, m->ip), 1);
	}
}

static void
expands(const char *in, const char *ip, const char *want)
{
	struct spf_macro_ctx m;
	char out[1024];
	const char *err = NULL;

	ctx(&m, ip);
	assert_int_equal(spf_macro_expand(in, strlen(in), true, &m, out,
					  sizeof(out), &err), 0);
	assert_string_equal(out, want);
}

/* RFC 7208 §7.4 */
static void
test_rfc7208_examples(void **state)
{
	(void)state;
	expands("%{s}", "192.0.2.3", "strong-bad@email.example.com");
	expands("%{o}", "192.0.2.3", "email.example.com");
	expands("%{d}", "192.0.2.3", "email.example.com");
	expands("%{d4}", "192.0.2.3", "email.example.com");
	expands("%{d3}", "192.0.2.3", "email.example.com");
	expands("%{d2}", "192.0.2.3", "example.com");
	expands("%{d1}", "192.0.2.3", "com");
	expands("%{dr}", "192.0.2.3", "com.example.email");
	expands("%{d2r}", "192.0.2.3", "example.email");
	expands("%{l}", "192.0.2.3", "strong-bad");
	expands("%{l-}", "192.0.2.3", "strong.bad");
	expands("%{lr}", "192.0.2.3", "strong-bad");
	expands("%{lr-}", "192.0.2.3", "bad.strong");
	expands("%{l1r-}", "192.0.2.3", "strong");
	expands("%{ir}.%{v}._spf.%{d2}", "192.0.2.3",
		"3.2.0.192.in-addr._spf.example.com");
	expands("%{lr-}.lp._spf.%{d2}", "192.0.2.3",
		"bad.strong.lp._spf.example.com");
	expands("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01",
		"1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
		".ip6._spf.example.com");
	expands("%{c} %%%_%-%{p}", "2001:db8::cb01",
		"2001:db8::cb01 % %20unknown");
	expands("%{S}", "192.0.2.3", "strong-bad%40email.example.com");
}

static void
test_macro_errors(void **state)
{
	struct spf_macro_ctx m;
	char out[64];
	const char *err;
	static const char *const bad[] = {
		"%", "%{", "%{x}", "%{d0}", "%{d", "%a", "a b",
	};

	(void)state;
	ctx(&m, "192.0.2.3");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(spf_macro_expand(bad[i], strlen(bad[i]),
						  false, &m, out, sizeof(out),
						  &err), -1);
	/* c, r, t only in explanations */
	assert_int_equal(spf_macro_check("%{c}", 4, false, &err), -1);
	assert_int_equal(spf_macro_check("%{c}", 4, true, &err), 0);
	/* too long for the buffer: an error, never a cut */
	assert_int_equal(spf_macro_expand("%{s}%{s}%{s}", 12, false, &m, out,
					  sizeof(out), &err), -1);
}

static int
check(const char *rec, struct spf_record_info *info)
{
	const char *err;

	return spf_record_check(rec, strlen(rec), info, &err);
}

static void
test_records(void **state)
{
	struct spf_record_info info;
	struct spf_term t;
	const char *err;
	const char *rec = "v=spf1 -a:mail.example.com/24//64 ip4:192.0.2.0/24 "
			  "mx ~all redirect=_spf.example.com x-foo=%{d}";
	size_t pos = 0;

	(void)state;
	assert_int_equal(check(rec, &info), 0);
	assert_int_equal(info.n_terms, 6);
	assert_true(info.has_all);
	assert_non_null(info.redirect);
	assert_int_equal(spf_term_next(rec, strlen(rec), &pos, &t, &err), 1);
	assert_int_equal(t.mech, SPF_MECH_A);
	assert_int_equal(t.qual, '-');
	assert_int_equal(t.cidr4, 24);
	assert_int_equal(t.cidr6, 64);
	assert_int_equal(t.spec_len, strlen("mail.example.com"));
	assert_true(spf_is_record("v=spf1", 6));
	assert_false(spf_is_record("v=spf10", 7));
	assert_int_equal(check("v=spf1 a/33", &info), -1);
	assert_int_equal(check("v=spf1 a:foo.123", &info), -1);
	assert_int_equal(check("v=spf1 ip4:1.2.3.04", &info), -1);
	assert_int_equal(check("v=spf1 exp=a.test exp=b.test", &info), -1);
	assert_int_equal(check("v=spf1 foo:bar", &info), -1);
	assert_int_equal(check("v=spf1 a\tmx", &info), -1);
	assert_int_equal(check("v=spf1 include", &info), -1);
	assert_int_equal(check("v=spf1 a:%{d}", &info), 0);
	assert_int_equal(check("v=spf1 ip6:::1/128 -all ", &info), 0);
}

static void
test_domains(void **state)
{
	char d[600];

	(void)state;
	assert_true(spf_domain_ok("example.com."));
	assert_false(spf_domain_ok("localhost"));
	assert_false(spf_domain_ok("a..example.com"));
	memset(d, 'a', 64);
	strcpy(d + 64, ".example.com");
	assert_false(spf_domain_ok(d));
	for (int i = 0; i < 100; i++)
		memcpy(d + i * 5, "abcd.", 5);
	strcpy(d + 500, "example.com");
	spf_domain_trim(d);
	assert_true(strlen(d) <= 253);
	assert_true(spf_domain_ok(d));
}

static void
test_authres(void **state)
{
	struct buf b;
	struct authres_item it[2] = {
		{ "spf", "pass", NULL, { { "smtp.mailfrom",
					     "a@example.org" } } },
		{ "spf", "none", NULL, { { "smtp.helo", "odd name" } } },
	};

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(authres_header(&b, "mx.test", it, 2), 0);
	assert_int_equal(b.len, strlen("Authentication-Results: mx.test;\r\n"
				       "\tspf=pass smtp.mailfrom=a@example.org;"
				       "\r\n\tspf=none smtp.helo=\"odd name\""
				       "\r\n"));
	assert_memory_equal(b.data, "Authentication-Results: mx.test;\r\n"
			    "\tspf=pass smtp.mailfrom=a@example.org;\r\n\t"
			    "spf=none smtp.helo=\"odd name\"\r\n", b.len);
	assert_int_equal(authres_is_ours((const char *)b.data, b.len,
					 "MX.test"), 1);
	buf_reset(&b);
	assert_int_equal(authres_header(&b, "mx.test", NULL, 0), 0);
	assert_memory_equal(b.data, "Authentication-Results: mx.test; none\r\n",
			    b.len);
	buf_fini(&b);
	assert_int_equal(authres_is_ours("Authentication-Results: other.test;"
					 " spf=pass", 44, "mx.test"), 0);
	assert_int_equal(authres_is_ours("Authentication-Results-X: mx.test",
					 33, "mx.test"), 0);
	assert_int_equal(authres_is_ours("Authentication-Results : (x(y)) "
					 "\"mx.test\"; none", 46, "mx.test"),
			 1);
	assert_int_equal(authres_is_ours("Authentication-Results: (open", 29,
					 "mx.test"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7208_examples),
		cmocka_unit_test(test_macro_errors),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_authres),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
