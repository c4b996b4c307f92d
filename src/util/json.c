/*
 * JSON tokenizer (RFC 8259): recursive descent bounded by JSON_DEPTH_MAX,
 * tokens in document order, each with the index past its subtree so a
 * caller skips a member without walking it.
 */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "str.h"

struct json_p {
	const char *s;
	size_t len, pos;
	struct json_tok *toks;
	size_t max, n;
};

static void
json_ws(struct json_p *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int
json_tok_new(struct json_p *p, enum json_type type)
{
	if (p->n >= p->max)
		return -1;
	p->toks[p->n] = (struct json_tok){ .type = type, .start = p->pos };
	return (int)p->n++;
}

/* RFC 8259 §7: the string at p->pos (on its opening quote). */
static int
json_string(struct json_p *p)
{
	int t = json_tok_new(p, JSON_STRING);

	if (t < 0)
		return -1;
	p->pos++;
	p->toks[t].start = p->pos;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c == '"') {
			p->toks[t].len = p->pos - p->toks[t].start;
			p->pos++;
			p->toks[t].next = p->n;
			return t;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (++p->pos >= p->len ||
			    strchr("\"\\/bfnrtu", p->s[p->pos]) == NULL)
				return -1;
			if (p->s[p->pos] == 'u') {
				if (p->pos + 4 >= p->len)
					return -1;
				for (int i = 1; i <= 4; i++)
					if (str_hex_value((unsigned char)
							  p->s[p->pos + i]) < 0)
						return -1;
				p->pos += 4;
			}
		}
		p->pos++;
	}
	return -1;
}

/* A number, true, false or null: its characters, checked loosely (the
 * reader never computes with numbers). */
static int
json_primitive(struct json_p *p)
{
	int t = json_tok_new(p, JSON_PRIMITIVE);
	size_t start = p->pos;

	if (t < 0)
		return -1;
	while (p->pos < p->len &&
	       strchr("0123456789+-.eEtruefalsn", p->s[p->pos]) != NULL &&
	       p->s[p->pos] != '\0')
		p->pos++;
	if (p->pos == start)
		return -1;
	p->toks[t].len = p->pos - start;
	p->toks[t].next = p->n;
	return t;
}

static int json_value(struct json_p *p, int depth);

/* An object or array at p->pos (on '{' or '['). */
static int
json_container(struct json_p *p, int depth)
{
	bool obj = p->s[p->pos] == '{';
	char close = obj ? '}' : ']';
	int t = json_tok_new(p, obj ? JSON_OBJECT : JSON_ARRAY);

	if (t < 0 || depth >= JSON_DEPTH_MAX)
		return -1;
	p->pos++;
	json_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		p->toks[t].next = p->n;
		return t;
	}
	for (;;) {
		json_ws(p);
		if (obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"' ||
			    json_string(p) < 0)
				return -1;
			json_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return -1;
			p->pos++;
		}
		if (json_value(p, depth + 1) < 0)
			return -1;
		p->toks[t].size++;
		json_ws(p);
		if (p->pos >= p->len)
			return -1;
		if (p->s[p->pos] == close)
			break;
		if (p->s[p->pos] != ',')
			return -1;
		p->pos++;
	}
	p->pos++;
	p->toks[t].len = p->pos - p->toks[t].start;
	p->toks[t].next = p->n;
	return t;
}

static int
json_value(struct json_p *p, int depth)
{
	json_ws(p);
	if (p->pos >= p->len)
		return -1;
	if (p->s[p->pos] == '{' || p->s[p->pos] == '[')
		return json_container(p, depth);
	if (p->s[p->pos] == '"')
		return json_string(p);
	return json_primitive(p);
}

int
json_parse(const char *text, size_t len, struct json_tok *toks, size_t max)
{
	struct json_p p = { .s = text, .len = len, .toks = toks, .max = max };

	if (json_value(&p, 0) < 0)
		return -1;
	json_ws(&p);
	return p.pos == len ? (int)p.n : -1;
}

