/*
 * The MTA-STS policy fetch (RFC 8461 §3.3): one HTTPS GET of
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt on the loop. The name
 * goes through the in-loop resolver, the connection through libevent's
 * OpenSSL bufferevent; the certificate must verify (PKIX, the system
 * store plus tls_ca_file) for the host name given as SNI. HTTP/1.0 is
 * asked so the answer is never chunked; only a 200 counts ("senders MUST
 * NOT follow HTTP redirects"); MTA_STS_POLICY_MAX octets of body and
 * mta_sts_fetch_timeout seconds for the whole fetch at most.
 */
#include "mta_sts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../core/log.h"
#include "../core/loop.h"
#include "../core/runtime.h"
#include "../dns/dns.h"

struct mta_sts_fetch {
	struct server *srv;
	mta_sts_fetch_cb cb;
	void *arg;
	char host[256 + 8];           /* mta-sts.DOMAIN */
	struct dns_query *dq;
	struct dns_mx_result *addrs;  /* the host's addresses */
	size_t addr_i;
	struct bufferevent *bev;
	struct event *timer;
	enum mta_sts_result fail;
	char why[160];
	bool verified;
};

static void fetch_connect(struct mta_sts_fetch *f);

static void
fetch_close(struct mta_sts_fetch *f)
{
	if (f->bev != NULL) {
		bufferevent_free(f->bev);
		f->bev = NULL;
	}
}

static void
fetch_free(struct mta_sts_fetch *f)
{
	if (f->dq != NULL)
		dns_cancel(f->dq);
	fetch_close(f);
	if (f->timer != NULL)
		event_free(f->timer);
	free(f->addrs);
	free(f);
}

void
mta_sts_fetch_cancel(struct mta_sts_fetch *f)
{
	if (f != NULL)
		fetch_free(f);
}

/* The end: the callback with the body (NULL: f->fail), then f is gone. */
static void
fetch_end(struct mta_sts_fetch *f, const char *body, size_t len)
{
	mta_sts_fetch_cb cb = f->cb;
	void *arg = f->arg;

	log_info(NULL, "mta_sts_fetch", " host=%s result=%s%s%s",
		 log_qs(f->host), body != NULL ? "ok" :
		 mta_sts_result_name(f->fail), body != NULL ? "" : " why=",
		 body != NULL ? "" : log_qs(f->why));
	cb(arg, body, len, f->fail, f->why);
	fetch_free(f);
}

static void
fetch_failv(struct mta_sts_fetch *f, enum mta_sts_result r, const char *why)
{
	char copy[sizeof(f->why)];

	snprintf(copy, sizeof(copy), "%s", why);
	f->fail = r;
	snprintf(f->why, sizeof(f->why), "%s", copy);
	fetch_end(f, NULL, 0);
}

static void
fetch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	fetch_failv(arg, MTA_STS_POLICY_FETCH_ERROR, "timed out");
}

/* What the whole answer says. clean: the server closed properly (else
 * only an answer with a Content-Length it fills counts). */
static void
fetch_finish(struct mta_sts_fetch *f, bool clean)
{
	struct evbuffer *in = bufferevent_get_input(f->bev);
	size_t len = evbuffer_get_length(in), head_len = 0;
	const char *buf = (const char *)evbuffer_pullup(in, -1);
	int status = 0, rc;
	int64_t clen;
	bool plain;
	char why[64];

	rc = buf != NULL ? mta_sts_http_head(buf, len, &status, &head_len,
					     &clen, &plain) : 0;
	if (rc <= 0) {
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR,
			    rc == 0 ? "incomplete HTTP answer"
				    : "malformed HTTP answer");
		return;
	}
	if (status != 200) {
		/* 3xx too: RFC 8461 §3.3 forbids following redirects. */
		snprintf(why, sizeof(why), "HTTP status %d", status);
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR, why);
		return;
	}
	if (len - head_len > MTA_STS_POLICY_MAX) {
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR,
			    "policy larger than 64 KB");
		return;
	}
	if (clen < 0 && !clean) {
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR, "connection failed "
			    "while reading the policy");
		return;
	}
	if (clen >= 0 && (uint64_t)clen != len - head_len) {
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR,
			    "body shorter or longer than Content-Length");
		return;
	}
	if (!plain) {
		fetch_failv(f, MTA_STS_POLICY_INVALID,
			    "Content-Type is not text/plain");
		return;
	}
	fetch_end(f, buf + head_len, len - head_len);
}

static void
fetch_read_cb(struct bufferevent *bev, void *arg)
{
	struct mta_sts_fetch *f = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in), head_len = 0;
	const char *buf;
	int status;
	int64_t clen;
	bool plain;

	/* RFC 8461 §3.3: a size limit (head plus 64 KB of policy). */
	if (len > MTA_STS_HTTP_HEAD_MAX + MTA_STS_POLICY_MAX) {
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR,
			    "policy larger than 64 KB");
		return;
	}
	/* With a Content-Length the answer is complete when the body is
	 * all there; no need to wait for the server to close. */
	buf = (const char *)evbuffer_pullup(in, -1);
	if (buf == NULL || mta_sts_http_head(buf, len, &status, &head_len,
					     &clen, &plain) != 1)
		return;
	if (clen > MTA_STS_POLICY_MAX || len - head_len > MTA_STS_POLICY_MAX)
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR,
			    "policy larger than 64 KB");
	else if (clen >= 0 && len - head_len >= (uint64_t)clen)
		fetch_finish(f, true);
}

