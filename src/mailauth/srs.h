/*
 * SRS, the Sender Rewriting Scheme (the forms of libsrs2 and postsrsd):
 * a forwarded message's envelope sender becomes an address of the
 * forwarding domain, so that the next hop's SPF check sees our domain,
 * and a bounce to it can be sent back to the original sender.
 *
 *   SRS0=HHHHHH=TT=orig-domain=orig-local@fwd-domain
 *   SRS1=HHHHHH=first-fwd==HHHH=TT=orig-domain=orig-local@fwd-domain
 *
 * TT: the day (days since the epoch, mod 1024) in two base32 characters;
 * an address is valid SRS_MAX_AGE_DAYS days. HHHHHH: the first 30 bits
 * of HMAC-SHA256(secret, fields) in base32 (upper case; compared without
 * case, as some hops change it); fields, lower-cased and each followed
 * by a NUL octet: SRS0 TT, orig-domain, orig-local; SRS1 first-fwd, the
 * opaque rest (from the separator after "SRS0").
 *
 * Pure (bytes in, bytes out; HMAC through OpenSSL) except the secret's
 * file (srs_secret_load). Fuzzed by tests/fuzz/fuzz_srs.c.
 */
#ifndef POSTEL_SRS_H
#define POSTEL_SRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SRS_SECRET_LEN 32
#define SRS_HASH_LEN 6          /* base32 characters: 30 bits */
#define SRS_MAX_AGE_DAYS 21
#define SRS_SECRET_FILE "srs.secret"

/* local is an SRS address's local part: "SRS0" or "SRS1" (any case)
 * followed by a separator ('=', '+' or '-'). */
bool srs_is_srs(const char *local);

/* The SRS address of sender (local@domain) at srs_domain on the day of
 * now into out: 0, or -1 when sender has no '@', its domain holds '='
 * (which no domain does), or the result does not fit cap. A sender that
 * is already SRS0/SRS1 becomes SRS1 (the first forwarder kept, the hash
 * made again). */
int srs_forward(const uint8_t *secret, const char *sender,
		const char *srs_domain, time_t now, char *out, size_t cap);

/* The address an SRS address (local@domain) stands for: 1 with it in
 * out, 0 when addr is not SRS, -1 with *why_r (a static text) when the
 * hash does not match, the address is too old, or its form is broken. */
int srs_reverse(const uint8_t *secret, const char *addr, time_t now,
		char *out, size_t cap, const char **why_r);

/* DATA_DIR/srs.secret: read, or made (random, mode 0600, synced) when
 * missing. 0, or -1 with err. Run as the service user, so the file is
 * its own. */
int srs_secret_load(const char *data_dir, uint8_t *secret, char *err,
		    size_t errlen);

#endif
