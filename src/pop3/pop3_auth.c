/*
 * POP3 login: USER/PASS (RFC 1939 §7) and AUTH PLAIN (RFC 5034, RFC 4616).
 * The password is checked on a worker (auth_verify_async); failed attempts
 * are answered after a growing delay (an event timer, never a sleep) and
 * the connection is cut after max_auth_failures (DESIGN.md principle 4).
 */
#include <event2/event.h>
#include <string.h>

#include "../auth/auth.h"
#include "../auth/sasl.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/runtime.h"
#include "../util/str.h"
#include "pop3_maildrop.h"
#include "pop3_reply.h"
#include "pop3_session.h"

/* After a refused login: cut the session off at max_auth_failures, else
 * take commands again. */
static void
pop3_auth_next(struct pop3_session *s)
{
	if (s->auth_failures >= auth_max_failures(s->base.srv)) {
		log_warn(s->base.id, "auth_limit", " failures=%u",
			 s->auth_failures);
		session_close(&s->base, "auth_failures");
		return;
	}
	pop3_session_unbusy(s);
}

static void
pop3_auth_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session *s = arg;

	/* RFC 3206 §4: [AUTH] says the credentials were wrong, so the
	 * client should not retry blindly. */
	pop3_reply_err(s, POP3_CODE_AUTH, POP3_TXT_AUTH_FAILED);
	pop3_auth_next(s);
}

/* Counts a failed login and answers it after the growing delay
 * (auth_fail_delay_ms times the higher of this session's count and the
 * throttle's, n; 0: not yet counted there). The session stays busy
 * meanwhile; the timer is the session's and dies with it if the client
 * leaves. */
static void
pop3_auth_failed(struct pop3_session *s, unsigned n,
		 enum auth_fail_reason why)
{
	struct auth_req rq = { .sess_id = s->base.id,
			       .peer_ip = conn_peer(s->base.conn),
			       .user = s->address };

	n = auth_session_failure(s->base.srv, &rq, n, ++s->auth_failures);
	auth_log_failure(&s->base, s->address, s->auth_mech, why,
			 s->auth_failures);
	s->address[0] = '\0';
	if (auth_fail_timer(s->base.srv, &s->delay_ev, n, pop3_auth_delay_cb, s)
	    < 0) {
		pop3_auth_delay_cb(-1, 0, s);
		return;
	}
	pop3_session_busy(s);
}

/* A login refused before any password check (store down, client address
 * blocked, hashing queue full): RFC 3206 §4 [SYS/TEMP], "a temporary
 * problem ... the client may try again later". A blocked address counts
 * as a failure of the session, so it is cut off at the limit. */
static void
pop3_auth_refused(struct pop3_session *s, enum auth_result result)
{
	auth_refused_note(&s->base, s->address, s->auth_mech, result,
			  &s->auth_failures);
	s->address[0] = '\0';
	pop3_reply_err(s, POP3_CODE_SYS_TEMP, POP3_TXT_TEMP);
	pop3_auth_next(s);
}

static void
pop3_auth_done_cb(void *arg, const struct auth_outcome *o)
{
	struct pop3_session *s = arg;

	if (s->base.conn == NULL) {
		session_unref(&s->base);
		return;
	}
	/* Every branch below either starts more work or unbusies. */
	switch (o->result) {
	case AUTH_OK:
		s->account_id = o->account_id;
		str_lcpy(s->address, o->address, sizeof(s->address));
		log_info(s->base.id, "login", " user=%s mech=%s",
			 log_qs(s->address), s->auth_mech);
		metrics_login(conn_proto(s->base.conn), true, NULL);
		pop3_maildrop_open(s);
		break;
	case AUTH_FAILED:
		pop3_auth_failed(s, o->failures, AUTH_FAIL_CREDENTIALS);
		break;
	default:
		pop3_auth_refused(s, o->result);
		break;
	}
	session_unref(&s->base);
}

/* Hands user and pass to a worker; the reference lives until the
 * callback. s->address holds the attempted name for the log lines. */
