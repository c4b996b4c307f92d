/*
 * libFuzzer target for the resolver's rdata parsers (src/dns/dns_wire.c):
 * dns_wire_name, dns_wire_mx, dns_txt_text and dns_ptr_name on any bytes, as a hostile DNS server
 * could send them. Besides "no crash":
 * - success leaves a terminated text name of host characters, dots and
 *   \DDD escapes only, within the buffer, and an MX name that used the
 *   whole rdata;
 * - the parse is the same with a larger output buffer (no truncation
 *   passes as success);
 * - a name that dns_name_ok accepts never holds an escape;
 * - TXT text is never longer than its rdata and is terminated; a larger
 *   buffer gives the same text.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_dns_text_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n >= cap)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == '\\'))
			abort();
	}
	if (dns_name_ok(s) && strchr(s, '\\') != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char small[64], big[2048];
	unsigned pref = 0, pref2 = 0;
	int a, b;

	a = dns_wire_name(data, size, small, sizeof(small));
	b = dns_wire_name(data, size, big, sizeof(big));
	if (a >= 0) {
		fuzz_dns_text_ok(small, sizeof(small));
		if (b != a || strcmp(small, big) != 0)
			abort();
	}
	if (b >= 0) {
		fuzz_dns_text_ok(big, sizeof(big));
		if ((size_t)b > size)
			abort();
	}
	a = dns_wire_mx(data, size, &pref, small, sizeof(small));
	b = dns_wire_mx(data, size, &pref2, big, sizeof(big));
	if (a == 0) {
		fuzz_dns_text_ok(small, sizeof(small));
		if (b != 0 || pref != pref2 || strcmp(small, big) != 0)
			abort();
	}
	a = dns_txt_text(data, size, small, sizeof(small));
	b = dns_txt_text(data, size, big, sizeof(big));
	if (a >= 0) {
		if ((size_t)a >= sizeof(small) || small[a] != '\0' ||
		    b != a || memcmp(small, big, (size_t)a) != 0)
			abort();
	}
	if (b >= 0 && (size_t)b >= size)
		abort();
	if (dns_ptr_name(data, size, big, sizeof(big)) == 0)
		fuzz_dns_text_ok(big, sizeof(big));
	return 0;
}
