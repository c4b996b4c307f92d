/*
 * The text pieces of a DSN (dsn.c): dates, cleaned field values, folded
 * header lines and the human-readable part. Every value that reaches a
 * header or the report comes from an envelope or a remote server, so it
 * is cleaned here: no line breaks or control characters (no header
 * injection), and no 8-bit octets unless the report is UTF-8 (RFC 6533).
 */
#include <string.h>
#include <time.h>

#include "dsn_int.h"

int
dsn_put_date(struct buf *out, time_t t)
{
	/* RFC 5322 §3.3, written in English whatever the locale. */
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
	                                   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
	                                     "May", "Jun", "Jul", "Aug",
	                                     "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	return buf_printf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	                  days[tm.tm_wday % 7], tm.tm_mday,
	                  months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	                  tm.tm_min, tm.tm_sec);
}

bool
dsn_is_ascii(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

int
dsn_put_clean(struct buf *out, const char *s, bool utf8)
{
	bool space = false;

	/* Line breaks and other controls become one space (a multi-line
	 * reply is unfolded); runs of white space are one space, so that
	 * folding never leaves a line of white space alone. */
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = true;
			continue;
		}
		if (space && out->len > 0 && out->data[out->len - 1] != ' ' &&
		    buf_append(out, " ", 1) < 0)
			return -1;
		space = false;
		if (c >= 0x80 && !utf8)
			c = '?';
		if (buf_append(out, &c, 1) < 0)
			return -1;
	}
	return 0;
}

/* Where to fold s[0..len): the last space at or before column at past
 * min, else the first space before column hard, else hard itself (the
 * line is cut there; the continuation's leading space then counts in the
 * next line, hence the callers' hard limits one below DSN_LINE_MAX). */
static size_t
dsn_fold_point(const char *s, size_t len, size_t min, size_t at, size_t hard)
{
	size_t last = 0;

	for (size_t i = min + 1; i < len && i < hard; i++) {
		if (s[i] != ' ')
			continue;
		if (i <= at || last == 0)
			last = i;
		if (i > at)
			break;
	}
	return last != 0 ? last : hard;
}

int
dsn_put_folded(struct buf *out, const char *s, size_t len, size_t min)
{
	/* RFC 5322 §2.2.3: fold before white space, lines of at most 78
	 * characters where possible and never more than 998 (§2.1.1). A
	 * word longer than that is cut, with a space: the only way to
	 * keep the line limit. */
	while (len > DSN_FOLD_AT) {
		size_t cut =
		    dsn_fold_point(s, len, min, DSN_FOLD_AT, DSN_LINE_MAX - 1);

		if (cut >= len)
			break;
		if (buf_append(out, s, cut) < 0 ||
		    buf_append(out, s[cut] == ' ' ? "\r\n" : "\r\n ",
		               s[cut] == ' ' ? 2 : 3) < 0)
			return -1;
		s += cut;
		len -= cut;
		min = 1;
	}
	if (buf_append(out, s, len) < 0 || buf_append(out, "\r\n", 2) < 0)
		return -1;
	return 0;
}

int
dsn_put_field(struct buf *out, const char *name, const char *prefix,
              const char *value, bool utf8)
{
	struct buf line;
	int ret = -1;

	buf_init(&line, DSN_FIELD_MAX);
	if (buf_printf(&line, "%s: %s", name, prefix) == 0 &&
	    dsn_put_clean(&line, value, utf8) == 0)
		ret = dsn_put_folded(out, (const char *)line.data, line.len,
		                     strlen(name) + 2 + strlen(prefix));
	buf_fini(&line);
	return ret;
}

/* Human text: wrapped at DSN_FOLD_AT columns, continuation lines
 * indented by indent spaces (the first line is indented by the caller). */
