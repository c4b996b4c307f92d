/*
 * SMTP reply parsing for the client (RFC 5321 §4.2): one line at a time,
 * multi-line replies ("250-..." then "250 ..."), bounded in line length,
 * line count and total size; the RFC 3463 enhanced status code taken from
 * the first line's text when present (RFC 2034 §4), else derived from the
 * reply code. Pure: no I/O, no logging.
 */
#ifndef POSTEL_SMTPC_REPLY_H
#define POSTEL_SMTPC_REPLY_H

#include <stddef.h>

#include "smtpc.h"

/* RFC 5321 §4.5.3.1.5 puts a reply line at 512 octets with its CRLF;
 * servers exceed it in the wild (long EHLO AUTH lists, banners), so we
 * take up to 2 KB and refuse longer. */
#define SMTPC_REPLY_LINE_MAX 2048
/* EHLO lists rarely pass 30 lines; more is a broken or hostile server. */
#define SMTPC_REPLY_LINES_MAX 100
#define SMTPC_REPLY_TOTAL_MAX (32 * 1024)

struct smtpc_reply_state {
	int code;        /* of the first line; 0 before it */
	unsigned lines;
	size_t total;
	size_t text_len; /* of r->text */
	struct smtpc_reply *r;
};

/* Starts a new reply, to be filled into r (cleared). */
void smtpc_reply_begin(struct smtpc_reply_state *st, struct smtpc_reply *r);
/* One line of len octets, without its CRLF. *text_r and *text_len_r: the
 * line's text after "NNN-"/"NNN " (for EHLO keywords).
 *   1  that was the last line: r holds the reply (code, status, text);
 *   0  more lines follow;
 *  -1  malformed (no 3-digit code, code changes between lines, a limit
 *      passed): the connection cannot be trusted further. */
int smtpc_reply_line(struct smtpc_reply_state *st, const char *line,
		     size_t len, const char **text_r, size_t *text_len_r);

/* A made-up reply for a local failure: r->text becomes
 * "<code> <status> <fmt...>". */
void smtpc_reply_set(struct smtpc_reply *r, int code, const char *status,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
