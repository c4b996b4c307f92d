/*
 * PREVIEW (RFC 8970): a short plain-text summary of a message for a
 * mailbox list. Taken from the first text part meant to be read (in a
 * multipart/alternative the text/plain one, else text/html with its markup
 * removed), transfer-decoded, converted to UTF-8, white space folded to
 * single spaces, at most IMAP_PREVIEW_CHARS characters. Pure: bytes in,
 * text out; the FETCH code calls it on a worker. Also the decoding of one
 * text leaf that SEARCH shares.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../mime/mime.h"
#include "../util/buf.h"
#include "imap_preview.h"

/* Of a text part, at most this much (encoded) is read for the preview:
 * 256 characters come from the first few kilobytes of any real message;
 * a bound keeps a 50 MB text part from being decoded for them. */
#define IMAP_PREVIEW_INPUT (128 * 1024)

static const char *
imap_part_param(const struct mime_part *p, const char *name)
{
	for (size_t i = 0; i < p->n_params; i++)
		if (p->params[i].name != NULL &&
		    strcasecmp(p->params[i].name, name) == 0)
			return p->params[i].value;
	return NULL;
}

static bool
imap_identity_encoding(const char *enc)
{
	return enc == NULL || enc[0] == '\0' || strcasecmp(enc, "7bit") == 0 ||
	       strcasecmp(enc, "8bit") == 0 || strcasecmp(enc, "binary") == 0;
}

static bool
imap_utf8_charset(const char *cs)
{
	/* US-ASCII is a subset of UTF-8; 8-bit bytes in a mislabelled part are
	 * taken as themselves, which is what the sender most likely meant. */
	return cs == NULL || cs[0] == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	       strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
	       strcasecmp(cs, "ascii") == 0;
}

int
imap_leaf_text(const char *msg, size_t msglen, const struct mime_part *p,
	       size_t max, struct buf *tmp, struct buf *tmp2,
	       const char **text_r, size_t *len_r)
{
	const char *text = msg + p->body_off;
	size_t len = p->body_len;
	const char *cs = imap_part_param(p, "charset");

	if (p->body_off > msglen || len > msglen - p->body_off)
		return -1;
	if (len > max)
		len = max;
	if (!imap_identity_encoding(p->encoding)) {
		buf_reset(tmp);
		if (mime_decode_body(p->encoding, text, len, tmp) == 0) {
			text = (const char *)tmp->data;
			len = tmp->len;
		}
	}
	if (!imap_utf8_charset(cs)) {
		buf_reset(tmp2);
		if (mime_to_utf8(cs, text, len, tmp2) == 0) {
			text = (const char *)tmp2->data;
			len = tmp2->len;
		}
	}
	*text_r = text != NULL ? text : "";
	*len_r = text != NULL ? len : 0;
	return 0;
}

static bool
imap_part_is(const struct mime_part *p, const char *subtype)
{
	return p->kind == MIME_KIND_LEAF &&
	       (p->type == NULL || strcasecmp(p->type, "text") == 0) &&
	       (p->subtype == NULL ? strcmp(subtype, "plain") == 0
				   : strcasecmp(p->subtype, subtype) == 0) &&
	       (p->disposition == NULL ||
		strcasecmp(p->disposition, "attachment") != 0);
}

/* The part to summarise: depth first, the first readable text leaf; in
 * a multipart/alternative its text/plain child before its text/html.
 * Attachments and embedded messages are not the message's own text. */
static const struct mime_part *
imap_preview_part(const struct mime_part *p, size_t depth)
{
	const struct mime_part *r;

	if (depth > MIME_MAX_DEPTH)
		return NULL;
	if (imap_part_is(p, "plain") || imap_part_is(p, "html"))
		return p;
	if (p->kind != MIME_KIND_MULTIPART)
		return NULL;
	if (p->subtype != NULL && strcasecmp(p->subtype, "alternative") == 0)
		for (size_t i = 0; i < p->n_children; i++)
			if (imap_part_is(&p->children[i], "plain"))
				return &p->children[i];
	for (size_t i = 0; i < p->n_children; i++)
		if ((r = imap_preview_part(&p->children[i], depth + 1)) != NULL)
			return r;
	return NULL;
}

