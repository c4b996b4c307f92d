/*
 * DKIM (RFC 6376, with RFC 8301's crypto update and RFC 8463's Ed25519):
 * canonicalisation, the tag lists of signatures and key records, signing
 * and verification of every signature on a message.
 *
 * Algorithms: rsa-sha256 and ed25519-sha256 (PureEdDSA over the SHA-256
 * hash of the canonicalised header, RFC 8463 §3). rsa-sha1 signatures and
 * RSA keys under DKIM_RSA_MIN_BITS never pass (RFC 8301 §3.1, §3.2).
 *
 * l= (body length): only the first l octets of the canonical body are
 * signed. A signature whose l= leaves body content unsigned is never a
 * pass: it is "neutral" with the number of unsigned octets reported
 * (content appended after signing is not vouched for).
 *
 * Parsers (dkim_tags.c) are pure; crypto is OpenSSL 3 EVP. Thread-safe:
 * the only global state is the cache of decoded public keys
 * (dkim_keycache.c) and the keyring (dkim_keys.c), each with its lock.
 */
#ifndef POSTEL_DKIM_H
#define POSTEL_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;
struct dns;
struct evp_pkey_st;

#define DKIM_RSA_MIN_BITS 1024     /* RFC 8301 §3.2 */
#define DKIM_SIGS_MAX 8            /* signatures verified per message */
#define DKIM_H_MAX 64              /* h= entries */
#define DKIM_HEADER_FIELDS_MAX 1000/* fields scanned in one header */
#define DKIM_SELECTOR_MAX 63
#define DKIM_DOMAIN_MAX 253
#define DKIM_TAGS_MAX 32
#define DKIM_KEY_TXT_MAX 4096      /* a key record's text */

/* ---- Tag lists (RFC 6376 §3.2), pure ------------------------------ */

struct dkim_tag {
	const char *name;   /* into the input */
	size_t name_len;
	const char *value;  /* trimmed of surrounding FWS */
	size_t value_len;
	size_t value_off;   /* offset of the first octet after '=' */
	size_t value_end;   /* offset of the ';' ending it (or the end) */
};

/* Splits "tag=value; tag=value" into tags. 0, or -1 with *why_r (a
 * static text): syntax error, a tag twice, more than max tags. */
int dkim_tags_parse(const char *p, size_t n, struct dkim_tag *tags,
		    size_t max, size_t *n_r, const char **why_r);

enum dkim_alg {
	DKIM_ALG_RSA_SHA256 = 0,
	DKIM_ALG_ED25519_SHA256,
	DKIM_ALG_RSA_SHA1,         /* understood, never passes */
};
enum dkim_canon { DKIM_CANON_SIMPLE = 0, DKIM_CANON_RELAXED };

/* A DKIM-Signature field's value, parsed. */
struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	char d[DKIM_DOMAIN_MAX + 1];      /* lower-case */
	char s[DKIM_SELECTOR_MAX + 1];
	char i[320];                      /* AUID; "@d" when absent */
	char h[DKIM_H_MAX][64];           /* lower-case field names */
	size_t n_h;
	uint8_t bh[64];
	size_t bh_len;
	uint8_t b[1024];
	size_t b_len;
	char b_text[16];                  /* first octets of b=, for logs */
	bool has_l, has_t, has_x;
	uint64_t l;
	int64_t t, x;
	/* The b= value in the field value: [b_off, b_end) is removed when
	 * the signature field itself is hashed. */
	size_t b_off, b_end;
	/* ARC (RFC 8617 §4.1): the instance, and an ARC-Seal's cv=. */
	unsigned instance;
	enum dkim_cv { DKIM_CV_NONE = 0, DKIM_CV_PASS, DKIM_CV_FAIL } cv;
};

/* Parses a DKIM-Signature value (the text after the colon, folded as
 * on the wire). 0, or -1 with *why_r: a required tag missing (v, a, b,
 * bh, d, h, s), v not 1, unknown algorithm or canonicalisation, h= not
 * naming From, i= outside d=, x= before t=, bad base64. */
