/*
 * \Recent (RFC 3501 §2.3.2) for IMAP4rev1 sessions; IMAP4rev2 removed it
 * (RFC 9051 Appendix E), so a session that ENABLEd it neither sees nor
 * claims it.
 *
 * The store keeps per mailbox the last UID some session claimed
 * (mailboxes.recent_uid). A read-write view claims what is above it, in
 * the group commit (store_recent_claim), when SELECT or a refresh finds
 * unclaimed messages; the claimed UIDs are \Recent in that one session,
 * as the view bit IMAP_VFLAG_RECENT. A read-only view (EXAMINE) shows
 * the unclaimed ones as \Recent without claiming them (RFC 3501 §6.3.2).
 * APPEND, COPY and MOVE give new UIDs, so they arrive unclaimed.
 */
#include <stdlib.h>

#include "../core/log.h"
#include "../util/str.h"
#include "imap_int.h"

bool
imap_recent_wanted(const struct imap_session *s, const struct store_mailbox *b)
{
	return !s->rev2 && b->recent_uid + 1 < b->uidnext;
}

int
imap_recent_claim_work(struct store *st, int64_t mailbox_id, uint32_t *lo_r,
		       uint32_t *hi_r)
{
	const char *err = NULL;

	if (store_recent_claim(st, mailbox_id, lo_r, hi_r, &err) < 0) {
		/* Nothing is \Recent then; the command goes on. */
		log_warn(NULL, "recent", " mailbox=%lld error=%s",
			 (long long)mailbox_id, log_qs(err));
		*lo_r = *hi_r = 0;
	}
	return 0;
}

static void
imap_recent_mark(struct imap_view *v, size_t first, uint32_t lo, uint32_t hi)
{
	for (size_t i = first; i < v->n; i++)
		if (v->msgs[i].uid > lo && v->msgs[i].uid <= hi)
			v->msgs[i].flags |= IMAP_VFLAG_RECENT;
}

void
imap_recent_claimed(struct imap_view *v, uint32_t lo, uint32_t hi)
{
	struct imap_recent_claim *c;

	if (hi <= lo)
		return;
	imap_recent_mark(v, 0, lo, hi);
	/* Claimed UIDs not in the view yet come with a later refresh. */
	if (v->n > 0 && v->msgs[v->n - 1].uid >= hi)
		return;
	c = realloc(v->claims, (v->n_claims + 1) * sizeof(*c));
	if (c == NULL)
		return;
	v->claims = c;
	v->claims[v->n_claims].lo = lo;
	v->claims[v->n_claims].hi = hi;
	v->n_claims++;
}

void
imap_recent_arrived(struct imap_view *v, size_t first)
{
	uint32_t last = v->n > 0 ? v->msgs[v->n - 1].uid : 0;
	size_t out = 0;

	for (size_t k = 0; k < v->n_claims; k++) {
		imap_recent_mark(v, first, v->claims[k].lo, v->claims[k].hi);
		/* Later arrivals have greater UIDs than the last one. */
		if (v->claims[k].hi > last)
			v->claims[out++] = v->claims[k];
	}
	v->n_claims = out;
}

void
imap_recent_unclaimed(struct imap_view *v, uint32_t recent_uid, size_t first)
{
	imap_recent_mark(v, first, recent_uid, UINT32_MAX);
}

void
imap_recent_announce(struct imap_session *s)
{
	size_t n = 0;

	if (s->rev2 || s->view == NULL)
		return;
	for (size_t i = 0; i < s->view->n; i++)
		n += (s->view->msgs[i].flags &
		      (IMAP_VFLAG_RECENT | IMAP_VFLAG_EXPUNGED)) ==
		     IMAP_VFLAG_RECENT;
	imap_untagged(s, "%zu RECENT", n);
}
