/*
 * FETCH arguments (RFC 9051 §6.4.5 and §9 fetch-att, RFC 3516 BINARY,
 * RFC 7162 §3.1.4 CHANGEDSINCE and §3.2.6 VANISHED). The tokenizer hands
 * each attribute over as one atom, section and partial included; this file
 * takes such atoms apart.
 */
#include "imap_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"

static const char IMAP_FE_MISSING[] = "Missing FETCH items";
static const char IMAP_FE_ITEM[] = "Unknown FETCH item";
static const char IMAP_FE_SECTION[] = "Invalid FETCH section";
static const char IMAP_FE_DEPTH[] = "FETCH section nested too deeply";
static const char IMAP_FE_FIELDS[] = "Invalid header field list";
static const char IMAP_FE_PARTIAL[] = "Invalid FETCH partial <offset.length>";
static const char IMAP_FE_MODIFIER[] = "Invalid FETCH modifier";
static const char IMAP_FE_VANISHED[] = "VANISHED requires CHANGEDSINCE";
static const char IMAP_FE_NOMEM[] = "Out of memory";

struct imap_fetch_name {
	const char *name;
	enum imap_fetch_kind kind;
};

/* Attributes without a section; the reply uses the same name. */
static const struct imap_fetch_name imap_fetch_simple[] = {
	{"FLAGS", IMAP_FETCH_FLAGS},
	{"INTERNALDATE", IMAP_FETCH_INTERNALDATE},
	{"RFC822.SIZE", IMAP_FETCH_RFC822_SIZE},
	{"ENVELOPE", IMAP_FETCH_ENVELOPE},
	{"BODY", IMAP_FETCH_BODY},
	{"BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE},
	{"UID", IMAP_FETCH_UID},
	{"MODSEQ", IMAP_FETCH_MODSEQ},
	{"RFC822", IMAP_FETCH_RFC822},
	{"RFC822.HEADER", IMAP_FETCH_RFC822_HEADER},
	{"RFC822.TEXT", IMAP_FETCH_RFC822_TEXT},
	{"SAVEDATE", IMAP_FETCH_SAVEDATE},         /* RFC 8514 */
	{"EMAILID", IMAP_FETCH_EMAILID},           /* RFC 8474 */
	{"THREADID", IMAP_FETCH_THREADID},
	{"PREVIEW", IMAP_FETCH_PREVIEW},           /* RFC 8970 */
};

/* RFC 9051 §6.4.5 macros: only as the sole item, never inside a list. */
static const enum imap_fetch_kind imap_macro_all[] = {
	IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE, IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
};
static const enum imap_fetch_kind imap_macro_full[] = {
	IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE, IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE, IMAP_FETCH_BODY,
};

static const char *const imap_section_names[] = {
	[IMAP_SECTION_ALL] = "",
	[IMAP_SECTION_HEADER] = "HEADER",
	[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
	[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
	[IMAP_SECTION_TEXT] = "TEXT",
	[IMAP_SECTION_MIME] = "MIME",
};

/* Unsigned decimal; 0 ok, -1 on junk or a value above max. */
static int
imap_fetch_num(const char *s, size_t len, uint64_t max, uint64_t *n_r)
{
	uint64_t n = 0;

	if (len == 0 || len > 20)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*n_r = n;
	return 0;
}

/* Copies a field name upper-cased into a new string; NULL when it is
 * empty or holds a character RFC 5322 §3.6.8 ftext excludes (controls,
 * space, ':', 8-bit). */
static char *
imap_field_name_dup(const char *s, size_t len)
{
	char *out;

	if (len == 0 || (out = malloc(len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == ':') {
			free(out);
			return NULL;
		}
		out[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
	}
	out[len] = '\0';
	return out;
}

/* One header-fld-name (astring): an atom, a quoted string or a literal
 * (its octets inline, imap_literal_inline). Returns the octets consumed,
 * 0 when malformed; the name is upper-cased into *out_r. */
static size_t
imap_field_name(const char *s, size_t len, char **out_r)
{
	char *raw = NULL;
	const char *data;
	size_t i = 0, n = 0, used;

	if (len > 0 && s[0] == '{') {
		used = imap_literal_inline(s, len, &data, &n);
		*out_r = used > 0 ? imap_field_name_dup(data, n) : NULL;
		return *out_r != NULL ? used : 0;
	}
	if (len > 0 && s[0] == '"') {
		/* Unescape into raw, then validate like the other forms. */
		if ((raw = malloc(len)) == NULL)
			return 0;
		for (i = 1; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < len)
				i++;
			raw[n++] = s[i];
		}
		*out_r = i < len ? imap_field_name_dup(raw, n) : NULL;
		free(raw);
		return *out_r != NULL ? i + 1 : 0;
	}
	while (i < len && s[i] != ' ' && s[i] != ')') {
		if (s[i] == '"')
			return 0;
		i++;
	}
	*out_r = imap_field_name_dup(s, i);
	return *out_r != NULL ? i : 0;
}

/* RFC 9051 §9 header-list = "(" header-fld-name *(SP header-fld-name) ")",
 * which must end the section. */
static int
imap_fetch_parse_fields(struct imap_fetch_item *it, const char *s,
			size_t len)
{
	size_t cap = 1, i = 1;

	if (len < 3 || s[0] != '(' || s[len - 1] != ')')
		return -1;
	for (size_t j = 0; j < len; j++)
		cap += s[j] == ' ';
	it->fields = calloc(cap, sizeof(*it->fields));
	if (it->fields == NULL)
		return -1;
	for (;;) {
		if (it->n_fields == cap)
			return -1;
		size_t used = imap_field_name(s + i, len - 1 - i,
					      &it->fields[it->n_fields]);
		if (used == 0)
			return -1;
		it->n_fields++;
		i += used;
		if (i == len - 1)
			return 0;
		if (s[i] != ' ')
			return -1;
		i++;
	}
}

/* RFC 9051 §9 section-spec inside the brackets; binary sections (RFC 3516
 * section-binary) hold part numbers only. */
static int
imap_fetch_parse_section(struct imap_fetch_item *it, const char *s,
			 size_t len, bool binary, const char **err_r)
{
	size_t i = 0;

	*err_r = IMAP_FE_SECTION;
	while (i < len && s[i] >= '1' && s[i] <= '9') {
		size_t j = i;
		uint64_t n;

		while (j < len && s[j] >= '0' && s[j] <= '9')
			j++;
		if (imap_fetch_num(s + i, j - i, UINT32_MAX, &n) < 0)
			return -1;
		if (it->depth == IMAP_SECTION_MAX_DEPTH) {
			*err_r = IMAP_FE_DEPTH;
			return -1;
		}
		it->path[it->depth++] = (uint32_t)n;
		i = j;
		if (i == len)
			return 0;
		if (s[i] != '.' || ++i == len)
			return -1;
	}
	if (i == len)
		return 0; /* BODY[] */
	if (binary)
		return -1;
	size_t w = i;
	while (w < len && s[w] != ' ')
		w++;
	for (size_t k = IMAP_SECTION_HEADER; k <= IMAP_SECTION_MIME; k++) {
		if (!str_ieq(s + i, w - i, imap_section_names[k]))
			continue;
		it->text = (enum imap_section_text)k;
		/* RFC 9051 §6.4.5: MIME only follows a part number. */
		if (k == IMAP_SECTION_MIME && it->depth == 0)
			return -1;
		if (k != IMAP_SECTION_HEADER_FIELDS &&
		    k != IMAP_SECTION_HEADER_FIELDS_NOT)
			return w == len ? 0 : -1;
		if (w == len ||
		    imap_fetch_parse_fields(it, s + w + 1, len - w - 1) < 0) {
			*err_r = IMAP_FE_FIELDS;
			return -1;
		}
		return 0;
	}
	return -1;
}

/* "<offset.length>" (RFC 9051 §9 partial; length non-zero). */
static int
imap_fetch_parse_partial(struct imap_fetch_item *it, const char *s,
			 size_t len)
{
	const char *dot = memchr(s, '.', len);

	if (len < 5 || s[0] != '<' || s[len - 1] != '>' || dot == NULL)
		return -1;
	if (imap_fetch_num(s + 1, (size_t)(dot - s) - 1, INT64_MAX,
			   &it->partial_off) < 0 ||
	    imap_fetch_num(dot + 1, (size_t)(s + len - 1 - dot) - 1,
			   INT64_MAX, &it->partial_len) < 0 ||
	    it->partial_len == 0)
		return -1;
	it->partial = true;
	return 0;
}

/* Index of the ']' closing the section opened at s[0] == '['. */
static size_t
imap_fetch_close(const char *s, size_t len)
{
	bool quoted = false;

	for (size_t i = 1; i < len; i++) {
		if (quoted && s[i] == '\\')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == ']')
			return i;
	}
	return 0;
}

/* The normalised name for the reply (RFC 9051 §7.5.2 msg-att-static):
 * no .PEEK, the partial as "<offset>". */
static int
imap_fetch_reply_name(struct imap_fetch_item *it, const char *prefix)
{
	size_t cap = 96 + it->depth * 11, n;

	for (size_t i = 0; i < it->n_fields; i++)
		cap += strlen(it->fields[i]) + 1;
	it->reply_name = malloc(cap);
	if (it->reply_name == NULL)
		return -1;
	n = (size_t)snprintf(it->reply_name, cap, "%s[", prefix);
	for (size_t i = 0; i < it->depth; i++)
		n += (size_t)snprintf(it->reply_name + n, cap - n, "%s%u",
				      i > 0 ? "." : "", it->path[i]);
	if (it->text != IMAP_SECTION_ALL)
		n += (size_t)snprintf(it->reply_name + n, cap - n, "%s%s",
				      it->depth > 0 ? "." : "",
				      imap_section_names[it->text]);
	for (size_t i = 0; i < it->n_fields; i++)
		n += (size_t)snprintf(it->reply_name + n, cap - n, "%s%s",
				      i == 0 ? " (" : " ", it->fields[i]);
	n += (size_t)snprintf(it->reply_name + n, cap - n, "%s]",
			      it->n_fields > 0 ? ")" : "");
	if (it->partial)
		snprintf(it->reply_name + n, cap - n, "<%llu>",
			 (unsigned long long)it->partial_off);
	return 0;
}

/* BODY[...], BODY.PEEK[...], BINARY[.PEEK|.SIZE][...] with partial. */
static int
imap_fetch_sectioned(struct imap_fetch_item *it, const char *s, size_t len,
		     size_t lb, const char **err_r)
{
	size_t rb = imap_fetch_close(s + lb, len - lb);
	const char *prefix = "BODY";

	if (str_ieq(s, lb, "BODY")) {
		it->kind = IMAP_FETCH_SECTION;
	} else if (str_ieq(s, lb, "BODY.PEEK")) {
		it->kind = IMAP_FETCH_SECTION;
		it->peek = true;
	} else if (str_ieq(s, lb, "BINARY") || str_ieq(s, lb, "BINARY.PEEK")) {
		it->kind = IMAP_FETCH_BINARY;
		it->peek = lb == strlen("BINARY.PEEK");
		prefix = "BINARY";
	} else if (str_ieq(s, lb, "BINARY.SIZE")) {
		it->kind = IMAP_FETCH_BINARY_SIZE;
		prefix = "BINARY.SIZE";
	} else {
		*err_r = IMAP_FE_ITEM;
		return -1;
	}
	if (rb == 0) {
		*err_r = IMAP_FE_SECTION;
		return -1;
	}
	rb += lb;
	if (imap_fetch_parse_section(it, s + lb + 1, rb - lb - 1,
			       it->kind != IMAP_FETCH_SECTION, err_r) < 0)
		return -1;
	if (rb + 1 < len &&
	    (it->kind == IMAP_FETCH_BINARY_SIZE ||
	     imap_fetch_parse_partial(it, s + rb + 1, len - rb - 1) < 0)) {
		*err_r = IMAP_FE_PARTIAL;
		return -1;
	}
	if (imap_fetch_reply_name(it, prefix) < 0) {
		*err_r = IMAP_FE_NOMEM;
		return -1;
	}
	return 0;
}

static int
imap_fetch_item_parse(struct imap_fetch_item *it, const struct imap_arg *a,
		      const char **err_r)
{
	const char *lb;

	*err_r = IMAP_FE_ITEM;
	if (a->type != IMAP_ARG_ATOM)
		return -1;
	lb = memchr(a->str, '[', a->len);
	if (lb != NULL)
		return imap_fetch_sectioned(it, a->str, a->len,
					    (size_t)(lb - a->str), err_r);
	for (size_t i = 0; i < sizeof(imap_fetch_simple) /
				    sizeof(imap_fetch_simple[0]); i++) {
		if (str_ieq(a->str, a->len, imap_fetch_simple[i].name)) {
			it->kind = imap_fetch_simple[i].kind;
			/* RFC 9051 §6.4.5: RFC822.HEADER is BODY.PEEK[HEADER],
			 * RFC822.TEXT is BODY[TEXT] (fetchmail uses both). */
			if (it->kind == IMAP_FETCH_RFC822_HEADER) {
				it->text = IMAP_SECTION_HEADER;
				it->peek = true;
			} else if (it->kind == IMAP_FETCH_RFC822_TEXT) {
				it->text = IMAP_SECTION_TEXT;
			}
			it->reply_name = str_ndup(imap_fetch_simple[i].name,
						  strlen(imap_fetch_simple[i].name));
			if (it->reply_name == NULL)
				*err_r = IMAP_FE_NOMEM;
			return it->reply_name != NULL ? 0 : -1;
		}
	}
	return -1;
}

/* A macro (ALL, FAST, FULL) expands to its fixed items. 1 when a was a
 * macro, 0 when not, -1 on allocation failure. */
static int
imap_fetch_macro(struct imap_fetch *f, const struct imap_arg *a)
{
	size_t n;

	if (imap_arg_atom_is(a, "ALL"))
		n = 4;
	else if (imap_arg_atom_is(a, "FAST"))
		n = 3;
	else if (imap_arg_atom_is(a, "FULL"))
		n = 5;
	else
		return 0;
	f->items = calloc(n, sizeof(*f->items));
	if (f->items == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct imap_fetch_item *it = &f->items[f->n++];
		const char *name = "";

		it->kind = n == 5 ? imap_macro_full[i] : imap_macro_all[i];
		for (size_t k = 0; k < sizeof(imap_fetch_simple) /
					   sizeof(imap_fetch_simple[0]); k++)
			if (imap_fetch_simple[k].kind == it->kind)
				name = imap_fetch_simple[k].name;
		it->reply_name = str_ndup(name, strlen(name));
		if (it->reply_name == NULL)
			return -1;
	}
	return 1;
}

/* RFC 7162 §3.1.4.1 CHANGEDSINCE mod-sequence-valzer, §3.2.6 VANISHED. */
static int
imap_fetch_modifiers(struct imap_fetch *f, const struct imap_arg *a,
		     const char **err_r)
{
	*err_r = IMAP_FE_MODIFIER;
	if (a->type != IMAP_ARG_LIST || a->list_n == 0)
		return -1;
	for (size_t i = 0; i < a->list_n; i++) {
		const struct imap_arg *m = &a->list[i];

		if (imap_arg_atom_is(m, "CHANGEDSINCE") && !f->changedsince_set &&
		    i + 1 < a->list_n && a->list[i + 1].type == IMAP_ARG_ATOM &&
		    imap_fetch_num(a->list[i + 1].str, a->list[i + 1].len,
				   INT64_MAX, &f->changedsince) == 0) {
			f->changedsince_set = true;
			i++;
		} else if (imap_arg_atom_is(m, "VANISHED") && !f->vanished) {
			f->vanished = true;
		} else {
			return -1;
		}
	}
	if (f->vanished && !f->changedsince_set) {
		*err_r = IMAP_FE_VANISHED;
		return -1;
	}
	return 0;
}

/* RFC 8970 §3: PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"], the
 * one modifier being LAZY (we always compute the preview, which LAZY
 * allows). true when a is such a list after a PREVIEW item. */
static bool
imap_fetch_preview_mods(const struct imap_fetch *f, const struct imap_arg *a)
{
	if (f->n == 0 || f->items[f->n - 1].kind != IMAP_FETCH_PREVIEW ||
	    a->type != IMAP_ARG_LIST || a->list_n == 0)
		return false;
	for (size_t i = 0; i < a->list_n; i++)
		if (!imap_arg_atom_is(&a->list[i], "LAZY"))
			return false;
	return true;
}

int
imap_fetch_parse(const struct imap_arg *args, size_t n,
		 struct imap_fetch *f, const char **err_r)
{
	int r;

	memset(f, 0, sizeof(*f));
	*err_r = IMAP_FE_MISSING;
	if (n == 0 || n > 2)
		return -1;
	if ((r = imap_fetch_macro(f, &args[0])) < 0) {
		*err_r = IMAP_FE_NOMEM;
		goto fail;
	}
	if (r == 0 && args[0].type == IMAP_ARG_LIST) {
		if (args[0].list_n == 0)
			return -1;
		f->items = calloc(args[0].list_n, sizeof(*f->items));
		if (f->items == NULL)
			goto fail;
		for (size_t i = 0; i < args[0].list_n; i++) {
			if (imap_fetch_preview_mods(f, &args[0].list[i]))
				continue;
			if (imap_fetch_item_parse(&f->items[f->n++],
						  &args[0].list[i], err_r) < 0)
				goto fail;
		}
	} else if (r == 0) {
		f->items = calloc(1, sizeof(*f->items));
		if (f->items == NULL ||
		    imap_fetch_item_parse(&f->items[f->n++], &args[0], err_r) < 0)
			goto fail;
	}
	if (n == 2 && args[0].type != IMAP_ARG_LIST &&
	    imap_fetch_preview_mods(f, &args[1]))
		return 0;
	if (n == 2 && imap_fetch_modifiers(f, &args[1], err_r) < 0)
		goto fail;
	return 0;
fail:
	imap_fetch_free(f);
	return -1;
}

void
imap_fetch_free(struct imap_fetch *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		for (size_t k = 0; k < f->items[i].n_fields; k++)
			free(f->items[i].fields[k]);
		free(f->items[i].fields);
		free(f->items[i].reply_name);
	}
	free(f->items);
	memset(f, 0, sizeof(*f));
}
