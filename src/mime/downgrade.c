/*
 * 8-bit to 7-bit conversion for a next hop without 8BITMIME (RFC 6152 §3,
 * RFC 2045 §6). The message is parsed once; every part whose bytes are
 * already 7-bit is copied as it is, a leaf with 8-bit content is
 * re-encoded (quoted-printable for text, base64 otherwise, RFC 2045
 * §6.7-6.8) with its Content-Transfer-Encoding field replaced, and a
 * multipart is rebuilt from its own boundary lines around its children.
 * What may not be re-encoded (8-bit header fields, message/ and
 * multipart/ entities, RFC 2045 §6.4) makes the whole conversion fail.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/base64.h"
#include "../util/str.h"
#include "mime_int.h"

/* RFC 2045 §6.7 rule 5, §6.8: encoded lines are at most 76 characters. */
#define MIME_DG_LINE 76

/* Result of one step: the output's ok, the input cannot be converted, or
 * memory ran out (the values mime_downgrade_7bit returns). */
#define MIME_DG_OK 0
#define MIME_DG_CANNOT 1
#define MIME_DG_NOMEM (-1)

/* Copies a range that must be 7-bit already (boundary lines, headers). */
static int
mime_dg_copy7(const char *p, size_t len, struct buf *out)
{
	if (str_has_8bit(p, len))
		return MIME_DG_CANNOT;
	return buf_append(out, p, len) < 0 ? MIME_DG_NOMEM : MIME_DG_OK;
}

/* --- RFC 2045 §6.7 quoted-printable ------------------------------------ */

struct mime_dg_qp {
	struct buf *out;
	size_t col; /* characters on the current encoded line */
};

/* Emits one encoded token (1 or 3 characters) of a line; last says no
 * other token of the same line follows, so it may end at column 76
 * without a soft break after it (RFC 2045 §6.7 rule 5). */
static int
mime_dg_qp_token(struct mime_dg_qp *q, const char *t, size_t n, bool last)
{
	if (q->col + n > (last ? MIME_DG_LINE : MIME_DG_LINE - 1)) {
		if (buf_append(q->out, "=\r\n", 3) < 0)
			return -1;
		q->col = 0;
		/* A soft break must not turn text into a boundary line
		 * (RFC 2046 §5.1.1): a "-" opening the next line is
		 * written "=2D". */
		if (n == 1 && t[0] == '-') {
			t = "=2D";
			n = 3;
		}
	}
	q->col += n;
	return buf_append(q->out, t, n);
}

/* One line of text without its CRLF. Rule 2: printable ASCII but "="
 * stands for itself; rule 3: space and tab too, except at the end of a
 * line, where they would be taken for padding; every other octet (8-bit,
 * controls, a CR or LF that is not part of a CRLF) is "=XX". */
static int
mime_dg_qp_line(struct mime_dg_qp *q, const unsigned char *p, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		bool last = i + 1 == len;
		bool lit = (c >= 33 && c <= 126 && c != '=') ||
		           ((c == ' ' || c == '\t') && !last);
		char t[3] = {'=', hex[c >> 4], hex[c & 15]};

		if (lit ? mime_dg_qp_token(q, (const char *)&p[i], 1, last)
		        : mime_dg_qp_token(q, t, 3, last))
			return -1;
	}
	return 0;
}

/* Text: CRLF are the line breaks (RFC 2045 §6.7 rule 4, RFC 2049 §4
 * canonical form) and stay CRLF; every other octet is kept exactly, so
 * decoding gives back the original bytes. */
static int
mime_dg_qp_encode(const char *in, size_t len, struct buf *out)
{
	struct mime_dg_qp q = {out, 0};
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos;

		while (end < len && !(in[end] == '\r' && end + 1 < len &&
		                      in[end + 1] == '\n'))
			end++;
		if (mime_dg_qp_line(&q, (const unsigned char *)in + pos,
		                    end - pos) < 0)
			return -1;
		if (end == len)
			break;
		if (buf_append(out, "\r\n", 2) < 0)
			return -1;
		q.col = 0;
		pos = end + 2;
	}
	return 0;
}

/* RFC 2045 §6.8: base64 in lines of 76 characters, each ending CRLF. */
static int
mime_dg_b64_encode(const char *in, size_t len, struct buf *out)
{
	/* 57 octets are one 76-character line. */
	const size_t chunk = MIME_DG_LINE / 4 * 3;
	char line[MIME_DG_LINE + 1];

	for (size_t pos = 0; pos < len; pos += chunk) {
		size_t n = len - pos < chunk ? len - pos : chunk;

		base64_encode(in + pos, n, line);
		if (buf_append(out, line, BASE64_ENCODED_LEN(n)) < 0 ||
		    buf_append(out, "\r\n", 2) < 0)
			return -1;
	}
	return 0;
}

/* --- header sections --------------------------------------------------- */

