/*
 * Sender authentication of a received message (docs/ARCHITECTURE.md,
 * Sender authentication): the SPF checks (RFC 7208) start when MAIL FROM
 * arrives on port 25 and run while RCPT and DATA go on; the header
 * section is scanned as it arrives for Authentication-Results fields
 * that claim our authserv-id (RFC 8601 §5: forgeries, removed on every
 * port); at the end of the message ONE Authentication-Results field with
 * every result is inserted after our Received field (smtp_spool_edit).
 * DKIM and DMARC (smtp_dmarc.c) join the same field at the same point;
 * DMARC's policy is acted on here (dmarc_enforce): reject is a 550 at the
 * end of the data, quarantine delivers into Junk (tx->junk).
 * SPF fail does not refuse anything here: DMARC decides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../mailauth/authres.h"
#include "../mailauth/dkim.h"
#include "../mailauth/spf.h"
#include "smtp_arc.h"
#include "smtp_dmarc.h"
#include "smtp_int.h"

/* The first octets of a header field kept to read its name and, for an
 * Authentication-Results field, its authserv-id. */
#define SMTP_AR_HEAD 512
/* The Authentication-Results field we add: what the spool can insert
 * (8 DKIM results with their reasons take about 2,500 octets). */
#define SMTP_AR_MAX SMTP_SPOOL_EDIT_MAX
/* Its results: SPF twice, DKIM per signature, DMARC, ARC. */
#define SMTP_AR_ITEMS (2 + DKIM_SIGS_MAX + 1 + 1)

enum { SPF_MAILFROM = 0, SPF_HELO = 1 };

struct smtp_spf {
	struct smtp_mailauth *a;
	struct spf_check *chk;  /* NULL when done (or never started) */
	struct spf_outcome out;
	bool used;
};

struct smtp_mailauth {
	struct smtp_session *s;
	/* SPF: [SPF_MAILFROM] for MAIL FROM (the HELO identity for the
	 * null sender), [SPF_HELO] for HELO when the sender is not null. */
	struct smtp_spf spf[2];
	struct smtp_dmarc *dm;   /* DKIM and DMARC; NULL when not checked */
	bool results;            /* port 25: add our field */
	struct smtp_arc *arc;    /* the ARC chain (smtp_arc.h) */
	smtp_mailauth_cont_fn cont; /* waiting for SPF at the end of data */
	/* The header scan (message offsets, our Received excluded). */
	bool hdr_done, line_start, in_field;
	uint64_t field_off;
	char head[SMTP_AR_HEAD];
	size_t head_len;
	size_t n_cuts;
	bool too_many;
	uint64_t cuts[SMTP_SPOOL_CUTS_MAX][2];
};

static bool
checks_pending(const struct smtp_mailauth *a)
{
	return a->spf[0].chk != NULL || a->spf[1].chk != NULL ||
	       smtp_dmarc_pending(a->dm) || smtp_arc_pending(a->arc);
}

static void mailauth_finish(struct smtp_session *s);
static void mailauth_ready(void *arg);

static void
smtp_spf_done_cb(void *arg, const struct spf_outcome *o)
{
	struct smtp_spf *sp = arg;
	struct smtp_mailauth *a = sp->a;

	sp->chk = NULL; /* the check is gone once this returns */
	sp->out = *o;
	mailauth_ready(a);
}

/* A check ended: when the end of the message waits for the last one,
 * it goes on. */
static void
mailauth_ready(void *arg)
{
	struct smtp_mailauth *a = arg;
	struct smtp_session *s = a->s;

	if (a->cont == NULL || checks_pending(a))
		return;
	/* The end of the message was waiting for us. No reference is
	 * held meanwhile: a session that ends frees the transaction, which
	 * cancels the checks (and this callback). */
	if (s->base.conn == NULL)
		return;
	s->tx->auth_wait = false;
	mailauth_finish(s);
	if (smtp_session_jobs(s) == 0)
		smtp_session_resume(s);
}

static void
spf_start(struct smtp_session *s, struct smtp_spf *sp, bool helo_identity)
{
	struct spf_request r = {
		.ip = conn_peer(s->base.conn),
		.sender = s->tx->from,
		.helo = s->helo,
		.receiver = s->base.srv->cfg.hostname,
		.helo_identity = helo_identity,
	};

	sp->a = s->tx->auth;
	sp->used = true;
	sp->chk = spf_check_start(s->base.srv->dns, &r, smtp_spf_done_cb, sp,
				  &sp->out);
}

