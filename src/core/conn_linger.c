/*
 * Lingering close. close(2) on a TCP socket whose receive queue holds
 * unread bytes, or that receives bytes afterwards, answers with a reset,
 * and a reset makes the client's kernel throw away what it had received
 * but not yet handed to the application: our last reply (an HTTP 408 or
 * 413, an SMTP 421, an IMAP BYE) may never be read. So when we end a
 * connection while the client is still sending, we send our FIN
 * (shutdown SHUT_WR) and read and drop its input until it closes too, or
 * LIMIT_LINGER_MS / LIMIT_LINGER_BYTES run out. A connection that ends
 * cleanly (QUIT, LOGOUT, the client's own close) has nothing unread and
 * closes at once: no extra wake-up on the common path.
 *
 * The socket here is a dup of the connection's, taken before the
 * bufferevent closes its own, so the connection (and its TLS state) is
 * freed as before and this file knows nothing but a file descriptor.
 */
#include "conn_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "limits.h"
#include "loop.h"
#include "runtime_int.h"

struct conn_linger {
	struct server *srv;
	int fd;
	struct event *ev;
	size_t dropped;
	struct timespec start;
	struct conn_linger *prev, *next;
};

static void
conn_linger_end(struct conn_linger *l)
{
	struct runtime_reg *r = l->srv->reg;

	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		r->lingers = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	r->n_lingers--;
	event_free(l->ev);
	close(l->fd);
	free(l);
}

static long
conn_linger_elapsed_ms(const struct conn_linger *l)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - l->start.tv_sec) * 1000L +
	       (now.tv_nsec - l->start.tv_nsec) / 1000000L;
}

static void
conn_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_linger *l = arg;
	char buf[16384];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		conn_linger_end(l);
		return;
	}
	/* A few reads per wake-up: enough to empty what arrived, never a
	 * loop a fast sender could hold. */
	for (int i = 0; i < 4; i++) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_linger_end(l);
			return;
		}
		if (n < 0)
			break;
		l->dropped += (size_t)n;
	}
	/* EV_PERSIST restarts the timeout on every read: the total time and
	 * the total bytes are bounded here. */
	if (l->dropped > LIMIT_LINGER_BYTES ||
	    conn_linger_elapsed_ms(l) >= LIMIT_LINGER_MS)
		conn_linger_end(l);
}

/* Whether the client has sent bytes we never read. */
static bool
conn_has_unread(struct conn *c, int fd)
{
	int pending = 0;

	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		return true;
	if (c->z_in != NULL && evbuffer_get_length(c->z_in) > 0)
		return true;
	return ioctl(fd, FIONREAD, &pending) == 0 && pending > 0;
}

void
conn_linger_maybe(struct conn *c)
{
	struct runtime_reg *r = c->srv->reg;
	struct timeval tv = { LIMIT_LINGER_MS / 1000,
			      (LIMIT_LINGER_MS % 1000) * 1000 };
	struct conn_linger *l;
	int fd = bufferevent_getfd(c->bev);

	/* Only a close we chose: after the client's EOF or a reset there is
	 * nothing more to come. */
	if (r == NULL || !c->closing || c->eof || fd < 0 ||
	    r->n_lingers >= LIMIT_LINGER_SOCKETS || !conn_has_unread(c, fd))
		return;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return;
	l->srv = c->srv;
	l->fd = dup(fd);
	if (l->fd < 0) {
		free(l);
		return;
	}
	l->ev = event_new(loop_base(c->srv->loop), l->fd, EV_READ | EV_PERSIST,
			  conn_linger_cb, l);
	if (l->ev == NULL || event_add(l->ev, &tv) < 0) {
		if (l->ev != NULL)
			event_free(l->ev);
		close(l->fd);
		free(l);
		return;
	}
	/* Our FIN goes now, after the last reply; the bufferevent's close of
	 * the original descriptor does not end the socket while l->fd holds
	 * it. */
	(void)shutdown(l->fd, SHUT_WR);
	clock_gettime(CLOCK_MONOTONIC, &l->start);
	l->next = r->lingers;
	if (l->next != NULL)
		l->next->prev = l;
	r->lingers = l;
	r->n_lingers++;
}

void
conn_linger_free_all(struct server *srv)
{
	while (srv->reg != NULL && srv->reg->lingers != NULL)
		conn_linger_end(srv->reg->lingers);
}
