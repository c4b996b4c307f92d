/*
 * One client connection: socket, optional TLS, buffered input and output,
 * idle timeout. Wraps a libevent bufferevent. Output is queued and flushed by
 * the loop; while more than LIMIT_OUTPUT_HIGH_WATER is queued the connection
 * stops reading (backpressure). All functions run on the loop thread.
 */
#ifndef POSTEL_CONN_H
#define POSTEL_CONN_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct server;
struct conn;

struct conn_handler {
	/* New input is in conn_input(). */
	void (*on_read)(void *ctx);
	/* Peer closed, I/O or TLS error, or idle timeout (reason says which:
	 * "eof", "error", "timeout", "tls", "compress": corrupt deflate
	 * data). The conn is dead; the session must call conn_free() (now
	 * or later) and never touch it again. */
	void (*on_close)(void *ctx, const char *reason);
	/* Optional: queued output fell below half the high-water mark (a
	 * session streaming a large reply can queue more). */
	void (*on_drain)(void *ctx);
	/* Optional: no input for the idle timeout. The conn is still usable
	 * for a last reply (then conn_close_after_flush). Without this hook a
	 * timeout is reported through on_close("timeout"). */
	void (*on_timeout)(void *ctx);
};

/* Takes ownership of fd. implicit_tls starts a TLS server handshake at
 * once (ports 465, 995). NULL on failure (fd closed). */
struct conn *conn_new(struct server *srv, int fd, const char *peer_ip,
		      bool implicit_tls);
void conn_set_handler(struct conn *c, const struct conn_handler *h,
		      void *ctx);
/* Flushes what is queued (best effort, without waiting) and frees. */
void conn_free(struct conn **cp);

struct evbuffer *conn_input(struct conn *c);
void conn_write(struct conn *c, const void *data, size_t len);
void conn_printf(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Bytes queued and not yet sent. */
size_t conn_output_pending(struct conn *c);

/* STARTTLS / STLS: the reply saying "go ahead" must already be queued.
 * Discards every input byte received so far (RFC 3207 §4.2: no command
 * injection), then handshakes; later input arrives decrypted. 0 or -1. */
int conn_starttls(struct conn *c);
bool conn_is_tls(const struct conn *c);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" or "" */
const char *conn_tls_info(const struct conn *c);

/* COMPRESS=DEFLATE (RFC 4978): from now on output is raw-deflated (with
 * a sync flush each loop turn) and input inflated. Output queued before
 * the call (the tagged OK) still goes out plain; input bytes not yet read
 * by the session are taken as compressed. Bounded: at most
 * LIMIT_INPUT_HIGH_WATER of inflated input is held. 0 or -1 (already on,
 * STARTTLS pending, closing or out of memory). */
int conn_compress_start(struct conn *c);
bool conn_is_compressed(const struct conn *c);

/* Stop/start delivering on_read while an async job runs. */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
/* Idle timeout in seconds while waiting for input (0: none). */
void conn_set_timeout(struct conn *c, int seconds);
/* Slow clients. A command line must be complete within seconds of its
 * first byte (0: no deadline); the idle timeout alone restarts on every
 * read. On expiry the session hears on_timeout (or on_close "timeout"). */
void conn_set_line_deadline(struct conn *c, int seconds);
/* Called by the session after it has taken what it could from the input:
 * waiting says part of a line (or command) has arrived and the session
 * waits for the rest (not for a job, not in a bulk transfer), consumed
 * that it took a whole line since the last call. While waiting the line
 * deadline runs (restarted when consumed); otherwise it stops. */
void conn_line_wait(struct conn *c, bool waiting, bool consumed);
/* A bulk transfer (DATA/BDAT) from now on: it may last grace seconds plus
 * one second per min_rate bytes received, then on_timeout as above.
 * min_rate 0 ends the check. */
void conn_set_min_rate(struct conn *c, int min_rate, int grace);
/* After the queued output is sent, close (on_close gets "quit"). */
void conn_close_after_flush(struct conn *c);

/* Closes the sockets still draining after a lingering close
 * (conn_linger.c); before the loop is freed. */
void conn_linger_free_all(struct server *srv);

/* SIGTERM: reports on_close(reason) to every live connection. */
void conn_shutdown_all(struct server *srv, const char *reason);

const char *conn_peer(const struct conn *c);  /* "127.0.0.1" / "::1" */
const char *conn_id(const struct conn *c);    /* 16 hex chars, log sess= */
/* The name of the listener that accepted it ("submission", "imaps"...),
 * for log lines that must stand alone (a failed login: fail2ban reads
 * one line at a time). name must be static; "?" until set. */
void conn_set_proto(struct conn *c, const char *name);
const char *conn_proto(const struct conn *c);

#endif
