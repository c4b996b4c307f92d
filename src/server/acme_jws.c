/*
 * ACME cryptography with OpenSSL's EVP: the account key, its JWK and
 * thumbprint, flattened JWS (ES256 or RS256) and the CSR.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../core/safepath.h"
#include "../util/base64.h"
#include "../util/json.h"
#include "acme_int.h"

int
acme_b64url(const void *in, size_t n, char *out, size_t outcap)
{
	size_t o = 0;

	if (BASE64_ENCODED_LEN(n) + 1 > outcap)
		return -1;
	base64_encode(in, n, out);
	for (size_t i = 0; out[i] != '\0'; i++) {
		if (out[i] == '=')
			break;
		out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	}
	out[o] = '\0';
	return 0;
}

/* A new P-256 key written to path with mode 0600 (O_EXCL: never over a
 * file or a link). */
static EVP_PKEY *
acme_key_make(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	int fd;
	FILE *f;
	int ok;

	if (key == NULL) {
		snprintf(err, errlen, "key generation failed");
		return NULL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "cannot create %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		EVP_PKEY_free(key);
		return NULL;
	}
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	fclose(f);
	if (!ok) {
		snprintf(err, errlen, "cannot write %s", path);
		unlink(path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

EVP_PKEY *
acme_key_load(const char *path, bool make, char *err, size_t errlen)
{
	char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	BIO *b;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return make ? acme_key_make(path, err, errlen) : NULL;
	if (safepath_read(path, SAFEPATH_PEM_MAX, &pem, &len, err, errlen) < 0)
		return NULL;
	b = BIO_new_mem_buf(pem, (int)len);
	if (b != NULL)
		key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	safepath_free_buf(pem, len);
	ERR_clear_error();
	if (key == NULL)
		snprintf(err, errlen, "%s: not a PEM private key", path);
	return key;
}

/* A big-number parameter of key, left-padded to pad octets (0: its own
 * length), as base64url. */
static int
acme_bn_b64(EVP_PKEY *key, const char *param, int pad, char *out,
	    size_t outcap)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n, rc = -1;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		return -1;
	n = pad > 0 ? pad : BN_num_bytes(bn);
	if (n <= (int)sizeof(buf) && BN_bn2binpad(bn, buf, n) == n)
		rc = acme_b64url(buf, (size_t)n, out, outcap);
	BN_free(bn);
	return rc;
}

static bool
acme_key_is_ec(EVP_PKEY *key)
{
	return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC;
}

int
acme_jwk(EVP_PKEY *key, char *out, size_t outcap)
{
	char a[700], b[700];
	int n;

	/* RFC 7638 §3.2: required members only, in lexicographic order. */
	if (acme_key_is_ec(key)) {
		if (acme_bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, 32, a,
				sizeof(a)) < 0 ||
		    acme_bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32, b,
				sizeof(b)) < 0)
			return -1;
		n = snprintf(out, outcap,
			     "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
			     "\"y\":\"%s\"}", a, b);
	} else {
		if (acme_bn_b64(key, OSSL_PKEY_PARAM_RSA_E, 0, a,
				sizeof(a)) < 0 ||
		    acme_bn_b64(key, OSSL_PKEY_PARAM_RSA_N, 0, b,
				sizeof(b)) < 0)
			return -1;
		n = snprintf(out, outcap,
			     "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", a,
			     b);
	}
	return n > 0 && (size_t)n < outcap ? 0 : -1;
}

int
acme_thumbprint(EVP_PKEY *key, char *out, size_t outcap)
{
	char jwk[1600];
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (acme_jwk(key, jwk, sizeof(jwk)) < 0 ||
	    EVP_Digest(jwk, strlen(jwk), md, &mdlen, EVP_sha256(), NULL) != 1)
		return -1;
	return acme_b64url(md, mdlen, out, outcap);
}

/* RFC 7518 §3.4: an ES256 signature is r || s, 32 octets each, not the
 * DER that OpenSSL makes. */
static int
acme_sig_raw(unsigned char *sig, size_t *len)
{
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)*len);
	const BIGNUM *r, *s;
	int rc = -1;

	if (es == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32) {
		*len = 64;
		rc = 0;
	}
	ECDSA_SIG_free(es);
	return rc;
}