static void
fetch_request(struct mta_sts_fetch *f)
{
	SSL *ssl = bufferevent_openssl_get_ssl(f->bev);
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : -1;
	char why[128];

	if (ssl == NULL || SSL_get0_peer_certificate(ssl) == NULL ||
	    vr != X509_V_OK) {
		snprintf(why, sizeof(why), "certificate not valid: %s",
			 vr >= 0 ? X509_verify_cert_error_string(vr)
				 : "none");
		fetch_failv(f, MTA_STS_WEBPKI_INVALID, why);
		return;
	}
	f->verified = true;
	evbuffer_add_printf(bufferevent_get_output(f->bev),
			    "GET /.well-known/mta-sts.txt HTTP/1.0\r\n"
			    "Host: %s\r\nUser-Agent: Postel\r\n"
			    "Connection: close\r\n\r\n", f->host);
}

static void
fetch_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mta_sts_fetch *f = arg;
	unsigned long e;
	char why[160];

	if (what & BEV_EVENT_CONNECTED) {
		fetch_request(f);
		return;
	}
	/* The end of the answer; an error after a complete answer (a
	 * reset, no close_notify) leaves it complete: fetch_finish checks
	 * the length against Content-Length. */
	if (f->verified && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		fetch_finish(f, (what & BEV_EVENT_ERROR) == 0);
		return;
	}
	if (!f->verified) {
		/* Connect or handshake failed: the next address, if any. */
		e = bufferevent_get_openssl_error(bev);
		snprintf(why, sizeof(why), "%s: %s", f->host,
			 e != 0 ? ERR_reason_error_string(e)
				: (what & BEV_EVENT_EOF) ? "connection closed"
				: strerror(EVUTIL_SOCKET_ERROR()));
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		snprintf(f->why, sizeof(f->why), "%s", why);
		fetch_close(f);
		f->addr_i++;
		fetch_connect(f);
		return;
	}
	fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR, "connection failed while "
		    "reading the policy");
}

/* The address f->addr_i of the host: connect, handshake, GET. */
static void
fetch_connect(struct mta_sts_fetch *f)
{
	const struct dns_mx_host *h = &f->addrs->hosts[0];
	struct event_base *base = loop_base(f->srv->loop);
	SSL_CTX *ctx = server_tls_client_ctx(f->srv);
	SSL *ssl;
	struct sockaddr_storage a;
	int port = f->srv->cfg.mta_sts_fetch_port;

	if (f->addr_i >= h->n_addrs) {
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR,
			    f->why[0] ? f->why : "no address");
		return;
	}
	if (ctx == NULL || (ssl = SSL_new(ctx)) == NULL) {
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR, "TLS unavailable");
		return;
	}
	/* RFC 6125 host name check and SNI for mta-sts.DOMAIN. */
	SSL_set_tlsext_host_name(ssl, f->host);
	SSL_set1_host(ssl, f->host);
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	f->bev = bufferevent_openssl_socket_new(base, -1, ssl,
		BUFFEREVENT_SSL_CONNECTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (f->bev == NULL) {
		SSL_free(ssl);
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR, "out of memory");
		return;
	}
	/* The length is checked against Content-Length; a server that
	 * closes without close_notify still gave its answer. */
	bufferevent_openssl_set_allow_dirty_shutdown(f->bev, 1);
	bufferevent_setcb(f->bev, fetch_read_cb, NULL, fetch_event_cb, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	a = h->addrs[f->addr_i];
	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&a)->sin6_port = htons((uint16_t)port);
	if (bufferevent_socket_connect(f->bev, (struct sockaddr *)&a,
				       a.ss_family == AF_INET
				       ? sizeof(struct sockaddr_in)
				       : sizeof(struct sockaddr_in6)) < 0) {
		snprintf(f->why, sizeof(f->why), "%s: connect: %s", f->host,
			 strerror(errno));
		fetch_close(f);
		f->addr_i++;
		fetch_connect(f);
	}
}

static void
fetch_dns_cb(void *arg, const struct dns_mx_result *r)
{
	struct mta_sts_fetch *f = arg;
	char why[200];

	f->dq = NULL;
	if (r->status != DNS_OK || r->n_hosts == 0 ||
	    r->hosts[0].n_addrs == 0) {
		snprintf(why, sizeof(why), "%s: %s", f->host,
			 r->why[0] ? r->why : "no address");
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR, why);
		return;
	}
	if ((f->addrs = malloc(sizeof(*f->addrs))) == NULL) {
		fetch_failv(f, MTA_STS_POLICY_FETCH_ERROR, "out of memory");
		return;
	}
	*f->addrs = *r;
	fetch_connect(f);
}

struct mta_sts_fetch *
mta_sts_fetch_start(struct server *srv, const char *domain,
		    mta_sts_fetch_cb cb, void *arg)
{
	struct mta_sts_fetch *f = calloc(1, sizeof(*f));
	struct timeval tv = { srv->cfg.mta_sts_fetch_timeout, 0 };

	if (f == NULL)
		return NULL;
	f->srv = srv;
	f->cb = cb;
	f->arg = arg;
	snprintf(f->host, sizeof(f->host), "mta-sts.%s", domain);
	f->timer = evtimer_new(loop_base(srv->loop), fetch_timer_cb, f);
	if (f->timer == NULL || srv->dns == NULL ||
	    (f->dq = dns_host(srv->dns, f->host, fetch_dns_cb, f)) == NULL) {
		fetch_free(f);
		return NULL;
	}
	evtimer_add(f->timer, &tv);
	return f;
}
