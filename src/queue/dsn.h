/*
 * Delivery status notifications (RFC 3464, 3461, 3463; RFC 6533 for
 * internationalised mail): the message the queue sends back to an
 * envelope sender. One DSN per message and occasion, covering every
 * recipient that owes a notice.
 *
 *   multipart/report; report-type=delivery-status
 *     1. text/plain: what happened, for people
 *     2. message/delivery-status (message/global-delivery-status when an
 *        address needs UTF-8): per-message and per-recipient fields
 *     3. message/rfc822 (RET=FULL, or failures by default) or
 *        text/rfc822-headers (RET=HDRS, or delay/success notices);
 *        message/global or message/global-headers for SMTPUTF8 mail
 */
#ifndef POSTEL_DSN_H
#define POSTEL_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../store/store.h"
#include "../util/buf.h"

struct dsn_rcpt {
	const char *final_rcpt;  /* the address we tried */
	const char *orcpt;       /* "rfc822;addr" as given, or NULL */
	enum store_queue_notice action; /* FAILED, DELAYED, DELIVERED,
					 * RELAYED */
	const char *status;      /* "5.1.1"; a malformed one is written
				  * 5.0.0, 4.0.0 or 2.0.0 per action */
	const char *remote_mta;  /* host name, or NULL */
	const char *diagnostic;  /* the remote reply "550 5.1.1 ...", or
				  * our own text; NULL for none */
	time_t last_attempt;     /* 0: never tried */
	time_t will_retry_until; /* DELAYED: when we give up */
};

struct dsn_info {
	const char *reporting_mta; /* our host name */
	const char *envid;       /* or NULL */
	const char *to;          /* the envelope sender we report to */
	const char *postmaster;  /* From: address, "postmaster@HOST" */
	const char *qid;         /* the original's queue id (X-Postel-Queue-Id
				  * and the human part) */
	time_t arrival;          /* Arrival-Date; 0: none */
	enum store_ret ret;
	bool smtputf8;           /* the original used SMTPUTF8 */
	time_t now;              /* Date: */
};

/* Builds the whole DSN (header section and body, CRLF lines of at most
 * 998 octets, ready to store or send) and appends it to out.
 * - Recipients with action STORE_NOTICE_NONE are skipped; the Subject
 *   follows the gravest action reported (failed, delayed, delivered,
 *   relayed).
 * - The third part is the whole original (message/rfc822) for a failure
 *   unless RET=HDRS, else its header section (text/rfc822-headers); a
 *   whole return larger than max_return (0: no limit) is cut to its
 *   header, with a note in the human part. Lone CR or LF in the original
 *   become CRLF and longer lines are broken (folded in the header).
 * - RFC 6533: when info->smtputf8 or an address is not ASCII, the report
 *   is message/global-delivery-status and the original message/global or
 *   message/global-headers; the DSN then holds UTF-8 and needs SMTPUTF8
 *   to leave this server. The DSN is 8-bit (Content-Transfer-Encoding
 *   8bit) when the returned octets are: queue it with STORE_QMSG_8BIT.
 * - remote_mta "host[ip]" is written "Remote-MTA: dns; host"; a
 *   diagnostic that opens with an SMTP reply code is "smtp; ...",
 *   our own text "X-Postel; ...".
 * Every value is cleaned (line breaks and controls become spaces, 8-bit
 * octets "?" outside a UTF-8 report), so no field can inject a header.
 * 0, or -1 when out of memory or out is full (out unchanged). */
int dsn_build(const struct dsn_info *info, const struct dsn_rcpt *rcpts,
	      size_t n, const char *orig, size_t orig_len, size_t max_return,
	      struct buf *out);

#endif
