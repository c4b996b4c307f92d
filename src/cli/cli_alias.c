/*
 * postel alias add SOURCE TARGET... ; alias del SOURCE [TARGET] ;
 * alias list [DOMAIN]. SOURCE is local@domain or @domain (the domain's
 * catch-all); a TARGET is any address, hosted here or not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_ALIAS_SYNOPSIS                                                   \
	"alias add SOURCE TARGET... | alias del SOURCE [TARGET] | "          \
	"alias list [DOMAIN]"
/* Targets in one "alias add": enough for any real list, and a bound. */
#define CLI_ALIAS_MAX_TARGETS 1000

/* One parsed invocation: args[0] is the source (or the list domain),
 * args[1..n) the targets, all validated and canonical. */
struct cli_alias_req {
	char (*args)[CLI_ADDRESS_BUF];
	int n;
};

struct cli_alias_cmd {
	const char *name;
	int min_args, max_args;
	const char *synopsis;
	int (*run)(struct store *st, const struct cli_alias_req *req);
};

static int
cli_alias_add_run(struct store *st, const struct cli_alias_req *req)
{
	const char *src = req->args[0], *err = NULL;

	/* All targets or none (rollback on the first failure). */
	if (store_begin(st, &err) < 0) {
		cli_store_err(src, err);
		return CLI_EXIT_ERR;
	}
	for (int i = 1; i < req->n; i++) {
		if (store_alias_check(st, src, req->args[i], &err) < 0 ||
		    store_alias_add(st, src, req->args[i], &err) < 0) {
			char what[2 * CLI_ADDRESS_BUF + 8];

			snprintf(what, sizeof(what), "%s -> %s", src,
				 req->args[i]);
			cli_store_err(what, err);
			store_rollback(st);
			return CLI_EXIT_ERR;
		}
	}
	if (store_commit(st, &err) < 0) {
		cli_store_err(src, err);
		store_rollback(st);
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}

static int
cli_alias_del_run(struct store *st, const struct cli_alias_req *req)
{
	const char *err = NULL;

	if (store_alias_del(st, req->args[0], req->n > 1 ? req->args[1] : NULL,
			    &err) < 0) {
		cli_store_err(req->args[0], err);
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}

static int
cli_alias_list_run(struct store *st, const struct cli_alias_req *req)
{
	const char *dom = req->n > 0 ? req->args[0] : NULL, *err = NULL;
	char **lines = NULL;

	if (cli_list_domain_ok(st, dom) != CLI_EXIT_OK)
		return CLI_EXIT_ERR;

	int rc = store_alias_list(st, dom, &lines, &err);
	return cli_print_list(rc, lines, "cannot list aliases", err);
}

static const struct cli_alias_cmd cli_alias_cmds[] = {
	{ "add", 2, 1 + CLI_ALIAS_MAX_TARGETS, "alias add SOURCE TARGET...",
	  cli_alias_add_run },
	{ "del", 1, 2, "alias del SOURCE [TARGET]", cli_alias_del_run },
	{ "list", 0, 1, "alias list [DOMAIN]", cli_alias_list_run },
};

/* Validates one argument into out: the source (i == 0, not for list),
 * a target, or the list's domain. 0, or -1 after the error line. */
static int
cli_alias_arg(const struct cli_alias_cmd *cmd, int i, const char *in,
	      char out[CLI_ADDRESS_BUF])
{
	const char *why = NULL, *kind;
	char shown[96];
	int r;

	if (cmd->run == cli_alias_list_run) {
		kind = "domain";
		r = cli_domain_check(in, out, CLI_ADDRESS_BUF, &why);
	} else if (i == 0) {
		/* '+' is the tag separator: user+tag@ already reaches user@,
		 * so a source with '+' would be ambiguous. */
		kind = "alias source";
		r = cli_address_check(in, CLI_ADDR_CATCHALL | CLI_ADDR_NO_PLUS,
				      out, CLI_ADDRESS_BUF, &why);
	} else {
		kind = "alias target";
		r = cli_address_check(in, 0, out, CLI_ADDRESS_BUF, &why);
	}
	if (r < 0)
		cli_err("invalid %s '%s': %s", kind,
			cli_quote(in, shown, sizeof(shown)), why);
	return r;
}

/* Semantic checks across arguments of "alias add". */
static int
cli_alias_add_check(const struct cli_alias_req *req)
{
	for (int i = 1; i < req->n; i++) {
		if (strcmp(req->args[i], req->args[0]) == 0) {
			cli_err("alias %s points to itself", req->args[0]);
			return -1;
		}
		for (int j = 1; j < i; j++) {
			if (strcmp(req->args[i], req->args[j]) == 0) {
				cli_err("target %s given twice", req->args[i]);
				return -1;
			}
		}
	}
	return 0;
}

static int
cli_alias_prepare(const struct cli_alias_cmd *cmd, int argc, char **argv,
		  struct cli_alias_req *req)
{
	const char *bad = NULL;
	char **pos;
	int n, rc = CLI_EXIT_OK;

	pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (pos == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_ERR;
	}
	n = cli_split_args(argc, argv, false, NULL, pos, argc, &bad);
	if (n < cmd->min_args || n > cmd->max_args) {
		free(pos);
		return cli_usage(cmd->synopsis);
	}
	req->args = calloc((size_t)n + 1, sizeof(*req->args));
	req->n = n;
	if (req->args == NULL) {
		cli_err("out of memory");
		rc = CLI_EXIT_ERR;
	}
	for (int i = 0; rc == CLI_EXIT_OK && i < n; i++) {
		if (cli_alias_arg(cmd, i, pos[i], req->args[i]) < 0)
			rc = CLI_EXIT_ERR;
	}
	if (rc == CLI_EXIT_OK && cmd->run == cli_alias_add_run &&
	    cli_alias_add_check(req) < 0)
		rc = CLI_EXIT_ERR;
	free(pos);
	return rc;
}

int
cli_alias(const struct config *cfg, int argc, char **argv)
{
	const struct cli_alias_cmd *cmd = NULL;
	struct cli_alias_req req = { NULL, 0 };
	struct store *st;
	int rc;

	if (argc >= 1 && cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_ALIAS_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; argc >= 1 && i < sizeof(cli_alias_cmds) /
					    sizeof(cli_alias_cmds[0]); i++) {
		if (strcmp(argv[0], cli_alias_cmds[i].name) == 0)
			cmd = &cli_alias_cmds[i];
	}
	if (cmd == NULL)
		return cli_usage(CLI_ALIAS_SYNOPSIS);
	rc = cli_alias_prepare(cmd, argc - 1, argv + 1, &req);
	if (rc == CLI_EXIT_OK) {
		st = cli_store_open(cfg);
		if (st == NULL) {
			rc = CLI_EXIT_ERR;
		} else {
			rc = cmd->run(st, &req);
			cli_store_close(cfg, &st);
		}
	}
	free(req.args);
	return rc;
}
