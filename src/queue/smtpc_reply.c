/*
 * The client's reply parser (smtpc_reply.h).
 */
#include "smtpc_reply.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool
smtpc_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5321 §4.2: three digits, the first 2-5, the second 0-5. */
static int
smtpc_reply_code(const char *line, size_t len)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '5' || !smtpc_is_digit(line[2]))
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* RFC 3463 §2: class "." subject "." detail, subject and detail of 1-3
 * digits; RFC 2034 §4 puts it first in the text, followed by a space.
 * The class must agree with the reply code (RFC 3463 §3), or the code is
 * not taken. Length of the code in text, or 0. */
static size_t
smtpc_reply_status(const char *t, size_t len, int code, char *out,
		   size_t cap)
{
	size_t i = 2, start;

	if (len < 5 || t[0] - '0' != code / 100 || t[1] != '.' ||
	    (t[0] != '2' && t[0] != '4' && t[0] != '5'))
		return 0;
	for (int part = 0; part < 2; part++) {
		start = i;
		while (i < len && i - start < 4 && smtpc_is_digit(t[i]))
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0) {
			if (i >= len || t[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && t[i] != ' ')
		return 0;
	if (i >= cap)
		return 0;
	memcpy(out, t, i);
	out[i] = '\0';
	return i;
}

static void
smtpc_reply_derive(struct smtpc_reply *r)
{
	snprintf(r->status, sizeof(r->status), "%d.0.0",
		 r->code >= 400 ? r->code / 100 : 2);
}

/* Appends to r->text, control and 8-bit octets shown as '?' (the text
 * goes to logs and to a DSN's Diagnostic-Code, RFC 3464 §2.3.6: ASCII). */
static void
smtpc_reply_append(struct smtpc_reply_state *st, const char *s, size_t n)
{
	struct smtpc_reply *r = st->r;

	for (size_t i = 0; i < n && st->text_len + 1 < sizeof(r->text); i++) {
		unsigned char c = (unsigned char)s[i];
		r->text[st->text_len++] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	r->text[st->text_len] = '\0';
}

void
smtpc_reply_begin(struct smtpc_reply_state *st, struct smtpc_reply *r)
{
	memset(st, 0, sizeof(*st));
	memset(r, 0, sizeof(*r));
	st->r = r;
}

int
smtpc_reply_line(struct smtpc_reply_state *st, const char *line, size_t len,
		 const char **text_r, size_t *text_len_r)
{
	int code = smtpc_reply_code(line, len);
	bool last;
	const char *t;
	size_t tl;

	st->total += len + 2;
	if (code < 0 || len > SMTPC_REPLY_LINE_MAX ||
	    ++st->lines > SMTPC_REPLY_LINES_MAX ||
	    st->total > SMTPC_REPLY_TOTAL_MAX)
		return -1;
	/* RFC 5321 §4.2.1: every line of a reply has the same code. */
	if (st->code != 0 && code != st->code)
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	last = len == 3 || line[3] == ' ';
	t = len > 4 ? line + 4 : line + len;
	tl = len > 4 ? len - 4 : 0;
	*text_r = t;
	*text_len_r = tl;
	if (st->code == 0) {
		char num[8];
		st->code = code;
		st->r->code = code;
		if (smtpc_reply_status(t, tl, code, st->r->status,
				       sizeof(st->r->status)) == 0)
			smtpc_reply_derive(st->r);
		snprintf(num, sizeof(num), "%d", code);
		smtpc_reply_append(st, num, strlen(num));
		if (tl > 0)
			smtpc_reply_append(st, " ", 1);
	} else if (tl > 0) {
		smtpc_reply_append(st, " / ", 3);
	}
	smtpc_reply_append(st, t, tl);
	return last ? 1 : 0;
}

void
smtpc_reply_set(struct smtpc_reply *r, int code, const char *status,
		const char *fmt, ...)
{
	char msg[sizeof(r->text)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->code = code;
	snprintf(r->status, sizeof(r->status), "%s", status);
	snprintf(r->text, sizeof(r->text), "%d %s %s", code, status, msg);
}
