/*
 * The control socket on the loop (control.h): accepts the service user's
 * (or root's) connections, reads one request line, answers from the live
 * sessions (core/session.h) and the listeners, closes.
 */
#include "control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/runtime.h"
#include "../core/session.h"
#include "control_proto.h"
#include "protocols.h"
#include "server_int.h"

/* Admin commands at once; more wait in the backlog or are closed. */
#define CONTROL_CLIENTS_MAX 8
/* A request line must arrive within this many seconds. */
#define CONTROL_TIMEOUT_S 10

struct control_client {
	struct control *ctl;
	struct bufferevent *bev;
	bool answered;
	struct control_client *prev, *next;
};

struct control {
	struct server *srv;
	struct evconnlistener *evl;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 4096];
	const char *version;
	time_t started;
	struct control_client *clients;
	unsigned n_clients;
};

int
control_sockaddr(const char *data_dir, struct sockaddr_un *sun, int *dirfd_r,
		 char *err, size_t errlen)
{
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	*dirfd_r = -1;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", data_dir,
		     CONTROL_SOCKET_NAME);
	if (n > 0 && (size_t)n < sizeof(sun->sun_path))
		return 0;
	/* A long data directory: reach it through its open fd. */
	*dirfd_r = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd_r < 0) {
		snprintf(err, errlen, "cannot open %s: %s", data_dir,
			 strerror(errno));
		return -1;
	}
	snprintf(sun->sun_path, sizeof(sun->sun_path), "/proc/self/fd/%d/%s",
		 *dirfd_r, CONTROL_SOCKET_NAME);
	return 0;
}

static void
control_client_free(struct control_client *cl)
{
	struct control *ctl = cl->ctl;

	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		ctl->clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	ctl->n_clients--;
	bufferevent_free(cl->bev);
	free(cl);
}

/* "* " + the fields, each escaped, + LF. */
static void
control_data(struct evbuffer *out, size_t n, const char *const *fields)
{
	char esc[CONTROL_FIELD_MAX * 3 + 1];

	evbuffer_add(out, "*", 1);
	for (size_t i = 0; i < n; i++) {
		const char *f = fields[i] != NULL && fields[i][0] != '\0'
					? fields[i] : "-";
		if (control_escape(f, strlen(f), esc, sizeof(esc)) < 0)
			snprintf(esc, sizeof(esc), "?");
		evbuffer_add_printf(out, " %s", esc);
	}
	evbuffer_add(out, "\n", 1);
}

static void
control_listener_addr(const struct server_listener *l, char *buf,
		      size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];
	int fd = evconnlistener_get_fd(l->evl);

	snprintf(buf, len, "?");
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(a->sin6_port));
	}
}

