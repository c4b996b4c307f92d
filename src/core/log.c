/* Structured one-line-per-event logging to stderr, a file or syslog. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile int log_level_current = LOG_INFO;

/* Set by log_open() before other threads run; log_reopen() swaps the
 * file behind log_fd with dup2(), which is atomic for every writer, so
 * the number itself never changes while threads log. */
static int log_out = LOG_OUT_STDERR;
static int log_fd = STDERR_FILENO;
static char log_path[PATH_MAX];

/* Syslog severities and the mail facility (RFC 5424 §6.2.1), by level;
 * <syslog.h> is not included: its LOG_INFO and LOG_DEBUG are ours. */
#define LOG_SYSLOG_MAIL (2 << 3)
static const int log_severity[] = { 3, 4, 6, 7 };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void
log_set_level(enum log_level level)
{
	log_level_current = (int)level;
}

enum log_level
log_get_level(void)
{
	return (enum log_level)log_level_current;
}

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int
log_target_parse(const char *spec, enum log_output *out_r,
		 const char **path_r)
{
	size_t len = strlen(spec);

	*path_r = NULL;
	if (strcmp(spec, "stderr") == 0) {
		*out_r = LOG_OUT_STDERR;
		return 0;
	}
	if (strcmp(spec, "syslog") == 0) {
		*out_r = LOG_OUT_SYSLOG;
		*path_r = LOG_SYSLOG_SOCKET;
		return 0;
	}
	if (strncmp(spec, "syslog:", 7) == 0) {
		*out_r = LOG_OUT_SYSLOG;
		*path_r = spec + 7;
		/* sun_path holds 108 octets with its NUL. */
		return spec[7] == '/' && len - 7 <
			sizeof(((struct sockaddr_un *)0)->sun_path) ? 0 : -1;
	}
	*out_r = LOG_OUT_FILE;
	*path_r = spec;
	return spec[0] == '/' && len > 1 && len < PATH_MAX &&
	       spec[len - 1] != '/' ? 0 : -1;
}

/* A non-blocking datagram socket connected to the syslog socket: a slow
 * or stopped syslog daemon costs lost lines, never a stalled loop. */
static int
log_syslog_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* "<PRI>Mmm dd hh:mm:ss postel[PID]: " and the line (RFC 3164 §4.1, what
 * syslog(3) sends): one datagram. After a syslog daemon restart the
 * socket is new: connect again once (dup2 onto the same number, atomic
 * for the other threads). */
static void
log_syslog_send(enum log_level level, const char *msg, size_t len)
{
	char out[2400];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	localtime_r(&now, &tm);
	n = snprintf(out, sizeof(out), "<%d>", LOG_SYSLOG_MAIL |
		     log_severity[level]);
	n += (int)strftime(out + n, sizeof(out) - (size_t)n, "%b %e %H:%M:%S",
			   &tm);
	n += snprintf(out + n, sizeof(out) - (size_t)n, " postel[%d]: ",
		      (int)getpid());
	if (len > sizeof(out) - (size_t)n)
		len = sizeof(out) - (size_t)n;
	memcpy(out + n, msg, len);
	len += (size_t)n;
	if (send(log_fd, out, len, MSG_NOSIGNAL) >= 0)
		return;
	if (errno == ECONNREFUSED || errno == ENOTCONN || errno == ENOENT) {
		int fd = log_syslog_connect(log_path);
		if (fd >= 0) {
			dup2(fd, log_fd);
			close(fd);
			(void)send(log_fd, out, len, MSG_NOSIGNAL);
		}
	}
}

static int
log_file_open(const char *path, char *err, size_t errlen)
{
	/* O_NOFOLLOW: a link planted where the log goes is not followed. */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		      O_NOFOLLOW | O_NOCTTY, 0640);

	if (fd < 0)
		snprintf(err, errlen, "cannot open log file %s: %s", path,
			 strerror(errno));
	return fd;
}

int
log_open(const char *spec, char *err, size_t errlen)
{
	enum log_output out;
	const char *path;
	int fd;

	if (log_target_parse(spec, &out, &path) < 0) {
		snprintf(err, errlen, "bad log target '%s'", spec);
		return -1;
	}
	if (out == LOG_OUT_STDERR)
		return 0;
	if (out == LOG_OUT_FILE) {
		fd = log_file_open(path, err, errlen);
	} else {
		fd = log_syslog_connect(path);
		if (fd < 0)
			snprintf(err, errlen, "cannot reach syslog at %s: %s",
				 path, strerror(errno));
	}
	if (fd < 0)
		return -1;
	snprintf(log_path, sizeof(log_path), "%s", path);
	log_fd = fd;
	log_out = (int)out;
	return 0;
}

