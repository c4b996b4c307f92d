/*
 * The library's DKIM cost on one 4 KB message, single-threaded, as CPU
 * time: signing with a fresh Ed25519 + RSA-2048 pair (dkim_keyring_sign,
 * what outbound mail gets) and what of it is not the two private-key
 * operations (OpenSSL alone, a context set up once); each signature
 * alone (dkim_sign, its OpenSSL context set up per signature or once as
 * the keyring does); RSA-2048 of 2 and of 3 primes. Every variant in
 * turn, each operation timed on the thread's CPU clock, medians
 * reported, so the load of a shared machine falls on all alike. Then
 * (getrusage) parsing and the body hashes of the two signatures
 * (dkim_verify_new, no key fetch) and the From: domain. The server
 * benchmarks (bench/relay.sh, bench/dkim_ingest.py) cannot resolve a few
 * microseconds on a shared machine; this can. Run by bench/dkim_micro.sh.
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
#include "mailauth/dkim_int.h"
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

/* The private-key operation alone on a 32-octet SHA-256 value: RSA
 * (PKCS#1 v1.5) through one EVP_PKEY_CTX, Ed25519 (PureEdDSA over the
 * hash, RFC 8463) from a copied EVP_MD_CTX. */
struct bare {
	bool ed;
	EVP_PKEY_CTX *pc;
	EVP_MD_CTX *tmpl, *m;
};

static int
bare_init(struct bare *b, EVP_PKEY *k)
{
	b->ed = EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
	b->pc = EVP_PKEY_CTX_new(k, NULL);
	b->tmpl = EVP_MD_CTX_new();
	b->m = EVP_MD_CTX_new();
	if (b->pc == NULL || b->tmpl == NULL || b->m == NULL)
		return -1;
	if (b->ed)
		return EVP_DigestSignInit(b->tmpl, NULL, NULL, NULL, k) == 1
		       ? 0 : -1;
	return EVP_PKEY_sign_init(b->pc) == 1 &&
	       EVP_PKEY_CTX_set_rsa_padding(b->pc, RSA_PKCS1_PADDING) == 1 &&
	       EVP_PKEY_CTX_set_signature_md(b->pc, EVP_sha256()) == 1 ? 0 : -1;
}

static int
bare_sign(struct bare *b)
{
	unsigned char h[32] = { 1 }, sig[512];
	size_t sl = sizeof(sig);

	if (b->ed)
		return EVP_MD_CTX_copy_ex(b->m, b->tmpl) == 1 &&
		       EVP_DigestSign(b->m, sig, &sl, h, sizeof(h)) == 1
		       ? 0 : -1;
	return EVP_PKEY_sign(b->pc, sig, &sl, h, sizeof(h)) == 1 ? 0 : -1;
}

static void
bare_fini(struct bare *b)
{
	EVP_PKEY_CTX_free(b->pc);
	EVP_MD_CTX_free(b->tmpl);
	EVP_MD_CTX_free(b->m);
}

/* What is timed. One iteration runs every variant once, each timed on
 * its own (the thread's CPU clock), so that a change of the machine's
 * load (it is shared) falls on all of them alike; medians reported. */
enum {
	V_FULL,        /* dkim_keyring_sign: both signatures, disk keys */
	V_FULL_ED,     /* the bare operations of those keys */
	V_FULL_RSA,
	V_ED,          /* dkim_sign, Ed25519, context per signature */
	V_ED_ONCE,     /* the same, context set up once (the keyring's) */
	V_ED_BARE,
	V_R2, V_R2_ONCE, V_R2_BARE,     /* RSA-2048 of 2 primes */
	V_R3, V_R3_ONCE, V_R3_BARE,     /* of 3 primes */
	V_N
};

struct bench {
	const struct dkim_keyring *kr;
	const char *msg;
	size_t len;
	struct buf out;
	struct dkim_signer s[V_N];      /* for the dkim_sign variants */
	struct bare b[V_N];             /* for the bare ones */
	double *us[V_N];                /* per operation */
};

static double
thread_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
bench_op(struct bench *B, int v)
{
	const char *why = "";

	buf_reset(&B->out);
	switch (v) {
	case V_FULL:
		return dkim_keyring_sign(B->kr, B->msg, B->len, 1000000,
					 &B->out, &why) == 1 ? 0 : -1;
	case V_FULL_ED: case V_FULL_RSA: case V_ED_BARE: case V_R2_BARE:
	case V_R3_BARE:
		return bare_sign(&B->b[v]);
	default:
		return dkim_sign(&B->s[v], B->msg, B->len, 1000000, &B->out,
				 &why);
	}
}

