/*
 * ARC on the SMTP server (docs/ARCHITECTURE.md, ARC and SRS): the chain
 * of a message received on port 25 verified as it arrives (mailauth/
 * arc.h), its result for our Authentication-Results field, and the seal
 * added when the message is forwarded to an alias's external target.
 */
#ifndef POSTEL_SMTP_ARC_H
#define POSTEL_SMTP_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct authres_item;
struct buf;
struct smtp_session;
struct smtp_arc;

/* ---- verification (smtp_mailauth.c calls these) ------------------------ */

/* Each piece of message text at its offset (after hdr_capture saw it):
 * at the header's end the chain is parsed, then the body is hashed when
 * there is one. *ap is made on first use. */
void smtp_arc_scan(struct smtp_session *s, struct smtp_arc **ap,
		   uint64_t off, const char *p, size_t n);
/* The end of the message: the keys are fetched. 1: done(arg) runs later
 * from the loop, 0: the result is final now. */
int smtp_arc_end(struct smtp_session *s, struct smtp_arc *a,
		 void (*done)(void *arg), void *arg);
bool smtp_arc_pending(const struct smtp_arc *a);
/* The arc= item of our field, when the message carries ARC fields:
 * true with *it filled (strings owned by a). */
bool smtp_arc_item(struct smtp_session *s, struct smtp_arc *a,
		   struct authres_item *it);
/* The chain's verdict once smtp_arc_end is done (ARC_NONE without a
 * chain): for a DMARC policy that trusts a passing chain (RFC 8617 §7.2). */
int smtp_arc_status(const struct smtp_arc *a);
/* True when the chain passed and its latest seal's d= is one of the
 * domains in list (separated by spaces or commas, without case): a
 * forwarder trusted to have checked the message before changing it. */
bool smtp_arc_trusted(const struct smtp_arc *a, const char *list);
/* Our Authentication-Results field, kept for the seal's AAR. */
void smtp_arc_keep_authres(struct smtp_arc *a, const void *p, size_t n);
void smtp_arc_free(struct smtp_arc **ap);

/* ---- sealing (smtp_deliver.c calls these) ------------------------------ */

struct smtp_arc_seal;
/* Loop, at delivery: a seal when the message came in on port 25 and an
 * alias forwards it elsewhere, and the alias's domain has DKIM keys;
 * else NULL (the log says why when keys are missing). */
struct smtp_arc_seal *smtp_arc_seal_new(struct smtp_session *s);
/* Worker: appends our ARC set to prefix (kept NUL-terminated, left as it
 * was on failure, which is logged). */
void smtp_arc_seal_run(struct smtp_arc_seal *x, const char *msg, size_t len,
		       struct buf *prefix, const char *msgid);
void smtp_arc_seal_free(struct smtp_arc_seal **xp);

/* smtp_mailauth.c: the transaction's ARC state (NULL: none). */
struct smtp_arc *smtp_mailauth_arc(struct smtp_session *s);

#endif
