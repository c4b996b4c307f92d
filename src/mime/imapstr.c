/*
 * IMAP strings (RFC 9051 §4.3) and address structures (RFC 9051 §7.5.2,
 * "address") from RFC 5322 §3.4 address lists. The address parser is
 * tolerant: display names without quotes, missing domains, stray
 * brackets and comments are taken as a mail reader would.
 */
#include <stdlib.h>
#include <string.h>

#include "mime_int.h"

int
mime_imap_string(struct buf *out, const char *s, size_t len)
{
	size_t nul = 0;
	bool literal = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		nul += c == 0;
		literal |= c >= 0x80 || c < 0x20 || c == 0x7f;
	}
	if (literal) {
		/* RFC 9051 §4.3: a literal may hold any octet but NUL. */
		if (buf_printf(out, "{%zu}\r\n", len - nul) < 0)
			return -1;
		for (size_t i = 0, run; i < len; i = run + 1) {
			for (run = i; run < len && s[run] != '\0';)
				run++;
			if (buf_append(out, s + i, run - i) < 0)
				return -1;
		}
		return 0;
	}
	if (buf_append(out, "\"", 1) < 0)
		return -1;
	for (size_t i = 0, run; i < len; i = run) {
		for (run = i; run < len && s[run] != '"' && s[run] != '\\';)
			run++;
		if (buf_append(out, s + i, run - i) < 0)
			return -1;
		if (run < len) {
			char esc[2] = {'\\', s[run++]};

			if (buf_append(out, esc, 2) < 0)
				return -1;
		}
	}
	return buf_append(out, "\"", 1);
}

int
mime_imap_nstring(struct buf *out, const char *s)
{
	if (s == NULL)
		return buf_append(out, "NIL", 3);
	return mime_imap_string(out, s, strlen(s));
}

/* ---- RFC 5322 §3.4 addresses ---- */

enum mime_tok_kind {
	MIME_TOK_END = 0,
	MIME_TOK_ATOM,    /* atom or domain literal */
	MIME_TOK_QUOTED,  /* quoted-string, start/len include the quotes */
	MIME_TOK_SPECIAL, /* one of < > @ , ; : . */
};

struct mime_tok {
	enum mime_tok_kind kind;
	size_t start, len;
	char ch; /* the character of a MIME_TOK_SPECIAL */
	bool ws_before;
};

struct mime_addr_ctx {
	const char *v;
	size_t len, i;
	struct mime_tok *toks; /* the current element's words */
	size_t n, cap;
	size_t cmt_start, cmt_len; /* last comment, a fallback name */
	struct buf name, adl, local, domain, *out;
	size_t count;
	mime_addr_cb cb; /* mime_addresses: each mailbox goes here instead */
	void *cb_arg;
};

static void
mime_tok_next(struct mime_addr_ctx *c, struct mime_tok *t)
{
	const char *v = c->v;
	size_t len = c->len, i = c->i;

	t->ws_before = false;
	for (; i < len; i++) {
		if (v[i] == '(') {
			size_t s = i + 1;
			int depth = 1;

			for (i++; i < len && depth > 0; i++) {
				if (v[i] == '\\')
					i++;
				else if (v[i] == '(')
					depth++;
				else if (v[i] == ')')
					depth--;
			}
			i = i > len ? len : i;
			c->cmt_start = s;
			c->cmt_len = i - s - (depth == 0);
			i--;
		} else if (!strchr(" \t\r\n", v[i]))
			break;
		t->ws_before = true;
	}
	t->start = i;
	t->ch = '\0';
	if (i >= len) {
		t->kind = MIME_TOK_END;
		t->len = 0;
	} else if (strchr("<>@,;:.", v[i]) != NULL) {
		t->kind = MIME_TOK_SPECIAL;
		t->ch = v[i++];
	} else if (v[i] == '"') {
		t->kind = MIME_TOK_QUOTED;
		for (i++; i < len && v[i] != '"'; i++)
			i += v[i] == '\\';
		i = i < len ? i + 1 : len;
	} else if (v[i] == '[') {
		t->kind = MIME_TOK_ATOM;
		while (i < len && v[i] != ']')
			i++;
		i = i < len ? i + 1 : len;
	} else {
		t->kind = MIME_TOK_ATOM;
		while (i < len && !strchr("()<>@,;:.\"[] \t\r\n\\", v[i]))
			i++;
		if (i == t->start)
			i++; /* a stray '\\', ']' or ')' is a word of its own */
	}
	t->len = i - t->start;
	c->i = i;
}

static bool
mime_tok_is(const struct mime_tok *t, char ch)
{
	return t->kind == MIME_TOK_SPECIAL && t->ch == ch;
}

static int
mime_tok_push(struct mime_addr_ctx *c, const struct mime_tok *t)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct mime_tok *nt = realloc(c->toks, cap * sizeof(*nt));

		if (nt == NULL)
			return -1;
		c->toks = nt;
		c->cap = cap;
	}
	c->toks[c->n++] = *t;
	return 0;
}

