/*
 * QUOTA (RFC 9208) with the STORAGE resource, and the quota checks of
 * APPEND/COPY. One quota root, "", per account: every mailbox
 * of the account belongs to it; its usage is the sum of the sizes of the
 * account's messages, its limit the account's quota (or quota_default).
 * An account without a limit has no quota root (RFC 9208 §4.2.2: a
 * QUOTAROOT response listing none), since a QUOTA response needs at least
 * one limited resource (§6 quota-list). Limits are set by the
 * administrator (`postel user quota`); SETQUOTA is refused.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/str.h"
#include "imap_int.h"

struct imap_quota_job {
	struct imap_job job;
	int64_t account_id;
	bool root;      /* GETQUOTAROOT: with the mailbox name */
	int found;      /* the mailbox (GETQUOTAROOT), or the account */
	char name[STORE_MAILBOX_NAME_MAX + 1];
	int64_t quota;
	uint64_t usage;
};

/* RFC 9208 §5.1: STORAGE is counted in units of 1024 octets; the usage
 * is rounded up, so a mailbox that is full shows as full. */
#define IMAP_QUOTA_UNIT 1024

int
imap_quota_over(struct store *st, int64_t account_id, uint64_t quota_default,
		bool *over_r, const char **err_r)
{
	int64_t quota;
	uint64_t usage;
	int r = store_quota_get(st, account_id, &quota, &usage, err_r);

	if (r < 0)
		return -1;
	*over_r = r == 1 && store_quota_exceeded(
			       store_quota_limit(quota, quota_default), usage, 0);
	return 0;
}

static int
imap_quota_work(struct imap_job *j, struct store *st)
{
	struct imap_quota_job *x = (struct imap_quota_job *)j;
	const char *err = NULL;

	if (x->root) {
		struct store_mailbox box;

		x->found = store_mailbox_get(st, x->account_id, x->name, &box);
		if (x->found != 1)
			return x->found < 0 ? -1 : 0;
	}
	x->found = store_quota_get(st, x->account_id, &x->quota, &x->usage,
				   &err);
	return x->found < 0 ? -1 : 0;
}

static void
imap_quota_done(struct imap_job *j)
{
	struct imap_quota_job *x = (struct imap_quota_job *)j;
	struct imap_session *s = j->s;
	uint64_t limit = store_quota_limit(x->quota,
					   s->base.srv->cfg.quota_default);
	struct buf b;

	if (j->result < 0) {
		imap_finish(s, "NO", "UNAVAILABLE", "Quota lookup failed");
		return;
	}
	if (x->found != 1) {
		imap_finish(s, "NO", "NONEXISTENT", x->root ? "No such mailbox"
							     : "No such quota root");
		return;
	}
	if (x->root) {
		buf_init(&b, 2 * STORE_MAILBOX_NAME_MAX + 64);
		if (imap_buf_mailbox(s, &b, x->name) == 0)
			imap_untagged(s, "QUOTAROOT %.*s%s", (int)b.len,
				      (const char *)b.data,
				      limit > 0 ? " \"\"" : "");
		buf_fini(&b);
	} else if (limit == 0) {
		imap_finish(s, "NO", "NONEXISTENT", "No quota root");
		return;
	}
	if (limit > 0)
		imap_untagged(s, "QUOTA \"\" (STORAGE %" PRIu64 " %" PRIu64 ")",
			      (x->usage + IMAP_QUOTA_UNIT - 1) / IMAP_QUOTA_UNIT,
			      limit / IMAP_QUOTA_UNIT);
	imap_finish(s, "OK", NULL, "%s completed",
		    x->root ? "GETQUOTAROOT" : "GETQUOTA");
}

/* GETQUOTA root / GETQUOTAROOT mailbox (RFC 9208 §4.2.1-2). */
void
imap_cmd_getquota(struct imap_session *s, const struct imap_cmd *c)
{
	struct imap_quota_job *x = calloc(1, sizeof(*x));
	const struct imap_arg *a = &c->args[0]; /* the table: one */

	if (x == NULL) {
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	x->root = s->cmd_variant == IMAP_VARIANT_GETQUOTAROOT;
	if (!imap_arg_is_string(a) ||
	    (x->root && imap_mailbox_arg(s, a, x->name, sizeof(x->name)) < 0)) {
		free(x);
		imap_finish(s, "BAD", NULL, "Bad %s arguments", c->name);
		session_error(&s->base);
		return;
	}
	if (!x->root && a->len != 0) {
		/* The only quota root is "". */
		free(x);
		imap_finish(s, "NO", "NONEXISTENT", "No such quota root");
		return;
	}
	x->account_id = s->account_id;
	x->job.work = imap_quota_work;
	x->job.done = imap_quota_done;
	imap_job_read(s, &x->job);
}

/* SETQUOTA (RFC 9208 §4.2.3): limits are the administrator's. */
void
imap_cmd_setquota(struct imap_session *s, const struct imap_cmd *c)
{
	imap_finish(s, "NO", "NOPERM",
		    "Quotas are set by the administrator");
}
