/*
 * POST /account/password: a user changes their own password, when the
 * administrator allows it (user_password_change = yes). The current
 * credentials come as HTTP Basic (RFC 7617), the new password as the
 * form field new_password; over HTTPS only (DESIGN.md principle 4: no
 * password on an unencrypted connection). The login runs like every
 * other protocol's (auth_verify_async: throttle, cache, the bounded hash
 * pool, the one login_fail log line); the new hash is made and stored on
 * a worker. The verified-login cache is keyed by the stored hash, so the
 * old password stops working at once.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../auth/auth.h"
#include "../auth/passwd.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../store/store.h"
#include "../util/base64.h"
#include "http_int.h"

/* RFC 7617 §2: "Basic" SP base64(user-id ":" password). */
#define HTTP_BASIC_MAX (LIMIT_ADDRESS + 1 + LIMIT_HTTP_PASSWORD)
/* The least a new password may have. */
#define HTTP_PASSWORD_MIN 8

static void
http_account_401(struct http_session *s)
{
	static const char body[] = "401 Unauthorized\r\n";

	/* RFC 7617 §2: the challenge names the realm and the charset. */
	http_respond(s, 401, "text/plain; charset=utf-8", body,
		     sizeof(body) - 1, "WWW-Authenticate: Basic realm=\"postel\","
		     " charset=\"UTF-8\"\r\n");
}

static void
http_account_text(struct http_session *s, int status, const char *text)
{
	http_respond(s, status, "text/plain; charset=utf-8", text,
		     strlen(text), "Cache-Control: no-store\r\n");
}

/* user and password from the Authorization field; false when absent or
 * malformed (no colon, NUL, too long). */
static bool
http_basic(const struct http_session *s, char *user, size_t ucap,
	   char *pass, size_t pcap)
{
	const char *a = s->req.authorization;
	size_t alen = s->req.authorization_len, n = 0;
	unsigned char dec[HTTP_BASIC_MAX + 1];
	const unsigned char *colon;
	bool ok = false;

	if (a == NULL || alen < 6 || strncasecmp(a, "Basic ", 6) != 0)
		return false;
	a += 6;
	alen -= 6;
	while (alen > 0 && *a == ' ') {
		a++;
		alen--;
	}
	if (base64_decode(a, alen, dec, sizeof(dec) - 1, &n) < 0 ||
	    memchr(dec, '\0', n) != NULL ||
	    (colon = memchr(dec, ':', n)) == NULL)
		goto out;
	if ((size_t)(colon - dec) >= ucap || n - (size_t)(colon - dec) > pcap)
		goto out;
	memcpy(user, dec, (size_t)(colon - dec));
	user[colon - dec] = '\0';
	memcpy(pass, colon + 1, n - (size_t)(colon - dec) - 1);
	pass[n - (size_t)(colon - dec) - 1] = '\0';
	ok = user[0] != '\0';
out:
	explicit_bzero(dec, sizeof(dec));
	return ok;
}

/* Worker: hash the new password and store it for s->address. */
static void
http_account_job(void *arg)
{
	struct http_session *s = arg;
	struct store *st = store_thread_handle(&s->base.srv->cfg);
	char hash[256];
	const char *err = NULL;

	s->job_result = -1;
	if (st != NULL && passwd_hash(s->new_password, hash, sizeof(hash)) == 0)
		s->job_result = store_user_passwd(st, s->address, hash, &err);
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(s->new_password, sizeof(s->new_password));
	if (s->job_result < 0)
		log_error(s->base.id, "password_change_fail", " user=%s "
			  "reason=%s", log_qs(s->address),
			  log_qs(err ? err : "store or hash unavailable"));
}

static void
http_account_stored(struct http_session *s)
{
	if (s->job_result < 0) {
		http_account_text(s, 503, "503 password not changed, try "
				  "again later\r\n");
		return;
	}
	log_info(s->base.id, "password_change", " user=%s ip=%s",
		 log_qs(s->address), log_qs(conn_peer(s->base.conn)));
	http_account_text(s, 200, "password changed\r\n");
}

/* On the loop after the login: store the new hash, or refuse. */
static void
http_account_verified(struct http_session *s)
{
	switch (s->auth_result) {
	case AUTH_OK:
		http_session_job(s, http_account_job, http_account_stored);
		return;
	case AUTH_FAILED:
		auth_log_failure(&s->base, s->address, "basic",
				 AUTH_FAIL_CREDENTIALS, s->auth_failures);
		http_account_401(s);
		break;
	default:
		auth_log_failure(&s->base, s->address, "basic",
				 s->auth_result == AUTH_BLOCKED
				 ? AUTH_FAIL_BLOCKED : s->auth_result == AUTH_BUSY
				 ? AUTH_FAIL_BUSY : AUTH_FAIL_UNAVAILABLE,
				 s->auth_failures);
		http_account_text(s, 503, "503 try again later\r\n");
		break;
	}
	explicit_bzero(s->new_password, sizeof(s->new_password));
}

static void
http_account_auth_cb(void *arg, const struct auth_outcome *o)
{
	struct http_session *s = arg;

	s->auth_result = (int)o->result;
	s->auth_failures = o->failures;
	if (o->result == AUTH_OK)
		snprintf(s->address, sizeof(s->address), "%s", o->address);
	http_session_continue(s, http_account_verified);
}

/* The new password from the form body: 0, or -1 with the answer sent. */
static int
http_account_new(struct http_session *s)
{
	const char *body = s->req_buf + s->req.head_len;
	int r = http_query_param(body, (size_t)s->req.content_length,
				 "new_password", s->new_password,
				 sizeof(s->new_password));

	if (r != 1) {
		http_account_text(s, 400, "400 new_password missing or "
				  "malformed\r\n");
		return -1;
	}
	if (strlen(s->new_password) < HTTP_PASSWORD_MIN) {
		explicit_bzero(s->new_password, sizeof(s->new_password));
		http_account_text(s, 400, "400 new_password too short (at "
				  "least 8 characters)\r\n");
		return -1;
	}
	return 0;
}

void
http_account_password(struct http_session *s)
{
	char user[LIMIT_ADDRESS + 1], pass[LIMIT_HTTP_PASSWORD + 1];
	struct auth_req rq;

	if (!s->base.srv->cfg.user_password_change) {
		http_respond_status(s, 404);
		return;
	}
	if (s->req.method != HTTP_METHOD_POST) {
		http_respond(s, 405, "text/plain; charset=utf-8",
			     "405 Method Not Allowed\r\n", 24, "Allow: POST\r\n");
		return;
	}
	if (!conn_is_tls(s->base.conn)) {
		http_account_text(s, 403, "403 use https: no password over an "
				  "unencrypted connection\r\n");
		return;
	}
	if (!http_basic(s, user, sizeof(user), pass, sizeof(pass))) {
		http_account_401(s);
		return;
	}
	if (http_account_new(s) < 0) {
		explicit_bzero(pass, sizeof(pass));
		return;
	}
	rq = (struct auth_req){ .sess_id = s->base.id,
				.peer_ip = conn_peer(s->base.conn),
				.user = user, .pass = pass };
	snprintf(s->address, sizeof(s->address), "%s", user);
	http_session_hold(s);
	auth_verify_async(s->base.srv, &rq, http_account_auth_cb, s);
	explicit_bzero(pass, sizeof(pass));
}
