/*
 * postel: one binary. `postel serve` runs the server; domain, user and alias
 * manage accounts against the same store, queue the outbound queue, also
 * while the server runs.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/version.h"
#include "server/config_file.h"
#include "server/server.h"
#include "util/str.h"

struct opts {
	const char *data_dir;
	const char *config_path;
	const char *hostname;
	struct config_listen listen[CONFIG_MAX_LISTENERS];
	size_t n_listen;
	int argc;        /* the rest, starting at the action word */
	char *argv[64];
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: postel [--data DIR] [--config FILE] COMMAND ...\n"
		"  serve [--listen PROTO=ADDR:PORT]... [--hostname NAME]\n"
		"  domain add|del NAME | domain list\n"
		"  user add|passwd ADDRESS [--password-stdin]"
		" | user del ADDRESS [--keep DIR [--mbox]] | user list [DOMAIN]\n"
		"  user allow-sender|deny-sender ADDRESS PATTERN"
		" | user senders ADDRESS\n"
		"  user quota ADDRESS SIZE|default|unlimited | user show ADDRESS\n"
		"  alias add SOURCE TARGET... | alias del SOURCE [TARGET]"
		" | alias list [DOMAIN]\n"
		"  queue list [--domain DOMAIN] [--held] | queue show ID"
		" | queue flush [ID | --domain DOMAIN]\n"
		"  queue hold|release|delete|bounce ID\n"
		"  route DOMAIN | route --host HOST   (where mail for DOMAIN"
		" would go; exit 0 routable, 1 not)\n"
		"  dkim generate|rotate DOMAIN | dkim list [DOMAIN]"
		" | dkim remove DOMAIN SELECTOR\n"
		"  dkim verify < MESSAGE   (checks every DKIM-Signature)\n"
		"  dns DOMAIN   (the DNS records to publish for DOMAIN)\n"
		"  spf check IP SENDER HELO [--mailfrom-only]   (SPF results"
		" for a sender)\n"
		"  metadata list | metadata get NAME | metadata set NAME VALUE"
		" | metadata del NAME   (server /shared IMAP METADATA)\n"
		"  status | who | kick ADDRESS   (through the control socket)\n"
		"  version   (also --version)\n"
		"COMMAND --help prints that command's usage.\n"
		"PROTO: smtp submission submissions pop3 pop3s imap imaps "
		"http https\n");
}

/* Pulls out the options every command shares, wherever they stand; keeps
 * the rest in order. 0, or 2 on a usage error. */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	char err[256];

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool has_val = i + 1 < argc;

		if ((strcmp(a, "--data") == 0 || strcmp(a, "-d") == 0) && has_val) {
			o->data_dir = argv[++i];
		} else if ((strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) &&
			   has_val) {
			o->config_path = argv[++i];
		} else if (strcmp(a, "--hostname") == 0 && has_val) {
			o->hostname = argv[++i];
		} else if (strcmp(a, "--listen") == 0 && has_val) {
			if (o->n_listen >= CONFIG_MAX_LISTENERS ||
			    config_parse_listen(argv[++i], &o->listen[o->n_listen++],
						err, sizeof(err)) < 0) {
				fprintf(stderr, "postel: %s\n", err);
				return 2;
			}
		} else if (o->argc < (int)(sizeof(o->argv) / sizeof(o->argv[0]))) {
			o->argv[o->argc++] = argv[i];
		} else {
			fprintf(stderr, "postel: too many arguments\n");
			return 2;
		}
	}
	return 0;
}

static int
build_config(const struct opts *o, struct config *cfg)
{
	char err[1024];

	config_defaults(cfg, geteuid() == 0);
	if (o->config_path != NULL &&
	    config_load(cfg, o->config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "postel: %s\n", err);
		return -1;
	}
	if (o->data_dir != NULL)
		str_lcpy(cfg->data_dir, o->data_dir, sizeof(cfg->data_dir));
	if (o->hostname != NULL)
		str_lcpy(cfg->hostname, o->hostname, sizeof(cfg->hostname));
	if (o->n_listen > 0) {
		memcpy(cfg->listeners, o->listen, sizeof(o->listen));
		cfg->n_listeners = o->n_listen;
	}
	config_finish(cfg);
	return 0;
}

