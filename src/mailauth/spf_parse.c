/*
 * SPF record syntax (RFC 7208 §4.6.1, §5, §6) and macro expansion (§7).
 * Pure: bytes in, terms or text out.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf_parse.h"

#define SPF_VERSION "v=spf1"
#define SPF_VERSION_LEN 6
/* A macro value is split into at most this many parts (RFC 7208 §7.3);
 * a DIGIT transformer above it means "all parts" anyway. */
#define SPF_MACRO_PARTS 256
#define SPF_MACRO_VALUE_MAX 1024
/* RFC 7208 §7.3: the domain after expansion; RFC 1035 §2.3.4: labels. */
#define SPF_DOMAIN_MAX 253
#define SPF_LABEL_MAX 63

bool
spf_is_record(const char *txt, size_t len)
{
	return len >= SPF_VERSION_LEN &&
	       strncasecmp(txt, SPF_VERSION, SPF_VERSION_LEN) == 0 &&
	       (len == SPF_VERSION_LEN || txt[SPF_VERSION_LEN] == ' ');
}

/* ---- macros ------------------------------------------------------------ */

static bool
macro_letter(char c, bool explain)
{
	c = (char)tolower((unsigned char)c);
	if (strchr("slodiphv", c) != NULL)
		return true;
	return explain && strchr("crt", c) != NULL;
}

static bool
is_delim(char c)
{
	return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

struct macro_out {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void
out_put(struct macro_out *o, const char *s, size_t n)
{
	if (o == NULL || o->p == NULL)
		return;
	if (o->len + n + 1 > o->cap) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* The value a macro letter stands for, into v (NUL-terminated). */
static void
macro_value(char letter, const struct spf_macro_ctx *m, char *v, size_t vlen)
{
	const unsigned char *a = m->ip;
	size_t k = 0;

	switch (tolower((unsigned char)letter)) {
	case 's': snprintf(v, vlen, "%s", m->sender); return;
	case 'l': snprintf(v, vlen, "%s", m->local); return;
	case 'o': snprintf(v, vlen, "%s", m->sender_domain); return;
	case 'd': snprintf(v, vlen, "%s", m->domain); return;
	case 'h': snprintf(v, vlen, "%s", m->helo); return;
	case 'p':
		snprintf(v, vlen, "%s", m->ptr_name ? m->ptr_name : "unknown");
		return;
	case 'r':
		snprintf(v, vlen, "%s", m->receiver && m->receiver[0]
					? m->receiver : "unknown");
		return;
	case 't': snprintf(v, vlen, "%lld", (long long)m->now); return;
	case 'v':
		snprintf(v, vlen, "%s", m->family == AF_INET6 ? "ip6"
							       : "in-addr");
		return;
	case 'c':
		if (inet_ntop(m->family, a, v, (socklen_t)vlen) == NULL)
			v[0] = '\0';
		return;
	case 'i':
		if (m->family != AF_INET6) {
			snprintf(v, vlen, "%u.%u.%u.%u", a[0], a[1], a[2],
				 a[3]);
			return;
		}
		/* RFC 7208 §7.3: dot-separated nibbles, high first. */
		for (int i = 0; i < 16 && k + 4 < vlen; i++) {
			static const char hex[] = "0123456789abcdef";
			v[k++] = hex[a[i] >> 4];
			v[k++] = '.';
			v[k++] = hex[a[i] & 15];
			v[k++] = i < 15 ? '.' : '\0';
		}
		v[k < vlen ? k : vlen - 1] = '\0';
		return;
	default:
		v[0] = '\0';
	}
}

/* RFC 7208 §7.3: an upper-case macro letter URL-escapes its value
 * (RFC 3986 unreserved characters stay). */
static void
out_escaped(struct macro_out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[4];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			out_put(o, s + i, 1);
			continue;
		}
		snprintf(e, sizeof(e), "%%%02X", c);
		out_put(o, e, 3);
	}
}

/* Splits v on the delimiters, reverses when asked, keeps the rightmost
 * keep parts (0: all), joins with "." (RFC 7208 §7.3). */
static void
out_transformed(struct macro_out *o, const char *v, const char *delims,
		unsigned keep, bool reverse, bool escape)
{
	size_t start[SPF_MACRO_PARTS], plen[SPF_MACRO_PARTS];
	size_t n = 0, b = 0, len = strlen(v), first;
	char joined[SPF_MACRO_VALUE_MAX + 1];
	struct macro_out j = { joined, 0, sizeof(joined), false };

	for (size_t i = 0; i <= len; i++) {
		if (i < len && (delims[0] ? strchr(delims, v[i]) == NULL
					  : v[i] != '.'))
			continue;
		if (n < SPF_MACRO_PARTS) {
			start[n] = b;
			plen[n] = i - b;
			n++;
		} else {
			/* Too many parts: the last one takes the rest. */
			plen[n - 1] = i - start[n - 1];
		}
		b = i + 1;
	}
	joined[0] = '\0';
	first = keep > 0 && keep < n ? n - keep : 0;
	/* Reversal first, then the rightmost parts of the reversed list. */
	for (size_t k = first; k < n; k++) {
		size_t idx = reverse ? n - 1 - k : k;

		if (k > first)
			out_put(&j, ".", 1);
		out_put(&j, v + start[idx], plen[idx]);
	}
	if (escape)
		out_escaped(o, joined, j.len);
	else
		out_put(o, joined, j.len);
	if (j.overflow)
		o->overflow = true;
}

/* Scans (and with m, expands) a macro-string. *last_macro_r: the string
 * ends with a macro-expand (domain-end, RFC 7208 §7.1). */
static int
macro_scan(const char *s, size_t len, bool explain,
	   const struct spf_macro_ctx *m, struct macro_out *o,
	   bool *last_macro_r, const char **err_r)
{
	bool last = false;

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];

		if (c != '%') {
			if (c == ' ' ? !explain : (c < 0x21 || c > 0x7e)) {
				*err_r = "invalid character in macro-string";
				return -1;
			}
			out_put(o, s + i, 1);
			last = false;
			i++;
			continue;
		}
		if (i + 1 >= len) {
			*err_r = "'%' at the end of a macro-string";
			return -1;
		}
		last = true;
		switch (s[i + 1]) {
		case '%': out_put(o, "%", 1); i += 2; continue;
		case '_': out_put(o, " ", 1); i += 2; continue;
		case '-': out_put(o, "%20", 3); i += 2; continue;
		case '{': break;
		default:
			*err_r = "invalid '%' escape in macro-string";
			return -1;
		}
		size_t k = i + 2;
		char letter, delims[8] = "";
		unsigned keep = 0;
		bool digits = false, reverse = false;
		size_t nd = 0;

		if (k >= len || !macro_letter(s[k], explain)) {
			*err_r = "invalid macro letter";
			return -1;
		}
		letter = s[k++];
		while (k < len && isdigit((unsigned char)s[k])) {
			if (keep < 100000)
				keep = keep * 10 + (unsigned)(s[k] - '0');
			digits = true;
			k++;
		}
		if (digits && keep == 0) {
			*err_r = "macro transformer of zero parts";
			return -1;
		}
		if (k < len && (s[k] == 'r' || s[k] == 'R')) {
			reverse = true;
			k++;
		}
		while (k < len && is_delim(s[k])) {
			if (nd + 1 < sizeof(delims) && !strchr(delims, s[k]))
				delims[nd++] = s[k];
			k++;
		}
		if (k >= len || s[k] != '}') {
			*err_r = "unterminated macro";
			return -1;
		}
		if (m != NULL) {
			char v[SPF_MACRO_VALUE_MAX + 1];

			macro_value(letter, m, v, sizeof(v));
			out_transformed(o, v, delims, keep, reverse,
					isupper((unsigned char)letter));
		}
		i = k + 1;
	}
	if (last_macro_r != NULL)
		*last_macro_r = last;
	if (o != NULL && o->overflow) {
		*err_r = "macro expansion too long";
		return -1;
	}
	return 0;
}

