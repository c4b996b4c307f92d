/*
 * The SMTP client's session setup (smtpc.h): the greeting, EHLO (HELO
 * when refused), the EHLO keywords, STARTTLS and the TLS handshake's
 * outcome per the target's TLS mode, AUTH; then the connection is ready.
 * Replies arrive through smtpc.c's reader.
 */
#include "smtpc_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../core/log.h"
#include "../core/loop.h"
#include "../core/runtime.h"
#include "../util/base64.h"

/* ---- TLS ------------------------------------------------------------ */

/* RFC 3207 §4: after the 220 the client starts the handshake; nothing the
 * server sent before it may be trusted (§4.2), so input is dropped. */
static void
smtpc_starttls(struct smtpc *c)
{
	struct event_base *base = loop_base(c->srv->loop);
	SSL_CTX *ctx = server_tls_client_ctx(c->srv);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;
	struct bufferevent *tbev = NULL;
	struct in6_addr a6;
	struct smtpc_reply r;

	if (ssl != NULL && c->dane != NULL) {
		/* RFC 7672 §3: SNI and verification from the TLSA records;
		 * none usable to OpenSSL: no connection that could pass. */
		if (tls_dane_apply(ssl, c->dane) < 0) {
			SSL_free(ssl);
			ssl = NULL;
		}
	} else if (ssl != NULL) {
		/* RFC 6066 §3: SNI carries names, never address literals. */
		if (inet_pton(AF_INET, c->t.host, &a6) != 1 &&
		    inet_pton(AF_INET6, c->t.host, &a6) != 1 &&
		    c->t.host[0] != '\0' && c->t.host[0] != '[') {
			SSL_set_tlsext_host_name(ssl, c->t.host);
			SSL_set1_host(ssl, c->t.host);
		}
	}
	if (ssl != NULL) {
		bufferevent_setfd(c->bev, -1);
		tbev = bufferevent_openssl_socket_new(base, fd, ssl,
			BUFFEREVENT_SSL_CONNECTING,
			BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	}
	if (tbev == NULL) {
		if (ssl != NULL)
			evutil_closesocket(fd);
		if (c->dane != NULL)
			c->tls_result = TLS_RESULT_TLSA_INVALID;
		smtpc_reply_set(&r, 421, "4.7.5", "TLS unavailable for %s%s",
				c->peer, c->dane != NULL
				? " (no TLSA record OpenSSL can use)" : "");
		smtpc_fail(c, &r);
		return;
	}
	bufferevent_free(c->bev);
	c->bev = tbev;
	c->tls = true;
	c->state = SMTPC_HANDSHAKE;
	smtpc_bev_setup(c);
	smtpc_arm(c, c->srv->cfg.smtp_client_timeout);
}

static void smtpc_ehlo(struct smtpc *c);

/* RFC 7672 §2.2: a DANE peer that matches no TLSA record gets nothing:
 * the delivery waits (4.7.5) and the log says why. */
static void
smtpc_dane_done(struct smtpc *c, SSL *ssl)
{
	const char *why;
	struct smtpc_reply r;

	c->verified = tls_dane_verified(ssl, &why);
	log_info(c->id, "dane", " peer=%s tls=%s dane=%s%s%s",
		 log_qs(c->peer), log_qs(c->tls_info),
		 c->verified ? "verified" : "failed", c->verified ? "" :
		 " why=", c->verified ? "" : log_qs(why));
	if (!c->verified) {
		c->tls_result = TLS_RESULT_VALIDATION_FAILURE;
		snprintf(c->tls_why, sizeof(c->tls_why), "%s", why);
		smtpc_reply_set(&r, 421, "4.7.5", "DANE verification of %s "
				"failed: %s", c->peer, why);
		smtpc_fail(c, &r);
		return;
	}
	c->tls_result = TLS_RESULT_OK;
	smtpc_ehlo(c);
}

void
smtpc_tls_done(struct smtpc *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : -1;
	struct smtpc_reply r;

	c->verified = ssl != NULL && SSL_get0_peer_certificate(ssl) != NULL &&
		      vr == X509_V_OK;
	snprintf(c->tls_info, sizeof(c->tls_info), "%s %s",
		 ssl ? SSL_get_version(ssl) : "", ssl ? SSL_get_cipher_name(ssl)
		 : "");
	if (c->dane != NULL && ssl != NULL) {
		smtpc_dane_done(c, ssl);
		return;
	}
	log_info(c->id, "smtpc_tls", " peer=%s tls=%s verified=%s%s%s",
		 log_qs(c->peer), log_qs(c->tls_info),
		 c->verified ? "yes" : "no", c->verified ? "" : " why=",
		 c->verified ? "" : log_qs(vr >= 0
			? X509_verify_cert_error_string(vr) : "no TLS"));
	if (c->t.tls == CONFIG_TLS_VERIFY && !c->verified) {
		c->tls_result = TLS_RESULT_CERT_NOT_TRUSTED;
		snprintf(c->tls_why, sizeof(c->tls_why), "%s", vr >= 0
			 ? X509_verify_cert_error_string(vr) : "no certificate");
		smtpc_reply_set(&r, 421, "4.7.5",
				"certificate of %s not verified: %s", c->peer,
				vr >= 0 ? X509_verify_cert_error_string(vr)
					: "no certificate");
		smtpc_fail(c, &r);
		return;
	}
	c->tls_result = TLS_RESULT_OK;
	smtpc_ehlo(c);
}

/* ---- session setup --------------------------------------------------- */

static void
smtpc_ready(struct smtpc *c)
{
	c->state = SMTPC_READY;
	smtpc_arm(c, 0);
	log_info(c->id, "smtpc_ready", " peer=%s tls=%s ext=0x%x size=%llu",
		 log_qs(c->peer), c->tls ? (c->verified ? "verified" : "yes")
		 : "no", c->ext, (unsigned long long)c->max_size);
	smtpc_call(c, true);
}

static void
smtpc_ehlo(struct smtpc *c)
{
	c->ext = 0;
	c->auth_mechs = 0;
	c->max_size = 0;
	c->state = SMTPC_EHLO;
	smtpc_cmd(c, "EHLO %s", c->srv->cfg.hostname);
}

/* RFC 4954 §4 and RFC 4616 §2: PLAIN with an initial response
 * (authzid empty); LOGIN when only that is offered. */
static void
smtpc_auth(struct smtpc *c)
{
	size_t ul = strlen(c->auth_user), pl = strlen(c->auth_pass);
	char raw[1024], b64[BASE64_ENCODED_LEN(1024) + 1];

	if (c->auth_mechs & SMTPC_AUTH_PLAIN && ul + pl + 2 <= sizeof(raw)) {
		raw[0] = '\0';
		memcpy(raw + 1, c->auth_user, ul);
		raw[1 + ul] = '\0';
		memcpy(raw + 2 + ul, c->auth_pass, pl);
		base64_encode(raw, ul + pl + 2, b64);
		explicit_bzero(raw, sizeof(raw));
		smtpc_cmd(c, "AUTH PLAIN %s", b64);
		explicit_bzero(b64, sizeof(b64));
		c->state = SMTPC_AUTH;
		return;
	}
	smtpc_cmd(c, "AUTH LOGIN");
	c->state = SMTPC_AUTH_USER;
}

/* After EHLO (or HELO): STARTTLS, AUTH or ready, per the TLS mode. */
static void
smtpc_after_ehlo(struct smtpc *c)
{
	bool need_tls = c->t.tls == CONFIG_TLS_ENCRYPT ||
			c->t.tls == CONFIG_TLS_VERIFY;
	struct smtpc_reply r;

	if (!c->tls && c->t.tls != CONFIG_TLS_NONE &&
	    (c->ext & SMTPC_EXT_STARTTLS)) {
		c->state = SMTPC_STARTTLS;
		smtpc_cmd(c, "STARTTLS");
		return;
	}
	if (!c->tls && (need_tls || c->auth_user != NULL)) {
		c->tls_result = TLS_RESULT_STARTTLS_NOT_SUPPORTED;
		smtpc_reply_set(&r, 421, "4.7.4",
				"TLS is required, but was not offered by %s",
				c->peer);
		smtpc_fail(c, &r);
		return;
	}
	if (c->auth_user != NULL && (c->ext & SMTPC_EXT_AUTH) &&
	    c->auth_mechs != 0) {
		smtpc_auth(c);
		return;
	}
	if (c->auth_user != NULL)
		log_warn(c->id, "smtpc_auth", " peer=%s error=%s",
			 log_qs(c->peer), "no AUTH PLAIN or LOGIN offered");
	smtpc_ready(c);
}

static void
smtpc_ehlo_auth(struct smtpc *c, const char *t, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t s = i;
		while (i < n && t[i] != ' ')
			i++;
		if (i - s == 5 && strncasecmp(t + s, "PLAIN", 5) == 0)
			c->auth_mechs |= SMTPC_AUTH_PLAIN;
		else if (i - s == 5 && strncasecmp(t + s, "LOGIN", 5) == 0)
			c->auth_mechs |= SMTPC_AUTH_LOGIN;
		while (i < n && t[i] == ' ')
			i++;
	}
}

