/*
 * Sender identity on submission: the session side of the check (see
 * smtp_sender.h). Lookups run on a worker with the thread's store, as RCPT
 * does; the connection is paused meanwhile, so pipelined commands wait.
 *
 * At MAIL the reverse-path is looked up. At the end of the message, the
 * From:/Sender: mailboxes equal to the MAIL FROM just checked or to the
 * account's own address need no lookup (the usual message: no worker
 * round trip at all); the others are looked up together in one job. Not
 * cached across transactions: a grant removed or an alias changed with
 * the CLI applies to the next MAIL.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/config.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../mime/mime.h"
#include "../store/store.h"
#include "../util/str.h"
#include "smtp_int.h"
#include "smtp_sender.h"

/* A lookup in flight: every address of hdr must be the account's. */
struct smtp_sender_job {
	struct smtp_session *s;
	char account[LIMIT_ADDRESS + 1];
	struct smtp_sender_hdr hdr;
	smtp_sender_cont_fn cont; /* NULL: the MAIL check */
	int result;               /* 1 all allowed, 0 denied, -1 error */
	size_t denied;            /* index into hdr.addrs when 0 */
};

static bool
sender_applies(const struct smtp_session *s)
{
	return (s->proto == PROTO_SUBMISSION || s->proto == PROTO_SUBMISSIONS)
	       && s->authed && s->base.srv->cfg.sender_check;
}

static bool
sender_same(const char *a, const char *b)
{
	size_t n = strlen(a);

	return strlen(b) == n && str_ieq(a, n, b);
}

static void
sender_work(void *arg)
{
	struct smtp_sender_job *j = arg;
	struct store *st = store_thread_handle(&j->s->base.srv->cfg);
	struct store_account acct;
	int rc;

	j->result = -1;
	if (st == NULL)
		return;
	rc = store_account_lookup(st, j->account, &acct);
	explicit_bzero(acct.pwhash, sizeof(acct.pwhash));
	if (rc <= 0) {
		/* An account deleted since AUTH owns nothing. */
		j->result = rc;
		return;
	}
	j->result = 1;
	for (size_t i = 0; i < j->hdr.n && j->result == 1; i++) {
		j->result = store_sender_allowed(st, acct.id, j->hdr.addrs[i]);
		j->denied = i;
	}
}

/* 550 5.7.1 naming the rule; the transaction ends. */
static void
sender_refuse(struct smtp_session *s, const char *what, const char *from)
{
	char addr[LIMIT_ADDRESS + 1];
	size_t n = 0;

	/* Header bytes go back in the reply: printable ASCII only. */
	for (; from[n] != '\0' && n < sizeof(addr) - 1; n++)
		addr[n] = from[n] > 0x20 && from[n] < 0x7f ? from[n] : '?';
	addr[n] = '\0';
	log_info(s->base.id, "reject",
		 " reason=sender field=%s addr=%s user=%s",
		 what, log_qs(addr), log_qs(s->auth_user));
	smtp_reply(s, 550, "5.7.1", "%s address <%s> not owned by "
		   "authenticated user %s", what, addr, s->auth_user);
	smtp_tx_free(s);
}

static void
sender_done(void *arg)
{
	struct smtp_sender_job *j = arg;
	struct smtp_session *s = j->s;
	bool at_mail = j->cont == NULL;

	if (s->base.conn != NULL && s->tx != NULL) {
		if (j->result < 0) {
			smtp_reply(s, 451, "4.3.0", "Temporary lookup failure");
			smtp_tx_free(s);
		} else if (j->result == 0) {
			sender_refuse(s, at_mail ? "Sender" : smtp_sender_field_name(
						j->hdr.field[j->denied]),
				      j->hdr.addrs[j->denied]);
		} else if (at_mail) {
			smtp_reply(s, 250, "2.1.0", "Ok");
		} else {
			j->cont(s);
		}
	}
	free(j);
	/* cont may have started the delivery, which holds its own
	 * reference and resumes the session when it is done. */
	if (!session_unref(&s->base) && smtp_session_jobs(s) == 0)
		smtp_session_resume(s);
}

static void
sender_submit(struct smtp_session *s, struct smtp_sender_job *j)
{
	j->s = s;
	str_lcpy(j->account, s->auth_user, sizeof(j->account));
	session_ref(&s->base);
	conn_pause(s->base.conn);
	workers_submit_urgent(s->base.srv->workers, sender_work, sender_done,
			      j);
}

/* A zeroed job; on no memory the transaction is answered 451 and
 * dropped, and NULL returned. */
