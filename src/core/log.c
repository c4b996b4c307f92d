/* Structured one-line-per-event logging to stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int log_level_current = LOG_INFO;

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

void
log_event(enum log_level level, const char *sess, const char *event,
	  const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;

	if ((int)level > log_level_current)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03dZ %s", (int)(tv.tv_usec / 1000),
		     level_names[level]);
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
	/* One write(2) per line so lines from threads never interleave. */
	ssize_t w = write(STDERR_FILENO, line, n);
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