int
spf_macro_expand(const char *s, size_t len, bool explain,
		 const struct spf_macro_ctx *m, char *out, size_t outlen,
		 const char **err_r)
{
	struct macro_out o = { out, 0, outlen, false };

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	return macro_scan(s, len, explain, m, &o, NULL, err_r);
}

int
spf_macro_check(const char *s, size_t len, bool explain, const char **err_r)
{
	return macro_scan(s, len, explain, NULL, NULL, NULL, err_r);
}

bool
spf_macro_uses_p(const char *s, size_t len)
{
	for (size_t i = 0; i + 2 < len; i++) {
		if (s[i] != '%')
			continue;
		if (s[i + 1] == '{' && (s[i + 2] == 'p' || s[i + 2] == 'P'))
			return true;
		i++; /* "%%" is one escape */
	}
	return false;
}

/* ---- domains ----------------------------------------------------------- */

/* RFC 7208 §7.1 toplabel: letters, digits and hyphens, not all digits,
 * no hyphen at either end. */
static bool
toplabel_ok(const char *s, size_t n)
{
	bool alpha = false;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalpha(c))
			alpha = true;
		else if (!isdigit(c) && c != '-')
			return false;
	}
	/* "1-2" is a toplabel too (the second ABNF alternative). */
	return alpha || memchr(s, '-', n) != NULL;
}