static int
control_cmp_user(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct logged-in users among the live sessions. */
static unsigned
control_count_users(struct server *srv)
{
	unsigned n = 0, distinct = 0;
	const char **v = calloc(session_live_count(srv) + 1, sizeof(*v));

	if (v == NULL)
		return 0;
	for (struct session *s = session_live_first(srv); s != NULL;
	     s = session_live_next(s))
		if (s->user != NULL && s->user[0] != '\0')
			v[n++] = s->user;
	qsort(v, n, sizeof(*v), control_cmp_user);
	for (unsigned i = 0; i < n; i++)
		if (i == 0 || strcasecmp(v[i - 1], v[i]) != 0)
			distinct++;
	free(v);
	return distinct;
}

/* Sessions per listener name: every name a listener has (0 included),
 * then any other a session carries. */
static void
control_status_sessions(struct control *ctl, struct evbuffer *out)
{
	struct server_priv *p = ctl->srv->priv;
	const char *names[64];
	unsigned counts[64];
	size_t n = 0;
	char num[24];

	for (size_t i = 0; i < p->n_listeners && n < 64; i++) {
		const char *name = p->listeners[i].protos[
			p->listeners[i].proto].name;
		size_t k = 0;
		while (k < n && strcmp(names[k], name) != 0)
			k++;
		if (k == n) {
			names[n] = name;
			counts[n++] = 0;
		}
	}
	for (struct session *s = session_live_first(ctl->srv); s != NULL;
	     s = session_live_next(s)) {
		const char *name = s->conn != NULL ? conn_proto(s->conn) : "?";
		size_t k = 0;
		while (k < n && strcmp(names[k], name) != 0)
			k++;
		if (k == n && n < 64) {
			names[n] = name;
			counts[n++] = 0;
		}
		if (k < n)
			counts[k]++;
	}
	for (size_t k = 0; k < n; k++) {
		snprintf(num, sizeof(num), "%u", counts[k]);
		control_data(out, 3,
			     (const char *[]){ "sessions", names[k], num });
	}
}

static void
control_status(struct control *ctl, struct evbuffer *out)
{
	struct server_priv *p = ctl->srv->priv;
	char num[24], addr[INET6_ADDRSTRLEN + 16];

	control_data(out, 2, (const char *[]){ "version", ctl->version });
	snprintf(num, sizeof(num), "%lld", (long long)ctl->started);
	control_data(out, 2, (const char *[]){ "started", num });
	for (size_t i = 0; i < p->n_listeners; i++) {
		const struct server_listener *l = &p->listeners[i];
		control_listener_addr(l, addr, sizeof(addr));
		control_data(out, 3, (const char *[]){
			"listener", l->protos[l->proto].name, addr });
	}
	control_status_sessions(ctl, out);
	snprintf(num, sizeof(num), "%u", control_count_users(ctl->srv));
	control_data(out, 2, (const char *[]){ "users", num });
	control_data(out, 2, (const char *[]){
		"draining", ctl->srv->draining ? "yes" : "no" });
}

static void
control_who(struct control *ctl, const char *user, struct evbuffer *out)
{
	char when[24];

	for (struct session *s = session_live_first(ctl->srv); s != NULL;
	     s = session_live_next(s)) {
		if (s->user == NULL || s->user[0] == '\0' || s->conn == NULL ||
		    (user[0] != '\0' && strcasecmp(s->user, user) != 0))
			continue;
		snprintf(when, sizeof(when), "%lld", (long long)s->login_at);
		control_data(out, 5, (const char *[]){
			s->user, conn_proto(s->conn), conn_peer(s->conn),
			when, s->id });
	}
}

static void
control_answer(struct control *ctl, const char *line, size_t len,
	       struct evbuffer *out)
{
	struct control_req req;
	const char *err = NULL;
	char num[24];
	unsigned n;

	if (control_parse_request(line, len, &req, &err) < 0) {
		evbuffer_add_printf(out, "ERR %s\n", err);
		return;
	}
	switch (req.verb) {
	case CONTROL_STATUS:
		control_status(ctl, out);
		break;
	case CONTROL_WHO:
		control_who(ctl, req.arg, out);
		break;
	case CONTROL_KICK:
		n = session_bye_all(ctl->srv, SESSION_BYE_KICK, req.arg);
		log_info(NULL, "kick", " user=%s sessions=%u",
			 log_qs(req.arg), n);
		snprintf(num, sizeof(num), "%u", n);
		control_data(out, 2, (const char *[]){ "kicked", num });
		break;
	}
	evbuffer_add(out, "OK\n", 3);
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer *out = bufferevent_get_output(bev);
	char line[CONTROL_LINE_MAX + 1];
	size_t eol_len = 0;
	struct evbuffer_ptr eol;

	if (cl->answered)
		return;
	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (eol.pos < 0 && evbuffer_get_length(in) <= CONTROL_LINE_MAX)
		return; /* more to come */
	cl->answered = true;
	bufferevent_disable(bev, EV_READ);
	if (eol.pos < 0 || (size_t)eol.pos > CONTROL_LINE_MAX) {
		evbuffer_add_printf(out, "ERR line too long\n");
	} else {
		evbuffer_remove(in, line, (size_t)eol.pos);
		control_answer(cl->ctl, line, (size_t)eol.pos, out);
	}
	/* control_write_cb closes once the answer has left. */
	bufferevent_enable(bev, EV_WRITE);
}

static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *cl = arg;

	if (cl->answered &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_client_free(cl);
}

static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	control_client_free(arg);
}

