/*
 * Unit tests for the MIME parser: the corpus in tests/mime-corpus (each
 * message's ENVELOPE, BODY and BODYSTRUCTURE checked against expected
 * files written by hand from RFC 9051 §7.5.2), the part map for every
 * kind of section path, RFC 2047/2231 decoding, body decoders, and
 * hostile messages (boundary floods, deep nesting) staying bounded.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mime/mime.h"

#define CORPUS_DIR "tests/mime-corpus"

static char *
test_read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (f == NULL)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len_r = (size_t)n;
	return data;
}

/* Compares got with base.ext, whose content ends with one newline. */
static void
test_expect(const char *base, const char *ext, const char *got)
{
	char path[512];
	size_t len;
	char *want;

	snprintf(path, sizeof(path), "%s.%s", base, ext);
	want = test_read_file(path, &len);
	if (want == NULL)
		fail_msg("missing expected file %s", path);
	assert_true(len > 0 && want[len - 1] == '\n');
	want[len - 1] = '\0';
	if (strcmp(want, got) != 0)
		fail_msg("%s:\n got  %s\n want %s", path, got, want);
	free(want);
}

static void
test_corpus(void **state)
{
	DIR *d = opendir(CORPUS_DIR);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name), len, plen;
		char path[512], base[512], *msg, *env, *body, *bs, *map;

		if (nl < 5 || strcmp(de->d_name + nl - 4, ".eml") != 0)
			continue;
		snprintf(path, sizeof(path), CORPUS_DIR "/%s", de->d_name);
		snprintf(base, sizeof(base), CORPUS_DIR "/%.*s", (int)(nl - 4),
			 de->d_name);
		msg = test_read_file(path, &len);
		assert_non_null(msg);
		assert_int_equal(mime_compute_meta(msg, len, &env, &body, &bs,
						   &map, &plen),
				 0);
		assert_int_equal(strlen(map), plen);
		test_expect(base, "envelope", env);
		test_expect(base, "body", body);
		test_expect(base, "bodystructure", bs);
		free(env);
		free(body);
		free(bs);
		free(map);
		free(msg);
		n++;
	}
	closedir(d);
	assert_true(n >= 15);
}

/* Parses msg and finds path in its part map. */
static int
test_find(const char *msg, const uint32_t *path, size_t depth,
	  struct mime_section *sec)
{
	char *env, *body, *bs, *map;
	size_t plen;
	int ret;

	assert_int_equal(mime_compute_meta(msg, strlen(msg), &env, &body, &bs,
					   &map, &plen),
			 0);
	ret = mime_partmap_find(map, plen, path, depth, sec);
	free(env);
	free(body);
	free(bs);
	free(map);
	return ret;
}

static void
assert_span(const char *msg, size_t off, size_t len, const char *want)
{
	assert_int_equal(len, strlen(want));
	assert_memory_equal(msg + off, want, len);
}

static const char nested_msg[] =
	"Subject: top\r\n"
	"Content-Type: multipart/mixed; boundary=a\r\n"
	"\r\n"
	"--a\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"one\r\n"
	"--a\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: inner\r\n"
	"Content-Type: multipart/alternative; boundary=b\r\n"
	"\r\n"
	"--b\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"aGk=\r\n"
	"--b\r\n"
	"\r\n"
	"two\r\n"
	"--b--\r\n"
	"--a\r\n"
	"Content-Type: message/rfc822\r\n"
	"\r\n"
	"Subject: flat\r\n"
	"\r\n"
	"three\r\n"
	"--a--\r\n";

