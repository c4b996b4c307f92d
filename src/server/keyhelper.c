/* The root helper that re-reads certificate and key. See keyhelper.h. */
#include "keyhelper.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "../core/safepath.h"

/* status + two (length, bytes) pairs */
#define KEYHELPER_REPLY_MAX (1 + 2 * (4 + SAFEPATH_PEM_MAX))

struct keyhelper {
	int fd;
	pid_t pid;
	struct event *ev;   /* reading an answer; NULL when idle */
	keyhelper_cb cb;
	void *arg;
	unsigned char *buf; /* the answer so far (wiped when done) */
	size_t len;
	bool dead;
};

/* ---- the helper process (root) ---- */

static int
keyhelper_write_all(int fd, const void *p, size_t len)
{
	const unsigned char *b = p;

	while (len > 0) {
		ssize_t n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
keyhelper_send_part(int fd, const char *p, size_t len)
{
	uint32_t n = htonl((uint32_t)len);

	if (keyhelper_write_all(fd, &n, sizeof(n)) < 0)
		return -1;
	return keyhelper_write_all(fd, p, len);
}

/* One answer: both files, or the first error. */
static int
keyhelper_answer(int fd, const char *cert_path, const char *key_path)
{
	char err[KEYHELPER_ERR_MAX], *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	unsigned char status = 0;
	int rc;

	if (safepath_read(cert_path, SAFEPATH_PEM_MAX, &cert, &cert_len, err,
			  sizeof(err)) < 0 ||
	    safepath_read(key_path, SAFEPATH_PEM_MAX, &key, &key_len, err,
			  sizeof(err)) < 0)
		status = 1;
	rc = keyhelper_write_all(fd, &status, 1);
	if (rc == 0 && status == 0)
		rc = keyhelper_send_part(fd, cert, cert_len) < 0 ||
		     keyhelper_send_part(fd, key, key_len) < 0 ? -1 : 0;
	else if (rc == 0)
		rc = keyhelper_send_part(fd, err, strlen(err));
	safepath_free_buf(cert, cert_len);
	safepath_free_buf(key, key_len);
	return rc;
}

static void
keyhelper_child(int fd, const char *cert_path, const char *key_path)
{
	/* Only the helper's socket and stderr stay open: not the listening
	 * sockets, the loop's fds or the data dir lock. */
	if (fd != 3 && (dup2(fd, 3) < 0 || close(fd) < 0))
		_exit(1);
	close_range(4, ~0U, 0);
	fd = 3;
	signal(SIGHUP, SIG_IGN);   /* meant for the server */
	signal(SIGUSR1, SIG_IGN);  /* the log reopen, also the server's */
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "postel-keys");
	if (getppid() == 1)
		_exit(0);
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c != 'R')
			_exit(0);
		if (keyhelper_answer(fd, cert_path, key_path) < 0)
			_exit(1);
	}
}

struct keyhelper *
keyhelper_start(const char *cert_path, const char *key_path, char *err,
		size_t errlen)
{
	struct keyhelper *kh = calloc(1, sizeof(*kh));
	int sv[2];

	if (kh == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				     sv) < 0) {
		snprintf(err, errlen, "key helper: %s", strerror(errno));
		free(kh);
		return NULL;
	}
	fflush(NULL);
	kh->pid = fork();
	if (kh->pid < 0) {
		snprintf(err, errlen, "key helper: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(kh);
		return NULL;
	}
	if (kh->pid == 0) {
		close(sv[0]);
		keyhelper_child(sv[1], cert_path, key_path);
		_exit(0);
	}
	close(sv[1]);
	kh->fd = sv[0];
	if (fcntl(kh->fd, F_SETFL, fcntl(kh->fd, F_GETFL) | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "key helper: %s", strerror(errno));
		keyhelper_free(&kh);
		return NULL;
	}
	return kh;
}

/* ---- the server's side (loop thread) ---- */

static void
keyhelper_done(struct keyhelper *kh)
{
	if (kh->ev != NULL)
		event_free(kh->ev);
	kh->ev = NULL;
	if (kh->buf != NULL) {
		explicit_bzero(kh->buf, kh->len);
		free(kh->buf);
	}
	kh->buf = NULL;
	kh->len = 0;
}

static uint32_t
keyhelper_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return ntohl(v);
}

