/*
 * postel domain add|del NAME ; postel domain list
 */
#include <stdio.h>
#include <string.h>

#include "../store/store.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_DOMAIN_SYNOPSIS "domain add NAME | domain del NAME | domain list"

struct cli_domain_cmd {
	const char *name;
	int nargs;
	const char *synopsis;
	int (*run)(struct store *st, const char *domain);
};

static int
cli_domain_add_run(struct store *st, const char *domain)
{
	const char *err = NULL;

	if (store_domain_add(st, domain, &err) < 0) {
		cli_store_err(domain, err);
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}

static int
cli_domain_del_run(struct store *st, const char *domain)
{
	const char *err = NULL;

	if (store_domain_del(st, domain, &err) < 0) {
		cli_store_err(domain, err);
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}

static int
cli_domain_list_run(struct store *st, const char *unused)
{
	const char *err = NULL;
	char **names = NULL;
	int rc = store_domain_list(st, &names, &err);
	return cli_print_list(rc, names, "cannot list domains", err);
}

static const struct cli_domain_cmd cli_domain_cmds[] = {
	{ "add", 1, "domain add NAME", cli_domain_add_run },
	{ "del", 1, "domain del NAME", cli_domain_del_run },
	{ "list", 0, "domain list", cli_domain_list_run },
};

int
cli_domain(const struct config *cfg, int argc, char **argv)
{
	const struct cli_domain_cmd *cmd = NULL;
	char domain[CLI_DOMAIN_BUF] = "", shown[96];
	const char *bad = NULL, *why = NULL;
	char *pos[2];
	struct store *st;
	int n, rc;

	if (argc >= 1 && cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_DOMAIN_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; argc >= 1 && i < sizeof(cli_domain_cmds) /
					    sizeof(cli_domain_cmds[0]); i++) {
		if (strcmp(argv[0], cli_domain_cmds[i].name) == 0)
			cmd = &cli_domain_cmds[i];
	}
	if (cmd == NULL)
		return cli_usage(CLI_DOMAIN_SYNOPSIS);
	n = cli_split_args(argc - 1, argv + 1, false, NULL, pos, 2, &bad);
	if (n != cmd->nargs)
		return cli_usage(cmd->synopsis);
	if (n == 1 && cli_domain_check(pos[0], domain, sizeof(domain),
				       &why) < 0) {
		cli_err("invalid domain '%s': %s",
			cli_quote(pos[0], shown, sizeof(shown)), why);
		return CLI_EXIT_ERR;
	}
	st = cli_store_open(cfg);
	if (st == NULL)
		return CLI_EXIT_ERR;
	rc = cmd->run(st, domain);
	cli_store_close(cfg, &st);
	return rc;
}