static void
test_partmap_paths(void **state)
{
	const char *m = nested_msg;
	struct mime_section s;
	uint32_t p[4] = {0, 0, 0, 0};

	/* Whole message. */
	assert_int_equal(test_find(m, p, 0, &s), 1);
	assert_int_equal(s.kind, MIME_KIND_MULTIPART);
	assert_int_equal(s.header_off, 0);
	assert_true(s.has_msg);
	/* 1: the first text part; 1.MIME is its header. */
	p[0] = 1;
	assert_int_equal(test_find(m, p, 1, &s), 1);
	assert_int_equal(s.kind, MIME_KIND_LEAF);
	assert_span(m, s.body_off, s.body_len, "one");
	assert_span(m, s.header_off, s.header_len,
		    "Content-Type: text/plain\r\n\r\n");
	/* 2: message/rfc822; 2.HEADER / 2.TEXT from msg_*. */
	p[0] = 2;
	assert_int_equal(test_find(m, p, 1, &s), 1);
	assert_int_equal(s.kind, MIME_KIND_MESSAGE);
	assert_true(s.has_msg);
	assert_int_equal(s.msg_header_off, s.body_off);
	assert_span(m, s.msg_header_off, 16, "Subject: inner\r\n");
	/* 2.1 inside the embedded multipart: base64 encoded. */
	p[1] = 1;
	assert_int_equal(test_find(m, p, 2, &s), 1);
	assert_span(m, s.body_off, s.body_len, "aGk=");
	assert_string_equal(s.encoding, "base64");
	p[1] = 2;
	assert_int_equal(test_find(m, p, 2, &s), 1);
	assert_span(m, s.body_off, s.body_len, "two");
	assert_string_equal(s.encoding, "");
	p[1] = 3;
	assert_int_equal(test_find(m, p, 2, &s), 0);
	/* 3.1: the body of a non-multipart embedded message. */
	p[0] = 3;
	p[1] = 1;
	assert_int_equal(test_find(m, p, 2, &s), 1);
	assert_span(m, s.body_off, s.body_len, "three");
	p[2] = 1;
	assert_int_equal(test_find(m, p, 3, &s), 0);
	p[0] = 4;
	assert_int_equal(test_find(m, p, 1, &s), 0);
	p[0] = 0;
	assert_int_equal(test_find(m, p, 1, &s), 0);
	/* 1.1 of a text part does not exist. */
	p[0] = 1;
	p[1] = 1;
	assert_int_equal(test_find(m, p, 2, &s), 0);
}

static void
test_partmap_single(void **state)
{
	const char *m = "Subject: x\r\n\r\nbody\r\n";
	struct mime_section s;
	uint32_t p[2] = {1, 1};

	/* RFC 9051 §6.4.5: a non-multipart message has only part 1. */
	assert_int_equal(test_find(m, p, 1, &s), 1);
	assert_span(m, s.body_off, s.body_len, "body\r\n");
	assert_int_equal(test_find(m, p, 2, &s), 0);
	p[0] = 2;
	assert_int_equal(test_find(m, p, 1, &s), 0);
	assert_int_equal(mime_partmap_find("junk", 4, p, 1, &s), -1);
	assert_int_equal(mime_partmap_find("M1\nL 0 1", 8, p, 1, &s), -1);
}

static void
decode_header_is(const char *in, const char *want)
{
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(mime_decode_header(in, strlen(in), &b), 0);
	assert_true(buf_append(&b, "", 1) == 0);
	assert_string_equal((const char *)b.data, want);
	buf_fini(&b);
}

static void
test_rfc2047(void **state)
{
	decode_header_is(" plain text", "plain text");
	decode_header_is("=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9");
	/* RFC 2047 §8 examples: white space between words is dropped. */
	decode_header_is("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)");
	decode_header_is("=?ISO-8859-1?Q?a?=\r\n  =?ISO-8859-1?Q?b?=", "ab");
	decode_header_is("=?ISO-8859-1?Q?a_b?=", "a b");
	decode_header_is("a =?ISO-8859-1?Q?b?= c", "a b c");
	decode_header_is("=?iso-8859-1?Q?J=F6rg?=", "J\xc3\xb6rg");
	decode_header_is("=?koi8-r?B?8NLJ18XU?=",
			 "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	decode_header_is("=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=",
			 "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1"
			 "\xe3\x81\xaf");
	decode_header_is("=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=",
			 "\xc3\xa9\xc3\xa9");
	/* A UTF-8 character split across two words (bytes C3 | A9). */
	decode_header_is("=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9");
	/* Unknown charset and broken words stay as written. */
	decode_header_is("=?x-nonesuch?q?abc?=", "=?x-nonesuch?q?abc?=");
	decode_header_is("=?utf-8?q?abc", "=?utf-8?q?abc");
	decode_header_is("=?utf-8*en?q?hi?=", "hi");
	/* Raw 8-bit: kept if UTF-8, invalid bytes become U+FFFD. */
	decode_header_is("Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e");
	decode_header_is("a\xff" "b", "a\xef\xbf\xbd" "b");
}

