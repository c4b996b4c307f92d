/*
 * The one IMAP reply path (RFC 9051 §7): tagged completion with optional
 * response code, untagged data, continuation requests, and the string and
 * flag-list encodings every command shares. Handlers never write to the
 * connection; failures (NO/BAD) are logged here.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../util/str.h"
#include "imap_int.h"

/* Our own status texts are short; longer ones are cut. */
#define IMAP_REPLY_TEXT_MAX 900

static size_t
imap_reply_clean(char *text, size_t n)
{
	/* A reply is always one line: no CR, LF or NUL from the text. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = ' ';
	return n;
}

void
imap_finish(struct imap_session *s, const char *status, const char *code,
	    const char *fmt, ...)
{
	char text[IMAP_REPLY_TEXT_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(text))
		n = (int)sizeof(text) - 1;
	imap_reply_clean(text, (size_t)n);
	buf_reset(&s->tagged);
	/* Room for the code too: COPYUID or MODIFIED can list many UIDs. */
	s->tagged.max = IMAP_REPLY_TEXT_MAX + IMAP_TAG_MAX + 128 +
			(code != NULL ? strlen(code) : 0);
	if (code != NULL)
		buf_printf(&s->tagged, "%s %s [%s] %.*s\r\n", s->tag, status,
			   code, n, text);
	else
		buf_printf(&s->tagged, "%s %s %.*s\r\n", s->tag, status, n,
			   text);
	if (strcmp(status, "OK") != 0)
		log_info(s->base.id, "imap_fail", " cmd=%s status=%s text=%s",
			 log_qs(s->cmd_name), status, log_q(text, (size_t)n));
	imap_notify_before_tagged(s);
}

void
imap_reply_tagged_flush(struct imap_session *s)
{
	if (s->base.conn != NULL)
		conn_write(s->base.conn, s->tagged.data, s->tagged.len);
	/* RFC 4978 §3: compression starts right after COMPRESS's OK. */
	imap_compress_after_tagged(s);
	buf_reset(&s->tagged);
	s->in_cmd = false;
	s->cmd_flags = 0;
	s->cmd_name[0] = '\0';
	/* RFC 5465: what NOTIFY watches goes out between commands. */
	imap_notify_poll(s);
	imap_session_kick(s);
}

/* Never cut: a VANISHED or COPYUID list cut short would name wrong UIDs.
 * Lines longer than the stack buffer are formatted on the heap. */
void
imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	char stack[IMAP_REPLY_TEXT_MAX + 64], *text = stack;
	va_list ap, again;
	int n;

	if (s->base.conn == NULL)
		return;
	va_start(ap, fmt);
	va_copy(again, ap);
	n = vsnprintf(stack, sizeof(stack), fmt, ap);
	if (n >= 0 && (size_t)n >= sizeof(stack) &&
	    (text = malloc((size_t)n + 1)) != NULL)
		vsnprintf(text, (size_t)n + 1, fmt, again);
	va_end(again);
	va_end(ap);
	if (n < 0 || text == NULL) {
		log_error(s->base.id, "imap_untagged", " error=%s",
			  n < 0 ? "format" : "nomem");
		session_close(&s->base, "nomem");
		return;
	}
	conn_write(s->base.conn, "* ", 2);
	conn_write(s->base.conn, text, (size_t)n);
	conn_write(s->base.conn, "\r\n", 2);
	if (text != stack)
		free(text);
}

void
imap_continue(struct imap_session *s, const char *text)
{
	if (s->base.conn == NULL)
		return;
	conn_printf(s->base.conn, "+ %s\r\n", text);
}

void
imap_reply_raw(struct imap_session *s, const void *data, size_t len)
{
	if (s->base.conn != NULL)
		conn_write(s->base.conn, data, len);
}

/* RFC 9051 §4.3: a quoted string holds 7-bit (or UTF-8) text without CR,
 * LF, NUL; quote and backslash are escaped. Longer or odd strings go as
 * literals. */
int
imap_buf_string(struct buf *b, const char *str, size_t len)
{
	bool quotable = len < 1024;

	for (size_t i = 0; i < len && quotable; i++)
		if (str[i] == '\r' || str[i] == '\n' || str[i] == '\0')
			quotable = false;
	if (!quotable) {
		if (buf_printf(b, "{%zu}\r\n", len) < 0)
			return -1;
		return buf_append(b, str, len);
	}
	if (buf_append(b, "\"", 1) < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if ((str[i] == '"' || str[i] == '\\') &&
		    buf_append(b, "\\", 1) < 0)
			return -1;
		if (buf_append(b, str + i, 1) < 0)
			return -1;
	}
	return buf_append(b, "\"", 1);
}

