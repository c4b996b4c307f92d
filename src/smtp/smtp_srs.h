/*
 * SRS on the SMTP server (mailauth/srs.h; docs/ARCHITECTURE.md, ARC and
 * SRS): the envelope sender of a message an alias forwards elsewhere is
 * rewritten when it is queued, and bounces to those addresses, taken on
 * port 25, go back to the original sender.
 */
#ifndef POSTEL_SMTP_SRS_H
#define POSTEL_SMTP_SRS_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_session;
struct smtp_tx;
struct store;

/* The domain of the first recipient that reaches addresses elsewhere
 * (an alias's external target), lower-case into out; false when none. */
bool smtp_forward_domain(const struct smtp_tx *tx, char *out, size_t cap);

/* Loop, at RCPT, for an address that is not a user or alias of ours
 * (not_hosted: its domain is not ours either): 0 not an SRS address of
 * ours (the caller goes on); 1 a valid one, *remote_r the original
 * address to relay to (NULL-terminated, store_strv_free); -1 a forged or
 * expired one, refused here (550 5.1.1). */
int smtp_srs_rcpt(struct smtp_session *s, const char *addr, bool not_hosted,
		  char ***remote_r);

/* Loop, at delivery of a message with remote recipients: the SRS form
 * of its sender into out (cap >= LIMIT_ADDRESS + 1), or "" when it keeps
 * its sender (srs = no, submission, the null sender, no forward). */
void smtp_srs_sender(struct smtp_session *s, char *out, size_t cap);

/* Commit thread: the sender to queue with: from itself when its domain
 * is one of ours (no rewriting needed: our SPF covers it), else srs. */
const char *smtp_srs_choose(struct store *st, const char *from,
			    const char *srs);

#endif
