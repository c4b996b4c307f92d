/*
 * postel metadata list | get NAME | set NAME VALUE | del NAME
 *
 * The server's /shared METADATA entries (RFC 5464 §3.2.1.1): what every
 * IMAP client reads with GETMETADATA "" and cannot change, such as
 * /shared/admin (how to reach the administrator, e.g. a mailto: URI) and
 * /shared/comment, or the entries clients look up to find related
 * services. Only the administrator sets them, here; a running server
 * answers with the new value at once (it reads them from the store).
 *
 * Output: list prints "NAME VALUE" per entry; get prints the value alone.
 * Exit status: 0 done, 1 error (get: no such entry), 2 usage.
 */
#include <stdio.h>
#include <string.h>

#include "../core/limits.h"
#include "../store/store.h"
#include "../store/store_imap.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_METADATA_SYNOPSIS                                                \
	"metadata list | metadata get NAME | metadata set NAME VALUE"        \
	" | metadata del NAME"

/* The name as stored, from the command line: a server /shared entry. */
static int
cli_metadata_name(const char *in, char out[LIMIT_IMAP_METADATA_NAME + 1])
{
	char shown[96];

	if (store_metadata_name(in, strlen(in), out, false) < 0 ||
	    strncmp(out, "/shared/", 8) != 0) {
		cli_err("invalid entry name '%s': /shared/ then components of "
			"printable characters without '*', '%%' or '//' "
			"(RFC 5464; /private entries are each user's own)",
			cli_quote(in, shown, sizeof(shown)));
		return -1;
	}
	return 0;
}

/* Prints the value with control characters as '?': one line each. */
static void
cli_metadata_print(const struct store_metadata *m)
{
	for (size_t i = 0; i < m->len; i++) {
		unsigned char c = (unsigned char)m->value[i];

		putchar(c < 0x20 || c == 0x7f ? '?' : c);
	}
	putchar('\n');
}

static int
cli_metadata_show(struct store *st, const char *name)
{
	struct store_metadata *v = NULL;
	const char *err = NULL;
	size_t n = 0;
	int rc = name != NULL ? CLI_EXIT_ERR : CLI_EXIT_OK;

	if (store_metadata_list(st, 0, 0, &v, &n, &err) < 0) {
		cli_store_err("metadata", err);
		return CLI_EXIT_ERR;
	}
	for (size_t i = 0; i < n; i++) {
		if (name == NULL) {
			printf("%s ", v[i].name);
			cli_metadata_print(&v[i]);
		} else if (strcmp(v[i].name, name) == 0) {
			cli_metadata_print(&v[i]);
			rc = CLI_EXIT_OK;
		}
	}
	if (rc != CLI_EXIT_OK)
		cli_err("%s: no such entry", name);
	store_metadata_free(v, n);
	return rc;
}

int
cli_metadata(const struct config *cfg, int argc, char **argv)
{
	char name[LIMIT_IMAP_METADATA_NAME + 1];
	const char *action = argc >= 1 ? argv[0] : "", *value = NULL;
	const char *err = NULL;
	struct store *st;
	int rc = CLI_EXIT_OK;

	if (cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_METADATA_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	if (strcmp(action, "list") == 0 ? argc != 1
	    : strcmp(action, "get") == 0 || strcmp(action, "del") == 0
		    ? argc != 2
	    : strcmp(action, "set") == 0 ? argc != 3 : true)
		return cli_usage(CLI_METADATA_SYNOPSIS);
	if (argc >= 2 && cli_metadata_name(argv[1], name) < 0)
		return CLI_EXIT_USAGE;
	if (argc == 3) {
		value = argv[2];
		if (strlen(value) > LIMIT_IMAP_METADATA_SIZE) {
			cli_err("value too long: at most %d bytes",
				LIMIT_IMAP_METADATA_SIZE);
			return CLI_EXIT_USAGE;
		}
	}
	st = cli_store_open(cfg);
	if (st == NULL)
		return CLI_EXIT_ERR;
	if (strcmp(action, "list") == 0 || strcmp(action, "get") == 0) {
		rc = cli_metadata_show(st, argc == 2 ? name : NULL);
	} else if (store_metadata_set(st, 0, 0, name, value,
				      value != NULL ? strlen(value) : 0, 0,
				      &err) < 0) {
		cli_store_err(name, err);
		rc = CLI_EXIT_ERR;
	}
	cli_store_close(cfg, &st);
	return rc;
}
