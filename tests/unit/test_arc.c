/*
 * Unit tests for ARC (src/mailauth/arc.h) and SRS (src/mailauth/srs.h):
 * the AAR instance, ARC-Seal / ARC-Message-Signature tag rules, the chain's
 * structure, a seal / verify round trip over two instances (tampering
 * fails it), and SRS0/SRS1 forward and reverse with the day window.
 * Interop with dkimpy is tests/e2e/test_arc.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "mailauth/arc.h"
#include "mailauth/dkim.h"
#include "mailauth/srs.h"
#include "util/base64.h"
#include "util/buf.h"

#include "dkim_fx.h"

static void
test_aar_instance(void **state)
{
	const char *ok[] = { "i=1; mx.example; spf=pass", " i = 50 ;x",
			     "\r\n\ti=7;" };
	const unsigned want[] = { 1, 50, 7 };
	const char *bad[] = { "i=0; x", "i=51; x", "i=1 x", "x=1; y", "i=;",
			      "", "i=1", "i=9999999999;" };

	for (size_t i = 0; i < 3; i++)
		assert_int_equal(arc_aar_instance(ok[i], strlen(ok[i])),
				 want[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(arc_aar_instance(bad[i], strlen(bad[i])), 0);
}

static void
test_sig_kinds(void **state)
{
	struct dkim_sig s;
	const char *why = NULL;
	const char *as = "i=2; a=rsa-sha256; cv=pass; d=ex.org; s=sel; "
			 "t=1; b=AAAA";
	const char *ams = "i=3; a=rsa-sha256; c=relaxed/relaxed; d=ex.org; "
			  "s=sel; h=from:to; bh=AAAA; b=AAAA";

	assert_int_equal(dkim_sig_parse_kind(as, strlen(as), DKIM_SIG_AS, &s,
					     &why), 0);
	assert_int_equal(s.instance, 2);
	assert_int_equal(s.cv, DKIM_CV_PASS);
	assert_string_equal(s.i, "@ex.org");
	assert_int_equal(dkim_sig_parse_kind(ams, strlen(ams), DKIM_SIG_AMS,
					     &s, &why), 0);
	assert_int_equal(s.instance, 3);
	assert_int_equal(s.n_h, 2);
	/* An AMS is no DKIM signature (no v=), and the reverse. */
	assert_int_equal(dkim_sig_parse(ams, strlen(ams), &s, &why), -1);
	{
		const char *bad_as[] = {
			"i=1; a=rsa-sha256; d=ex.org; s=sel; b=AAAA",
			"i=1; a=rsa-sha256; cv=maybe; d=ex.org; s=sel; b=AAAA",
			"i=0; a=rsa-sha256; cv=none; d=ex.org; s=sel; b=AAAA",
			"i=51; a=rsa-sha256; cv=none; d=ex.org; s=sel; b=AAAA",
			"i=1; a=rsa-sha256; cv=none; d=ex.org; s=sel; b=AAAA; "
			"h=from",
		};
		for (size_t i = 0; i < 5; i++)
			assert_int_equal(dkim_sig_parse_kind(bad_as[i],
				strlen(bad_as[i]), DKIM_SIG_AS, &s, &why), -1);
	}
	{
		const char *no_i = "a=rsa-sha256; d=ex.org; s=sel; h=from; "
				   "bh=AAAA; b=AAAA";
		assert_int_equal(dkim_sig_parse_kind(no_i, strlen(no_i),
				 DKIM_SIG_AMS, &s, &why), -1);
	}
}

static int
chain_of(const char *hdr, unsigned *n)
{
	struct dkim_field f[16];
	struct arc_set sets[DKIM_ARC_MAX + 1];
	size_t nf, off;
	const char *why;

	assert_int_equal(dkim_header_split(hdr, strlen(hdr), f, 16, &nf, &off),
			 0);
	return arc_chain_find(f, nf, sets, n, &why);
}

