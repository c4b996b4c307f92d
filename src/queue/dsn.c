/*
 * Delivery status notifications (RFC 3464, RFC 3461 §6, RFC 6533): one
 * multipart/report message built in one pass into a buffer. The three
 * parts are written by the functions below in the order of RFC 3464 §2;
 * the text pieces (dates, cleaned values, folding, the human part) are in
 * dsn_text.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../mime/mime.h"
#include "../util/str.h"
#include "dsn_int.h"

/* What the third part holds. */
enum dsn_return {
	DSN_RETURN_FULL, /* message/rfc822 (message/global) */
	DSN_RETURN_HDRS, /* text/rfc822-headers (message/global-headers) */
};

/* Everything decided before writing. */
struct dsn_plan {
	enum store_queue_notice occasion; /* the gravest action reported */
	bool global; /* RFC 6533: UTF-8 report and returned message */
	enum dsn_return ret;
	const char *note; /* why less than the whole message came back */
	size_t hdr_len;   /* the original's header block */
	bool orig_8bit;   /* the returned octets hold 8-bit data */
	char boundary[48];
};

bool
dsn_is_smtp_reply(const char *s)
{
	return s != NULL && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' &&
	       s[1] <= '9' && s[2] >= '0' && s[2] <= '9' &&
	       (s[3] == ' ' || s[3] == '-' || s[3] == '\0');
}

static const char *
dsn_action_word(enum store_queue_notice a)
{
	switch (a) {
	case STORE_NOTICE_DELAYED:
		return "delayed";
	case STORE_NOTICE_DELIVERED:
		return "delivered";
	case STORE_NOTICE_RELAYED:
		return "relayed";
	default:
		return "failed";
	}
}

static const char *
dsn_subject(enum store_queue_notice occasion)
{
	switch (occasion) {
	case STORE_NOTICE_DELAYED:
		return "Delayed Mail (still being retried)";
	case STORE_NOTICE_DELIVERED:
		return "Successful Mail Delivery Report";
	case STORE_NOTICE_RELAYED:
		return "Relayed Mail Report";
	default:
		return "Undelivered Mail Returned to Sender";
	}
}

/* 1-3 digits at s; the number of digits read, 0 when none. */
static size_t
dsn_digits(const char *s)
{
	size_t n = 0;

	while (n < 4 && s[n] >= '0' && s[n] <= '9')
		n++;
	return n <= 3 ? n : 0;
}

/* RFC 3463 §2: class "." subject "." detail, class 2, 4 or 5 and the
 * others 1-3 digits; a malformed one is replaced by the generic code of
 * the action (RFC 3464 §2.3.4 requires a status). */
const char *
dsn_status(const struct dsn_rcpt *r)
{
	const char *s = r->status;
	size_t a, b;

	if (s != NULL && (s[0] == '2' || s[0] == '4' || s[0] == '5') &&
	    s[1] == '.' && (a = dsn_digits(s + 2)) > 0 && s[2 + a] == '.' &&
	    (b = dsn_digits(s + 3 + a)) > 0 && s[3 + a + b] == '\0')
		return s;
	if (r->action == STORE_NOTICE_FAILED)
		return "5.0.0";
	return r->action == STORE_NOTICE_DELAYED ? "4.0.0" : "2.0.0";
}

/* A multipart boundary (RFC 2046 §5.1.1) that appears nowhere in what
 * we return: random, and checked against the original. */
