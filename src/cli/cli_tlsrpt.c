/*
 * postel tlsrpt send [--all]
 *
 * Queues the TLS-RPT aggregate reports (RFC 8460) now, instead of at the
 * server's next turn of a UTC day: by default the reports of the days
 * before today, with --all also today's counts so far (a report for a
 * part of a day; for tests, or before a planned shutdown). Each report
 * goes to its domain's rua through the queue like any message; a running
 * server sends it within a second (it watches the queue serial), a
 * stopped one at its next start. Counts still in the server's memory
 * (less than a second's worth) wait for the next report.
 *
 * Output: "queued N report(s)". Exit status: 0 done, 1 error, 2 usage.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../core/config.h"
#include "../queue/tlsrpt.h"
#include "../store/store.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_TLSRPT_SYNOPSIS "tlsrpt send [--all]"

int
cli_tlsrpt(const struct config *cfg, int argc, char **argv)
{
	int64_t today = tlsrpt_day((int64_t)time(NULL));
	bool all = false;
	struct store *st;
	const char *err = NULL;
	unsigned sent = 0;
	int rc;

	if (cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_TLSRPT_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	if (argc < 1 || strcmp(argv[0], "send") != 0 || argc > 2)
		return cli_usage(CLI_TLSRPT_SYNOPSIS);
	if (argc == 2) {
		if (strcmp(argv[1], "--all") != 0)
			return cli_usage(CLI_TLSRPT_SYNOPSIS);
		all = true;
	}
	if ((st = cli_store_open(cfg)) == NULL)
		return CLI_EXIT_ERR;
	rc = tlsrpt_send_reports(cfg, st, all ? today : today - 86400, &sent,
				 &err);
	cli_store_close(cfg, &st);
	if (rc < 0) {
		cli_store_err("tlsrpt send", err);
		return CLI_EXIT_ERR;
	}
	printf("queued %u report(s)\n", sent);
	return CLI_EXIT_OK;
}
