/*
 * SEARCH arguments to a key tree (RFC 9051 §6.4.4 and §9 search-key, RFC
 * 3501 §6.4.4 for NEW/OLD/RECENT, RFC 7162 §3.1.5 MODSEQ, RFC 4731 §3.1
 * and RFC 5182 RETURN options and "$", RFC 5032 WITHIN OLDER/YOUNGER, RFC
 * 8514 SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED, RFC 8474 EMAILID
 * and THREADID). Keys side by side are ANDed;
 * a parenthesised group is one AND node.
 */
#include "imap_parse.h"

#include <stdlib.h>
#include <string.h>

#include "../util/str.h"

static const char IMAP_SE_MISSING[] = "Missing search key";
static const char IMAP_SE_KEY[] = "Unknown search key";
static const char IMAP_SE_ARG[] = "Missing or invalid search key argument";
static const char IMAP_SE_DATE[] = "Invalid date (expected d-Mon-yyyy)";
static const char IMAP_SE_SET[] = "Invalid sequence set";
static const char IMAP_SE_DEPTH[] = "Search program nested too deeply";
static const char IMAP_SE_RETURN[] = "Invalid RETURN options";
/* The session answers NO [BADCHARSET (US-ASCII UTF-8)] itself. */
static const char IMAP_SE_CHARSET[] = "Unsupported charset";
static const char IMAP_SE_NOMEM[] = "Out of memory";

enum imap_sk_arg {
	IMAP_SKA_NONE = 0,
	IMAP_SKA_STRING,  /* astring */
	IMAP_SKA_HEADER,  /* field-name astring, value astring */
	IMAP_SKA_FLAG,    /* flag-keyword */
	IMAP_SKA_DATE,
	IMAP_SKA_NUMBER,
	IMAP_SKA_SET,     /* UID sequence-set */
	IMAP_SKA_NOT,
	IMAP_SKA_OR,
	IMAP_SKA_MODSEQ,
	IMAP_SKA_INTERVAL, /* RFC 5032: nz-number of seconds */
};

struct imap_sk_def {
	const char *name;
	enum imap_search_key key;
	enum imap_sk_arg arg;
};

