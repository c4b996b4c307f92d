/*
 * postel queue list [--domain DOMAIN] [--held] ; queue show ID ;
 * queue flush [ID | --domain DOMAIN] ; queue hold|release|delete|bounce ID
 *
 * The outbound queue as an administrator sees it, in the manner of
 * postqueue -p / mailq: one block per message (queue ID, '!' when held,
 * size, arrival, sender, then each recipient still pending or failed with
 * its last reply in parentheses above it) and a summary line. The changes
 * only write rows and raise the queue serial (store_queue_serial), so they
 * work while the server runs: it notices within a second. Times are local
 * time (TZ).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/config.h"
#include "../store/blob.h"
#include "../store/store.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_QUEUE_SYNOPSIS                                                   \
	"queue list [--domain DOMAIN] [--held] | queue show ID | "          \
	"queue flush [ID | --domain DOMAIN] | "                              \
	"queue hold|release|delete|bounce ID"
/* Longest queue ID looked up; acceptance ids are STORE_QUEUE_ID_LEN. */
#define CLI_QUEUE_ID_MAX 64
/* Where `queue list` puts the sender and the recipients (postqueue's
 * layout): after "ID! SIZE ARRIVAL  ". */
#define CLI_QUEUE_ADDR_COL 48

/* One parsed invocation. */
struct cli_queue_req {
	const struct config *cfg;
	char id[CLI_QUEUE_ID_MAX + 1];   /* "" when not given */
	char domain[CLI_DOMAIN_BUF];     /* "" when not given */
	bool held;
};

enum cli_queue_id_use { CLI_QID_NONE, CLI_QID_REQUIRED, CLI_QID_OPTIONAL };

struct cli_queue_cmd {
	const char *name;
	enum cli_queue_id_use id;
	bool domain_opt;  /* --domain DOMAIN */
	bool held_opt;    /* --held */
	const char *synopsis;
	int (*run)(struct store *st, const struct cli_queue_req *req);
};

/* ---- output ------------------------------------------------------------ */

/* Prints s with control bytes as '?': replies come from remote servers
 * and must not drive the administrator's terminal. */
static void
cli_queue_put(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		putchar(c < 0x20 || c == 0x7f ? '?' : c);
	}
}

static const char *
cli_queue_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%" PRId64, t);
	return buf;
}

/* "2026-12-07 06:45:00 (in 4m 10s)" or "(... ago)". */
static const char *
cli_queue_when(int64_t t, int64_t now, char *buf, size_t len)
{
	int64_t d = t > now ? t - now : now - t;
	char at[32], span[32];

	if (d >= 86400)
		snprintf(span, sizeof(span), "%" PRId64 "d %" PRId64 "h",
			 d / 86400, d % 86400 / 3600);
	else if (d >= 3600)
		snprintf(span, sizeof(span), "%" PRId64 "h %" PRId64 "m",
			 d / 3600, d % 3600 / 60);
	else if (d >= 60)
		snprintf(span, sizeof(span), "%" PRId64 "m %" PRId64 "s",
			 d / 60, d % 60);
	else
		snprintf(span, sizeof(span), "%" PRId64 "s", d);
	cli_queue_time(t, at, sizeof(at));
	if (d == 0)
		snprintf(buf, len, "%s (now)", at);
	else
		snprintf(buf, len, "%s (%s%s%s)", at, t > now ? "in " : "",
			 span, t > now ? "" : " ago");
	return buf;
}

static const char *
cli_queue_state_name(enum store_queue_state s)
{
	switch (s) {
	case STORE_QUEUE_PENDING: return "pending";
	case STORE_QUEUE_SENT: return "sent";
	case STORE_QUEUE_FAILED: return "failed";
	}
	return "unknown";
}

static const char *
cli_queue_notice_name(enum store_queue_notice n)
{
	switch (n) {
	case STORE_NOTICE_NONE: return "none";
	case STORE_NOTICE_FAILED: return "failed";
	case STORE_NOTICE_DELAYED: return "delayed";
	case STORE_NOTICE_DELIVERED: return "delivered";
	case STORE_NOTICE_RELAYED: return "relayed";
	}
	return "unknown";
}

/* ---- queue list -------------------------------------------------------- */

