/*
 * Structured logging: one line per event on stderr,
 *   2026-11-23T08:00:00.123Z info sess=0123456789abcdef msg=... event=accept k=v ...
 * Values with spaces, quotes or control bytes are quoted and escaped with
 * log_q(). Never log a password or a SASL response.
 */
#ifndef POSTEL_LOG_H
#define POSTEL_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int log_level_parse(const char *name);
/* sess may be NULL (server-wide events). fmt continues the line after
 * "event=<event>" and should be " k=v" pairs. Thread-safe: a line is
 * written with one write(2). */
void log_event(enum log_level level, const char *sess, const char *event,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Returns s[0..len) as a log value: unchanged when it is a plain token,
 * otherwise double-quoted with \" \\ and \xNN escapes. The result lives in
 * a small per-thread ring of buffers, valid for the next few calls only;
 * long values are cut at 200 bytes with "...". */
const char *log_q(const char *s, size_t len);
const char *log_qs(const char *s);

#define log_error(sess, ev, ...) log_event(LOG_ERROR, sess, ev, __VA_ARGS__)
#define log_warn(sess, ev, ...) log_event(LOG_WARN, sess, ev, __VA_ARGS__)
#define log_info(sess, ev, ...) log_event(LOG_INFO, sess, ev, __VA_ARGS__)
#define log_debug(sess, ev, ...)                                             \
	do {                                                                 \
		if (log_get_level() >= LOG_DEBUG)                            \
			log_event(LOG_DEBUG, sess, ev, __VA_ARGS__);         \
	} while (0)

#endif
