/*
 * Unit tests for the JSON reader (src/util/json.h): ACME replies as
 * RFC 8555 §7 shows them, escapes, refusals, limits; the base64url and
 * JWS helpers of the ACME client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>

#include "server/acme_int.h"
#include "util/json.h"

/* RFC 8555 §7.1.4, an authorization (shortened). */
static const char authz[] =
	"{\n  \"status\": \"pending\",\n  \"expires\": \"2016-01-02T14:09:30Z\",\n"
	"  \"identifier\": {\"type\": \"dns\", \"value\": \"www.example.org\"},\n"
	"  \"challenges\": [\n"
	"    {\"type\": \"http-01\", \"url\": \"https://x/chall/prV_B7yEyA4\",\n"
	"     \"token\": \"DGyRejmCefe7v4NfDGDKfA\"},\n"
	"    {\"type\": \"dns-01\", \"url\": \"https://x/chall/Rg5dV14Gh1Q\",\n"
	"     \"token\": \"DGyRejmCefe7v4NfDGDKfA\", \"n\": [1, 2.5e3, true,"
	" null, {}]}\n  ],\n  \"wildcard\": false\n}";

static void
test_authz(void **state)
{
	struct json_tok t[64];
	char buf[64];
	int n = json_parse(authz, strlen(authz), t, 64), chs, c;

	(void)state;
	assert_true(n > 10);
	assert_int_equal(json_get_str(authz, t, 0, "status", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "pending");
	assert_int_equal(json_get_str(authz, t, json_get(authz, t, 0,
							 "identifier"),
				      "value", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "www.example.org");
	chs = json_get(authz, t, 0, "challenges");
	assert_int_equal(t[chs].type, JSON_ARRAY);
	assert_int_equal(t[chs].size, 2);
	c = json_elem(t, chs, 1);
	assert_int_equal(json_get_str(authz, t, c, "type", buf, sizeof(buf)),
			 0);
	assert_string_equal(buf, "dns-01");
	assert_int_equal(json_elem(t, chs, 2), -1);
	/* The member after a nested array is still found. */
	c = json_get(authz, t, 0, "wildcard");
	assert_int_equal(t[c].type, JSON_PRIMITIVE);
	assert_int_equal(json_get(authz, t, 0, "missing"), -1);
	/* Not a string. */
	assert_int_equal(json_get_str(authz, t, 0, "wildcard", buf,
				      sizeof(buf)), -1);
}

static void
test_escapes(void **state)
{
	static const char s[] =
		"{\"a\":\"x\\\"y\\\\z\\/\\n\\u00e9\\ud83d\\ude00\"}";
	struct json_tok t[8];
	char buf[32];

	(void)state;
	assert_int_equal(json_parse(s, strlen(s), t, 8), 3);
	assert_int_equal(json_get_str(s, t, 0, "a", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "x\"y\\z/\n\xc3\xa9\xf0\x9f\x98\x80");
	/* Too small for the whole value: refused, not cut. */
	assert_int_equal(json_get_str(s, t, 0, "a", buf, 5), -1);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]",
		"\"abc", "\"a\\x\"", "\"a\\u12\"", "{} x", "{\"a\":1 \"b\":2}",
		"\"\x01\"", "{1:2}",
	};
	struct json_tok t[16];
	char deep[JSON_DEPTH_MAX * 2 + 4];
	char buf[8];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(json_parse(bad[i], strlen(bad[i]), t, 16), -1);
	/* Token limit. */
	assert_int_equal(json_parse("[1,2,3]", 7, t, 3), -1);
	assert_int_equal(json_parse("[1,2,3]", 7, t, 4), 4);
	/* Depth limit. */
	memset(deep, '[', JSON_DEPTH_MAX + 1);
	memset(deep + JSON_DEPTH_MAX + 1, ']', JSON_DEPTH_MAX + 1);
	assert_int_equal(json_parse(deep, 2 * (JSON_DEPTH_MAX + 1), t, 16),
			 -1);
	/* A lone low surrogate and an escaped NUL are refused on reading. */
	assert_int_equal(json_parse("\"\\udc00\"", 8, t, 16), 1);
	assert_int_equal(json_str("\"\\udc00\"", t, 0, buf, sizeof(buf)), -1);
	assert_int_equal(json_parse("\"\\u0000\"", 8, t, 16), 1);
	assert_int_equal(json_str("\"\\u0000\"", t, 0, buf, sizeof(buf)), -1);
}

static void
test_quote(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(json_quote("a\"b\\c\n", out, sizeof(out)), 0);
	assert_string_equal(out, "\"a\\\"b\\\\c\\u000a\"");
	assert_int_equal(json_quote("abcdef", out, 8), -1);
	assert_int_equal(json_quote("abcde", out, 8), 0);
}

static void
test_b64url(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(acme_b64url("\xfb\xff", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "-_8");
	assert_int_equal(acme_b64url("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(acme_b64url("abcdefghijkl", 12, out, 16), -1);
}

/* A JWS made by acme_jws verifies with the key and carries the fields
 * RFC 8555 §6.2 asks for. */
/* base64url → bytes (test helper). */
static size_t
b64url_dec(const char *in, unsigned char *out, size_t cap)
{
	char buf[2048];
	size_t n = strlen(in), o = 0;

	for (size_t i = 0; i < n; i++)
		buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	while (n % 4)
		buf[n++] = '=';
	buf[n] = '\0';
	o = (size_t)EVP_DecodeBlock(out, (unsigned char *)buf, (int)n);
	while (n > 0 && buf[--n] == '=')
		o--;
	assert_true(o <= cap);
	return o;
}

/* The JWS signature over protected.payload verifies with key (ES256's
 * r||s turned back into DER for OpenSSL). */
static void
jws_verify(EVP_PKEY *key, const char *jws, bool ec)
{
	struct json_tok t[16];
	char prot[2048], pay[512], sig64[1024], input[4096];
	unsigned char sig[600], der[128];
	size_t slen;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const unsigned char *sp = sig;

	assert_int_equal(json_parse(jws, strlen(jws), t, 16), 7);
	assert_int_equal(json_get_str(jws, t, 0, "protected", prot,
				      sizeof(prot)), 0);
	assert_int_equal(json_get_str(jws, t, 0, "payload", pay, sizeof(pay)),
			 0);
	assert_int_equal(json_get_str(jws, t, 0, "signature", sig64,
				      sizeof(sig64)), 0);
	snprintf(input, sizeof(input), "%s.%s", prot, pay);
	slen = b64url_dec(sig64, sig, sizeof(sig));
	if (ec) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *dp = der;

		assert_int_equal(slen, 64);
		ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
			       BN_bin2bn(sig + 32, 32, NULL));
		slen = (size_t)i2d_ECDSA_SIG(es, &dp);
		ECDSA_SIG_free(es);
		sp = der;
	}
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
					      key), 1);
	assert_int_equal(EVP_DigestVerify(md, sp, slen,
					  (const unsigned char *)input,
					  strlen(input)), 1);
	EVP_MD_CTX_free(md);
}

