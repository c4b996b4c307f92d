/*
 * STORE arguments (RFC 9051 §6.4.6 and §9 store-att-flags, RFC 7162
 * §3.1.3 UNCHANGEDSINCE) and flag lists (RFC 9051 §9 flag-list), which
 * APPEND shares.
 */
#include "imap_parse.h"

#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/str.h"

static const char IMAP_ST_MISSING[] = "Missing STORE item or value";
static const char IMAP_ST_ITEM[] = "Invalid STORE item";
static const char IMAP_ST_MODIFIER[] = "Invalid STORE modifier";
static const char IMAP_ST_LIST[] = "Expected a flag list";
static const char IMAP_ST_FLAG[] = "Invalid flag";
static const char IMAP_ST_SYSFLAG[] = "Unknown system flag";
static const char IMAP_ST_RECENT[] = "\\Recent cannot be changed";
static const char IMAP_ST_LONG[] = "Keyword too long";
static const char IMAP_ST_NOMEM[] = "Out of memory";

static const struct {
	const char *name;
	uint32_t bit;
} imap_system_flags[] = {
	{"\\Seen", STORE_FLAG_SEEN},         {"\\Answered", STORE_FLAG_ANSWERED},
	{"\\Flagged", STORE_FLAG_FLAGGED},   {"\\Deleted", STORE_FLAG_DELETED},
	{"\\Draft", STORE_FLAG_DRAFT},
};

static void
imap_keywords_free(char **kw, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(kw[i]);
	free(kw);
}

/* RFC 9051 §9 flag-keyword = atom: ATOM-CHARs only. */
static bool
imap_keyword_ok(const struct imap_arg *a)
{
	if (a->type != IMAP_ARG_ATOM)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (!imap_is_atom_char((unsigned char)a->str[i]))
			return false;
	return true;
}

/* One flag into *flags or kw[*n] (deduplicated: keywords are
 * case-insensitive, RFC 9051 §2.3.2). */
static int
imap_flag_one(const struct imap_arg *a, uint32_t *flags, char **kw,
	      size_t *n, const char **err_r)
{
	if (a->type == IMAP_ARG_ATOM && a->len > 0 && a->str[0] == '\\') {
		for (size_t i = 0; i < 5; i++) {
			if (str_ieq(a->str, a->len, imap_system_flags[i].name)) {
				*flags |= imap_system_flags[i].bit;
				return 0;
			}
		}
		/* RFC 9051 §2.3.2: \Recent is set by the server only. */
		*err_r = str_ieq(a->str, a->len, "\\Recent") ? IMAP_ST_RECENT
							     : IMAP_ST_SYSFLAG;
		return -1;
	}
	if (!imap_keyword_ok(a)) {
		*err_r = IMAP_ST_FLAG;
		return -1;
	}
	if (a->len > IMAP_KEYWORD_MAX) {
		*err_r = IMAP_ST_LONG;
		return -1;
	}
	for (size_t i = 0; i < *n; i++)
		if (str_ieq(a->str, a->len, kw[i]))
			return 0;
	if ((kw[*n] = str_ndup(a->str, a->len)) == NULL) {
		*err_r = IMAP_ST_NOMEM;
		return -1;
	}
	(*n)++;
	return 0;
}

/* Flags v[0..n) (the inside of a flag-list, or STORE's bare flags). */
static int
imap_flags_from(const struct imap_arg *v, size_t n, uint32_t *flags_r,
		char ***keywords_r, size_t *n_r, const char **err_r)
{
	char **kw = calloc(n > 0 ? n : 1, sizeof(*kw));
	size_t nk = 0;
	uint32_t flags = 0;

	if (kw == NULL) {
		*err_r = IMAP_ST_NOMEM;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (imap_flag_one(&v[i], &flags, kw, &nk, err_r) < 0) {
			imap_keywords_free(kw, nk);
			return -1;
		}
	}
	*flags_r = flags;
	*keywords_r = kw;
	*n_r = nk;
	return 0;
}

int
imap_flags_parse(const struct imap_arg *list, uint32_t *flags_r,
		 char ***keywords_r, size_t *n_r, const char **err_r)
{
	*flags_r = 0;
	*keywords_r = NULL;
	*n_r = 0;
	if (list == NULL || list->type != IMAP_ARG_LIST) {
		*err_r = IMAP_ST_LIST;
		return -1;
	}
	return imap_flags_from(list->list, list->list_n, flags_r, keywords_r,
			       n_r, err_r);
}

/* RFC 7162 §3.1.3: "(UNCHANGEDSINCE mod-sequence-valzer)". */
static int
imap_store_modifiers(struct imap_store_args *st, const struct imap_arg *a)
{
	const struct imap_arg *v;
	uint64_t n = 0;

	if (a->list_n != 2 || !imap_arg_atom_is(&a->list[0], "UNCHANGEDSINCE"))
		return -1;
	v = &a->list[1];
	if (v->type != IMAP_ARG_ATOM || v->len == 0 || v->len > 19)
		return -1;
	for (size_t i = 0; i < v->len; i++) {
		if (v->str[i] < '0' || v->str[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(v->str[i] - '0');
	}
	if (n > (uint64_t)INT64_MAX)
		return -1;
	st->unchangedsince_set = true;
	st->unchangedsince = n;
	return 0;
}

/* [+|-]FLAGS[.SILENT], case-insensitive. */
static int
imap_store_item(struct imap_store_args *st, const struct imap_arg *a)
{
	const char *s = a->str;
	size_t len = a->len;

	if (a->type != IMAP_ARG_ATOM)
		return -1;
	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		st->mode = s[0] == '+' ? IMAP_STORE_ADD : IMAP_STORE_REMOVE;
		s++;
		len--;
	}
	if (len > 7 && str_ieq(s + len - 7, 7, ".SILENT")) {
		st->silent = true;
		len -= 7;
	}
	return str_ieq(s, len, "FLAGS") ? 0 : -1;
}

int
imap_store_parse(const struct imap_arg *args, size_t n,
		 struct imap_store_args *st, const char **err_r)
{
	size_t i = 0;

	memset(st, 0, sizeof(*st));
	if (n > 0 && args[0].type == IMAP_ARG_LIST) {
		if (imap_store_modifiers(st, &args[0]) < 0) {
			*err_r = IMAP_ST_MODIFIER;
			return -1;
		}
		i++;
	}
	if (n - i < 2) {
		*err_r = IMAP_ST_MISSING;
		return -1;
	}
	if (imap_store_item(st, &args[i]) < 0) {
		*err_r = IMAP_ST_ITEM;
		return -1;
	}
	i++;
	/* RFC 9051 §9: flag-list / (flag *(SP flag)) */
	if (args[i].type == IMAP_ARG_LIST) {
		if (n - i != 1) {
			*err_r = IMAP_ST_FLAG;
			return -1;
		}
		return imap_flags_parse(&args[i], &st->flags, &st->keywords,
					&st->n_keywords, err_r);
	}
	/* NIL alone: the empty flag list, as clients send it ("+FLAGS NIL"
	 * changes nothing, "FLAGS NIL" clears every flag). */
	if (args[i].type == IMAP_ARG_NIL && n - i == 1)
		return imap_flags_from(&args[i], 0, &st->flags, &st->keywords,
				       &st->n_keywords, err_r);
	return imap_flags_from(&args[i], n - i, &st->flags, &st->keywords,
			       &st->n_keywords, err_r);
}

void
imap_store_args_free(struct imap_store_args *st)
{
	if (st == NULL)
		return;
	imap_keywords_free(st->keywords, st->n_keywords);
	st->keywords = NULL;
	st->n_keywords = 0;
}
