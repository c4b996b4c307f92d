/*
 * Unit tests for mime_downgrade_7bit (RFC 6152 §3, RFC 2045 §6.7-6.8):
 * what a 7-bit next hop receives decodes back to the original content,
 * with the right Content-Transfer-Encoding, boundaries kept, lines within
 * 76 columns, and the refusals of RFC 2045 §6.4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime/mime.h"

#define MAX_OUT (1 << 20)

/* Converts msg; asserts the result code; returns out (to buf_fini). */
static struct buf
dg(const char *msg, size_t len, int want)
{
	struct buf out;

	buf_init(&out, MAX_OUT);
	assert_int_equal(mime_downgrade_7bit(msg, len, &out), want);
	/* NUL-terminated for the string asserts (not counted in len). */
	assert_int_equal(buf_append(&out, "", 1), 0);
	out.len--;
	return out;
}

static void
assert_7bit(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		assert_true(b->data[i] < 0x80);
}

/* Every line of the range (CRLF-terminated) is at most max long. */
static void
assert_lines_max(const char *p, size_t len, size_t max)
{
	size_t start = 0;

	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] == '\r' && p[i + 1] == '\n') {
			assert_true(i - start <= max);
			start = i + 2;
		}
	}
	assert_true(len - start <= max || p[len - 1] == '\n');
}

/* The decoded content of every leaf, in order, separated by "|". */
static void
leaves(const char *msg, const struct mime_part *p, struct buf *acc)
{
	if (p->n_children > 0) {
		for (size_t i = 0; i < p->n_children; i++)
			leaves(msg, &p->children[i], acc);
		return;
	}
	assert_int_equal(
	    mime_decode_body(p->encoding, msg + p->body_off, p->body_len, acc),
	    0);
	assert_int_equal(buf_append(acc, "|", 1), 0);
}

/* The two messages hold the same parts with the same content. */
static void
assert_same_content(const char *a, size_t alen, const char *b, size_t blen)
{
	struct mime_part *ra, *rb;
	struct buf la, lb;

	buf_init(&la, MAX_OUT);
	buf_init(&lb, MAX_OUT);
	assert_int_equal(mime_parse(a, alen, &ra), 0);
	assert_int_equal(mime_parse(b, blen, &rb), 0);
	leaves(a, ra, &la);
	leaves(b, rb, &lb);
	assert_int_equal(la.len, lb.len);
	assert_memory_equal(la.data, lb.data, la.len);
	mime_free(&ra);
	mime_free(&rb);
	buf_fini(&la);
	buf_fini(&lb);
}

static const void *
find(const struct buf *b, const char *lit)
{
	return memmem(b->data, b->len, lit, strlen(lit));
}

static const char *
body_of(const struct buf *b)
{
	const char *s = memmem(b->data, b->len, "\r\n\r\n", 4);

	assert_non_null(s);
	return s + 4;
}

static void
test_seven_bit_unchanged(void **state)
{
	static const char m[] =
	    "From: a@b\r\nContent-Type: message/rfc822\r\n\r\n"
	    "Subject: x\r\n\r\nbody\r\n";
	struct buf out = dg(m, sizeof(m) - 1, 0);

	(void)state;
	assert_int_equal(out.len, sizeof(m) - 1);
	assert_memory_equal(out.data, m, out.len);
	buf_fini(&out);
}

static void
test_text_qp(void **state)
{
	static const char m[] =
	    "From: a@b\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "Subject: caf\r\n\r\n"
	    "caf\xc3\xa9 = ok\r\ntrailing space \r\ntab\t\r\n"
	    "bare\rcr and bare\nlf\x01\r\n";
	struct buf out = dg(m, sizeof(m) - 1, 0);
	const char *s = (const char *)out.data;

	(void)state;
	assert_7bit(&out);
	/* The old field goes, the new ones end the header. */
	assert_non_null(find(&out,
	                     "charset=utf-8\r\nSubject: caf\r\n"
	                     "MIME-Version: 1.0\r\n"
	                     "Content-Transfer-Encoding: quoted-printable\r\n"
	                     "\r\n"));
	assert_null(find(&out, "8bit"));
	assert_string_equal(body_of(&out) - 0,
	                    "caf=C3=A9 =3D ok\r\ntrailing space=20\r\n"
	                    "tab=09\r\nbare=0Dcr and bare=0Alf=01\r\n");
	assert_same_content(m, sizeof(m) - 1, s, out.len);
	buf_fini(&out);
}

/* RFC 2045 §6.7 rule 5: encoded lines at most 76 characters; a line of
 * exactly 76 stays whole, a soft break "=" counts in the 76. */
