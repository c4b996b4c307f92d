/*
 * ACME over HTTPS with libcurl's easy interface, on the ACME thread only
 * (never the loop): bounded bodies and times, the Replay-Nonce kept from
 * every answer, JWS posts retried on badNonce (RFC 8555 §6.5).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "../core/config.h"
#include "../core/version.h"
#include "../util/json.h"
#include "../util/str.h"
#include "acme_int.h"

void
acme_resp_fini(struct acme_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static size_t
acme_body_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct acme_resp *r = arg;
	size_t n = size * nmemb;
	char *nb;

	if (r->len + n > ACME_BODY_MAX)
		return 0; /* aborts the transfer */
	nb = realloc(r->body, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, data, n);
	r->body = nb;
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* "Name: value" into out when the line is that field. */
static void
acme_header_value(const char *line, size_t n, const char *name, char *out,
		  size_t outcap)
{
	size_t nl = strlen(name), v;

	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	v = nl + 1;
	while (v < n && (line[v] == ' ' || line[v] == '\t'))
		v++;
	while (n > v && isspace((unsigned char)line[n - 1]))
		n--;
	if (n - v < outcap) {
		memcpy(out, line + v, n - v);
		out[n - v] = '\0';
	}
}

static size_t
acme_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct acme_resp *r = arg;
	size_t n = size * nmemb;
	char ra[32] = "";
	long long v;

	acme_header_value(data, n, "Replay-Nonce", r->nonce, sizeof(r->nonce));
	acme_header_value(data, n, "Location", r->location,
			  sizeof(r->location));
	acme_header_value(data, n, "Retry-After", ra, sizeof(ra));
	if (ra[0] != '\0' && str_tonum(ra, 0, 86400, &v) == 0)
		r->retry_after = (long)v;
	return n;
}

/* Ends a transfer in flight when the server stops. */
static int
acme_progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		 curl_off_t un)
{
	struct acme *a = arg;

	return atomic_load(&a->stop) ? 1 : 0;
}

static int
acme_perform(struct acme *a, const char *url, const char *post, bool head,
	     struct acme_resp *r)
{
	CURL *c = a->curl;
	struct curl_slist *hdrs = NULL;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	/* RFC 8555 §6.1: HTTPS only. */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)ACME_HTTP_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "postel/" POSTEL_VERSION);
	if (a->cfg->acme_ca_file[0] != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, a->cfg->acme_ca_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, acme_body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, acme_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, acme_progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (head)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (post != NULL) {
		hdrs = curl_slist_append(hdrs,
					 "Content-Type: application/jose+json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	}
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK) {
		snprintf(a->why, sizeof(a->why), "%s: %s", url,
			 curl_easy_strerror(rc));
		acme_resp_fini(r);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->nonce[0] != '\0')
		memcpy(a->nonce, r->nonce, sizeof(a->nonce));
	return 0;
}

int
acme_get(struct acme *a, const char *url, bool head, struct acme_resp *r)
{
	return acme_perform(a, url, NULL, head, r);
}

/* The problem document's type, or "" (RFC 8555 §6.7). */
static void
acme_problem_type(const struct acme_resp *r, char *out, size_t outcap)
{
	struct json_tok t[256];

	out[0] = '\0';
	if (r->body == NULL ||
	    json_parse(r->body, r->len, t, 256) < 1 ||
	    json_get_str(r->body, t, 0, "type", out, outcap) < 0)
		out[0] = '\0';
}

void
acme_problem(struct acme *a, const char *what, const struct acme_resp *r)
{
	struct json_tok t[256];
	char type[128] = "", detail[300] = "";

	if (r->body != NULL && json_parse(r->body, r->len, t, 256) >= 1) {
		(void)json_get_str(r->body, t, 0, "type", type, sizeof(type));
		(void)json_get_str(r->body, t, 0, "detail", detail,
				   sizeof(detail));
	}
	snprintf(a->why, sizeof(a->why), "%s: HTTP %ld %s%s%s", what,
		 r->status, type, detail[0] ? ": " : "", detail);
}

int
acme_post(struct acme *a, const char *url, const char *payload,
	  struct acme_resp *r)
{
	char type[128];

	for (int attempt = 0; attempt <= ACME_BADNONCE_RETRIES; attempt++) {
		char *jws;
		int rc;

		if (a->nonce[0] == '\0') {
			struct acme_resp nr;

			/* RFC 8555 §7.2: HEAD newNonce. */
			if (acme_get(a, a->new_nonce, true, &nr) < 0)
				return -1;
			acme_resp_fini(&nr);
			if (a->nonce[0] == '\0') {
				snprintf(a->why, sizeof(a->why),
					 "newNonce gave no Replay-Nonce");
				return -1;
			}
		}
		jws = acme_jws(a->account_key, a->kid[0] ? a->kid : NULL,
			       a->nonce, url, payload);
		/* A nonce is good for one request. */
		a->nonce[0] = '\0';
		if (jws == NULL) {
			snprintf(a->why, sizeof(a->why), "cannot sign request");
			return -1;
		}
		rc = acme_perform(a, url, jws, false, r);
		free(jws);
		if (rc < 0)
			return -1;
		acme_problem_type(r, type, sizeof(type));
		if (r->status != 400 ||
		    strcmp(type, "urn:ietf:params:acme:error:badNonce") != 0)
			return 0;
		acme_resp_fini(r);
	}
	snprintf(a->why, sizeof(a->why), "%s: badNonce %d times", url,
		 ACME_BADNONCE_RETRIES + 1);
	return -1;
}