static void
test_jws_rsa(void **state)
{
	static const char head[] = "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"";
	EVP_PKEY *key = EVP_RSA_gen(2048);
	char jwk[1600], *jws;
	unsigned char hdr[1024];
	struct json_tok t[16];
	char prot[1400];
	size_t n;

	(void)state;
	assert_non_null(key);
	assert_int_equal(acme_jwk(key, jwk, sizeof(jwk)), 0);
	/* RFC 7638 §3.2: e, kty, n in that order. */
	assert_int_equal(strncmp(jwk, head, sizeof(head) - 1), 0);
	jws = acme_jws(key, NULL, "n1", "https://ca/new-acct", "{}");
	assert_non_null(jws);
	jws_verify(key, jws, false);
	assert_int_equal(json_parse(jws, strlen(jws), t, 16), 7);
	assert_int_equal(json_get_str(jws, t, 0, "protected", prot,
				      sizeof(prot)), 0);
	n = b64url_dec(prot, hdr, sizeof(hdr) - 1);
	hdr[n] = '\0';
	assert_non_null(strstr((char *)hdr, "\"alg\":\"RS256\""));
	assert_non_null(strstr((char *)hdr, jwk));
	free(jws);
	EVP_PKEY_free(key);
}

static void
test_jws(void **state)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char *jws, thumb[64], hdr[600];
	struct json_tok t[16];
	char prot[800];

	(void)state;
	assert_non_null(key);
	assert_int_equal(acme_thumbprint(key, thumb, sizeof(thumb)), 0);
	assert_int_equal(strlen(thumb), 43);
	jws = acme_jws(key, NULL, "nonce1", "https://ca/new-acct", "{}");
	assert_non_null(jws);
	assert_int_equal(json_parse(jws, strlen(jws), t, 16), 7);
	assert_int_equal(json_get_str(jws, t, 0, "protected", prot,
				      sizeof(prot)), 0);
	/* base64url of {"alg":"ES256","nonce":"nonce1",... */
	assert_int_equal(strncmp(prot, "eyJhbGciOiJFUzI1NiIsIm5vbmNlIjoibm9uY2Ux",
				 40), 0);
	assert_int_equal(json_get_str(jws, t, 0, "payload", hdr, sizeof(hdr)),
			 0);
	assert_string_equal(hdr, "e30");
	jws_verify(key, jws, true);
	free(jws);
	jws = acme_jws(key, "https://ca/acct/1", "n2", "https://ca/x", "");
	assert_non_null(jws);
	assert_int_equal(json_parse(jws, strlen(jws), t, 16), 7);
	assert_int_equal(json_get_str(jws, t, 0, "payload", hdr, sizeof(hdr)),
			 0);
	assert_string_equal(hdr, "");
	jws_verify(key, jws, true);
	free(jws);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authz),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_jws),
		cmocka_unit_test(test_jws_rsa),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
