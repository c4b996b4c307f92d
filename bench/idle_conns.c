/*
 * idle_conns: opens N SMTP connections, reads each one's 220 greeting,
 * then holds them all idle so the server's memory can be measured.
 * Prints "ready opened=N greeted=G failed=F" once every connection has
 * been greeted (or failed, or the deadline passed), then waits for a
 * line or EOF on stdin (or -H seconds), reports how many the server
 * closed meanwhile, and closes them. Bounded in count and time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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
#define IDLE_BATCH 256          /* connections in flight at once */
#define IDLE_GREETING_MAX 512
#define IDLE_SETUP_TIMEOUT_S 120

enum idle_state { IDLE_CONNECTING, IDLE_GREETED, IDLE_FAILED };

struct idle_conn {
	int fd;
	enum idle_state state;
	size_t len;
	char greet[8];          /* first bytes of the greeting */
};

static int
idle_open(const struct sockaddr_in *sa, int ep, struct idle_conn *c, long idx)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
				  .data.u64 = (uint64_t)idx };

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	if (connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->state = IDLE_CONNECTING;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Reads what is there; a connection is greeted once "220" and a line end
 * arrived (RFC 5321 §4.2: the greeting may be multi-line; we need only
 * its first line to know the server accepted the session). */
static void
idle_on_read(struct idle_conn *c)
{
	char tmp[IDLE_GREETING_MAX];
	ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);

	if (r <= 0) {
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		c->state = IDLE_FAILED;
		return;
	}
	for (ssize_t i = 0; i < r && c->len < sizeof(c->greet); i++)
		c->greet[c->len++] = tmp[i];
	if (c->state != IDLE_CONNECTING)
		return;
	if (c->len >= 3 && memcmp(c->greet, "220", 3) != 0)
		c->state = IDLE_FAILED;
	else if (c->len >= 3 && memchr(tmp, '\n', (size_t)r) != NULL)
		c->state = IDLE_GREETED;
}

static void
idle_count(const struct idle_conn *cs, long n, long *greeted_r,
	   long *failed_r)
{
	*greeted_r = 0;
	*failed_r = 0;
	for (long i = 0; i < n; i++) {
		if (cs[i].state == IDLE_GREETED)
			(*greeted_r)++;
		else if (cs[i].state == IDLE_FAILED)
			(*failed_r)++;
	}
}

/* Opens n connections, at most IDLE_BATCH waiting for a greeting. */
static void
idle_setup(const struct sockaddr_in *sa, int ep, struct idle_conn *cs,
	   long n)
{
	struct epoll_event evs[512];
	double deadline = bench_now() + IDLE_SETUP_TIMEOUT_S;
	long opened = 0, done = 0;

	while (done < n && bench_now() < deadline) {
		while (opened < n && opened - done < IDLE_BATCH) {
			if (idle_open(sa, ep, &cs[opened], opened) < 0) {
				cs[opened].state = IDLE_FAILED;
				done++;
			}
			opened++;
		}
		int k = epoll_wait(ep, evs, 512, 1000);

		for (int i = 0; i < k; i++) {
			struct idle_conn *c = &cs[evs[i].data.u64];
			enum idle_state before = c->state;

			idle_on_read(c);
			if (before == IDLE_CONNECTING && c->state != before)
				done++;
		}
	}
}

/* Holds until stdin has a line or EOF, or hold_s passes; watches for the
 * server closing connections meanwhile. Returns how many it closed. */
static long
idle_hold(int ep, struct idle_conn *cs, double hold_s)
{
	struct epoll_event evs[512];
	double deadline = bench_now() + hold_s;
	long closed = 0;
	struct pollfd in = { .fd = 0, .events = POLLIN };

	while (bench_now() < deadline) {
		if (poll(&in, 1, 0) > 0)
			break;
		int k = epoll_wait(ep, evs, 512, 200);

		for (int i = 0; i < k; i++) {
			struct idle_conn *c = &cs[evs[i].data.u64];
			enum idle_state before = c->state;

			idle_on_read(c);
			if (before == IDLE_GREETED && c->state == IDLE_FAILED) {
				closed++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			}
		}
	}
	return closed;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	long n = 10000, greeted, failed;
	double hold_s = 300;
	int ch;

	while ((ch = getopt(argc, argv, "n:H:")) != -1) {
		if (ch == 'n')
			n = atol(optarg);
		else if (ch == 'H')
			hold_s = atof(optarg);
		else
			goto usage;
	}
	if (argc - optind != 2 || n < 1 || n > IDLE_MAX_CONNS || hold_s < 0 ||
	    inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1)
		goto usage;
	sa.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	bench_raise_nofile();
	struct idle_conn *cs = calloc((size_t)n, sizeof(*cs));
	int ep = epoll_create1(0);

	if (cs == NULL || ep < 0)
		return 1;
	idle_setup(&sa, ep, cs, n);
	idle_count(cs, n, &greeted, &failed);
	printf("ready opened=%ld greeted=%ld failed=%ld\n", n, greeted, failed);
	fflush(stdout);
	long closed = idle_hold(ep, cs, hold_s);

	printf("done closed_by_server=%ld\n", closed);
	fflush(stdout);
	for (long i = 0; i < n; i++)
		if (cs[i].fd > 0)
			close(cs[i].fd);
	free(cs);
	close(ep);
	return greeted == n ? 0 : 1;
usage:
	fprintf(stderr, "usage: idle_conns [-n count] [-H hold_seconds] "
		"ipv4-addr port\n");
	return 2;
}
