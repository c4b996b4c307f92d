/*
 * Text helpers for SEARCH and SORT: case folding of UTF-8 for the
 * case-insensitive substring match of RFC 9051 §6.4.4 ("In all search keys
 * that use strings ... case-insensitive"), and the RFC 5322 §3.3 date parser
 * used by SENT* and SORT DATE.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "imap_search.h"

/*
 * Simple case folding for the scripts our users write in most: the
 * mappings below follow Unicode's CaseFolding.txt (status C and S) for
 * U+0000..U+052F. A FOLD_RANGE entry adds delta to every code point in
 * [lo, hi]; a FOLD_PAIRS entry maps each even-offset code point (upper
 * case) to the next one (its lower case), as Latin Extended-A and the
 * Cyrillic supplement alternate. Sorted by lo.
 */
enum fold_kind { FOLD_RANGE = 0, FOLD_PAIRS };

struct fold_entry {
	uint32_t lo, hi;
	int32_t delta;
	enum fold_kind kind;
};

static const struct fold_entry fold_table[] = {
	{0x00B5, 0x00B5, 0x03BC - 0x00B5, FOLD_RANGE}, /* micro -> mu */
	{0x00C0, 0x00D6, 0x20, FOLD_RANGE},
	{0x00D8, 0x00DE, 0x20, FOLD_RANGE},
	{0x0100, 0x012F, 1, FOLD_PAIRS},
	{0x0130, 0x0130, 0x0069 - 0x0130, FOLD_RANGE}, /* dotted I -> i */
	{0x0132, 0x0137, 1, FOLD_PAIRS},
	{0x0139, 0x0148, 1, FOLD_PAIRS},
	{0x014A, 0x0177, 1, FOLD_PAIRS},
	{0x0178, 0x0178, 0x00FF - 0x0178, FOLD_RANGE}, /* Y diaeresis */
	{0x0179, 0x017E, 1, FOLD_PAIRS},
	{0x017F, 0x017F, 0x0073 - 0x017F, FOLD_RANGE}, /* long s -> s */
	{0x0386, 0x0386, 0x03AC - 0x0386, FOLD_RANGE},
	{0x0388, 0x038A, 0x03AD - 0x0388, FOLD_RANGE},
	{0x038C, 0x038C, 0x03CC - 0x038C, FOLD_RANGE},
	{0x038E, 0x038F, 0x03CD - 0x038E, FOLD_RANGE},
	{0x0391, 0x03A1, 0x20, FOLD_RANGE},
	{0x03A3, 0x03AB, 0x20, FOLD_RANGE},
	{0x03C2, 0x03C2, 1, FOLD_RANGE}, /* final sigma -> sigma */
	{0x03D8, 0x03EF, 1, FOLD_PAIRS},
	{0x0400, 0x040F, 0x50, FOLD_RANGE},
	{0x0410, 0x042F, 0x20, FOLD_RANGE},
	{0x0460, 0x0481, 1, FOLD_PAIRS},
	{0x048A, 0x04BF, 1, FOLD_PAIRS},
	{0x04C0, 0x04C0, 0x04CF - 0x04C0, FOLD_RANGE},
	{0x04C1, 0x04CE, 1, FOLD_PAIRS},
	{0x04D0, 0x052F, 1, FOLD_PAIRS},
};

#define FOLD_TABLE_N (sizeof(fold_table) / sizeof(fold_table[0]))
#define FOLD_LAST 0x052F

static uint32_t
fold_cp(uint32_t c)
{
	size_t lo = 0, hi = FOLD_TABLE_N;

	if (c < fold_table[0].lo || c > FOLD_LAST)
		return c;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct fold_entry *e = &fold_table[mid];

		if (c < e->lo) {
			hi = mid;
		} else if (c > e->hi) {
			lo = mid + 1;
		} else {
			if (e->kind == FOLD_PAIRS && ((c - e->lo) & 1) != 0)
				return c;
			return (uint32_t)((int32_t)c + e->delta);
		}
	}
	return c;
}

/* Decodes one UTF-8 sequence at s[0..len) (s[0] >= 0x80). Returns its
 * length and *cp_r, or 0 when it is not a valid, shortest-form sequence. */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t c;
	size_t n;

	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp_r = c;
	return n;
}

/* Writes the UTF-8 form of c (< 0x800, which is all fold_cp produces from a
 * 2-byte input) and returns its length. */
static size_t
utf8_encode_short(uint32_t c, unsigned char *out)
{
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	out[0] = (unsigned char)(0xC0 | (c >> 6));
	out[1] = (unsigned char)(0x80 | (c & 0x3F));
	return 2;
}

int
imap_text_fold(const char *s, size_t len, struct buf *out)
{
	const unsigned char *in = (const unsigned char *)s;
	unsigned char *o;
	size_t i = 0;

	/* Folding never lengthens text (every mapping stays within the same
	 * or a shorter UTF-8 length), so one reservation is enough. */
	if (len == 0)
		return 0;
	if (buf_reserve(out, len) != 0)
		return -1;
	o = out->data + out->len;
	while (i < len) {
		uint32_t c;
		size_t n;

		if (in[i] < 0x80) {
			unsigned char b = in[i++];

			*o++ = (b >= 'A' && b <= 'Z') ? (unsigned char)(b + 32)
						      : b;
			continue;
		}
		n = utf8_decode(in + i, len - i, &c);
		if (n == 0) {
			*o++ = in[i++]; /* invalid: the byte itself */
		} else if (n == 2) {
			o += utf8_encode_short(fold_cp(c), o);
			i += 2;
		} else {
			memcpy(o, in + i, n);
			o += n;
			i += n;
		}
	}
	out->len = (size_t)(o - out->data);
	return 0;
}

