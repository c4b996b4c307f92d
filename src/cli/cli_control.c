/*
 * postel status | who | kick ADDRESS, and the session part of user show
 * and user del: questions to the running server over DATA_DIR/control
 * (server/control_proto.h). When no server runs they say so in one line.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../core/config.h"
#include "../server/control.h"
#include "../server/control_proto.h"
#include "../store/store.h"
#include "cli.h"
#include "cli_util.h"

/* The whole answer must come within this many milliseconds. */
#define CLI_CONTROL_TIMEOUT_MS 10000

/* Connects to DATA_DIR/control: the fd, or -1 with why (not running:
 * *down_r true). */
static int
cli_control_connect(const struct config *cfg, bool *down_r, char *why,
		    size_t whylen)
{
	struct sockaddr_un sun;
	int dirfd, fd, r;

	*down_r = false;
	if (control_sockaddr(cfg->data_dir, &sun, &dirfd, why, whylen) < 0) {
		*down_r = true;
		snprintf(why, whylen, "the server is not running (no %s/%s)",
			 cfg->data_dir, CONTROL_SOCKET_NAME);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		if (dirfd >= 0)
			close(dirfd);
		return -1;
	}
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (dirfd >= 0)
		close(dirfd);
	if (r == 0)
		return fd;
	if (errno == ENOENT || errno == ENOTDIR) {
		*down_r = true;
		snprintf(why, whylen, "the server is not running (no %s/%s)",
			 cfg->data_dir, CONTROL_SOCKET_NAME);
	} else if (errno == ECONNREFUSED) {
		*down_r = true;
		snprintf(why, whylen, "the server is not running (%s/%s "
			 "refuses connections)", cfg->data_dir,
			 CONTROL_SOCKET_NAME);
	} else {
		snprintf(why, whylen, "%s/%s: %s", cfg->data_dir,
			 CONTROL_SOCKET_NAME, strerror(errno));
	}
	close(fd);
	return -1;
}

