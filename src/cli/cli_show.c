/*
 * The rest of postel user show ADDRESS (cli_quota.c prints the quota and
 * usage): mailboxes with message counts and sizes, the aliases that reach
 * the account, its sender grants (read from the store, with or without a
 * server), and its open sessions (asked of the running server).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "../store/store.h"
#include "cli_util.h"

static int
cli_show_mailboxes(struct store *st, int64_t account_id)
{
	struct store_mailbox *boxes = NULL;
	size_t n = 0;
	const char *err = NULL;

	if (store_mailbox_list(st, account_id, &boxes, &n, &err) < 0) {
		cli_store_err("cannot list the mailboxes", err);
		return -1;
	}
	printf("mailboxes: %zu\n", n);
	for (size_t i = 0; i < n; i++)
		printf("mailbox: %s (%" PRIu32 " message%s, %" PRIu64
		       " bytes)\n", boxes[i].name, boxes[i].messages,
		       boxes[i].messages == 1 ? "" : "s", boxes[i].size);
	free(boxes);
	return 0;
}

/* An alias line "source target" reaches the account when its target
 * resolves to it (through further aliases too). */
static bool
cli_show_alias_reaches(struct store *st, const char *target,
		       int64_t account_id)
{
	int64_t *ids = NULL;
	size_t n = 0;
	bool hit = false;

	if (store_resolve_rcpt(st, target, &ids, &n, NULL) == STORE_RCPT_OK)
		for (size_t i = 0; i < n; i++)
			hit |= ids[i] == account_id;
	free(ids);
	return hit;
}

static int
cli_show_aliases(struct store *st, int64_t account_id)
{
	char **lines = NULL;
	const char *err = NULL;
	size_t shown = 0;

	if (store_alias_list(st, NULL, &lines, &err) < 0) {
		cli_store_err("cannot list the aliases", err);
		return -1;
	}
	for (size_t i = 0; lines != NULL && lines[i] != NULL; i++) {
		char *sp = strchr(lines[i], ' ');

		if (sp == NULL ||
		    !cli_show_alias_reaches(st, sp + 1, account_id))
			continue;
		*sp = '\0';
		printf("alias: %s (to %s%s)\n", lines[i], sp + 1,
		       lines[i][0] == '@' ? ", catch-all" : "");
		shown++;
	}
	printf("aliases: %zu\n", shown);
	store_strv_free(lines);
	return 0;
}

static int
cli_show_grants(struct store *st, const char *address)
{
	char **pats = NULL;
	const char *err = NULL;

	if (store_sender_grant_list(st, address, &pats, &err) < 0) {
		cli_store_err("cannot list the sender grants", err);
		return -1;
	}
	printf("may send as:");
	for (size_t i = 0; pats != NULL && pats[i] != NULL; i++)
		printf(" %s", pats[i]);
	printf("%s\n", pats == NULL || pats[0] == NULL ? " (own address)" : "");
	store_strv_free(pats);
	return 0;
}

int
cli_user_show_more(const struct config *cfg, struct store *st,
		   int64_t account_id, const char *address)
{
	char why[512];
	unsigned n = 0;
	int r;

	if (cli_show_mailboxes(st, account_id) < 0 ||
	    cli_show_aliases(st, account_id) < 0 ||
	    cli_show_grants(st, address) < 0)
		return -1;
	fflush(stdout);
	r = cli_control_who(cfg, address, true, &n, why, sizeof(why));
	if (r == 1)
		printf("sessions: unknown: %s\n", why);
	else if (r < 0) {
		cli_err("%s", why);
		return -1;
	} else {
		printf("sessions: %u\n", n);
	}
	return 0;
}