/* One message's block; returns how many recipients it listed. */
static size_t
cli_queue_list_one(const struct store_queue_entry *e)
{
	char id[STORE_QUEUE_ID_LEN + 2], at[32];
	size_t listed = 0;

	snprintf(id, sizeof(id), "%s%s", e->msg.qid, e->msg.held ? "!" : "");
	printf("%-17s %8" PRId64 " %-19s  ", id, e->msg.size,
	       cli_queue_time(e->msg.created, at, sizeof(at)));
	cli_queue_put(e->msg.from[0] != '\0' ? e->msg.from : "<>");
	putchar('\n');
	for (size_t i = 0; i < e->n_rcpts; i++) {
		const struct store_queue_rcpt *r = &e->rcpts[i];

		if (r->state == STORE_QUEUE_SENT)
			continue;
		listed++;
		if (r->reply[0] != '\0' || r->state == STORE_QUEUE_FAILED) {
			printf("%18s(%s%s%s", "",
			       r->state == STORE_QUEUE_FAILED ? "failed: " : "",
			       r->status, r->status[0] != '\0' ? " " : "");
			cli_queue_put(r->reply);
			printf(")\n");
		}
		printf("%*s", CLI_QUEUE_ADDR_COL, "");
		cli_queue_put(r->addr);
		putchar('\n');
	}
	return listed;
}