static void
test_line_76(void **state)
{
	char m[512];
	char line76[77], line77[78];
	int n;

	(void)state;
	memset(line76, 'a', 76);
	line76[76] = '\0';
	memset(line77, 'b', 77);
	line77[77] = '\0';
	n = snprintf(m, sizeof(m),
	             "Subject: x\r\n\r\n\xe9\r\n%s\r\n%s\r\n%.74s\xe9\r\n",
	             line76, line77, line76);
	struct buf out = dg(m, (size_t)n, 0);
	char want[512];

	snprintf(want, sizeof(want),
	         "=E9\r\n%s\r\n%.75s=\r\nbb\r\n%.74s=\r\n=E9\r\n", line76,
	         line77, line76);
	assert_string_equal(body_of(&out), want);
	assert_lines_max((const char *)out.data, out.len, 76);
	assert_same_content(m, (size_t)n, (const char *)out.data, out.len);
	buf_fini(&out);
}

/* Long 8-bit text, trailing white space on each line, no final CRLF. */
static void
test_qp_long_lines(void **state)
{
	char m[8192];
	size_t n = (size_t)snprintf(m, sizeof(m), "Subject: x\r\n\r\n");

	(void)state;
	for (unsigned i = 0; i < 6000; i++) {
		unsigned char c = (unsigned char)((i * 37 + 11) % 256);

		m[n++] = (i % 300 == 299) ? '\r' : (char)c;
		if (i % 300 == 299)
			m[n++] = '\n';
	}
	m[n++] = ' ';
	struct buf out = dg(m, n, 0);

	assert_7bit(&out);
	assert_lines_max((const char *)out.data, out.len, 76);
	assert_same_content(m, n, (const char *)out.data, out.len);
	assert_int_equal(memcmp(out.data + out.len - 3, "=20", 3), 0);
	buf_fini(&out);
}

