/*
 * RFC 5322 §3.3 date-time, tolerant of the obsolete forms of §4.3 and of
 * what is seen in the wild (missing day of week, missing time, "1-Jan-2024");
 * used by IMAP SEARCH SENT* and SORT DATE.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mime_int.h"
#include "util/date.h"

struct date_lex {
	const char *s;
	size_t len, pos;
};

/* CFWS of RFC 5322 §3.2.2 at the cursor. */
static void
date_skip_cfws(struct date_lex *lx)
{
	mime_skip_cfws(lx->s, lx->len, &lx->pos);
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
mime_parse_date(const char *s, size_t len, int64_t *t_r, int64_t *day_r)
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
	days = date_days_from_civil(y, (unsigned)m, (unsigned)d);
	*day_r = days;
	*t_r = days * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)zone * 60;
	return 0;
}
