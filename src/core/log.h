/*
 * Structured logging: one line per event,
 *   2026-11-23T08:00:00.123Z info sess=0123456789abcdef msg=... event=accept k=v ...
 * on stderr (the default), appended to a file, or sent to syslog (facility
 * mail, without our timestamp: syslog adds its own). Values with spaces,
 * quotes or control bytes are quoted and escaped with log_q(). Never log a
 * password or a SASL response.
 */
#ifndef POSTEL_LOG_H
#define POSTEL_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; -1 when unknown. */
int log_level_parse(const char *name);
/* Where lines go: the config key `log` (docs/CONFIG.md). */
enum log_output {
	LOG_OUT_STDERR = 0,
	LOG_OUT_SYSLOG,  /* a datagram to /dev/log, or to the path given */
	LOG_OUT_FILE,    /* appended; reopened by log_reopen() */
};
/* The default syslog socket (what syslog(3) uses). */
#define LOG_SYSLOG_SOCKET "/dev/log"
/* Parses a `log` value: "stderr", "syslog", "syslog:/SOCKET" or
 * "/FILE" (absolute paths: the daemon's working directory is nobody's
 * business). 0 with *out_r and *path_r (the socket or file path, pointing
 * into spec; NULL for stderr), or -1 when malformed. */
int log_target_parse(const char *spec, enum log_output *out_r,
		     const char **path_r);
/* Sends every later line to spec (as log_target_parse reads it). Call it
 * before other threads run. 0, or -1 with err (output unchanged). */
int log_open(const char *spec, char *err, size_t errlen);
/* Opens the file again under the same name (logrotate renamed the old
 * one) and switches to it at once for every thread; the old file stays
 * in use when that fails. 1 reopened, 0 nothing to do (stderr, syslog),
 * -1 with err. */
int log_reopen(char *err, size_t errlen);
/* The path log_open was given for a file or socket, else "". */
const char *log_target_path(void);

/* sess may be NULL (server-wide events). fmt continues the line after
 * "event=<event>" and should be " k=v" pairs. Thread-safe: a line is
 * written with one write(2). */
/* Batching for the calling thread (the event loop): from log_batch_begin
 * on, its lines collect in memory and go out in one write(2) at each
 * log_batch_flush (the loop calls it after every turn, before it waits
 * again, so a line is written before the client can see the reply it
 * describes), when the buffer is full, or at once after an error line
 * (it may precede an abort); log_batch_end flushes and stops.
 * A busy loop writes one line per message event: this makes them one
 * system call per turn. Syslog output is never batched. */
void log_batch_begin(void);
void log_batch_flush(void);
void log_batch_end(void);

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
