/*
 * The session base every protocol session embeds as its first member
 * (struct smtp_session, pop3_session, imap_session; later the SMTP client
 * and HTTP): the server and connection, a copy of the log id, the
 * reference count, the closing state and reason, the error count, and one
 * resumable line reader. What differs between protocols (what a line
 * means, the words of the timeout and too-many-errors replies, the close
 * log) goes through struct session_ops.
 *
 * Lifetime (STYLE.md rule 13): one reference for the connection, one per
 * pending asynchronous job. When the connection closes the conn is freed
 * at once (conn == NULL from then on) and its reference dropped; the
 * session is freed (ops->free) when the last reference goes, so a late
 * callback never finds a freed session. All on the loop thread.
 */
#ifndef POSTEL_SESSION_H
#define POSTEL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct conn;
struct server;
struct session;

/* Why a session is asked to end from outside (session_bye). */
enum session_bye {
	SESSION_BYE_NONE = 0,
	SESSION_BYE_KICK,     /* postel kick / user del: the user is out */
	SESSION_BYE_SHUTDOWN, /* SIGTERM/SIGINT */
};

/* The connection as it closed (session_close_cb). */
struct session_end {
	const char *proto;       /* the listener's name (static) */
	char ip[64];
	bool tls;
};

struct session_ops {
	/* New input is in conn_input(s->conn). */
	void (*on_read)(struct session *s);
	/* The connection is gone (reason from conn.h; s->end_reason is the
	 * session's own when it closed itself); conn is already NULL and
	 * closing true. Log the end, stop timers; the base then drops the
	 * connection's reference. */
	void (*on_close)(struct session *s, const char *reason);
	/* Optional: queued output fell below half the high-water mark. */
	void (*on_drain)(struct session *s);
	/* No input for the idle timeout or the line deadline: the last
	 * reply (the base then closes with reason "timeout"). */
	void (*timeout_reply)(struct session *s);
	/* The max_errors-th error: the last reply before the close. */
	void (*too_many_errors)(struct session *s);
	/* A line longer than the reader's max (answered once per line):
	 * line_end says its end has been seen (and dropped) already;
	 * s->line_head holds its first octets (dropped from the input). */
	void (*line_too_long)(struct session *s, bool line_end);
	/* The session was asked to end (session_bye) and is between
	 * commands: the protocol's last words (IMAP "* BYE", POP3 "-ERR",
	 * SMTP 421); the base then closes with reason "kick" or
	 * "shutdown". Optional: without it the session just closes. */
	void (*bye_reply)(struct session *s, enum session_bye why);
	/* The last reference is gone: free the protocol's state and s. */
	void (*free)(struct session *s);
	unsigned max_errors;
	/* The reader's max counts the CR of a CRLF line end (SMTP:
	 * RFC 5321 §4.5.3.1.4 counts the line end in the limit). */
	bool max_counts_cr;
};

/* How many first octets of an overlong line line_too_long may look at
 * (SMTP spots "BDAT" there, RFC 3030 §2). */
#define SESSION_LINE_HEAD 8

struct session {
	const struct session_ops *ops;
	struct server *srv;
	struct conn *conn;       /* NULL once the connection closed */
	char id[17];             /* conn_id() copy (log sess=), valid after
				  * the conn is gone: jobs may log later */
	int refs;                /* 1 for the conn + 1 per pending job */
	bool implicit_tls;       /* ports 465, 993, 995 */
	bool closing;            /* close asked or conn gone: read no more */
	bool discarding;         /* inside an overlong line, up to its LF */
	const char *end_reason;  /* why we closed: "quit", "errors", ... */
	unsigned errors;         /* protocol errors, up to ops->max_errors */
	size_t eol_len;          /* of the line session_read_line found */
	char line_head[SESSION_LINE_HEAD]; /* of the overlong line met */
	size_t line_head_len;
	/* For postel status/who/kick (the control socket): when the client
	 * came, who logged in (session_set_user; user points into the
	 * protocol's own session, NULL before a login), and whether it was
	 * asked to end. Live sessions (conn not NULL) are on srv's list. */
	time_t since;
	time_t login_at;
	/* During on_close only: what session_log_end needs of the gone
	 * connection (on the closing call's stack, not kept per session:
	 * 10,000 idle sessions would pay for it). */
	const struct session_end *end;
	int64_t account_id;
	const char *user;
	enum session_bye bye;
	struct session *live_prev, *live_next;
};