static void
test_chain_structure(void **state)
{
	unsigned n = 9;

	assert_int_equal(chain_of("From: a@b\r\n\r\n", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(chain_of("ARC-Seal: i=1; x=y\r\n"
				  "ARC-Message-Signature: i=1; x=y\r\n"
				  "ARC-Authentication-Results: i=1; id; none\r\n"
				  "arc-seal: i=2\r\nARC-Message-Signature: i=2\r\n"
				  "ARC-Authentication-Results: i=2; id\r\n\r\n",
				  &n), 1);
	assert_int_equal(n, 2);
	/* a gap, a field twice, an unreadable instance, an incomplete set */
	assert_int_equal(chain_of("ARC-Seal: i=2\r\nARC-Message-Signature: "
				  "i=2\r\nARC-Authentication-Results: i=2; id"
				  "\r\n\r\n", &n), -1);
	assert_int_equal(chain_of("ARC-Seal: i=1\r\nARC-Seal: i=1\r\n"
				  "ARC-Message-Signature: i=1\r\n"
				  "ARC-Authentication-Results: i=1; id\r\n\r\n",
				  &n), -1);
	assert_int_equal(chain_of("ARC-Seal: i=x\r\n\r\n", &n), -1);
	assert_int_equal(chain_of("ARC-Seal: i=1\r\n\r\n", &n), -1);
}

static const char msg_text[] =
	"From: Alice <alice@example.org>\r\nTo: list@example.net\r\n"
	"Subject: arc\r\nDate: Mon, 07 Dec 2026 06:00:00 +0000\r\n\r\n"
	"body  line\r\n\r\n";
static const char ar_text[] =
	"Authentication-Results: mx.example.net;\r\n\tspf=pass "
	"smtp.mailfrom=alice@example.org\r\n";

/* Verifies m with rec as every key: the result's status. */
static enum arc_status
verify(const struct buf *m, const char *rec, unsigned *oldest)
{
	const char *p = (const char *)m->data;
	const char *body = strstr(p, "\r\n\r\n") + 4;
	struct arc_verify *v = arc_verify_new(p, (size_t)(body - p),
					      time(NULL));
	enum arc_status st;

	assert_non_null(v);
	if (arc_verify_wants_body(v))
		for (const char *q = body; q < p + m->len; q++)
			arc_verify_body(v, q, 1); /* in the smallest pieces */
	arc_verify_body_end(v);
	for (size_t k = 0; k < arc_verify_key_count(v); k++) {
		assert_string_equal(arc_verify_keyname(v, k),
				    "arc._domainkey.example.net");
		arc_verify_key(v, k, true, false, rec, strlen(rec));
	}
	st = arc_verify_finish(v)->status;
	*oldest = arc_verify_finish(v)->oldest_pass;
	arc_verify_free(&v);
	return st;
}

/* seals m (in place) as instance n with cv. */
static void
seal(struct buf *m, EVP_PKEY *key, enum arc_status cv, unsigned n)
{
	struct dkim_signer s = { DKIM_ALG_RSA_SHA256, "example.net", "arc",
				 key, 0, NULL };
	struct buf out;
	const char *why = NULL;
	char want[32];

	buf_init(&out, 1 << 20);
	assert_int_equal(arc_seal(&s, (const char *)m->data, m->len, cv,
				  ar_text, strlen(ar_text), time(NULL), &out,
				  &why), 1);
	snprintf(want, sizeof(want), "ARC-Seal: i=%u;", n);
	assert_memory_equal(out.data, want, strlen(want));
	buf_append(&out, m->data, m->len);
	buf_reset(m);
	buf_append(m, out.data, out.len);
	buf_fini(&out);
}

static void
test_seal_verify(void **state)
{
	EVP_PKEY *key = keygen(EVP_PKEY_RSA);
	char rec[1024];
	struct buf m;
	unsigned oldest = 0;

	record_of(key, rec, sizeof(rec));
	buf_init(&m, 1 << 20);
	buf_append(&m, msg_text, strlen(msg_text));
	assert_int_equal(verify(&m, rec, &oldest), ARC_NONE);
	seal(&m, key, ARC_NONE, 1);
	assert_non_null(strstr((char *)m.data, "cv=none"));
	assert_int_equal(verify(&m, rec, &oldest), ARC_PASS);
	assert_int_equal(oldest, 1);
	seal(&m, key, ARC_PASS, 2);
	assert_int_equal(verify(&m, rec, &oldest), ARC_PASS);
	assert_int_equal(oldest, 1);
	{
		/* The body changed: the latest AMS fails. */
		struct buf c;
		buf_init(&c, 1 << 20);
		buf_append(&c, m.data, m.len);
		memcpy(strstr((char *)c.data, "body"), "BODY", 4);
		assert_int_equal(verify(&c, rec, &oldest), ARC_FAIL);
		/* An older set's AAR changed: its seal fails. */
		buf_reset(&c);
		buf_append(&c, m.data, m.len);
		memcpy(strstr((char *)c.data, "i=1; mx.example.net;") + 5,
		       "MX", 2);
		assert_int_equal(verify(&c, rec, &oldest), ARC_FAIL);
		buf_fini(&c);
	}
	/* The wrong key: fail. */
	{
		EVP_PKEY *other = keygen(EVP_PKEY_RSA);
		char rec2[1024];
		record_of(other, rec2, sizeof(rec2));
		assert_int_equal(verify(&m, rec2, &oldest), ARC_FAIL);
		EVP_PKEY_free(other);
	}
	buf_fini(&m);
	EVP_PKEY_free(key);
}

static const uint8_t secret[SRS_SECRET_LEN] = "0123456789abcdef0123456789abcde";

static void
test_srs_round_trip(void **state)
{
	time_t now = 1796665179;
	char fwd[512], fwd2[512], back[512];
	const char *why = NULL;

	assert_false(srs_is_srs("alice"));
	assert_true(srs_is_srs("srs0+x"));
	assert_int_equal(srs_forward(secret, "alice@orig.test", "fwd.test",
				     now, fwd, sizeof(fwd)), 0);
	assert_memory_equal(fwd, "SRS0=", 5);
	assert_non_null(strstr(fwd, "=orig.test=alice@fwd.test"));
	assert_int_equal(srs_reverse(secret, fwd, now, back, sizeof(back),
				     &why), 1);
	assert_string_equal(back, "alice@orig.test");
	/* Case changed by a hop: still valid. */
	memcpy(fwd2, fwd, sizeof(fwd2));
	for (char *p = fwd2; *p != '@'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	assert_int_equal(srs_reverse(secret, fwd2, now, back, sizeof(back),
				     &why), 1);
	assert_string_equal(back, "alice@orig.test");
	/* The window: 21 days yes, 22 no. */
	assert_int_equal(srs_reverse(secret, fwd, now + 21 * 86400, back,
				     sizeof(back), &why), 1);
	assert_int_equal(srs_reverse(secret, fwd, now + 22 * 86400, back,
				     sizeof(back), &why), -1);
	assert_string_equal(why, "SRS address expired");
	/* Another secret: the hash does not match. */
	{
		uint8_t other[SRS_SECRET_LEN] = { 1 };
		assert_int_equal(srs_reverse(other, fwd, now, back,
					     sizeof(back), &why), -1);
		assert_string_equal(why, "SRS hash does not match");
	}
	/* Forwarded again: SRS1 keeps the first forwarder; reversed to the
	 * SRS0 address, which reverses to the sender. */
	assert_int_equal(srs_forward(secret, fwd, "second.test", now, fwd2,
				     sizeof(fwd2)), 0);
	assert_memory_equal(fwd2, "SRS1=", 5);
	assert_non_null(strstr(fwd2, "=fwd.test=="));
	assert_int_equal(srs_reverse(secret, fwd2, now, back, sizeof(back),
				     &why), 1);
	assert_string_equal(back, fwd);
	/* SRS1 of an SRS1: the first forwarder is still fwd.test. */
	assert_int_equal(srs_forward(secret, fwd2, "third.test", now, back,
				     sizeof(back)), 0);
	assert_non_null(strstr(back, "=fwd.test=="));
	assert_non_null(strstr(back, "@third.test"));
	/* Broken forms, and no SRS at all. */
	assert_int_equal(srs_reverse(secret, "SRS0=abc@fwd.test", now, back,
				     sizeof(back), &why), -1);
	assert_int_equal(srs_reverse(secret, "SRS1=abc=x@fwd.test", now,
				     back, sizeof(back), &why), -1);
	assert_int_equal(srs_reverse(secret, "bob@fwd.test", now, back,
				     sizeof(back), &why), 0);
	/* Too long for the caller's room. */
	assert_int_equal(srs_forward(secret, "alice@orig.test", "fwd.test",
				     now, fwd, 20), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aar_instance),
		cmocka_unit_test(test_sig_kinds),
		cmocka_unit_test(test_chain_structure),
		cmocka_unit_test(test_seal_verify),
		cmocka_unit_test(test_srs_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