/* One EHLO keyword line (RFC 5321 §4.1.1.1: keyword [SP params]). */
void
smtpc_ehlo_line(struct smtpc *c, const char *t, size_t n)
{
	static const struct {
		const char *kw;
		unsigned bit;
	} kws[] = {
		{ "PIPELINING", SMTPC_EXT_PIPELINING },
		{ "SIZE", SMTPC_EXT_SIZE },
		{ "8BITMIME", SMTPC_EXT_8BITMIME },
		{ "SMTPUTF8", SMTPC_EXT_SMTPUTF8 },
		{ "DSN", SMTPC_EXT_DSN },
		{ "CHUNKING", SMTPC_EXT_CHUNKING },
		{ "STARTTLS", SMTPC_EXT_STARTTLS },
		{ "AUTH", SMTPC_EXT_AUTH },
		{ "REQUIRETLS", SMTPC_EXT_REQUIRETLS },
	};
	size_t kl = 0;

	while (kl < n && t[kl] != ' ' && t[kl] != '=')
		kl++;
	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
		if (strlen(kws[i].kw) != kl ||
		    strncasecmp(t, kws[i].kw, kl) != 0)
			continue;
		c->ext |= kws[i].bit;
		if (kws[i].bit == SMTPC_EXT_AUTH && kl < n)
			smtpc_ehlo_auth(c, t + kl + 1, n - kl - 1);
		/* RFC 1870 §4: SIZE n, 0 or absent = no fixed limit. */
		if (kws[i].bit == SMTPC_EXT_SIZE && kl + 1 < n) {
			char num[24];
			size_t l = n - kl - 1 < sizeof(num) - 1
				? n - kl - 1 : sizeof(num) - 1;
			memcpy(num, t + kl + 1, l);
			num[l] = '\0';
			c->max_size = strtoull(num, NULL, 10);
		}
	}
}

