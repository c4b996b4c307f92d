/*
 * SMTP AUTH (RFC 4954) with PLAIN and LOGIN, only over TLS. The password is
 * checked on a worker (auth.h); failures are answered after a growing delay
 * (counted per connection, client address and account: throttle.h) and the
 * connection is closed after cfg.max_auth_failures.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "../auth/auth.h"
#include "../auth/sasl.h"
#include "../core/config.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/runtime.h"
#include "../util/str.h"
#include "smtp_int.h"

/* "Username:" and "Password:" in base64, as LOGIN clients expect. */
#define SASL_LOGIN_USER "VXNlcm5hbWU6"
#define SASL_LOGIN_PASS "UGFzc3dvcmQ6"

static void
auth_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	if (s->base.conn != NULL) {
		if (s->auth_failures >= auth_max_failures(s->base.srv)) {
			smtp_reply(s, 421, "4.7.0", "Too many failed "
				   "authentication attempts");
			session_close(&s->base, NULL);
		} else {
			smtp_reply(s, 535, "5.7.8", "Authentication "
				   "credentials invalid");
		}
	}
	if (!session_unref(&s->base))
		smtp_session_resume(s);
}

/* Answers a failed AUTH after the delay; the reference is kept through
 * it. n: the count the delay grows with. */
static void
auth_fail_later(struct smtp_session *s, unsigned n)
{
	if (auth_fail_timer(s->base.srv, &s->delay_ev, n, auth_delay_done,
			    s) < 0)
		auth_delay_done(-1, 0, s);
}

static const char *
auth_mech_name(const struct smtp_session *s)
{
	return s->sasl_mech == SASL_MECH_LOGIN ? "LOGIN" : "PLAIN";
}

/* RFC 4954 §6: 454 4.7.0 is the temporary failure the client may retry
 * later; for a blocked address it counts as a failure of this session
 * too, so a client that keeps trying is cut off at max_auth_failures. */
static void
auth_refused(struct smtp_session *s, enum auth_result result)
{
	auth_refused_note(&s->base, s->sasl_user, auth_mech_name(s), result,
			  &s->auth_failures);
	if (result == AUTH_BLOCKED &&
	    s->auth_failures >= auth_max_failures(s->base.srv)) {
		smtp_reply(s, 421, "4.7.0", "Too many failed authentication "
			   "attempts, try again later");
		session_close(&s->base, NULL);
		return;
	}
	smtp_reply(s, 454, "4.7.0", "Temporary authentication failure%s",
		   result == AUTH_BLOCKED ? ", try again later" :
		   result == AUTH_BUSY ? ", server busy" : "");
}

static void
auth_done(void *arg, const struct auth_outcome *o)
{
	struct smtp_session *s = arg;

	if (s->base.conn == NULL) {
		session_unref(&s->base);
		return;
	}
	if (o->result == AUTH_OK) {
		s->authed = true;
		str_lcpy(s->auth_user, o->address, sizeof(s->auth_user));
		session_set_user(&s->base, o->account_id, s->auth_user);
		log_info(s->base.id, "auth", " user=%s result=ok",
			 log_qs(s->auth_user));
		metrics_login(conn_proto(s->base.conn), true, NULL);
		smtp_reply(s, 235, "2.7.0", "Authentication successful");
	} else if (o->result == AUTH_FAILED) {
		struct auth_req rq = { .sess_id = s->base.id,
				       .peer_ip = conn_peer(s->base.conn),
				       .user = s->sasl_user };
		/* Counted by the throttle already (o->failures): the delay
		 * grows with the higher count, as in IMAP and POP3. */
		unsigned n = auth_session_failure(s->base.srv, &rq, o->failures,
						  ++s->auth_failures);

		auth_log_failure(&s->base, s->sasl_user, auth_mech_name(s),
				 AUTH_FAIL_CREDENTIALS, s->auth_failures);
		auth_fail_later(s, n);
		return;
	} else {
		auth_refused(s, o->result);
	}
	if (!session_unref(&s->base))
		smtp_session_resume(s);
}

