/*
 * postel user add|passwd ADDRESS [--password-stdin] ; user del ADDRESS ;
 * user list [DOMAIN] ; user allow-sender|deny-sender ADDRESS PATTERN ;
 * user senders ADDRESS
 */
#include <stdio.h>
#include <string.h>

#include "../auth/passwd.h"
#include "../core/config.h"
#include "../store/blob.h"
#include "../store/store.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_USER_SYNOPSIS                                                    \
	"user add|passwd ADDRESS [--password-stdin] | "                      \
	"user del ADDRESS [--keep DIR [--mbox]] | "                         \
	"user list [DOMAIN] | user allow-sender|deny-sender ADDRESS PATTERN " \
	"| user senders ADDRESS | user quota ADDRESS SIZE|default|unlimited " \
	"| user show ADDRESS"
#define CLI_PWHASH_BUF 256

/* One parsed invocation. */
struct cli_user_req {
	const struct config *cfg;
	char arg[CLI_ADDRESS_BUF]; /* canonical address or domain, or "" */
	char pattern[CLI_ADDRESS_BUF]; /* sender grant: local@domain, @domain */
	bool password_stdin;
	bool adds; /* from cli_user_cmd */
	const char *keep_dir; /* user del --keep DIR */
	bool keep_mbox;       /* --mbox: one mbox file per mailbox */
};

struct cli_user_cmd {
	const char *name;
	int min_args, max_args;
	bool takes_stdin_flag;
	bool arg_is_domain;
	/* One run function serves a pair: add (not passwd), allow-sender
	 * (not deny-sender). */
	bool adds;
	const char *synopsis;
	int (*run)(struct store *st, const struct cli_user_req *req);
};

/* Checks that the account can be added (domain hosted, no such account)
 * or changed (account exists) before the password is asked for, so that a
 * typo does not cost the admin two password prompts. */
static int
cli_user_precheck(struct store *st, const char *address, bool must_exist)
{
	struct store_account acct;
	const char *domain = strrchr(address, '@') + 1;
	int r;

	if (!must_exist) {
		r = store_domain_exists(st, domain);
		if (r == 0)
			cli_err("%s: no such domain %s", address, domain);
		if (r <= 0) {
			if (r < 0)
				cli_store_err(address, st->err);
			return -1;
		}
	}
	r = store_account_lookup(st, address, &acct);
	explicit_bzero(&acct, sizeof(acct));
	if (r < 0)
		cli_store_err(address, st->err);
	else if (r == 1 && !must_exist)
		cli_err("%s: user exists", address);
	else if (r == 0 && must_exist)
		cli_err("%s: no such user", address);
	else
		return 0;
	return -1;
}