static void
decode_body_is(const char *enc, const char *in, const char *want)
{
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(mime_decode_body(enc, in, strlen(in), &b), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	buf_fini(&b);
}

static void
test_decode_body(void **state)
{
	struct buf b;

	decode_body_is("base64", "aGVs\r\nbG8=\r\n", "hello");
	decode_body_is("BASE64", "aGVsbG8", "hello");
	decode_body_is("base64", "a G!V*s bG8=garbage", "hello");
	decode_body_is("quoted-printable", "a=3Db=\r\nc  \r\nd=\ne",
		       "a=bc\r\nde");
	decode_body_is("quoted-printable", "bad =ZZ and =4", "bad =ZZ and =4");
	decode_body_is("quoted-printable", "=C3=A9=c3=a9", "\xc3\xa9\xc3\xa9");
	decode_body_is("7bit", "as is\r\n", "as is\r\n");
	decode_body_is("", "x", "x");
	decode_body_is(NULL, "x", "x");
	buf_init(&b, 16);
	assert_int_equal(mime_decode_body("x-uuencode", "x", 1, &b), -1);
	buf_fini(&b);
}

static void
test_to_utf8(void **state)
{
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(mime_to_utf8("windows-1252", "\x80", 1, &b), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "\xe2\x82\xac", 3);
	buf_reset(&b);
	/* Invalid in the source charset: U+FFFD, and conversion goes on. */
	assert_int_equal(mime_to_utf8("utf-8", "a\xc3(b", 4, &b), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "a\xef\xbf\xbd(b", 6);
	buf_reset(&b);
	assert_int_equal(mime_to_utf8("x-unknown", "ok", 2, &b), 0);
	assert_memory_equal(b.data, "ok", 2);
	buf_fini(&b);
}

static void
test_fields(void **state)
{
	const char *h = "A: 1\r\n folded\r\nno colon line\r\nB : 2\nC:\r\n\r\nD: body";
	struct mime_field f;
	size_t pos = 0;

	assert_int_equal(mime_next_field(h, strlen(h), &pos, &f), 1);
	assert_int_equal(f.name_len, 1);
	assert_memory_equal(f.value, " 1\r\n folded", f.value_len);
	assert_int_equal(mime_next_field(h, strlen(h), &pos, &f), 1);
	assert_memory_equal(f.name, "B", f.name_len);
	assert_memory_equal(f.value, " 2", f.value_len);
	assert_int_equal(mime_next_field(h, strlen(h), &pos, &f), 1);
	assert_memory_equal(f.name, "C", 1);
	assert_int_equal(f.value_len, 0);
	assert_int_equal(mime_next_field(h, strlen(h), &pos, &f), 0);
}

static void
bs_is(const char *msg, const char *want)
{
	char *env, *body, *bs, *map;
	size_t plen;

	assert_int_equal(mime_compute_meta(msg, strlen(msg), &env, &body, &bs,
					   &map, &plen),
			 0);
	assert_string_equal(bs, want);
	free(env);
	free(body);
	free(bs);
	free(map);
}

static void
test_bodystructure_details(void **state)
{
	/* No header at all; a NUL byte inside; an 8-bit description goes
	 * out as a literal. */
	bs_is("\r\nx", "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
		       "\"7bit\" 1 0 NIL NIL NIL NIL)");
	bs_is("Content-Description: caf\xc3\xa9\r\n\r\n",
	      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
	      "{5}\r\ncaf\xc3\xa9 \"7bit\" 0 0 NIL NIL NIL NIL)");
	/* Invalid Content-Type: the RFC 2045 §5.2 default. */
	bs_is("Content-Type: garbage; charset=x\r\n\r\n",
	      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
	      "\"7bit\" 0 0 NIL NIL NIL NIL)");
	/* Upper case is folded; unquoted values with spaces are taken. */
	bs_is("Content-Type: IMAGE/JPEG; NAME=my photo.jpg\r\n\r\n",
	      "(\"image\" \"jpeg\" (\"name\" \"my photo.jpg\") NIL NIL "
	      "\"7bit\" 0 NIL NIL NIL NIL)");
}

static void
test_envelope_details(void **state)
{
	const char *h = "Subject: \"quoted\" \\ back\r\n"
			"From: a@b, , c@d\r\n"
			"To: <>\r\n"
			"Cc: Name <x@y\r\n"
			"Message-ID:\r\n <folded@id>\r\n\r\n";
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(mime_envelope(h, strlen(h), &b), 0);
	assert_true(buf_append(&b, "", 1) == 0);
	assert_string_equal(
		(const char *)b.data,
		"(NIL \"\\\"quoted\\\" \\\\ back\" "
		"((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) "
		"((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) "
		"((NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")) "
		"((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) "
		"((\"Name\" NIL \"x\" \"y\")) NIL NIL \"<folded@id>\")");
	buf_fini(&b);
}

/* Builds a message of n boundaries (or n nested multiparts). */
static char *
hostile_msg(size_t n, bool nested, size_t *len_r)
{
	struct buf b;

	buf_init(&b, (size_t)-1);
	assert_int_equal(buf_printf(&b, "Content-Type: multipart/mixed; "
					"boundary=x\r\n\r\n"),
			 0);
	for (size_t i = 0; i < n; i++) {
		if (nested)
			assert_int_equal(
				buf_printf(&b, "--x\r\nContent-Type: "
					       "multipart/mixed; boundary=x"
					       "\r\n\r\n"),
				0);
		else
			assert_int_equal(buf_printf(&b, "--x\r\n\r\ny\r\n"), 0);
	}
	*len_r = b.len;
	assert_int_equal(buf_append(&b, "", 1), 0);
	return (char *)b.data;
}

