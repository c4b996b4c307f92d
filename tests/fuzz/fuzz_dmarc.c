/*
 * libFuzzer target for the DMARC policy record parser
 * (src/mailauth/dmarc_parse.c) on any bytes, as a hostile DNS server could
 * publish them, and for the organisational domain and the verdict with
 * the parsed record. Besides "no crash":
 * - a record that parses has its fields in range (policies, pct <= 100)
 *   and parses the same again;
 * - a result of -1 comes with a reason;
 * - the verdict never asks for an action on a pass, and never for more
 *   than the published policy.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_verdict(const struct dmarc_record *r, const char *name)
{
	struct dmarc_auth a = { name, true, false };
	struct dmarc_verdict v;

	dmarc_decide(r, name, name, &a, 1, &a, 0, &v);
	if (name[0] != '\0' && v.result != DMARC_RESULT_PASS)
		abort();
	dmarc_decide(r, "example.com", name, NULL, 0, NULL, 99, &v);
	if (v.result != DMARC_RESULT_FAIL || v.action > v.policy)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_record r, r2;
	const char *why = NULL, *why2 = NULL;
	char name[256], org[256];
	size_t nl = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	int rc;

	rc = dmarc_record_parse((const char *)data, size, &r, &why);
	if (rc < -1 || rc > 1 || (rc == -1 && why == NULL))
		abort();
	if (rc == 1) {
		if (r.p > DMARC_POLICY_REJECT || r.sp > DMARC_POLICY_REJECT ||
		    r.pct > 100)
			abort();
		if (dmarc_record_parse((const char *)data, size, &r2, &why2) != 1
		    || memcmp(&r, &r2, sizeof(r)) != 0)
			abort();
	}
	/* The same bytes as a domain name (NUL-terminated, no NUL inside). */
	memcpy(name, data, nl);
	name[nl] = '\0';
	if (strlen(name) == nl && dmarc_org_domain(name, org, sizeof(org)) == 0
	    && strlen(org) > strlen(name))
		abort();
	if (rc == 1 && strlen(name) == nl)
		fuzz_verdict(&r, name);
	return 0;
}
