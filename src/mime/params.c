/*
 * Content-Type (RFC 2045 §5.1), Content-Disposition (RFC 2183) and their
 * parameters, with RFC 2231 continuations and charset encoding. Tolerant:
 * unquoted values with spaces, stray characters and comments are accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "mime_int.h"

/* A parameter as written, before RFC 2231 joining. */
struct mime_rawparam {
	char *name; /* lower-case base name, without "*N*" */
	int section; /* -1 when not a continuation */
	bool ext;    /* value is charset'lang'%XX encoded */
	char *value;
	size_t order;
};

void
mime_skip_cfws(const char *v, size_t len, size_t *i)
{
	int depth = 0;

	/* RFC 5322 §3.2.2: comments nest and may hold quoted pairs. */
	for (; *i < len; (*i)++) {
		char c = v[*i];

		if (depth > 0 && c == '\\' && *i + 1 < len)
			(*i)++;
		else if (c == '(')
			depth++;
		else if (depth > 0 && c == ')')
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
			 c != '\n')
			return;
	}
}

static bool
mime_is_tspecial(unsigned char c)
{
	/* RFC 2045 §5.1 tspecials, plus white space and controls. */
	return c <= ' ' || c == 0x7f || strchr("()<>@,;:\\\"/[]?=", c);
}

static size_t
mime_token_len(const char *v, size_t len, size_t i)
{
	size_t s = i;

	while (i < len && !mime_is_tspecial((unsigned char)v[i]))
		i++;
	return i - s;
}

/* Reads a parameter value at v[*i]: a quoted string (unescaped) or
 * everything up to the next ';' (trimmed). */
static char *
mime_param_value(const char *v, size_t len, size_t *i)
{
	struct buf b;

	buf_init(&b, len + 1);
	if (*i < len && v[*i] == '"') {
		for ((*i)++; *i < len && v[*i] != '"'; (*i)++) {
			if (v[*i] == '\\' && *i + 1 < len)
				(*i)++;
			if (v[*i] != '\r' && v[*i] != '\n' &&
			    buf_append(&b, v + *i, 1) < 0)
				goto oom;
		}
		if (*i < len)
			(*i)++;
	} else {
		size_t s = *i;

		while (*i < len && v[*i] != ';')
			(*i)++;
		if (mime_unfold(v + s, *i - s, &b) < 0)
			goto oom;
	}
	if (buf_append(&b, "", 1) < 0)
		goto oom;
	return (char *)b.data;
oom:
	buf_fini(&b);
	return NULL;
}

/* Splits "name*N*" into its base name, section and encoded flag. */
static int
mime_rawparam_name(const char *n, size_t len, struct mime_rawparam *rp)
{
	size_t d;

	rp->section = -1;
	rp->ext = len > 1 && n[len - 1] == '*';
	if (rp->ext)
		len--;
	for (d = len; d > 0 && n[d - 1] >= '0' && n[d - 1] <= '9';)
		d--;
	if (d < len && d > 1 && n[d - 1] == '*' && len - d <= 3) {
		long long sec;
		char num[4];

		memcpy(num, n + d, len - d);
		num[len - d] = '\0';
		if (str_tonum(num, 0, MIME_MAX_SECTIONS, &sec) == 0) {
			rp->section = (int)sec;
			len = d - 1;
		}
	}
	rp->name = str_lower_ndup(n, len);
	return rp->name != NULL ? 0 : -1;
}

static void
mime_rawparams_free(struct mime_rawparam *rp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rp[i].name);
		free(rp[i].value);
	}
	free(rp);
}

/* Collects "; name=value" pairs from v[i..len). */
static int
mime_rawparams_read(const char *v, size_t len, size_t i,
		    struct mime_rawparam **rp_r, size_t *n_r)
{
	struct mime_rawparam *rp = calloc(MIME_MAX_PARAMS, sizeof(*rp));
	size_t n = 0;