static size_t
count_parts(const struct mime_part *p, size_t depth, size_t *max_depth)
{
	size_t n = 1;

	if (depth > *max_depth)
		*max_depth = depth;
	for (size_t i = 0; i < p->n_children; i++)
		n += count_parts(&p->children[i], depth + 1, max_depth);
	return n;
}

static void
test_hostile_bounded(void **state)
{
	for (int nested = 0; nested < 2; nested++) {
		size_t len, depth = 0;
		char *msg = hostile_msg(nested ? 5000 : 100000, nested, &len);
		struct mime_part *root;
		char *env, *body, *bs, *map;
		size_t plen;
		clock_t t0 = clock();

		assert_int_equal(mime_parse(msg, len, &root), 0);
		assert_true(count_parts(root, 0, &depth) <= MIME_MAX_PARTS);
		assert_true(depth < MIME_MAX_DEPTH);
		mime_free(&root);
		assert_null(root);
		assert_int_equal(mime_compute_meta(msg, len, &env, &body, &bs,
						   &map, &plen),
				 0);
		/* Generous: linear work is milliseconds even under ASan. */
		assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0);
		free(env);
		free(body);
		free(bs);
		free(map);
		free(msg);
	}
}

/* Deep nesting with distinct boundaries and message/rfc822 chains. */
static void
test_hostile_deep(void **state)
{
	for (int kind = 0; kind < 2; kind++) {
		struct buf b;
		struct mime_part *root;
		size_t depth = 0;
		uint32_t path[64];
		struct mime_section sec;
		char *env, *body, *bs, *map;
		size_t plen;

		buf_init(&b, (size_t)-1);
		for (int i = 0; i < 10000; i++)
			assert_int_equal(
				kind ? buf_printf(&b, "Content-Type: "
						      "message/rfc822\r\n\r\n")
				     : buf_printf(&b, "Content-Type: multipart/"
						      "mixed; boundary=b%d\r\n"
						      "\r\n--b%d\r\n",
						  i, i),
				0);
		assert_int_equal(mime_parse((const char *)b.data, b.len, &root),
				 0);
		count_parts(root, 0, &depth);
		assert_true(depth < MIME_MAX_DEPTH);
		mime_free(&root);
		assert_int_equal(mime_compute_meta((const char *)b.data, b.len,
						   &env, &body, &bs, &map,
						   &plen),
				 0);
		for (size_t i = 0; i < 64; i++)
			path[i] = 1;
		/* Paths deeper than the tree are simply not found. */
		assert_int_equal(mime_partmap_find(map, plen, path, 64, &sec),
				 0);
		assert_int_equal(mime_partmap_find(map, plen, path, 5, &sec),
				 1);
		free(env);
		free(body);
		free(bs);
		free(map);
		buf_fini(&b);
	}
}

/* The search fields: From, To, Cc, Bcc, Subject and Date as written
 * (folding kept, any case), nothing else, nothing from the body. */
static void
test_search_fields(void **state)
{
	static const char msg[] =
		"Received: from x\r\n"
		"SUBJECT: =?utf-8?q?caf=C3=A9?=\r\n\tmore\r\n"
		"X-Other: y\r\n"
		"From: Ann <ann@example.test>\r\n"
		"to: b@example.test\r\n"
		"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
		"\r\n"
		"Cc: not a header\r\n";
	static const char want[] =
		"SUBJECT: =?utf-8?q?caf=C3=A9?=\r\n\tmore\r\n"
		"From: Ann <ann@example.test>\r\n"
		"to: b@example.test\r\n"
		"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n";
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(mime_search_fields(msg, sizeof(msg) - 1, &out, &len),
			 0);
	assert_int_equal(len, sizeof(want) - 1);
	assert_string_equal(out, want);
	free(out);
	/* No such field: an empty header block, not "unknown". */
	assert_int_equal(mime_search_fields("X: 1\r\n\r\nbody", 14, &out,
					    &len), 0);
	assert_string_equal(out, "\r\n");
	free(out);
	assert_true(mime_is_search_field("Bcc", 3));
	assert_false(mime_is_search_field("Bc", 2));
	assert_false(mime_is_search_field("Message-ID", 10));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_search_fields),
		cmocka_unit_test(test_partmap_paths),
		cmocka_unit_test(test_partmap_single),
		cmocka_unit_test(test_rfc2047),
		cmocka_unit_test(test_decode_body),
		cmocka_unit_test(test_to_utf8),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_bodystructure_details),
		cmocka_unit_test(test_envelope_details),
		cmocka_unit_test(test_hostile_bounded),
		cmocka_unit_test(test_hostile_deep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
