/*
 * ACME client internals shared by acme.c (the thread, the schedule, the
 * files), acme_flow.c (RFC 8555 §7: account, order, authorizations,
 * finalize, download), acme_http.c (requests, nonces, JWS posts) and
 * acme_jws.c (keys, JWK, JWS, CSR).
 */
#ifndef POSTEL_ACME_INT_H
#define POSTEL_ACME_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

struct config;
struct server;

#define ACME_URL_MAX 1024
#define ACME_NONCE_MAX 256
#define ACME_NAMES_MAX 100         /* Let's Encrypt's SAN limit */
#define ACME_BODY_MAX (1 << 20)    /* any reply we read (a chain: ~5 KB) */
#define ACME_POLL_MAX 30           /* status polls per authorization/order */
#define ACME_BADNONCE_RETRIES 5    /* RFC 8555 §6.5: retry with the new nonce */
#define ACME_HTTP_TIMEOUT 30       /* seconds per request */

struct acme_resp {
	long status;
	char *body;                /* NUL-ended, malloc'ed */
	size_t len;
	char location[ACME_URL_MAX];
	char nonce[ACME_NONCE_MAX];
	long retry_after;          /* seconds, 0 when absent */
};

struct acme {
	struct server *srv;
	const struct config *cfg;
	void *curl;                /* CURL *, this thread's */
	atomic_bool stop;
	/* RFC 8555 §7.1.1 directory. */
	char new_nonce[ACME_URL_MAX], new_account[ACME_URL_MAX],
		new_order[ACME_URL_MAX];
	char nonce[ACME_NONCE_MAX];
	char kid[ACME_URL_MAX];    /* account URL */
	EVP_PKEY *account_key;
	char thumbprint[64];       /* RFC 7638, base64url */
	bool alpn;                 /* tls-alpn-01 (no http listener) */
	char why[512];             /* the last failure, for the log */
	/* The name whose authorization the CA found invalid in the last
	 * attempt ("" when the failure was something else). */
	char failed_name[256];
};

/* --- acme_jws.c --- */
/* base64url without padding (RFC 4648 §5) into out (NUL-ended); -1 when
 * it does not fit. */
int acme_b64url(const void *in, size_t n, char *out, size_t outcap);
/* The account key from path (P-256 or RSA PEM), made (P-256, 0600) when
 * missing. NULL with err. */
EVP_PKEY *acme_key_load(const char *path, bool make, char *err, size_t errlen);
/* RFC 7517 JWK of the public key, members in RFC 7638 order (so it is
 * also the thumbprint input); -1 when out is too small. */
int acme_jwk(EVP_PKEY *key, char *out, size_t outcap);
/* RFC 7638 thumbprint (SHA-256, base64url) into out[64]. */
int acme_thumbprint(EVP_PKEY *key, char *out, size_t outcap);
/* RFC 8555 §6.2 flattened JWS of payload for url: jwk in the header
 * when kid is NULL (newAccount), kid otherwise. malloc'ed, NULL on
 * failure. */
char *acme_jws(EVP_PKEY *key, const char *kid, const char *nonce,
	       const char *url, const char *payload);
/* RFC 8555 §7.4: a DER CSR for names signed by key, base64url;
 * malloc'ed, NULL on failure. */
char *acme_csr(EVP_PKEY *key, char *const *names, size_t n);

/* RFC 8737: a TLS context that answers the tls-alpn-01 challenge of
 * name (a self-signed certificate with the acmeIdentifier of keyauth,
 * ALPN acme-tls/1). NULL on failure. */
struct ssl_ctx_st *acme_alpn_ctx(const char *name, const char *keyauth);

/* --- acme_http.c --- */
/* A GET (or HEAD) of url into r (free with acme_resp_fini); -1 with
 * a->why when no HTTP answer came. */
int acme_get(struct acme *a, const char *url, bool head, struct acme_resp *r);
/* RFC 8555 §6.2-6.5: a JWS POST of payload ("" for POST-as-GET) with a
 * fresh nonce, retried on badNonce. -1 with a->why when no answer came;
 * an error status is the caller's to read (acme_problem). */
int acme_post(struct acme *a, const char *url, const char *payload,
	      struct acme_resp *r);
void acme_resp_fini(struct acme_resp *r);
/* RFC 8555 §6.7 problem document of r as "status type: detail" in
 * a->why. */
void acme_problem(struct acme *a, const char *what, const struct acme_resp *r);

/* --- acme_flow.c --- */
/* One issuance for names: account, order, HTTP-01 for each pending
 * authorization, finalize with a CSR of cert_key, download. On success
 * *chain_r is the PEM chain (malloc'ed). -1 with a->why. */
int acme_issue(struct acme *a, char *const *names, size_t n,
	       EVP_PKEY *cert_key, char **chain_r, size_t *chain_len_r);
/* The sleep between polls that checks a->stop; false when stopping. */
bool acme_sleep(struct acme *a, long seconds);

#endif
