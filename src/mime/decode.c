/*
 * Body decoders (RFC 2045 §6.7 quoted-printable, §6.8 base64) and charset
 * conversion to UTF-8 through iconv. Broken input is decoded as well as
 * possible: mail in the wild is often slightly wrong.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "../util/base64.h"
#include "../util/str.h"
#include "mime_int.h"

static const char mime_replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

int
mime_base64_decode(const char *in, size_t len, struct buf *out)
{
	unsigned char chunk[3];
	unsigned int acc = 0, nbits = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int v = base64_value((unsigned char)in[i]);

		/* RFC 2045 §6.8: characters outside the alphabet are
		 * ignored; '=' is padding, so stop at it. */
		if (in[i] == '=')
			break;
		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned int)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			chunk[n++] = (unsigned char)(acc >> nbits);
			acc &= (1u << nbits) - 1;
		}
		if (n == sizeof(chunk)) {
			if (buf_append(out, chunk, n) < 0)
				return -1;
			n = 0;
		}
	}
	return buf_append(out, chunk, n);
}

int
mime_hex_byte(const char *p, size_t avail)
{
	int hi, lo;

	if (avail < 2 || (hi = str_hex_value((unsigned char)p[0])) < 0
	    || (lo = str_hex_value((unsigned char)p[1])) < 0)
		return -1;
	return hi * 16 + lo;
}

/* The bytes of an encoded word's Q text (q_word: '_' is a space, RFC 2047
 * §4.2) or of one quoted-printable line: "=XX" is the octet XX. */
static int
mime_qp_bytes(const char *p, size_t len, int q_word, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		int b;

		if (q_word && c == '_')
			c = ' ';
		else if (c == '=' &&
			 (b = mime_hex_byte(p + i + 1, len - i - 1)) >= 0) {
			c = (char)b;
			i += 2;
		}
		/* An '=' not followed by two hex digits is kept as it is
		 * (RFC 2045 §6.7 note 1: robust decoders do so). */
		if (buf_append(out, &c, 1) < 0)
			return -1;
	}
	return 0;
}

int
mime_q_decode(const char *in, size_t len, struct buf *out)
{
	return mime_qp_bytes(in, len, 1, out);
}

/* One line of quoted-printable (without its line break). RFC 2045 §6.7
 * rule 3: trailing white space is not part of the data; rule 5: a final
 * '=' is a soft line break. Returns 1 for a soft break. */
static int
mime_qp_line(const char *p, size_t len, struct buf *out, int *soft_r)
{
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	*soft_r = len > 0 && p[len - 1] == '=';
	if (*soft_r)
		len--;
	return mime_qp_bytes(p, len, 0, out);
}

static int
mime_qp_decode(const char *in, size_t len, struct buf *out)
{
	size_t pos = 0;

	while (pos < len) {
		const char *lf = memchr(in + pos, '\n', len - pos);
		size_t end = lf ? (size_t)(lf - in) : len, line_end = end;
		int soft;

		if (line_end > pos && in[line_end - 1] == '\r')
			line_end--;
		if (mime_qp_line(in + pos, line_end - pos, out, &soft) < 0)
			return -1;
		/* A hard line break is kept as written (CRLF or LF). */
		if (lf != NULL && !soft &&
		    buf_append(out, in + line_end, end + 1 - line_end) < 0)
			return -1;
		pos = lf ? end + 1 : len;
	}
	return 0;
}

int
mime_decode_body(const char *encoding, const char *in, size_t len,
		 struct buf *out)
{
	if (encoding == NULL || encoding[0] == '\0' ||
	    strcasecmp(encoding, "7bit") == 0 ||
	    strcasecmp(encoding, "8bit") == 0 ||
	    strcasecmp(encoding, "binary") == 0)
		return buf_append(out, in, len);
	if (strcasecmp(encoding, "base64") == 0)
		return mime_base64_decode(in, len, out) < 0 ? -2 : 0;
	if (strcasecmp(encoding, "quoted-printable") == 0)
		return mime_qp_decode(in, len, out) < 0 ? -2 : 0;
	return -1;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629 §4), 0 if invalid. */
