/*
 * The library's DKIM cost on one 4 KB message, single-threaded, as CPU
 * time per message (getrusage): signing with a fresh Ed25519 + RSA-2048
 * pair (dkim_keyring_sign, what outbound mail gets), parsing and the
 * body hashes of the two signatures (dkim_verify_new, no key fetch) and
 * the From: domain. The server benchmarks (bench/relay.sh,
 * bench/dkim_ingest.py) cannot resolve a few microseconds on a shared
 * machine; this can. Run by bench/dkim_micro.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

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

int
main(int argc, char **argv)
{
	static char msg[8192], both[16384];
	char ed[128], rsa[128], dom[256];
	const char *why = "";
	struct dkim_keyring *kr;
	struct buf out;
	int n, o;
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
	o = snprintf(msg, sizeof(msg), "From: A <a@bench.test>\r\n"
		     "To: b@example.org\r\nSubject: bench\r\n"
		     "Date: Mon, 07 Dec 2026 06:00:00 +0000\r\n"
		     "Message-ID: <x@bench.test>\r\n\r\n");
	for (int i = 0; i < 51; i++) {
		memset(msg + o, 'x', 78);
		memcpy(msg + o + 78, "\r\n", 2);
		o += 80;
	}
	buf_init(&out, 1 << 16);
	t = cpu_now();
	for (int i = 0; i < n; i++) {
		buf_reset(&out);
		if (dkim_keyring_sign(kr, msg, (size_t)o, 1000000, &out,
				      &why) != 1) {
			fprintf(stderr, "dkim_micro: sign: %s\n", why);
			return 1;
		}
	}
	printf("sign (Ed25519 + RSA-2048)  %7.1f us CPU/msg\n",
	       (cpu_now() - t) / n * 1e6);
	memcpy(both, out.data, out.len);
	memcpy(both + out.len, msg, (size_t)o);
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
