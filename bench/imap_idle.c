/*
 * imap_idle: opens N IMAP connections (implicit TLS with -t), and on each
 * one LOGINs as u<i % users + 1>, SELECTs INBOX and enters IDLE (RFC
 * 2177), so a server's memory with N idle clients can be measured.
 * Prints "ready opened=N idling=I failed=F setup_s=S" once every
 * connection is idling (or failed, or the deadline passed), then waits for
 * a line or EOF on stdin (or -H seconds), reports how many the server
 * closed meanwhile, and closes them. Bounded in count and time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

#define IDLE_MAX_CONNS 60000
#define IDLE_LINE_KEEP 64       /* first bytes of a reply line we look at */
#define IDLE_SETUP_TIMEOUT_S 900

enum idle_state {
	ST_TLS, ST_GREETING, ST_LOGIN, ST_SELECT, ST_IDLE_WAIT, ST_IDLING,
	ST_FAILED
};

struct idle_conn {
	int fd;
	SSL *ssl;
	enum idle_state state;
	unsigned char llen;
	char line[IDLE_LINE_KEEP];
};

struct idle_opts {
	long n;
	int users;
	int window;
	double hold_s;
	const char *domain;
	const char *pass;
};

static SSL_CTX *idle_tls;

static void
idle_fail(struct idle_conn *c)
{
	c->state = ST_FAILED;
}

/* Small commands fit the empty socket buffer: one write each. */
static void
idle_send(struct idle_conn *c, const char *s)
{
	int n = (int)strlen(s);
	int w = c->ssl ? SSL_write(c->ssl, s, n) : (int)send(c->fd, s,
							      (size_t)n,
							      MSG_NOSIGNAL);

	if (w != n)
		idle_fail(c);
}

/* One complete reply line (its first bytes in c->line): next step. */
static void
idle_on_line(struct idle_conn *c, long idx, const struct idle_opts *o)
{
	char cmd[256];

	switch (c->state) {
	case ST_GREETING:
		if (strncmp(c->line, "* OK", 4) != 0) {
			idle_fail(c);
			return;
		}
		snprintf(cmd, sizeof(cmd), "a LOGIN u%ld@%s %s\r\n",
			 idx % o->users + 1, o->domain, o->pass);
		c->state = ST_LOGIN;
		idle_send(c, cmd);
		return;
	case ST_LOGIN:
	case ST_SELECT:
		if (c->line[0] == '*')
			return;
		if (strncmp(c->line + 1, " OK", 3) != 0) {
			fprintf(stderr, "imap_idle: %ld: %.*s", idx,
				(int)c->llen, c->line);
			idle_fail(c);
			return;
		}
		c->state = c->state == ST_LOGIN ? ST_SELECT : ST_IDLE_WAIT;
		idle_send(c, c->state == ST_SELECT ? "b SELECT INBOX\r\n"
						   : "c IDLE\r\n");
		return;
	case ST_IDLE_WAIT:
		if (c->line[0] == '+')
			c->state = ST_IDLING;
		else if (c->line[0] != '*')
			idle_fail(c);
		return;
	default:
		return;
	}
}

static void
idle_on_read(struct idle_conn *c, long idx, const struct idle_opts *o)
{
	char tmp[8192];

	if (c->state == ST_TLS) {
		int r = SSL_connect(c->ssl);

		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);

			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				idle_fail(c);
			return;
		}
		/* The greeting may already sit in OpenSSL's buffer. */
		c->state = ST_GREETING;
	}
	for (;;) {
		int r = c->ssl ? SSL_read(c->ssl, tmp, sizeof(tmp))
			       : (int)recv(c->fd, tmp, sizeof(tmp), 0);

		if (r <= 0) {
			if (c->ssl != NULL &&
			    SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ)
				return;
			if (c->ssl == NULL && r < 0 &&
			    (errno == EAGAIN || errno == EINTR))
				return;
			idle_fail(c);
			return;
		}
		for (int i = 0; i < r && c->state != ST_FAILED; i++) {
			if (tmp[i] == '\n') {
				idle_on_line(c, idx, o);
				c->llen = 0;
			} else if (c->llen < IDLE_LINE_KEEP - 1) {
				c->line[c->llen++] = tmp[i];
				c->line[c->llen] = '\0';
			}
		}
	}
}

static int
idle_open(const struct sockaddr_in *sa, int ep, struct idle_conn *c, long idx)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
				  .data.u64 = (uint64_t)idx };

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	/* Loopback: the blocking connect is immediate (or waits for the
	 * server's backlog, which is the server's pace anyway). */
	if (connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0)
		return -1;
	c->state = ST_GREETING;
	if (idle_tls != NULL) {
		c->ssl = SSL_new(idle_tls);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
			return -1;
		c->state = ST_TLS;
		int r = SSL_connect(c->ssl);

		if (r != 1 && SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ)
			return -1;
	}
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static bool
idle_settled(const struct idle_conn *c)
{
	return c->state == ST_IDLING || c->state == ST_FAILED;
}