static void
smtpc_auth_step(struct smtpc *c, int code)
{
	const char *v = c->state == SMTPC_AUTH_USER ? c->auth_user
						    : c->auth_pass;
	char b64[BASE64_ENCODED_LEN(512) + 1];
	struct smtpc_reply r;

	if (c->state == SMTPC_AUTH && code == 235) {
		log_info(c->id, "smtpc_auth", " peer=%s user=%s",
			 log_qs(c->peer), log_qs(c->auth_user));
		smtpc_ready(c);
		return;
	}
	if (c->state != SMTPC_AUTH && code == 334 && strlen(v) <= 512) {
		base64_encode(v, strlen(v), b64);
		smtpc_cmd(c, "%s", b64);
		explicit_bzero(b64, sizeof(b64));
		c->state = c->state == SMTPC_AUTH_USER ? SMTPC_AUTH_PASS
						       : SMTPC_AUTH;
		return;
	}
	/* A refused login is our configuration's fault: temporary, so the
	 * mail waits for the fix instead of bouncing (Postfix does the
	 * same with smtp_sasl_auth_soft_bounce). */
	smtpc_reply_set(&r, 421, "4.7.0", "authentication with %s failed: %s",
			c->peer, c->cur.text);
	smtpc_fail(c, &r);
}

/* A whole reply in a session-setup state. */
void
smtpc_setup_reply(struct smtpc *c)
{
	int code = c->cur.code;
	struct smtpc_reply r;

	switch (c->state) {
	case SMTPC_GREETING:
		/* RFC 5321 §3.1: 554 (or 4xx) instead of 220: that reply is
		 * the answer for every recipient. */
		if (code == 220)
			smtpc_ehlo(c);
		else
			smtpc_fail(c, &c->cur);
		return;
	case SMTPC_EHLO:
	case SMTPC_HELO:
		if (code == 250)
			smtpc_after_ehlo(c);
		else if (c->state == SMTPC_EHLO && code >= 500 && !c->tls) {
			/* RFC 5321 §3.2: an older server; HELO. */
			c->ext = 0;
			c->state = SMTPC_HELO;
			smtpc_cmd(c, "HELO %s", c->srv->cfg.hostname);
		} else
			smtpc_fail(c, &c->cur);
		return;
	case SMTPC_STARTTLS:
		if (code == 220) {
			smtpc_starttls(c);
		} else if (c->t.tls == CONFIG_TLS_MAY && c->auth_user == NULL) {
			c->ext &= ~(unsigned)SMTPC_EXT_STARTTLS;
			smtpc_after_ehlo(c);
		} else {
			c->tls_result = TLS_RESULT_STARTTLS_NOT_SUPPORTED;
			smtpc_reply_set(&r, 421, "4.7.4",
					"STARTTLS refused by %s: %s", c->peer,
					c->cur.text);
			smtpc_fail(c, &r);
		}
		return;
	default:
		smtpc_auth_step(c, code);
	}
}