int dkim_sig_parse(const char *p, size_t n, struct dkim_sig *sig,
		   const char **why_r);

/* The same tag syntax carries ARC's signatures (RFC 8617 §4.1.2-4.1.3):
 * an ARC-Message-Signature is a DKIM-Signature with i= the instance and
 * no v=; an ARC-Seal has i=, cv=, no h= and no bh=. For both, i[] is
 * "@d". DKIM_SIG_DKIM is dkim_sig_parse. */
#define DKIM_ARC_MAX 50            /* instances (RFC 8617 §4.2.1) */
enum dkim_sig_kind { DKIM_SIG_DKIM = 0, DKIM_SIG_AMS, DKIM_SIG_AS };
int dkim_sig_parse_kind(const char *p, size_t n, enum dkim_sig_kind kind,
			struct dkim_sig *sig, const char **why_r);

enum dkim_key_type { DKIM_KEY_RSA = 0, DKIM_KEY_ED25519 };

/* A key record (RFC 6376 §3.6.1), parsed. */
struct dkim_keyrec {
	enum dkim_key_type k;
	bool revoked;             /* p= empty */
	bool h_sha256;            /* h= absent or lists sha256 */
	bool t_testing;           /* t=y */
	bool t_strict;            /* t=s: i= domain must equal d= */
	uint8_t p[1024];          /* the public key, decoded */
	size_t p_len;
};

/* 0, or -1 with *why_r: v= not first or not DKIM1, unknown k=, p=
 * missing, bad base64, s= not allowing email. */
int dkim_keyrec_parse(const char *p, size_t n, struct dkim_keyrec *k,
		      const char **why_r);

/* ---- Canonicalisation (RFC 6376 §3.4) ------------------------------- */

/* Appends the canonical form of one header field (name, colon, value,
 * CRLF as in the message: raw[0..n) ends with its line end) to out;
 * with crlf false the final CRLF is left out (the signature field
 * itself). 0 or -1 (out full). */
int dkim_canon_header(enum dkim_canon c, const char *raw, size_t n,
		      bool crlf, struct buf *out);

/* The streaming body hasher: bytes in, canonical body hashed. */
struct dkim_body;
/* md: "sha256" or "sha1". limit: octets of canonical body to hash
 * (UINT64_MAX: all). NULL when out of memory. */
struct dkim_body *dkim_body_new(enum dkim_canon c, const char *md,
				uint64_t limit);
void dkim_body_update(struct dkim_body *b, const void *p, size_t n);
/* Ends the body: the hash into out (cap >= 64), its length returned;
 * *total_r the canonical body length (all of it, hashed or not). -1 on
 * a crypto failure. */
int dkim_body_final(struct dkim_body *b, uint8_t *out, uint64_t *total_r);
void dkim_body_free(struct dkim_body **bp);

/* ---- The header of a message --------------------------------------- */

struct dkim_field {
	const char *raw;     /* the field as in the message, CRLF included */
	size_t len;
	size_t name_len;     /* of the name before the colon (trimmed) */
};

/* Splits the header section of msg into fields (at most max). The body
 * starts at *body_off_r (after the empty line; msg_len when none). 0, or
 * -1 when there are more than max fields or a line without a colon. */
int dkim_header_split(const char *msg, size_t len, struct dkim_field *f,
		      size_t max, size_t *n_r, size_t *body_off_r);

/* ---- Signing ------------------------------------------------------- */

struct dkim_signkey;

struct dkim_signer {
	enum dkim_alg alg;            /* RSA_SHA256 or ED25519_SHA256 */
	const char *domain;
	const char *selector;
	struct evp_pkey_st *key;      /* borrowed */
	/* 0: a DKIM-Signature; N: an ARC-Message-Signature of instance N
	 * (RFC 8617 §4.1.2: the same signature with i=N and no v=). */
	unsigned arc_instance;
	/* key's signing context made once (dkim_signkey_new, the keyring's),
	 * or NULL: set up for each signature. Borrowed. */
	struct dkim_signkey *ready;
};