/* Whether the string token t equals key (compared escaped: the keys we
 * look for have no escapes). */
static bool
json_key_eq(const char *text, const struct json_tok *k, const char *key)
{
	size_t n = strlen(key);

	return k->type == JSON_STRING && k->len == n &&
	       memcmp(text + k->start, key, n) == 0;
}

int
json_get(const char *text, const struct json_tok *toks, int obj,
	 const char *key)
{
	size_t i;

	if (obj < 0 || toks[obj].type != JSON_OBJECT)
		return -1;
	i = (size_t)obj + 1;
	for (size_t m = 0; m < toks[obj].size; m++) {
		size_t v = toks[i].next;

		if (json_key_eq(text, &toks[i], key))
			return (int)v;
		i = toks[v].next;
	}
	return -1;
}

int
json_elem(const struct json_tok *toks, int arr, size_t i)
{
	size_t t;

	if (arr < 0 || toks[arr].type != JSON_ARRAY || i >= toks[arr].size)
		return -1;
	t = (size_t)arr + 1;
	while (i-- > 0)
		t = toks[t].next;
	return (int)t;
}

/* Appends code point cp as UTF-8 at out[*o]; -1 when it does not fit. */
static int
json_put_utf8(uint32_t cp, char *out, size_t outcap, size_t *o)
{
	char b[4];
	size_t n = str_utf8_encode(cp, b);

	if (*o + n >= outcap)
		return -1;
	memcpy(out + *o, b, n);
	*o += n;
	return 0;
}

static uint32_t
json_hex4(const char *s)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 4 | (uint32_t)str_hex_value((unsigned char)s[i]);
	return v;
}

/* One \uXXXX escape (a surrogate pair takes two) at s[*i] (on the 'u'). */
static int
json_unicode(const char *s, size_t n, size_t *i, uint32_t *cp_r)
{
	uint32_t cp = json_hex4(s + *i + 1), lo;

	*i += 4;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (*i + 6 >= n || s[*i + 1] != '\\' || s[*i + 2] != 'u')
			return -1;
		for (int k = 3; k <= 6; k++)
			if (str_hex_value((unsigned char)s[*i + k]) < 0)
				return -1;
		lo = json_hex4(s + *i + 3);
		if (lo < 0xdc00 || lo > 0xdfff)
			return -1;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		*i += 6;
	}
	*cp_r = cp;
	return cp == 0 ? -1 : 0;
}

int
json_str(const char *text, const struct json_tok *toks, int t, char *out,
	 size_t outcap)
{
	const char *s;
	size_t n, o = 0;

	if (t < 0 || toks[t].type != JSON_STRING || outcap == 0)
		return -1;
	s = text + toks[t].start;
	n = toks[t].len;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		uint32_t cp;

		if (c != '\\') {
			if (o + 1 >= outcap)
				return -1;
			out[o++] = c;
			continue;
		}
		c = s[++i]; /* the tokenizer saw a whole escape */
		if (c == 'u') {
			if (json_unicode(s, n, &i, &cp) < 0 ||
			    json_put_utf8(cp, out, outcap, &o) < 0)
				return -1;
			continue;
		}
		if (o + 1 >= outcap)
			return -1;
		out[o++] = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n'
			 : c == 'r' ? '\r' : c == 't' ? '\t' : c;
	}
	out[o] = '\0';
	return 0;
}

int
json_get_str(const char *text, const struct json_tok *toks, int obj,
	     const char *key, char *out, size_t outcap)
{
	return json_str(text, toks, json_get(text, toks, obj, key), out,
			outcap);
}

int
json_quote(const char *s, char *out, size_t outcap)
{
	size_t o = 0;

	if (outcap < 3)
		return -1;
	out[o++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		size_t n;

		if (c == '"' || c == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20)
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		else
			n = (size_t)snprintf(esc, sizeof(esc), "%c", c);
		if (o + n + 2 > outcap)
			return -1;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}
