/*
 * libFuzzer target for IMAP dates (imap_date.c, RFC 9051 §9 date and
 * date-time) and their round trip with the formatter:
 * - a date-time that parses formats to one that parses to the same
 *   instant (unless it lies outside years 0000-9999, which the format
 *   clamps), and that formatted text is a fixed point;
 * - any instant (the first 8 octets) formats to a date-time that parses
 *   back to it, clamped to years 0000-9999;
 * - a date that parses is midnight UTC of a day, and the date part of
 *   that day's formatted date-time parses to it again;
 * - the formatter writes 26 characters and a NUL;
 * - an RFC 5322 date (mime_parse_date, for SENT* and SORT DATE) lies
 *   within a day plus the largest zone offset of the day it names.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parse.h"
#include "mime/mime.h"
#include "util/date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The format's range: 01-Jan-0000 00:00:00 to 31-Dec-9999 23:59:59. */
static int64_t
fuzz_date_clamp(int64_t t)
{
	int64_t lo = date_days_from_civil(0, 1, 1) * 86400;
	int64_t hi = date_days_from_civil(9999, 12, 31) * 86400 + 86399;

	return t < lo ? lo : t > hi ? hi : t;
}

/* Formats t and parses it back: the clamped t, 26 characters. */
static void
fuzz_date_format_back(int64_t t)
{
	char out[32], again[32];
	int64_t back;

	memset(out, 'x', sizeof(out));
	imap_format_datetime(t, out);
	if (strlen(out) != 26)
		abort();
	if (imap_parse_datetime(out, 26, &back) < 0 ||
	    back != fuzz_date_clamp(t))
		abort();
	imap_format_datetime(back, again);
	if (strcmp(again, out) != 0)
		abort();
	/* The date part alone: that day at midnight. */
	if (imap_parse_date(out, 11, &back) < 0 ||
	    back != fuzz_date_clamp(t) - ((fuzz_date_clamp(t) % 86400) +
					  86400) % 86400)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);
	int64_t t, day;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	if (imap_parse_datetime(s, size, &t) == 0) {
		char out[32];
		int64_t back;

		imap_format_datetime(t, out);
		if (imap_parse_datetime(out, strlen(out), &back) < 0)
			abort();
		if (fuzz_date_clamp(t) == t && back != t)
			abort();
		fuzz_date_format_back(t);
	}
	if (imap_parse_date(s, size, &t) == 0) {
		if (t % 86400 != 0)
			abort();
		fuzz_date_format_back(t);
	}
	if (mime_parse_date(s, size, &t, &day) == 0) {
		/* a zone is at most +-99:59 (hhmm, minutes < 60) */
		int64_t off = t - day * 86400;

		if (off < -(100 * 3600) || off > 86401 + 100 * 3600)
			abort();
	}
	if (size >= 8) {
		uint64_t u;

		memcpy(&u, data, 8);
		/* Beyond +-2^60 s the calendar arithmetic overflows; no IMAP
		 * date comes near (year 9999 is 2.5e11 s). */
		fuzz_date_format_back((int64_t)(u % (1ULL << 61)) -
				      (int64_t)(1ULL << 60));
	}
	free(s);
	return 0;
}