/* domain-spec = macro-string domain-end (RFC 7208 §7.1). */
static int
domain_spec_check(const char *s, size_t len, const char **err_r)
{
	bool last_macro = false;
	size_t end = len;
	const char *dot;

	if (len == 0) {
		*err_r = "empty domain-spec";
		return -1;
	}
	if (macro_scan(s, len, false, NULL, NULL, &last_macro, err_r) < 0)
		return -1;
	if (last_macro)
		return 0;
	if (s[end - 1] == '.')
		end--;
	dot = end > 0 ? memrchr(s, '.', end) : NULL;
	if (dot == NULL || !toplabel_ok(dot + 1, (size_t)(s + end - dot - 1))) {
		*err_r = "domain-spec does not end in a valid top label";
		return -1;
	}
	return 0;
}

bool
spf_domain_ok(const char *d)
{
	size_t len = strlen(d), label = 0, labels = 0;

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || d[i] == '.') {
			if (label == 0 || label > SPF_LABEL_MAX)
				return false;
			labels++;
			label = 0;
			continue;
		}
		label++;
	}
	return labels >= 2;
}

void
spf_domain_trim(char *d)
{
	size_t len = strlen(d);

	if (len > 0 && d[len - 1] == '.')
		d[--len] = '\0';
	while (len > SPF_DOMAIN_MAX) {
		char *dot = strchr(d, '.');

		if (dot == NULL)
			return;
		len -= (size_t)(dot + 1 - d);
		memmove(d, dot + 1, len + 1);
	}
}

/* ---- terms ------------------------------------------------------------- */

/* "/N" (dbl: "//N") at the end of s[0..*len) with N in 0..max (no
 * leading zero): 1 found (removed from *len), 0 none, -1 invalid. */
static int
cidr_suffix(const char *s, size_t *len, int max, int *out, bool dbl)
{
	size_t e = *len, b = e;
	long v = 0;

	while (b > 0 && isdigit((unsigned char)s[b - 1]))
		b--;
	if (b == e || b == 0 || s[b - 1] != '/')
		return 0;
	if (dbl && (b < 2 || s[b - 2] != '/'))
		return 0;
	if (e - b > 3 || (s[b] == '0' && e - b > 1))
		return -1;
	for (size_t i = b; i < e; i++)
		v = v * 10 + (s[i] - '0');
	if (v > max)
		return -1;
	*out = (int)v;
	*len = b - (dbl ? 2 : 1);
	return 1;
}

/* RFC 7208 §5.6 ip4-network: strict dotted quad (no leading zeros). */
static bool
ip4_parse(const char *s, size_t n, unsigned char *ip)
{
	size_t i = 0;

	for (int q = 0; q < 4; q++) {
		size_t b = i;
		unsigned v = 0;

		while (i < n && isdigit((unsigned char)s[i]) && i - b < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == b || v > 255 || (s[b] == '0' && i - b > 1))
			return false;
		ip[q] = (unsigned char)v;
		if (q < 3 && (i >= n || s[i++] != '.'))
			return false;
	}
	return i == n;
}

static int
term_ip(struct spf_term *t, const char *r, size_t n, const char **err_r)
{
	bool v6 = t->mech == SPF_MECH_IP6;
	char tmp[64];
	int rc;

	if (n < 2 || r[0] != ':') {
		*err_r = "ip4/ip6 without an address";
		return -1;
	}
	r++;
	n--;
	rc = cidr_suffix(r, &n, v6 ? 128 : 32, v6 ? &t->cidr6 : &t->cidr4,
			 false);
	if (rc < 0 || n == 0 || n >= sizeof(tmp)) {
		*err_r = "invalid ip4/ip6 network";
		return -1;
	}
	if (!v6 ? !ip4_parse(r, n, t->ip)
		: (memcpy(tmp, r, n), tmp[n] = '\0',
		   inet_pton(AF_INET6, tmp, t->ip) != 1)) {
		*err_r = "invalid ip4/ip6 address";
		return -1;
	}
	return 1;
}

static const struct {
	const char *name;
	enum spf_mech mech;
} spf_mechs[] = {
	{ "all", SPF_MECH_ALL },       { "include", SPF_MECH_INCLUDE },
	{ "a", SPF_MECH_A },           { "mx", SPF_MECH_MX },
	{ "ptr", SPF_MECH_PTR },       { "ip4", SPF_MECH_IP4 },
	{ "ip6", SPF_MECH_IP6 },       { "exists", SPF_MECH_EXISTS },
};

