/*
 * postel dkim generate|rotate DOMAIN ; dkim list [DOMAIN] ;
 * dkim remove DOMAIN SELECTOR ; dkim verify < MESSAGE
 *
 * Keys live in DATA_DIR/dkim (mailauth/dkim_keys.c); a running server
 * picks new ones up on SIGHUP. verify looks the keys up through the
 * configured resolver (the server's in-loop resolver, dns.h) and prints
 * one line per signature; exit 0 when at least one passed.
 */
#include <errno.h>
#include <event2/event.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/config.h"
#include "../dns/dns.h"
#include "../mailauth/dkim.h"
#include "../mailauth/dkim_keys.h"
#include "../server/privdrop.h"
#include "../store/store.h"
#include "cli.h"
#include "cli_util.h"

#define CLI_DKIM_SYNOPSIS                                                  \
	"dkim generate DOMAIN | dkim rotate DOMAIN | dkim list [DOMAIN]"  \
	" | dkim remove DOMAIN SELECTOR | dkim verify < MESSAGE"
/* Largest message dkim verify reads. */
#define CLI_DKIM_MSG_MAX (64u * 1024 * 1024)
/* Every lookup has its own deadline (dns.h); this bounds the whole. */
#define CLI_DKIM_VERIFY_S 60

static int
cli_dkim_domain(const char *in, char *out)
{
	const char *why = NULL;
	char shown[96];

	if (cli_domain_check(in, out, CLI_DOMAIN_BUF, &why) < 0) {
		cli_err("invalid domain '%s': %s",
			cli_quote(in, shown, sizeof(shown)), why);
		return -1;
	}
	return 0;
}

/* Keys only for a hosted domain, or the host name (the From: domain of
 * our DSNs). The store is opened in a child, which drops privileges
 * (cli_store_open) while this process keeps root to write the keys.
 * 0 yes, -1 no or error (printed). */
