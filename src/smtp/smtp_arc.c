/*
 * ARC on the SMTP server (smtp_arc.h). Verification costs nothing for a
 * message without ARC fields: the header, captured anyway (tx->hdr), is
 * looked at once when it ends; only a message with a chain has its body
 * hashed (on the loop, as it arrives, like the spool's own pass over it)
 * and its keys fetched over the in-loop resolver at the end of DATA; the
 * signatures are then checked on a worker (RSA verifications, up to 51).
 *
 * Sealing: a message received on port 25 that an alias forwards to an
 * external address gets our ARC set (mailauth/arc.h) once, when queued,
 * on the worker that finishes its file, signed with the RSA key of the
 * alias's domain; it goes into the queue row's prefix with any DKIM
 * signatures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/config.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../mailauth/arc.h"
#include "../mailauth/authres.h"
#include "../mailauth/dkim.h"
#include "smtp_arc.h"
#include "smtp_int.h"
#include "smtp_srs.h"

struct smtp_arc_job;

struct smtp_arc {
	struct server *srv;
	bool looked;               /* the header's end was seen */
	bool chain;                /* the message carries ARC fields */
	uint64_t body_off;         /* message offset of the body */
	struct arc_verify *v;      /* NULL once decided without one */
	char *hdr;                 /* v's copy of the header section */
	struct arc_lookup *lk;
	struct smtp_arc_job *job;  /* the signatures checked on a worker */
	enum arc_status status;
	char why[200];
	char oldest[8];
	char sealer[DKIM_DOMAIN_MAX + 1]; /* d= of the latest seal */
	void (*done)(void *arg);
	void *done_arg;
	char *authres;             /* our field, for the seal */
	size_t authres_len;
};

/* Does the header name an ARC field? Field names at line starts,
 * without case. */
static bool
hdr_has_arc(const char *h, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++) {
		if ((i == 0 || h[i - 1] == '\n') &&
		    strncasecmp(h + i, "arc-", 4) == 0)
			return true;
	}
	return false;
}

static void
arc_set_status(struct smtp_arc *a, enum arc_status st, const char *why)
{
	a->status = st;
	snprintf(a->why, sizeof(a->why), "%s", why);
}

/* The header has ended: is there a chain, and can it be checked? */
static void
arc_look(struct smtp_session *s, struct smtp_arc *a)
{
	const struct smtp_tx *tx = s->tx;
	const char *h = (const char *)tx->hdr.data;

	a->looked = true;
	a->body_off = tx->hdr.len;
	if (!hdr_has_arc(h, tx->hdr.len))
		return;
	a->chain = true;
	if (tx->hdr_cut) {
		arc_set_status(a, ARC_FAIL, "header too large to check");
		return;
	}
	/* A copy: the verifier may outlive the transaction on a worker. */
	a->hdr = malloc(tx->hdr.len);
	if (a->hdr != NULL) {
		memcpy(a->hdr, h, tx->hdr.len);
		a->v = arc_verify_new(a->hdr, tx->hdr.len, time(NULL));
	}
	if (a->v == NULL)
		arc_set_status(a, ARC_FAIL, "out of memory");
}

void
smtp_arc_scan(struct smtp_session *s, struct smtp_arc **ap, uint64_t off,
	      const char *p, size_t n)
{
	struct smtp_arc *a = *ap;

	if (!s->base.srv->cfg.arc)
		return;
	/* Made at once, so that even a message whose header never ends
	 * keeps our field for a seal. */
	if (a == NULL) {
		if ((a = *ap = calloc(1, sizeof(*a))) == NULL)
			return;
		a->srv = s->base.srv;
	}
	if (!a->looked) {
		if (!s->tx->hdr_done)
			return;
		arc_look(s, a);
	}
	if (a->v == NULL || !arc_verify_wants_body(a->v) ||
	    off + n <= a->body_off)
		return;
	if (off < a->body_off) {
		p += a->body_off - off;
		n -= (size_t)(a->body_off - off);
	}
	arc_verify_body(a->v, p, n);
}

