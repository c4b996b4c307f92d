/*
 * SMTP command table and the handlers for everything but DATA/BDAT and AUTH.
 * The dispatcher checks state and sends 503 itself; a handler holds only its
 * command's logic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../core/config.h"
#include "../core/conn.h"
#include "../core/diskfree.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/runtime.h"
#include "../core/workers.h"
#include "../store/store.h"
#include "../util/str.h"
#include "smtp_int.h"
#include "smtp_srs.h"
#include "smtp_sender.h"

#define ANY_STATE (SMTP_STATE_INIT | SMTP_STATE_HELO | SMTP_STATE_MAIL | \
		   SMTP_STATE_RCPT)
#define GREETED (SMTP_STATE_HELO | SMTP_STATE_MAIL | SMTP_STATE_RCPT)

typedef void (*smtp_handler)(struct smtp_session *s,
			     const struct smtp_cmd *cmd);

/* What a command needs besides its state; the dispatcher checks these in
 * this order and sends the refusal itself. */
enum smtp_cmd_flag {
	/* RFC 4954 §4 and DESIGN.md: no AUTH before TLS (538). */
	SMTP_CMD_NEEDS_TLS = 1 << 0,
	/* RFC 3207 §4: STARTTLS once only (503). */
	SMTP_CMD_NO_TLS = 1 << 1,
	/* The submission ports take mail from authenticated clients only
	 * (RFC 6409; RFC 4954 §6: 530 5.7.0). */
	SMTP_CMD_NEEDS_AUTH_SUBMISSION = 1 << 2,
	/* RFC 4954 §4: no AUTH once authenticated (503). */
	SMTP_CMD_NOT_AUTHED = 1 << 3,
};

struct smtp_cmd_entry {
	smtp_handler fn;
	unsigned states;         /* enum smtp_state mask */
	const char *bad_state;   /* 503 text when the state is wrong */
	unsigned flags;          /* enum smtp_cmd_flag */
};

static bool
smtp_submission(const struct smtp_session *s)
{
	return s->proto == PROTO_SUBMISSION || s->proto == PROTO_SUBMISSIONS;
}

static void
cmd_helo(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	char line[LIMIT_DOMAIN + 64];
	char size[64];
	const char *lines[12];
	size_t n = 0;
	bool tls = conn_is_tls(s->base.conn);

	/* RFC 5321 §4.1.4: HELO/EHLO also resets any transaction. */
	smtp_tx_free(s);
	snprintf(s->helo, sizeof(s->helo), "%.*s", (int)cmd->arg_len, cmd->arg);
	s->state = SMTP_STATE_HELO;
	s->esmtp = cmd->verb == SMTP_VERB_EHLO;
	if (!s->esmtp) {
		smtp_reply(s, 250, NULL, "%s", s->base.srv->cfg.hostname);
		return;
	}
	snprintf(line, sizeof(line), "%s", s->base.srv->cfg.hostname);
	lines[n++] = line;
	lines[n++] = "PIPELINING";
	snprintf(size, sizeof(size), "SIZE %zu",
		 s->base.srv->cfg.max_message_size);
	lines[n++] = size;
	lines[n++] = "8BITMIME";
	lines[n++] = "ENHANCEDSTATUSCODES";
	lines[n++] = "SMTPUTF8";
	lines[n++] = "CHUNKING";
	lines[n++] = "DSN"; /* RFC 3461 §4 */
	if (!tls)
		lines[n++] = "STARTTLS";
	/* RFC 4954 §4 and DESIGN.md: no AUTH before TLS. */
	if (tls && !s->authed)
		lines[n++] = "AUTH PLAIN LOGIN";
	/* RFC 8689 §2: only over TLS. */
	if (tls)
		lines[n++] = "REQUIRETLS";
	lines[n++] = "HELP";
	smtp_reply_lines(s, 250, lines, n);
}

