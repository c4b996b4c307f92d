/*
 * Internals shared by the DKIM files (dkim.h for the interface).
 */
#ifndef POSTEL_DKIM_INT_H
#define POSTEL_DKIM_INT_H

#include "dkim.h"

struct buf;

/* The data the header signature covers (RFC 6376 §3.7): the fields named
 * in h[] (each name takes the last instance not yet used; a name with
 * none left adds nothing), canonicalised, then the signature field with
 * its b= value removed (sig_raw, the whole field, without its final
 * CRLF). 0 or -1. */
int dkim_header_data(const struct dkim_field *f, size_t nf,
		     char (*h)[64], size_t n_h, enum dkim_canon c,
		     const char *sig_raw, size_t sig_len, struct buf *out);

/* Signs / verifies the header data with the algorithm's scheme
 * (RSASSA-PKCS1-v1_5 with SHA-256, or Ed25519 over the SHA-256 hash of
 * the data); signing with s's alg and key, through s->ready when set.
 * sign: 0 or -1 (sig holds cap >= 1024); verify: 1 good, 0 bad, -1
 * error. */
int dkim_crypto_sign(const struct dkim_signer *s, const void *data,
		     size_t len, uint8_t *sig, size_t *sig_len);
int dkim_crypto_verify(enum dkim_alg alg, struct evp_pkey_st *key,
		       const void *data, size_t len, const uint8_t *sig,
		       size_t sig_len);

/* The public key of a key record (RFC 6376 §3.6.1) for signature sig,
 * checked as for a DKIM signature (type, h=, t=s, RFC 8301 sizes): the
 * key (EVP_PKEY_free it), or NULL with why. */
struct evp_pkey_st *dkim_key_load(const char *txt, size_t txt_len,
				  const struct dkim_sig *sig, char *why,
				  size_t cap);

/* Fetches the key records names[0..n) (TXT; NULL names are skipped)
 * over the in-loop resolver, all at once (dkim_fetch.c): key(arg, k,
 * txt, len, tempfail) as each answer comes (txt NULL when there is no
 * key record; tempfail: the lookup failed for now), then done(arg) once
 * every one has come. 0 started; 1 nothing started (no names, or no
 * resolver: key ran at once with tempfail for each), done not called;
 * -1 out of memory. Loop thread only. */
struct dns;
struct dkim_fetch;
typedef void (*dkim_fetch_key_cb)(void *arg, size_t k, const char *txt,
				  size_t len, bool tempfail);
int dkim_fetch_start(struct dns *d, const char *const *names, size_t n,
		     dkim_fetch_key_cb key, void (*done)(void *arg),
		     void *arg, struct dkim_fetch **f_r);
/* Neither key nor done runs any more. */
void dkim_fetch_cancel(struct dkim_fetch **fp);

/* A private key's signing context, set up once (EVP_DigestSignInit:
 * OpenSSL 3's provider fetches and context, ~2.5-3 us a signature) and
 * copied for each signature, under a lock of its own: OpenSSL does not
 * promise that two threads may read one object at once
 * (openssl-threads(7)), and the keyring's workers sign in parallel.
 * _new: NULL when out of memory or key does not fit alg. */
struct dkim_signkey *dkim_signkey_new(enum dkim_alg alg,
				      struct evp_pkey_st *key);
void dkim_signkey_free(struct dkim_signkey **kp);

/* Appends sig, base64, folded as our b= values are, to field. 0 or -1. */
int dkim_fold_b64(struct buf *field, const uint8_t *sig, size_t len);

/* Is field f named name (case-insensitive)? */
bool dkim_field_is(const struct dkim_field *f, const char *name);
/* The tag's value is s, compared without case (also DMARC's, whose
 * values are ABNF strings, RFC 7489 §6.4). */
bool dkim_val_is(const struct dkim_tag *t, const char *s);

/* dkim_keycache.c: decoded public keys by their octets (p=). _get: a new
 * reference (EVP_PKEY_free it) or NULL; _put keeps its own reference of
 * a key that was accepted (RFC 8301 sizes checked). */
struct evp_pkey_st *dkim_keycache_get(enum dkim_key_type type,
				      const uint8_t *p, size_t len);
void dkim_keycache_put(enum dkim_key_type type, const uint8_t *p, size_t len,
		       struct evp_pkey_st *key);

#endif
