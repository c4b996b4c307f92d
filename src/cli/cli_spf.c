/*
 * postel spf check IP SENDER HELO [--mailfrom-only]
 *
 * Evaluates SPF (RFC 7208) the way the server does for an incoming
 * message, with the server's resolver (the config's resolver and
 * dnssec_trust_anchor): the MAIL FROM identity (the HELO identity when
 * SENDER is "" or "<>"), then the HELO identity. Useful to see what
 * Postel would say about a sender before mail arrives, like spfquery.
 *
 * Output:
 *   mailfrom RESULT DOMAIN
 *   why: WHAT DECIDED                (when known)
 *   explanation: TEXT                (fail with exp=)
 *   helo RESULT HELO                 (without --mailfrom-only)
 * RESULT is none, neutral, pass, fail, softfail, temperror or permerror.
 * Exit status: 0 when the check ran (whatever the result), 1 on an
 * error, 2 on a usage error.
 */
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "../core/config.h"
#include "../dns/dns.h"
#include "../mailauth/spf.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_SPF_SYNOPSIS "spf check IP SENDER HELO [--mailfrom-only]"

struct cli_spf {
	struct event_base *base;
	struct spf_outcome out;
	bool done;
};

static void
cli_spf_cb(void *arg, const struct spf_outcome *o)
{
	struct cli_spf *c = arg;

	c->out = *o;
	c->done = true;
	event_base_loopbreak(c->base);
}

static int
cli_spf_one(struct event_base *base, struct dns *d, const char *label,
	    const struct spf_request *r)
{
	struct cli_spf c = { .base = base };
	struct spf_check *chk = spf_check_start(d, r, cli_spf_cb, &c, &c.out);

	/* Bounded: every query has a deadline (dns.h) and a check makes a
	 * bounded number of them (RFC 7208 §4.6.4). */
	while (chk != NULL && !c.done && event_base_dispatch(base) == 0)
		;
	if (chk != NULL && !c.done)
		return -1;
	printf("%s %s %s\n", label, spf_result_name(c.out.result),
	       c.out.domain);
	if (c.out.why[0] != '\0')
		printf("why: %s\n", c.out.why);
	if (c.out.explanation[0] != '\0')
		printf("explanation: %s\n", c.out.explanation);
	return 0;
}

static int
cli_spf_run(const struct config *cfg, const char *ip, const char *sender,
	    const char *helo, bool mailfrom_only)
{
	struct spf_request r = { .ip = ip, .sender = sender, .helo = helo,
				 .receiver = cfg->hostname };
	struct event_base *base = event_base_new();
	struct dns *d;
	char err[512];
	int rc = 0;

	if (base == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_ERR;
	}
	d = dns_new(base, cfg, err, sizeof(err));
	if (d == NULL) {
		cli_err("%s", err);
		event_base_free(base);
		return CLI_EXIT_ERR;
	}
	if (strcmp(r.sender, "<>") == 0)
		r.sender = "";
	r.helo_identity = r.sender[0] == '\0';
	rc = cli_spf_one(base, d, "mailfrom", &r);
	if (rc == 0 && !mailfrom_only) {
		r.helo_identity = true;
		rc = cli_spf_one(base, d, "helo", &r);
	}
	dns_free(&d);
	event_base_free(base);
	if (rc < 0)
		cli_err("the resolver stopped before the check ended");
	return rc < 0 ? CLI_EXIT_ERR : CLI_EXIT_OK;
}

int
cli_spf(const struct config *cfg, int argc, char **argv)
{
	const char *args[3];
	int n = 0;
	bool mailfrom_only = false;

	if (cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_SPF_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	if (argc < 1 || strcmp(argv[0], "check") != 0)
		return cli_usage(CLI_SPF_SYNOPSIS);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mailfrom-only") == 0)
			mailfrom_only = true;
		else if (n < 3)
			args[n++] = argv[i];
		else
			return cli_usage(CLI_SPF_SYNOPSIS);
	}
	if (n != 3)
		return cli_usage(CLI_SPF_SYNOPSIS);
	return cli_spf_run(cfg, args[0], args[1], args[2], mailfrom_only);
}