/* Appends one "DKIM-Signature: ..." field (folded, CRLF-terminated) for
 * msg to out: relaxed/relaxed, no l=, t= now, h= the present fields of
 * the signed set, From, Subject and Date over-signed (listed once more
 * than present, so none can be added). 0, or -1 with *why_r. */
int dkim_sign(const struct dkim_signer *s, const char *msg, size_t len,
	      time_t now, struct buf *out, const char **why_r);

/* The From: domain (lower-case) of a message's header: 0, or -1 when
 * there is no From or not exactly one address with a domain. */
int dkim_from_domain(const char *msg, size_t len, char *out, size_t cap);

/* One message prepared for several signatures (our Ed25519 and RSA
 * pair): the header split once and the body hash, the same for every
 * relaxed/sha256 signature, computed at the first dkim_sign_prepared.
 * Both passes were a tenth of the signing CPU besides the RSA operation
 * when made per signature. */
struct dkim_prepared {
	const char *msg;
	size_t len;
	struct dkim_field *f;         /* DKIM_HEADER_FIELDS_MAX, owned */
	size_t nf;
	size_t body_off;
	char bh64[48];                /* base64 sha256 body hash, or "" */
};

/* 0, or -1 (*why_r) when the header cannot be parsed or out of memory;
 * dkim_prepared_free in any case. */
int dkim_prepare(const char *msg, size_t len, struct dkim_prepared *p,
		 const char **why_r);
void dkim_prepared_free(struct dkim_prepared *p);
/* dkim_sign of a prepared message. */
int dkim_sign_prepared(const struct dkim_signer *s, struct dkim_prepared *p,
		       time_t now, struct buf *out, const char **why_r);
/* dkim_from_domain of a prepared message. */
int dkim_from_domain_prepared(const struct dkim_prepared *p, char *out,
			      size_t cap);

/* ---- Verification -------------------------------------------------- */

enum dkim_status {
	DKIM_NONE = 0,      /* not decided yet */
	DKIM_PASS,
	DKIM_FAIL,          /* body hash or signature mismatch, expired */
	DKIM_NEUTRAL,       /* verified, but l= leaves content unsigned */
	DKIM_TEMPERROR,     /* the key could not be fetched now */
	DKIM_PERMERROR,     /* bad syntax, no key, unacceptable crypto */
};
const char *dkim_status_name(enum dkim_status st);

struct dkim_result {
	enum dkim_status status;
	char domain[DKIM_DOMAIN_MAX + 1];  /* d= ("" when unparsable) */
	char selector[DKIM_SELECTOR_MAX + 1];
	char auid[320];
	const char *alg;                    /* "rsa-sha256" ... or "" */
	char b[16];                         /* header.b for RFC 8601 */
	unsigned key_bits;                  /* RSA: modulus size */
	bool testing;                       /* key t=y */
	uint64_t unsigned_octets;           /* after l= */
	char why[200];
};

struct dkim_verify;
/* Parses the header of msg and every DKIM-Signature in it (at most
 * DKIM_SIGS_MAX), and hashes the bodies they ask for: the CPU part (a
 * worker may do it). msg must stay valid until dkim_verify_free. NULL
 * when out of memory. */
struct dkim_verify *dkim_verify_new(const char *msg, size_t len,
				    time_t now);
void dkim_verify_free(struct dkim_verify **vp);
/* The same in steps, for a message that arrives in pieces (the SMTP
 * server): _begin with the header section (up to and including its
 * empty line; it must stay valid until dkim_verify_free), _body with
 * each piece of the body in order, _end once it is complete; then the
 * keys as below. dkim_verify_new is the three at once. */
struct dkim_verify *dkim_verify_begin(const char *hdr, size_t len,
				      time_t now);
void dkim_verify_body(struct dkim_verify *v, const void *p, size_t n);
void dkim_verify_end(struct dkim_verify *v);
size_t dkim_verify_count(const struct dkim_verify *v);
/* The TXT name to look up for signature i ("sel._domainkey.dom"), or
 * NULL when no lookup is needed (its result is already known). */
const char *dkim_verify_keyname(const struct dkim_verify *v, size_t i);
/* Signature i's key answer: the record text (dns_ok), or a DNS failure
 * (tempfail true: temperror; false: no key, permerror). Decides its
 * result. */