static int
cli_dkim_hosted(const struct config *cfg, const char *domain)
{
	int status = 0;
	pid_t pid;

	if (strcasecmp(domain, cfg->hostname) == 0)
		return 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_err("cannot fork");
		return -1;
	}
	if (pid == 0) {
		struct store *st = cli_store_open(cfg);
		int r = st != NULL ? store_domain_exists(st, domain) : -1;

		if (r == 0)
			cli_err("%s is not a hosted domain (postel domain add) "
				"nor the host name", domain);
		else if (r < 0 && st != NULL)
			cli_store_err(domain, st->err);
		if (st != NULL)
			cli_store_close(cfg, &st);
		_exit(r > 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			cli_err("cannot wait for the store check");
			return -1;
		}
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
cli_dkim_generate(const struct config *cfg, const char *dom, bool rotate)
{
	char domain[CLI_DOMAIN_BUF], ed[DKIM_SELECTOR_MAX + 1];
	char rsa[DKIM_SELECTOR_MAX + 1];
	const char *why = NULL;
	gid_t gid = (gid_t)-1;
	uid_t uid;

	if (cli_dkim_domain(dom, domain) < 0 ||
	    cli_dkim_hosted(cfg, domain) < 0)
		return CLI_EXIT_ERR;
	if (geteuid() == 0 &&
	    privdrop_user_ids(cfg->run_user, &uid, &gid) < 0) {
		cli_err("unknown service user '%s'", cfg->run_user);
		return CLI_EXIT_ERR;
	}
	if (dkim_keys_generate(cfg->data_dir, domain, rotate, gid, time(NULL),
			       ed, rsa, &why) < 0) {
		cli_err("%s: %s", domain, why);
		return CLI_EXIT_ERR;
	}
	printf("%s: new selectors %s (ed25519) and %s (rsa 2048) sign from "
	       "now on (after SIGHUP or restart of a running server)\n"
	       "publish them first: postel dns %s\n", domain, ed, rsa, domain);
	return CLI_EXIT_OK;
}

static int
cli_dkim_list(const struct config *cfg, const char *dom)
{
	char domain[CLI_DOMAIN_BUF];
	struct dkim_keyinfo *v = NULL;
	size_t n = 0;

	if (dom != NULL && cli_dkim_domain(dom, domain) < 0)
		return CLI_EXIT_ERR;
	if (dkim_keys_list(cfg->data_dir, dom != NULL ? domain : NULL, &v,
			   &n) < 0) {
		cli_err("cannot read %s/dkim", cfg->data_dir);
		return CLI_EXIT_ERR;
	}
	for (size_t i = 0; i < n; i++) {
		char date[32];
		struct tm tm;

		gmtime_r(&v[i].created, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%s %s %s %u %s %s\n", v[i].domain, v[i].selector,
		       v[i].ed25519 ? "ed25519" : "rsa", v[i].bits,
		       v[i].active ? "active" : "old", date);
	}
	free(v);
	return CLI_EXIT_OK;
}

static int
cli_dkim_remove(const struct config *cfg, const char *dom, const char *sel)
{
	char domain[CLI_DOMAIN_BUF];
	const char *why = NULL;

	if (cli_dkim_domain(dom, domain) < 0)
		return CLI_EXIT_ERR;
	if (dkim_keys_remove(cfg->data_dir, domain, sel, &why) < 0) {
		cli_err("%s %s: %s", domain, sel, why);
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}

/* ---- verify ----------------------------------------------------------- */

struct cli_dkim_run {
	struct event_base *base;
	bool done;
};

static void
cli_dkim_done_cb(void *arg, struct dkim_verify *v)
{
	struct cli_dkim_run *r = arg;

	r->done = true;
	event_base_loopbreak(r->base);
}

static int
cli_dkim_read(char **msg_r, size_t *len_r)
{
	size_t cap = 65536, len = 0, n;
	char *msg = malloc(cap);

	while (msg != NULL && (n = fread(msg + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap && cap < CLI_DKIM_MSG_MAX) {
			char *m = realloc(msg, cap * 2);
			if (m == NULL)
				break;
			msg = m;
			cap *= 2;
		} else if (len == cap) {
			cli_err("message larger than %u octets",
				CLI_DKIM_MSG_MAX);
			free(msg);
			return -1;
		}
	}
	if (msg == NULL || ferror(stdin)) {
		cli_err("cannot read the message");
		free(msg);
		return -1;
	}
	*msg_r = msg;
	*len_r = len;
	return 0;
}

static int
cli_dkim_print(struct dkim_verify *v)
{
	bool pass = false;

	if (dkim_verify_count(v) == 0)
		printf("dkim=none (no DKIM-Signature)\n");
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const struct dkim_result *r = dkim_verify_result(v, i);

		printf("dkim=%s header.d=%s header.s=%s header.a=%s "
		       "header.b=%s (%s%s)\n", dkim_status_name(r->status),
		       r->domain[0] ? r->domain : "-",
		       r->selector[0] ? r->selector : "-",
		       r->alg[0] ? r->alg : "-", r->b[0] ? r->b : "-",
		       r->why, r->testing ? "; key in testing mode" : "");
		pass |= r->status == DKIM_PASS;
	}
	return pass ? CLI_EXIT_OK : CLI_EXIT_ERR;
}

static int
cli_dkim_verify(const struct config *cfg)
{
	struct cli_dkim_run r = { 0 };
	struct timeval tv = { CLI_DKIM_VERIFY_S, 0 };
	struct dkim_lookup *lk = NULL;
	struct dkim_verify *v;
	struct dns *d = NULL;
	char *msg = NULL, err[512];
	size_t len;
	int rc = CLI_EXIT_ERR, st;

	if (cli_dkim_read(&msg, &len) < 0)
		return CLI_EXIT_ERR;
	r.base = event_base_new();
	v = dkim_verify_new(msg, len, time(NULL));
	if (r.base == NULL || v == NULL) {
		cli_err("out of memory");
		goto out;
	}
	d = dns_new(r.base, cfg, err, sizeof(err));
	if (d == NULL) {
		cli_err("%s", err);
		goto out;
	}
	st = dkim_lookup_start(d, v, cli_dkim_done_cb, &r, &lk);
	if (st < 0) {
		cli_err("out of memory");
		goto out;
	}
	if (st == 0) {
		event_base_loopexit(r.base, &tv);
		event_base_dispatch(r.base);
		if (!r.done) {
			dkim_lookup_cancel(&lk);
			cli_err("key lookups did not finish in %d s",
				CLI_DKIM_VERIFY_S);
			goto out;
		}
	}
	rc = cli_dkim_print(v);
out:
	dkim_verify_free(&v);
	dns_free(&d);
	if (r.base != NULL)
		event_base_free(r.base);
	free(msg);
	return rc;
}

int
cli_dkim(const struct config *cfg, int argc, char **argv)
{
	const char *a = argc >= 1 ? argv[0] : "";

	if (argc >= 1 && cli_wants_help(argc, argv)) {
		printf("usage: postel %s\n", CLI_DKIM_SYNOPSIS);
		return CLI_EXIT_OK;
	}
	if (strcmp(a, "generate") == 0 && argc == 2)
		return cli_dkim_generate(cfg, argv[1], false);
	if (strcmp(a, "rotate") == 0 && argc == 2)
		return cli_dkim_generate(cfg, argv[1], true);
	if (strcmp(a, "list") == 0 && argc <= 2)
		return cli_dkim_list(cfg, argc == 2 ? argv[1] : NULL);
	if (strcmp(a, "remove") == 0 && argc == 3)
		return cli_dkim_remove(cfg, argv[1], argv[2]);
	if (strcmp(a, "verify") == 0 && argc == 1)
		return cli_dkim_verify(cfg);
	return cli_usage(CLI_DKIM_SYNOPSIS);
}