struct smtp_mail_opts {
	bool utf8;          /* SMTPUTF8 */
	bool requiretls;    /* REQUIRETLS (RFC 8689) */
	bool body_8bit;     /* BODY=8BITMIME */
	uint64_t size;      /* SIZE=, 0 */
};

static int
smtp_mail_params(struct smtp_session *s, const struct smtp_cmd *cmd,
		 struct smtp_mail_opts *o)
{
	for (size_t i = 0; i < cmd->n_params; i++) {
		const struct smtp_param *p = &cmd->params[i];
		char val[32];

		snprintf(val, sizeof(val), "%.*s", (int)p->val_len,
			 p->val ? p->val : "");
		if (str_ieq(p->key, p->key_len, "SIZE") && p->val != NULL) {
			long long sz;
			if (str_tonum(val, 0, 1LL << 62, &sz) < 0) {
				smtp_reply(s, 501, "5.5.4", "Bad SIZE value");
				return -1;
			}
			/* RFC 1870 §6.2 */
			if ((unsigned long long)sz >
			    s->base.srv->cfg.max_message_size) {
				smtp_reply(s, 552, "5.3.4",
					   "Message size exceeds fixed limit");
				return -1;
			}
			o->size = (uint64_t)sz;
		} else if (str_ieq(p->key, p->key_len, "BODY") && p->val) {
			if (!str_ieq(p->val, p->val_len, "7BIT") &&
			    !str_ieq(p->val, p->val_len, "8BITMIME")) {
				smtp_reply(s, 555, "5.5.4",
					   "Unsupported BODY type");
				return -1;
			}
			o->body_8bit = str_ieq(p->val, p->val_len, "8BITMIME");
		} else if (str_ieq(p->key, p->key_len, "SMTPUTF8") &&
			   p->val == NULL) {
			o->utf8 = true;
		} else if (str_ieq(p->key, p->key_len, "RET") ||
			   str_ieq(p->key, p->key_len, "ENVID")) {
			/* RFC 3461 §4.3-4.4: checked and decoded by the
			 * parser (cmd->dsn_ret, cmd->envid). */
		} else if (str_ieq(p->key, p->key_len, "REQUIRETLS") &&
			   p->val == NULL) {
			/* RFC 8689 §4.1: only on a TLS session, where it is
			 * offered. */
			if (!conn_is_tls(s->base.conn)) {
				smtp_reply(s, 530, "5.7.10", "REQUIRETLS "
					   "needs a TLS session");
				return -1;
			}
			o->requiretls = true;
		} else if (str_ieq(p->key, p->key_len, "AUTH") && p->val) {
			/* RFC 4954 §5: accepted, not trusted. */
		} else {
			smtp_reply(s, 555, "5.5.4", "Unsupported parameter %s",
				   log_q(p->key, p->key_len));
			return -1;
		}
	}
	return 0;
}

static void
cmd_mail(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_mail_opts o = { 0 };

	if (smtp_mail_params(s, cmd, &o) < 0)
		return;
	/* Below min_free_disk nothing new is accepted, so a full
	 * disk never loses mail; RFC 3463 4.3.1, a temporary refusal the
	 * sender retries (RFC 5321 §4.2.3 452). */
	if (diskfree_low(s->base.srv->cfg.data_dir,
			 s->base.srv->cfg.min_free_disk)) {
		log_warn(s->base.id, "mail", " error=disk_low");
		smtp_reply(s, 452, "4.3.1", "Insufficient system storage");
		return;
	}
	/* RFC 6531 §3.4: a non-ASCII address needs SMTPUTF8. */
	if (cmd->path_has_utf8 && !o.utf8) {
		smtp_reply(s, 553, "5.6.7", "SMTPUTF8 is required for this "
			   "address");
		return;
	}
	s->tx = smtp_tx_new();
	if (s->tx == NULL) {
		smtp_reply(s, 451, "4.3.0", "Out of memory");
		smtp_tx_free(s);
		return;
	}
	s->tx->smtputf8 = o.utf8;
	s->tx->requiretls = o.requiretls;
	s->tx->body_8bit = o.body_8bit;
	s->tx->declared_size = o.size;
	s->tx->dsn_ret = cmd->dsn_ret;
	str_lcpy(s->tx->envid, cmd->envid, sizeof(s->tx->envid));
	str_lcpy(s->tx->from, cmd->path, sizeof(s->tx->from));
	if (smtp_mailauth_mail(s) < 0) {
		smtp_reply(s, 451, "4.3.0", "Out of memory");
		smtp_tx_free(s);
		return;
	}
	s->state = SMTP_STATE_MAIL;
	/* Kept at info: a transaction cut short is known by its sender. */
	log_info(s->base.id, "mail", " from=%s", log_qs(cmd->path));
	smtp_sender_mail(s); /* 250, or 550 5.7.1 on submission */
}