static int
cmd_serve(const struct config *cfg, int argc, char **argv)
{
	static struct server srv;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		printf("usage: postel [--data DIR] [--config FILE] serve "
		       "[--listen PROTO=ADDR:PORT]... [--hostname NAME]\n"
		       "PROTO: smtp submission submissions pop3 pop3s imap "
		       "imaps http https\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "postel: serve: unexpected argument '%s'\n",
			argv[1]);
		return 2;
	}
	srv.cfg = *cfg;
	return server_run(&srv);
}

static int
cmd_version(const struct config *cfg, int argc, char **argv)
{
	printf("postel %s\n", POSTEL_VERSION);
	return 0;
}

static int
cmd_domain(const struct config *cfg, int argc, char **argv)
{
	return cli_domain(cfg, argc - 1, argv + 1);
}

static int
cmd_user(const struct config *cfg, int argc, char **argv)
{
	return cli_user(cfg, argc - 1, argv + 1);
}

static int
cmd_alias(const struct config *cfg, int argc, char **argv)
{
	return cli_alias(cfg, argc - 1, argv + 1);
}

static int
cmd_queue(const struct config *cfg, int argc, char **argv)
{
	return cli_queue(cfg, argc - 1, argv + 1);
}

static int
cmd_route(const struct config *cfg, int argc, char **argv)
{
	return cli_route(cfg, argc - 1, argv + 1);
}

static int
cmd_dkim(const struct config *cfg, int argc, char **argv)
{
	return cli_dkim(cfg, argc - 1, argv + 1);
}

static int
cmd_dns(const struct config *cfg, int argc, char **argv)
{
	return cli_dns(cfg, argc - 1, argv + 1);
}

static int
cmd_spf(const struct config *cfg, int argc, char **argv)
{
	return cli_spf(cfg, argc - 1, argv + 1);
}

static int
cmd_metadata(const struct config *cfg, int argc, char **argv)
{
	return cli_metadata(cfg, argc - 1, argv + 1);
}

static int
cmd_status(const struct config *cfg, int argc, char **argv)
{
	return cli_status(cfg, argc, argv);
}

static int
cmd_who(const struct config *cfg, int argc, char **argv)
{
	return cli_who(cfg, argc, argv);
}

static int
cmd_kick(const struct config *cfg, int argc, char **argv)
{
	return cli_kick(cfg, argc, argv);
}

static const struct {
	const char *name;
	int (*fn)(const struct config *cfg, int argc, char **argv);
} commands[] = {
	{ "serve", cmd_serve },
	{ "domain", cmd_domain },
	{ "user", cmd_user },
	{ "alias", cmd_alias },
	{ "queue", cmd_queue },
	{ "route", cmd_route },
	{ "dkim", cmd_dkim },
	{ "dns", cmd_dns },
	{ "spf", cmd_spf },
	{ "metadata", cmd_metadata },
	{ "status", cmd_status },
	{ "who", cmd_who },
	{ "kick", cmd_kick },
	{ "version", cmd_version },
};

int
main(int argc, char **argv)
{
	static struct opts o;
	static struct config cfg;
	int rc;

	/* glibc raises its mmap threshold to the size of each freed mapped
	 * block, so after one 30 MB APPEND the next ones come from the heap
	 * and stay resident after free. A fixed threshold keeps large
	 * buffers (literals, messages) in their own mappings, returned to
	 * the system when freed (buffers shrink back). */
	(void)mallopt(M_MMAP_THRESHOLD, LIMIT_MALLOC_MMAP_THRESHOLD);
	if ((rc = parse_opts(argc - 1, argv + 1, &o)) != 0) {
		usage(stderr);
		return rc;
	}
	if (o.argc > 0 && (strcmp(o.argv[0], "--version") == 0 ||
			   strcmp(o.argv[0], "-V") == 0))
		o.argv[0] = "version";
	if (o.argc == 0 || strcmp(o.argv[0], "help") == 0 ||
	    strcmp(o.argv[0], "--help") == 0 || strcmp(o.argv[0], "-h") == 0) {
		usage(o.argc == 0 ? stderr : stdout);
		return o.argc == 0 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(o.argv[0], commands[i].name) != 0)
			continue;
		if (build_config(&o, &cfg) < 0)
			return 1;
		return commands[i].fn(&cfg, o.argc, o.argv);
	}
	fprintf(stderr, "postel: unknown command '%s'\n", o.argv[0]);
	usage(stderr);
	return 2;
}
