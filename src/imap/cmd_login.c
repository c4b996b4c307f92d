/*
 * The login commands, those of the not-authenticated state (RFC 9051
 * §6.2): STARTTLS, LOGIN and AUTHENTICATE PLAIN with SASL-IR (RFC 4959).
 * Passwords are checked on a worker; failures are answered after a
 * growing delay (a timer, never a sleep). UNAUTHENTICATE (RFC 8437) goes
 * back to that state.
 */
#include <event2/event.h>
#include <string.h>

#include "../auth/auth.h"
#include "../auth/sasl.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../util/str.h"
#include "imap_int.h"

/* RFC 9051 §6.2.1. conn_starttls() drops the plaintext received so far,
 * so commands pipelined after STARTTLS are never run. */
void
imap_cmd_starttls(struct imap_session *s, const struct imap_cmd *c)
{
	if (session_is_tls(&s->base)) {
		imap_finish(s, "BAD", NULL, "TLS already active");
		return;
	}
	if (s->base.srv->tls_ctx == NULL) {
		imap_finish(s, "NO", NULL, "TLS not available");
		return;
	}
	imap_finish(s, "OK", NULL, "Begin TLS negotiation now");
	if (session_starttls(&s->base) == 0)
		s->tls_pending = true;
}

/* ---- login --------------------------------------------------------- */

static void
imap_auth_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;

	imap_finish(s, "NO", "AUTHENTICATIONFAILED", "Authentication failed");
	if (s->auth_failures >= auth_max_failures(s->base.srv)) {
		log_warn(s->base.id, "auth_limit", " failures=%u",
			 s->auth_failures);
		imap_untagged(s, "BYE Too many authentication failures");
		session_close(&s->base, "auth_failures");
	}
}

/* Counts a failed login and answers it after the growing delay. n: the
 * throttle's count (auth_outcome.failures), 0 when not yet counted there. */
static void
imap_auth_failed(struct imap_session *s, const char *mech, unsigned n,
		 enum auth_fail_reason why)
{
	struct auth_req rq = { .sess_id = s->base.id,
			       .peer_ip = conn_peer(s->base.conn),
			       .user = s->address };

	n = auth_session_failure(s->base.srv, &rq, n, ++s->auth_failures);
	auth_log_failure(&s->base, s->address, mech, why, s->auth_failures);
	s->address[0] = '\0';
	if (auth_fail_timer(s->base.srv, &s->delay_ev, n, imap_auth_delay_cb, s)
	    < 0)
		imap_auth_delay_cb(-1, 0, s);
}

/* A login refused before any password check: the store is down, the
 * client address is blocked or the hashing queue is full. RFC 5530 §3
 * UNAVAILABLE: "temporary failure ... try again later". A blocked address
 * counts as a failure of the session, so it is cut off at the limit. */
static void
imap_auth_refused(struct imap_session *s, const char *mech,
		  enum auth_result result)
{
	auth_refused_note(&s->base, s->address, mech, result,
			  &s->auth_failures);
	s->address[0] = '\0';
	imap_finish(s, "NO", "UNAVAILABLE", "Temporary failure, try again "
		    "later");
	if (result == AUTH_BLOCKED &&
	    s->auth_failures >= auth_max_failures(s->base.srv)) {
		imap_untagged(s, "BYE Too many authentication failures");
		session_close(&s->base, "auth_failures");
	}
}

static void
imap_auth_done_cb(void *arg, const struct auth_outcome *o)
{
	struct imap_session *s = arg;
	struct buf caps;

	if (s->base.conn == NULL) {
		session_unref(&s->base);
		return;
	}
	if (o->result == AUTH_OK) {
		s->account_id = o->account_id;
		str_lcpy(s->address, o->address, sizeof(s->address));
		session_set_user(&s->base, s->account_id, s->address);
		s->state = IMAP_STATE_AUTH;
		log_info(s->base.id, "login", " user=%s", log_qs(s->address));
		metrics_login(conn_proto(s->base.conn), true, NULL);
		/* RFC 9051 §6.2.3: the OK may list the new capabilities. */
		buf_init(&caps, 2048);
		imap_cmds_capability(s, &caps);
		imap_finish(s, "OK", NULL, "[CAPABILITY %.*s] Logged in",
			    (int)caps.len, (const char *)caps.data);
		buf_fini(&caps);
	} else if (o->result == AUTH_FAILED) {
		imap_auth_failed(s, s->auth_mech, o->failures,
				 AUTH_FAIL_CREDENTIALS);
	} else {
		imap_auth_refused(s, s->auth_mech, o->result);
	}
	session_unref(&s->base);
}

static void
imap_auth_begin(struct imap_session *s, const char *user, const char *pass,
		const char *mech)
{
	struct auth_req rq = { .sess_id = s->base.id,
			       .peer_ip = conn_peer(s->base.conn),
			       .user = user,
			       .pass = pass };

	str_lcpy(s->address, user, sizeof(s->address));
	s->auth_mech = mech;
	session_ref(&s->base);
	auth_verify_async(s->base.srv, &rq, imap_auth_done_cb, s);
}