/* A soft break before "--b" must not make a boundary line of it. */
static void
test_soft_break_dash(void **state)
{
	char m[512];
	int n = snprintf(m, sizeof(m),
	                 "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	                 "--b\r\n\r\n%.72s\xe9--b\r\n--b--\r\n",
	                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaaaaaaaaaaaaaaaaaaa");
	struct buf out = dg(m, (size_t)n, 0);

	(void)state;
	assert_non_null(find(&out, "=E9=\r\n=2D-b\r\n--b--\r\n"));
	assert_same_content(m, (size_t)n, (const char *)out.data, out.len);
	buf_fini(&out);
}

static void
test_binary_base64(void **state)
{
	char m[4096];
	size_t n = (size_t)snprintf(m, sizeof(m),
	                            "MIME-Version: 1.0\r\n"
	                            "Content-Type: application/octet-stream\r\n"
	                            "Content-Transfer-Encoding:\r\n binary\r\n"
	                            "\r\n");

	(void)state;
	for (unsigned i = 0; i < 1000; i++)
		m[n++] = (char)(i * 7);
	struct buf out = dg(m, n, 0);
	const char *s = (const char *)out.data;

	assert_7bit(&out);
	assert_non_null(
	    find(&out, "Content-Transfer-Encoding: base64\r\n\r\n"));
	assert_null(find(&out, "binary"));
	/* MIME-Version is not repeated. */
	assert_ptr_equal(find(&out, "MIME-Version"), s);
	assert_null(memmem(s + 1, out.len - 1, "MIME-Version", 12));
	assert_lines_max(s, out.len, 76);
	assert_same_content(m, n, s, out.len);
	buf_fini(&out);
}

static const char nested[] =
    "From: a@b\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    "preamble \xe9t\xe9\r\n"
    "--outer\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n"
    "d\xe9j\xe0 vu\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
    "--inner\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "plain ascii\r\n"
    "--inner\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "<p>na=C3=AFve \xc3\xa9</p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: image/png\r\n"
    "Content-Transfer-Encoding :binary\r\n\r\n"
    "\x89PNG\r\n\x1a\n\x00\x01\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "JVBE\xffRi0x\r\n"
    "--outer--\r\n"
    "epilogue \xe9\r\n";

static void
test_nested_multipart(void **state)
{
	struct buf out = dg(nested, sizeof(nested) - 1, 0);
	const char *s = (const char *)out.data;

	(void)state;
	assert_7bit(&out);
	assert_same_content(nested, sizeof(nested) - 1, s, out.len);
	/* Boundaries kept, the multipart now labelled 7bit. */
	assert_non_null(find(&out, "boundary=\"outer\"\r\n"
	                           "Content-Transfer-Encoding: 7bit\r\n\r\n"
	                           "--outer\r\n"));
	assert_non_null(find(&out, "\r\n--inner--\r\n--outer\r\n"));
	assert_int_equal(memcmp(s + out.len - 11, "--outer--\r\n", 11), 0);
	/* The 7-bit part is copied as it was. */
	assert_non_null(find(&out, "--inner\r\nContent-Type: text/plain\r\n\r\n"
	                           "plain ascii\r\n--inner\r\n"));
	assert_non_null(find(&out, "d=E9j=E0 vu\r\n--outer"));
	assert_non_null(find(&out, "<p>na=C3=AFve =C3=A9</p>\r\n"));
	assert_non_null(find(&out, "image/png\r\n"
	                           "Content-Transfer-Encoding: base64\r\n\r\n"
	                           "iVBORw0KGgoAAQ==\r\n"));
	/* The 8-bit base64 part is decoded leniently, then re-encoded. */
	assert_non_null(find(&out, "JVBERi0x\r\n"));
	assert_null(find(&out, "preamble"));
	assert_null(find(&out, "epilogue"));
	buf_fini(&out);
}

static void
test_cannot(void **state)
{
	static const char *const bad[] = {
	    /* 8-bit header field */
	    "Subject: caf\xc3\xa9\r\n\r\nbody\xe9\r\n",
	    /* 8-bit in an embedded message */
	    "Content-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\n\xe9\r\n",
	    /* 8-bit header of a part */
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain; name=\xe9\r\n\r\nx\r\n--b--\r\n",
	    /* a multipart without parts */
	    "Content-Type: multipart/mixed\r\n\r\n\xe9\r\n",
	    /* an encoding we cannot undo */
	    "Content-Transfer-Encoding: x-uuencode\r\n\r\n\xe9\r\n",
	    /* message/partial must stay 7bit */
	    "Content-Type: message/partial; id=x\r\n\r\n\xe9\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf out;

		buf_init(&out, MAX_OUT);
		assert_int_equal(buf_append(&out, "keep", 4), 0);
		assert_int_equal(
		    mime_downgrade_7bit(bad[i], strlen(bad[i]), &out), 1);
		assert_int_equal(out.len, 4);
		buf_fini(&out);
	}
}

/* A multipart nested deeper than MIME_MAX_DEPTH is opaque to the parser,
 * but is still a multipart: it may not be base64-encoded. */
static void
test_too_deep(void **state)
{
	struct buf m;

	(void)state;
	buf_init(&m, MAX_OUT);
	for (int i = 0; i < MIME_MAX_DEPTH + 2; i++)
		assert_int_equal(buf_printf(&m,
		                            "Content-Type: multipart/mixed; "
		                            "boundary=b%d\r\n\r\n--b%d\r\n",
		                            i, i),
		                 0);
	assert_int_equal(buf_append(&m, "\r\n\xe9\r\n", 5), 0);
	struct buf out = dg((const char *)m.data, m.len, 1);

	buf_fini(&out);
	buf_fini(&m);
}

/* Past MIME_MAX_PARTS the tree is incomplete: refused. */
static void
test_too_many_parts(void **state)
{
	struct buf m;

	(void)state;
	buf_init(&m, MAX_OUT);
	assert_int_equal(buf_printf(&m, "Content-Type: multipart/mixed; "
	                                "boundary=b\r\n\r\n"),
	                 0);
	for (int i = 0; i < MIME_MAX_PARTS + 5; i++)
		assert_int_equal(buf_printf(&m, "--b\r\n\r\npart %d\r\n", i),
		                 0);
	assert_int_equal(buf_printf(&m, "--b\r\n\r\n\xe9\r\n--b--\r\n"), 0);
	struct buf out = dg((const char *)m.data, m.len, 1);

	buf_fini(&out);
	buf_fini(&m);
}

static void
test_out_full(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 40);
	assert_int_equal(mime_downgrade_7bit(nested, sizeof(nested) - 1, &out),
	                 -1);
	assert_int_equal(out.len, 0);
	buf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seven_bit_unchanged),
	    cmocka_unit_test(test_text_qp),
	    cmocka_unit_test(test_line_76),
	    cmocka_unit_test(test_qp_long_lines),
	    cmocka_unit_test(test_soft_break_dash),
	    cmocka_unit_test(test_binary_base64),
	    cmocka_unit_test(test_nested_multipart),
	    cmocka_unit_test(test_cannot),
	    cmocka_unit_test(test_too_deep),
	    cmocka_unit_test(test_too_many_parts),
	    cmocka_unit_test(test_out_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
