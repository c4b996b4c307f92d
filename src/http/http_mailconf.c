/*
 * The documents that tell mail clients and senders how to reach us:
 * Thunderbird autoconfig (clientConfig version 1.1), Outlook autodiscover
 * (POX "outlook" response schema 2006a) and the MTA-STS policy (RFC 8461
 * §3.2). Server name: the configured host name; ports: those of the
 * listeners actually configured (a protocol without one is left out).
 */
#include <event2/buffer.h>
#include <string.h>

#include "../core/runtime.h"
#include "http_int.h"

int
http_mailconf_port(const struct server *srv, int p)
{
	for (size_t i = 0; i < srv->cfg.n_listeners; i++)
		if ((int)srv->cfg.listeners[i].proto == p)
			return srv->cfg.listeners[i].port;
	return 0;
}

/* Text as XML character data (the host name comes from the config; the
 * other values are checked by http_address_ok / http_domain_ok). */
static void
http_xml_text(struct evbuffer *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': evbuffer_add(out, "&lt;", 4); break;
		case '>': evbuffer_add(out, "&gt;", 4); break;
		case '&': evbuffer_add(out, "&amp;", 5); break;
		case '"': evbuffer_add(out, "&quot;", 6); break;
		case '\'': evbuffer_add(out, "&apos;", 6); break;
		default: evbuffer_add(out, s, 1); break;
		}
	}
}

struct http_mailsrv {
	int proto;
	const char *kind;   /* autoconfig type / autodiscover Type */
	bool outgoing;
	bool implicit_tls;  /* SSL, else STARTTLS */
};

/* In the order clients should prefer them: implicit TLS first
 * (RFC 8314 §3). */
static const struct http_mailsrv http_mailsrvs[] = {
	{ PROTO_IMAPS, "imap", false, true },
	{ PROTO_IMAP, "imap", false, false },
	{ PROTO_POP3S, "pop3", false, true },
	{ PROTO_POP3, "pop3", false, false },
	{ PROTO_SUBMISSIONS, "smtp", true, true },
	{ PROTO_SUBMISSION, "smtp", true, false },
};
#define HTTP_MAILSRVS (sizeof(http_mailsrvs) / sizeof(http_mailsrvs[0]))

void
http_mailconf_autoconfig(struct server *srv, const char *domain,
			 struct evbuffer *out)
{
	evbuffer_add_printf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			    "<clientConfig version=\"1.1\">\n"
			    "  <emailProvider id=\"%s\">\n"
			    "    <domain>%s</domain>\n"
			    "    <displayName>%s</displayName>\n"
			    "    <displayShortName>%s</displayShortName>\n",
			    domain, domain, domain, domain);
	for (size_t i = 0; i < HTTP_MAILSRVS; i++) {
		const struct http_mailsrv *m = &http_mailsrvs[i];
		const char *tag = m->outgoing ? "outgoingServer"
					      : "incomingServer";
		int port = http_mailconf_port(srv, m->proto);

		if (port == 0)
			continue;
		evbuffer_add_printf(out, "    <%s type=\"%s\">\n      <hostname>",
				    tag, m->kind);
		http_xml_text(out, srv->cfg.hostname);
		evbuffer_add_printf(out, "</hostname>\n"
				    "      <port>%d</port>\n"
				    "      <socketType>%s</socketType>\n"
				    "      <authentication>password-cleartext"
				    "</authentication>\n"
				    "      <username>%%EMAILADDRESS%%</username>\n"
				    "    </%s>\n", port,
				    m->implicit_tls ? "SSL" : "STARTTLS", tag);
	}
	evbuffer_add_printf(out, "  </emailProvider>\n</clientConfig>\n");
}

void
http_mailconf_autodiscover(struct server *srv, const char *address,
			   struct evbuffer *out)
{
	evbuffer_add_printf(
		out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/"
		"autodiscover/responseschema/2006\">\n"
		"  <Response xmlns=\"http://schemas.microsoft.com/exchange/"
		"autodiscover/outlook/responseschema/2006a\">\n"
		"    <Account>\n"
		"      <AccountType>email</AccountType>\n"
		"      <Action>settings</Action>\n");
	for (size_t i = 0; i < HTTP_MAILSRVS; i++) {
		const struct http_mailsrv *m = &http_mailsrvs[i];
		int port = http_mailconf_port(srv, m->proto);

		if (port == 0)
			continue;
		evbuffer_add_printf(out, "      <Protocol>\n        <Type>%s"
				    "</Type>\n        <Server>",
				    m->proto == PROTO_IMAPS ||
						    m->proto == PROTO_IMAP
					    ? "IMAP"
				    : m->outgoing ? "SMTP" : "POP3");
		http_xml_text(out, srv->cfg.hostname);
		evbuffer_add_printf(out, "</Server>\n        <Port>%d</Port>\n"
				    "        <DomainRequired>off</DomainRequired>\n"
				    "        <LoginName>", port);
		http_xml_text(out, address);
		evbuffer_add_printf(out, "</LoginName>\n        <SPA>off</SPA>\n"
				    "        %s\n"
				    "        <AuthRequired>on</AuthRequired>\n"
				    "      </Protocol>\n",
				    m->implicit_tls
					    ? "<SSL>on</SSL>"
					    : "<Encryption>TLS</Encryption>");
	}
	evbuffer_add_printf(out, "    </Account>\n  </Response>\n"
			    "</Autodiscover>\n");
}

/* mta_sts_mx: extra names separated by spaces or commas, each a host
 * name or a "*." wildcard (RFC 8461 §4.1). */
static void
http_mta_sts_extra(const char *list, struct evbuffer *out)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n;

		p += strspn(p, " ,\t");
		n = strcspn(p, " ,\t");
		if (n == 0)
			break;
		if (n > 2 && p[0] == '*' && p[1] == '.'
			    ? http_domain_ok(p + 2, n - 2)
			    : http_domain_ok(p, n))
			evbuffer_add_printf(out, "mx: %.*s\r\n", (int)n, p);
		p += n;
	}
}

void
http_mailconf_mta_sts(struct server *srv, struct evbuffer *out)
{
	const struct config *cfg = &srv->cfg;
	const char *mode = cfg->mta_sts_mode == CONFIG_STS_ENFORCE ? "enforce"
			   : cfg->mta_sts_mode == CONFIG_STS_NONE  ? "none"
								   : "testing";

	evbuffer_add_printf(out, "version: STSv1\r\nmode: %s\r\n", mode);
	if (http_domain_ok(cfg->hostname, strlen(cfg->hostname)))
		evbuffer_add_printf(out, "mx: %s\r\n", cfg->hostname);
	http_mta_sts_extra(cfg->mta_sts_mx, out);
	evbuffer_add_printf(out, "max_age: %d\r\n", cfg->mta_sts_max_age);
}
