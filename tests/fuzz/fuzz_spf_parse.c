/*
 * libFuzzer target for the SPF record and macro parser
 * (src/mailauth/spf_parse.c) on any bytes, as a hostile DNS server could
 * publish them. Besides "no crash":
 * - spf_record_check and a walk with spf_term_next agree: a record that
 *   checks walks to its end without error, with the same term count;
 * - every term's pointers stay inside the record, CIDR lengths in range;
 * - a macro expansion that succeeds is terminated within its buffer,
 *   gives the same text with a larger buffer, and passes the syntax check;
 * - spf_domain_trim leaves at most 253 octets (or a single long label).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mailauth/spf_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_terms(const char *txt, size_t len)
{
	struct spf_record_info info;
	struct spf_term t;
	const char *err = NULL;
	size_t pos = 0, n = 0;
	int rc, ok = spf_record_check(txt, len, &info, &err);

	if (!spf_is_record(txt, len))
		return;
	while ((rc = spf_term_next(txt, len, &pos, &t, &err)) == 1) {
		n++;
		if (t.spec != NULL && (t.spec < txt ||
				       t.spec + t.spec_len > txt + len))
			abort();
		if (t.cidr4 < 0 || t.cidr4 > 32 || t.cidr6 < 0 ||
		    t.cidr6 > 128 || pos > len)
			abort();
	}
	if (ok == 0 && (rc != 0 || n != info.n_terms))
		abort();
}

static void
fuzz_macros(const char *s, size_t len)
{
	struct spf_macro_ctx m = {
		.sender = "user@example.org", .local = "user",
		.sender_domain = "example.org", .domain = "example.org",
		.helo = "mail.example.org", .family = AF_INET6,
		.ptr_name = NULL, .receiver = "mx.test", .now = 1,
	};
	static char small[300], big[8192];
	const char *err;

	for (int explain = 0; explain < 2; explain++) {
		int a = spf_macro_expand(s, len, explain, &m, small,
					 sizeof(small), &err);
		int b = spf_macro_expand(s, len, explain, &m, big, sizeof(big),
					 &err);

		if (a == 0 && (strnlen(small, sizeof(small)) >= sizeof(small) ||
			       b != 0 || strcmp(small, big) != 0))
			abort();
		/* What expands is valid syntax. */
		if (b == 0 && spf_macro_check(s, len, explain, &err) != 0)
			abort();
	}
	if (strnlen(big, sizeof(big)) < sizeof(big)) {
		spf_domain_trim(big);
		if (strlen(big) > 253 && strchr(big, '.') != NULL)
			abort();
		(void)spf_domain_ok(big);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *txt = malloc(size + 1);

	if (txt == NULL)
		return 0;
	memcpy(txt, data, size);
	txt[size] = '\0';
	fuzz_terms(txt, size);
	fuzz_macros(txt, size);
	free(txt);
	return 0;
}
