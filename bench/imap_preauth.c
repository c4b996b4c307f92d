/*
 * imap_preauth: N unauthenticated IMAP connections (plain port), each
 * announcing a large literal before login ("a APPEND INBOX {SIZE+}" or,
 * with -s, the synchronising "{SIZE}") and then pushing up to SIZE octets
 * of it as fast as the server takes them, until the server answers and
 * hangs up (or refuses, for -s). The server must not
 * read or buffer those octets. Prints one summary line:
 *   "conns=N closed=C refused=R bytes_sent=B seconds=S"
 * Bounded in count (-n), bytes (-b per connection) and time (-T).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
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

#define PA_MAX_CONNS 20000
#define PA_CHUNK 65536
#define PA_IN_MAX 1024

struct pa_conn {
	int fd;
	bool greeted, announced, done, refused;
	uint64_t sent;
	size_t in_len;
	char in[PA_IN_MAX];
};

static int
pa_connect(const char *host, int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	     errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what the server said; true when the connection is finished (EOF,
 * error, or for a synchronising literal the tagged refusal). */
static bool
pa_read(struct pa_conn *c, bool sync)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->in_len,
				 sizeof(c->in) - 1 - c->in_len);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
		if (n < 0)
			return false;
		c->in_len += (size_t)n;
		c->in[c->in_len] = '\0';
		if (strstr(c->in, "\r\n") != NULL)
			c->greeted = true;
		if (strstr(c->in, "a BAD") != NULL ||
		    strstr(c->in, "a NO") != NULL || strstr(c->in, "BYE"))
			c->refused = true;
		if (sync && c->refused)
			return true;
		if (c->in_len >= sizeof(c->in) - 1)
			c->in_len = 0; /* only the markers matter */
	}
}

/* Nothing more to write: only reading matters now (level-triggered
 * EPOLLOUT would spin). */
static void
pa_read_only(int ep, struct pa_conn *c, uint64_t idx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = idx };

	(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
pa_write(int ep, struct pa_conn *c, uint64_t idx, uint64_t size, bool sync)
{
	static char chunk[PA_CHUNK];
	char line[96];

	if (!c->greeted || c->done)
		return;
	if (!c->announced) {
		int n = snprintf(line, sizeof(line),
				 "a APPEND INBOX {%llu%s}\r\n",
				 (unsigned long long)size, sync ? "" : "+");

		if (write(c->fd, line, (size_t)n) != n)
			return;
		c->announced = true;
		if (sync) {
			/* waits for "+", which must never come */
			pa_read_only(ep, c, idx);
			return;
		}
	}
	if (chunk[0] == '\0')
		memset(chunk, 'x', sizeof(chunk));
	while (!sync && c->sent < size) {
		size_t want = size - c->sent < PA_CHUNK ? (size_t)(size - c->sent)
							: PA_CHUNK;
		ssize_t n = write(c->fd, chunk, want);

		if (n <= 0)
			return;
		c->sent += (uint64_t)n;
	}
	if (c->sent >= size)
		pa_read_only(ep, c, idx);
}

static void
pa_finish(struct pa_conn *c, size_t *closed)
{
	if (c->done)
		return;
	c->done = true;
	close(c->fd);
	(*closed)++;
}

/* Opens n connections, each registered with ep; returns how many opened
 * (the others are marked done). */
static size_t
pa_open_all(struct pa_conn *cs, long n, int ep, const char *host, int port)
{
	size_t opened = 0;

	for (long i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
					  .data.u64 = (uint64_t)i };

		cs[i].fd = pa_connect(host, port);
		if (cs[i].fd < 0 ||
		    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) {
			cs[i].done = true;
			continue;
		}
		opened++;
	}
	return opened;
}

/* Drives every connection until all are closed or the deadline passes;
 * returns how many closed. */
static size_t
pa_run(struct pa_conn *cs, int ep, size_t opened, double deadline,
       uint64_t size, bool sync)
{
	size_t closed = 0;

	while (closed < opened && bench_now() < deadline) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 200);

		for (int i = 0; i < k; i++) {
			struct pa_conn *c = &cs[evs[i].data.u64];

			if (c->done)
				continue;
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    pa_read(c, sync)) {
				pa_finish(c, &closed);
				continue;
			}
			if (evs[i].events & EPOLLOUT)
				pa_write(ep, c, evs[i].data.u64, size, sync);
		}
	}
	return closed;
}

int
main(int argc, char **argv)
{
	long n = 1000, seconds = 60;
	uint64_t size = 30000000;
	bool sync = false;
	int opt, ep;
	struct rlimit rl;

	/* The server closes connections while we still write to them: that
	 * must be an EPIPE for the one connection, not the end of the run. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "n:b:T:s")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 'b': size = strtoull(optarg, NULL, 10); break;
		case 'T': seconds = atol(optarg); break;
		case 's': sync = true; break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 || n < 1 || n > PA_MAX_CONNS || seconds < 1)
		goto usage;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct pa_conn *cs = calloc((size_t)n, sizeof(*cs));
	ep = epoll_create1(0);
	if (cs == NULL || ep < 0)
		return 1;
	double t0 = bench_now();
	size_t opened = pa_open_all(cs, n, ep, argv[optind],
				    atoi(argv[optind + 1]));
	size_t closed = pa_run(cs, ep, opened, t0 + (double)seconds, size,
			       sync);
	uint64_t bytes = 0;
	size_t refused = 0;

	for (long i = 0; i < n; i++) {
		bytes += cs[i].sent;
		refused += cs[i].refused;
		if (!cs[i].done)
			close(cs[i].fd);
	}
	printf("conns=%zu closed=%zu refused=%zu bytes_sent=%llu "
	       "seconds=%.2f\n", opened, closed, refused,
	       (unsigned long long)bytes, bench_now() - t0);
	free(cs);
	return closed == opened ? 0 : 2;
usage:
	fprintf(stderr, "usage: imap_preauth [-n conns] [-b literal_size] "
			"[-T seconds] [-s] HOST PORT\n");
	return 2;
}
