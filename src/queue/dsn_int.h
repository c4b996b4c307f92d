/*
 * Internal helpers of the DSN builder (dsn.c, dsn_text.c), not for other
 * modules.
 */
#ifndef POSTEL_DSN_INT_H
#define POSTEL_DSN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "dsn.h"

/* RFC 5322 §2.1.1: lines of at most 998 characters, 78 recommended. */
#define DSN_LINE_MAX 998
#define DSN_FOLD_AT 78
/* One header field or human paragraph being built (values are bounded
 * by the queue: replies STORE_QUEUE_REPLY_MAX, addresses 320). */
#define DSN_FIELD_MAX (64 * 1024)

/* Appends an RFC 5322 §3.3 date-time (UTC). 0 or -1. */
int dsn_put_date(struct buf *out, time_t t);
/* True when s (NUL-terminated, NULL allowed) has no 8-bit octets. */
bool dsn_is_ascii(const char *s);
/* True when s opens with an SMTP reply code (RFC 5321 §4.2: three
 * digits, then a space, a "-" or the end). */
bool dsn_is_smtp_reply(const char *s);
/* Appends s cleaned for a header or the report: controls and line breaks
 * become a space, white space runs one space; 8-bit octets are kept when
 * utf8, else written "?". 0 or -1. */
int dsn_put_clean(struct buf *out, const char *s, bool utf8);
/* Appends the header line s[0..len) folded (RFC 5322 §2.2.3) at white
 * space after column min, with its CRLF. 0 or -1. */
int dsn_put_folded(struct buf *out, const char *s, size_t len, size_t min);
/* "name: prefix" + the cleaned value, folded, with its CRLF. 0 or -1. */
int dsn_put_field(struct buf *out, const char *name, const char *prefix,
                  const char *value, bool utf8);
/* The human-readable part's text (RFC 3464 §2: the first part), and the
 * note about what is returned (NULL for none). 0 or -1. */
int dsn_put_human(struct buf *out, const struct dsn_info *info,
                  const struct dsn_rcpt *rcpts, size_t n, bool utf8,
                  const char *note);

#endif