int
smtp_mailauth_mail(struct smtp_session *s)
{
	struct smtp_mailauth *a = calloc(1, sizeof(*a));
	const struct server *srv = s->base.srv;

	if (a == NULL)
		return -1;
	a->s = s;
	a->line_start = true;
	s->tx->auth = a;
	/* Submission is authenticated instead (RFC 6409): not checked. */
	if (s->proto != PROTO_SMTP)
		return 0;
	a->results = true;
	if (srv->cfg.dmarc &&
	    (a->dm = smtp_dmarc_new(s, mailauth_ready, a)) == NULL)
		return -1;
	if (!srv->cfg.spf || srv->dns == NULL)
		return 0;
	/* RFC 7208 §2.4: the null sender is checked with the HELO
	 * identity; §2.3: HELO is checked as well. */
	spf_start(s, &a->spf[SPF_MAILFROM], s->tx->from[0] == '\0');
	if (s->tx->from[0] != '\0')
		spf_start(s, &a->spf[SPF_HELO], true);
	return 0;
}

void
smtp_mailauth_free(struct smtp_mailauth **ap)
{
	struct smtp_mailauth *a = *ap;

	if (a == NULL)
		return;
	spf_check_cancel(&a->spf[0].chk);
	spf_check_cancel(&a->spf[1].chk);
	smtp_dmarc_free(&a->dm);
	smtp_arc_free(&a->arc);
	free(a);
	*ap = NULL;
}

/* ---- the header scan --------------------------------------------------- */

/* The field that started at a->field_off ends at end. */
static void
field_end(struct smtp_mailauth *a, uint64_t end, const char *id)
{
	if (!a->in_field)
		return;
	a->in_field = false;
	if (!authres_is_ours(a->head, a->head_len, id))
		return;
	if (a->n_cuts == SMTP_SPOOL_CUTS_MAX) {
		a->too_many = true;
		return;
	}
	a->cuts[a->n_cuts][0] = a->field_off;
	a->cuts[a->n_cuts][1] = end - a->field_off;
	a->n_cuts++;
}

void
smtp_mailauth_scan(struct smtp_session *s, uint64_t off, const char *p,
		   size_t n)
{
	struct smtp_mailauth *a = s->tx->auth;
	const char *id = s->base.srv->cfg.hostname;

	if (a == NULL)
		return;
	smtp_dmarc_scan(a->dm, off, p, n);
	if (a->results)
		smtp_arc_scan(s, &a->arc, off, p, n);
	if (a->hdr_done)
		return;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (a->line_start) {
			a->line_start = false;
			if (c == '\r' || c == '\n') {
				/* The empty line: the header section ends. */
				field_end(a, off + i, id);
				a->hdr_done = true;
				return;
			}
			if (c != ' ' && c != '\t') {
				field_end(a, off + i, id);
				a->in_field = true;
				a->field_off = off + i;
				a->head_len = 0;
			}
		}
		if (a->in_field && a->head_len < sizeof(a->head))
			a->head[a->head_len++] = c;
		if (c == '\n')
			a->line_start = true;
	}
}

/* ---- the end of the message -------------------------------------------- */

/* The value of smtp.mailfrom / smtp.helo. */
static void
spf_item(const struct smtp_session *s, const struct smtp_spf *sp, bool helo,
	 struct authres_item *it)
{
	it->method = "spf";
	it->result = spf_result_name(sp->out.result);
	it->props[0].name = helo ? "smtp.helo" : "smtp.mailfrom";
	it->props[0].value = helo ? s->helo : s->tx->from;
}

static void
spf_log(const struct smtp_session *s, const struct smtp_mailauth *a)
{
	const struct smtp_spf *m = &a->spf[SPF_MAILFROM];
	const struct smtp_spf *h = &a->spf[SPF_HELO];

	log_info(s->base.id, "spf", " msg=%s result=%s identity=%s "
		 "domain=%s helo_result=%s why=%s", s->tx->msgid,
		 spf_result_name(m->out.result),
		 s->tx->from[0] ? "mailfrom" : "helo", log_qs(m->out.domain),
		 h->used ? spf_result_name(h->out.result) : "-",
		 log_qs(m->out.why));
}

/* Every method's results, in the order they are written (RFC 8601 has
 * none; SPF first, as it was decided first). Returns how many. */
static size_t
mailauth_items(struct smtp_session *s, struct smtp_mailauth *a,
	       struct authres_item *items, size_t cap)
{
	const struct smtp_spf *m = &a->spf[SPF_MAILFROM];
	struct smtp_dmarc_spf dspf = {
		m->out.domain, m->used && m->out.result == SPF_PASS,
		m->used && m->out.result == SPF_TEMPERROR };
	size_t n = 0;

	if (m->used) {
		spf_item(s, m, s->tx->from[0] == '\0', &items[n++]);
		spf_log(s, a);
	}
	if (a->spf[SPF_HELO].used)
		spf_item(s, &a->spf[SPF_HELO], true, &items[n++]);
	n += smtp_dmarc_items(a->dm, &dspf, items + n, cap - n);
	if (n < cap)
		n += smtp_arc_item(s, a->arc, &items[n]);
	return n;
}