static void
arc_result_set(struct smtp_arc *a, const struct arc_result *r)
{
	arc_set_status(a, r->status, r->why);
	snprintf(a->sealer, sizeof(a->sealer), "%s", r->domain);
	if (r->status == ARC_PASS && r->oldest_pass > 0)
		snprintf(a->oldest, sizeof(a->oldest), "%u", r->oldest_pass);
}

static void
arc_decided(struct smtp_arc *a)
{
	arc_result_set(a, arc_verify_finish(a->v));
	arc_verify_free(&a->v);
}

/* The signature checks, up to 51 RSA verifications for a chain of 50,
 * run on a worker: the loop never waits on crypto. The job owns the
 * verifier; a transaction that ends meanwhile only unhooks itself (a
 * NULL), the job frees what it holds. */
struct smtp_arc_job {
	struct smtp_arc *a;        /* NULL: the transaction is gone */
	struct arc_verify *v;
	char *hdr;                 /* what v points into */
	struct arc_result r;
};

static void
arc_job_work(void *arg)
{
	struct smtp_arc_job *j = arg;

	j->r = *arc_verify_finish(j->v);
}

static void
arc_job_done(void *arg)
{
	struct smtp_arc_job *j = arg;
	struct smtp_arc *a = j->a;

	arc_verify_free(&j->v);
	free(j->hdr);
	if (a != NULL) {
		a->job = NULL;
		arc_result_set(a, &j->r);
	}
	free(j);
	if (a != NULL)
		a->done(a->done_arg);
}

static void
smtp_arc_keys_cb(void *arg)
{
	struct smtp_arc *a = arg;
	struct smtp_arc_job *j = calloc(1, sizeof(*j));

	a->lk = NULL;
	if (j == NULL) {
		arc_decided(a); /* no memory for a job: here, once */
		a->done(a->done_arg);
		return;
	}
	j->a = a;
	j->v = a->v;
	j->hdr = a->hdr;
	a->v = NULL;
	a->hdr = NULL;
	a->job = j;
	workers_submit_urgent(a->srv->workers, arc_job_work, arc_job_done, j);
}

int
smtp_arc_end(struct smtp_session *s, struct smtp_arc *a,
	     void (*done)(void *arg), void *arg)
{
	int rc;

	if (a == NULL || a->v == NULL)
		return 0;
	arc_verify_body_end(a->v);
	a->done = done;
	a->done_arg = arg;
	rc = arc_lookup_start(s->base.srv->dns, a->v, smtp_arc_keys_cb, a,
			      &a->lk);
	if (rc == 0)
		return 1;
	if (rc < 0)
		arc_set_status(a, ARC_FAIL, "out of memory");
	else
		arc_decided(a);
	arc_verify_free(&a->v);
	return 0;
}

bool
smtp_arc_pending(const struct smtp_arc *a)
{
	return a != NULL && (a->lk != NULL || a->job != NULL);
}

bool
smtp_arc_item(struct smtp_session *s, struct smtp_arc *a,
	      struct authres_item *it)
{
	if (a == NULL || !a->chain)
		return false;
	size_t k = 0;

	memset(it, 0, sizeof(*it));
	it->method = "arc";
	it->result = arc_status_name(a->status);
	/* RFC 8617 §7.2: header.oldest-pass when only a newer part of the
	 * chain passed its message signature; the client's address, which
	 * the next hop's AAR otherwise does not name. */
	if (a->oldest[0] != '\0' && strcmp(a->oldest, "1") != 0) {
		it->props[k].name = "header.oldest-pass";
		it->props[k++].value = a->oldest;
	}
	if (s->base.conn != NULL) {
		it->props[k].name = "smtp.remote-ip";
		it->props[k].value = conn_peer(s->base.conn);
	}
	log_info(s->base.id, "arc", " msg=%s result=%s why=%s", s->tx->msgid,
		 arc_status_name(a->status), log_qs(a->why));
	return true;
}

int
smtp_arc_status(const struct smtp_arc *a)
{
	return a != NULL && a->chain ? (int)a->status : ARC_NONE;
}

