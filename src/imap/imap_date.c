/*
 * IMAP dates (RFC 9051 §9 date, date-time): "d-Mon-yyyy" for SEARCH and
 * "dd-Mon-yyyy hh:mm:ss +zzzz" for APPEND and INTERNALDATE. Calendar
 * arithmetic is done here and in util/date.c (proleptic Gregorian, days
 * since 1970-01-01) so nothing depends on the process time zone or
 * timegm().
 */
#include "imap_parse.h"

#include <stdio.h>
#include <string.h>

#include "../util/str.h"
#include "../util/date.h"

static const char imap_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static void
imap_civil_from_days(int64_t z, int64_t *y_r, unsigned *m_r, unsigned *d_r)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d_r = doy - (153 * mp + 2) / 5 + 1;
	*m_r = mp < 10 ? mp + 3 : mp - 9;
	*y_r = (int64_t)yoe + era * 400 + (*m_r <= 2);
}

static unsigned
imap_month_days(int64_t y, unsigned m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* Exactly n digits at s; -1 otherwise. */
static int
imap_digits(const char *s, size_t n, unsigned *v_r)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*v_r = v;
	return 0;
}

/* "d-Mon-yyyy" at s; the day may be one or two digits, or (date-day-fixed)
 * a space and one digit. Returns the octets used, 0 when malformed. */
static size_t
imap_date_part(const char *s, size_t len, int64_t *day_r)
{
	size_t i = 0;
	unsigned d, m, y;

	if (len > 0 && s[0] == ' ')
		i = 1;
	size_t dl = (len > i + 1 && s[i + 1] >= '0' && s[i + 1] <= '9') ? 2 : 1;
	if (i == 1 && dl == 2)
		return 0;
	if (len < i + dl + 9 || imap_digits(s + i, dl, &d) < 0)
		return 0;
	i += dl;
	if (s[i] != '-' || s[i + 4] != '-' ||
	    imap_digits(s + i + 5, 4, &y) < 0)
		return 0;
	for (m = 0; m < 12; m++)
		if (str_ieq(s + i + 1, 3, imap_months[m]))
			break;
	if (m == 12 || d == 0 || d > imap_month_days(y, m + 1))
		return 0;
	*day_r = date_days_from_civil(y, m + 1, d) * 86400;
	return i + 9;
}

/* A quoted form ("...") is accepted too: the caller may pass raw text. */
static void
imap_unquote(const char **s, size_t *len)
{
	if (*len >= 2 && (*s)[0] == '"' && (*s)[*len - 1] == '"') {
		(*s)++;
		*len -= 2;
	}
}

int
imap_parse_date(const char *s, size_t len, int64_t *day_r)
{
	int64_t day;

	imap_unquote(&s, &len);
	if (len == 0 || s[0] == ' ' || imap_date_part(s, len, &day) != len)
		return -1;
	*day_r = day;
	return 0;
}

int
imap_parse_datetime(const char *s, size_t len, int64_t *t_r)
{
	int64_t day;
	unsigned hh, mm, ss, zh, zm;
	size_t i;

	imap_unquote(&s, &len);
	i = imap_date_part(s, len, &day);
	/* " hh:mm:ss +zzzz" */
	if (i == 0 || len - i != 15 || s[i] != ' ' || s[i + 3] != ':' ||
	    s[i + 6] != ':' || s[i + 9] != ' ' ||
	    (s[i + 10] != '+' && s[i + 10] != '-') ||
	    imap_digits(s + i + 1, 2, &hh) < 0 ||
	    imap_digits(s + i + 4, 2, &mm) < 0 ||
	    imap_digits(s + i + 7, 2, &ss) < 0 ||
	    imap_digits(s + i + 11, 2, &zh) < 0 ||
	    imap_digits(s + i + 13, 2, &zm) < 0)
		return -1;
	/* ss may be 60: a leap second (RFC 5322 §3.3 allows it too). */
	if (hh > 23 || mm > 59 || ss > 60 || zm > 59)
		return -1;
	int64_t off = ((int64_t)zh * 60 + zm) * 60;
	if (s[i + 10] == '-')
		off = -off;
	*t_r = day + (int64_t)hh * 3600 + (int64_t)mm * 60 + ss - off;
	return 0;
}

void
imap_format_datetime(int64_t t, char out[32])
{
	int64_t days = t / 86400, secs = t % 86400, y;
	unsigned m, d;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	imap_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) { /* date-year is 4DIGIT */
		y = y < 0 ? 0 : 9999;
		m = y == 0 ? 1 : 12;
		d = y == 0 ? 1 : 31;
		secs = y == 0 ? 0 : 86399;
	}
	snprintf(out, 32, "%02u-%s-%04lld %02lld:%02lld:%02lld +0000", d,
		 imap_months[m - 1], (long long)y, (long long)(secs / 3600),
		 (long long)(secs / 60 % 60), (long long)(secs % 60));
}
