/*
 * smtpc_probe: drives the SMTP client (src/queue/smtpc.h) against a test
 * server, for tests/e2e/test_smtp_client.py. One connection, --repeat
 * transactions of the same message on it, one JSON line per recipient
 * result and per transaction on stdout (the log goes to stderr).
 *
 *   smtpc_probe --addr 127.0.0.1 --port 2525 [--host mx.peer.test]
 *     [--tls none|may|encrypt|verify] [--auth USER:PASS]
 *     [--hostname NAME] [--timeout S] [--connect-timeout S]
 *     --from ADDR [--envid ID] [--ret full|hdrs] [--8bit] [--smtputf8]
 *     --rcpt ADDR[:NOTIFY[:ORCPT]] ... (NOTIFY: success+failure+delay
 *     or never, "" for none) --msg FILE [--repeat N] [--log-level L]
 *     [--free-after MS]: smtpc_free whatever the state after MS ms
 *     (the caller going away mid-transaction: no callback may follow)
 *
 * Exit status 0 when the run ended (whatever the replies), 2 on bad use.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/runtime.h"
#include "queue/smtpc.h"
#include "server/config_file.h"
#include "store/store.h"
#include "store/store_queue.h"

#define PROBE_MAX_RCPTS 64

struct probe {
	struct server srv;
	struct smtpc_target t;
	struct smtpc_msg m;
	struct smtpc_rcpt rcpts[PROBE_MAX_RCPTS];
	struct smtpc *c;
	unsigned repeat, done;
	int free_after_ms;
	struct event *free_ev;
};

static void
probe_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void
probe_reply(const struct smtpc_reply *r)
{
	printf("\"code\": %d, \"status\": ", r->code);
	probe_str(r->status);
	printf(", \"text\": ");
	probe_str(r->text);
}

static void
probe_conn(struct smtpc *c)
{
	static const char *const names[] = { "PIPELINING", "SIZE", "8BITMIME",
		"SMTPUTF8", "DSN", "CHUNKING", "STARTTLS", "AUTH" };
	unsigned ext = smtpc_ext(c);
	bool first = true;

	printf(", \"ext\": [");
	for (unsigned i = 0; i < 8; i++)
		if (ext & (1u << i)) {
			printf("%s\"%s\"", first ? "" : ", ", names[i]);
			first = false;
		}
	printf("], \"size\": %llu, \"tls\": %s, \"verified\": %s, "
	       "\"tls_info\": ", (unsigned long long)smtpc_max_size(c),
	       smtpc_is_tls(c) ? "true" : "false",
	       smtpc_is_verified(c) ? "true" : "false");
	probe_str(smtpc_tls_info(c));
	printf(", \"peer\": ");
	probe_str(smtpc_peer(c));
	printf(", \"count\": %u, \"usable\": %s}\n", smtpc_count(c),
	       smtpc_usable(c) ? "true" : "false");
	fflush(stdout);
}

static void
probe_end(struct probe *p)
{
	smtpc_free(&p->c);
	loop_stop(p->srv.loop);
}

static void probe_ready_cb(void *arg, struct smtpc *c, bool ok);

static void
probe_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	printf("{\"event\": \"freed\", \"done\": %u}\n", p->done);
	fflush(stdout);
	probe_end(p);
}

static void
probe_done_cb(void *arg, struct smtpc *c, bool ok)
{
	struct probe *p = arg;

	for (size_t i = 0; i < p->m.n_rcpts; i++) {
		printf("{\"event\": \"rcpt\", \"tx\": %u, \"addr\": ", p->done);
		probe_str(p->rcpts[i].addr);
		printf(", ");
		probe_reply(&p->rcpts[i].reply);
		printf("}\n");
	}
	printf("{\"event\": \"tx\", \"tx\": %u, \"ok\": %s, ", p->done,
	       ok ? "true" : "false");
	probe_reply(&p->m.reply);
	probe_conn(c);
	p->done++;
	if (!ok || p->done >= p->repeat) {
		probe_end(p);
		return;
	}
	smtpc_send(c, &p->m, probe_done_cb, p);
}

static void
probe_ready_cb(void *arg, struct smtpc *c, bool ok)
{
	struct probe *p = arg;

	printf("{\"event\": \"ready\", \"ok\": %s, ", ok ? "true" : "false");
	probe_reply(smtpc_error(c));
	probe_conn(c);
	if (!ok || p->repeat == 0) {
		probe_end(p);
		return;
	}
	smtpc_send(c, &p->m, probe_done_cb, p);
}

static unsigned
probe_notify(const char *s)
{
	unsigned n = 0;

	if (strstr(s, "never"))
		n |= STORE_NOTIFY_NEVER;
	if (strstr(s, "success"))
		n |= STORE_NOTIFY_SUCCESS;
	if (strstr(s, "failure"))
		n |= STORE_NOTIFY_FAILURE;
	if (strstr(s, "delay"))
		n |= STORE_NOTIFY_DELAY;
	return n;
}

/* ADDR[:NOTIFY[:ORCPT]] (the argument is modified in place). */
static int
probe_rcpt(struct probe *p, char *arg)
{
	struct smtpc_rcpt *r;
	char *n, *o = NULL;

	if (p->m.n_rcpts >= PROBE_MAX_RCPTS)
		return -1;
	r = &p->rcpts[p->m.n_rcpts++];
	n = strchr(arg, ':');
	if (n != NULL) {
		*n++ = '\0';
		o = strchr(n, ':');
		if (o != NULL)
			*o++ = '\0';
		r->notify = probe_notify(n);
	}
	r->addr = arg;
	r->orcpt = o;
	return 0;
}

