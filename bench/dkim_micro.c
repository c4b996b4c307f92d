/*
 * The library's DKIM cost on one 4 KB message, single-threaded, as CPU
 * time per message (getrusage): signing with a fresh Ed25519 + RSA-2048
 * pair (dkim_keyring_sign, what outbound mail gets), each signature
 * alone (dkim_sign), the bare private-key operations (OpenSSL only, a
 * context set up once), so that what the signing path adds around them
 * shows; RSA-2048 with 2 and with 3 primes; then parsing and the body
 * hashes of the two signatures (dkim_verify_new, no key fetch) and the
 * From: domain. The server benchmarks (bench/relay.sh,
 * bench/dkim_ingest.py) cannot resolve a few microseconds on a shared
 * machine; this can. Run by bench/dkim_micro.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mailauth/dkim.h"
#include "mailauth/dkim_keys.h"
#include "util/buf.h"

static double
cpu_now(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (double)r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 +
	       (double)r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

static EVP_PKEY *
key_read(const char *dir, const char *sel)
{
	char path[512];
	EVP_PKEY *k = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/dkim/bench.test/%s.pem", dir, sel);
	if ((f = fopen(path, "re")) != NULL) {
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	return k;
}

/* An RSA-2048 key of primes primes (what dkim generate makes, or not). */
static EVP_PKEY *
rsa_new(int primes)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	EVP_PKEY *k = NULL;

	if (c == NULL || EVP_PKEY_keygen_init(c) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048) != 1 ||
	    EVP_PKEY_CTX_set_rsa_keygen_primes(c, primes) != 1 ||
	    EVP_PKEY_keygen(c, &k) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(c);
	return k;
}

/* The private-key operation alone on a 32-octet SHA-256 value: RSA
 * (PKCS#1 v1.5) through one EVP_PKEY_CTX, Ed25519 (PureEdDSA over the
 * hash, RFC 8463) from a copied EVP_MD_CTX. us per operation. */
static double
bare_sign(EVP_PKEY *k, int n)
{
	unsigned char h[32] = { 1 }, sig[512];
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);
	EVP_MD_CTX *tmpl = EVP_MD_CTX_new(), *m = EVP_MD_CTX_new();
	bool ed = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
	double t = -1;
	size_t sl;

	if (pc == NULL || tmpl == NULL || m == NULL ||
	    (ed ? EVP_DigestSignInit(tmpl, NULL, NULL, NULL, k) != 1
		: (EVP_PKEY_sign_init(pc) != 1 ||
		   EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) != 1 ||
		   EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1)))
		goto out;
	t = cpu_now();
	for (int i = 0; i < n; i++) {
		sl = sizeof(sig);
		if (ed ? EVP_MD_CTX_copy_ex(m, tmpl) != 1 ||
			 EVP_DigestSign(m, sig, &sl, h, sizeof(h)) != 1
		       : EVP_PKEY_sign(pc, sig, &sl, h, sizeof(h)) != 1) {
			t = -1;
			goto out;
		}
	}
	t = (cpu_now() - t) / n * 1e6;
out:
	EVP_PKEY_CTX_free(pc);
	EVP_MD_CTX_free(tmpl);
	EVP_MD_CTX_free(m);
	return t;
}

/* dkim_sign with one key: us per message, or -1. */
static double
one_sign(enum dkim_alg alg, const char *sel, EVP_PKEY *k, const char *msg,
	 size_t len, int n, struct buf *out)
{
	struct dkim_signer s = { .alg = alg, .domain = "bench.test",
				 .selector = sel, .key = k };
	const char *why = "";
	double t = cpu_now();

	for (int i = 0; i < n; i++) {
		buf_reset(out);
		if (dkim_sign(&s, msg, len, 1000000, out, &why) < 0) {
			fprintf(stderr, "dkim_micro: sign: %s\n", why);
			return -1;
		}
	}
	return (cpu_now() - t) / n * 1e6;
}

static double
keyring_sign(const struct dkim_keyring *kr, const char *msg, size_t len,
	     int n, struct buf *out)
{
	const char *why = "";
	double t = cpu_now();

	for (int i = 0; i < n; i++) {
		buf_reset(out);
		if (dkim_keyring_sign(kr, msg, len, 1000000, out, &why) != 1) {
			fprintf(stderr, "dkim_micro: sign: %s\n", why);
			return -1;
		}
	}
	return (cpu_now() - t) / n * 1e6;
}

/* How many primes an RSA key has (2, or 3 when it has a third factor). */
static int
rsa_primes(EVP_PKEY *k)
{
	BIGNUM *f = NULL;
	int n = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_FACTOR3, &f) == 1
		? 3 : 2;

	BN_free(f);
	return n;
}

