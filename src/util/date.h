/*
 * Calendar arithmetic that knows nothing about mail.
 */
#ifndef POSTEL_DATE_H
#define POSTEL_DATE_H

#include <stdint.h>

/* Days from 1970-01-01 to y-m-d (m 1..12) of the proleptic Gregorian
 * calendar, any year; the one calendar for IMAP and RFC 5322 dates. */
int64_t date_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