	if (rp == NULL)
		return -1;
	while (i < len && n < MIME_MAX_PARAMS) {
		size_t name, nlen;

		/* Skip to the next ';', stepping over quoted strings. */
		while (i < len && v[i] != ';') {
			if (v[i] == '"')
				for (i++; i < len && v[i] != '"'; i++)
					i += v[i] == '\\';
			i++;
		}
		if (i >= len)
			break;
		i++;
		mime_skip_cfws(v, len, &i);
		name = i;
		nlen = mime_token_len(v, len, i);
		i += nlen;
		mime_skip_cfws(v, len, &i);
		if (nlen == 0 || i >= len || v[i] != '=')
			continue;
		i++;
		mime_skip_cfws(v, len, &i);
		if (mime_rawparam_name(v + name, nlen, &rp[n]) < 0 ||
		    (rp[n].value = mime_param_value(v, len, &i)) == NULL) {
			mime_rawparams_free(rp, n + 1);
			return -1;
		}
		rp[n].order = n;
		n++;
	}
	*rp_r = rp;
	*n_r = n;
	return 0;
}

static int
mime_rawparam_cmp(const void *a, const void *b)
{
	const struct mime_rawparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	if (x->section != y->section)
		return x->section < y->section ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* RFC 2231 §4: %XX-decodes an extended value into raw. */
static int
mime_pct_decode(const char *s, struct buf *raw)
{
	for (; *s != '\0'; s++) {
		char c = *s;
		/* NUL-terminated: a NUL at s[1] is not a digit, so s[2] is
		 * read only when s[1] is one. */
		int b = c == '%' ? mime_hex_byte(s + 1, 2) : -1;

		if (b >= 0) {
			c = (char)b;
			s += 2;
		}
		if (buf_append(raw, &c, 1) < 0)
			return -1;
	}
	return 0;
}

/* Joins one group rp[0..n) (same base name, sorted) into out->value. */
static int
mime_param_join(const struct mime_rawparam *rp, size_t n,
		struct mime_param *out)
{
	struct buf raw, conv;
	const char *cs = "utf-8";
	size_t cs_len = 5, first = 0;
	int expect = 0, ret = -1;

	/* A plain duplicate of an extended parameter loses (RFC 2231 §4.1
	 * allows senders to give both for old readers). */
	for (size_t k = 0; k < n; k++) {
		if (rp[k].ext || rp[k].section >= 0) {
			first = k;
			break;
		}
	}
	buf_init(&raw, (size_t)-1);
	buf_init(&conv, (size_t)-1);
	for (size_t k = first; k < n; k++) {
		const char *val = rp[k].value;

		if (k > first && (rp[k].section < 0 || rp[k].section != expect))
			continue; /* duplicate or gap */
		expect = rp[k].section < 0 ? -2 : rp[k].section + 1;
		if (k == first && rp[k].ext) {
			const char *q1 = strchr(val, '\''), *q2;

			q2 = q1 != NULL ? strchr(q1 + 1, '\'') : NULL;
			if (q2 != NULL) {
				if (q1 > val)
					cs = val, cs_len = (size_t)(q1 - val);
				val = q2 + 1;
			}
		}
		if (rp[k].ext ? mime_pct_decode(val, &raw) < 0
			      : buf_append(&raw, val, strlen(val)) < 0)
			goto out;
	}
	int r = mime_charset_convert(cs, cs_len, (const char *)raw.data,
				     raw.len, &conv);
	if (r == 1)
		r = mime_charset_convert("utf-8", 5, (const char *)raw.data,
					 raw.len, &conv);
	if (r < 0 || buf_append(&conv, "", 1) < 0)
		goto out;
	out->value = (char *)conv.data;
	conv.data = NULL;
	out->name = strdup(rp[0].name);
	ret = out->name != NULL ? 0 : -1;
out:
	buf_fini(&raw);
	buf_fini(&conv);
	return ret;
}

/* A joined parameter and where its group first appeared. */
struct mime_param_ord {
	struct mime_param p;
	size_t order;
};

static int
mime_param_order_cmp(const void *a, const void *b)
{
	const struct mime_param_ord *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

void
mime_params_free(struct mime_param *params, size_t n)
{
	for (size_t i = 0; params != NULL && i < n; i++) {
		free(params[i].name);
		free(params[i].value);
	}
	free(params);
}

/* Groups raw parameters by name, joins each group, and restores the order
 * in which the groups appeared. */
static int
mime_params_join_all(struct mime_rawparam *rp, size_t n,
		     struct mime_param **params_r, size_t *n_r)
{
	struct mime_param_ord *ord = calloc(n ? n : 1, sizeof(*ord));
	struct mime_param *res;
	size_t groups = 0;

	if (ord == NULL)
		return -1;
	qsort(rp, n, sizeof(*rp), mime_rawparam_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		size_t first = rp[i].order;

		for (j = i + 1; j < n && strcmp(rp[j].name, rp[i].name) == 0;)
			j++;
		for (size_t k = i; k < j; k++)
			first = rp[k].order < first ? rp[k].order : first;
		ord[groups].order = first;
		if (mime_param_join(rp + i, j - i, &ord[groups].p) < 0) {
			free(ord[groups].p.name);
			free(ord[groups].p.value);
			goto oom;
		}
		groups++;
	}
	qsort(ord, groups, sizeof(*ord), mime_param_order_cmp);
	res = calloc(groups ? groups : 1, sizeof(*res));
	if (res == NULL)
		goto oom;
	for (size_t i = 0; i < groups; i++)
		res[i] = ord[i].p;
	free(ord);
	*params_r = res;
	*n_r = groups;
	return 0;
oom:
	for (size_t i = 0; i < groups; i++) {
		free(ord[i].p.name);
		free(ord[i].p.value);
	}
	free(ord);
	return -1;
}

static int
mime_params_parse(const char *v, size_t len, size_t i,
		  struct mime_param **params_r, size_t *n_r)
{
	struct mime_rawparam *rp;
	size_t n;
	int ret;

	*params_r = NULL;
	*n_r = 0;
	if (mime_rawparams_read(v, len, i, &rp, &n) < 0)
		return -1;
	ret = n > 0 ? mime_params_join_all(rp, n, params_r, n_r) : 0;
	mime_rawparams_free(rp, n);
	return ret;
}

int
mime_parse_ctype(const char *v, size_t len, char **type_r, char **subtype_r,
		 struct mime_param **params_r, size_t *n_r)
{
	size_t i = 0, t, tlen, st = 0, stlen = 0;

	*type_r = *subtype_r = NULL;
	mime_skip_cfws(v, len, &i);
	t = i;
	tlen = mime_token_len(v, len, i);
	i += tlen;
	mime_skip_cfws(v, len, &i);
	if (i < len && v[i] == '/') {
		i++;
		mime_skip_cfws(v, len, &i);
		st = i;
		stlen = mime_token_len(v, len, i);
		i += stlen;
	}
	if (mime_params_parse(v, len, i, params_r, n_r) < 0)
		return -1;
	/* RFC 2045 §5.2: an invalid Content-Type means the default. */
	if (tlen == 0 || stlen == 0)
		return 0;
	*type_r = str_lower_ndup(v + t, tlen);
	*subtype_r = str_lower_ndup(v + st, stlen);
	if (*type_r == NULL || *subtype_r == NULL) {
		free(*type_r);
		free(*subtype_r);
		mime_params_free(*params_r, *n_r);
		return -1;
	}
	return 0;
}

int
mime_parse_disposition(const char *v, size_t len, char **disp_r,
		       struct mime_param **params_r, size_t *n_r)
{
	size_t i = 0, t, tlen;

	*disp_r = NULL;
	mime_skip_cfws(v, len, &i);
	t = i;
	tlen = mime_token_len(v, len, i);
	if (mime_params_parse(v, len, i + tlen, params_r, n_r) < 0)
		return -1;
	if (tlen == 0)
		return 0;
	*disp_r = str_lower_ndup(v + t, tlen);
	if (*disp_r == NULL) {
		mime_params_free(*params_r, *n_r);
		return -1;
	}
	return 0;
}

int
mime_parse_token(const char *v, size_t len, char **tok_r)
{
	size_t i = 0, t, tlen;

	*tok_r = NULL;
	mime_skip_cfws(v, len, &i);
	t = i;
	tlen = mime_token_len(v, len, i);
	i += tlen;
	mime_skip_cfws(v, len, &i);
	/* Anything after the token makes it invalid: "7bit" applies
	 * (RFC 2045 §6.1), as Dovecot does for "?invalid". */
	if (tlen == 0 || i < len)
		return 0;
	*tok_r = str_lower_ndup(v + t, tlen);
	return *tok_r != NULL ? 0 : -1;
}