/* A recipient lookup in flight on a worker. */
struct smtp_rcpt_job {
	struct smtp_session *s;
	char addr[LIMIT_ADDRESS + 1];
	enum store_rcpt_status status;
	int64_t *accounts;
	size_t n;
	char **remote;  /* external targets (NULL-terminated), or NULL */
	unsigned notify;               /* RCPT NOTIFY= */
	char orcpt[SMTP_ORCPT_MAX + 1];/* RCPT ORCPT=, decoded, or "" */
	uint64_t size;  /* MAIL SIZE=, at least 1 */
	bool full;      /* every account of the recipient is over quota */
	bool no_quota;  /* no account of the recipient has a quota */
	bool cache;     /* the answer may be kept (serial is valid) */
	uint64_t serial; /* the admin change counter when the lookup began */
};

/* One pass over the recipient's accounts: full when none has room for
 * the message (its declared size, or one octet), no_quota when none has
 * a quota (its answer then does not change as mailboxes fill:
 * smtp_rcpt_cache.c). A lookup error is neither: the delivery decides,
 * and the answer is not cached. */
static void
rcpt_quota(struct store *st, struct smtp_rcpt_job *j, uint64_t quota_default)
{
	bool full = j->n > 0, none = true;

	for (size_t i = 0; i < j->n && (full || none); i++) {
		int64_t quota;
		uint64_t limit;
		uint64_t usage;
		const char *err = NULL;

		if (store_quota_get(st, j->accounts[i], &quota, &usage,
				    &err) != 1) {
			full = none = false;
			break;
		}
		limit = store_quota_limit(quota, quota_default);
		full = full && store_quota_exceeded(limit, usage, j->size);
		none = none && limit == 0;
	}
	j->full = full;
	j->no_quota = j->cache && !full && none;
}

static void
rcpt_work(void *arg)
{
	struct smtp_rcpt_job *j = arg;
	struct store *st = store_thread_handle(&j->s->base.srv->cfg);

	j->status = st ? store_resolve_rcpt(st, j->addr, &j->accounts, &j->n,
					    &j->remote)
		       : STORE_RCPT_ERROR;
	/* Quota is a local account's: a recipient that also reaches
	 * addresses elsewhere is taken for those. */
	if (j->status == STORE_RCPT_OK && j->remote == NULL)
		rcpt_quota(st, j, j->s->base.srv->cfg.quota_default);
}

/* A recipient outside our domains from an authenticated client: the
 * address itself is its one remote target. 0 or -1 (no memory). */
static int
rcpt_make_remote(struct smtp_rcpt_job *j)
{
	j->remote = calloc(2, sizeof(char *));
	if (j->remote == NULL)
		return -1;
	j->remote[0] = strdup(j->addr);
	if (j->remote[0] != NULL)
		return 0;
	free(j->remote);
	j->remote = NULL;
	return -1;
}

