/* The protocol table (protocols.h). */
#include "protocols.h"

#include "../http/http_session.h"
#include "../imap/imap_session.h"
#include "../pop3/pop3_session.h"
#include "../smtp/smtp_session.h"

static void
start_smtp(struct server *srv, struct conn *c, enum proto proto, bool tls)
{
	smtp_session_start(srv, c, proto);
}

static void
start_pop3(struct server *srv, struct conn *c, enum proto proto, bool tls)
{
	pop3_session_start(srv, c, tls);
}

static void
start_imap(struct server *srv, struct conn *c, enum proto proto, bool tls)
{
	imap_session_start(srv, c, tls);
}

static void
start_http(struct server *srv, struct conn *c, enum proto proto, bool tls)
{
	http_session_start(srv, c, tls);
}

/* Refusals in each protocol's own words: RFC 5321 §3.1 (421 instead of
 * the 220 greeting), RFC 2449 §8.1.2 ([SYS/TEMP]: try again later),
 * RFC 9051 §7.1.5 (BYE greeting). */
#define REFUSE_SMTP "421 4.7.0 %s, try again later\r\n"
#define REFUSE_POP3 "-ERR [SYS/TEMP] %s, try again later\r\n"
#define REFUSE_IMAP "* BYE %s, try again later\r\n"
/* RFC 9110 §15.6.4: 503, and the connection closes. */
#define REFUSE_HTTP "HTTP/1.1 503 Service Unavailable\r\n" \
	"Content-Type: text/plain\r\nContent-Length: 12\r\n" \
	"Connection: close\r\n\r\ntry later.\r\n%.0s"

/* Default ports: as root, and unprivileged (the same + a leading 2). */
const struct proto_entry protocols[PROTO_COUNT] = {
	[PROTO_SMTP] = { "smtp", 25, 2525, false, REFUSE_SMTP, start_smtp,
			 false },
	[PROTO_SUBMISSION] = { "submission", 587, 2587, false, REFUSE_SMTP,
			       start_smtp, false },
	[PROTO_SUBMISSIONS] = { "submissions", 465, 2465, true, NULL,
				start_smtp, false },
	[PROTO_POP3] = { "pop3", 110, 2110, false, REFUSE_POP3, start_pop3,
			 false },
	[PROTO_POP3S] = { "pop3s", 995, 2995, true, NULL, start_pop3, false },
	[PROTO_IMAP] = { "imap", 143, 2143, false, REFUSE_IMAP, start_imap,
			 false },
	[PROTO_IMAPS] = { "imaps", 993, 2993, true, NULL, start_imap, false },
	[PROTO_HTTP] = { "http", 80, 2080, false, REFUSE_HTTP, start_http,
			 true },
	[PROTO_HTTPS] = { "https", 443, 2443, true, NULL, start_http, true },
};