static int
probe_addr(struct probe *p, const char *ip, int port)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&p->t.addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&p->t.addr;

	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

static int
probe_tls(const char *s)
{
	if (strcmp(s, "none") == 0)
		return CONFIG_TLS_NONE;
	if (strcmp(s, "may") == 0)
		return CONFIG_TLS_MAY;
	if (strcmp(s, "encrypt") == 0)
		return CONFIG_TLS_ENCRYPT;
	if (strcmp(s, "verify") == 0)
		return CONFIG_TLS_VERIFY;
	return -1;
}

static int
probe_option(struct probe *p, const char *o, char *v, const char **addr,
	     int *port, const char **msg)
{
	struct config *cfg = &p->srv.cfg;
	char *colon;
	int tls;

	if (strcmp(o, "--addr") == 0)
		*addr = v;
	else if (strcmp(o, "--port") == 0)
		*port = atoi(v);
	else if (strcmp(o, "--host") == 0)
		snprintf(p->t.host, sizeof(p->t.host), "%s", v);
	else if (strcmp(o, "--tls") == 0) {
		if ((tls = probe_tls(v)) < 0)
			return -1;
		p->t.tls = (enum config_tls_mode)tls;
	} else if (strcmp(o, "--auth") == 0 && (colon = strchr(v, ':'))) {
		*colon = '\0';
		p->t.auth_user = v;
		p->t.auth_pass = colon + 1;
	} else if (strcmp(o, "--hostname") == 0)
		snprintf(cfg->hostname, sizeof(cfg->hostname), "%s", v);
	else if (strcmp(o, "--timeout") == 0)
		cfg->smtp_client_timeout = atoi(v);
	else if (strcmp(o, "--connect-timeout") == 0)
		cfg->smtp_client_connect_timeout = atoi(v);
	else if (strcmp(o, "--from") == 0)
		p->m.from = v;
	else if (strcmp(o, "--envid") == 0)
		p->m.envid = v;
	else if (strcmp(o, "--ret") == 0)
		p->m.ret = strcmp(v, "full") == 0 ? STORE_RET_FULL
						  : STORE_RET_HDRS;
	else if (strcmp(o, "--rcpt") == 0)
		return probe_rcpt(p, v);
	else if (strcmp(o, "--msg") == 0)
		*msg = v;
	else if (strcmp(o, "--repeat") == 0)
		p->repeat = (unsigned)atoi(v);
	else if (strcmp(o, "--free-after") == 0)
		p->free_after_ms = atoi(v);
	else if (strcmp(o, "--log-level") == 0)
		log_set_level((enum log_level)log_level_parse(v));
	else
		return -1;
	return 0;
}

static int
probe_args(struct probe *p, int argc, char **argv)
{
	const char *addr = NULL, *msg = NULL;
	int port = 25;
	struct stat st;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--8bit") == 0)
			p->m.flags |= STORE_QMSG_8BIT;
		else if (strcmp(argv[i], "--smtputf8") == 0)
			p->m.flags |= STORE_QMSG_SMTPUTF8;
		else if (i + 1 >= argc ||
			 probe_option(p, argv[i], argv[i + 1], &addr, &port,
				      &msg) < 0)
			return -1;
		else
			i++;
	}
	if (addr == NULL || probe_addr(p, addr, port) < 0 || msg == NULL ||
	    p->m.from == NULL)
		return -1;
	p->m.fd = open(msg, O_RDONLY | O_CLOEXEC);
	if (p->m.fd < 0 || fstat(p->m.fd, &st) < 0)
		return -1;
	p->m.size = (uint64_t)st.st_size;
	p->m.rcpts = p->rcpts;
	return 0;
}

int
main(int argc, char **argv)
{
	static struct probe p;

	config_defaults(&p.srv.cfg, false);
	snprintf(p.srv.cfg.hostname, sizeof(p.srv.cfg.hostname),
		 "client.test");
	p.repeat = 1;
	log_set_level(LOG_INFO);
	/* As in the server (server.c): a peer that closes mid-DATA is an
	 * error reply to report, not a signal that kills the process. */
	signal(SIGPIPE, SIG_IGN);
	if (probe_args(&p, argc, argv) < 0) {
		fprintf(stderr, "usage: see tests/tools/smtpc_probe.c\n");
		return 2;
	}
	p.srv.loop = loop_new();
	if (p.srv.loop == NULL || runtime_init(&p.srv) < 0)
		return 1;
	p.c = smtpc_connect(&p.srv, &p.t, probe_ready_cb, &p);
	if (p.c == NULL)
		return 1;
	if (p.free_after_ms > 0) {
		struct timeval tv = { p.free_after_ms / 1000,
				      (p.free_after_ms % 1000) * 1000 };
		p.free_ev = evtimer_new(loop_base(p.srv.loop), probe_free_cb,
					&p);
		evtimer_add(p.free_ev, &tv);
	}
	loop_run(p.srv.loop);
	smtpc_free(&p.c);
	/* A freed bufferevent with a deferred callback still queued is
	 * released by that callback: one more turn runs it (the server's
	 * loop goes on anyway; here the base is freed next). */
	event_base_loop(loop_base(p.srv.loop), EVLOOP_NONBLOCK);
	if (p.free_ev != NULL)
		event_free(p.free_ev);
	runtime_free(&p.srv);
	loop_free(&p.srv.loop);
	close(p.m.fd);
	return 0;
}
