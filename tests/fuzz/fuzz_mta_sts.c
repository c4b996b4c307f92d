/*
 * libFuzzer target for MTA-STS's parsers (src/queue/mta_sts_parse.c) on
 * any bytes, as a hostile policy server or DNS zone could send them. The
 * first byte picks the parser. Besides "no crash":
 * - a policy that parses has a mode, at most MTA_STS_MX_MAX mx patterns,
 *   mx for enforce/testing, max_age in range; formatted and parsed again
 *   it gives the same policy;
 * - a TXT id that parses is 1..32 alphanumerics;
 * - a complete HTTP head ends inside the input, with a status 100..599;
 * - a TLS-RPT record (tlsrpt.h) that parses has a NUL-terminated rua
 *   within its buffer, of addresses with an '@'.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/mta_sts.h"
#include "queue/tlsrpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_policy(const char *s, size_t n)
{
	static char buf[MTA_STS_MX_MAX * 300 + 128];
	struct mta_sts_policy p, q;
	char err[64];
	int len;

	if (mta_sts_policy_parse(s, n, &p, err, sizeof(err)) < 0)
		return;
	if (p.n_mx > MTA_STS_MX_MAX || p.max_age > MTA_STS_MAX_AGE_MAX ||
	    (p.mode != MTA_STS_NONE && p.n_mx == 0))
		abort();
	for (size_t i = 0; i < p.n_mx; i++)
		(void)mta_sts_mx_match(&p, p.mx[i]);
	len = mta_sts_policy_format(&p, buf, sizeof(buf));
	if (len < 0 || mta_sts_policy_parse(buf, (size_t)len, &q, err,
					    sizeof(err)) < 0 ||
	    memcmp(&p, &q, sizeof(p)) != 0)
		abort();
}

static void
fuzz_txt(const char *s, size_t n)
{
	char id[MTA_STS_ID_MAX + 1];
	size_t l;

	if (mta_sts_txt_parse(s, n, id) != 1)
		return;
	l = strlen(id);
	if (l < 1 || l > MTA_STS_ID_MAX)
		abort();
}

static void
fuzz_head(const char *s, size_t n)
{
	int status;
	size_t hl = 0;
	int64_t clen;
	bool plain;

	if (mta_sts_http_head(s, n, &status, &hl, &clen, &plain) != 1)
		return;
	if (hl > n || status < 100 || status > 599)
		abort();
}

static void
fuzz_tlsrpt(const char *s, size_t n)
{
	char rua[64];

	if (tlsrpt_txt_parse(s, n, rua, sizeof(rua)) != 1)
		return;
	if (memchr(rua, '\0', sizeof(rua)) == NULL || strchr(rua, '@') == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1)
		return 0;
	/* A copy of exactly the input: reads past it are caught. */
	if ((s = malloc(size - 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		fuzz_policy(s, size - 1);
		break;
	case 1:
		fuzz_txt(s, size - 1);
		break;
	case 3:
		fuzz_tlsrpt(s, size - 1);
		break;
	default:
		fuzz_head(s, size - 1);
	}
	free(s);
	return 0;
}