static const struct imap_sk_def imap_sk_defs[] = {
	{"ALL", IMAP_SK_ALL, IMAP_SKA_NONE},
	{"ANSWERED", IMAP_SK_ANSWERED, IMAP_SKA_NONE},
	{"BCC", IMAP_SK_BCC, IMAP_SKA_STRING},
	{"BEFORE", IMAP_SK_BEFORE, IMAP_SKA_DATE},
	{"BODY", IMAP_SK_BODY, IMAP_SKA_STRING},
	{"CC", IMAP_SK_CC, IMAP_SKA_STRING},
	{"DELETED", IMAP_SK_DELETED, IMAP_SKA_NONE},
	{"DRAFT", IMAP_SK_DRAFT, IMAP_SKA_NONE},
	{"EMAILID", IMAP_SK_EMAILID, IMAP_SKA_STRING},
	{"FLAGGED", IMAP_SK_FLAGGED, IMAP_SKA_NONE},
	{"FROM", IMAP_SK_FROM, IMAP_SKA_STRING},
	{"HEADER", IMAP_SK_HEADER, IMAP_SKA_HEADER},
	{"KEYWORD", IMAP_SK_KEYWORD, IMAP_SKA_FLAG},
	{"LARGER", IMAP_SK_LARGER, IMAP_SKA_NUMBER},
	{"MODSEQ", IMAP_SK_MODSEQ, IMAP_SKA_MODSEQ},
	{"NEW", IMAP_SK_NEW, IMAP_SKA_NONE},
	{"NOT", IMAP_SK_NOT, IMAP_SKA_NOT},
	{"OLD", IMAP_SK_OLD, IMAP_SKA_NONE},
	{"OLDER", IMAP_SK_OLDER, IMAP_SKA_INTERVAL},
	{"ON", IMAP_SK_ON, IMAP_SKA_DATE},
	{"OR", IMAP_SK_OR, IMAP_SKA_OR},
	{"RECENT", IMAP_SK_RECENT, IMAP_SKA_NONE},
	{"SAVEDATESUPPORTED", IMAP_SK_SAVEDATESUPPORTED, IMAP_SKA_NONE},
	{"SAVEDBEFORE", IMAP_SK_SAVEDBEFORE, IMAP_SKA_DATE},
	{"SAVEDON", IMAP_SK_SAVEDON, IMAP_SKA_DATE},
	{"SAVEDSINCE", IMAP_SK_SAVEDSINCE, IMAP_SKA_DATE},
	{"SEEN", IMAP_SK_SEEN, IMAP_SKA_NONE},
	{"SENTBEFORE", IMAP_SK_SENTBEFORE, IMAP_SKA_DATE},
	{"SENTON", IMAP_SK_SENTON, IMAP_SKA_DATE},
	{"SENTSINCE", IMAP_SK_SENTSINCE, IMAP_SKA_DATE},
	{"SINCE", IMAP_SK_SINCE, IMAP_SKA_DATE},
	{"SMALLER", IMAP_SK_SMALLER, IMAP_SKA_NUMBER},
	{"SUBJECT", IMAP_SK_SUBJECT, IMAP_SKA_STRING},
	{"TEXT", IMAP_SK_TEXT, IMAP_SKA_STRING},
	{"THREADID", IMAP_SK_THREADID, IMAP_SKA_STRING},
	{"TO", IMAP_SK_TO, IMAP_SKA_STRING},
	{"UID", IMAP_SK_UID, IMAP_SKA_SET},
	{"UNANSWERED", IMAP_SK_UNANSWERED, IMAP_SKA_NONE},
	{"UNDELETED", IMAP_SK_UNDELETED, IMAP_SKA_NONE},
	{"UNDRAFT", IMAP_SK_UNDRAFT, IMAP_SKA_NONE},
	{"UNFLAGGED", IMAP_SK_UNFLAGGED, IMAP_SKA_NONE},
	{"UNKEYWORD", IMAP_SK_UNKEYWORD, IMAP_SKA_FLAG},
	{"UNSEEN", IMAP_SK_UNSEEN, IMAP_SKA_NONE},
	{"YOUNGER", IMAP_SK_YOUNGER, IMAP_SKA_INTERVAL},
};

struct imap_sctx {
	const struct imap_arg *args;
	size_t n, i;
	const char *err;
};

static struct imap_search_node *imap_sk_parse(struct imap_sctx *c,
					      size_t depth);

static void
imap_search_node_free(struct imap_search_node *nd)
{
	while (nd != NULL) {
		struct imap_search_node *next = nd->next;

		imap_search_node_free(nd->a);
		imap_search_node_free(nd->b);
		free(nd->str);
		free(nd->field);
		imap_seqset_free(&nd->set);
		free(nd);
		nd = next;
	}
}

static const struct imap_arg *
imap_sk_next(struct imap_sctx *c)
{
	if (c->i >= c->n) {
		c->err = IMAP_SE_ARG;
		return NULL;
	}
	return &c->args[c->i++];
}

/* An astring value as a NUL-terminated copy (NUL inside is refused). */
static char *
imap_sk_string(struct imap_sctx *c)
{
	const struct imap_arg *a = imap_sk_next(c);
	char *s = a != NULL ? imap_arg_dup(a) : NULL;

	if (s == NULL)
		c->err = IMAP_SE_ARG;
	return s;
}