void
imap_cmd_login(struct imap_session *s, const struct imap_cmd *c)
{
	char user[LIMIT_ADDRESS + 1], pass[SASL_PASS_MAX + 1];
	const struct imap_arg *a = c->args;

	if (c->n_args != 2 || !imap_arg_is_string(&a[0]) ||
	    !imap_arg_is_string(&a[1])) {
		imap_finish(s, "BAD", NULL, "LOGIN needs user and password");
		session_error(&s->base);
		return;
	}
	if (a[0].len == 0 || a[0].len > LIMIT_ADDRESS || a[1].len == 0 ||
	    a[1].len > SASL_PASS_MAX || memchr(a[0].str, '\0', a[0].len) ||
	    memchr(a[1].str, '\0', a[1].len)) {
		imap_auth_failed(s, "LOGIN", 0, AUTH_FAIL_MALFORMED);
		return;
	}
	memcpy(user, a[0].str, a[0].len);
	user[a[0].len] = '\0';
	memcpy(pass, a[1].str, a[1].len);
	pass[a[1].len] = '\0';
	imap_auth_begin(s, user, pass, "LOGIN");
	explicit_bzero(pass, sizeof(pass));
}

/* RFC 4616 message, base64 (RFC 9051 §6.2.2). */
static void
imap_auth_plain(struct imap_session *s, const char *b64, size_t len)
{
	struct sasl_creds cr;

	if (sasl_plain_decode(b64, len, &cr) < 0) {
		sasl_creds_clear(&cr);
		auth_log_failure(&s->base, "", "PLAIN", AUTH_FAIL_MALFORMED,
				 s->auth_failures);
		imap_finish(s, "BAD", NULL, "Malformed SASL response");
		session_error(&s->base);
		return;
	}
	if (cr.authzid[0] != '\0' && strcmp(cr.authzid, cr.user) != 0) {
		str_lcpy(s->address, cr.user, sizeof(s->address));
		sasl_creds_clear(&cr);
		imap_auth_failed(s, "PLAIN", 0, AUTH_FAIL_AUTHZID);
		return;
	}
	imap_auth_begin(s, cr.user, cr.pass, "PLAIN");
	sasl_creds_clear(&cr);
}

void
imap_cmd_authenticate(struct imap_session *s, const struct imap_cmd *c)
{
	const struct imap_arg *a = c->args;

	if (c->n_args < 1 || c->n_args > 2 || a[0].type != IMAP_ARG_ATOM) {
		imap_finish(s, "BAD", NULL, "AUTHENTICATE needs a mechanism");
		session_error(&s->base);
		return;
	}
	if (sasl_mech_parse(a[0].str, a[0].len) != SASL_MECH_PLAIN) {
		imap_finish(s, "NO", NULL, "Unsupported mechanism");
		return;
	}
	if (!session_is_tls(&s->base)) {
		imap_finish(s, "NO", "PRIVACYREQUIRED",
			    "Authentication needs TLS; use STARTTLS");
		return;
	}
	/* RFC 4959 SASL-IR: the response may come with the command. */
	if (c->n_args == 2) {
		if (a[1].len == 1 && a[1].str[0] == '=')
			imap_auth_plain(s, "", 0);
		else
			imap_auth_plain(s, a[1].str, a[1].len);
		return;
	}
	s->sasl_wait = true;
	imap_continue(s, "");
}

void
imap_auth_sasl_line(struct imap_session *s, const char *line, size_t len)
{
	s->sasl_wait = false;
	/* RFC 9051 §6.2.2: "*" cancels with BAD. */
	if (len == 1 && line[0] == '*') {
		imap_finish(s, "BAD", NULL, "Authentication cancelled");
		return;
	}
	if (len > LIMIT_SASL_LINE) {
		imap_finish(s, "BAD", NULL, "SASL response too long");
		return;
	}
	imap_auth_plain(s, line, len);
}

/* RFC 8437 §2: the selected mailbox is closed without expunge (as
 * UNSELECT), and everything the login brought ends: the account, the
 * ENABLEd extensions, the authenticated timeout. TLS and COMPRESS stay
 * (they belong to the connection, not to the login). */
void
imap_cmd_unauthenticate(struct imap_session *s, const struct imap_cmd *c)
{
	imap_view_close(s);
	imap_notify_free(s);
	log_info(s->base.id, "logout", " user=%s reason=unauthenticate",
		 log_qs(s->address));
	s->state = IMAP_STATE_NOAUTH;
	s->account_id = 0;
	s->address[0] = '\0';
	s->rev2 = s->condstore = s->qresync = s->utf8 = false;
	imap_session_timeout_reset(s);
	imap_finish(s, "OK", NULL, "%s completed", c->name);
}