bool
imap_text_find(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	if (nlen == 0)
		return true;
	if (nlen > hlen)
		return false;
	return memmem(hay, hlen, needle, nlen) != NULL;
}

bool
imap_text_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\r' && s[i] != '\n' && s[i] != '\0' &&
		    s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* ---- RFC 5322 §3.3 dates ---- */

struct date_lex {
	const char *s;
	size_t len, pos;
};

/* Skips white space and (nested) comments: CFWS of RFC 5322 §3.2.2. */
static void
date_skip_cfws(struct date_lex *lx)
{
	int depth = 0;

	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos];

		if (c == '(') {
			depth++;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (c == '\\' && depth > 0 && lx->pos + 1 < lx->len) {
			lx->pos++;
		} else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
			   c != '\n') {
			return;
		}
		lx->pos++;
	}
}

/* Reads up to max digits; -1 when there is none. */
static int64_t
date_number(struct date_lex *lx, size_t max, size_t *ndigits_r)
{
	int64_t v = 0;
	size_t n = 0;

	while (lx->pos < lx->len && n < max && lx->s[lx->pos] >= '0' &&
	       lx->s[lx->pos] <= '9') {
		v = v * 10 + (lx->s[lx->pos++] - '0');
		n++;
	}
	if (ndigits_r != NULL)
		*ndigits_r = n;
	return n == 0 ? -1 : v;
}

/* Length of the alphabetic word at the cursor. */
static size_t
date_word(const struct date_lex *lx)
{
	size_t n = 0;

	while (lx->pos + n < lx->len) {
		char c = lx->s[lx->pos + n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			break;
		n++;
	}
	return n;
}

static int
date_month(const char *w, size_t n)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";

	if (n < 3)
		return -1;
	for (int m = 0; m < 12; m++) {
		size_t k;

		for (k = 0; k < 3; k++) {
			char c = w[k];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			if (c != names[m * 3 + k])
				break;
		}
		if (k == 3)
			return m + 1;
	}
	return -1;
}

/* Zone offset in minutes: +hhmm/-hhmm or an obsolete name (RFC 5322
 * §4.3); unknown or missing zones count as UTC. */
static int
date_zone(struct date_lex *lx)
{
	static const struct {
		const char *name;
		int off;
	} names[] = {{"UT", 0},	    {"GMT", 0},	    {"UTC", 0},
		     {"EST", -300}, {"EDT", -240}, {"CST", -360},
		     {"CDT", -300}, {"MST", -420}, {"MDT", -360},
		     {"PST", -480}, {"PDT", -420}};
	size_t n;

	date_skip_cfws(lx);
	if (lx->pos < lx->len &&
	    (lx->s[lx->pos] == '+' || lx->s[lx->pos] == '-')) {
		int sign = lx->s[lx->pos++] == '-' ? -1 : 1;
		size_t nd;
		int64_t v = date_number(lx, 4, &nd);

		if (v < 0 || nd != 4 || v % 100 >= 60)
			return 0;
		return sign * (int)(v / 100 * 60 + v % 100);
	}
	n = date_word(lx);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n &&
		    strncasecmp(lx->s + lx->pos, names[i].name, n) == 0)
			return names[i].off;
	return 0;
}

/* "[dow ,] d mon y" -> *y, *m, *d. 0 or -1. */
static int
date_ymd(struct date_lex *lx, int64_t *y, int *m, int64_t *d)
{
	size_t n, nd;

	date_skip_cfws(lx);
	n = date_word(lx);
	if (n > 0) { /* day of week, with or without its comma */
		lx->pos += n;
		date_skip_cfws(lx);
		if (lx->pos < lx->len && lx->s[lx->pos] == ',')
			lx->pos++;
		date_skip_cfws(lx);
	}
	*d = date_number(lx, 2, NULL);
	date_skip_cfws(lx);
	if (lx->pos < lx->len && lx->s[lx->pos] == '-')
		lx->pos++; /* "1-Jan-2024", seen in the wild */
	n = date_word(lx);
	*m = date_month(lx->s + lx->pos, n);
	lx->pos += n;
	date_skip_cfws(lx);
	if (lx->pos < lx->len && lx->s[lx->pos] == '-')
		lx->pos++;
	*y = date_number(lx, 4, &nd);
	if (*d < 1 || *d > 31 || *m < 0 || *y < 0)
		return -1;
	/* RFC 5322 §4.3: two-digit years below 50 are 20xx, three-digit
	 * and other two-digit years add 1900. */
	if (nd == 2 && *y < 50)
		*y += 2000;
	else if (nd <= 3)
		*y += 1900;
	return 0;
}

int
imap_text_parse_date(const char *s, size_t len, int64_t *t_r, int64_t *day_r)
{
	struct date_lex lx = {s, len, 0};
	int64_t y, d, hh = 0, mm = 0, ss = 0, days;
	int m, zone = 0;

	if (date_ymd(&lx, &y, &m, &d) != 0)
		return -1;
	date_skip_cfws(&lx);
	hh = date_number(&lx, 2, NULL);
	if (hh >= 0) {
		if (lx.pos >= lx.len || lx.s[lx.pos] != ':')
			return -1;
		lx.pos++;
		mm = date_number(&lx, 2, NULL);
		if (lx.pos < lx.len && lx.s[lx.pos] == ':') {
			lx.pos++;
			ss = date_number(&lx, 2, NULL);
		}
		if (hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
			return -1;
		zone = date_zone(&lx);
	} else {
		hh = 0; /* a date without a time: midnight */
	}
	days = imap_days_from_civil(y, (unsigned)m, (unsigned)d);
	*day_r = days;
	*t_r = days * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)zone * 60;
	return 0;
}
