/*
 * Unit tests for DKIM (src/mailauth/dkim.h): RFC 6376 §3.4.5's
 * canonicalisation example, the empty-body hashes, the streaming body
 * hasher fed in pieces, l=, tag-list and key-record syntax, and a sign /
 * verify round trip with both algorithms (keys made here, records built
 * the way `postel dns` prints them).
 */
#include <pthread.h>
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

#include "mailauth/dkim.h"
#include "mailauth/dkim_int.h"
#include "util/base64.h"
#include "util/buf.h"

#include "dkim_fx.h"

static void
canon_header_is(enum dkim_canon c, const char *in, const char *want)
{
	struct buf out;

	buf_init(&out, 4096);
	assert_int_equal(dkim_canon_header(c, in, strlen(in), true, &out), 0);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.data, want, out.len);
	buf_fini(&out);
}

/* The canonical body's SHA-256 in base64, body fed in steps of `step`. */
static void
body_hash(enum dkim_canon c, const char *body, size_t step, uint64_t limit,
	  char *b64, uint64_t *total)
{
	struct dkim_body *b = dkim_body_new(c, "sha256", limit);
	uint8_t h[64];
	size_t n = strlen(body);

	assert_non_null(b);
	for (size_t i = 0; i < n; i += step)
		dkim_body_update(b, body + i, n - i < step ? n - i : step);
	assert_int_equal(dkim_body_final(b, h, total), 32);
	base64_encode(h, 32, b64);
	dkim_body_free(&b);
}

static void
test_rfc6376_example(void **state)
{
	const char *body = " C \r\nD \t E\r\n\r\n\r\n";
	char a[64], b[64];
	uint64_t total;

	canon_header_is(DKIM_CANON_RELAXED, "A: X\r\n", "a:X\r\n");
	canon_header_is(DKIM_CANON_RELAXED, "B : Y\t\r\n\tZ  \r\n",
			"b:Y Z\r\n");
	canon_header_is(DKIM_CANON_SIMPLE, "B : Y\t\r\n\tZ  \r\n",
			"B : Y\t\r\n\tZ  \r\n");
	/* relaxed: " C\r\nD E\r\n"; simple: " C \r\nD \t E\r\n" */
	for (size_t step = 1; step <= 4; step++) {
		struct dkim_body *x = dkim_body_new(DKIM_CANON_RELAXED,
						    "sha256", UINT64_MAX);
		uint8_t h1[64], h2[64];
		unsigned hl;

		dkim_body_update(x, body, strlen(body));
		assert_int_equal(dkim_body_final(x, h1, &total), 32);
		assert_int_equal(total, strlen(" C\r\nD E\r\n"));
		dkim_body_free(&x);
		EVP_Digest(" C\r\nD E\r\n", 9, h2, &hl, EVP_sha256(), NULL);
		assert_memory_equal(h1, h2, 32);
		body_hash(DKIM_CANON_SIMPLE, body, step, UINT64_MAX, a, &total);
		assert_int_equal(total, strlen(" C \r\nD \t E\r\n"));
		body_hash(DKIM_CANON_SIMPLE, " C \r\nD \t E\r\n", 1,
			  UINT64_MAX, b, &total);
		assert_string_equal(a, b);
	}
}