size_t
mime_fields_len(const char *h, size_t len)
{
	if (len >= 2 && h[len - 1] == '\n' && h[len - 2] == '\r' &&
	    (len == 2 || h[len - 3] == '\n'))
		return len - 2;
	if (len >= 1 && h[len - 1] == '\n' && (len == 1 || h[len - 2] == '\n'))
		return len - 1;
	return len;
}

/* Copies a header block without its Content-Transfer-Encoding fields
 * (with their continuation lines), adding "Content-Transfer-Encoding:
 * cte" and, for the top-level header, "MIME-Version: 1.0" when missing
 * (RFC 2045 §4: the other fields mean nothing without it). */
static int
mime_dg_header(const char *h, size_t len, const char *cte, bool top,
               struct buf *out)
{
	size_t flen = mime_fields_len(h, len), pos = 0, copied = 0;
	struct mime_field f;
	bool has_mv = false;

	if (str_has_8bit(h, len))
		return MIME_DG_CANNOT;
	/* The fields as the parser reads them (mime_next_field: names
	 * with obsolete white space before the colon, continuation
	 * lines), so the field dropped is the one it would have used. */
	while (mime_next_field(h, flen, &pos, &f) == 1) {
		has_mv |= mime_field_is(&f, "mime-version");
		if (!mime_field_is(&f, "content-transfer-encoding"))
			continue;
		if (buf_append(out, h + copied, (size_t)(f.name - h) - copied) <
		    0)
			return MIME_DG_NOMEM;
		copied = pos;
	}
	if (buf_append(out, h + copied, flen - copied) < 0)
		return MIME_DG_NOMEM;
	/* A last field without its line break gets one. */
	if (flen > 0 && h[flen - 1] != '\n' && buf_append(out, "\r\n", 2) < 0)
		return MIME_DG_NOMEM;
	if ((top && !has_mv && buf_append(out, "MIME-Version: 1.0\r\n", 19)) ||
	    buf_printf(out, "Content-Transfer-Encoding: %s\r\n", cte) < 0 ||
	    buf_append(out, h + flen, len - flen) < 0)
		return MIME_DG_NOMEM;
	if (len == flen && buf_append(out, "\r\n", 2) < 0)
		return MIME_DG_NOMEM;
	return MIME_DG_OK;
}

/* The media type the header declares, not the one the parser settled on:
 * beyond MIME_MAX_DEPTH or MIME_MAX_PARTS a multipart or message part is
 * read as application/octet-stream, and must still not be re-encoded.
 * true when the part is (or was declared) multipart/ or message/. */
static bool
mime_dg_composite(const char *msg, const struct mime_part *p)
{
	struct mime_field f;
	size_t pos = 0;
	char *type = NULL, *sub = NULL;
	struct mime_param *params = NULL;
	size_t n = 0;

	while (mime_next_field(msg + p->header_off, p->header_len, &pos, &f) ==
	       1) {
		if (!mime_field_is(&f, "content-type"))
			continue;
		if (mime_parse_ctype(f.value, f.value_len, &type, &sub, &params,
		                     &n) < 0)
			return true; /* out of memory: refuse, safely */
		bool comp = type != NULL && (strcmp(type, "multipart") == 0 ||
		                             strcmp(type, "message") == 0);
		free(type);
		free(sub);
		mime_params_free(params, n);
		return comp;
	}
	/* No Content-Type: text/plain, unless the parser's type says
	 * otherwise (a digest's message/rfc822 default, cut off). */
	return strcmp(p->type, "text") != 0;
}

/* --- the part tree ----------------------------------------------------- */

static int mime_dg_entity(const char *msg, const struct mime_part *p, bool top,
                          struct buf *out);

/* A leaf with 8-bit octets in its body: its content (decoded first when
 * it claims quoted-printable or base64 and still holds raw 8-bit bytes)
 * re-encoded. Text becomes quoted-printable; base64 content and other
 * types become base64. */
static int
mime_dg_leaf(const char *msg, const struct mime_part *p, bool top,
             struct buf *out)
{
	const char *enc = p->encoding != NULL ? p->encoding : "";
	const char *body = msg + p->body_off;
	struct buf dec;
	bool b64 = strcmp(enc, "base64") == 0;
	bool qp = strcmp(p->type, "text") == 0 && !b64;
	int ret;

	if (mime_dg_composite(msg, p))
		return MIME_DG_CANNOT;
	buf_init(&dec, p->body_len + 1);
	if (b64 || strcmp(enc, "quoted-printable") == 0) {
		if (mime_decode_body(enc, body, p->body_len, &dec) < 0) {
			buf_fini(&dec);
			return MIME_DG_NOMEM;
		}
		body = (const char *)dec.data;
	} else if (enc[0] != '\0' && strcmp(enc, "7bit") != 0 &&
	           strcmp(enc, "8bit") != 0 && strcmp(enc, "binary") != 0) {
		/* An unknown encoding (x-uuencode...) we cannot undo. */
		buf_fini(&dec);
		return MIME_DG_CANNOT;
	}
	size_t blen = body == msg + p->body_off ? p->body_len : dec.len;