bool
smtp_arc_trusted(const struct smtp_arc *a, const char *list)
{
	size_t sl;

	if (a == NULL || !a->chain || a->status != ARC_PASS ||
	    (sl = strlen(a->sealer)) == 0)
		return false;
	while (*list != '\0') {
		size_t n = strcspn(list, " ,\t");

		if (n == sl && strncasecmp(list, a->sealer, n) == 0)
			return true;
		list += n;
		list += strspn(list, " ,\t");
	}
	return false;
}

void
smtp_arc_keep_authres(struct smtp_arc *a, const void *p, size_t n)
{
	if (a == NULL || a->authres != NULL || n == 0)
		return;
	a->authres = malloc(n);
	if (a->authres == NULL)
		return;
	memcpy(a->authres, p, n);
	a->authres_len = n;
}

void
smtp_arc_free(struct smtp_arc **ap)
{
	struct smtp_arc *a = *ap;

	if (a == NULL)
		return;
	arc_lookup_cancel(&a->lk);
	if (a->job != NULL)
		a->job->a = NULL; /* it frees itself when it comes back */
	arc_verify_free(&a->v);
	free(a->hdr);
	free(a->authres);
	free(a);
	*ap = NULL;
}

/* ---- sealing ----------------------------------------------------------- */

struct smtp_arc_seal {
	struct dkim_keyring *kr;
	struct dkim_signer signer;  /* borrows from kr */
	enum arc_status cv;
	char *authres;
	size_t authres_len;
};

struct smtp_arc_seal *
smtp_arc_seal_new(struct smtp_session *s)
{
	struct smtp_arc *a = smtp_mailauth_arc(s);
	struct smtp_arc_seal *x;
	char domain[DKIM_DOMAIN_MAX + 1];

	/* Only what came from elsewhere on port 25 and goes elsewhere
	 * again; our own users' mail is DKIM-signed instead. */
	if (s->proto != PROTO_SMTP || s->authed || !s->base.srv->cfg.arc ||
	    a == NULL || a->authres == NULL ||
	    !smtp_forward_domain(s->tx, domain, sizeof(domain)))
		return NULL;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->kr = dkim_keyring_get(&s->base.srv->dkim);
	if (x->kr == NULL ||
	    dkim_keyring_signer(x->kr, domain, &x->signer) < 0) {
		log_info(s->base.id, "arc_unsealed", " msg=%s domain=%s "
			 "reason=%s", s->tx->msgid, log_qs(domain),
			 log_qs("no DKIM keys for the forwarding domain"));
		smtp_arc_seal_free(&x);
		return NULL;
	}
	x->authres = malloc(a->authres_len);
	if (x->authres == NULL) {
		smtp_arc_seal_free(&x);
		return NULL;
	}
	memcpy(x->authres, a->authres, a->authres_len);
	x->authres_len = a->authres_len;
	x->cv = a->chain ? a->status : ARC_NONE;
	return x;
}

void
smtp_arc_seal_run(struct smtp_arc_seal *x, const char *msg, size_t len,
		  struct buf *prefix, const char *msgid)
{
	size_t before = prefix->len;
	const char *why = NULL;
	int rc;

	rc = arc_seal(&x->signer, msg, len, x->cv, x->authres,
		      x->authres_len, time(NULL), prefix, &why);
	if (rc > 0 && buf_append(prefix, "", 1) == 0) {
		prefix->len--; /* NUL-terminated for the store */
		log_info(NULL, "arc_seal", " msg=%s domain=%s cv=%s", msgid,
			 log_qs(x->signer.domain), arc_status_name(x->cv));
		return;
	}
	prefix->len = before;
	if (before > 0)
		prefix->data[before] = '\0';
	if (rc > 0)
		why = "seal too long for the queue";
	log_info(NULL, "arc_unsealed", " msg=%s reason=%s", msgid,
		 log_qs(why));
}

void
smtp_arc_seal_free(struct smtp_arc_seal **xp)
{
	struct smtp_arc_seal *x = *xp;

	if (x == NULL)
		return;
	dkim_keyring_unref(&x->kr);
	free(x->authres);
	free(x);
	*xp = NULL;
}