static void
dsn_boundary(struct dsn_plan *pl, const struct dsn_info *info, const char *orig,
             size_t orig_len)
{
	for (unsigned try = 0; try < 8; try++) {
		uint64_t r[2] = {(uint64_t)info->now, try};

		if (getrandom(r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r[1] ^= (uint64_t)(uintptr_t)orig * 2654435761u;
		snprintf(pl->boundary, sizeof(pl->boundary),
		         "=_postel-dsn_%016llx%016llx",
		         (unsigned long long)r[0], (unsigned long long)r[1]);
		if (memmem(orig, orig_len, pl->boundary,
		           strlen(pl->boundary)) == NULL)
			return;
	}
}

static void
dsn_plan(struct dsn_plan *pl, const struct dsn_info *info,
         const struct dsn_rcpt *rcpts, size_t n, const char *orig,
         size_t orig_len, size_t max_return)
{
	memset(pl, 0, sizeof(*pl));
	pl->occasion = STORE_NOTICE_RELAYED;
	pl->global = info->smtputf8;
	for (size_t i = 0; i < n; i++) {
		if (rcpts[i].action != STORE_NOTICE_NONE &&
		    rcpts[i].action < pl->occasion)
			pl->occasion = rcpts[i].action;
		/* RFC 6533 §3: a UTF-8 address needs the global report. */
		if (!dsn_is_ascii(rcpts[i].final_rcpt) ||
		    !dsn_is_ascii(rcpts[i].orcpt))
			pl->global = true;
	}
	/* RFC 3461 §4.3: RET=FULL or failures by default return the whole
	 * message; RET=HDRS and delay and success notices its header. */
	pl->ret =
	    pl->occasion == STORE_NOTICE_FAILED && info->ret != STORE_RET_HDRS
	        ? DSN_RETURN_FULL
	        : DSN_RETURN_HDRS;
	pl->hdr_len = mime_header_block_len(orig, orig_len);
	if (pl->ret == DSN_RETURN_FULL && max_return > 0 &&
	    orig_len > max_return) {
		pl->ret = DSN_RETURN_HDRS;
		pl->note = "The message was too large to be sent back whole, "
		           "so only its header is returned below.";
	}
	pl->orig_8bit = str_has_8bit(
	    orig, pl->ret == DSN_RETURN_FULL ? orig_len : pl->hdr_len);
	dsn_boundary(pl, info, orig, orig_len);
}

/* The original's Message-ID (RFC 5322 §3.6.4), cleaned, into id_r when
 * it has the shape "<...>" in printable ASCII; "" otherwise. */
static int
dsn_orig_msgid(const char *hdr, size_t len, struct buf *id_r)
{
	struct mime_field f;
	size_t pos = 0;

	while (mime_next_field(hdr, len, &pos, &f) == 1) {
		if (!str_ieq(f.name, f.name_len, "message-id"))
			continue;
		char *v = str_ndup(f.value, f.value_len);

		if (v == NULL || dsn_put_clean(id_r, v, false) < 0) {
			free(v);
			return -1;
		}
		free(v);
		/* Surrounding white space from unfolding goes. */
		size_t a = 0, b = id_r->len;
		const char *d = (const char *)id_r->data;

		while (a < b && d[a] == ' ')
			a++;
		while (b > a && d[b - 1] == ' ')
			b--;
		if (b - a < 3 || b - a > 900 || d[a] != '<' ||
		    d[b - 1] != '>' || memchr(d + a, ' ', b - a) != NULL ||
		    memchr(d + a, '?', b - a)) {
			id_r->len = 0;
			return 0;
		}
		memmove(id_r->data, d + a, b - a);
		id_r->len = b - a;
		return 0;
	}
	return 0;
}

static int
dsn_header(struct buf *out, const struct dsn_info *info,
           const struct dsn_plan *pl, const char *orig)
{
	struct buf id;
	uint64_t r = 0;
	int ret = -1;

	buf_init(&id, 1024);
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint64_t)(uintptr_t)out ^ (uint64_t)info->now;
	if (dsn_put_field(out, "From", "\"Mail Delivery System\" <",
	                  info->postmaster, ">", false) < 0 ||
	    dsn_put_field(out, "To", "<", info->to, ">", pl->global) < 0 ||
	    buf_printf(
	        out, "Subject: %s\r\nDate: ", dsn_subject(pl->occasion)) < 0 ||
	    dsn_put_date(out, info->now) < 0 ||
	    buf_printf(out, "\r\nMessage-ID: <%lld.%016llx.dsn@",
	               (long long)info->now, (unsigned long long)r) < 0 ||
	    dsn_put_clean(out, info->reporting_mta, false) < 0 ||
	    buf_append(out, ">\r\n", 3) < 0 ||
	    dsn_orig_msgid(orig, pl->hdr_len, &id) < 0)
		goto out;
	/* RFC 5322 §3.6.4: the report answers the original. */
	if (id.len > 0 &&
	    (buf_printf(out, "In-Reply-To: %.*s\r\nReferences: %.*s\r\n",
	                (int)id.len, (const char *)id.data, (int)id.len,
	                (const char *)id.data) < 0))
		goto out;
	/* RFC 3834 §5: never answered by an autoresponder. */
	if (buf_printf(out,
	               "Auto-Submitted: auto-replied\r\n"
	               "MIME-Version: 1.0\r\n"
	               "Content-Type: multipart/report; "
	               "report-type=delivery-status;\r\n"
	               "\tboundary=\"%s\"\r\n"
	               "Content-Transfer-Encoding: %s\r\n\r\n"
	               "This is a MIME-encapsulated message: a delivery "
	               "status notification (RFC 3464).\r\n\r\n",
	               pl->boundary,
	               pl->global || pl->orig_8bit ? "8bit" : "7bit") < 0)
		goto out;
	ret = 0;
out:
	buf_fini(&id);
	return ret;
}

/* Part 2 per-message fields (RFC 3464 §2.2). */
static int
dsn_msg_fields(struct buf *out, const struct dsn_info *info)
{
	if (dsn_put_field(out, "Reporting-MTA", "dns; ", info->reporting_mta,
	                  "", false) < 0 ||
	    (info->qid != NULL && dsn_put_field(out, "X-Postel-Queue-ID", "",
	                                        info->qid, "", false) < 0) ||
	    (info->envid != NULL &&
	     dsn_put_field(out, "Original-Envelope-Id", "", info->envid, "",
	                   false) < 0))
		return -1;
	if (info->arrival == 0)
		return 0;
	return buf_append(out, "Arrival-Date: ", 14) < 0 ||
	               dsn_put_date(out, info->arrival) < 0 ||
	               buf_append(out, "\r\n", 2) < 0
	           ? -1
	           : 0;
}

/* Remote-MTA (RFC 3464 §2.3.5) names a host: "mx.example.org[192.0.2.1]"
 * as the queue keeps it is written "mx.example.org". */
static int
dsn_remote_mta(struct buf *out, const char *mta)
{
	const char *br = strchr(mta, '[');
	char *name =
	    br != NULL && br != mta ? str_ndup(mta, (size_t)(br - mta)) : NULL;
	int ret = dsn_put_field(out, "Remote-MTA", "dns; ",
	                        name != NULL ? name : mta, "", false);

	free(name);
	return ret;
}

static int
dsn_date_field(struct buf *out, const char *name, time_t t)
{
	return buf_printf(out, "%s: ", name) < 0 || dsn_put_date(out, t) < 0 ||
	               buf_append(out, "\r\n", 2) < 0
	           ? -1
	           : 0;
}

/* Part 2 per-recipient fields (RFC 3464 §2.3, in its order). */
static int
dsn_rcpt_fields(struct buf *out, const struct dsn_rcpt *r, bool global)
{
	bool utf8_addr = !dsn_is_ascii(r->final_rcpt);

	if (r->orcpt != NULL && r->orcpt[0] != '\0' &&
	    dsn_put_field(out, "Original-Recipient",
	                  strchr(r->orcpt, ';') != NULL ? "" : "rfc822;",
	                  r->orcpt, "", global) < 0)
		return -1;
	/* RFC 6533 §3: a UTF-8 address is of type utf-8. */
	if (dsn_put_field(out, "Final-Recipient",
	                  utf8_addr ? "utf-8; " : "rfc822; ", r->final_rcpt, "",
	                  global) < 0 ||
	    buf_printf(out, "Action: %s\r\nStatus: %s\r\n",
	               dsn_action_word(r->action), dsn_status(r)) < 0)
		return -1;
	if (r->remote_mta != NULL && r->remote_mta[0] != '\0' &&
	    dsn_remote_mta(out, r->remote_mta) < 0)
		return -1;
	/* RFC 3464 §2.3.6: "smtp" for a server's reply; our own text
	 * under an X- type, as other MTAs do. */
	if (r->diagnostic != NULL && r->diagnostic[0] != '\0' &&
	    dsn_put_field(out, "Diagnostic-Code",
	                  dsn_is_smtp_reply(r->diagnostic) ? "smtp; "
	                                                   : "X-Postel; ",
	                  r->diagnostic, "", global) < 0)
		return -1;
	if (r->last_attempt != 0 &&
	    dsn_date_field(out, "Last-Attempt-Date", r->last_attempt) < 0)
		return -1;
	if (r->action == STORE_NOTICE_DELAYED && r->will_retry_until != 0 &&
	    dsn_date_field(out, "Will-Retry-Until", r->will_retry_until) < 0)
		return -1;
	return 0;
}

/* The original's octets with CRLF line ends (a lone CR or LF becomes
 * CRLF) and lines of at most DSN_LINE_MAX (RFC 5322 §2.1.1): a longer
 * line is broken, with a space in a header (a fold), so the report stays
 * valid mail. */
static int
dsn_put_lines(struct buf *out, const char *p, size_t len, bool header)
{
	size_t i = 0, col = 0;

	if (buf_reserve(out, len + len / 64 + 2) < 0)
		return -1;
	while (i < len) {
		size_t run = i;

		while (run < len && p[run] != '\r' && p[run] != '\n' &&
		       run - i < DSN_LINE_MAX - col)
			run++;
		if (buf_append(out, p + i, run - i) < 0)
			return -1;
		col += run - i;
		i = run;
		if (i == len)
			break;
		if (p[i] == '\r' || p[i] == '\n') {
			i += p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'
			         ? 2
			         : 1;
			col = 0;
		} else {
			col = header ? 1 : 0;
		}
		if (buf_append(out, header && col ? "\r\n " : "\r\n",
		               header && col ? 3 : 2) < 0)
			return -1;
	}
	return 0;
}

static int
dsn_part_human(struct buf *out, const struct dsn_info *info,
               const struct dsn_plan *pl, const struct dsn_rcpt *rcpts,
               size_t n)
{
	if (buf_printf(out,
	               "--%s\r\n"
	               "Content-Description: Notification\r\n"
	               "Content-Type: text/plain; charset=%s\r\n%s\r\n",
	               pl->boundary, pl->global ? "utf-8" : "us-ascii",
	               pl->global ? "Content-Transfer-Encoding: 8bit\r\n"
	                          : "") < 0)
		return -1;
	return dsn_put_human(out, info, rcpts, n, pl->global, pl->note);
}

static int
dsn_part_status(struct buf *out, const struct dsn_info *info,
                const struct dsn_plan *pl, const struct dsn_rcpt *rcpts,
                size_t n)
{
	/* RFC 6533 §6.1: message/global-delivery-status may hold UTF-8. */
	if (buf_printf(out,
	               "\r\n--%s\r\n"
	               "Content-Description: Delivery report\r\n"
	               "Content-Type: message/%sdelivery-status\r\n%s\r\n",
	               pl->boundary, pl->global ? "global-" : "",
	               pl->global ? "Content-Transfer-Encoding: 8bit\r\n"
	                          : "") < 0 ||
	    dsn_msg_fields(out, info) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (rcpts[i].action == STORE_NOTICE_NONE)
			continue;
		if (buf_append(out, "\r\n", 2) < 0 ||
		    dsn_rcpt_fields(out, &rcpts[i], pl->global) < 0)
			return -1;
	}
	return 0;
}

static int
dsn_part_return(struct buf *out, const struct dsn_plan *pl, const char *orig,
                size_t orig_len)
{
	bool full = pl->ret == DSN_RETURN_FULL;
	const char *type =
	    full ? (pl->global ? "message/global" : "message/rfc822")
	         : (pl->global ? "message/global-headers"
	                       : "text/rfc822-headers");

	/* RFC 2046 §5.2.1: an embedded message is 7bit or 8bit. */
	if (buf_printf(out,
	               "\r\n--%s\r\n"
	               "Content-Description: %s\r\n"
	               "Content-Type: %s\r\n%s\r\n",
	               pl->boundary,
	               full ? "Undelivered Message" : "Message Headers", type,
	               pl->orig_8bit ? "Content-Transfer-Encoding: 8bit\r\n"
	                             : "") < 0)
		return -1;
	if (full)
		return dsn_put_lines(out, orig, pl->hdr_len, true) < 0 ||
		               dsn_put_lines(out, orig + pl->hdr_len,
		                             orig_len - pl->hdr_len, false) < 0
		           ? -1
		           : 0;
	if (dsn_put_lines(out, orig, mime_fields_len(orig, pl->hdr_len), true) <
	    0)
		return -1;
	if (out->len < 2 || out->data[out->len - 1] != '\n')
		return buf_append(out, "\r\n", 2);
	return 0;
}

int
dsn_build(const struct dsn_info *info, const struct dsn_rcpt *rcpts, size_t n,
          const char *orig, size_t orig_len, size_t max_return, struct buf *out)
{
	struct dsn_plan pl;
	size_t start = out->len;

	if (orig == NULL)
		orig = "";
	dsn_plan(&pl, info, rcpts, n, orig, orig_len, max_return);
	if (dsn_header(out, info, &pl, orig) < 0 ||
	    dsn_part_human(out, info, &pl, rcpts, n) < 0 ||
	    dsn_part_status(out, info, &pl, rcpts, n) < 0 ||
	    dsn_part_return(out, &pl, orig, orig_len) < 0 ||
	    buf_printf(out, "\r\n--%s--\r\n", pl.boundary) < 0) {
		out->len = start;
		return -1;
	}
	return 0;
}