static int
bench_run(struct bench *B, int n)
{
	for (int i = 0; i < n; i++)
		for (int v = 0; v < V_N; v++) {
			double t = thread_us();

			if (bench_op(B, v) < 0)
				return -1;
			B->us[v][i] = thread_us() - t;
		}
	return 0;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dbl_cmp);
	return v[n / 2];
}

static void
bench_print(struct bench *B, int primes, int n)
{
	double m[V_N];

	for (int v = 0; v < V_N; v++)
		m[v] = median(B->us[v], n);
	printf("signing: CPU us, median of %d, every variant in turn\n", n);
	printf("sign (Ed25519 + RSA-2048)  %7.1f us CPU/msg "
	       "(dkim generate's keys: RSA of %d primes)\n", m[V_FULL],
	       primes);
	printf("  key operations %5.1f + %5.1f us, the rest %5.1f us\n",
	       m[V_FULL_ED], m[V_FULL_RSA],
	       m[V_FULL] - m[V_FULL_ED] - m[V_FULL_RSA]);
	printf("sign Ed25519 alone         %7.1f us (set up once %5.1f; key "
	       "operation %5.1f)\n", m[V_ED], m[V_ED_ONCE], m[V_ED_BARE]);
	for (int p = 2; p <= 3; p++) {
		int v = p == 2 ? V_R2 : V_R3;
		printf("sign RSA-2048, %d primes    %7.1f us (set up once "
		       "%5.1f; key operation %5.1f)\n", p, m[v], m[v + 1],
		       m[v + 2]);
	}
}

/* Keys: Ed25519 and RSA from dkim generate (the disk), RSA-2048 of 2
 * and 3 primes made here. NULL entries when one is missing. */
static int
bench_keys(struct bench *B, EVP_PKEY **k, const char *dir,
	   const char *ed_sel, const char *rsa_sel)
{
	static const struct { int v; int key; bool once; } use[] = {
		{ V_ED, 0, false }, { V_ED_ONCE, 0, true },
		{ V_R2, 2, false }, { V_R2_ONCE, 2, true },
		{ V_R3, 3, false }, { V_R3_ONCE, 3, true },
	};
	static const struct { int v; int key; } bare[] = {
		{ V_FULL_ED, 0 }, { V_FULL_RSA, 1 }, { V_ED_BARE, 0 },
		{ V_R2_BARE, 2 }, { V_R3_BARE, 3 },
	};

	k[0] = key_read(dir, ed_sel);
	k[1] = key_read(dir, rsa_sel);
	k[2] = rsa_new(2);
	k[3] = rsa_new(3);
	for (int i = 0; i < 4; i++)
		if (k[i] == NULL)
			return -1;
	for (size_t i = 0; i < sizeof(use) / sizeof(*use); i++) {
		struct dkim_signer *s = &B->s[use[i].v];
		s->alg = use[i].key == 0 ? DKIM_ALG_ED25519_SHA256
					 : DKIM_ALG_RSA_SHA256;
		s->domain = "bench.test";
		s->selector = "s";
		s->key = k[use[i].key];
		if (use[i].once &&
		    (s->ready = dkim_signkey_new(s->alg, s->key)) == NULL)
			return -1;
	}
	for (size_t i = 0; i < sizeof(bare) / sizeof(*bare); i++)
		if (bare_init(&B->b[bare[i].v], k[bare[i].key]) < 0)
			return -1;
	return 0;
}

static int
sign_all(const char *dir, const char *ed_sel, const char *rsa_sel,
	 const struct dkim_keyring *kr, const char *msg, size_t len, int n)
{
	static struct bench B;
	EVP_PKEY *k[4] = { NULL };
	int rc = -1;

	B.kr = kr;
	B.msg = msg;
	B.len = len;
	buf_init(&B.out, 1 << 16);
	for (int v = 0; v < V_N; v++)
		if ((B.us[v] = calloc((size_t)n, sizeof(double))) == NULL)
			goto out;
	if (bench_keys(&B, k, dir, ed_sel, rsa_sel) < 0) {
		fprintf(stderr, "dkim_micro: keys\n");
		goto out;
	}
	if (bench_run(&B, n) < 0) {
		fprintf(stderr, "dkim_micro: signing failed\n");
		goto out;
	}
	bench_print(&B, rsa_primes(k[1]), n);
	rc = 0;
out:
	for (int v = 0; v < V_N; v++) {
		dkim_signkey_free(&B.s[v].ready);
		bare_fini(&B.b[v]);
		free(B.us[v]);
	}
	for (int i = 0; i < 4; i++)
		EVP_PKEY_free(k[i]);
	buf_fini(&B.out);
	return rc;
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
	if (sign_all(argv[1], ed, rsa, kr, msg, o, n) < 0)
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