static size_t
mime_utf8_seq(const unsigned char *p, size_t len)
{
	size_t n;
	unsigned int cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2, cp = p[0] & 0x1F;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3, cp = p[0] & 0x0F;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return n;
}

/* Copies UTF-8, replacing each invalid byte with U+FFFD. */
static int
mime_utf8_clean(const char *in, size_t len, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t start = 0, i = 0;

	if (len == 0)
		return 0; /* in may be NULL (an empty buffer) */
	while (i < len) {
		size_t n = mime_utf8_seq(p + i, len - i);

		if (n > 0) {
			i += n;
			continue;
		}
		if (buf_append(out, in + start, i - start) < 0 ||
		    buf_append(out, mime_replacement, 3) < 0)
			return -1;
		start = ++i;
	}
	return buf_append(out, in + start, i - start);
}

static bool
mime_charset_is_utf8(const char *cs)
{
	return cs[0] == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	       strcasecmp(cs, "utf8") == 0 ||
	       strcasecmp(cs, "us-ascii") == 0 ||
	       strcasecmp(cs, "ascii") == 0;
}

static int
mime_iconv_run(iconv_t cd, const char *in, size_t len, struct buf *out)
{
	char tmp[4096];
	char *inp = (char *)in;
	size_t left = len;

	for (;;) {
		char *op = tmp;
		size_t oleft = sizeof(tmp);
		size_t r = iconv(cd, left > 0 ? &inp : NULL, &left, &op, &oleft);
		int err = errno;

		if (buf_append(out, tmp, (size_t)(op - tmp)) < 0)
			return -1;
		if (r != (size_t)-1 && left == 0) {
			/* Flush a stateful encoding (ISO-2022-JP). */
			op = tmp;
			oleft = sizeof(tmp);
			iconv(cd, NULL, NULL, &op, &oleft);
			return buf_append(out, tmp, (size_t)(op - tmp));
		}
		if (r == (size_t)-1 && err == E2BIG)
			continue;
		/* EILSEQ/EINVAL: one undecodable byte becomes U+FFFD. */
		if (buf_append(out, mime_replacement, 3) < 0)
			return -1;
		inp++;
		left--;
		iconv(cd, NULL, NULL, NULL, NULL);
		if (left == 0)
			return 0;
	}
}

int
mime_charset_convert(const char *cs, size_t cslen, const char *in,
		     size_t len, struct buf *out)
{
	char name[MIME_MAX_CHARSET + 1];
	iconv_t cd;
	int ret;

	/* RFC 2231 §5: "charset*language" in encoded words. */
	const char *star = memchr(cs, '*', cslen);
	if (star != NULL)
		cslen = (size_t)(star - cs);
	if (cslen > MIME_MAX_CHARSET)
		return 1;
	/* Only plain charset names reach iconv: '/' would select glibc
	 * suffixes such as "//IGNORE", and odd names load gconv modules. */
	for (size_t i = 0; i < cslen; i++)
		if (cs[i] == '\0' ||
		    (!isalnum((unsigned char)cs[i]) && !strchr("-_.:+", cs[i])))
			return 1;
	memcpy(name, cs, cslen);
	name[cslen] = '\0';
	if (mime_charset_is_utf8(name))
		return mime_utf8_clean(in, len, out) < 0 ? -1 : 0;
	cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1)
		return 1;
	ret = mime_iconv_run(cd, in, len, out);
	iconv_close(cd);
	return ret;
}

int
mime_to_utf8(const char *charset, const char *in, size_t len,
	     struct buf *out)
{
	const char *cs = charset != NULL ? charset : "";
	int ret = mime_charset_convert(cs, strlen(cs), in, len, out);

	/* An unknown charset: keep what is valid UTF-8. */
	if (ret == 1)
		ret = mime_utf8_clean(in, len, out);
	return ret < 0 ? -1 : 0;
}