static void
auth_check(struct smtp_session *s, struct sasl_creds *c)
{
	struct auth_req rq = {
		.sess_id = s->base.id,
		.peer_ip = conn_peer(s->base.conn),
		.user = c->user,
		.pass = c->pass,
	};

	smtp_set_mode(s, SMTP_MODE_COMMAND);
	/* We authorise only as ourselves: no proxy authorisation. Counts
	 * as a failed login for the throttle. */
	if (c->authzid[0] != '\0' && strcmp(c->authzid, c->user) != 0) {
		auth_note_failure(s->base.srv, &rq);
		auth_log_failure(&s->base, c->user, auth_mech_name(s),
				 AUTH_FAIL_AUTHZID, ++s->auth_failures);
		sasl_creds_clear(c);
		smtp_reply(s, 535, "5.7.8", "Authorization identity refused");
		return;
	}
	str_lcpy(s->sasl_user, c->user, sizeof(s->sasl_user));
	session_ref(&s->base);
	conn_pause(s->base.conn);
	auth_verify_async(s->base.srv, &rq, auth_done, s);
	sasl_creds_clear(c);
}

static void
auth_malformed(struct smtp_session *s)
{
	smtp_set_mode(s, SMTP_MODE_COMMAND);
	auth_log_failure(&s->base, s->sasl_user, auth_mech_name(s),
			 AUTH_FAIL_MALFORMED, s->auth_failures);
	smtp_reply(s, 501, "5.5.2", "Malformed authentication response");
	session_error(&s->base);
}

/* One client response: the initial response or a line after 334. */
static void
auth_step(struct smtp_session *s, const char *b64, size_t len)
{
	struct sasl_creds c;

	memset(&c, 0, sizeof(c));
	if (s->sasl_mech == SASL_MECH_PLAIN) {
		if (sasl_plain_decode(b64, len, &c) < 0) {
			auth_malformed(s);
			return;
		}
		auth_check(s, &c);
		return;
	}
	if (s->sasl_step == 0) {
		if (sasl_login_decode(b64, len, s->sasl_user,
				      sizeof(s->sasl_user)) < 0 ||
		    s->sasl_user[0] == '\0') {
			auth_malformed(s);
			return;
		}
		s->sasl_step = 1;
		smtp_set_mode(s, SMTP_MODE_SASL);
		smtp_reply(s, 334, NULL, SASL_LOGIN_PASS);
		return;
	}
	if (sasl_login_decode(b64, len, c.pass, sizeof(c.pass)) < 0 ||
	    c.pass[0] == '\0') {
		sasl_creds_clear(&c);
		auth_malformed(s);
		return;
	}
	str_lcpy(c.user, s->sasl_user, sizeof(c.user));
	auth_check(s, &c);
}

void
smtp_sasl_line(struct smtp_session *s, const char *line, size_t len)
{
	/* RFC 4954 §4: "*" cancels the exchange. */
	if (len == 1 && line[0] == '*') {
		smtp_set_mode(s, SMTP_MODE_COMMAND);
		smtp_reply(s, 501, "5.7.0", "Authentication cancelled");
		return;
	}
	auth_step(s, line, len);
}

void
smtp_cmd_auth(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	const char *arg = cmd->arg;
	size_t mlen = 0;

	/* The dispatcher has checked TLS and that no one is logged in. */
	while (mlen < cmd->arg_len && arg[mlen] != ' ')
		mlen++;
	s->sasl_mech = sasl_mech_parse(arg, mlen);
	s->sasl_step = 0;
	s->sasl_user[0] = '\0';
	if (s->sasl_mech == SASL_MECH_UNKNOWN) {
		smtp_reply(s, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	if (mlen < cmd->arg_len) {
		const char *ir = arg + mlen + 1;
		size_t irlen = cmd->arg_len - mlen - 1;
		/* RFC 4954 §4: "=" is an empty initial response. */
		if (irlen == 1 && ir[0] == '=')
			irlen = 0;
		if (irlen > 0 || s->sasl_mech == SASL_MECH_PLAIN) {
			auth_step(s, ir, irlen);
			return;
		}
	}
	smtp_set_mode(s, SMTP_MODE_SASL);
	smtp_reply(s, 334, NULL, "%s", s->sasl_mech == SASL_MECH_LOGIN
					       ? SASL_LOGIN_USER : "");
}
