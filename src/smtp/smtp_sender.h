/*
 * Sender identity on submission (587/465): the authenticated account may
 * only use its own addresses (store_sender_allowed) in MAIL FROM and in the
 * message's From: and Sender: fields. docs/ARCHITECTURE.md, "Sender
 * identity", gives the rules and why.
 *
 * smtp_sender_header_parse is pure (bytes in, struct out; fuzzed by
 * tests/fuzz/fuzz_smtp_sender.c); smtp_sender_mail and smtp_sender_data
 * are the session hooks (smtp_sender.c).
 */
#ifndef POSTEL_SMTP_SENDER_H
#define POSTEL_SMTP_SENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/limits.h"

/* Distinct mailboxes of From: and Sender: checked per message; a message
 * naming more is refused (a real one names one, RFC 5322 §3.6.2). */
#define SMTP_SENDER_ADDRS_MAX 16

enum smtp_sender_field {
	SMTP_SENDER_FROM = 0,
	SMTP_SENDER_SENDER,
};

enum smtp_sender_hdr_status {
	SMTP_SENDER_HDR_OK = 0,   /* addrs[0..n) to check, n >= 1 */
	SMTP_SENDER_HDR_NO_FROM,  /* no From: field holding a mailbox */
	SMTP_SENDER_HDR_BAD_ADDR, /* a mailbox without domain, or too long:
				   * bad/bad_field name it */
	SMTP_SENDER_HDR_TOO_MANY, /* over SMTP_SENDER_ADDRS_MAX mailboxes */
	SMTP_SENDER_HDR_NO_MEMORY = -1,
};

struct smtp_sender_hdr {
	/* "local@domain": a local part written as one quoted string is
	 * unquoted (RFC 5322 §3.4.1: the same address); distinct, compared
	 * ASCII case-insensitively. */
	char addrs[SMTP_SENDER_ADDRS_MAX][LIMIT_ADDRESS + 1];
	enum smtp_sender_field field[SMTP_SENDER_ADDRS_MAX];
	size_t n;
	/* BAD_ADDR: the mailbox as far as it fits, bytes outside printable
	 * ASCII as '?', safe for a reply line. */
	char bad[LIMIT_ADDRESS + 1];
	enum smtp_sender_field bad_field;
};

/* The mailboxes of every From: and Sender: field of the header block
 * hdr[0..len) (it ends at the first empty line; the rest is ignored).
 * Returns the status; r holds the mailboxes found up to that point. */
enum smtp_sender_hdr_status
smtp_sender_header_parse(const char *hdr, size_t len,
			 struct smtp_sender_hdr *r);
/* "From:" or "Sender:". */
const char *smtp_sender_field_name(enum smtp_sender_field f);

/* ---- session hooks (smtp_sender.c) ---------------------------------- */

struct smtp_session;
typedef void (*smtp_sender_cont_fn)(struct smtp_session *s);

/* At the end of a successful MAIL (s->tx->from set, state MAIL): replies
 * 250 when no check applies (not submission, or sender_check = no) or the
 * reverse-path is the account's to use; otherwise 550 5.7.1 naming the
 * rule and the transaction is dropped. The store lookup runs on a worker
 * (the session waits, as for RCPT). */
void smtp_sender_mail(struct smtp_session *s);
/* At the end of DATA/BDAT, before delivery: hdr[0..len) is the start of
 * the message (at least its header block, or the first len octets when
 * truncated is set). Calls cont(s) when From:/Sender: may be used (at once
 * or after a worker lookup); otherwise replies 550 5.7.1 (451 4.3.0 on a
 * store failure) and frees the transaction: nothing is stored. */
void smtp_sender_data(struct smtp_session *s, const char *hdr, size_t len,
		      bool truncated, smtp_sender_cont_fn cont);

#endif
