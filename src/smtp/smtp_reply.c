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

/* "CODE" and the separator (' ' last line, '-' continued), as SMTP
 * writes them: 3 digits. */
static size_t
reply_code(char *out, int code, char sep)
{
	out[0] = (char)('0' + code / 100 % 10);
	out[1] = (char)('0' + code / 10 % 10);
	out[2] = (char)('0' + code % 10);
	out[3] = sep;
	return 4;
}

void
smtp_reply(struct smtp_session *s, int code, const char *enh, const char *fmt,
	   ...)
{
	/* Formatted once, in place, and queued with one copy: this runs
	 * four times for every message. */
	char line[4 + 16 + 512 + 2];
	size_t len, start;
	va_list ap;
	int n;

	if (s->base.conn == NULL)
		return;
	len = reply_code(line, code, ' ');
	/* Like Postfix, enhanced codes are sent even before EHLO: clients
	 * that did not ask for them ignore the extra word. */
	if (enh != NULL) {
		size_t el = strnlen(enh, 15);

		memcpy(line + len, enh, el);
		len += el;
		line[len++] = ' ';
	}
	start = len;
	va_start(ap, fmt);
	n = vsnprintf(line + len, 512, fmt, ap);
	va_end(ap);
	len += n < 0 ? 0 : (size_t)n < 512 ? (size_t)n : 511;
	/* Reply text must stay one line: no CR/LF from arguments. */
	for (size_t i = start; i < len; i++)
		if (line[i] == '\r' || line[i] == '\n')
			line[i] = ' ';
	memcpy(line + len, "\r\n", 2);
	conn_write(s->base.conn, line, len + 2);
	line[len] = '\0';
	if (code >= 400)
		metrics_smtp_reject(code, enh);
	if (code >= 400)
		log_info(s->base.id, "reply", " code=%d enh=%s text=%s", code,
			 enh ? enh : "-", log_qs(line + start));
	else
		log_debug(s->base.id, "reply", " code=%d text=%s", code,
			  log_qs(line + start));
}

void
smtp_reply_lines(struct smtp_session *s, int code, const char **lines,
		 size_t n)
{
	char out[1024];
	size_t len = 0;

	if (s->base.conn == NULL)
		return;
	/* One buffer, one write: the EHLO reply of every session. */
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);

		if (len + 4 + l + 2 > sizeof(out)) {
			conn_write(s->base.conn, out, len);
			len = 0;
		}
		if (4 + l + 2 > sizeof(out)) {
			conn_printf(s->base.conn, "%d%c%s\r\n", code,
				    i + 1 < n ? '-' : ' ', lines[i]);
			continue;
		}
		len += reply_code(out + len, code, i + 1 < n ? '-' : ' ');
		memcpy(out + len, lines[i], l);
		len += l;
		memcpy(out + len, "\r\n", 2);
		len += 2;
	}
	if (len > 0)
		conn_write(s->base.conn, out, len);
}
