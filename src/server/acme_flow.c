/*
 * One ACME issuance (RFC 8555 §7): directory, account, order, HTTP-01
 * for each pending authorization, finalize with a CSR, download the
 * chain. Every poll is bounded (ACME_POLL_MAX) and stops with the server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/challenge.h"
#include "../core/config.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../util/json.h"
#include <openssl/ssl.h>
#include "acme_int.h"

/* Tokens of one reply: an order for ACME_NAMES_MAX names has about 6
 * per name. */
#define ACME_TOKS 1024

/* A reply parsed into toks; -1 with a->why when it is not JSON. */
static int
acme_json(struct acme *a, const char *what, const struct acme_resp *r,
	  struct json_tok *toks)
{
	if (r->body == NULL || json_parse(r->body, r->len, toks, ACME_TOKS) < 1 ||
	    toks[0].type != JSON_OBJECT) {
		snprintf(a->why, sizeof(a->why), "%s: reply is not a JSON "
			 "object (HTTP %ld)", what, r->status);
		return -1;
	}
	return 0;
}

/* RFC 8555 §7.1.1: the directory's resource URLs. */
static int
acme_directory(struct acme *a)
{
	struct acme_resp r;
	struct json_tok t[ACME_TOKS];
	int rc = -1;

	if (acme_get(a, a->cfg->acme_directory, false, &r) < 0)
		return -1;
	if (r.status != 200)
		acme_problem(a, "directory", &r);
	else if (acme_json(a, "directory", &r, t) == 0) {
		if (json_get_str(r.body, t, 0, "newNonce", a->new_nonce,
				 sizeof(a->new_nonce)) < 0 ||
		    json_get_str(r.body, t, 0, "newAccount", a->new_account,
				 sizeof(a->new_account)) < 0 ||
		    json_get_str(r.body, t, 0, "newOrder", a->new_order,
				 sizeof(a->new_order)) < 0)
			snprintf(a->why, sizeof(a->why),
				 "directory lacks newNonce/newAccount/newOrder");
		else
			rc = 0;
	}
	acme_resp_fini(&r);
	return rc;
}

/* RFC 8555 §7.3: newAccount finds the key's account or makes one; its
 * URL (Location) is the kid of every later request. */
static int
acme_account(struct acme *a)
{
	char payload[600], contact[400] = "";
	struct acme_resp r;
	int rc = -1;

	if (a->cfg->acme_email[0] != '\0') {
		char mailto[300], q[320];

		snprintf(mailto, sizeof(mailto), "mailto:%s",
			 a->cfg->acme_email);
		if (json_quote(mailto, q, sizeof(q)) < 0)
			return -1;
		snprintf(contact, sizeof(contact), ",\"contact\":[%s]", q);
	}
	snprintf(payload, sizeof(payload), "{\"termsOfServiceAgreed\":true%s}",
		 contact);
	a->kid[0] = '\0';
	if (acme_post(a, a->new_account, payload, &r) < 0)
		return -1;
	if ((r.status == 200 || r.status == 201) && r.location[0] != '\0') {
		memcpy(a->kid, r.location, sizeof(a->kid));
		rc = 0;
	} else {
		acme_problem(a, "newAccount", &r);
	}
	acme_resp_fini(&r);
	return rc;
}

/* POST-as-GET of url (RFC 8555 §6.3), again while its status is pending
 * or processing when wait. The status into status (NUL-ended); r keeps
 * the last reply, parsed into t. */
static int
acme_poll(struct acme *a, const char *url, const char *what,
	  struct acme_resp *r, struct json_tok *t, char *status, size_t cap,
	  bool wait)
{
	for (int i = 0; i < ACME_POLL_MAX; i++) {
		if (acme_post(a, url, "", r) < 0)
			return -1;
		if (r->status != 200) {
			acme_problem(a, what, r);
			acme_resp_fini(r);
			return -1;
		}
		if (acme_json(a, what, r, t) < 0 ||
		    json_get_str(r->body, t, 0, "status", status, cap) < 0) {
			acme_resp_fini(r);
			return -1;
		}
		if (!wait || (strcmp(status, "pending") != 0 &&
			      strcmp(status, "processing") != 0))
			return 0;
		long pause = r->retry_after > 0 && r->retry_after < 10
			? r->retry_after : 1;
		acme_resp_fini(r);
		if (!acme_sleep(a, pause)) {
			snprintf(a->why, sizeof(a->why), "stopped");
			return -1;
		}
	}
	snprintf(a->why, sizeof(a->why), "%s: still pending after %d polls",
		 what, ACME_POLL_MAX);
	return -1;
}

/* The error of an invalid authorization's challenge, for the log. */
static void
acme_authz_error(struct acme *a, const char *ident, const char *body,
		 const struct json_tok *t, int ch)
{
	int err = json_get(body, t, ch, "error");
	char type[128] = "", detail[300] = "";

	(void)json_get_str(body, t, err, "type", type, sizeof(type));
	(void)json_get_str(body, t, err, "detail", detail, sizeof(detail));
	snprintf(a->why, sizeof(a->why), "authorization for %s invalid: %s%s%s",
		 ident, type, detail[0] ? ": " : "", detail);
}

