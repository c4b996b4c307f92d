/*
 * postel user quota ADDRESS SIZE|default|unlimited ; user show ADDRESS
 * SIZE is octets with an optional K, M, G or T suffix (powers
 * of 1024); "default" follows the configured quota_default, "unlimited"
 * (or 0) sets no limit. `user show` prints the quota in force and the
 * usage (the sum of the account's message sizes, RFC 9208 STORAGE).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../core/config.h"
#include "../store/store.h"
#include "../util/str.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_QUOTA_SYNOPSIS                                                   \
	"user quota ADDRESS SIZE|default|unlimited | user show ADDRESS"
/* Sizes a quota may take: the config's bound (sums stay in range). */
#define CLI_QUOTA_MAX (1ULL << 62)

static int
cli_quota_parse(const char *in, int64_t *quota_r)
{
	uint64_t v;

	if (strcmp(in, "default") == 0) {
		*quota_r = STORE_QUOTA_DEFAULT;
		return 0;
	}
	if (strcmp(in, "unlimited") == 0) {
		*quota_r = 0;
		return 0;
	}
	if (str_tosize(in, CLI_QUOTA_MAX, &v) < 0)
		return -1;
	*quota_r = (int64_t)v;
	return 0;
}

static int
cli_quota_show(const struct config *cfg, struct store *st,
	       const char *address)
{
	struct store_account acct;
	const char *err = NULL;
	int64_t quota;
	uint64_t usage, limit;
	int r = store_account_lookup(st, address, &acct);

	explicit_bzero(acct.pwhash, sizeof(acct.pwhash));
	if (r == 1)
		r = store_quota_get(st, acct.id, &quota, &usage, &err);
	else
		err = st->err;
	if (r <= 0) {
		if (r == 0)
			cli_err("%s: no such user", address);
		else
			cli_store_err(address, err);
		return CLI_EXIT_ERR;
	}
	limit = store_quota_limit(quota, cfg->quota_default);
	printf("address: %s\n", acct.address);
	if (limit == 0)
		printf("quota: unlimited%s\n",
		       quota < 0 ? " (default)" : "");
	else
		printf("quota: %" PRIu64 "%s\n", limit,
		       quota < 0 ? " (default)" : "");
	printf("usage: %" PRIu64 "\n", usage);
	if (cli_user_show_more(cfg, st, acct.id, acct.address) < 0)
		return CLI_EXIT_ERR;
	return CLI_EXIT_OK;
}

int
cli_user_quota(const struct config *cfg, int argc, char **argv)
{
	bool show = argc >= 1 && strcmp(argv[0], "show") == 0;
	char addr[CLI_ADDRESS_BUF], shown[96];
	const char *why = NULL, *err = NULL;
	int64_t quota = 0;
	struct store *st;
	int rc = CLI_EXIT_OK;

	if (argc != (show ? 2 : 3))
		return cli_usage(CLI_QUOTA_SYNOPSIS);
	if (cli_address_check(argv[1], CLI_ADDR_NO_PLUS, addr, sizeof(addr),
			      &why) < 0) {
		cli_err("invalid address '%s': %s",
			cli_quote(argv[1], shown, sizeof(shown)), why);
		return CLI_EXIT_ERR;
	}
	if (!show && cli_quota_parse(argv[2], &quota) < 0) {
		cli_err("invalid quota '%s': a size (octets, or with a K, M, "
			"G or T suffix), default or unlimited",
			cli_quote(argv[2], shown, sizeof(shown)));
		return CLI_EXIT_USAGE;
	}
	st = cli_store_open(cfg);
	if (st == NULL)
		return CLI_EXIT_ERR;
	if (show) {
		rc = cli_quota_show(cfg, st, addr);
	} else if (store_quota_set(st, addr, quota, &err) < 0) {
		cli_store_err(addr, err);
		rc = CLI_EXIT_ERR;
	}
	cli_store_close(cfg, &st);
	return rc;
}