/* RSA-2048 of 2 and of 3 primes made here, whatever dkim generate
 * makes: us per dkim_sign and per bare operation, 0 or -1. */
static int
sign_rsa(int primes, const char *msg, size_t len, int n, struct buf *out)
{
	EVP_PKEY *k = rsa_new(primes);
	double one, bare;

	if (k == NULL)
		return fprintf(stderr, "dkim_micro: keygen\n"), -1;
	one = one_sign(DKIM_ALG_RSA_SHA256, "r", k, msg, len, n, out);
	bare = bare_sign(k, n);
	EVP_PKEY_free(k);
	if (one < 0 || bare < 0)
		return -1;
	printf("sign RSA-2048, %d primes    %7.1f us (key operation %5.1f)\n",
	       primes, one, bare);
	return 0;
}

static int
sign_all(const char *dir, const char *ed_sel, const char *rsa_sel,
	 const struct dkim_keyring *kr, const char *msg, size_t len, int n,
	 struct buf *out)
{
	EVP_PKEY *ed = key_read(dir, ed_sel), *rsa = key_read(dir, rsa_sel);
	double full, e1, be, br;
	int primes;

	if (ed == NULL || rsa == NULL)
		return fprintf(stderr, "dkim_micro: keys\n"), -1;
	primes = rsa_primes(rsa);
	full = keyring_sign(kr, msg, len, n, out);
	e1 = one_sign(DKIM_ALG_ED25519_SHA256, ed_sel, ed, msg, len, n, out);
	be = bare_sign(ed, n);
	br = bare_sign(rsa, n);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(rsa);
	if (full < 0 || e1 < 0 || be < 0 || br < 0)
		return -1;
	printf("sign (Ed25519 + RSA-2048)  %7.1f us CPU/msg "
	       "(dkim generate's keys: RSA of %d primes)\n", full, primes);
	printf("  key operations %5.1f + %5.1f us, the rest %5.1f us\n", be,
	       br, full - be - br);
	printf("sign Ed25519 alone         %7.1f us (key operation %5.1f)\n",
	       e1, be);
	return sign_rsa(2, msg, len, n, out) < 0 ||
	       sign_rsa(3, msg, len, n, out) < 0 ? -1 : 0;
}

static size_t
bench_message(char *msg, size_t cap)
{
	int o = snprintf(msg, cap, "From: A <a@bench.test>\r\n"
			 "To: b@example.org\r\nSubject: bench\r\n"
			 "Date: Mon, 07 Dec 2026 06:00:00 +0000\r\n"
			 "Message-ID: <x@bench.test>\r\n\r\n");

	for (int i = 0; i < 51; i++) {
		memset(msg + o, 'x', 78);
		memcpy(msg + o + 78, "\r\n", 2);
		o += 80;
	}
	return (size_t)o;
}

int
main(int argc, char **argv)
{
	static char msg[8192], both[16384];
	char ed[128], rsa[128], dom[256];
	const char *why = "";
	struct dkim_keyring *kr;
	struct buf out;
	size_t o;
	int n;
	double t;

	if (argc != 3 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: dkim_micro EMPTY-DIR ITERATIONS\n");
		return 2;
	}
	if (dkim_keys_generate(argv[1], "bench.test", false, (gid_t)-1,
			       time(NULL), ed, rsa, &why) < 0 ||
	    (kr = dkim_keyring_load(argv[1], NULL)) == NULL ||
	    dkim_keyring_count(kr) != 1) {
		fprintf(stderr, "dkim_micro: keys: %s\n", why);
		return 1;
	}
	o = bench_message(msg, sizeof(msg));
	buf_init(&out, 1 << 16);
	if (sign_all(argv[1], ed, rsa, kr, msg, o, n, &out) < 0)
		return 1;
	buf_reset(&out);
	if (dkim_keyring_sign(kr, msg, o, 1000000, &out, &why) != 1)
		return 1;
	memcpy(both, out.data, out.len);
	memcpy(both + out.len, msg, o);
	t = cpu_now();
	for (int i = 0; i < n * 10; i++) {
		struct dkim_verify *v = dkim_verify_new(both, out.len + o,
							1000000);
		if (v == NULL || dkim_verify_count(v) != 2)
			return 1;
		dkim_verify_free(&v);
	}
	printf("verify parse + 2 body hashes %5.1f us CPU/msg\n",
	       (cpu_now() - t) / n / 10 * 1e6);
	t = cpu_now();
	for (int i = 0; i < n * 10; i++)
		if (dkim_from_domain(both, out.len + o, dom, sizeof(dom)) < 0)
			return 1;
	printf("From: domain                 %5.2f us CPU/msg\n",
	       (cpu_now() - t) / n / 10 * 1e6);
	buf_fini(&out);
	dkim_keyring_unref(&kr);
	return 0;
}