/* The challenge of the type we answer in the authorization reply (token
 * and url); -1 with a->why when there is none. */
static int
acme_authz_pick(struct acme *a, const char *body, const struct json_tok *t,
		const char *ident, const char *status, char *token,
		char *churl)
{
	const char *want = a->alpn ? "tls-alpn-01" : "http-01";
	int chs = json_get(body, t, 0, "challenges"), ch = -1;

	for (size_t i = 0; json_elem(t, chs, i) >= 0; i++) {
		char type[32];
		int c = json_elem(t, chs, i);

		if (json_get_str(body, t, c, "type", type, sizeof(type)) == 0 &&
		    strcmp(type, want) == 0)
			ch = c;
	}
	if (strcmp(status, "pending") != 0 || ch < 0 ||
	    json_get_str(body, t, ch, "token", token,
			 CHALLENGE_TOKEN_MAX + 1) < 0 ||
	    !challenge_token_ok(token, strlen(token)) ||
	    json_get_str(body, t, ch, "url", churl, ACME_URL_MAX) < 0) {
		snprintf(a->why, sizeof(a->why), "authorization for %s is %s "
			 "without a usable %s challenge", ident, status, want);
		return -1;
	}
	return 0;
}

/* Publishes (answer true) or withdraws the answer: the token's key
 * authorization for the HTTP endpoint (§8.3), or a certificate for the
 * ClientHello callback (RFC 8737). */
static int
acme_answer(struct acme *a, const char *ident, const char *token,
	    const char *keyauth, bool answer)
{
	struct ssl_ctx_st *ctx;
	int rc;

	if (!answer) {
		if (a->alpn)
			challenges_del_alpn(a->srv->challenges, ident);
		else
			challenges_del(a->srv->challenges, token);
		return 0;
	}
	if (!a->alpn)
		return challenges_set(a->srv->challenges, token, keyauth);
	if ((ctx = acme_alpn_ctx(ident, keyauth)) == NULL)
		return -1;
	rc = challenges_set_alpn(a->srv->challenges, ident, ctx);
	SSL_CTX_free(ctx); /* the table holds its own reference */
	return rc;
}

/* §7.5.1: tells the CA to validate, then waits for the authorization's
 * verdict. 0 valid, -1 with a->why (and a->failed_name when the CA
 * found it invalid). */
static int
acme_authz_validate(struct acme *a, const char *url, const char *churl,
		    const char *ident)
{
	struct acme_resp r;
	struct json_tok t[ACME_TOKS];
	char status[32];
	int rc = -1, chs, c = -1;

	if (acme_post(a, churl, "{}", &r) < 0)
		return -1;
	if (r.status != 200) {
		acme_problem(a, "challenge", &r);
		acme_resp_fini(&r);
		return -1;
	}
	acme_resp_fini(&r);
	if (acme_poll(a, url, "authorization", &r, t, status, sizeof(status),
		      true) < 0)
		return -1;
	if (strcmp(status, "valid") == 0) {
		rc = 0;
	} else {
		chs = json_get(r.body, t, 0, "challenges");
		for (size_t i = 0; json_elem(t, chs, i) >= 0; i++)
			if (json_get(r.body, t, json_elem(t, chs, i),
				     "error") >= 0)
				c = json_elem(t, chs, i);
		acme_authz_error(a, ident, r.body, t, c);
		snprintf(a->failed_name, sizeof(a->failed_name), "%s", ident);
	}
	acme_resp_fini(&r);
	return rc;
}

/* RFC 8555 §7.5: one authorization, answered when it is pending. */
static int
acme_authorize(struct acme *a, const char *url)
{
	struct acme_resp r;
	struct json_tok t[ACME_TOKS];
	char status[32], token[CHALLENGE_TOKEN_MAX + 1] = "",
		churl[ACME_URL_MAX], keyauth[CHALLENGE_KEYAUTH_MAX + 1],
		ident[256] = "?";
	int rc;

	if (acme_poll(a, url, "authorization", &r, t, status,
		      sizeof(status), false) < 0)
		return -1;
	(void)json_get_str(r.body, t, json_get(r.body, t, 0, "identifier"),
			   "value", ident, sizeof(ident));
	rc = strcmp(status, "valid") == 0 ? 1
		: acme_authz_pick(a, r.body, t, ident, status, token, churl);
	acme_resp_fini(&r);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	/* §8.1: keyAuthorization = token || '.' || thumbprint. */
	snprintf(keyauth, sizeof(keyauth), "%s.%s", token, a->thumbprint);
	if (acme_answer(a, ident, token, keyauth, true) < 0) {
		snprintf(a->why, sizeof(a->why), "cannot answer the challenge "
			 "for %s", ident);
		return -1;
	}
	log_info(NULL, "acme_challenge", " name=%s type=%s", log_qs(ident),
		 a->alpn ? "tls-alpn-01" : "http-01");
	rc = acme_authz_validate(a, url, churl, ident);
	acme_answer(a, ident, token, keyauth, false);
	return rc;
}