int
imap_buf_mailbox(struct imap_session *s, struct buf *b, const char *name)
{
	char enc[STORE_MAILBOX_NAME_MAX * 4 + 16];

	if (s->rev2 || s->utf8)
		return imap_buf_string(b, name, strlen(name));
	if (imap_utf8_to_mutf7(name, strlen(name), enc, sizeof(enc)) < 0)
		return imap_buf_string(b, name, strlen(name));
	return imap_buf_string(b, enc, strlen(enc));
}

int
imap_buf_flags(struct buf *b, uint32_t flags, const char *keywords)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ STORE_FLAG_SEEN, "\\Seen" },
		{ STORE_FLAG_ANSWERED, "\\Answered" },
		{ STORE_FLAG_FLAGGED, "\\Flagged" },
		{ STORE_FLAG_DELETED, "\\Deleted" },
		{ STORE_FLAG_DRAFT, "\\Draft" },
		{ IMAP_VFLAG_RECENT, "\\Recent" }, /* a view's, RFC 3501 */
	};
	bool first = true;

	if (buf_append(b, "(", 1) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		if (buf_printf(b, "%s%s", first ? "" : " ", names[i].name) < 0)
			return -1;
		first = false;
	}
	if (keywords != NULL && keywords[0] != '\0' &&
	    buf_printf(b, "%s%s", first ? "" : " ", keywords) < 0)
		return -1;
	return buf_append(b, ")", 1);
}

int
imap_name_decode(const struct imap_session *s, const char *raw, size_t len,
		 char *out, size_t cap)
{
	if (s->rev2 || s->utf8 || imap_mutf7_to_utf8(raw, len, out, cap) < 0) {
		/* Not modified UTF-7 ("&'+,-" is an atom like any other): as
		 * printable ASCII it is a name no mailbox here can have, so
		 * SELECT says NO and LIST finds nothing, not BAD. */
		bool ascii = !s->rev2 && !s->utf8;

		for (size_t i = 0; ascii && i < len; i++)
			ascii = raw[i] >= 0x20 && raw[i] < 0x7f;
		if ((!ascii && !s->rev2 && !s->utf8) || len >= cap)
			return -1;
		memcpy(out, raw, len);
		out[len] = '\0';
		return ascii ? 1 : 0;
	}
	return 0;
}

/* RFC 9051 §5.1: INBOX is case-insensitive; so is its use as the first
 * level of a hierarchy ("inbox/x" names "INBOX/x"). */
int
imap_mailbox_arg(struct imap_session *s, const struct imap_arg *a, char *out,
		 size_t cap)
{
	char raw[STORE_MAILBOX_NAME_MAX + 1];
	int rc;

	if (!imap_arg_is_string(a) || a->len == 0 ||
	    a->len > STORE_MAILBOX_NAME_MAX || memchr(a->str, '\0', a->len))
		return -1;
	memcpy(raw, a->str, a->len);
	raw[a->len] = '\0';
	if ((rc = imap_name_decode(s, raw, a->len, out, cap)) < 0)
		return -1;
	if (strncasecmp(out, "INBOX", 5) == 0 &&
	    (out[5] == '\0' || out[5] == '/'))
		memcpy(out, "INBOX", 5);
	/* Empty levels and a trailing "/" are not names. */
	size_t n = strlen(out);
	if (n == 0 || out[0] == '/' || strstr(out, "//") != NULL)
		return -1;
	if (out[n - 1] == '/')
		out[n - 1] = '\0';
	return rc;
}

static void
imap_set_flush(struct imap_set_out *o)
{
	const char *sep = o->any ? "," : "";

	if (o->first == o->last)
		buf_printf(o->b, "%s%" PRIu32, sep, o->first);
	else
		buf_printf(o->b, "%s%" PRIu32 ":%" PRIu32, sep, o->first,
			   o->last);
	o->any = true;
	o->open = false;
}

void
imap_set_add(struct imap_set_out *o, uint32_t n)
{
	if (o->open && o->last != UINT32_MAX && n == o->last + 1) {
		o->last = n;
		return;
	}
	if (o->open)
		imap_set_flush(o);
	o->first = o->last = n;
	o->open = true;
}

void
imap_set_end(struct imap_set_out *o)
{
	if (o->open)
		imap_set_flush(o);
}

void
imap_buf_set(struct buf *b, const uint32_t *v, size_t n)
{
	struct imap_set_out o = { .b = b };

	for (size_t i = 0; i < n; i++)
		imap_set_add(&o, v[i]);
	imap_set_end(&o);
}
