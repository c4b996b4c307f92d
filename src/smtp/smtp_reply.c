/*
 * The one SMTP reply path: formats code + enhanced status code (RFC 2034,
 * RFC 3463), logs failures, queues the line on the connection.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "smtp_int.h"

void
smtp_reply(struct smtp_session *s, int code, const char *enh, const char *fmt,
	   ...)
{
	char text[512];
	va_list ap;

	if (s->base.conn == NULL)
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
		conn_printf(s->base.conn, "%d %s %s\r\n", code, enh, text);
	else
		conn_printf(s->base.conn, "%d %s\r\n", code, text);
	if (code >= 400)
		metrics_smtp_reject(code, enh);
	if (code >= 400)
		log_info(s->base.id, "reply", " code=%d enh=%s text=%s", code,
			 enh ? enh : "-", log_qs(text));
	else
		log_debug(s->base.id, "reply", " code=%d text=%s", code,
			  log_qs(text));
}

void
smtp_reply_lines(struct smtp_session *s, int code, const char **lines,
		 size_t n)
{
	if (s->base.conn == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		conn_printf(s->base.conn, "%d%c%s\r\n", code,
			    i + 1 < n ? '-' : ' ', lines[i]);
}
