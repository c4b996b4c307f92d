/*
 * ARC, the Authenticated Received Chain (RFC 8617): the chain of ARC sets
 * (ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal) that
 * forwarders add, verified on port 25, and the set Postel adds when it
 * forwards a message (an alias to an external address).
 *
 * The signatures share DKIM's syntax, canonicalisation, keys and crypto
 * (dkim.h, dkim_int.h); this module adds the chain rules: instance
 * numbers, one set per instance, cv= of each seal, what a seal covers.
 * Verification is split like DKIM's so nothing blocks: the header is
 * parsed (arc_verify_new), the body is fed as it arrives (only when
 * there is a chain), keys come over the in-loop resolver.
 */
#ifndef POSTEL_ARC_H
#define POSTEL_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dkim.h"

struct buf;
struct dns;

/* ---- The chain in a header section (pure) -------------------------- */

struct arc_set {
	const struct dkim_field *aar, *ams, *as; /* into the split header */
};

/* Finds the ARC sets among the fields f[0..nf): sets[1..*n_r] by
 * instance (sets has DKIM_ARC_MAX + 1 entries). 0: no ARC field at all
 * (*n_r = 0); 1: a well-formed chain of *n_r sets (exactly one of each
 * field per instance, instances 1..N without a gap); -1: a broken chain
 * (*why_r: an instance number unreadable or over DKIM_ARC_MAX, a field
 * twice, a set incomplete). */
int arc_chain_find(const struct dkim_field *f, size_t nf,
		   struct arc_set *sets, unsigned *n_r, const char **why_r);

/* The instance of an ARC-Authentication-Results value ("i=N; id; ..."):
 * 1..DKIM_ARC_MAX, or 0 when unreadable. */
unsigned arc_aar_instance(const char *p, size_t n);

/* ---- Verification (RFC 8617 §5.2) ---------------------------------- */

enum arc_status { ARC_NONE = 0, ARC_PASS, ARC_FAIL };
const char *arc_status_name(enum arc_status st);

struct arc_result {
	enum arc_status status;
	unsigned instances;      /* N, the chain's length */
	unsigned oldest_pass;    /* lowest instance whose AMS verified
				  * (0: not known); RFC 8617 §5.2 step 6 */
	char domain[DKIM_DOMAIN_MAX + 1]; /* d= of the latest seal */
	char why[200];
};

struct arc_verify;
/* Parses the header section hdr (it need not hold the body) and decides
 * what can be without keys. NULL when out of memory. hdr must stay valid
 * until arc_verify_free. */
struct arc_verify *arc_verify_new(const char *hdr, size_t len, time_t now);
void arc_verify_free(struct arc_verify **vp);
/* True while the body is wanted (a chain whose signatures are checked). */
bool arc_verify_wants_body(const struct arc_verify *v);
/* The body as it arrives, in any pieces. */
void arc_verify_body(struct arc_verify *v, const void *p, size_t n);
/* The body has ended: the body hashes are compared. */
void arc_verify_body_end(struct arc_verify *v);
/* The keys to fetch (TXT "sel._domainkey.dom"), each name once. */
size_t arc_verify_key_count(const struct arc_verify *v);
const char *arc_verify_keyname(const struct arc_verify *v, size_t k);
/* Key k's answer: the record text (dns_ok), or a failure (tempfail:
 * the lookup may succeed later). */
void arc_verify_key(struct arc_verify *v, size_t k, bool dns_ok,
		    bool tempfail, const char *txt, size_t txt_len);
/* Checks every signature with its key: the result, final. */
const struct arc_result *arc_verify_finish(struct arc_verify *v);

/* The asynchronous key fetch over the in-loop resolver: done(arg) runs
 * from the loop once every key has an answer. 0 started, 1 nothing to
 * fetch (done not called), -1 out of memory. Loop thread only. */
struct arc_lookup;
typedef void (*arc_done_cb)(void *arg);
int arc_lookup_start(struct dns *d, struct arc_verify *v, arc_done_cb done,
		     void *arg, struct arc_lookup **lk_r);
/* done will not run. */
void arc_lookup_cancel(struct arc_lookup **lkp);

/* ---- Sealing (RFC 8617 §5.1) --------------------------------------- */

/* Appends our ARC set for msg (the message as it will be sent) to out:
 * ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results of
 * instance N+1, N being the chain in msg. authres is our
 * "Authentication-Results: id; ..." field (CRLF-terminated), cv the
 * chain's status as we verified it. 1 sealed, 0 not sealed (*why_r: the
 * chain is broken beyond sealing, or already DKIM_ARC_MAX long), -1
 * error (*why_r). */
int arc_seal(const struct dkim_signer *s, const char *msg, size_t len,
	     enum arc_status cv, const char *authres, size_t authres_len,
	     time_t now, struct buf *out, const char **why_r);

#endif