/* Reads the answer into buf (NUL-terminated). 0 or -1 with why. */
static int
cli_control_read(int fd, char *buf, size_t cap, char *why, size_t whylen)
{
	size_t len = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		ssize_t n;
		int r = poll(&pfd, 1, CLI_CONTROL_TIMEOUT_MS);

		if (r <= 0) {
			snprintf(why, whylen, "no answer from the server");
			return -1;
		}
		if (len + 1 >= cap) {
			snprintf(why, whylen, "answer too long");
			return -1;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "read: %s", strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return 0;
}

int
cli_control_ask(const struct config *cfg, const char *request,
		cli_control_cb cb, void *ctx, char *why, size_t whylen)
{
	/* Room for every live session's WHO line (under 500 octets each). */
	size_t cap = 16u << 20;
	char *buf, *p, line[CONTROL_LINE_MAX + 2];
	bool down;
	int fd = cli_control_connect(cfg, &down, why, whylen);
	int rc = -1;

	if (fd < 0)
		return down ? 1 : -1;
	/* MSG_NOSIGNAL: a server that closed at once (too many clients)
	 * is an error line, not a SIGPIPE. */
	snprintf(line, sizeof(line), "%s\n", request);
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0 ||
	    (buf = malloc(cap)) == NULL) {
		snprintf(why, whylen, "cannot ask the server");
		close(fd);
		return -1;
	}
	if (cli_control_read(fd, buf, cap, why, whylen) < 0)
		goto out;
	for (p = buf; *p != '\0';) {
		char *nl = strchr(p, '\n');
		struct control_reply rep;
		const char *err = NULL;

		if (nl == NULL)
			break;
		if (control_parse_reply(p, (size_t)(nl - p), &rep, &err) < 0) {
			snprintf(why, whylen, "bad answer from the server: %s",
				 err);
			goto out;
		}
		p = nl + 1;
		if (rep.kind == CONTROL_LINE_OK) {
			rc = 0;
			goto out;
		}
		if (rep.kind == CONTROL_LINE_ERR) {
			snprintf(why, whylen, "the server says: %s", rep.text);
			goto out;
		}
		if (cb != NULL)
			cb(ctx, &rep);
	}
	snprintf(why, whylen, "incomplete answer from the server");
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- status -------------------------------------------------------------- */

struct cli_status {
	char version[64];
	time_t started;
	char users[24];
	char draining[8];
	FILE *lines; /* listeners and sessions, in the server's order */
};

static void
cli_status_line(void *ctx, const struct control_reply *r)
{
	struct cli_status *st = ctx;
	const char *k = r->fields[0];

	if (strcmp(k, "version") == 0 && r->n_fields == 2)
		snprintf(st->version, sizeof(st->version), "%s", r->fields[1]);
	else if (strcmp(k, "started") == 0 && r->n_fields == 2)
		st->started = (time_t)strtoll(r->fields[1], NULL, 10);
	else if (strcmp(k, "users") == 0 && r->n_fields == 2)
		snprintf(st->users, sizeof(st->users), "%s", r->fields[1]);
	else if (strcmp(k, "draining") == 0 && r->n_fields == 2)
		snprintf(st->draining, sizeof(st->draining), "%s",
			 r->fields[1]);
	else if ((strcmp(k, "listener") == 0 || strcmp(k, "sessions") == 0) &&
		 r->n_fields == 3)
		fprintf(st->lines, "%s: %s %s\n", k, r->fields[1],
			r->fields[2]);
}

static uint64_t cli_du_total;

static int
cli_du_cb(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	if (flag == FTW_F || flag == FTW_D)
		cli_du_total += (uint64_t)sb->st_blocks * 512;
	return 0;
}

/* The queue by recipient state, from the store (no server needed). */
static int
cli_status_queue(struct store *st)
{
	struct store_queue_entry *e = NULL;
	size_t n = 0, pending = 0, held = 0, sent = 0, failed = 0;
	const char *err = NULL;

	if (store_queue_list(st, NULL, false, &e, &n, &err) < 0) {
		cli_store_err("cannot read the queue", err);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < e[i].n_rcpts; j++) {
			enum store_queue_state s = e[i].rcpts[j].state;
			if (s == STORE_QUEUE_PENDING && e[i].msg.held)
				held++;
			else if (s == STORE_QUEUE_PENDING)
				pending++;
			else if (s == STORE_QUEUE_SENT)
				sent++;
			else
				failed++;
		}
	store_queue_entries_free(e, n);
	printf("queue: %zu message%s; recipients: %zu pending, %zu held, "
	       "%zu sent, %zu failed\n", n, n == 1 ? "" : "s", pending, held,
	       sent, failed);
	return 0;
}

int
cli_status(const struct config *cfg, int argc, char **argv)
{
	struct cli_status s = { .users = "0", .draining = "no" };
	char why[512], *lines = NULL;
	size_t lines_len = 0;
	struct store *st;
	long long up;
	int r;

	if (cli_wants_help(argc, argv)) {
		printf("usage: postel status\n");
		return CLI_EXIT_OK;
	}
	if (argc != 1)
		return cli_usage("status");
	s.lines = open_memstream(&lines, &lines_len);
	if (s.lines == NULL) {
		cli_err("out of memory");
		return CLI_EXIT_ERR;
	}
	r = cli_control_ask(cfg, "STATUS", cli_status_line, &s, why,
			    sizeof(why));
	fclose(s.lines);
	if (r != 0) {
		free(lines);
		cli_err("%s", why);
		return CLI_EXIT_ERR;
	}
	up = (long long)(time(NULL) - s.started);
	printf("version: %s\n", s.version);
	printf("uptime: %lldd %02lld:%02lld:%02lld\n", up / 86400,
	       up / 3600 % 24, up / 60 % 60, up % 60);
	if (strcmp(s.draining, "yes") == 0)
		printf("state: shutting down\n");
	fputs(lines, stdout);
	free(lines);
	printf("logged-in users: %s\n", s.users);
	st = cli_store_open(cfg);
	if (st == NULL)
		return CLI_EXIT_ERR;
	r = cli_status_queue(st);
	cli_store_close(cfg, &st);
	if (r < 0)
		return CLI_EXIT_ERR;
	cli_du_total = 0;
	if (nftw(cfg->data_dir, cli_du_cb, 32, FTW_PHYS) != 0) {
		cli_err("cannot measure %s: %s", cfg->data_dir,
			strerror(errno));
		return CLI_EXIT_ERR;
	}
	printf("store size: %" PRIu64 " bytes (%.1f MiB on disk)\n",
	       cli_du_total, (double)cli_du_total / (1024.0 * 1024.0));
	return CLI_EXIT_OK;
}

/* ---- who ----------------------------------------------------------------- */

struct cli_who {
	FILE *out;
	bool as_fields;
	unsigned n;
};

static void
cli_who_line(void *ctx, const struct control_reply *r)
{
	struct cli_who *w = ctx;
	char when[32] = "?";
	time_t t;
	struct tm tm;

	if (r->n_fields < 5)
		return;
	t = (time_t)strtoll(r->fields[3], NULL, 10);
	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (w->as_fields)
		fprintf(w->out, "session: %s %s since %s UTC\n", r->fields[1],
			r->fields[2], when);
	else
		fprintf(w->out, "%-32s %-11s %-39s %s\n", r->fields[0],
			r->fields[1], r->fields[2], when);
	w->n++;
}

int
cli_control_who(const struct config *cfg, const char *user, bool as_fields,
		unsigned *n_r, char *why, size_t whylen)
{
	char req[CONTROL_ARG_MAX + 8], *text = NULL;
	size_t len = 0;
	struct cli_who w = { .out = open_memstream(&text, &len),
			     .as_fields = as_fields };
	int r;

	*n_r = 0;
	if (w.out == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	snprintf(req, sizeof(req), "WHO%s%s", user != NULL ? " " : "",
		 user != NULL ? user : "");
	r = cli_control_ask(cfg, req, cli_who_line, &w, why, whylen);
	fclose(w.out);
	if (r == 0 && w.n > 0 && !as_fields) {
		printf("%-32s %-11s %-39s %s\n", "USER", "PROTOCOL", "CLIENT",
		       "SINCE (UTC)");
		fputs(text, stdout);
	} else if (r == 0) {
		fputs(text, stdout);
	}
	free(text);
	*n_r = w.n;
	return r;
}

int
cli_who(const struct config *cfg, int argc, char **argv)
{
	char why[512];
	unsigned n;

	if (cli_wants_help(argc, argv)) {
		printf("usage: postel who\n");
		return CLI_EXIT_OK;
	}
	if (argc != 1)
		return cli_usage("who");
	if (cli_control_who(cfg, NULL, false, &n, why, sizeof(why)) != 0) {
		cli_err("%s", why);
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}

/* ---- kick ---------------------------------------------------------------- */

static void
cli_kick_line(void *ctx, const struct control_reply *r)
{
	if (r->n_fields == 2 && strcmp(r->fields[0], "kicked") == 0)
		*(unsigned *)ctx = (unsigned)strtoul(r->fields[1], NULL, 10);
}

int
cli_control_kick(const struct config *cfg, const char *user, unsigned *n_r,
		 char *why, size_t whylen)
{
	char req[CONTROL_ARG_MAX + 8];

	*n_r = 0;
	snprintf(req, sizeof(req), "KICK %s", user);
	return cli_control_ask(cfg, req, cli_kick_line, n_r, why, whylen);
}

int
cli_kick(const struct config *cfg, int argc, char **argv)
{
	char addr[CLI_ADDRESS_BUF], shown[96], why[512];
	const char *bad = NULL;
	unsigned n;

	if (cli_wants_help(argc, argv)) {
		printf("usage: postel kick ADDRESS\n");
		return CLI_EXIT_OK;
	}
	if (argc != 2)
		return cli_usage("kick ADDRESS");
	if (cli_address_check(argv[1], 0, addr, sizeof(addr), &bad) < 0) {
		cli_err("invalid address '%s': %s",
			cli_quote(argv[1], shown, sizeof(shown)), bad);
		return CLI_EXIT_ERR;
	}
	if (cli_control_kick(cfg, addr, &n, why, sizeof(why)) != 0) {
		cli_err("%s", why);
		return CLI_EXIT_ERR;
	}
	printf("%s: %u session%s ended\n", addr, n, n == 1 ? "" : "s");
	return CLI_EXIT_OK;
}