/* The output: folded text, counted in characters. */
struct imap_preview_out {
	struct buf *b;
	size_t chars;
	bool space;   /* a space is due before the next character */
};

static bool
imap_preview_full(const struct imap_preview_out *o)
{
	return o->chars >= IMAP_PREVIEW_CHARS;
}

/* One character (its UTF-8 bytes); white space becomes one pending
 * space, never leading or trailing. */
static void
imap_preview_put(struct imap_preview_out *o, const char *c, size_t n,
		 bool white)
{
	if (imap_preview_full(o))
		return;
	if (white) {
		o->space = o->b->len > 0;
		return;
	}
	if (o->space) {
		/* No room for a character after it: the preview ends here,
		 * never with a space. */
		if (o->chars + 2 > IMAP_PREVIEW_CHARS) {
			o->chars = IMAP_PREVIEW_CHARS;
			return;
		}
		(void)buf_append(o->b, " ", 1);
		o->space = false;
		o->chars++;
	}
	if (buf_append(o->b, c, n) == 0)
		o->chars++;
}

/* Length of the valid UTF-8 sequence at s[0..len), 0 when invalid. */
static size_t
imap_utf8_len(const unsigned char *s, size_t len)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Text: controls and white space (and U+00A0) fold; bytes that are not
 * UTF-8 become U+FFFD. */
static void
imap_preview_text(struct imap_preview_out *o, const char *t, size_t len)
{
	const unsigned char *s = (const unsigned char *)t;

	for (size_t i = 0; i < len && !imap_preview_full(o);) {
		size_t n = imap_utf8_len(s + i, len - i);

		if (n == 0) {
			imap_preview_put(o, "\xef\xbf\xbd", 3, false);
			i++;
		} else if (n == 1) {
			imap_preview_put(o, t + i, 1, s[i] <= ' ' || s[i] == 0x7f);
			i++;
		} else {
			imap_preview_put(o, t + i, n,
					 n == 2 && s[i] == 0xc2 &&
					 (s[i + 1] == 0xa0 || s[i + 1] < 0xa0));
			i += n;
		}
	}
}

static void
imap_preview_codepoint(struct imap_preview_out *o, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12), n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18), n = 4;
	}
	for (size_t i = 1; i < n; i++)
		u[i] = (char)(0x80 | ((cp >> (6 * (n - 1 - i))) & 0x3f));
	imap_preview_text(o, u, n);
}

/* An HTML character reference at t[0..len) (t[0] == '&'): the
 * characters used, 0 when it is not one we know (then '&' is text). */
static size_t
imap_preview_entity(struct imap_preview_out *o, const char *t, size_t len)
{
	static const struct {
		const char *name;
		uint32_t cp;
	} names[] = {
		{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'},
		{"apos;", '\''}, {"nbsp;", ' '},
	};
	uint32_t cp = 0;
	size_t i = 1;

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		size_t n = strlen(names[k].name);

		if (len - 1 >= n && strncasecmp(t + 1, names[k].name, n) == 0) {
			imap_preview_codepoint(o, names[k].cp);
			return n + 1;
		}
	}
	if (len < 4 || t[1] != '#')
		return 0;
	i = 2;
	if (t[i] == 'x' || t[i] == 'X') {
		for (i = 3; i < len && i < 10 && strchr("0123456789abcdefABCDEF",
						       t[i]) && t[i]; i++)
			cp = cp * 16 + (uint32_t)(t[i] <= '9' ? t[i] - '0'
						  : (t[i] | 0x20) - 'a' + 10);
		if (i == 3)
			return 0;
	} else {
		for (; i < len && i < 10 && t[i] >= '0' && t[i] <= '9'; i++)
			cp = cp * 10 + (uint32_t)(t[i] - '0');
		if (i == 2)
			return 0;
	}
	if (i >= len || t[i] != ';')
		return 0;
	imap_preview_codepoint(o, cp);
	return i + 1;
}

