/*
 * Login for SMTP AUTH, POP3 and IMAP: refuses at once a client address the
 * throttle has blocked, looks the account up and checks the verified-login
 * cache on a lookup thread, and only then queues the slow hash on the
 * bounded auth pool. Reports on the loop thread. Protocol sessions own the
 * per-connection failure count and the reply delay timer (limits.h); the
 * glue they share is at the end of this header.
 */
#ifndef POSTEL_AUTH_H
#define POSTEL_AUTH_H

#include <stdint.h>

#include <event2/event.h>

struct server;
struct session;

enum auth_result {
	AUTH_OK = 0,
	AUTH_FAILED,   /* unknown user or wrong password: same answer */
	AUTH_TEMPFAIL, /* store unavailable */
	AUTH_BLOCKED,  /* the client address is blocked (throttle.h) */
	AUTH_BUSY,     /* the hashing queue is full (auth_queue_max) */
};

/* Who is logging in; every string is copied. */
struct auth_req {
	const char *sess_id; /* for log lines; may be NULL */
	const char *peer_ip; /* conn_peer(): numeric client address */
	const char *user;
	const char *pass;    /* ignored by auth_note_failure */
};

struct auth_outcome {
	enum auth_result result;
	int64_t account_id;  /* AUTH_OK, else -1 */
	const char *address; /* AUTH_OK: canonical "local@domain"; else "" */
	/* AUTH_FAILED: the throttle's count for the client address or the
	 * account, whichever is higher (this failure included). */
	unsigned failures;
};

/* On the loop thread; *o is valid during the call only. */
typedef void (*auth_done_cb)(void *arg, const struct auth_outcome *o);

/* The callback always runs exactly once, later, on the loop thread; the
 * caller keeps arg alive (hold a reference) until then. The password copy
 * is wiped after use. */
void auth_verify_async(struct server *srv, const struct auth_req *rq,
		       auth_done_cb cb, void *arg);
/* Counts a failure the protocol decided itself (malformed credentials, a
 * foreign authorization identity) like a wrong password; returns the
 * throttle count as in auth_outcome.failures. */
unsigned auth_note_failure(struct server *srv, const struct auth_req *rq);
/* Milliseconds to wait before answering the n-th failure:
 * auth_fail_delay_ms * n, at most auth_fail_delay_max_ms. */
long auth_fail_delay_ms(const struct server *srv, unsigned n);

/* Glue shared by the protocol sessions (their failure count and reply
 * delay), all on the loop thread. */
/* max_auth_failures, or LIMIT_AUTH_FAILURES_DEFAULT when 0 (IMAP, POP3). */
unsigned auth_max_failures(const struct server *srv);
/* A failed login, the session's failures-th: counts it with the throttle
 * unless it was counted there already (n, auth_outcome.failures; 0: not
 * yet) and returns the count the reply delay grows with, the higher of
 * the two. */
unsigned auth_session_failure(struct server *srv, const struct auth_req *rq,
			      unsigned n, unsigned failures);
/* Why a login failed, as the log line's reason= says it. */
enum auth_fail_reason {
	AUTH_FAIL_CREDENTIALS = 0, /* unknown user or wrong password */
	AUTH_FAIL_MALFORMED,       /* unusable credentials (bad SASL, NUL) */
	AUTH_FAIL_AUTHZID,         /* a foreign authorization identity */
	AUTH_FAIL_BLOCKED,         /* the client address is blocked */
	AUTH_FAIL_BUSY,            /* the hashing queue is full (ours) */
	AUTH_FAIL_UNAVAILABLE,     /* the store failed (ours) */
};

/* Every failed login of every protocol, in the one format fail2ban reads
 * (contrib/fail2ban/postel.conf; docs/ARCHITECTURE.md, "Logs"):
 *   warn sess=S event=login_fail proto=P ip=A user=U mech=M reason=R
 *   failures=N
 * proto is the listener's name (conn_proto), ip the client address,
 * user the attempted name (quoted, maybe empty), failures this session's
 * count. s->conn must still be there. */
void auth_log_failure(const struct session *s, const char *user,
		      const char *mech, enum auth_fail_reason why,
		      unsigned failures);
/* Arms the session's delay timer *ev (made on first use, with cb and arg)
 * for auth_fail_delay_ms(n). 0, or -1 when it could not be armed: the
 * caller answers at once. */
int auth_fail_timer(struct server *srv, struct event **ev, unsigned n,
		    event_callback_fn cb, void *arg);
/* A login refused before any password check (AUTH_TEMPFAIL, AUTH_BLOCKED,
 * AUTH_BUSY): logs it (auth_log_failure) and counts a blocked address as
 * a failure of the session (*failures), so a client that keeps trying is
 * cut off. */
void auth_refused_note(const struct session *s, const char *user,
		       const char *mech, enum auth_result result,
		       unsigned *failures);

#endif