/* A display name: words joined by one space where the source had white
 * space, quoted strings unquoted. */
static int
mime_render_phrase(struct mime_addr_ctx *c, size_t to, struct buf *b)
{
	for (size_t k = 0; k < to; k++) {
		const struct mime_tok *t = &c->toks[k];
		const char *s = c->v + t->start;

		if (k > 0 && t->ws_before && buf_append(b, " ", 1) < 0)
			return -1;
		if (t->kind != MIME_TOK_QUOTED) {
			if (buf_append(b, s, t->len) < 0)
				return -1;
			continue;
		}
		for (size_t j = 1; j + 1 <= t->len; j++) {
			if (j + 1 == t->len && s[j] == '"')
				break;
			j += s[j] == '\\' && j + 2 < t->len;
			if (s[j] != '\r' && s[j] != '\n' &&
			    buf_append(b, s + j, 1) < 0)
				return -1;
		}
	}
	return 0;
}

/* A local part or domain: the words as written, without white space. */
static int
mime_render_raw(struct mime_addr_ctx *c, size_t from, size_t to,
		struct buf *b)
{
	for (size_t k = from; k < to; k++)
		if (buf_append(b, c->v + c->toks[k].start, c->toks[k].len) < 0)
			return -1;
	return 0;
}

static int
mime_emit_str(struct buf *out, const struct buf *b, const char *missing)
{
	if (b->len > 0)
		return mime_imap_string(out, (const char *)b->data, b->len);
	if (missing != NULL)
		return mime_imap_nstring(out, missing);
	return buf_append(out, "NIL", 3);
}

/* Writes one address from c->name/adl/local/domain. Dovecot fills a
 * missing mailbox or domain so that host is never NIL (which would mean
 * a group, RFC 9051 §7.5.2). */
static int
mime_emit_addr(struct mime_addr_ctx *c)
{
	struct buf *o = c->out;

	if (c->cb != NULL) {
		c->count++;
		return c->cb((const char *)c->local.data, c->local.len,
			     (const char *)c->domain.data, c->domain.len,
			     c->cb_arg);
	}
	if (buf_append(o, "(", 1) < 0 || mime_emit_str(o, &c->name, NULL) < 0 ||
	    buf_append(o, " ", 1) < 0 || mime_emit_str(o, &c->adl, NULL) < 0 ||
	    buf_append(o, " ", 1) < 0 ||
	    mime_emit_str(o, &c->local, "MISSING_MAILBOX") < 0 ||
	    buf_append(o, " ", 1) < 0 ||
	    mime_emit_str(o, &c->domain, "MISSING_DOMAIN") < 0 ||
	    buf_append(o, ")", 1) < 0)
		return -1;
	c->count++;
	return 0;
}

static void
mime_elem_reset(struct mime_addr_ctx *c)
{
	c->n = 0;
	c->cmt_len = 0;
	buf_reset(&c->name);
	buf_reset(&c->adl);
	buf_reset(&c->local);
	buf_reset(&c->domain);
}

/* Reads words (dots included) up to the next other special or the end,
 * which is left in *t. */
static int
mime_read_words(struct mime_addr_ctx *c, struct mime_tok *t)
{
	for (;;) {
		mime_tok_next(c, t);
		if (t->kind == MIME_TOK_END ||
		    (t->kind == MIME_TOK_SPECIAL && t->ch != '.'))
			return 0;
		if (mime_tok_push(c, t) < 0)
			return -1;
	}
}

/* RFC 5322 §4.4 obs-route "@a,@b:" at the start of an angle address. */
static void
mime_route(struct mime_addr_ctx *c)
{
	size_t save = c->i, k;
	struct mime_tok t;

	mime_tok_next(c, &t);
	if (!mime_tok_is(&t, '@')) {
		c->i = save;
		return;
	}
	for (k = t.start; k < c->len && c->v[k] != ':' && c->v[k] != '>';)
		k++;
	if (k >= c->len || c->v[k] != ':') {
		c->i = save;
		return;
	}
	for (size_t j = t.start; j < k; j++)
		if (!strchr(" \t\r\n", c->v[j]) &&
		    buf_append(&c->adl, c->v + j, 1) < 0)
			return;
	c->i = k + 1;
}

/* After '<': [route] local-part ["@" domain] ">". A ',' or ';' before the
 * '>' is left for the caller (a missing '>'). */
static int
mime_angle(struct mime_addr_ctx *c)
{
	size_t mark = c->n;
	struct mime_tok t;

	if (mime_render_phrase(c, mark, &c->name) < 0)
		return -1;
	mime_route(c);
	if (mime_read_words(c, &t) < 0 ||
	    mime_render_raw(c, mark, c->n, &c->local) < 0)
		return -1;
	c->n = mark;
	if (mime_tok_is(&t, '@')) {
		if (mime_read_words(c, &t) < 0 ||
		    mime_render_raw(c, mark, c->n, &c->domain) < 0)
			return -1;
	}
	if (t.kind == MIME_TOK_SPECIAL && t.ch != '>')
		c->i = t.start;
	return mime_emit_addr(c);
}