/* Asks for the password and hashes it; the clear text is wiped here. */
static int
cli_user_new_hash(const struct cli_user_req *req, char hash[CLI_PWHASH_BUF])
{
	char pw[CLI_PASSWORD_BUF];
	int rc = 0;

	if (cli_password_get(req->password_stdin, pw, sizeof(pw)) < 0)
		return -1;
	if (passwd_hash(pw, hash, CLI_PWHASH_BUF) < 0) {
		cli_err("cannot hash the password");
		rc = -1;
	}
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

/* user add, user passwd */
static int
cli_user_set_run(struct store *st, const struct cli_user_req *req)
{
	bool is_add = req->adds;
	char hash[CLI_PWHASH_BUF];
	const char *err = NULL;
	int rc;

	if (cli_user_precheck(st, req->arg, !is_add) < 0 ||
	    cli_user_new_hash(req, hash) < 0)
		return CLI_EXIT_ERR;
	rc = is_add ? store_user_add(st, req->arg, hash, &err) :
		      store_user_passwd(st, req->arg, hash, &err);
	explicit_bzero(hash, sizeof(hash));
	if (rc < 0) {
		cli_store_err(req->arg, err);
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}

static bool
cli_strv_has(char **v, const char *s)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* The aliases that reached only the deleted user (dangling now, not
 * before) are removed and named: left in place, mail to them would bounce
 * or silently reach the domain's catch-all. */
static int
cli_user_del_aliases(struct store *st, const char *user, char **before)
{
	char **after = NULL, target[CLI_ADDRESS_BUF];
	const char *err = NULL;
	int rc = CLI_EXIT_OK;

	if (store_alias_dangling(st, &after, &err) < 0) {
		cli_store_err("aliases", err);
		return CLI_EXIT_ERR;
	}
	for (size_t i = 0; after != NULL && after[i] != NULL; i++) {
		char *sp = strchr(after[i], ' ');

		if (sp == NULL || cli_strv_has(before, after[i]))
			continue;
		*sp = '\0';
		snprintf(target, sizeof(target), "%s", sp + 1);
		if (store_alias_del(st, after[i], target, &err) < 0) {
			cli_store_err(after[i], err);
			rc = CLI_EXIT_ERR;
			continue;
		}
		printf("removed alias %s -> %s (it reached only %s)\n",
		       after[i], target, user);
	}
	store_strv_free(after);
	return rc;
}

/* A running server ends the deleted user's open sessions (a session
 * logged in before the delete would otherwise go on). */
static void
cli_user_del_sessions(const struct config *cfg, const char *address)
{
	char why[512];
	unsigned n = 0;
	int r = cli_control_kick(cfg, address, &n, why, sizeof(why));

	if (r == 0 && n > 0)
		printf("%s: %u open session%s ended\n", address, n,
		       n == 1 ? "" : "s");
	else if (r < 0)
		cli_err("%s: open sessions not ended: %s", address, why);
}

static int
cli_user_del_run(struct store *st, const struct cli_user_req *req)
{
	const char *err = NULL;
	char **orphans = NULL, **dangling = NULL;
	int rc;

	/* The copy is complete and on disk before anything is deleted. */
	if (req->keep_dir != NULL &&
	    cli_keep_mailboxes(st, req->cfg->data_dir, req->arg, req->keep_dir,
			       req->keep_mbox) < 0)
		return CLI_EXIT_ERR;
	if (store_alias_dangling(st, &dangling, &err) < 0) {
		cli_store_err(req->arg, err);
		return CLI_EXIT_ERR;
	}
	if (store_user_del(st, req->arg, &orphans, &err) < 0) {
		cli_store_err(req->arg, err);
		store_strv_free(dangling);
		return CLI_EXIT_ERR;
	}
	/* The rows are gone (committed): the files nobody references any
	 * more can go too. A crash before this leaves only unreferenced
	 * files, never a row without its file. */
	blob_unlink_all(req->cfg->data_dir, orphans);
	store_strv_free(orphans);
	rc = cli_user_del_aliases(st, req->arg, dangling);
	store_strv_free(dangling);
	cli_user_del_sessions(req->cfg, req->arg);
	return rc;
}

static int
cli_user_list_run(struct store *st, const struct cli_user_req *req)
{
	const char *dom = req->arg[0] != '\0' ? req->arg : NULL;
	const char *err = NULL;
	char **addrs = NULL;

	if (cli_list_domain_ok(st, dom) != CLI_EXIT_OK)
		return CLI_EXIT_ERR;

	int rc = store_user_list(st, dom, &addrs, &err);
	return cli_print_list(rc, addrs, "cannot list users", err);
}

/* Sender grants (submission sender identity, docs/CONFIG.md): user
 * allow-sender, user deny-sender. */
static int
cli_user_grant_run(struct store *st, const struct cli_user_req *req)
{
	const char *err = NULL;
	char what[2 * CLI_ADDRESS_BUF + 2];
	int rc = req->adds ? store_sender_grant_add(st, req->arg, req->pattern, &err)
		     : store_sender_grant_del(st, req->arg, req->pattern, &err);

	if (rc == 0)
		return CLI_EXIT_OK;
	snprintf(what, sizeof(what), "%s %s", req->arg, req->pattern);
	cli_store_err(what, err);
	return CLI_EXIT_ERR;
}

static int
cli_user_senders_run(struct store *st, const struct cli_user_req *req)
{
	const char *err = NULL;
	char **v = NULL;
	int rc = store_sender_grant_list(st, req->arg, &v, &err);

	if (rc < 0) {
		cli_store_err(req->arg, err);
		return CLI_EXIT_ERR;
	}
	return cli_print_list(rc, v, "cannot list sender grants", err);
}

static const struct cli_user_cmd cli_user_cmds[] = {
	{ "add", 1, 1, true, false, true,
	  "user add ADDRESS [--password-stdin]", cli_user_set_run },
	{ "passwd", 1, 1, true, false, false,
	  "user passwd ADDRESS [--password-stdin]", cli_user_set_run },
	{ "del", 1, 1, false, false, false,
	  "user del ADDRESS [--keep DIR [--mbox]]", cli_user_del_run },
	{ "list", 0, 1, false, true, false, "user list [DOMAIN]",
	  cli_user_list_run },
	{ "allow-sender", 2, 2, false, false, true,
	  "user allow-sender ADDRESS PATTERN", cli_user_grant_run },
	{ "deny-sender", 2, 2, false, false, false,
	  "user deny-sender ADDRESS PATTERN", cli_user_grant_run },
	{ "senders", 1, 1, false, false, false, "user senders ADDRESS",
	  cli_user_senders_run },
};

/* A sender grant pattern: "local@domain" or "@domain" (the store keeps
 * it lower-case). 0, or -1 after the error line. */
static int
cli_user_pattern(const char *in, struct cli_user_req *req)
{
	const char *why = NULL;
	char shown[96];

	if (cli_address_check(in, CLI_ADDR_CATCHALL, req->pattern,
			      sizeof(req->pattern), &why) == 0)
		return 0;
	cli_err("invalid sender pattern '%s': %s",
		cli_quote(in, shown, sizeof(shown)), why);
	return -1;
}

/* Fills req->arg from the one positional argument: 0, or -1 after the
 * error line. */
static int
cli_user_arg(const struct cli_user_cmd *cmd, const char *in,
	     struct cli_user_req *req)
{
	const char *why = NULL;
	char shown[96];

	if (cmd->arg_is_domain) {
		if (cli_domain_check(in, req->arg, sizeof(req->arg),
				     &why) == 0)
			return 0;
		cli_err("invalid domain '%s': %s",
			cli_quote(in, shown, sizeof(shown)), why);
		return -1;
	}
	if (cli_address_check(in, CLI_ADDR_NO_PLUS, req->arg, sizeof(req->arg),
			      &why) == 0)
		return 0;
	cli_err("invalid address '%s': %s",
		cli_quote(in, shown, sizeof(shown)), why);
	return -1;
}

/* Takes "--keep DIR" and "--mbox" out of argv (user del). -1 when
 * malformed. */
static int
cli_user_keep_opts(int *argc, char **argv, struct cli_user_req *req)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--keep") == 0) {
			if (i + 1 >= *argc || req->keep_dir != NULL)
				return -1;
			req->keep_dir = argv[++i];
		} else if (strcmp(argv[i], "--mbox") == 0) {
			req->keep_mbox = true;
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	return req->keep_mbox && req->keep_dir == NULL ? -1 : 0;
}

int
cli_user(const struct config *cfg, int argc, char **argv)
{
	const struct cli_user_cmd *cmd = NULL;
	struct cli_user_req req = { .cfg = cfg };
	const char *bad = NULL;
	char *pos[2];
	struct store *st;
	int n, rc;

	if (argc >= 1 && cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_USER_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	if (argc >= 1 && (strcmp(argv[0], "quota") == 0 ||
			  strcmp(argv[0], "show") == 0))
		return cli_user_quota(cfg, argc, argv);
	for (size_t i = 0; argc >= 1 && i < sizeof(cli_user_cmds) /
					    sizeof(cli_user_cmds[0]); i++) {
		if (strcmp(argv[0], cli_user_cmds[i].name) == 0)
			cmd = &cli_user_cmds[i];
	}
	if (cmd == NULL)
		return cli_usage(CLI_USER_SYNOPSIS);
	req.adds = cmd->adds;
	if (cmd->run == cli_user_del_run &&
	    cli_user_keep_opts(&argc, argv, &req) < 0)
		return cli_usage(cmd->synopsis);
	n = cli_split_args(argc - 1, argv + 1, cmd->takes_stdin_flag,
			   &req.password_stdin, pos, 2, &bad);
	if (n < cmd->min_args || n > cmd->max_args)
		return cli_usage(cmd->synopsis);
	if (n >= 1 && cli_user_arg(cmd, pos[0], &req) < 0)
		return CLI_EXIT_ERR;
	if (n == 2 && cli_user_pattern(pos[1], &req) < 0)
		return CLI_EXIT_ERR;
	st = cli_store_open(cfg);
	if (st == NULL)
		return CLI_EXIT_ERR;
	rc = cmd->run(st, &req);
	cli_store_close(cfg, &st);
	return rc;
}