void dkim_verify_key(struct dkim_verify *v, size_t i, bool dns_ok,
		     bool tempfail, const char *txt, size_t txt_len);
const struct dkim_result *dkim_verify_result(const struct dkim_verify *v,
					     size_t i);
/* Deferred mode (the SMTP server): from now on dkim_verify_key only keeps
 * the answers (a copy of the text); dkim_verify_check_keys decides every
 * signature with its kept answer, the public-key operations, so that a
 * worker does them (CPU only, no lookup; any thread that owns v). */
void dkim_verify_defer_keys(struct dkim_verify *v);
void dkim_verify_check_keys(struct dkim_verify *v);
/* True when the kept answers make dkim_verify_check_keys cheap enough to
 * run where it is (tens of microseconds, less than handing it to another
 * thread and back): at most DKIM_VERIFY_CHEAP_SIGS signatures, each with
 * an RSA key record no longer than a 2048-bit key's. An Ed25519 check, or
 * a larger RSA key, costs several times more. */
#define DKIM_VERIFY_CHEAP_SIGS 2
#define DKIM_VERIFY_CHEAP_TXT 512
bool dkim_verify_cheap(const struct dkim_verify *v);

/* The asynchronous driver: looks every key up over the in-loop resolver
 * (TXT, all at once) and calls done(arg, v) from the loop once every
 * signature has a result; v stays the caller's (dkim_verify_free).
 * Returns a handle for dkim_lookup_cancel, or NULL when nothing was
 * started (done is then called from the loop anyway, through the
 * resolver's first query, or at once when no lookup is needed: check
 * the return). Loop thread only. */
struct dkim_lookup;
typedef void (*dkim_done_cb)(void *arg, struct dkim_verify *v);
/* 0 started (done will run later), 1 nothing to look up (results are
 * final now, done not called), -1 out of memory. */
int dkim_lookup_start(struct dns *d, struct dkim_verify *v, dkim_done_cb done,
		      void *arg, struct dkim_lookup **lk_r);
/* done will not run. */
void dkim_lookup_cancel(struct dkim_lookup **lkp);

/* ---- Keys (dkim_keys.c) --------------------------------------------- */

/* The signing keys of every domain, loaded from DATA_DIR/dkim: for each
 * domain its active selector's Ed25519 and RSA keys. */
struct dkim_keyring;
/* Loads every domain's active keys; a domain whose keys cannot be read
 * is logged through warn and skipped. NULL when out of memory. */
struct dkim_keyring *dkim_keyring_load(const char *data_dir,
				       void (*warn)(const char *domain,
						    const char *why));
size_t dkim_keyring_count(const struct dkim_keyring *kr);
/* The server's keyring slot, shared by the loop (which replaces it on
 * SIGHUP) and the workers that sign: _set stores kr (taking the
 * caller's reference) and drops the old one; _get returns a new
 * reference (dkim_keyring_unref it) or NULL when the slot is empty or
 * has no keys. */
void dkim_keyring_set(struct dkim_keyring **slot, struct dkim_keyring *kr);
struct dkim_keyring *dkim_keyring_get(struct dkim_keyring *const *slot);
void dkim_keyring_ref(struct dkim_keyring *kr);
void dkim_keyring_unref(struct dkim_keyring **krp);
/* Signs msg with every key of the From: domain when the keyring has it
 * (Ed25519 first, then RSA), appending the fields to out. 1 signed, 0
 * no keys for its From: domain (*why_r says), -1 error (*why_r). */
int dkim_keyring_sign(const struct dkim_keyring *kr, const char *msg,
		      size_t len, time_t now, struct buf *out,
		      const char **why_r);
/* domain's active RSA key as a signer (ARC seals with RSA: RFC 8617
 * §4.1.3 names rsa-sha256 only): 0, or -1 when the keyring has no keys
 * for domain. s borrows from kr. */
int dkim_keyring_signer(const struct dkim_keyring *kr, const char *domain,
			struct dkim_signer *s);

#endif
