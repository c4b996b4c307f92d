/*
 * Unit tests for the ACME challenge table and the ClientHello extension
 * readers (src/core/challenge.h): ALPN lists (RFC 7301 §3.1) and
 * server_name lists (RFC 6066 §3), well-formed and broken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "core/challenge.h"

static void
test_alpn(void **state)
{
	static const unsigned char h2_acme[] =
		"\x00\x0e\x02h2\x0a" "acme-tls/1";
	static const unsigned char h2[] = "\x00\x03\x02h2";
	static const unsigned char bad_len[] = "\x00\x0f\x02h2\x0a" "acme-tls/1";
	static const unsigned char overrun[] = "\x00\x03\x05h2";
	static const unsigned char zero[] = "\x00\x01\x00";

	(void)state;
	assert_true(challenge_alpn_acme(h2_acme, sizeof(h2_acme) - 1));
	assert_false(challenge_alpn_acme(h2, sizeof(h2) - 1));
	assert_false(challenge_alpn_acme(bad_len, sizeof(bad_len) - 1));
	assert_false(challenge_alpn_acme(overrun, sizeof(overrun) - 1));
	assert_false(challenge_alpn_acme(zero, sizeof(zero) - 1));
	assert_false(challenge_alpn_acme(h2, 1));
	assert_false(challenge_alpn_acme(NULL, 0));
}

static void
test_sni(void **state)
{
	static const unsigned char one[] = "\x00\x0c\x00\x00\x09mail.test";
	static const unsigned char other_first[] =
		"\x00\x10\x01\x00\x01x\x00\x00\x09mail.test";
	static const unsigned char overrun[] = "\x00\x0c\x00\x00\x20mail.test";
	static const unsigned char empty[] = "\x00\x03\x00\x00\x00";
	const char *name = NULL;
	size_t n = 0;

	(void)state;
	assert_true(challenge_sni_name(one, sizeof(one) - 1, &name, &n));
	assert_int_equal(n, 9);
	assert_memory_equal(name, "mail.test", 9);
	assert_true(challenge_sni_name(other_first, sizeof(other_first) - 1,
				       &name, &n));
	assert_memory_equal(name, "mail.test", 9);
	assert_false(challenge_sni_name(overrun, sizeof(overrun) - 1, &name,
					&n));
	assert_false(challenge_sni_name(empty, sizeof(empty) - 1, &name, &n));
	assert_false(challenge_sni_name(one, 5, &name, &n));
}

static void
test_tokens(void **state)
{
	struct challenges *c = challenges_new();
	char out[CHALLENGE_KEYAUTH_MAX + 1];

	(void)state;
	assert_non_null(c);
	assert_int_equal(challenges_set(c, "tok_1-A", "tok_1-A.thumb"), 0);
	assert_true(challenges_get(c, "tok_1-Axyz", 7, out, sizeof(out)));
	assert_string_equal(out, "tok_1-A.thumb");
	assert_false(challenges_get(c, "tok_1", 5, out, sizeof(out)));
	assert_false(challenges_get(c, "../etc", 6, out, sizeof(out)));
	assert_int_equal(challenges_set(c, "bad/token", "x"), -1);
	challenges_del(c, "tok_1-A");
	assert_false(challenges_get(c, "tok_1-A", 7, out, sizeof(out)));
	assert_false(challenges_get(NULL, "tok_1-A", 7, out, sizeof(out)));
	challenges_free(&c);
	assert_null(c);
}

static void
test_alpn_table(void **state)
{
	struct challenges *c = challenges_new();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method()), *got;

	(void)state;
	assert_non_null(ctx);
	assert_null(challenges_get_alpn(c, "mail.test", 9));
	assert_int_equal(challenges_set_alpn(c, "mail.test", ctx), 0);
	/* Names compare without regard to case. */
	got = challenges_get_alpn(c, "MAIL.test", 9);
	assert_ptr_equal(got, ctx);
	SSL_CTX_free(got);
	assert_null(challenges_get_alpn(c, "mail.tes", 8));
	challenges_del_alpn(c, "mail.test");
	assert_null(challenges_get_alpn(c, "mail.test", 9));
	/* Published and never withdrawn: freed with the table. */
	assert_int_equal(challenges_set_alpn(c, "a.test", ctx), 0);
	SSL_CTX_free(ctx);
	challenges_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alpn),
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_alpn_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