/* Fills the base (refs = 1) and takes the connection's events over. */
void session_init(struct session *s, const struct session_ops *ops,
		  struct server *srv, struct conn *conn, bool implicit_tls);
void session_ref(struct session *s);
/* Drops a reference; true when it was the last and s has been freed. */
bool session_unref(struct session *s);
/* The connection runs TLS (implicit or after STARTTLS). */
bool session_is_tls(const struct session *s);
/* Ends the session once the queued replies are sent; reason is logged
 * (static string). Nothing when already closing. */
void session_close(struct session *s, const char *reason);
/* After the protocol's "go ahead" reply to STARTTLS/STLS: switches the
 * connection to TLS once that reply has left (conn_starttls), logging the
 * outcome. 0 on success (the caller reads nothing until the handshake);
 * -1 when the switch cannot start: the session is closed ("tls"). */
int session_starttls(struct session *s);
/* Counts a protocol error; at ops->max_errors answers
 * (ops->too_many_errors) and closes with reason "errors". true when the
 * session is now closing. */
bool session_error(struct session *s);

/* The session's one info line, from the protocol's on_close:
 * `event=session proto=P ip=A reason=R secs=N tls=yes|no user=U` and what
 * the protocol adds (fmt, printf-style, each field with its leading
 * space). One line per connection: its start is logged at debug only. */
void session_log_end(const struct session *s, const char *reason,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A login succeeded: user (the account's address, kept by the caller
 * for the session's life) is shown by postel who and matched by kick. */
void session_set_user(struct session *s, int64_t account_id,
		      const char *user);
/* Asks the session to end: at once when it is between commands (an IMAP
 * IDLE counts), else when the running command or transaction has been
 * answered (a DATA being committed gets its 250 first). Nothing when the
 * session is closing already. */
void session_bye(struct session *s, enum session_bye why);
/* Called by the protocols at each command boundary (before taking the
 * next command): when a bye was asked, says the last words and closes;
 * true then (the caller reads nothing more). */
bool session_bye_due(struct session *s);
/* The live sessions (connection open), newest first: the first one and,
 * from each, the next (NULL at the end). Loop thread. */
struct session *session_live_first(struct server *srv);
static inline struct session *
session_live_next(const struct session *s)
{
	return s->live_next;
}
unsigned session_live_count(const struct server *srv);
/* session_bye for every live session (user NULL) or for those logged in
 * as user (compared case-insensitively). Returns how many were asked. */
unsigned session_bye_all(struct server *srv, enum session_bye why,
			 const char *user);

/* The resumable line reader (RFC 5321 §4.5.3.1.4, RFC 2449 §4, RFC 9051
 * §4: lines have a maximum length). Looks for the next line of at most
 * max octets (without its CRLF, or LF) at the front of the input:
 *   1  it is there, *len_r octets long: take it with session_take_line;
 *   0  need more input;
 *  -1  an overlong line was met: what came of it is dropped, the client
 *      answered once (ops->line_too_long); the caller loops on.
 * The rest of an overlong line that has not arrived yet is dropped by the
 * next calls (s->discarding). */
int session_read_line(struct session *s, size_t max, size_t *len_r);
/* Removes the line found by session_read_line: its len octets into dst
 * (not NUL-terminated; dst NULL drops them), then its end of line. */
void session_take_line(struct session *s, void *dst, size_t len);

#endif