static void
rcpt_accept(struct smtp_session *s, struct smtp_rcpt_job *j)
{
	struct smtp_tx *tx = s->tx;
	struct smtp_rcpt *r = realloc(tx->rcpts,
				      (tx->n_rcpts + 1) * sizeof(*r));

	if (r == NULL) {
		smtp_reply(s, 452, "4.3.1", "Out of memory");
		return;
	}
	tx->rcpts = r;
	r = &tx->rcpts[tx->n_rcpts++];
	memset(r, 0, sizeof(*r));
	str_lcpy(r->addr, j->addr, sizeof(r->addr));
	r->accounts = j->accounts;
	r->n_accounts = j->n;
	j->accounts = NULL;
	r->remote = j->remote;
	while (r->remote != NULL && r->remote[r->n_remote] != NULL)
		r->n_remote++;
	j->remote = NULL;
	r->notify = j->notify;
	str_lcpy(r->orcpt, j->orcpt, sizeof(r->orcpt));
	s->state = SMTP_STATE_RCPT;
	/* Debug only: event=deliver / event=queue name each recipient
	 * once the message is in. */
	log_debug(s->base.id, "rcpt", " to=%s accounts=%zu remote=%zu",
		 log_qs(r->addr), r->n_accounts, r->n_remote);
	smtp_reply(s, 250, "2.1.5", "Ok");
}

/* Recipient harvesting: a refused RCPT (unknown user, relay denied) is
 * an error of the session. After smtp_max_bad_rcpts of them every RCPT
 * waits smtp_bad_rcpt_delay_ms before its lookup (as Postfix's
 * smtpd_error_sleep_time), and at smtp_bad_rcpt_limit the session ends
 * with 421 (RFC 5321 §3.8: the server may close after 421). True when
 * the session is closing. */
static bool
rcpt_refused(struct smtp_session *s)
{
	if (++s->bad_rcpts < s->base.srv->cfg.smtp_bad_rcpt_limit)
		return false;
	log_warn(s->base.id, "rcpt_limit", " bad_rcpts=%u", s->bad_rcpts);
	smtp_reply(s, 421, "4.7.0", "Too many unknown recipients, closing "
		   "connection");
	session_close(&s->base, NULL);
	return true;
}

/* An address that is no user or alias of ours may be an SRS address of
 * a forward (a bounce coming back, smtp_srs.h). True when handled. */
static bool
rcpt_srs(struct smtp_session *s, struct smtp_rcpt_job *j)
{
	int rc;

	if (j->status != STORE_RCPT_NO_USER &&
	    j->status != STORE_RCPT_NOT_HOSTED)
		return false;
	rc = smtp_srs_rcpt(s, j->addr, j->status == STORE_RCPT_NOT_HOSTED,
			   &j->remote);
	if (rc > 0)
		rcpt_accept(s, j);
	else if (rc < 0)
		rcpt_refused(s);
	return rc != 0;
}

static void
rcpt_done(void *arg)
{
	struct smtp_rcpt_job *j = arg;
	struct smtp_session *s = j->s;

	if (s->base.conn != NULL && s->tx != NULL && !rcpt_srs(s, j)) {
		switch (j->status) {
		case STORE_RCPT_OK:
			/* RFC 3463 5.2.2; RFC 5321 §4.2.3 552 at RCPT. */
			if (j->full) {
				smtp_reply(s, 552, "5.2.2", "<%s>: Mailbox "
					   "full", j->addr);
				break;
			}
			if (j->no_quota && j->remote == NULL)
				smtp_rcpt_cache_put(j->addr, j->accounts, j->n,
						    j->serial);
			rcpt_accept(s, j);
			break;
		case STORE_RCPT_NO_USER:
			smtp_reply(s, 550, "5.1.1", "<%s>: Recipient address "
				   "rejected: User unknown", j->addr);
			rcpt_refused(s);
			break;
		case STORE_RCPT_NOT_HOSTED:
			/* Only an authenticated client on a submission port
			 * may send elsewhere; port 25 is for mail to us
			 * (RFC 6409 §1), even after AUTH, so a stolen or
			 * guessed password is no relay on the MX port. */
			if (!s->authed || !smtp_submission(s)) {
				smtp_reply(s, 554, "5.7.1", "<%s>: Relay access "
					   "denied%s", j->addr, s->authed ?
					   " (send through port 587 or 465)" : "");
				rcpt_refused(s);
			} else if (rcpt_make_remote(j) < 0) {
				smtp_reply(s, 452, "4.3.1", "Out of memory");
			} else {
				rcpt_accept(s, j);
			}
			break;
		default:
			smtp_reply(s, 451, "4.3.0", "Temporary lookup failure");
			break;
		}
	}
	free(j->accounts);
	store_strv_free(j->remote);
	free(j);
	if (!session_unref(&s->base))
		smtp_session_resume(s);
}