static int
dsn_put_wrapped(struct buf *out, const char *text, bool utf8, size_t indent)
{
	struct buf t;
	int ret = -1;
	size_t pos = 0;

	buf_init(&t, DSN_FIELD_MAX);
	if (dsn_put_clean(&t, text, utf8) < 0)
		goto out;
	while (t.len - pos > DSN_FOLD_AT - indent) {
		const char *s = (const char *)t.data + pos;
		size_t cut =
		    dsn_fold_point(s, t.len - pos, 0, DSN_FOLD_AT - indent,
		                   DSN_LINE_MAX - indent);

		if (cut >= t.len - pos)
			break;
		if (buf_append(out, s, cut) < 0 ||
		    buf_printf(out, "\r\n%*s", (int)indent, "") < 0)
			goto out;
		pos += cut + (s[cut] == ' ');
	}
	ret = buf_append(out, t.data + pos, t.len - pos) < 0 ||
	              buf_append(out, "\r\n", 2) < 0
	          ? -1
	          : 0;
out:
	buf_fini(&t);
	return ret;
}

static const char *const dsn_intro[] = {
    [STORE_NOTICE_FAILED] =
        "Your message could not be delivered to the recipients "
        "below. The mail system has given up on them; the reasons "
        "are given with each address.",
    [STORE_NOTICE_DELAYED] =
        "Your message has not yet been delivered to the recipients "
        "below. The mail system is still trying: you do not need "
        "to send it again, and you will be told if it finally "
        "fails.",
    [STORE_NOTICE_DELIVERED] =
        "Your message was delivered to the recipients below, as "
        "you asked to be told.",
    [STORE_NOTICE_RELAYED] =
        "Your message was passed on to the mail servers of the "
        "recipients below. Those servers do not send delivery "
        "reports, so you will not hear more about these "
        "recipients from them.",
};

/* One recipient: its address, then what happened, indented. */
static int
dsn_human_rcpt(struct buf *out, const struct dsn_rcpt *r, bool utf8)
{
	struct buf why;
	int ret = -1;

	buf_init(&why, DSN_FIELD_MAX);
	if (r->remote_mta != NULL && r->diagnostic != NULL &&
	    dsn_is_smtp_reply(r->diagnostic))
		ret = buf_printf(&why, "The mail server %s answered: %s",
		                 r->remote_mta, r->diagnostic);
	else if (r->diagnostic != NULL)
		ret = buf_printf(&why, "Reason: %s (status %s)", r->diagnostic,
		                 r->status);
	else
		ret = buf_printf(&why, "Status %s.", r->status);
	if (ret == 0 && r->action == STORE_NOTICE_DELAYED &&
	    r->will_retry_until != 0)
		ret = buf_printf(&why, " Trying again until ") ||
		      dsn_put_date(&why, r->will_retry_until) ||
		      buf_append(&why, ".", 1);
	if (ret == 0)
		ret = buf_append(&why, "", 1);
	if (ret == 0)
		ret = buf_append(out, "  <", 3) ||
		      dsn_put_clean(out, r->final_rcpt, utf8) ||
		      buf_append(out, ">\r\n    ", 7) ||
		      dsn_put_wrapped(out, (const char *)why.data, utf8, 4) ||
		      buf_append(out, "\r\n", 2);
	buf_fini(&why);
	return ret < 0 || ret > 0 ? -1 : 0;
}

int
dsn_put_human(struct buf *out, const struct dsn_info *info,
              const struct dsn_rcpt *rcpts, size_t n, bool utf8,
              const char *note)
{
	if (buf_printf(out, "This is the mail system at %s.\r\n\r\n",
	               info->reporting_mta) < 0)
		return -1;
	/* Failures first: they are what the sender must act on. */
	for (int a = STORE_NOTICE_FAILED; a <= STORE_NOTICE_RELAYED; a++) {
		bool any = false;

		for (size_t i = 0; i < n; i++) {
			if ((int)rcpts[i].action != a)
				continue;
			if (!any &&
			    (dsn_put_wrapped(out, dsn_intro[a], false, 0) < 0 ||
			     buf_append(out, "\r\n", 2) < 0))
				return -1;
			any = true;
			if (dsn_human_rcpt(out, &rcpts[i], utf8) < 0)
				return -1;
		}
	}
	if (buf_printf(out, "The message's queue id was %s.\r\n",
	               info->qid != NULL ? info->qid : "unknown") < 0)
		return -1;
	if (note != NULL && (buf_append(out, "\r\n", 2) < 0 ||
	                     dsn_put_wrapped(out, note, false, 0) < 0))
		return -1;
	return 0;
}