/* Only the service user (whose the socket is, mode 0600) or root. */
static bool
control_peer_ok(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static void
control_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
		  struct sockaddr *sa, int salen, void *arg)
{
	struct control *ctl = arg;
	struct control_client *cl;
	struct timeval tv = { CONTROL_TIMEOUT_S, 0 };

	if (ctl->n_clients >= CONTROL_CLIENTS_MAX || !control_peer_ok(fd) ||
	    (cl = calloc(1, sizeof(*cl))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	cl->ctl = ctl;
	cl->bev = bufferevent_socket_new(evconnlistener_get_base(evl), fd,
					 BEV_OPT_CLOSE_ON_FREE);
	if (cl->bev == NULL) {
		evutil_closesocket(fd);
		free(cl);
		return;
	}
	cl->next = ctl->clients;
	if (cl->next != NULL)
		cl->next->prev = cl;
	ctl->clients = cl;
	ctl->n_clients++;
	bufferevent_setcb(cl->bev, control_read_cb, control_write_cb,
			  control_event_cb, cl);
	bufferevent_setwatermark(cl->bev, EV_READ, 0, CONTROL_LINE_MAX + 2);
	bufferevent_set_timeouts(cl->bev, &tv, &tv);
	bufferevent_enable(cl->bev, EV_READ);
}

/* Binds DATA_DIR/control, replacing a stale socket; mode 0600. */
static int
control_bind(struct control *ctl, char *err, size_t errlen)
{
	const char *data_dir = ctl->srv->cfg.data_dir;
	struct sockaddr_un sun;
	struct stat st;
	int dirfd, fd, r;
	mode_t old;

	snprintf(ctl->path, sizeof(ctl->path), "%s/%s", data_dir,
		 CONTROL_SOCKET_NAME);
	if (lstat(ctl->path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s is a directory", ctl->path);
			return -1;
		}
		/* Left by a server that crashed (serve.lock is ours): a
		 * socket, or what a file system restored after a power cut
		 * made of it. The name is ours in our directory. */
		(void)unlink(ctl->path);
	}
	if (control_sockaddr(data_dir, &sun, &dirfd, err, errlen) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		if (dirfd >= 0)
			close(dirfd);
		return -1;
	}
	old = umask(077);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == 0)
		r = chmod(ctl->path, 0600);
	if (dirfd >= 0)
		close(dirfd);
	if (r < 0 || listen(fd, 16) < 0) {
		snprintf(err, errlen, "cannot make %s: %s", ctl->path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct control *
control_start(struct server *srv, const char *version, time_t started,
	      char *err, size_t errlen)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	int fd;

	if (ctl == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->srv = srv;
	ctl->version = version;
	ctl->started = started;
	fd = control_bind(ctl, err, errlen);
	if (fd < 0) {
		free(ctl);
		return NULL;
	}
	ctl->evl = evconnlistener_new(loop_base(srv->loop), control_accept_cb,
				      ctl, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (ctl->evl == NULL) {
		close(fd);
		(void)unlink(ctl->path);
		free(ctl);
		snprintf(err, errlen, "cannot listen on the control socket");
		return NULL;
	}
	log_info(NULL, "control", " path=%s", log_qs(ctl->path));
	return ctl;
}

void
control_free(struct control **cp)
{
	struct control *ctl = *cp;

	if (ctl == NULL)
		return;
	while (ctl->clients != NULL)
		control_client_free(ctl->clients);
	evconnlistener_free(ctl->evl);
	(void)unlink(ctl->path);
	free(ctl);
	*cp = NULL;
}