int
log_reopen(char *err, size_t errlen)
{
	int fd;

	if (log_out != LOG_OUT_FILE)
		return 0;
	fd = log_file_open(log_path, err, errlen);
	if (fd < 0)
		return -1;
	if (dup2(fd, log_fd) < 0) {
		snprintf(err, errlen, "dup2: %s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 1;
}

const char *
log_target_path(void)
{
	return log_path;
}

/* The calling thread's batch (log_batch_begin), or NULL. It is written in
 * pieces of whole lines of at most PIPE_BUF octets: such a write(2) is
 * atomic on a pipe (the journal's, a test's stderr) as on a file opened
 * O_APPEND, so another thread's line never lands inside one of ours. */
#define LOG_BATCH_CAP (64 * 1024)

static _Thread_local char *log_batch;
static _Thread_local size_t log_batch_len;

void
log_batch_begin(void)
{
	if (log_batch == NULL)
		log_batch = malloc(LOG_BATCH_CAP);
	log_batch_len = 0;
}

void
log_batch_flush(void)
{
	size_t off = 0;

	while (off < log_batch_len) {
		size_t n = log_batch_len - off;
		ssize_t w;

		if (n > PIPE_BUF) {
			/* The last line end within PIPE_BUF (a line is at
			 * most 2 KB, shorter than PIPE_BUF). */
			n = PIPE_BUF;
			while (n > 0 && log_batch[off + n - 1] != '\n')
				n--;
			if (n == 0)
				n = PIPE_BUF;
		}
		w = write(log_fd, log_batch + off, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* as for a single line: nowhere to report it */
		off += (size_t)w;
	}
	log_batch_len = 0;
}

void
log_batch_end(void)
{
	log_batch_flush();
	free(log_batch);
	log_batch = NULL;
}

void
log_event(enum log_level level, const char *sess, const char *event,
	  const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n, stamp;
	int r;

	if ((int)level > log_level_current)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03dZ ", (int)(tv.tv_usec / 1000));
	n += (size_t)r;
	stamp = n;
	r = snprintf(line + n, sizeof(line) - n, "%s", level_names[level]);
	n += (size_t)r;
	if (sess != NULL) {
		r = snprintf(line + n, sizeof(line) - n, " sess=%s", sess);
		n += (size_t)r;
	}
	r = snprintf(line + n, sizeof(line) - n, " event=%s", event);
	n += (size_t)r;
	if (fmt != NULL && n < sizeof(line)) {
		va_list ap;
		va_start(ap, fmt);
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (log_out == LOG_OUT_SYSLOG) {
		log_syslog_send(level, line + stamp, n - 1 - stamp);
		return;
	}
	if (log_batch != NULL) {
		if (log_batch_len + n > LOG_BATCH_CAP)
			log_batch_flush();
		memcpy(log_batch + log_batch_len, line, n);
		log_batch_len += n;
		/* An error may be the last line before an abort(): out now,
		 * with what came before it. */
		if (level == LOG_ERROR)
			log_batch_flush();
		return;
	}
	/* One write(2) per line so lines from threads never interleave. */
	ssize_t w = write(log_fd, line, n);
	(void)w;
}

#define LOG_Q_RING 8
#define LOG_Q_MAX 200

static bool
plain_token(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '=')
			return false;
	}
	return true;
}

const char *
log_q(const char *s, size_t len)
{
	static _Thread_local char ring[LOG_Q_RING][LOG_Q_MAX * 4 + 8];
	static _Thread_local unsigned next;
	char *out = ring[next++ % LOG_Q_RING];
	size_t o = 0;

	if (s == NULL)
		return "\"\"";
	if (len <= LOG_Q_MAX && plain_token(s, len)) {
		memcpy(out, s, len);
		out[len] = '\0';
		return out;
	}
	out[o++] = '"';
	for (size_t i = 0; i < len && i < LOG_Q_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < ' ' || c == 0x7f) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (len > LOG_Q_MAX) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

const char *
log_qs(const char *s)
{
	return log_q(s, s ? strlen(s) : 0);
}