static void
test_empty_bodies(void **state)
{
	char h[64];
	uint64_t total;

	/* RFC 6376 §3.4.3/§3.4.4: simple makes CRLF, relaxed nothing. */
	body_hash(DKIM_CANON_SIMPLE, "", 1, UINT64_MAX, h, &total);
	assert_string_equal(h, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	body_hash(DKIM_CANON_SIMPLE, "\r\n\r\n", 1, UINT64_MAX, h, &total);
	assert_string_equal(h, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	body_hash(DKIM_CANON_RELAXED, " \r\n\t\r\n", 1, UINT64_MAX, h, &total);
	assert_string_equal(h, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	/* A last line without CRLF gets one; a bare LF counts as CRLF. */
	body_hash(DKIM_CANON_SIMPLE, "a\nb", 1, UINT64_MAX, h, &total);
	assert_int_equal(total, 6);
}

static void
test_length_limit(void **state)
{
	char a[64], b[64];
	uint64_t total;

	body_hash(DKIM_CANON_SIMPLE, "hello\r\nappended\r\n", 3, 7, a, &total);
	assert_int_equal(total, 17);
	body_hash(DKIM_CANON_SIMPLE, "hello\r\n", 1, UINT64_MAX, b, &total);
	assert_string_equal(a, b);
}

static void
test_tags(void **state)
{
	struct dkim_tag t[DKIM_TAGS_MAX];
	const char *why = NULL;
	size_t n;
	const char *ok = " a = 1 ;b=\r\n two words ;c=;";

	assert_int_equal(dkim_tags_parse(ok, strlen(ok), t, DKIM_TAGS_MAX, &n,
					 &why), 0);
	assert_int_equal(n, 3);
	assert_int_equal(t[1].value_len, strlen("two words"));
	assert_memory_equal(t[1].value, "two words", t[1].value_len);
	assert_int_equal(t[2].value_len, 0);
	assert_int_equal(dkim_tags_parse("a=1;a=2", 7, t, DKIM_TAGS_MAX, &n,
					 &why), -1);
	assert_string_equal(why, "a tag appears twice");
	assert_int_equal(dkim_tags_parse("a=1;;b=2", 8, t, DKIM_TAGS_MAX, &n,
					 &why), -1);
	assert_int_equal(dkim_tags_parse("=1", 2, t, DKIM_TAGS_MAX, &n, &why),
			 -1);
	assert_int_equal(dkim_tags_parse("a 1", 3, t, DKIM_TAGS_MAX, &n, &why),
			 -1);
}

static void
test_sig_parse(void **state)
{
	struct dkim_sig *s = malloc(sizeof(*s));
	const char *why = NULL;
	const char *good = "v=1; a=rsa-sha256; d=Example.ORG; s=sel; "
			   "c=relaxed; h=From : Subject; bh=AAAA; b=AA AA; "
			   "i=user@mail.example.org; l=10";
	const char *bad[][2] = {
		{ "a=rsa-sha256; d=x; s=s; h=from; bh=AAAA; b=AAAA",
		  "a required tag is missing" },
		{ "v=2; a=rsa-sha256; d=x; s=s; h=from; bh=AAAA; b=AAAA",
		  "unsupported version" },
		{ "v=1; a=rsa-md5; d=x; s=s; h=from; bh=AAAA; b=AAAA",
		  "unknown algorithm" },
		{ "v=1; a=rsa-sha256; d=x; s=s; h=to; bh=AAAA; b=AAAA",
		  "bad h=" },
		{ "v=1; a=rsa-sha256; d=x; s=s; h=from; bh=AAAA; b=AAAA; "
		  "i=a@y", "i= is not within d=" },
		{ "v=1; a=rsa-sha256; d=x; s=s; h=from; bh=AAAA; b=AAAA; "
		  "t=10; x=5", "x= is before t=" },
		{ "v=1; a=rsa-sha256; d=x; s=s; h=from; bh=AAAA; b=A*AA",
		  "bad signature data" },
	};

	assert_non_null(s);
	assert_int_equal(dkim_sig_parse(good, strlen(good), s, &why), 0);
	assert_string_equal(s->d, "example.org");
	assert_int_equal(s->hcanon, DKIM_CANON_RELAXED);
	assert_int_equal(s->bcanon, DKIM_CANON_SIMPLE);
	assert_int_equal(s->n_h, 2);
	assert_string_equal(s->h[1], "subject");
	assert_true(s->has_l && s->l == 10);
	assert_int_equal(s->b_len, 3);
	assert_int_equal(s->b_end - s->b_off, 5);
	assert_memory_equal(good + s->b_off, "AA AA", 5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(dkim_sig_parse(bad[i][0], strlen(bad[i][0]), s,
						&why), -1);
		assert_non_null(strstr(why, bad[i][1]));
	}
	free(s);
}

static void
test_keyrec_parse(void **state)
{
	struct dkim_keyrec *k = malloc(sizeof(*k));
	const char *why = NULL;
	const char *ed = "v=DKIM1; k=ed25519; t=y; p=AAAA";

	assert_non_null(k);
	assert_int_equal(dkim_keyrec_parse(ed, strlen(ed), k, &why), 0);
	assert_int_equal(k->k, DKIM_KEY_ED25519);
	assert_true(k->t_testing && !k->t_strict && k->h_sha256);
	assert_int_equal(dkim_keyrec_parse("p=", 2, k, &why), 0);
	assert_true(k->revoked);
	assert_int_equal(dkim_keyrec_parse("h=sha1; p=AAAA", 14, k, &why), 0);
	assert_false(k->h_sha256);
	assert_int_equal(dkim_keyrec_parse("k=rsa; v=DKIM1; p=AAAA", 22, k,
					   &why), -1);
	assert_int_equal(dkim_keyrec_parse("k=dsa; p=AAAA", 13, k, &why), -1);
	assert_int_equal(dkim_keyrec_parse("k=rsa", 5, k, &why), -1);
	assert_int_equal(dkim_keyrec_parse("s=other; p=AAAA", 15, k, &why), -1);
	free(k);
}

static const char msg_text[] =
	"Received: from x by y; Mon, 7 Dec 2026 06:00:00 +0000\r\n"
	"From: Alice <alice@example.org>\r\n"
	"To: bob@example.net\r\nSubject: round\r\n trip\r\n"
	"Date: Mon, 07 Dec 2026 06:00:00 +0000\r\n"
	"List-Id: <l.example.org>\r\n\r\nbody  line\r\n\r\n";

static void
test_sign_verify(void **state)
{
	EVP_PKEY *keys[2] = { keygen(EVP_PKEY_ED25519), keygen(EVP_PKEY_RSA) };
	enum dkim_alg algs[2] = { DKIM_ALG_ED25519_SHA256,
				  DKIM_ALG_RSA_SHA256 };
	char recs[2][1024], from[256];
	struct buf m;
	const char *why = NULL;
	time_t now = time(NULL);

	buf_init(&m, 1 << 20);
	for (int i = 0; i < 2; i++) {
		struct dkim_signer s = { algs[i], "example.org",
					 i ? "r" : "e", keys[i], 0, NULL };
		record_of(keys[i], recs[i], sizeof(recs[i]));
		assert_int_equal(dkim_sign(&s, msg_text, strlen(msg_text), now,
					   &m, &why), 0);
	}
	assert_int_equal(dkim_from_domain(msg_text, strlen(msg_text), from,
					  sizeof(from)), 0);
	assert_string_equal(from, "example.org");
	buf_append(&m, msg_text, strlen(msg_text));
	for (int mod = 0; mod < 4; mod++) {
		struct buf c;
		struct dkim_verify *v;

		buf_init(&c, 1 << 20);
		buf_append(&c, m.data, m.len);
		if (mod == 1) /* a signed header changed */
			memcpy(strstr((char *)c.data, "round"), "ROUND", 5);
		if (mod == 2) /* the body changed */
			memcpy(strstr((char *)c.data, "body"), "BODY", 4);
		if (mod == 3) {
			/* In steps, as the SMTP server does: the header
			 * section, then the body one octet at a time. */
			const char *body = strstr((char *)c.data,
						  "\r\n\r\n") + 4;
			size_t hl = (size_t)(body - (char *)c.data);

			v = dkim_verify_begin((const char *)c.data, hl, now);
			dkim_verify_defer_keys(v); /* checked below */
			for (size_t k = hl; k < c.len; k++)
				dkim_verify_body(v, c.data + k, 1);
			dkim_verify_end(v);
		} else {
			v = dkim_verify_new((const char *)c.data, c.len, now);
		}
		assert_int_equal(dkim_verify_count(v), 2);
		for (size_t i = 0; i < 2; i++) {
			const char *name = dkim_verify_keyname(v, i);
			if (name != NULL) {
				assert_string_equal(name, i ? "r._domainkey."
						    "example.org"
						    : "e._domainkey.example.org");
				dkim_verify_key(v, i, true, false, recs[i],
						strlen(recs[i]));
			}
			if (mod == 3) {
				/* Deferred: kept, decided by check_keys. */
				assert_int_equal(dkim_verify_result(v, i)
						 ->status, DKIM_NONE);
				if (i == 1)
					dkim_verify_check_keys(v);
			}
		}
		for (size_t i = 0; i < 2; i++) {
			assert_int_equal(dkim_verify_result(v, i)->status,
					 mod == 0 || mod == 3 ? DKIM_PASS
							      : DKIM_FAIL);
		}
		dkim_verify_free(&v);
		buf_fini(&c);
	}
	buf_fini(&m);
	EVP_PKEY_free(keys[0]);
	EVP_PKEY_free(keys[1]);
}

/* The decoded-key cache is keyed by the key, not the name: after a pass
 * with key A (now cached), the same selector publishing key B makes the
 * signature fail, and A passes again afterwards. */
/* Signing through a context set up once (dkim_signkey, what the keyring
 * uses) gives the same octets as setting it up per signature (Ed25519
 * and RSASSA-PKCS1-v1_5 are deterministic), from several threads at once
 * on one context as the server's workers do. */
struct ready_job {
	const struct dkim_signer *s;
	const char *want;
	int bad;
};

static void *
ready_thread(void *arg)
{
	struct ready_job *j = arg;
	const char *why = NULL;
	struct buf out;

	buf_init(&out, 1 << 16);
	for (int i = 0; i < 8; i++) {
		buf_reset(&out);
		if (dkim_sign(j->s, msg_text, strlen(msg_text), 1000000, &out,
			      &why) < 0 || out.len != strlen(j->want) ||
		    memcmp(out.data, j->want, out.len) != 0)
			j->bad++;
	}
	buf_fini(&out);
	return NULL;
}

static void
test_sign_ready(void **state)
{
	EVP_PKEY *keys[2] = { keygen(EVP_PKEY_ED25519), keygen(EVP_PKEY_RSA) };
	enum dkim_alg algs[2] = { DKIM_ALG_ED25519_SHA256,
				  DKIM_ALG_RSA_SHA256 };
	const char *why = NULL;

	for (int i = 0; i < 2; i++) {
		struct dkim_signer s = { algs[i], "example.org", "s", keys[i],
					 0, NULL };
		struct ready_job j[3];
		pthread_t t[3];
		struct buf plain;

		buf_init(&plain, 1 << 16);
		assert_int_equal(dkim_sign(&s, msg_text, strlen(msg_text),
					   1000000, &plain, &why), 0);
		assert_int_equal(buf_append(&plain, "", 1), 0);
		s.ready = dkim_signkey_new(algs[i], keys[i]);
		assert_non_null(s.ready);
		for (int k = 0; k < 3; k++) {
			j[k] = (struct ready_job){ &s, (char *)plain.data, 0 };
			assert_int_equal(pthread_create(&t[k], NULL,
							ready_thread, &j[k]), 0);
		}
		for (int k = 0; k < 3; k++) {
			pthread_join(t[k], NULL);
			assert_int_equal(j[k].bad, 0);
		}
		dkim_signkey_free(&s.ready);
		assert_null(s.ready);
		buf_fini(&plain);
		EVP_PKEY_free(keys[i]);
	}
	/* A key that does not fit the algorithm gets no context. */
	keys[0] = keygen(EVP_PKEY_ED25519);
	assert_null(dkim_signkey_new(DKIM_ALG_RSA_SHA256, keys[0]));
	EVP_PKEY_free(keys[0]);
}

static void
test_key_cache(void **state)
{
	EVP_PKEY *a = keygen(EVP_PKEY_RSA), *b = keygen(EVP_PKEY_RSA);
	char ra[1024], rb[1024];
	const char *recs[3] = { ra, rb, ra };
	const enum dkim_status want[3] = { DKIM_PASS, DKIM_FAIL, DKIM_PASS };
	struct dkim_signer sg = { DKIM_ALG_RSA_SHA256, "example.org", "k", a, 0,
				  NULL };
	const char *why = NULL;
	time_t now = time(NULL);
	struct buf m;

	(void)state;
	record_of(a, ra, sizeof(ra));
	record_of(b, rb, sizeof(rb));
	buf_init(&m, 1 << 20);
	assert_int_equal(dkim_sign(&sg, msg_text, strlen(msg_text), now, &m,
				   &why), 0);
	buf_append(&m, msg_text, strlen(msg_text));
	for (int i = 0; i < 3; i++) {
		struct dkim_verify *v = dkim_verify_new((const char *)m.data,
							m.len, now);
		dkim_verify_key(v, 0, true, false, recs[i], strlen(recs[i]));
		assert_int_equal(dkim_verify_result(v, 0)->status, want[i]);
		assert_int_equal(dkim_verify_result(v, 0)->key_bits, 2048);
		dkim_verify_free(&v);
	}
	buf_fini(&m);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

/* A signature with x= made by hand (our signer sets none): valid before
 * x, "signature expired" after (RFC 6376 §3.5). */
static void
test_expiry(void **state)
{
	EVP_PKEY *key = keygen(EVP_PKEY_ED25519);
	const char *msg = "From: a@example.org\r\n\r\nhi\r\n";
	char rec[1024], bh[64], field[512], b64[128];
	struct dkim_field f[4];
	struct buf data, m;
	struct dkim_body *b;
	uint8_t h[64], sig[1024];
	uint64_t total;
	size_t nf, off, sl;
	char names[1][64] = { "from" };

	record_of(key, rec, sizeof(rec));
	b = dkim_body_new(DKIM_CANON_RELAXED, "sha256", UINT64_MAX);
	dkim_body_update(b, "hi\r\n", 4);
	assert_int_equal(dkim_body_final(b, h, &total), 32);
	dkim_body_free(&b);
	base64_encode(h, 32, bh);
	snprintf(field, sizeof(field), "DKIM-Signature: v=1; a=ed25519-sha256;"
		 " c=relaxed/relaxed; d=example.org; s=e; t=1000; x=2000;"
		 " h=from; bh=%s; b=", bh);
	assert_int_equal(dkim_header_split(msg, strlen(msg), f, 4, &nf, &off),
			 0);
	buf_init(&data, 4096);
	assert_int_equal(dkim_header_data(f, nf, names, 1, DKIM_CANON_RELAXED,
					  field, strlen(field), &data), 0);
	struct dkim_signer s = { DKIM_ALG_ED25519_SHA256, "example.org", "e",
				 key, 0, NULL };
	assert_int_equal(dkim_crypto_sign(&s, data.data, data.len, sig, &sl),
			 0);
	base64_encode(sig, sl, b64);
	buf_init(&m, 4096);
	buf_printf(&m, "%s%s\r\n%s", field, b64, msg);
	for (int late = 0; late < 2; late++) {
		struct dkim_verify *v = dkim_verify_new((const char *)m.data,
							m.len, late ? 2001
								    : 1999);
		if (dkim_verify_keyname(v, 0) != NULL)
			dkim_verify_key(v, 0, true, false, rec, strlen(rec));
		assert_int_equal(dkim_verify_result(v, 0)->status,
				 late ? DKIM_FAIL : DKIM_PASS);
		if (late)
			assert_non_null(strstr(dkim_verify_result(v, 0)->why,
					       "expired"));
		dkim_verify_free(&v);
	}
	buf_fini(&m);
	buf_fini(&data);
	EVP_PKEY_free(key);
}

static void
test_from_domain(void **state)
{
	char d[256];
	const char *two = "From: a@x.org, b@y.org\r\n\r\n";
	const char *quoted = "From: \"Doe, J@ne\" <j@Y.Example>\r\n\r\n";
	const char *none = "To: a@x.org\r\n\r\n";

	assert_int_equal(dkim_from_domain(two, strlen(two), d, sizeof(d)), -1);
	assert_int_equal(dkim_from_domain(quoted, strlen(quoted), d,
					  sizeof(d)), 0);
	assert_string_equal(d, "y.example");
	assert_int_equal(dkim_from_domain(none, strlen(none), d, sizeof(d)),
			 -1);
}

/* Long runs of plain octets (copied in bulk, across the 4 KB hashing
 * buffer) mixed with whitespace, bare CR and LF: the same canonical body
 * whether fed whole or octet by octet, and the expected one. */
static void
test_body_runs(void **state)
{
	const char *tail = "  \t b\r\nx \t\r\nc\rd\n\r\n\r\n";
	const char *want_tail = " b\r\nx\r\nc\rd\r\n";
	size_t run = 5000, n = run + strlen(tail);
	char *body = malloc(n + 1), *want = malloc(n + 1);
	char a[64], b[64], w[64];
	uint8_t h[32];
	unsigned hl;
	uint64_t total;

	assert_non_null(body);
	assert_non_null(want);
	memset(body, 'a', run);
	strcpy(body + run, tail);
	memset(want, 'a', run);
	strcpy(want + run, want_tail);
	EVP_Digest(want, strlen(want), h, &hl, EVP_sha256(), NULL);
	base64_encode(h, 32, w);
	body_hash(DKIM_CANON_RELAXED, body, n, UINT64_MAX, a, &total);
	assert_int_equal(total, strlen(want));
	assert_string_equal(a, w);
	body_hash(DKIM_CANON_RELAXED, body, 1, UINT64_MAX, b, &total);
	assert_string_equal(a, b);
	body_hash(DKIM_CANON_SIMPLE, body, n, UINT64_MAX, a, &total);
	body_hash(DKIM_CANON_SIMPLE, body, 7, UINT64_MAX, b, &total);
	assert_string_equal(a, b);
	free(body);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6376_example),
		cmocka_unit_test(test_empty_bodies),
		cmocka_unit_test(test_body_runs),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_sig_parse),
		cmocka_unit_test(test_keyrec_parse),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_sign_ready),
		cmocka_unit_test(test_key_cache),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_from_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