/* true when the tag at t (after '<', optionally '/') is name followed by
 * the end of the name. */
static bool
imap_tag_is(const char *t, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (len > 0 && t[0] == '/')
		t++, len--;
	return len >= n && strncasecmp(t, name, n) == 0 &&
	       (len == n || t[n] == '>' || t[n] == '/' || t[n] == ' ' ||
		t[n] == '\t' || t[n] == '\r' || t[n] == '\n');
}

/* HTML to text: tags go (block tags leave a space), comments, <head>,
 * <style> and <script> go with their content, references are decoded. */
static void
imap_preview_html(struct imap_preview_out *o, const char *t, size_t len)
{
	static const char *const skip[] = {"style", "script", "head", "title"};
	static const char *const block[] = {"br", "p", "div", "li", "tr", "td",
					    "th", "h1", "h2", "h3", "h4", "h5",
					    "h6", "table", "blockquote", "hr"};
	size_t i = 0;

	while (i < len && !imap_preview_full(o)) {
		const char *end;
		size_t n;

		if (t[i] == '&' && (n = imap_preview_entity(o, t + i,
							    len - i)) > 0) {
			i += n;
			continue;
		}
		if (t[i] != '<' || i + 1 >= len) {
			n = 1;
			while (i + n < len && t[i + n] != '<' && t[i + n] != '&')
				n++;
			imap_preview_text(o, t + i, n);
			i += n;
			continue;
		}
		if (len - i >= 4 && memcmp(t + i, "<!--", 4) == 0) {
			end = memmem(t + i + 4, len - i - 4, "-->", 3);
			i = end != NULL ? (size_t)(end - t) + 3 : len;
			continue;
		}
		for (size_t k = 0; k < sizeof(skip) / sizeof(skip[0]); k++) {
			char close[16];
			size_t cn;

			if (t[i + 1] == '/' ||
			    !imap_tag_is(t + i + 1, len - i - 1, skip[k]))
				continue;
			cn = (size_t)snprintf(close, sizeof(close), "</%s",
					      skip[k]);
			/* To the closing tag (case-insensitive), or the end. */
			for (n = i + 1; n + cn <= len; n++)
				if (strncasecmp(t + n, close, cn) == 0)
					break;
			i = n + cn <= len ? n : len;
			break;
		}
		for (size_t k = 0; k < sizeof(block) / sizeof(block[0]); k++)
			if (i < len && t[i] == '<' &&
			    imap_tag_is(t + i + 1, len - i - 1, block[k]))
				imap_preview_put(o, " ", 1, true);
		end = i < len ? memchr(t + i, '>', len - i) : NULL;
		i = end != NULL ? (size_t)(end - t) + 1 : len;
	}
}

int
imap_preview(const char *msg, size_t len, struct buf *out)
{
	struct mime_part *root = NULL;
	const struct mime_part *p;
	struct buf tmp, tmp2;
	struct imap_preview_out o = {.b = out};
	const char *text;
	size_t tlen;

	if (mime_parse(msg, len, &root) < 0)
		return -1;
	p = root != NULL ? imap_preview_part(root, 0) : NULL;
	if (p == NULL) {
		mime_free(&root);
		return 0;
	}
	buf_init(&tmp, 4 * IMAP_PREVIEW_INPUT);
	buf_init(&tmp2, 4 * IMAP_PREVIEW_INPUT);
	if (imap_leaf_text(msg, len, p, IMAP_PREVIEW_INPUT, &tmp, &tmp2, &text,
			   &tlen) == 0) {
		if (p->subtype != NULL && strcasecmp(p->subtype, "html") == 0)
			imap_preview_html(&o, text, tlen);
		else
			imap_preview_text(&o, text, tlen);
	}
	buf_fini(&tmp);
	buf_fini(&tmp2);
	mime_free(&root);
	return 0;
}