static void
pop3_auth_begin(struct pop3_session *s, const char *user, const char *pass,
		const char *mech)
{
	struct auth_req rq = { .sess_id = s->base.id,
			       .peer_ip = conn_peer(s->base.conn),
			       .user = user,
			       .pass = pass };

	str_lcpy(s->address, user, sizeof(s->address));
	s->user[0] = '\0';
	s->auth_mech = mech;
	pop3_session_busy(s);
	session_ref(&s->base);
	auth_verify_async(s->base.srv, &rq, pop3_auth_done_cb, s);
}

void
pop3_auth_user(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	/* The same +OK whether or not the account exists (RFC 1939 §13:
	 * do not reveal valid names). */
	if (cmd->nargs < 1 || cmd->arg_lens[0] == 0 ||
	    cmd->arg_lens[0] > LIMIT_ADDRESS) {
		pop3_reply_err(s, NULL, "Invalid user name");
		session_error(&s->base);
		return;
	}
	memcpy(s->user, cmd->args[0], cmd->arg_lens[0]);
	s->user[cmd->arg_lens[0]] = '\0';
	pop3_reply_ok(s, "Send your password");
}

void
pop3_auth_pass(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	char pass[SASL_PASS_MAX + 1];
	char user[LIMIT_ADDRESS + 1];
	const char *p = cmd->rest;
	size_t len = cmd->rest_len;

	if (p == NULL && cmd->nargs > 0) {
		p = cmd->args[0];
		len = cmd->arg_lens[0];
	}
	if (s->user[0] == '\0') {
		pop3_reply_err(s, NULL, "USER first");
		session_error(&s->base);
		return;
	}
	str_lcpy(user, s->user, sizeof(user));
	s->user[0] = '\0';
	s->auth_mech = "USER";
	if (p == NULL || len == 0 || len > SASL_PASS_MAX ||
	    memchr(p, '\0', len) != NULL) {
		str_lcpy(s->address, user, sizeof(s->address));
		pop3_auth_failed(s, 0, AUTH_FAIL_MALFORMED);
		return;
	}
	memcpy(pass, p, len);
	pass[len] = '\0';
	pop3_auth_begin(s, user, pass, "USER");
	explicit_bzero(pass, sizeof(pass));
}

/* RFC 4616 §2 message, base64 (RFC 5034 §4). */
static void
pop3_auth_plain(struct pop3_session *s, const char *b64, size_t len)
{
	struct sasl_creds c;

	s->auth_mech = "PLAIN";
	if (sasl_plain_decode(b64, len, &c) < 0) {
		sasl_creds_clear(&c);
		auth_log_failure(&s->base, "", "PLAIN", AUTH_FAIL_MALFORMED,
				 s->auth_failures);
		pop3_reply_err(s, NULL, "Malformed SASL response");
		session_error(&s->base);
		return;
	}
	/* No proxy authorization: an authzid must name the user itself. */
	if (c.authzid[0] != '\0' && strcmp(c.authzid, c.user) != 0) {
		str_lcpy(s->address, c.user, sizeof(s->address));
		sasl_creds_clear(&c);
		pop3_auth_failed(s, 0, AUTH_FAIL_AUTHZID);
		return;
	}
	pop3_auth_begin(s, c.user, c.pass, "PLAIN");
	sasl_creds_clear(&c);
}

void
pop3_auth_auth(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	if (cmd->nargs == 0) {
		/* Not in RFC 5034, but common clients probe with a bare
		 * AUTH for the mechanism list. */
		pop3_reply_ok(s, "Supported mechanisms follow");
		pop3_reply_line(s, "PLAIN");
		pop3_reply_end(s);
		return;
	}
	if (sasl_mech_parse(cmd->args[0], cmd->arg_lens[0]) !=
	    SASL_MECH_PLAIN) {
		pop3_reply_err(s, NULL, "Unsupported authentication mechanism");
		session_error(&s->base);
		return;
	}
	if (cmd->nargs > 1) {
		pop3_auth_plain(s, cmd->args[1], cmd->arg_lens[1]);
		return;
	}
	s->sasl_wait = true;
	pop3_reply_continue(s);
}

void
pop3_auth_sasl_line(struct pop3_session *s, const char *line, size_t len)
{
	s->sasl_wait = false;
	/* RFC 5034 §4: "*" cancels the exchange. */
	if (len == 1 && line[0] == '*') {
		pop3_reply_err(s, NULL, "Authentication cancelled");
		return;
	}
	pop3_auth_plain(s, line, len);
}