/* number64 (RFC 9051 §9): 0 .. 2^63 - 1. */
static int
imap_sk_number(const struct imap_arg *a, uint64_t *n_r)
{
	uint64_t n = 0;

	if (a == NULL || a->type != IMAP_ARG_ATOM || a->len == 0 || a->len > 19)
		return -1;
	for (size_t i = 0; i < a->len; i++) {
		if (a->str[i] < '0' || a->str[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(a->str[i] - '0');
	}
	if (n > (uint64_t)INT64_MAX)
		return -1;
	*n_r = n;
	return 0;
}

/* A keyword (RFC 9051 §9 flag-keyword = atom): no system flags. */
static int
imap_sk_flag(struct imap_sctx *c, struct imap_search_node *nd)
{
	const struct imap_arg *a = imap_sk_next(c);

	if (a == NULL || a->type != IMAP_ARG_ATOM || a->str[0] == '\\' ||
	    (nd->str = imap_arg_dup(a)) == NULL) {
		c->err = IMAP_SE_ARG;
		return -1;
	}
	return 0;
}

/* RFC 7162 §3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer;
 * the per-flag entry is accepted and ignored (one modseq per message). */
static int
imap_sk_modseq(struct imap_sctx *c, struct imap_search_node *nd)
{
	const struct imap_arg *a = imap_sk_next(c);

	if (a != NULL && a->type == IMAP_ARG_STRING) {
		const struct imap_arg *t = imap_sk_next(c);

		if (a->len < 7 || !str_ieq(a->str, 7, "/flags/") ||
		    !(imap_arg_atom_is(t, "priv") ||
		      imap_arg_atom_is(t, "shared") ||
		      imap_arg_atom_is(t, "all")))
			a = NULL;
		else
			a = imap_sk_next(c);
	}
	if (imap_sk_number(a, &nd->num) < 0) {
		c->err = IMAP_SE_ARG;
		return -1;
	}
	return 0;
}

static int
imap_sk_args(struct imap_sctx *c, struct imap_search_node *nd,
	     enum imap_sk_arg kind, size_t depth)
{
	const struct imap_arg *a;

	switch (kind) {
	case IMAP_SKA_NONE:
		return 0;
	case IMAP_SKA_HEADER:
		if ((nd->field = imap_sk_string(c)) == NULL)
			return -1;
		return (nd->str = imap_sk_string(c)) != NULL ? 0 : -1;
	case IMAP_SKA_STRING:
		return (nd->str = imap_sk_string(c)) != NULL ? 0 : -1;
	case IMAP_SKA_FLAG:
		return imap_sk_flag(c, nd);
	case IMAP_SKA_DATE:
		a = imap_sk_next(c);
		if (a != NULL && (a->type == IMAP_ARG_ATOM ||
				  a->type == IMAP_ARG_STRING) &&
		    imap_parse_date(a->str, a->len, &nd->date) == 0)
			return 0;
		c->err = IMAP_SE_DATE;
		return -1;
	case IMAP_SKA_NUMBER:
		if (imap_sk_number(imap_sk_next(c), &nd->num) == 0)
			return 0;
		c->err = IMAP_SE_ARG;
		return -1;
	case IMAP_SKA_INTERVAL:
		if (imap_sk_number(imap_sk_next(c), &nd->num) == 0 &&
		    nd->num > 0)
			return 0;
		c->err = IMAP_SE_ARG;
		return -1;
	case IMAP_SKA_SET:
		a = imap_sk_next(c);
		if (a != NULL && a->type == IMAP_ARG_ATOM &&
		    imap_seqset_parse(a->str, a->len, &nd->set) == 0)
			return 0;
		c->err = IMAP_SE_SET;
		return -1;
	case IMAP_SKA_OR:
		if ((nd->a = imap_sk_parse(c, depth + 1)) == NULL)
			return -1;
		return (nd->b = imap_sk_parse(c, depth + 1)) != NULL ? 0 : -1;
	case IMAP_SKA_NOT:
		return (nd->a = imap_sk_parse(c, depth + 1)) != NULL ? 0 : -1;
	case IMAP_SKA_MODSEQ:
		return imap_sk_modseq(c, nd);
	}
	return -1;
}

/* Keys side by side until the arguments run out: one AND node. */
static struct imap_search_node *
imap_sk_and(struct imap_sctx *c, size_t depth)
{
	struct imap_search_node *nd = calloc(1, sizeof(*nd)), **tail;

	if (nd == NULL) {
		c->err = IMAP_SE_NOMEM;
		return NULL;
	}
	nd->key = IMAP_SK_AND;
	tail = &nd->a;
	if (c->i >= c->n)
		c->err = IMAP_SE_MISSING;
	while (c->i < c->n) {
		if ((*tail = imap_sk_parse(c, depth)) == NULL)
			break;
		tail = &(*tail)->next;
	}
	if (c->err != NULL) {
		imap_search_node_free(nd);
		return NULL;
	}
	return nd;
}

/* One search-key, its arguments included. */
static struct imap_search_node *
imap_sk_parse(struct imap_sctx *c, size_t depth)
{
	const struct imap_arg *a = imap_sk_next(c);

	if (a == NULL)
		return NULL;
	if (depth > IMAP_SEARCH_MAX_DEPTH) {
		c->err = IMAP_SE_DEPTH;
		return NULL;
	}
	if (a->type == IMAP_ARG_LIST) {
		struct imap_sctx sub = {.args = a->list, .n = a->list_n};
		struct imap_search_node *nd = imap_sk_and(&sub, depth + 1);

		c->err = sub.err;
		return nd;
	}
	if (a->type != IMAP_ARG_ATOM) {
		c->err = IMAP_SE_KEY;
		return NULL;
	}
	struct imap_search_node *nd = calloc(1, sizeof(*nd));
	if (nd == NULL) {
		c->err = IMAP_SE_NOMEM;
		return NULL;
	}
	/* RFC 9051 §9 search-key: sequence-set, and "$" (RFC 5182 §2.1). */
	if ((a->str[0] >= '0' && a->str[0] <= '9') || a->str[0] == '*' ||
	    a->str[0] == '$') {
		nd->key = IMAP_SK_SEQSET;
		if (imap_seqset_parse(a->str, a->len, &nd->set) == 0)
			return nd;
		c->err = IMAP_SE_SET;
		free(nd);
		return NULL;
	}
	for (size_t k = 0; k < sizeof(imap_sk_defs) / sizeof(imap_sk_defs[0]);
	     k++) {
		if (!str_ieq(a->str, a->len, imap_sk_defs[k].name))
			continue;
		nd->key = imap_sk_defs[k].key;
		if (imap_sk_args(c, nd, imap_sk_defs[k].arg, depth) == 0)
			return nd;
		imap_search_node_free(nd);
		return NULL;
	}
	c->err = IMAP_SE_KEY;
	free(nd);
	return NULL;
}

/* RFC 4731 §3.1: RETURN (MIN MAX ALL COUNT [SAVE]); "RETURN ()" is
 * RETURN (ALL). Unknown options are a BAD. */
/* One nz-number of a partial range, after an optional '-'. */
static int
imap_partial_number(const char *s, size_t len, bool neg, uint32_t *n_r)
{
	uint64_t v = 0;
	size_t i = 0;

	if (neg) {
		if (len == 0 || s[0] != '-')
			return -1;
		i = 1;
	}
	if (i == len || s[i] == '0')
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*n_r = (uint32_t)v;
	return 0;
}

int
imap_partial_parse(const char *s, size_t len, uint32_t *lo_r, uint32_t *hi_r,
		   bool *neg_r)
{
	const char *colon = memchr(s, ':', len);
	bool neg = len > 0 && s[0] == '-';
	uint32_t a, b;

	if (colon == NULL ||
	    imap_partial_number(s, (size_t)(colon - s), neg, &a) < 0 ||
	    imap_partial_number(colon + 1, len - (size_t)(colon - s) - 1, neg,
				&b) < 0)
		return -1;
	*lo_r = a < b ? a : b;
	*hi_r = a < b ? b : a;
	*neg_r = neg;
	return 0;
}

/* "PARTIAL range" inside RETURN (RFC 9394 §3.1): at most once, and not
 * with ALL (the two would answer the same question twice). */
static int
imap_search_return_partial(struct imap_search *s, const struct imap_arg *list,
			   size_t *i)
{
	const struct imap_arg *r;

	if (*i + 1 >= list->list_n || (s->ret & IMAP_ESEARCH_PARTIAL))
		return -1;
	r = &list->list[++*i];
	if (r->type != IMAP_ARG_ATOM ||
	    imap_partial_parse(r->str, r->len, &s->partial_lo, &s->partial_hi,
			       &s->partial_neg) < 0)
		return -1;
	s->ret |= IMAP_ESEARCH_PARTIAL;
	return 0;
}

int
imap_search_return(struct imap_search *s, const struct imap_arg *list)
{
	static const char *const names[] = {"MIN", "MAX", "ALL", "COUNT",
					    "SAVE"};

	if (list == NULL || list->type != IMAP_ARG_LIST)
		return -1;
	s->ret_given = true;
	for (size_t i = 0; i < list->list_n; i++) {
		size_t k;

		if (imap_arg_atom_is(&list->list[i], "PARTIAL")) {
			if (imap_search_return_partial(s, list, &i) < 0)
				return -1;
			continue;
		}
		if (imap_arg_atom_is(&list->list[i], "UPDATE")) {
			s->ret |= IMAP_ESEARCH_UPDATE;
			continue;
		}
		if (imap_arg_atom_is(&list->list[i], "CONTEXT")) {
			s->ret |= IMAP_ESEARCH_CONTEXT;
			continue;
		}
		for (k = 0; k < 5; k++)
			if (imap_arg_atom_is(&list->list[i], names[k]))
				break;
		if (k == 5)
			return -1;
		s->ret |= 1u << k;
	}
	if ((s->ret & IMAP_ESEARCH_PARTIAL) && (s->ret & IMAP_ESEARCH_ALL))
		return -1;
	/* RFC 4731 §3.1: no result option means ALL (UPDATE and CONTEXT
	 * ask for none). */
	if ((s->ret & ~(unsigned)(IMAP_ESEARCH_UPDATE |
				   IMAP_ESEARCH_CONTEXT)) == 0)
		s->ret |= IMAP_ESEARCH_ALL;
	return 0;
}

/* RFC 9051 §6.4.4: CHARSET; we convert nothing, so only US-ASCII and
 * UTF-8 (a superset) are known. */
static int
imap_search_charset(struct imap_search *s, const struct imap_arg *a,
		    bool *badcharset_r)
{
	if (!imap_arg_is_string(a))
		return -1;
	if (str_ieq(a->str, a->len, "UTF-8") ||
	    str_ieq(a->str, a->len, "US-ASCII")) {
		for (size_t i = 0; i < a->len; i++)
			s->charset[i] = (char)(a->str[i] >= 'a' &&
						       a->str[i] <= 'z'
						   ? a->str[i] - 'a' + 'A'
						   : a->str[i]);
		s->charset[a->len] = '\0';
		return 0;
	}
	*badcharset_r = true;
	return -1;
}

int
imap_search_parse(const struct imap_arg *args, size_t n,
		  struct imap_search *s, bool *badcharset_r,
		  const char **err_r)
{
	struct imap_sctx c = {.args = args, .n = n};

	memset(s, 0, sizeof(*s));
	*badcharset_r = false;
	if (c.i < c.n && imap_arg_atom_is(&args[c.i], "RETURN")) {
		if (imap_search_return(s, c.i + 1 < n ? &args[c.i + 1] : NULL) < 0) {
			*err_r = IMAP_SE_RETURN;
			return -1;
		}
		c.i += 2;
	}
	if (c.i < c.n && imap_arg_atom_is(&args[c.i], "CHARSET")) {
		if (imap_search_charset(s, c.i + 1 < n ? &args[c.i + 1] : NULL,
					badcharset_r) < 0) {
			*err_r = *badcharset_r ? IMAP_SE_CHARSET : IMAP_SE_ARG;
			return -1;
		}
		c.i += 2;
	}
	s->root = imap_sk_and(&c, 0);
	if (s->root == NULL) {
		*err_r = c.err != NULL ? c.err : IMAP_SE_MISSING;
		return -1;
	}
	return 0;
}

void
imap_search_free(struct imap_search *s)
{
	if (s == NULL)
		return;
	imap_search_node_free(s->root);
	s->root = NULL;
}
