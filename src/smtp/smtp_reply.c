/*
 * The one SMTP reply path: formats code + enhanced status code (RFC 2034,
 * RFC 3463), logs failures, queues the line on the connection.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "smtp_int.h"

void
smtp_reply(struct smtp_session *s, int code, const char *enh, const char *fmt,
	   ...)
{
	char text[512];
	va_list ap;

	if (s->closed)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Reply text must stay one line: no CR/LF from arguments. */
	for (char *p = text; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	/* Like Postfix, enhanced codes are sent even before EHLO: clients
	 * that did not ask for them ignore the extra word. */
	if (enh != NULL)
		conn_printf(s->conn, "%d %s %s\r\n", code, enh, text);
	else
		conn_printf(s->conn, "%d %s\r\n", code, text);
	if (code >= 400)
		log_info(s->id, "reply", " code=%d enh=%s text=%s", code,
			 enh ? enh : "-", log_qs(text));
	else
		log_debug(s->id, "reply", " code=%d text=%s", code,
			  log_qs(text));
}

void
smtp_reply_lines(struct smtp_session *s, int code, const char **lines,
		 size_t n)
{
	if (s->closed)
		return;
	for (size_t i = 0; i < n; i++)
		conn_printf(s->conn, "%d%c%s\r\n", code,
			    i + 1 < n ? '-' : ' ', lines[i]);
}

bool
smtp_count_error(struct smtp_session *s)
{
	if (++s->errors < LIMIT_SMTP_ERRORS)
		return false;
	smtp_reply(s, 421, "4.7.0", "Too many errors, closing connection");
	smtp_session_close(s);
	return true;
}