/* DMARC's policy for a message that failed (RFC 7489 §6.6.2), when
 * enforced: 0 go on (quarantine marks the transaction for Junk), -1
 * refused (replied, transaction freed). */
static int
mailauth_enforce(struct smtp_session *s, struct smtp_mailauth *a)
{
	enum dmarc_policy act = smtp_dmarc_action(a->dm);

	if (!s->base.srv->cfg.dmarc_enforce)
		return 0;
	if (smtp_dmarc_defer(a->dm)) {
		/* A key or SPF record of the From: domain could not be
		 * fetched: it may pass later, so neither 550 nor Junk. */
		log_info(s->base.id, "defer", " msg=%s reason=dmarc_temperror",
			 s->tx->msgid);
		smtp_reply(s, 451, "4.7.1", "Sender authentication could not "
			   "be completed, try again later");
		smtp_tx_free(s);
		return -1;
	}
	if (act == DMARC_POLICY_NONE)
		return 0;
	/* A forwarder we trust (a mailing list that changes the subject)
	 * vouches through its passing ARC chain: local policy override
	 * (RFC 7489 §7, RFC 8617 §7.2.1). */
	if (smtp_arc_trusted(a->arc, s->base.srv->cfg.arc_trusted_sealers)) {
		log_info(s->base.id, "dmarc_override", " msg=%s reason=arc",
			 s->tx->msgid);
		return 0;
	}
	if (act == DMARC_POLICY_QUARANTINE) {
		s->tx->junk = true;
		return 0;
	}
	log_info(s->base.id, "reject", " msg=%s reason=dmarc", s->tx->msgid);
	smtp_reply(s, 550, "5.7.1", "Rejected by the DMARC policy of the "
		   "From: domain");
	smtp_tx_free(s);
	return -1;
}

/* Every result is known: our field and the cuts go to the spool. */
static void
mailauth_finish(struct smtp_session *s)
{
	struct smtp_mailauth *a = s->tx->auth;
	smtp_mailauth_cont_fn cont = a->cont;
	struct authres_item items[SMTP_AR_ITEMS] = { 0 };
	struct buf ar;
	uint64_t head = s->tx->received_len;
	int rc = 0;

	a->cont = NULL;
	buf_init(&ar, SMTP_AR_MAX);
	if (a->results) {
		size_t n = mailauth_items(s, a, items, SMTP_AR_ITEMS);

		if (mailauth_enforce(s, a) < 0) {
			buf_fini(&ar);
			return;
		}
		rc = authres_header(&ar, s->base.srv->cfg.hostname, items, n);
		if (rc == 0)
			smtp_arc_keep_authres(a->arc, ar.data, ar.len);
	}
	for (size_t i = 0; i < a->n_cuts; i++)
		a->cuts[i][0] += head; /* file offsets */
	if (rc == 0 && (ar.len > 0 || a->n_cuts > 0))
		rc = smtp_spool_edit(s->tx->spool, head, ar.data, ar.len,
				     (const uint64_t (*)[2])a->cuts, a->n_cuts);
	buf_fini(&ar);
	if (a->n_cuts > 0)
		log_info(s->base.id, "authres_removed", " msg=%s count=%zu",
			 s->tx->msgid, a->n_cuts);
	if (rc < 0) {
		smtp_reply(s, 451, "4.3.0", "Out of memory");
		smtp_tx_free(s);
		return;
	}
	cont(s);
}

void
smtp_mailauth_data(struct smtp_session *s, smtp_mailauth_cont_fn cont)
{
	struct smtp_mailauth *a = s->tx->auth;

	if (a == NULL) {
		cont(s);
		return;
	}
	if (!a->hdr_done)
		field_end(a, s->tx->size, s->base.srv->cfg.hostname);
	if (a->too_many) {
		log_info(s->base.id, "reject", " msg=%s reason=authres_forged",
			 s->tx->msgid);
		smtp_reply(s, 550, "5.7.1", "More than %d Authentication-"
			   "Results fields of %s", SMTP_SPOOL_CUTS_MAX,
			   s->base.srv->cfg.hostname);
		smtp_tx_free(s);
		return;
	}
	a->cont = cont;
	smtp_dmarc_data(a->dm);
	(void)smtp_arc_end(s, a->arc, mailauth_ready, a);
	if (!checks_pending(a)) {
		mailauth_finish(s);
		return;
	}
	/* Wait for the SPF answers; no further command is read meanwhile. */
	s->tx->auth_wait = true;
	conn_pause(s->base.conn);
}

struct smtp_arc *
smtp_mailauth_arc(struct smtp_session *s)
{
	return s->tx != NULL && s->tx->auth != NULL ? s->tx->auth->arc : NULL;
}