static int
cli_queue_list_run(struct store *st, const struct cli_queue_req *req)
{
	struct store_queue_entry *e = NULL;
	const char *err = NULL;
	size_t n = 0, rcpts = 0;

	if (store_queue_list(st, req->domain[0] != '\0' ? req->domain : NULL,
			     req->held, &e, &n, &err) < 0) {
		cli_store_err("cannot list the queue", err);
		return CLI_EXIT_ERR;
	}
	if (n > 0)
		printf("%-17s %8s %-19s  %s\n", "-Queue ID-", "--Size--",
		       "---Arrival Time----", "-Sender/Recipient-------");
	for (size_t i = 0; i < n; i++) {
		rcpts += cli_queue_list_one(&e[i]);
		putchar('\n');
	}
	store_queue_entries_free(e, n);
	printf("%zu message%s, %zu recipient%s\n", n, n == 1 ? "" : "s", rcpts,
	       rcpts == 1 ? "" : "s");
	if (fflush(stdout) != 0) {
		cli_err("cannot write the list");
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}

/* ---- queue show -------------------------------------------------------- */

/* Looks the message up; prints "no such queue id: ID" when absent. */
static int
cli_queue_get(struct store *st, const char *id, struct store_queue_entry *e)
{
	char shown[96];
	int r = store_queue_get(st, id, e);

	if (r == 0)
		cli_err("no such queue id: %s", cli_quote(id, shown,
							  sizeof(shown)));
	else if (r < 0)
		cli_store_err(id, st->err);
	return r == 1 ? CLI_EXIT_OK : CLI_EXIT_ERR;
}

static void
cli_queue_show_msg(const struct store_queue_msg *m, int64_t now)
{
	static const char *const ret[] = { "not given", "FULL", "HDRS" };
	char at[96];

	printf("queue id: %s%s\n", m->qid, m->held ? " (held)" : "");
	printf("arrival: %s\n", cli_queue_when(m->created, now, at,
						sizeof(at)));
	printf("size: %" PRId64 "\nfrom: <", m->size);
	cli_queue_put(m->from);
	printf(">\nenvid: ");
	cli_queue_put(m->envid[0] != '\0' ? m->envid : "not given");
	printf("\nret: %s\nflags:%s%s%s%s%s%s%s\n",
	       (unsigned)m->ret < 3 ? ret[m->ret] : "?",
	       m->flags & STORE_QMSG_8BIT ? " 8BITMIME" : "",
	       m->flags & STORE_QMSG_SMTPUTF8 ? " SMTPUTF8" : "",
	       m->flags & STORE_QMSG_NOTICE ? " DSN" : "",
	       m->flags & STORE_QMSG_POSTMASTER ? " POSTMASTER" : "",
	       m->flags & STORE_QMSG_REQUIRETLS ? " REQUIRETLS" : "",
	       m->flags & STORE_QMSG_TLS_OPTIONAL ? " TLS-REQUIRED-NO" : "",
	       m->flags == 0 ? " none" : "");
	printf("file: %s\n", m->blob);
}

static void
cli_queue_show_notify(unsigned notify)
{
	printf("  notify:");
	if (notify == 0)
		printf(" not given");
	if (notify & STORE_NOTIFY_NEVER)
		printf(" NEVER");
	if (notify & STORE_NOTIFY_SUCCESS)
		printf(" SUCCESS");
	if (notify & STORE_NOTIFY_FAILURE)
		printf(" FAILURE");
	if (notify & STORE_NOTIFY_DELAY)
		printf(" DELAY");
	putchar('\n');
}

static void
cli_queue_show_rcpt(const struct store_queue_rcpt *r, int64_t now)
{
	char when[96];

	printf("\nrecipient: <");
	cli_queue_put(r->addr);
	printf(">\n  state: %s\n", cli_queue_state_name(r->state));
	if (r->orcpt[0] != '\0') {
		printf("  orcpt: ");
		cli_queue_put(r->orcpt);
		putchar('\n');
	}
	cli_queue_show_notify(r->notify);
	if (r->notice != STORE_NOTICE_NONE)
		printf("  notice owed: %s\n", cli_queue_notice_name(r->notice));
	printf("  attempts: %u\n", r->attempts);
	if (r->last_attempt > 0)
		cli_queue_when(r->last_attempt, now, when, sizeof(when));
	printf("  last attempt: %s\n", r->last_attempt > 0 ? when : "never");
	if (r->state == STORE_QUEUE_PENDING)
		printf("  next attempt: %s\n",
		       cli_queue_when(r->next_attempt, now, when,
				      sizeof(when)));
	if (r->status[0] != '\0' || r->reply[0] != '\0') {
		printf("  last status: %s\n  last reply: ",
		       r->status[0] != '\0' ? r->status : "-");
		cli_queue_put(r->reply);
		putchar('\n');
	}
	if (r->remote_mta[0] != '\0') {
		printf("  remote mta: ");
		cli_queue_put(r->remote_mta);
		putchar('\n');
	}
	if (r->lease_owner[0] != '\0' && r->lease_until >= now)
		printf("  being tried by %s until %s\n", r->lease_owner,
		       cli_queue_when(r->lease_until, now, when, sizeof(when)));
}

static int
cli_queue_show_run(struct store *st, const struct cli_queue_req *req)
{
	struct store_queue_entry e;
	int64_t now = (int64_t)time(NULL);

	if (cli_queue_get(st, req->id, &e) != CLI_EXIT_OK)
		return CLI_EXIT_ERR;
	cli_queue_show_msg(&e.msg, now);
	for (size_t i = 0; i < e.n_rcpts; i++)
		cli_queue_show_rcpt(&e.rcpts[i], now);
	store_queue_entry_fini(&e);
	if (fflush(stdout) != 0) {
		cli_err("cannot write the message");
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}

/* ---- changes ----------------------------------------------------------- */

/* The error line of a change: "no such queue id: ID" or the store's. */
static int
cli_queue_fail(const char *id, const char *err)
{
	char shown[96];

	if (err != NULL && strcmp(err, "no such queue id") == 0)
		cli_err("no such queue id: %s",
			cli_quote(id, shown, sizeof(shown)));
	else
		cli_store_err(id[0] != '\0' ? id : "queue", err);
	return CLI_EXIT_ERR;
}

static int
cli_queue_flush_run(struct store *st, const struct cli_queue_req *req)
{
	const char *err = NULL;
	size_t n = 0;

	if (store_queue_flush(st, req->id[0] != '\0' ? req->id : NULL,
			      req->domain[0] != '\0' ? req->domain : NULL, &n,
			      &err) < 0)
		return cli_queue_fail(req->id, err);
	printf("%zu recipient%s due now\n", n, n == 1 ? "" : "s");
	return CLI_EXIT_OK;
}

static int
cli_queue_hold_run(struct store *st, const struct cli_queue_req *req)
{
	const char *err = NULL;

	/* req->held: hold (true) or release, from the command's name. */
	if (store_queue_hold(st, req->id, req->held, &err) < 0)
		return cli_queue_fail(req->id, err);
	printf("%s: %s\n", req->id, req->held ? "held" : "released");
	return CLI_EXIT_OK;
}

static int
cli_queue_delete_run(struct store *st, const struct cli_queue_req *req)
{
	const char *err = NULL;
	char **orphans = NULL;

	if (store_queue_delete(st, req->id, &orphans, &err) < 0)
		return cli_queue_fail(req->id, err);
	/* The rows are gone (committed): the file, unless a mailbox still
	 * holds a copy, can go too. */
	blob_unlink_all(req->cfg->data_dir, orphans);
	store_strv_free(orphans);
	printf("%s: deleted\n", req->id);
	return CLI_EXIT_OK;
}

static int
cli_queue_bounce_run(struct store *st, const struct cli_queue_req *req)
{
	const char *err = NULL;

	if (store_queue_bounce(st, req->id, &err) < 0)
		return cli_queue_fail(req->id, err);
	printf("%s: pending recipients failed; the sender is notified as "
	       "their NOTIFY asks\n", req->id);
	return CLI_EXIT_OK;
}

static const struct cli_queue_cmd cli_queue_cmds[] = {
	{ "list", CLI_QID_NONE, true, true,
	  "queue list [--domain DOMAIN] [--held]", cli_queue_list_run },
	{ "show", CLI_QID_REQUIRED, false, false, "queue show ID",
	  cli_queue_show_run },
	{ "flush", CLI_QID_OPTIONAL, true, false,
	  "queue flush [ID | --domain DOMAIN]", cli_queue_flush_run },
	{ "hold", CLI_QID_REQUIRED, false, false, "queue hold ID",
	  cli_queue_hold_run },
	{ "release", CLI_QID_REQUIRED, false, false, "queue release ID",
	  cli_queue_hold_run },
	{ "delete", CLI_QID_REQUIRED, false, false, "queue delete ID",
	  cli_queue_delete_run },
	{ "bounce", CLI_QID_REQUIRED, false, false, "queue bounce ID",
	  cli_queue_bounce_run },
};

/* ---- arguments --------------------------------------------------------- */

/* A queue ID as typed: acceptance ids are lower-case hex, so the case
 * does not matter. -1 when too long (it can match nothing). */
static int
cli_queue_id(const char *in, char out[CLI_QUEUE_ID_MAX + 1])
{
	size_t len = strlen(in);

	if (len == 0 || len > CLI_QUEUE_ID_MAX)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		char c = in[i];

		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	return 0;
}

static int
cli_queue_domain(const char *in, struct cli_queue_req *req)
{
	const char *why = NULL;
	char shown[96];

	if (cli_domain_check(in, req->domain, sizeof(req->domain), &why) == 0)
		return 0;
	cli_err("invalid domain '%s': %s", cli_quote(in, shown, sizeof(shown)),
		why);
	return -1;
}

/* Options and the ID after the action word. CLI_EXIT_OK, CLI_EXIT_USAGE
 * (the usage line printed) or CLI_EXIT_ERR. */
static int
cli_queue_args(const struct cli_queue_cmd *cmd, int argc, char **argv,
	       struct cli_queue_req *req)
{
	bool only_pos = false, has_id = false;
	char shown[96];

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
		} else if (!only_pos && cmd->domain_opt &&
			   strcmp(a, "--domain") == 0 && i + 1 < argc) {
			if (cli_queue_domain(argv[++i], req) < 0)
				return CLI_EXIT_ERR;
		} else if (!only_pos && cmd->held_opt &&
			   strcmp(a, "--held") == 0) {
			req->held = true;
		} else if ((!only_pos && a[0] == '-') || has_id ||
			   cmd->id == CLI_QID_NONE) {
			return cli_usage(cmd->synopsis);
		} else if (cli_queue_id(a, req->id) < 0) {
			cli_err("no such queue id: %s",
				cli_quote(a, shown, sizeof(shown)));
			return CLI_EXIT_ERR;
		} else {
			has_id = true;
		}
	}
	if ((cmd->id == CLI_QID_REQUIRED && !has_id) ||
	    (has_id && req->domain[0] != '\0'))
		return cli_usage(cmd->synopsis);
	return CLI_EXIT_OK;
}

int
cli_queue(const struct config *cfg, int argc, char **argv)
{
	const struct cli_queue_cmd *cmd = NULL;
	struct cli_queue_req req = { .cfg = cfg };
	struct store *st;
	int rc;

	if (argc >= 1 && cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_QUEUE_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	for (size_t i = 0; argc >= 1 && i < sizeof(cli_queue_cmds) /
					    sizeof(cli_queue_cmds[0]); i++) {
		if (strcmp(argv[0], cli_queue_cmds[i].name) == 0)
			cmd = &cli_queue_cmds[i];
	}
	if (cmd == NULL)
		return cli_usage(CLI_QUEUE_SYNOPSIS);
	rc = cli_queue_args(cmd, argc - 1, argv + 1, &req);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (cmd->run == cli_queue_hold_run)
		req.held = strcmp(cmd->name, "hold") == 0;
	st = cli_store_open(cfg);
	if (st == NULL)
		return CLI_EXIT_ERR;
	rc = cmd->run(st, &req);
	store_close(&st);
	return rc;
}