	ret = mime_dg_header(msg + p->header_off, p->header_len,
	                     qp ? "quoted-printable" : "base64", top, out);
	if (ret == MIME_DG_OK && (qp ? mime_dg_qp_encode(body, blen, out)
	                             : mime_dg_b64_encode(body, blen, out)) < 0)
		ret = MIME_DG_NOMEM;
	buf_fini(&dec);
	return ret;
}

/* A range of a multipart body outside its parts: the preamble and first
 * delimiter, the delimiters between parts, the close delimiter and the
 * epilogue. RFC 2046 §5.1.1: preamble and epilogue are to be ignored, so
 * 8-bit text there is dropped; the boundary lines themselves are kept.
 * first: the range ends with the delimiter line (the preamble comes
 * before it); otherwise it starts with the delimiter (line break, then
 * "--boundary", the epilogue after the close delimiter's line). */
static int
mime_dg_frame(const char *p, size_t len, bool first, struct buf *out)
{
	size_t keep_off = 0, keep_len = len;

	if (!str_has_8bit(p, len))
		return buf_append(out, p, len) < 0 ? MIME_DG_NOMEM : MIME_DG_OK;
	if (first) {
		/* The delimiter line: after the last LF before the end. */
		size_t i = len > 1 ? len - 1 : 0;

		while (i > 0 && p[i - 1] != '\n')
			i--;
		keep_off = i;
		keep_len = len - i;
	} else {
		/* The line break, then the delimiter line with its LF. */
		size_t i = 0;

		while (i < len && p[i] != '-')
			i++;
		const char *lf = memchr(p + i, '\n', len - i);

		keep_len = lf != NULL ? (size_t)(lf - p) + 1 : len;
	}
	return mime_dg_copy7(p + keep_off, keep_len, out);
}

static int
mime_dg_multipart(const char *msg, const struct mime_part *p, bool top,
                  struct buf *out)
{
	size_t pos = p->body_off, end = p->body_off + p->body_len;
	int ret;

	/* Without parts the body is opaque to us (RFC 2045 §6.4: a
	 * multipart may not be encoded). */
	if (p->n_children == 0)
		return MIME_DG_CANNOT;
	/* RFC 2045 §6.4: once every part is 7-bit, so is the multipart. */
	ret = mime_dg_header(msg + p->header_off, p->header_len, "7bit", top,
	                     out);
	for (size_t i = 0; ret == MIME_DG_OK && i < p->n_children; i++) {
		const struct mime_part *c = &p->children[i];

		ret =
		    mime_dg_frame(msg + pos, c->header_off - pos, i == 0, out);
		if (ret == MIME_DG_OK)
			ret = mime_dg_entity(msg, c, false, out);
		pos = c->body_off + c->body_len;
	}
	if (ret == MIME_DG_OK)
		ret = mime_dg_frame(msg + pos, end - pos, false, out);
	return ret;
}

static int
mime_dg_entity(const char *msg, const struct mime_part *p, bool top,
               struct buf *out)
{
	size_t len = p->body_off + p->body_len - p->header_off;

	if (!str_has_8bit(msg + p->header_off, len))
		return buf_append(out, msg + p->header_off, len) < 0
		           ? MIME_DG_NOMEM
		           : MIME_DG_OK;
	if (str_has_8bit(msg + p->header_off, p->header_len))
		return MIME_DG_CANNOT;
	if (p->kind == MIME_KIND_MULTIPART)
		return mime_dg_multipart(msg, p, top, out);
	/* An embedded message with 8-bit octets would need its own
	 * header and parts rewritten inside a 7bit wrapper; RFC 2045
	 * §6.4 forbids encoding it, and we do not go that far. */
	if (p->kind == MIME_KIND_MESSAGE)
		return MIME_DG_CANNOT;
	return mime_dg_leaf(msg, p, top, out);
}

/* Parts in the tree, the root included. */
static size_t
mime_dg_count(const struct mime_part *p)
{
	size_t n = 1;

	for (size_t i = 0; i < p->n_children; i++)
		n += mime_dg_count(&p->children[i]);
	return n;
}

int
mime_downgrade_7bit(const char *msg, size_t len, struct buf *out)
{
	struct mime_part *root = NULL;
	size_t start = out->len;
	int ret;

	if (!str_has_8bit(msg, len))
		return buf_append(out, msg, len) < 0 ? MIME_DG_NOMEM
		                                     : MIME_DG_OK;
	if (mime_parse(msg, len, &root) < 0)
		return MIME_DG_NOMEM;
	/* Past MIME_MAX_PARTS the parser reads further boundaries as text
	 * of the last part; re-encoding that text would hide parts from
	 * the receiver, or show it parts whose encoding we changed. */
	ret = mime_dg_count(root) >= MIME_MAX_PARTS
	          ? MIME_DG_CANNOT
	          : mime_dg_entity(msg, root, true, out);
	mime_free(&root);
	if (ret != MIME_DG_OK)
		out->len = start;
	return ret;
}