/* The signature of input as base64url into out. */
static int
acme_sign(EVP_PKEY *key, const char *input, char *out, size_t outcap)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t len = sizeof(sig);
	int rc = -1;

	if (md != NULL &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, sig, &len, (const unsigned char *)input,
			   strlen(input)) == 1 &&
	    (!acme_key_is_ec(key) || acme_sig_raw(sig, &len) == 0))
		rc = acme_b64url(sig, len, out, outcap);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

char *
acme_jws(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
	 const char *payload)
{
	char jwk[1600], hdr[4096], qnonce[ACME_NONCE_MAX + 8],
		qurl[ACME_URL_MAX + 8], qkid[ACME_URL_MAX + 8], sig[1024];
	char *p64 = NULL, *h64 = NULL, *input = NULL, *out = NULL;
	size_t plen = strlen(payload), p64cap = BASE64_ENCODED_LEN(plen) + 1;
	size_t ocap;
	int n;

	if (json_quote(nonce, qnonce, sizeof(qnonce)) < 0 ||
	    json_quote(url, qurl, sizeof(qurl)) < 0 ||
	    (kid != NULL && json_quote(kid, qkid, sizeof(qkid)) < 0) ||
	    (kid == NULL && acme_jwk(key, jwk, sizeof(jwk)) < 0))
		return NULL;
	/* RFC 8555 §6.2: alg, nonce, url, and jwk or kid. */
	n = snprintf(hdr, sizeof(hdr),
		     "{\"alg\":\"%s\",\"nonce\":%s,\"url\":%s,\"%s\":%s}",
		     acme_key_is_ec(key) ? "ES256" : "RS256", qnonce, qurl,
		     kid ? "kid" : "jwk", kid ? qkid : jwk);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return NULL;
	h64 = malloc(BASE64_ENCODED_LEN(sizeof(hdr)) + 1);
	p64 = malloc(p64cap);
	input = malloc(BASE64_ENCODED_LEN(sizeof(hdr)) + p64cap + 2);
	if (h64 == NULL || p64 == NULL || input == NULL ||
	    acme_b64url(hdr, (size_t)n, h64,
			BASE64_ENCODED_LEN(sizeof(hdr)) + 1) < 0 ||
	    acme_b64url(payload, plen, p64, p64cap) < 0)
		goto out;
	snprintf(input, strlen(h64) + strlen(p64) + 2, "%s.%s", h64, p64);
	if (acme_sign(key, input, sig, sizeof(sig)) < 0)
		goto out;
	ocap = strlen(input) + strlen(sig) + 64;
	if ((out = malloc(ocap)) != NULL)
		snprintf(out, ocap, "{\"protected\":\"%s\",\"payload\":\"%s\","
			"\"signature\":\"%s\"}", h64, p64, sig);
out:
	free(h64);
	free(p64);
	free(input);
	return out;
}

/* subjectAltName's names: DNS:a, DNS:b, ...; NULL when out of memory. */
static GENERAL_NAMES *
acme_gens(char *const *names, size_t n)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();

	for (size_t i = 0; gens != NULL && i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		if (g == NULL || s == NULL ||
		    ASN1_STRING_set(s, names[i], (int)strlen(names[i])) != 1) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			GENERAL_NAMES_free(gens);
			return NULL;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (sk_GENERAL_NAME_push(gens, g) <= 0) {
			GENERAL_NAME_free(g);
			GENERAL_NAMES_free(gens);
			return NULL;
		}
	}
	return gens;
}

/* subjectAltName on the request. */
static int
acme_csr_san(X509_REQ *req, char *const *names, size_t n)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	GENERAL_NAMES *gens = acme_gens(names, n);
	X509_EXTENSION *ext = NULL;
	int rc = -1;

	if (exts == NULL || gens == NULL)
		goto out;
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	if (ext != NULL && sk_X509_EXTENSION_push(exts, ext) > 0) {
		ext = NULL;
		rc = X509_REQ_add_extensions(req, exts) == 1 ? 0 : -1;
	}
out:
	X509_EXTENSION_free(ext);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

