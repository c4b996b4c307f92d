/*
 * libFuzzer target for the TLSA record parser and the DANE record set
 * (src/queue/tls_policy.h). The input is cut into records, each prefixed
 * by a one-octet length (as many as DNS_ANSWER_MAX); every record is
 * parsed, and the set of usable ones is built and copied. Besides "no
 * crash" it checks the promises: a parsed record's data lies inside its
 * input and within TLS_TLSA_DATA_MAX, a usable one has a DANE usage and a
 * digest of its type's length, and the set's records lie inside the set.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/tls_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_tlsa_check(const unsigned char *rd, size_t len, const struct tls_tlsa *r)
{
	if (r->data != rd + TLS_TLSA_HEAD || r->len + TLS_TLSA_HEAD != len ||
	    r->len > TLS_TLSA_DATA_MAX)
		abort();
	if (!tls_tlsa_usable(r))
		return;
	if (r->usage != 2 && r->usage != 3)
		abort();
	if ((r->mtype == 1 && r->len != 32) || (r->mtype == 2 && r->len != 64))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *rd[DNS_ANSWER_MAX];
	size_t len[DNS_ANSWER_MAX], n = 0, off = 0, seen;
	struct tls_dane *set, *copy;
	bool oom;

	while (off < size && n < DNS_ANSWER_MAX) {
		size_t l = data[off++];
		struct tls_tlsa r;

		if (l > size - off)
			l = size - off;
		rd[n] = data + off;
		len[n] = l;
		if (tls_tlsa_parse(rd[n], l, &r) == 0)
			fuzz_tlsa_check(rd[n], l, &r);
		off += l;
		n++;
	}
	set = tls_dane_new("mx.example.org", rd, len, n, &seen, &oom);
	if (set == NULL)
		return 0;
	if (set->n == 0 || set->n > seen || seen > n)
		abort();
	for (size_t i = 0; i < set->n; i++)
		if (set->rr[i].off + set->rr[i].len > set->size)
			abort();
	copy = tls_dane_dup(set);
	if (copy != NULL && memcmp(copy, set, set->size) != 0)
		abort();
	free(copy);
	free(set);
	return 0;
}