/* addr-spec without angle brackets; the words before '@' are the local
 * part. A trailing comment is the name, as Dovecot takes it. */
static int
mime_addr_spec(struct mime_addr_ctx *c)
{
	struct mime_tok t;
	size_t mark;

	if (mime_render_raw(c, 0, c->n, &c->local) < 0)
		return -1;
	mark = c->n = 0;
	if (mime_read_words(c, &t) < 0 ||
	    mime_render_raw(c, mark, c->n, &c->domain) < 0)
		return -1;
	if (t.kind == MIME_TOK_SPECIAL)
		c->i = t.start;
	if (c->cmt_len > 0 &&
	    mime_unfold(c->v + c->cmt_start, c->cmt_len, &c->name) < 0)
		return -1;
	return mime_emit_addr(c);
}

static int mime_addr_list(struct mime_addr_ctx *c, bool in_group);

/* RFC 5322 §3.4 group: "(NIL NIL name NIL) members (NIL NIL NIL NIL)". */
static int
mime_group(struct mime_addr_ctx *c)
{
	struct buf *o = c->out;

	bool mark = c->cb == NULL; /* mime_addresses wants mailboxes only */

	if (mime_render_phrase(c, c->n, &c->name) < 0 ||
	    (mark && (buf_append(o, "(NIL NIL ", 9) < 0 ||
		      mime_imap_string(o, (const char *)c->name.data,
				       c->name.len) < 0 ||
		      buf_append(o, " NIL)", 5) < 0)))
		return -1;
	mime_elem_reset(c);
	if (mime_addr_list(c, true) < 0 ||
	    (mark && buf_append(o, "(NIL NIL NIL NIL)", 17) < 0))
		return -1;
	c->count += 2;
	return 0;
}

static int
mime_addr_elem(struct mime_addr_ctx *c, const struct mime_tok *t,
	       bool in_group, bool *done)
{
	if (*done) {
		c->n = 0; /* junk after a complete address */
		return 0;
	}
	if (mime_tok_is(t, '<')) {
		*done = true;
		return mime_angle(c);
	}
	if (mime_tok_is(t, ':') && !in_group) {
		*done = true;
		return mime_group(c);
	}
	if (mime_tok_is(t, '@')) {
		*done = true;
		return mime_addr_spec(c);
	}
	return 0; /* a stray '>' or ':' */
}

static int
mime_addr_list(struct mime_addr_ctx *c, bool in_group)
{
	struct mime_tok t;
	bool done = false;

	mime_elem_reset(c);
	for (;;) {
		if (mime_read_words(c, &t) < 0)
			return -1;
		if (t.kind != MIME_TOK_END && !mime_tok_is(&t, ',') &&
		    !mime_tok_is(&t, ';')) {
			if (mime_addr_elem(c, &t, in_group, &done) < 0)
				return -1;
			continue;
		}
		/* Words alone: a local part without a domain. */
		if (!done && c->n > 0 &&
		    (mime_render_raw(c, 0, c->n, &c->local) < 0 ||
		     mime_emit_addr(c) < 0))
			return -1;
		done = false;
		mime_elem_reset(c);
		if (t.kind == MIME_TOK_END || (in_group && mime_tok_is(&t, ';')))
			return 0;
	}
}

static int mime_addr_run(struct mime_addr_ctx *c, struct buf *out);

int
mime_imap_addresses(struct buf *out, const char *v, size_t len)
{
	struct mime_addr_ctx c = {.v = v, .len = len};

	return mime_addr_run(&c, out);
}

int
mime_addresses(const char *v, size_t len, mime_addr_cb cb, void *arg)
{
	struct mime_addr_ctx c = {.v = v, .len = len, .cb = cb, .cb_arg = arg};
	struct buf scratch;
	int ret;

	/* Nothing is written: mailboxes go to cb, group markers nowhere. */
	buf_init(&scratch, 64);
	ret = mime_addr_run(&c, &scratch);
	buf_fini(&scratch);
	return ret;
}

static int
mime_addr_run(struct mime_addr_ctx *cp, struct buf *out)
{
	struct mime_addr_ctx c = *cp;
	size_t len = c.len;
	struct buf list;
	int ret = -1;

	buf_init(&list, out->max);
	buf_init(&c.name, len + 1);
	buf_init(&c.adl, len + 1);
	buf_init(&c.local, len + 1);
	buf_init(&c.domain, len + 1);
	c.out = &list;
	if (mime_addr_list(&c, false) < 0)
		goto out;
	if (c.count == 0)
		ret = buf_append(out, "NIL", 3);
	else if (buf_append(out, "(", 1) == 0 &&
		 buf_append(out, list.data, list.len) == 0)
		ret = buf_append(out, ")", 1);
out:
	free(c.toks);
	buf_fini(&list);
	buf_fini(&c.name);
	buf_fini(&c.adl);
	buf_fini(&c.local);
	buf_fini(&c.domain);
	return ret;
}