char *
acme_csr(EVP_PKEY *key, char *const *names, size_t n)
{
	X509_REQ *req = X509_REQ_new();
	unsigned char *der = NULL;
	char *out = NULL;
	int len;

	if (req == NULL || n == 0)
		goto out;
	/* The subject's CN is the first name (the host name); the CA reads
	 * the names from subjectAltName (RFC 8555 §7.4). */
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
				       MBSTRING_UTF8,
				       (const unsigned char *)names[0], -1, -1,
				       0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    acme_csr_san(req, names, n) < 0 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0)
		goto out;
	len = i2d_X509_REQ(req, &der);
	if (len <= 0)
		goto out;
	out = malloc(BASE64_ENCODED_LEN((size_t)len) + 1);
	if (out != NULL &&
	    acme_b64url(der, (size_t)len, out,
			BASE64_ENCODED_LEN((size_t)len) + 1) < 0) {
		free(out);
		out = NULL;
	}
out:
	OPENSSL_free(der);
	X509_REQ_free(req);
	ERR_clear_error();
	return out;
}

/* RFC 8737 §6.2: the id-pe-acmeIdentifier extension, critical, whose
 * value is the DER OCTET STRING of SHA-256(keyAuthorization). */
static int
acme_alpn_ext(X509 *x, const char *keyauth)
{
	unsigned char der[2 + 32];
	unsigned int mdlen = 0;
	ASN1_OBJECT *obj = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int rc = -1;

	der[0] = 0x04; /* OCTET STRING */
	der[1] = 32;
	if (obj != NULL && os != NULL &&
	    EVP_Digest(keyauth, strlen(keyauth), der + 2, &mdlen,
		       EVP_sha256(), NULL) == 1 && mdlen == 32 &&
	    ASN1_OCTET_STRING_set(os, der, sizeof(der)) == 1 &&
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, os)) != NULL &&
	    X509_add_ext(x, ext, -1) == 1)
		rc = 0;
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return rc;
}

/* RFC 8737 §3: the server answers a ClientHello offering only
 * "acme-tls/1" by selecting it. */
static int
acme_alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char proto[] = "\x0a" "acme-tls/1";
	unsigned char *sel = NULL;

	if (SSL_select_next_proto(&sel, outlen, proto, sizeof(proto) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* The challenge context must not be switched again by the default
 * context's SNI callback (OpenSSL falls back to it when this one has
 * none). */
static int
acme_alpn_name_cb(SSL *ssl, int *al, void *arg)
{
	return SSL_TLSEXT_ERR_OK;
}

/* The self-signed certificate of a tls-alpn-01 challenge for name. */
static X509 *
acme_alpn_cert(EVP_PKEY *key, char *name, const char *keyauth)
{
	X509 *x = X509_new();
	GENERAL_NAMES *gens = acme_gens(&name, 1);
	bool ok = x != NULL && gens != NULL;

	ok = ok && X509_set_version(x, 2) == 1 &&
	     ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL)) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	     X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) != NULL &&
	     X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
					MBSTRING_UTF8,
					(const unsigned char *)name, -1, -1,
					0) == 1 &&
	     X509_set_issuer_name(x, X509_get_subject_name(x)) == 1 &&
	     X509_set_pubkey(x, key) == 1 &&
	     X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1 &&
	     acme_alpn_ext(x, keyauth) == 0 && X509_sign(x, key, EVP_sha256()) > 0;
	GENERAL_NAMES_free(gens);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

SSL_CTX *
acme_alpn_ctx(const char *name, const char *keyauth)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	char n[256];
	X509 *x = NULL;
	SSL_CTX *ctx = NULL;

	snprintf(n, sizeof(n), "%s", name);
	if (key != NULL && (x = acme_alpn_cert(key, n, keyauth)) != NULL &&
	    (ctx = SSL_CTX_new(TLS_server_method())) != NULL) {
		/* RFC 8737 §4: TLS 1.2 or later. */
		if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
		    SSL_CTX_use_certificate(ctx, x) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, key) != 1) {
			SSL_CTX_free(ctx);
			ctx = NULL;
		} else {
			SSL_CTX_set_alpn_select_cb(ctx, acme_alpn_select_cb,
						   NULL);
			SSL_CTX_set_tlsext_servername_callback(
				ctx, acme_alpn_name_cb);
		}
	}
	X509_free(x);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return ctx;
}