static struct smtp_sender_job *
sender_job_new(struct smtp_session *s)
{
	struct smtp_sender_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		smtp_reply(s, 451, "4.3.0", "Out of memory");
		smtp_tx_free(s);
	}
	return j;
}

void
smtp_sender_mail(struct smtp_session *s)
{
	struct smtp_sender_job *j;

	if (!sender_applies(s)) {
		smtp_reply(s, 250, "2.1.0", "Ok");
		return;
	}
	/* RFC 5321 §4.5.5: the null reverse-path is for notifications an
	 * MTA generates (bounces); a user agent has none to send, and mail
	 * nobody can answer or bounce to is not sent in a user's name. */
	if (s->tx->from[0] == '\0') {
		log_info(s->base.id, "reject",
			 " reason=sender field=Sender addr=<> "
			 "user=%s", log_qs(s->auth_user));
		smtp_reply(s, 550, "5.7.1", "Null sender <> not allowed on "
			   "submission for authenticated user %s",
			   s->auth_user);
		smtp_tx_free(s);
		return;
	}
	j = sender_job_new(s);
	if (j == NULL)
		return;
	j->hdr.n = 1;
	str_lcpy(j->hdr.addrs[0], s->tx->from, sizeof(j->hdr.addrs[0]));
	sender_submit(s, j);
}

/* Refuses a header that cannot be checked; false when it can. */
static bool
sender_hdr_refused(struct smtp_session *s, enum smtp_sender_hdr_status st,
		   const struct smtp_sender_hdr *h)
{
	switch (st) {
	case SMTP_SENDER_HDR_OK:
		return false;
	case SMTP_SENDER_HDR_NO_FROM:
		smtp_reply(s, 550, "5.7.1", "Message has no From: address "
			   "(RFC 5322 §3.6.2); authenticated user %s",
			   s->auth_user);
		break;
	case SMTP_SENDER_HDR_BAD_ADDR:
		smtp_reply(s, 550, "5.7.1", "%s address <%s> not owned by "
			   "authenticated user %s",
			   smtp_sender_field_name(h->bad_field), h->bad,
			   s->auth_user);
		break;
	case SMTP_SENDER_HDR_TOO_MANY:
		smtp_reply(s, 550, "5.7.1", "More than %d From:/Sender: "
			   "addresses", SMTP_SENDER_ADDRS_MAX);
		break;
	default:
		smtp_reply(s, 451, "4.3.0", "Out of memory");
		break;
	}
	log_info(s->base.id, "reject",
		 " reason=sender_header status=%d user=%s",
		 (int)st, log_qs(s->auth_user));
	smtp_tx_free(s);
	return true;
}

/* Drops the mailboxes checked already (MAIL FROM of this transaction,
 * the account's own address); keeps the others in place. */
static void
sender_drop_known(struct smtp_session *s, struct smtp_sender_hdr *h)
{
	size_t k = 0;

	for (size_t i = 0; i < h->n; i++) {
		if (sender_same(h->addrs[i], s->tx->from) ||
		    sender_same(h->addrs[i], s->auth_user))
			continue;
		if (k != i) {
			memcpy(h->addrs[k], h->addrs[i], sizeof(h->addrs[k]));
			h->field[k] = h->field[i];
		}
		k++;
	}
	h->n = k;
}

void
smtp_sender_data(struct smtp_session *s, const char *hdr, size_t len,
		 bool truncated, smtp_sender_cont_fn cont)
{
	size_t cap = len < LIMIT_SMTP_HEADER_KEPT ? len
						    : LIMIT_SMTP_HEADER_KEPT;
	enum smtp_sender_hdr_status st;
	struct smtp_sender_job *j;

	if (!sender_applies(s)) {
		cont(s);
		return;
	}
	/* A From: past what we read could not be checked. */
	if (mime_header_block_len(hdr, cap) == cap && (truncated || len > cap)) {
		log_info(s->base.id, "reject", " reason=sender_header_size");
		smtp_reply(s, 550, "5.7.1", "Header block over %d octets: "
			   "From: cannot be checked", LIMIT_SMTP_HEADER_KEPT);
		smtp_tx_free(s);
		return;
	}
	j = sender_job_new(s);
	if (j == NULL)
		return;
	st = smtp_sender_header_parse(hdr, cap, &j->hdr);
	if (sender_hdr_refused(s, st, &j->hdr)) {
		free(j);
		return;
	}
	sender_drop_known(s, &j->hdr);
	if (j->hdr.n == 0) {
		free(j);
		cont(s);
		return;
	}
	j->cont = cont;
	sender_submit(s, j);
}
