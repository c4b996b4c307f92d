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
	const char *status;      /* "5.1.1" */
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
	time_t arrival;
	enum store_ret ret;
	bool smtputf8;           /* the original used SMTPUTF8 */
	time_t now;              /* Date: */
};

/* Builds the whole DSN (header section and body, CRLF lines, ready to
 * store or send) into out from the original message (its file's octets:
 * only the header section is copied for headers-only returns; a full
 * return larger than max_return is cut to its headers, with a note).
 * 0, or -1 when out of memory. */
int dsn_build(const struct dsn_info *info, const struct dsn_rcpt *rcpts,
	      size_t n, const char *orig, size_t orig_len, size_t max_return,
	      struct buf *out);

#endif