static void
rcpt_delay_done(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_rcpt_job *j = s->rcpt_delayed;

	s->rcpt_delayed = NULL;
	if (s->base.conn == NULL) {
		rcpt_done(j); /* the client left: no lookup, just release */
		return;
	}
	workers_submit(s->base.srv->workers, rcpt_work, rcpt_done, j);
}

/* Starts the lookup, after the harvesting delay once the session has had
 * smtp_max_bad_rcpts refusals. The reference and the pause last until
 * rcpt_done. */
static void
rcpt_submit(struct smtp_session *s, struct smtp_rcpt_job *j)
{
	long ms = s->base.srv->cfg.smtp_bad_rcpt_delay_ms;
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };
	bool delayed = s->bad_rcpts >= s->base.srv->cfg.smtp_max_bad_rcpts
		       && ms > 0;
	const char *data_dir = s->base.srv->cfg.data_dir;

	/* Known on the loop: answered at once, no worker round trip. */
	if (!delayed && smtp_rcpt_cache_get(data_dir, j->addr, &j->accounts,
					    &j->n) == 1) {
		rcpt_accept(s, j);
		free(j->accounts);
		free(j);
		return;
	}
	j->cache = smtp_rcpt_cache_serial(data_dir, &j->serial);
	session_ref(&s->base);
	conn_pause(s->base.conn);
	if (delayed) {
		if (s->rcpt_delay_ev == NULL)
			s->rcpt_delay_ev = evtimer_new(
				loop_base(s->base.srv->loop), rcpt_delay_done,
				s);
		s->rcpt_delayed = j;
		if (s->rcpt_delay_ev != NULL &&
		    evtimer_add(s->rcpt_delay_ev, &tv) == 0)
			return;
		s->rcpt_delayed = NULL;
	}
	/* Urgent lane: a sender waits, with its own timeouts, and must not
	 * queue behind IMAP reads (workers.h). */
	workers_submit_urgent(s->base.srv->workers, rcpt_work, rcpt_done, j);
}