/* RFC 8555 §7.4: newOrder with one dns identifier per name; order URL
 * (Location) and the reply in r. */
static int
acme_new_order(struct acme *a, char *const *names, size_t n, char *order,
	       struct acme_resp *r)
{
	size_t cap = 64 + n * 300, o;
	char *payload = malloc(cap);
	int rc = -1;

	if (payload == NULL)
		return -1;
	o = (size_t)snprintf(payload, cap, "{\"identifiers\":[");
	for (size_t i = 0; i < n; i++) {
		char q[280];

		if (json_quote(names[i], q, sizeof(q)) < 0)
			goto out;
		o += (size_t)snprintf(payload + o, cap - o,
				      "%s{\"type\":\"dns\",\"value\":%s}",
				      i ? "," : "", q);
	}
	snprintf(payload + o, cap - o, "]}");
	if (acme_post(a, a->new_order, payload, r) < 0)
		goto out;
	if (r->status != 201 || r->location[0] == '\0') {
		acme_problem(a, "newOrder", r);
		acme_resp_fini(r);
		goto out;
	}
	memcpy(order, r->location, ACME_URL_MAX);
	rc = 0;
out:
	free(payload);
	return rc;
}

/* §7.4: finalize with the CSR, poll the order, download the chain. */
static int
acme_finalize(struct acme *a, const char *order, const char *finalize,
	      char *const *names, size_t n, EVP_PKEY *cert_key, char **chain_r,
	      size_t *chain_len_r)
{
	struct acme_resp r;
	struct json_tok t[ACME_TOKS];
	char status[32], cert_url[ACME_URL_MAX], *csr = acme_csr(cert_key, names, n);
	char *payload;
	int rc;

	if (csr == NULL || (payload = malloc(strlen(csr) + 16)) == NULL) {
		free(csr);
		snprintf(a->why, sizeof(a->why), "cannot make the CSR");
		return -1;
	}
	snprintf(payload, strlen(csr) + 16, "{\"csr\":\"%s\"}", csr);
	free(csr);
	rc = acme_post(a, finalize, payload, &r);
	free(payload);
	if (rc < 0)
		return -1;
	if (r.status != 200) {
		acme_problem(a, "finalize", &r);
		acme_resp_fini(&r);
		return -1;
	}
	acme_resp_fini(&r);
	if (acme_poll(a, order, "order", &r, t, status, sizeof(status),
		      true) < 0)
		return -1;
	rc = strcmp(status, "valid") == 0 &&
	     json_get_str(r.body, t, 0, "certificate", cert_url,
			  sizeof(cert_url)) == 0 ? 0 : -1;
	if (rc < 0)
		snprintf(a->why, sizeof(a->why), "order is %s after finalize",
			 status);
	acme_resp_fini(&r);
	if (rc < 0 || acme_post(a, cert_url, "", &r) < 0)
		return -1;
	if (r.status != 200 || r.body == NULL ||
	    strstr(r.body, "-----BEGIN CERTIFICATE-----") == NULL) {
		acme_problem(a, "certificate download", &r);
		acme_resp_fini(&r);
		return -1;
	}
	*chain_r = r.body;
	*chain_len_r = r.len;
	r.body = NULL;
	acme_resp_fini(&r);
	return 0;
}

int
acme_issue(struct acme *a, char *const *names, size_t n, EVP_PKEY *cert_key,
	   char **chain_r, size_t *chain_len_r)
{
	struct acme_resp r;
	struct json_tok t[ACME_TOKS];
	char order[ACME_URL_MAX], finalize[ACME_URL_MAX];
	int authzs, rc = -1;

	if (acme_directory(a) < 0 || acme_account(a) < 0 ||
	    acme_new_order(a, names, n, order, &r) < 0)
		return -1;
	if (acme_json(a, "order", &r, t) < 0 ||
	    json_get_str(r.body, t, 0, "finalize", finalize,
			 sizeof(finalize)) < 0 ||
	    (authzs = json_get(r.body, t, 0, "authorizations")) < 0) {
		snprintf(a->why, sizeof(a->why), "order lacks finalize or "
			 "authorizations");
		acme_resp_fini(&r);
		return -1;
	}
	rc = 0;
	for (size_t i = 0; rc == 0 && json_elem(t, authzs, i) >= 0; i++) {
		char url[ACME_URL_MAX];

		/* r stays parsed while each authorization is worked on: the
		 * authorizations use replies of their own. */
		if (json_str(r.body, t, json_elem(t, authzs, i), url,
			     sizeof(url)) < 0 || acme_authorize(a, url) < 0)
			rc = -1;
	}
	acme_resp_fini(&r);
	if (rc < 0)
		return -1;
	return acme_finalize(a, order, finalize, names, n, cert_key, chain_r,
			     chain_len_r);
}
