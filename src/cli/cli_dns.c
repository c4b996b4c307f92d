/*
 * postel dns DOMAIN: every DNS record an administrator publishes for a
 * hosted domain, in zone-file syntax ready to paste: MX, SPF, the DKIM
 * keys (every selector kept, RSA split into 255-octet strings), DMARC,
 * MTA-STS and TLS-RPT, and the RFC 6186 SRV records plus the autoconfig
 * host for mail clients. Reads the configuration and DATA_DIR/dkim; no
 * DNS query, no store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/config.h"
#include "../mailauth/dkim_keys.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_DNS_SYNOPSIS "dns DOMAIN"
/* RFC 1035 §3.3: a character-string is at most 255 octets. */
#define CLI_DNS_STRING_MAX 255

/* The port of the first listener of proto, or 0 when none. */
static int
cli_dns_port(const struct config *cfg, enum proto p)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].proto == p)
			return cfg->listeners[i].port;
	return 0;
}

/* TXT rdata as quoted strings of at most 255 octets, in parentheses
 * when more than one. */
static void
cli_dns_txt(const char *owner, const char *text)
{
	size_t len = strlen(text);

	printf("%-40s IN TXT ", owner);
	if (len <= CLI_DNS_STRING_MAX) {
		printf("\"%s\"\n", text);
		return;
	}
	printf("(");
	for (size_t i = 0; i < len; i += CLI_DNS_STRING_MAX)
		printf("\n\t\"%.*s\"", (int)(len - i < CLI_DNS_STRING_MAX
				      ? len - i : CLI_DNS_STRING_MAX), text + i);
	printf(" )\n");
}

static void
cli_dns_srv(const struct config *cfg, const char *domain, const char *svc,
	    enum proto p, int dflt)
{
	char owner[CLI_DOMAIN_BUF + 32];
	int port = cli_dns_port(cfg, p);

	snprintf(owner, sizeof(owner), "%s._tcp.%s.", svc, domain);
	/* RFC 6186 §4: target "." says the service is not offered. */
	if (port == 0 && cfg->n_listeners > 0)
		printf("%-40s IN SRV 0 0 0 .\n", owner);
	else
		printf("%-40s IN SRV 0 1 %d %s.\n", owner,
		       port != 0 ? port : dflt, cfg->hostname);
}

static void
cli_dns_dkim(const struct config *cfg, const char *domain, bool *keys_r)
{
	struct dkim_keyinfo *v = NULL;
	char owner[CLI_DOMAIN_BUF + 96];
	size_t n = 0;

	*keys_r = false;
	if (dkim_keys_list(cfg->data_dir, domain, &v, &n) < 0 || n == 0) {
		printf("; DKIM: no keys (postel dkim generate %s)\n", domain);
		free(v);
		return;
	}
	printf("; DKIM (RFC 6376, 8463): every selector kept; the old ones "
	       "until mail signed with them\n; has arrived (postel dkim "
	       "remove), the active ones before they sign\n");
	for (size_t i = 0; i < n; i++) {
		if (v[i].txt[0] == '\0') {
			printf("; %s: key unreadable\n", v[i].selector);
			continue;
		}
		snprintf(owner, sizeof(owner), "%s._domainkey.%s.",
			 v[i].selector, domain);
		cli_dns_txt(owner, v[i].txt);
		*keys_r |= v[i].active;
	}
	free(v);
}

static void
cli_dns_print(const struct config *cfg, const char *domain)
{
	char owner[CLI_DOMAIN_BUF + 32], text[512], id[32];
	time_t now = time(NULL);
	struct tm tm;
	bool keys;

	gmtime_r(&now, &tm);
	strftime(id, sizeof(id), "%Y%m%d%H%M%S", &tm);
	printf("; DNS records for %s (postel dns)\n", domain);
	snprintf(owner, sizeof(owner), "%s.", domain);
	printf("%-40s IN MX 10 %s.\n", owner, cfg->hostname);
	cli_dns_txt(owner, "v=spf1 mx -all");
	cli_dns_dkim(cfg, domain, &keys);
	snprintf(owner, sizeof(owner), "_dmarc.%s.", domain);
	snprintf(text, sizeof(text), "v=DMARC1; p=%s; rua=mailto:postmaster@%s",
		 keys ? "quarantine" : "none", domain);
	cli_dns_txt(owner, text);
	printf("; MTA-STS (RFC 8461): serve the policy at "
	       "https://mta-sts.%s/.well-known/mta-sts.txt:\n"
	       ";   version: STSv1 / mode: testing / mx: %s / max_age: 604800\n"
	       "; and change the id whenever the policy changes\n", domain,
	       cfg->hostname);
	snprintf(owner, sizeof(owner), "_mta-sts.%s.", domain);
	snprintf(text, sizeof(text), "v=STSv1; id=%s", id);
	cli_dns_txt(owner, text);
	snprintf(owner, sizeof(owner), "mta-sts.%s.", domain);
	printf("%-40s IN CNAME %s.\n", owner, cfg->hostname);
	snprintf(owner, sizeof(owner), "_smtp._tls.%s.", domain);
	snprintf(text, sizeof(text), "v=TLSRPTv1; rua=mailto:postmaster@%s",
		 domain);
	cli_dns_txt(owner, text);
	printf("; Mail client setup (RFC 6186)\n");
	cli_dns_srv(cfg, domain, "_submission", PROTO_SUBMISSION, 587);
	cli_dns_srv(cfg, domain, "_submissions", PROTO_SUBMISSIONS, 465);
	cli_dns_srv(cfg, domain, "_imaps", PROTO_IMAPS, 993);
	cli_dns_srv(cfg, domain, "_imap", PROTO_IMAP, 143);
	cli_dns_srv(cfg, domain, "_pop3s", PROTO_POP3S, 995);
	snprintf(owner, sizeof(owner), "autoconfig.%s.", domain);
	printf("%-40s IN CNAME %s.\n", owner, cfg->hostname);
}

int
cli_dns(const struct config *cfg, int argc, char **argv)
{
	char domain[CLI_DOMAIN_BUF], shown[96];
	const char *why = NULL;

	if (argc >= 1 && cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_DNS_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	if (argc != 1)
		return cli_usage(CLI_DNS_SYNOPSIS);
	if (cli_domain_check(argv[0], domain, sizeof(domain), &why) < 0) {
		cli_err("invalid domain '%s': %s",
			cli_quote(argv[0], shown, sizeof(shown)), why);
		return CLI_EXIT_ERR;
	}
	cli_dns_print(cfg, domain);
	return CLI_EXIT_OK;
}