static void
cmd_rcpt(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	struct smtp_rcpt_job *j;
	size_t n;

	/* RFC 3030 §3: the recipients come before the first chunk (the
	 * Received header naming them is already written). */
	if (s->tx->used_bdat) {
		smtp_reply(s, 503, "5.5.1", "RCPT may not follow BDAT");
		return;
	}
	if (s->tx->n_rcpts >= s->base.srv->cfg.max_rcpts) {
		smtp_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	/* RFC 3461 §4.1-4.2: NOTIFY and ORCPT, checked and decoded by the
	 * parser; nothing else. */
	for (size_t i = 0; i < cmd->n_params; i++) {
		const struct smtp_param *p = &cmd->params[i];

		if (!str_ieq(p->key, p->key_len, "NOTIFY") &&
		    !str_ieq(p->key, p->key_len, "ORCPT")) {
			smtp_reply(s, 555, "5.5.4", "Unsupported parameter %s",
				   log_q(p->key, p->key_len));
			return;
		}
	}
	if (cmd->path_has_utf8 && !s->tx->smtputf8) {
		smtp_reply(s, 553, "5.6.7", "SMTPUTF8 is required for this "
			   "address");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		smtp_reply(s, 452, "4.3.1", "Out of memory");
		return;
	}
	j->s = s;
	j->size = s->tx->declared_size > 0 ? s->tx->declared_size : 1;
	j->notify = cmd->notify;
	str_lcpy(j->orcpt, cmd->orcpt, sizeof(j->orcpt));
	/* RFC 5321 §4.1.1.3: <postmaster> without a domain is ours. */
	if (strchr(cmd->path, '@') == NULL)
		snprintf(j->addr, sizeof(j->addr), "%s@%s", cmd->path,
			 s->base.srv->cfg.hostname);
	else
		str_lcpy(j->addr, cmd->path, sizeof(j->addr));
	/* A trailing dot (an absolute domain, which the parser accepts)
	 * names the same domain: alice@example.org. is alice@example.org,
	 * hosted or not (never queued back to ourselves as "remote"). */
	n = strlen(j->addr);
	if (n > 1 && j->addr[n - 1] == '.' && j->addr[n - 2] != '@')
		j->addr[n - 1] = '\0';
	rcpt_submit(s, j);
}

static void
cmd_rset(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	smtp_tx_free(s);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_noop(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	smtp_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_quit(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	smtp_reply(s, 221, "2.0.0", "Bye");
	session_close(&s->base, NULL);
}

static void
cmd_help(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	smtp_reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA BDAT "
		   "RSET NOOP QUIT HELP VRFY STARTTLS AUTH");
}

static void
cmd_vrfy(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	/* RFC 5321 §3.5.3: 252 says "try it" without confirming anything,
	 * so VRFY cannot be used to harvest addresses. */
	smtp_reply(s, 252, "2.5.0", "Cannot VRFY user, but will accept "
		   "message and attempt delivery");
}

static void
cmd_expn(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	smtp_reply(s, 502, "5.5.1", "EXPN is not available");
}

void
smtp_reset_after_tls(struct smtp_session *s)
{
	/* RFC 3207 §4.2: forget everything learned before TLS. */
	smtp_tx_free(s);
	s->state = SMTP_STATE_INIT;
	s->esmtp = false;
	s->helo[0] = '\0';
	s->authed = false;
}

static void
cmd_starttls(struct smtp_session *s, const struct smtp_cmd *cmd)
{
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	if (conn_starttls(s->base.conn) < 0) {
		log_error(s->base.id, "starttls", " reason=setup");
		session_close(&s->base, NULL);
		return;
	}
	smtp_reset_after_tls(s);
}

static const struct smtp_cmd_entry smtp_cmd_table[SMTP_VERB_COUNT] = {
	[SMTP_VERB_HELO] = { cmd_helo, ANY_STATE, NULL, 0 },
	[SMTP_VERB_EHLO] = { cmd_helo, ANY_STATE, NULL, 0 },
	[SMTP_VERB_MAIL] = { cmd_mail, SMTP_STATE_HELO,
			     "Send HELO/EHLO first, one MAIL per transaction",
			     SMTP_CMD_NEEDS_AUTH_SUBMISSION },
	[SMTP_VERB_RCPT] = { cmd_rcpt, SMTP_STATE_MAIL | SMTP_STATE_RCPT,
			     "Need MAIL command", 0 },
	[SMTP_VERB_DATA] = { smtp_cmd_data, SMTP_STATE_MAIL | SMTP_STATE_RCPT,
			     "Need MAIL command", 0 },
	[SMTP_VERB_BDAT] = { smtp_cmd_bdat, SMTP_STATE_MAIL | SMTP_STATE_RCPT,
			     "Need MAIL command", 0 },
	[SMTP_VERB_RSET] = { cmd_rset, ANY_STATE, NULL, 0 },
	[SMTP_VERB_NOOP] = { cmd_noop, ANY_STATE, NULL, 0 },
	[SMTP_VERB_QUIT] = { cmd_quit, ANY_STATE, NULL, 0 },
	[SMTP_VERB_HELP] = { cmd_help, ANY_STATE, NULL, 0 },
	[SMTP_VERB_VRFY] = { cmd_vrfy, ANY_STATE, NULL, 0 },
	[SMTP_VERB_EXPN] = { cmd_expn, ANY_STATE, NULL, 0 },
	[SMTP_VERB_STARTTLS] = { cmd_starttls, ANY_STATE, NULL,
				 SMTP_CMD_NO_TLS },
	[SMTP_VERB_AUTH] = { smtp_cmd_auth, SMTP_STATE_HELO,
			     "Send EHLO first, not inside a transaction",
			     SMTP_CMD_NEEDS_TLS | SMTP_CMD_NOT_AUTHED },
};

/* After the dispatcher's refusal of a command (its reply is sent): a
 * refused BDAT is still followed by its chunk (RFC 3030 §2), which must be
 * read and dropped, never run as commands. When its size cannot be read
 * the number of octets to skip is unknown, and anything we read next
 * could be chunk data: the connection is closed (RFC 5321 §3.8 allows
 * closing after a reply). Every refusal in the dispatcher (and any added
 * later, e.g. an authentication check) must come through here. Returns
 * false when the session is closing. */
static bool
smtp_dispatch_refused(struct smtp_session *s, const struct smtp_cmd *cmd,
		      const char *line, size_t len)
{
	if (cmd->verb == SMTP_VERB_BDAT && cmd->bdat_size_ok) {
		smtp_bdat_skip(s, cmd->bdat_size);
		return true;
	}
	if (cmd->verb == SMTP_VERB_BDAT || smtp_line_is_bdat(line, len)) {
		log_info(s->base.id, "bdat_unreadable", " action=close");
		session_close(&s->base, NULL);
		return false;
	}
	return true;
}

/* The entry's TLS and authentication requirements: 0 when met, -1 when
 * refused (the reply is sent). */
static int
smtp_dispatch_flags(struct smtp_session *s, unsigned flags)
{
	if ((flags & SMTP_CMD_NEEDS_TLS) && !conn_is_tls(s->base.conn)) {
		smtp_reply(s, 538, "5.7.11", "Encryption required for "
			   "requested authentication mechanism");
		return -1;
	}
	if ((flags & SMTP_CMD_NO_TLS) && conn_is_tls(s->base.conn)) {
		smtp_reply(s, 503, "5.5.1", "TLS is already active");
		return -1;
	}
	if ((flags & SMTP_CMD_NEEDS_AUTH_SUBMISSION) && smtp_submission(s) &&
	    !s->authed) {
		smtp_reply(s, 530, "5.7.0", "Authentication required");
		return -1;
	}
	if ((flags & SMTP_CMD_NOT_AUTHED) && s->authed) {
		smtp_reply(s, 503, "5.5.1", "Already authenticated");
		return -1;
	}
	return 0;
}

void
smtp_dispatch(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	struct smtp_parse_error err;
	const struct smtp_cmd_entry *e;

	log_debug(s->base.id, "command", " line=%s",
		  len > 5 && str_ieq(line, 5, "AUTH ") ? "AUTH ***"
						      : log_q(line, len));
	if (smtp_parse_command(line, len, &cmd, &err) < 0) {
		smtp_reply(s, err.code, err.enh, "%s", err.text);
		if (smtp_dispatch_refused(s, &cmd, line, len))
			session_error(&s->base);
		return;
	}
	e = &smtp_cmd_table[cmd.verb];
	if (e->fn == NULL) {
		smtp_reply(s, 502, "5.5.1", "Command not implemented");
		if (smtp_dispatch_refused(s, &cmd, line, len))
			session_error(&s->base);
		return;
	}
	if (!(e->states & s->state)) {
		smtp_reply(s, 503, "5.5.1", "Bad sequence of commands: %s",
			   e->bad_state);
		if (smtp_dispatch_refused(s, &cmd, line, len))
			session_error(&s->base);
		return;
	}
	/* These refusals were never counted as errors: a client that tries
	 * AUTH too early or MAIL unauthenticated is not misbehaving. */
	if (smtp_dispatch_flags(s, e->flags) < 0) {
		smtp_dispatch_refused(s, &cmd, line, len);
		return;
	}
	e->fn(s, &cmd);
}