/* The arguments of a mechanism: r[0..n) after its name. */
static int
term_args(struct spf_term *t, const char *r, size_t n, const char **err_r)
{
	bool cidr = t->mech == SPF_MECH_A || t->mech == SPF_MECH_MX;
	bool need = t->mech == SPF_MECH_INCLUDE || t->mech == SPF_MECH_EXISTS;

	if (t->mech == SPF_MECH_IP4 || t->mech == SPF_MECH_IP6)
		return term_ip(t, r, n, err_r);
	if (t->mech == SPF_MECH_ALL) {
		if (n == 0)
			return 1;
		*err_r = "arguments after all";
		return -1;
	}
	if (cidr) {
		/* dual-cidr-length = [ ip4-cidr ] [ "/" ip6-cidr ] */
		if (cidr_suffix(r, &n, 128, &t->cidr6, true) < 0 ||
		    cidr_suffix(r, &n, 32, &t->cidr4, false) < 0) {
			*err_r = "invalid CIDR length";
			return -1;
		}
	}
	if (n == 0) {
		if (!need)
			return 1;
		*err_r = "mechanism needs a domain";
		return -1;
	}
	if (r[0] != ':') {
		*err_r = "unknown mechanism";
		return -1;
	}
	t->spec = r + 1;
	t->spec_len = n - 1;
	return domain_spec_check(t->spec, t->spec_len, err_r) < 0 ? -1 : 1;
}

static int
term_parse(const char *s, size_t n, struct spf_term *t, const char **err_r)
{
	size_t k = 0;

	memset(t, 0, sizeof(*t));
	t->qual = '+';
	t->cidr4 = 32;
	t->cidr6 = 128;
	/* name "=" macro-string (RFC 7208 §4.6.1): a modifier. */
	if (isalpha((unsigned char)s[0])) {
		while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '-' ||
				 s[k] == '_' || s[k] == '.'))
			k++;
		if (k < n && s[k] == '=') {
			t->mech = SPF_MECH_MODIFIER;
			t->name = s;
			t->name_len = k;
			t->spec = s + k + 1;
			t->spec_len = n - k - 1;
			return 1;
		}
	}
	k = 0;
	if (strchr("+-~?", s[0]) != NULL) {
		t->qual = s[0];
		k = 1;
	}
	size_t b = k;
	while (k < n && isalnum((unsigned char)s[k]))
		k++;
	for (size_t i = 0; i < sizeof(spf_mechs) / sizeof(spf_mechs[0]); i++)
		if (strlen(spf_mechs[i].name) == k - b &&
		    strncasecmp(spf_mechs[i].name, s + b, k - b) == 0) {
			t->mech = spf_mechs[i].mech;
			return term_args(t, s + k, n - k, err_r);
		}
	*err_r = "unknown mechanism";
	return -1;
}

int
spf_term_next(const char *txt, size_t len, size_t *pos, struct spf_term *t,
	      const char **err_r)
{
	size_t i = *pos < SPF_VERSION_LEN ? SPF_VERSION_LEN : *pos, b;

	while (i < len && txt[i] == ' ')
		i++;
	if (i >= len) {
		*pos = len;
		return 0;
	}
	b = i;
	while (i < len && txt[i] != ' ') {
		unsigned char c = (unsigned char)txt[i];

		/* RFC 7208 §3.1 / §4.6.1: terms are printable ASCII
		 * separated by spaces only. */
		if (c < 0x21 || c > 0x7e) {
			*err_r = "invalid character in record";
			return -1;
		}
		i++;
	}
	*pos = i;
	return term_parse(txt + b, i - b, t, err_r);
}

static int
modifier_check(const struct spf_term *t, struct spf_record_info *info,
	       const char **err_r)
{
	bool redirect = t->name_len == 8 &&
			strncasecmp(t->name, "redirect", 8) == 0;
	bool exp = t->name_len == 3 && strncasecmp(t->name, "exp", 3) == 0;

	if (!redirect && !exp) /* unknown modifiers are ignored (§6) */
		return spf_macro_check(t->spec, t->spec_len, false, err_r);
	if (redirect ? info->redirect != NULL : info->exp != NULL) {
		*err_r = "modifier given twice";
		return -1;
	}
	if (domain_spec_check(t->spec, t->spec_len, err_r) < 0)
		return -1;
	if (redirect) {
		info->redirect = t->spec;
		info->redirect_len = t->spec_len;
	} else {
		info->exp = t->spec;
		info->exp_len = t->spec_len;
	}
	return 0;
}

int
spf_record_check(const char *txt, size_t len, struct spf_record_info *info,
		 const char **err_r)
{
	size_t pos = 0;
	struct spf_term t;
	int rc;

	memset(info, 0, sizeof(*info));
	if (!spf_is_record(txt, len)) {
		*err_r = "not an SPF record";
		return -1;
	}
	while ((rc = spf_term_next(txt, len, &pos, &t, err_r)) == 1) {
		info->n_terms++;
		if (t.mech == SPF_MECH_ALL)
			info->has_all = true;
		if (t.mech == SPF_MECH_MODIFIER &&
		    modifier_check(&t, info, err_r) < 0)
			return -1;
	}
	return rc;
}
