/*
 * libFuzzer target for the ClientHello extension readers of the ACME
 * TLS-ALPN-01 path (src/core/challenge.h): no crash, and a host name
 * found lies inside the input and is not empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/challenge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name = NULL;
	size_t n = 0;

	(void)challenge_alpn_acme(data, size);
	if (challenge_sni_name(data, size, &name, &n) &&
	    (n == 0 || (const uint8_t *)name < data ||
	     (const uint8_t *)name + n > data + size))
		abort();
	(void)challenge_token_ok((const char *)data, size);
	return 0;
}