int
keyhelper_parse_reply(const unsigned char *b, size_t len,
		      struct keyhelper_reply *r)
{
	size_t max;
	uint32_t n1, n2;

	memset(r, 0, sizeof(*r));
	if (len < 5)
		return 0;
	if (b[0] > 1)
		return -1;
	max = b[0] == 0 ? SAFEPATH_PEM_MAX : KEYHELPER_ERR_MAX;
	if ((n1 = keyhelper_u32(b + 1)) > max)
		return -1;
	if (len < 5 + (size_t)n1)
		return 0;
	if (b[0] == 1) {
		memcpy(r->err, b + 5, n1);
		r->err[n1] = '\0';
		r->is_err = true;
		return 1;
	}
	if (len < 9 + (size_t)n1)
		return 0;
	if ((n2 = keyhelper_u32(b + 5 + n1)) > max)
		return -1;
	if (len < 9 + (size_t)n1 + n2)
		return 0;
	r->cert = (const char *)b + 5;
	r->cert_len = n1;
	r->key = (const char *)b + 9 + n1;
	r->key_len = n2;
	return 1;
}

/* 1 a whole answer (delivered to the callback), 0 need more, -1 bad. */
static int
keyhelper_parse(struct keyhelper *kh)
{
	struct keyhelper_reply r;
	int rc = keyhelper_parse_reply(kh->buf, kh->len, &r);

	if (rc == 1 && r.is_err)
		kh->cb(kh->arg, NULL, 0, NULL, 0, r.err);
	else if (rc == 1)
		kh->cb(kh->arg, r.cert, r.cert_len, r.key, r.key_len, NULL);
	return rc;
}

static void
keyhelper_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct keyhelper *kh = arg;
	const char *why = "the key helper timed out";
	ssize_t n = 0;
	int rc = -1;

	if (what & EV_READ) {
		n = read(kh->fd, kh->buf + kh->len, KEYHELPER_REPLY_MAX - kh->len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n > 0) {
			kh->len += (size_t)n;
			rc = keyhelper_parse(kh);
			if (rc == 0 && kh->len < KEYHELPER_REPLY_MAX)
				return;
			if (rc == 0)
				rc = -1;
		}
		why = n == 0 ? "the key helper has exited (restart postel to "
			       "reload)" : "bad answer from the key helper";
	}
	if (rc < 0) {
		/* Out of step or gone: no further request can be trusted. */
		kh->dead = true;
		kh->cb(kh->arg, NULL, 0, NULL, 0, why);
	}
	keyhelper_done(kh);
}

int
keyhelper_fetch(struct keyhelper *kh, struct event_base *base,
		keyhelper_cb cb, void *arg, char *err, size_t errlen)
{
	struct timeval tv = { KEYHELPER_TIMEOUT_S, 0 };
	char req = 'R';

	if (kh->dead || kh->ev != NULL) {
		snprintf(err, errlen, "%s", kh->dead ? "the key helper has "
			 "exited (restart postel to reload)" :
			 "a reload is already in progress");
		return -1;
	}
	kh->buf = malloc(KEYHELPER_REPLY_MAX);
	kh->ev = event_new(base, kh->fd, EV_READ | EV_PERSIST,
			   keyhelper_read_cb, kh);
	if (kh->buf == NULL || kh->ev == NULL || event_add(kh->ev, &tv) < 0) {
		snprintf(err, errlen, "out of memory");
		keyhelper_done(kh);
		return -1;
	}
	kh->cb = cb;
	kh->arg = arg;
	if (send(kh->fd, &req, 1, MSG_NOSIGNAL) != 1) {
		snprintf(err, errlen, "the key helper has exited (restart "
			 "postel to reload)");
		kh->dead = true;
		keyhelper_done(kh);
		return -1;
	}
	return 0;
}

void
keyhelper_free(struct keyhelper **khp)
{
	struct keyhelper *kh = *khp;

	if (kh == NULL)
		return;
	keyhelper_done(kh);
	if (kh->fd >= 0)
		close(kh->fd);
	/* EOF ends the helper at once. */
	if (kh->pid > 0)
		while (waitpid(kh->pid, NULL, 0) < 0 && errno == EINTR)
			;
	free(kh);
	*khp = NULL;
}
