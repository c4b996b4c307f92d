/*
 * DKIM verification and DMARC for a message received on port 25
 * (docs/ARCHITECTURE.md, Sender authentication): the signatures' bodies
 * are hashed while the message arrives, the DMARC policy is looked up as
 * soon as the header section is complete, the keys at the end of the
 * data; smtp_mailauth.c waits for both and writes their results into its
 * one Authentication-Results field.
 */
#ifndef POSTEL_SMTP_DMARC_H
#define POSTEL_SMTP_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mailauth/dmarc.h"

struct smtp_session;
struct authres_item;

struct smtp_dmarc;
/* ready(arg) runs from the loop when the last lookup in flight ends
 * (never from a call below). NULL when out of memory. */
struct smtp_dmarc *smtp_dmarc_new(struct smtp_session *s,
				  void (*ready)(void *arg), void *arg);
/* Cancels the lookups (ready will not run). NULL: nothing. */
void smtp_dmarc_free(struct smtp_dmarc **dp);
/* Message text p[0..n) at message offset off, in order (after the
 * session's header capture saw it). */
void smtp_dmarc_scan(struct smtp_dmarc *d, uint64_t off, const char *p,
		     size_t n);
/* The message is complete: the body hashes end, the keys are looked up. */
void smtp_dmarc_data(struct smtp_dmarc *d);
bool smtp_dmarc_pending(const struct smtp_dmarc *d);

/* The SPF result DMARC uses (RFC 7489 §4.2: the MAIL FROM identity, or
 * HELO's for the null sender). */
struct smtp_dmarc_spf {
	const char *domain;
	bool pass;
	bool temp;              /* temperror */
};
/* Decides (once) and fills items[0..cap) with one dkim= result per
 * signature (dkim=none without any) and dmarc=; returns how many. The
 * strings stay valid until smtp_dmarc_free. Logs the results. */
size_t smtp_dmarc_items(struct smtp_dmarc *d, const struct smtp_dmarc_spf *spf,
			struct authres_item *items, size_t cap);
/* What the policy asks, after smtp_dmarc_items (p/sp after pct):
 * DMARC_POLICY_REJECT / _QUARANTINE / _NONE. */
enum dmarc_policy smtp_dmarc_action(const struct smtp_dmarc *d);
/* True when nothing passed, an aligned identifier had a temporary error
 * and the policy is quarantine or reject: the sender should try later. */
bool smtp_dmarc_defer(const struct smtp_dmarc *d);

#endif
