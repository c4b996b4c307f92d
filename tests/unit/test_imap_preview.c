/*
 * Unit tests for PREVIEW (RFC 8970): which part is summarised, decoding,
 * HTML to text, white space folding and the 256-character bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_preview.h"
#include "util/buf.h"

static char *
preview(const char *msg)
{
	struct buf b;
	char *s;

	buf_init(&b, 1 << 20);
	assert_int_equal(imap_preview(msg, strlen(msg), &b), 0);
	s = malloc(b.len + 1);
	assert_non_null(s);
	if (b.len > 0)
		memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	buf_fini(&b);
	return s;
}

static void
expect(const char *msg, const char *want)
{
	char *got = preview(msg);

	assert_string_equal(got, want);
	free(got);
}

static void
test_plain(void **state)
{
	(void)state;
	expect("Subject: x\r\n\r\n  Hello,\r\n\r\n\tworld!  \r\n", "Hello, world!");
	expect("Subject: x\r\n\r\n", "");
	expect("Subject: x\r\nContent-Type: image/png\r\n\r\nxxx", "");
	/* quoted-printable and a charset */
	expect("Content-Type: text/plain; charset=iso-8859-1\r\n"
	       "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	       "Gr=FC=DFe aus K=F6ln=\r\n!\r\n",
	       "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln!");
	/* base64 */
	expect("Content-Transfer-Encoding: base64\r\n\r\n"
	       "SGVsbG8gdGhlcmU=\r\n", "Hello there");
	/* invalid UTF-8 becomes U+FFFD */
	expect("\r\nab\xff" "cd", "ab\xef\xbf\xbd" "cd");
}

static void
test_parts(void **state)
{
	(void)state;
	/* alternative: the text/plain one, though the HTML comes first */
	expect("Content-Type: multipart/alternative; boundary=b\r\n\r\n"
	       "--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
	       "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n--b--\r\n",
	       "plain");
	/* mixed: the attachment is not the text */
	expect("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	       "--b\r\nContent-Type: text/plain\r\n"
	       "Content-Disposition: attachment\r\n\r\nattached\r\n"
	       "--b\r\nContent-Type: text/plain\r\n\r\nbody text\r\n--b--\r\n",
	       "body text");
}

static void
test_html(void **state)
{
	(void)state;
	expect("Content-Type: text/html\r\n\r\n"
	       "<html><head><title>T</title><style>p{x:y}</style></head>"
	       "<body><!-- c --><p>Fish &amp; chips</p><p>&lt;3&#33;"
	       "&#x263A;&nbsp;ok</p><script>var a='<p>';</script>"
	       "<b>bo</b>ld &bogus;</body></html>",
	       "Fish & chips <3!\xe2\x98\xba ok bold &bogus;");
	expect("Content-Type: text/html\r\n\r\n<p>cut <", "cut <");
	expect("Content-Type: text/html\r\n\r\n<p>cut <b", "cut");
	expect("Content-Type: text/html\r\n\r\n<style>never closed", "");
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return n;
}

static void
test_bound(void **state)
{
	char msg[4096];
	char *got;

	(void)state;
	/* 300 two-octet characters: cut at 256 characters, not octets */
	strcpy(msg, "\r\n");
	for (int i = 0; i < 300; i++)
		strcat(msg, "\xc3\xa9");
	got = preview(msg);
	assert_int_equal(utf8_chars(got), IMAP_PREVIEW_CHARS);
	free(got);
	/* a space would be the 256th character: it ends one earlier */
	strcpy(msg, "\r\n");
	for (int i = 0; i < 300; i++)
		strcat(msg, "\xc3\xa9 ");
	got = preview(msg);
	assert_int_equal(utf8_chars(got), IMAP_PREVIEW_CHARS - 1);
	assert_true(got[strlen(got) - 1] != ' ');
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
