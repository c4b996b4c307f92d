/*
 * RFC 5322 header fields: the header block, field iteration, unfolding and
 * RFC 2047 encoded words. Bare LF is accepted wherever CRLF is (messages
 * appended over IMAP are often LF-only).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/str.h"
#include "mime_int.h"

/* Index of the byte after the LF ending the line at pos, or len. */
static size_t
mime_line_next(const char *p, size_t len, size_t pos)
{
	const char *lf = memchr(p + pos, '\n', len - pos);

	return lf != NULL ? (size_t)(lf - p) + 1 : len;
}

/* True when the line at pos is empty (CRLF, LF, or a lone CR at the end). */
static bool
mime_line_empty(const char *p, size_t len, size_t pos)
{
	if (p[pos] == '\n')
		return true;
	return p[pos] == '\r' && (pos + 1 == len || p[pos + 1] == '\n');
}

size_t
mime_header_block_len(const char *p, size_t len)
{
	size_t pos = 0;

	/* RFC 5322 §2.1: the header ends at the first empty line. */
	while (pos < len) {
		if (mime_line_empty(p, len, pos))
			return mime_line_next(p, len, pos);
		pos = mime_line_next(p, len, pos);
	}
	return len;
}

size_t
mime_count_lines(const char *p, size_t len)
{
	size_t n = 0;
	const char *end = p + len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

int
mime_next_field(const char *hdr, size_t len, size_t *pos,
		struct mime_field *field)
{
	while (*pos < len) {
		size_t start = *pos, end, colon;
		const char *c;

		if (mime_line_empty(hdr, len, start))
			return 0;
		end = mime_line_next(hdr, len, start);
		/* RFC 5322 §2.2.3: continuation lines begin with WSP. */
		while (end < len && (hdr[end] == ' ' || hdr[end] == '\t'))
			end = mime_line_next(hdr, len, end);
		*pos = end;
		/* A continuation with no field before it, or a line without a
		 * colon, is not a field: skip it. */
		if (hdr[start] == ' ' || hdr[start] == '\t')
			continue;
		c = memchr(hdr + start, ':', mime_line_next(hdr, len, start) -
						     start);
		if (c == NULL)
			continue;
		colon = (size_t)(c - hdr);
		field->name = hdr + start;
		field->name_len = colon - start;
		/* RFC 5322 §4.5.3 (obsolete): WSP before the colon. */
		while (field->name_len > 0 &&
		       (field->name[field->name_len - 1] == ' ' ||
			field->name[field->name_len - 1] == '\t'))
			field->name_len--;
		if (field->name_len == 0)
			continue;
		if (end > colon + 1 && hdr[end - 1] == '\n')
			end--;
		if (end > colon + 1 && hdr[end - 1] == '\r')
			end--;
		field->value = hdr + colon + 1;
		field->value_len = end - colon - 1;
		return 1;
	}
	return 0;
}

bool
mime_field_is(const struct mime_field *f, const char *name)
{
	return str_ieq(f->name, f->name_len, name);
}

int
mime_unfold(const char *v, size_t len, struct buf *out)
{
	size_t start = out->len;

	for (size_t i = 0; i < len; i++) {
		size_t run = i;

		while (run < len && v[run] != '\r' && v[run] != '\n' &&
		       v[run] != '\0')
			run++;
		if (buf_append(out, v + i, run - i) < 0)
			return -1;
		i = run;
	}
	if (out->len == start)
		return 0;
	/* Trim white space at both ends of what was appended. */
	size_t s = start;
	while (s < out->len && (out->data[s] == ' ' || out->data[s] == '\t'))
		s++;
	memmove(out->data + start, out->data + s, out->len - s);
	out->len -= s - start;
	while (out->len > start && (out->data[out->len - 1] == ' ' ||
				    out->data[out->len - 1] == '\t'))
		out->len--;
	return 0;
}

char *
mime_unfold_dup(const char *v, size_t len)
{
	struct buf b;
	char *s;

	buf_init(&b, len + 1);
	if (mime_unfold(v, len, &b) < 0 || buf_append(&b, "", 1) < 0) {
		buf_fini(&b);
		return NULL;
	}
	s = (char *)b.data;
	if (s == NULL)
		s = calloc(1, 1);
	return s;
}

/* ---- RFC 2047 encoded words ---- */

/* Bytes decoded from consecutive encoded words in one charset, converted
 * together: a multi-byte character may be split across words. */
struct mime_ew_pending {
	struct buf bytes;
	const char *cs;
	size_t cs_len;
	const char *raw; /* the words as written, kept if undecodable */
	size_t raw_len;
};

static int
mime_ew_flush(struct mime_ew_pending *pw, struct buf *out)
{
	int ret = 0;

	if (pw->raw == NULL)
		return 0;
	ret = mime_charset_convert(pw->cs, pw->cs_len,
				   (const char *)pw->bytes.data, pw->bytes.len,
				   out);
	/* RFC 2047 §6.2: an unknown charset leaves the words as written. */
	if (ret == 1)
		ret = buf_append(out, pw->raw, pw->raw_len);
	buf_reset(&pw->bytes);
	pw->raw = NULL;
	return ret < 0 ? -1 : 0;
}

/* Parses "=?cs?e?text?=" at v[i..len): its length, or 0 if not one. */
static size_t
mime_ew_parse(const char *v, size_t len, size_t i, size_t *cs_len_r,
	      char *enc_r, size_t *text_off_r, size_t *text_len_r)
{
	size_t p = i + 2, cs_start = p;

	if (i + 2 > len || v[i] != '=' || v[i + 1] != '?')
		return 0;
	while (p < len && v[p] != '?' && v[p] != ' ' && v[p] != '\t')
		p++;
	if (p == cs_start || p + 3 >= len || v[p] != '?' || v[p + 2] != '?')
		return 0;
	*cs_len_r = p - cs_start;
	*enc_r = v[p + 1];
	if (strchr("BbQq", *enc_r) == NULL)
		return 0;
	p += 3;
	*text_off_r = p;
	/* The text holds no '?' and no white space (RFC 2047 §5). */
	while (p + 1 < len && !(v[p] == '?' && v[p + 1] == '=')) {
		if (v[p] == ' ' || v[p] == '\t' || v[p] == '?')
			return 0;
		p++;
	}
	if (p + 1 >= len)
		return 0;
	*text_len_r = p - *text_off_r;
	return p + 2 - i;
}

/* Handles an encoded word at v[i]; *n_r is its length, 0 if none. */
static int
mime_ew_take(const char *v, size_t len, size_t i,
	     struct mime_ew_pending *pw, struct buf *out, size_t *n_r)
{
	size_t cs_len, toff, tlen;
	char enc;
	size_t n = mime_ew_parse(v, len, i, &cs_len, &enc, &toff, &tlen);

	*n_r = n;
	if (n == 0)
		return 0;
	if (pw->raw != NULL && (pw->cs_len != cs_len ||
				strncasecmp(pw->cs, v + i + 2, cs_len) != 0)) {
		if (mime_ew_flush(pw, out) < 0)
			return -1;
	}
	if (pw->raw == NULL) {
		pw->cs = v + i + 2;
		pw->cs_len = cs_len;
		pw->raw = v + i;
	}
	pw->raw_len = (size_t)(v + i + n - pw->raw);
	if (enc == 'B' || enc == 'b')
		return mime_base64_decode(v + toff, tlen, &pw->bytes);
	return mime_q_decode(v + toff, tlen, &pw->bytes);
}

/* Flushes pending encoded words, then plain text v[from..to). */
static int
mime_plain_flush(struct mime_ew_pending *pw, const char *v, size_t from,
		 size_t to, struct buf *out)
{
	if (from >= to)
		return 0;
	if (mime_ew_flush(pw, out) < 0)
		return -1;
	/* Raw 8-bit header text is taken as UTF-8 (RFC 6532). */
	return mime_charset_convert("utf-8", 5, v + from, to - from, out);
}

static int
mime_decode_words(const char *v, size_t len, struct buf *out)
{
	struct mime_ew_pending pw = {.raw = NULL};
	size_t i = 0, plain = 0, n, ws, cl, to, tl;
	char enc;
	int ret = -1;

	buf_init(&pw.bytes, len + 1);
	while (i < len) {
		for (ws = i; ws < len && (v[ws] == ' ' || v[ws] == '\t');)
			ws++;
		/* RFC 2047 §6.2: white space between two encoded words is
		 * dropped. */
		if (ws > i && pw.raw != NULL && plain == i &&
		    mime_ew_parse(v, len, ws, &cl, &enc, &to, &tl) > 0)
			i = plain = ws;
		else if (ws > i) {
			i = ws;
			continue;
		}
		if (v[i] != '=' || mime_ew_parse(v, len, i, &cl, &enc, &to,
						 &tl) == 0) {
			i++;
			continue;
		}
		if (plain < i && mime_plain_flush(&pw, v, plain, i, out) < 0)
			goto out;
		if (mime_ew_take(v, len, i, &pw, out, &n) < 0)
			goto out;
		i = plain = i + n;
	}
	if (mime_plain_flush(&pw, v, plain, len, out) < 0)
		goto out;
	ret = mime_ew_flush(&pw, out);
out:
	buf_fini(&pw.bytes);
	return ret;
}

int
mime_decode_header(const char *value, size_t len, struct buf *out)
{
	struct buf unf;
	int ret;

	buf_init(&unf, len + 1);
	ret = mime_unfold(value, len, &unf);
	if (ret == 0)
		ret = mime_decode_words((const char *)unf.data, unf.len, out);
	buf_fini(&unf);
	return ret;
}