/* Opens o->n connections, at most o->window of them still setting up. */
static void
idle_setup(const struct sockaddr_in *sa, int ep, struct idle_conn *cs,
	   const struct idle_opts *o)
{
	struct epoll_event evs[512];
	double deadline = bench_now() + IDLE_SETUP_TIMEOUT_S;
	long opened = 0, done = 0;

	while (done < o->n && bench_now() < deadline) {
		while (opened < o->n && opened - done < o->window) {
			if (idle_open(sa, ep, &cs[opened], opened) < 0) {
				idle_fail(&cs[opened]);
				done++;
			}
			opened++;
		}
		int k = epoll_wait(ep, evs, 512, 1000);

		for (int i = 0; i < k; i++) {
			long idx = (long)evs[i].data.u64;
			struct idle_conn *c = &cs[idx];
			bool before = idle_settled(c);

			idle_on_read(c, idx, o);
			if (!before && idle_settled(c))
				done++;
			if (c->state == ST_FAILED)
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		}
	}
}

/* Holds until stdin has a line or EOF, or hold_s passes; counts the
 * idling connections the server closes meanwhile. */
static long
idle_hold(int ep, struct idle_conn *cs, const struct idle_opts *o)
{
	struct epoll_event evs[512];
	double deadline = bench_now() + o->hold_s;
	long closed = 0;
	struct pollfd in = { .fd = 0, .events = POLLIN };

	while (bench_now() < deadline) {
		if (poll(&in, 1, 0) > 0)
			break;
		int k = epoll_wait(ep, evs, 512, 200);

		for (int i = 0; i < k; i++) {
			long idx = (long)evs[i].data.u64;
			struct idle_conn *c = &cs[idx];
			enum idle_state before = c->state;

			idle_on_read(c, idx, o);
			if (before == ST_IDLING && c->state == ST_FAILED) {
				closed++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			}
		}
	}
	return closed;
}

static void
idle_usage(void)
{
	fprintf(stderr, "usage: imap_idle [-t] [-n count] [-u users] "
		"[-w window] [-H hold_seconds] [-d domain] [-p password] "
		"ipv4-addr port\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct idle_opts o = { .n = 10000, .users = 100, .window = 64,
			       .hold_s = 300, .domain = "bench.test",
			       .pass = "pass" };
	int ch;

	while ((ch = getopt(argc, argv, "tn:u:w:H:d:p:")) != -1) {
		switch (ch) {
		case 't':
			idle_tls = SSL_CTX_new(TLS_client_method());
			if (idle_tls == NULL)
				return 1;
			SSL_CTX_set_verify(idle_tls, SSL_VERIFY_NONE, NULL);
			break;
		case 'n': o.n = atol(optarg); break;
		case 'u': o.users = atoi(optarg); break;
		case 'w': o.window = atoi(optarg); break;
		case 'H': o.hold_s = atof(optarg); break;
		case 'd': o.domain = optarg; break;
		case 'p': o.pass = optarg; break;
		default: idle_usage();
		}
	}
	if (argc - optind != 2 || o.n < 1 || o.n > IDLE_MAX_CONNS ||
	    o.users < 1 || o.window < 1 || o.hold_s < 0 ||
	    inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1)
		idle_usage();
	sa.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	bench_raise_nofile();
	struct idle_conn *cs = calloc((size_t)o.n, sizeof(*cs));
	int ep = epoll_create1(0);

	if (cs == NULL || ep < 0)
		return 1;
	double t0 = bench_now();

	idle_setup(&sa, ep, cs, &o);
	long idling = 0, failed = 0;

	for (long i = 0; i < o.n; i++) {
		idling += cs[i].state == ST_IDLING;
		failed += cs[i].state == ST_FAILED;
	}
	printf("ready opened=%ld idling=%ld failed=%ld setup_s=%.1f\n", o.n,
	       idling, failed, bench_now() - t0);
	fflush(stdout);
	long closed = idle_hold(ep, cs, &o);

	printf("done closed_by_server=%ld\n", closed);
	fflush(stdout);
	for (long i = 0; i < o.n; i++) {
		if (cs[i].ssl != NULL)
			SSL_free(cs[i].ssl);
		if (cs[i].fd > 0)
			close(cs[i].fd);
	}
	free(cs);
	close(ep);
	return idling == o.n ? 0 : 1;
}
