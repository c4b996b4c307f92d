/*
 * The one POP3 reply path (RFC 1939 §3, RFC 2449 §8, RFC 3206).
 */
#include "pop3_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "pop3_parse.h"
#include "pop3_session.h"

/* RFC 2449 §4: responses are at most 512 octets including the CRLF. */
#define POP3_REPLY_MAX 512

/* Formats "<prefix><text>\r\n" into buf; the text is cut to fit. Returns
 * the length. Control bytes in the text (there should be none: our texts
 * are constants and numbers) become spaces so a reply is always one line. */
static size_t
pop3_reply_format(char *buf, size_t cap, const char *prefix, const char *fmt,
		  va_list ap)
{
	size_t plen = strlen(prefix);
	size_t room = cap - plen - 2;
	int n;

	memcpy(buf, prefix, plen);
	n = vsnprintf(buf + plen, room + 1, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > room)
		n = (int)room;
	for (size_t i = plen; i < plen + (size_t)n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = ' ';
	/* An empty text leaves a bare "+OK". */
	if (n == 0 && plen > 0 && buf[plen - 1] == ' ')
		plen--;
	memcpy(buf + plen + (size_t)n, "\r\n", 2);
	return plen + (size_t)n + 2;
}

/* Formats and sends one reply; a reply with a response code is logged
 * at info (see pop3_reply_err), the rest at debug. */
static void
pop3_reply_v(struct pop3_session *s, const char *prefix, const char *code,
	     const char *fmt, va_list ap)
{
	char buf[POP3_REPLY_MAX + 1];
	size_t len;

	len = pop3_reply_format(buf, POP3_REPLY_MAX, prefix, fmt, ap);
	if (code != NULL)
		log_info(s->base.id, "pop3_err", " code=%s text=%s", code,
			 log_q(buf, len - 2));
	else
		log_debug(s->base.id, "reply", " text=%s",
			  log_q(buf, len - 2));
	conn_write(s->base.conn, buf, len);
}

void
pop3_reply_ok(struct pop3_session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->base.conn == NULL)
		return;
	va_start(ap, fmt);
	pop3_reply_v(s, "+OK ", NULL, fmt, ap);
	va_end(ap);
}

void
pop3_reply_err(struct pop3_session *s, const char *code, const char *fmt,
	       ...)
{
	char prefix[32];
	va_list ap;

	if (s->base.conn == NULL)
		return;
	if (code != NULL)
		snprintf(prefix, sizeof(prefix), "-ERR [%s] ", code);
	else
		snprintf(prefix, sizeof(prefix), "-ERR ");
	/* Failures with a response code are events an admin may want to
	 * see (login refused, mailbox busy, storage trouble); the others are
	 * ordinary protocol chatter. */
	va_start(ap, fmt);
	pop3_reply_v(s, prefix, code, fmt, ap);
	va_end(ap);
}

void
pop3_reply_line(struct pop3_session *s, const char *fmt, ...)
{
	char buf[POP3_REPLY_MAX + 1];
	va_list ap;
	size_t len;

	if (s->base.conn == NULL)
		return;
	va_start(ap, fmt);
	len = pop3_reply_format(buf, POP3_REPLY_MAX, "", fmt, ap);
	va_end(ap);
	conn_write(s->base.conn, buf, len);
}

void
pop3_reply_raw(struct pop3_session *s, const void *data, size_t len)
{
	if (s->base.conn != NULL && len > 0)
		conn_write(s->base.conn, data, len);
}

void
pop3_reply_end(struct pop3_session *s)
{
	pop3_reply_raw(s, ".\r\n", 3);
}

void
pop3_reply_continue(struct pop3_session *s)
{
	pop3_reply_raw(s, "+ \r\n", 4);
}

void
pop3_reply_log_cmd(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	const char *a0 = "", *a1 = "";
	size_t l0 = 0, l1 = 0;

	if (log_get_level() < LOG_DEBUG)
		return;
	if (cmd->nargs > 0) {
		a0 = cmd->args[0];
		l0 = cmd->arg_lens[0];
	}
	if (cmd->nargs > 1) {
		a1 = cmd->args[1];
		l1 = cmd->arg_lens[1];
	}
	/* Never log a password: PASS's argument and AUTH's initial
	 * response (RFC 5034 §4) are masked. */
	if (cmd->verb == POP3_VERB_PASS) {
		a0 = "***";
		l0 = 3;
		a1 = "";
		l1 = 0;
	} else if (cmd->verb == POP3_VERB_AUTH && l1 > 0) {
		a1 = "***";
		l1 = 3;
	}
	log_debug(s->base.id, "cmd", " verb=%s arg1=%s arg2=%s",
		  pop3_cmds_name(cmd->verb), log_q(a0, l0), log_q(a1, l1));
}
