/*
 * libFuzzer target for sequence sets (imap_seqset.c, RFC 9051 §9) against
 * a naive model written here: the input's first two octets pick the
 * mailbox size ("*"), the rest is the set. Checks:
 * - the parser accepts exactly the sets of the grammar (nz-number or "*",
 *   ranges with ":", joined by ",", or "$" alone) that fit 32 bits;
 * - imap_seqset_contains, before and after imap_seqset_normalize, says
 *   what the model says for every number up to max + 2, around every
 *   range end, and at the top of the 32-bit range;
 * - a normalised set is sorted, its ranges apart (neither overlapping nor
 *   adjacent) and free of "*".
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_model {
	uint64_t lo[64], hi[64]; /* "*" as UINT64_MAX until resolved */
	size_t n;
};

/* One number: 1-9 then digits, at most UINT32_MAX; or "*". 0 when bad.
 * (4294967295 is a number, not "*".) */
static size_t
fuzz_model_number(const char *s, size_t len, uint64_t *v)
{
	size_t i = 0;

	if (len > 0 && s[0] == '*') {
		*v = UINT64_MAX;
		return 1;
	}
	*v = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		if (i == 0 && s[0] == '0')
			return 0;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
		if (*v > UINT32_MAX)
			return 0;
		i++;
	}
	return i;
}

/* -1 when not a set; 1 for "$"; 0 with the ranges in m (64 at most). */
static int
fuzz_model_parse(const char *s, size_t len, struct fuzz_model *m)
{
	size_t i = 0;

	m->n = 0;
	if (len == 1 && s[0] == '$')
		return 1;
	if (len == 0)
		return -1;
	for (;;) {
		uint64_t a, b;
		size_t k = fuzz_model_number(s + i, len - i, &a);

		if (k == 0)
			return -1;
		i += k;
		b = a;
		if (i < len && s[i] == ':') {
			k = fuzz_model_number(s + i + 1, len - i - 1, &b);
			if (k == 0)
				return -1;
			i += 1 + k;
		}
		if (m->n < 64) {
			m->lo[m->n] = a;
			m->hi[m->n] = b;
		}
		m->n++;
		if (i == len)
			return 0;
		if (s[i] != ',')
			return -1;
		i++;
	}
}

static bool
fuzz_model_contains(const struct fuzz_model *m, uint64_t n, uint64_t max)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < m->n && i < 64; i++) {
		uint64_t a = m->lo[i] == UINT64_MAX ? max : m->lo[i];
		uint64_t b = m->hi[i] == UINT64_MAX ? max : m->hi[i];

		if ((a <= n && n <= b) || (b <= n && n <= a))
			return true;
	}
	return false;
}

static void
fuzz_seqset_check(const struct imap_seqset *set, const struct fuzz_model *m,
		  uint32_t n, uint32_t max)
{
	if (imap_seqset_contains(set, n, max) != fuzz_model_contains(m, n, max))
		abort();
}

static void
fuzz_seqset_all(const struct imap_seqset *set, const struct fuzz_model *m,
		uint32_t max)
{
	for (uint32_t n = 0; n <= 300 && n <= (uint64_t)max + 2; n++)
		fuzz_seqset_check(set, m, n, max);
	for (uint32_t d = 0; d < 3; d++) {
		fuzz_seqset_check(set, m, UINT32_MAX - d, max);
		fuzz_seqset_check(set, m, max - d, max);
		fuzz_seqset_check(set, m, max + d, max);
	}
	for (size_t i = 0; i < m->n && i < 64; i++) {
		uint64_t ends[2] = { m->lo[i] == UINT64_MAX ? max : m->lo[i],
				     m->hi[i] == UINT64_MAX ? max : m->hi[i] };

		for (int e = 0; e < 2; e++)
			for (int d = -1; d <= 1; d++)
				fuzz_seqset_check(set, m,
						  (uint32_t)(ends[e] + d), max);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_seqset set;
	struct fuzz_model m;
	uint32_t max;
	char *s;
	int mr, pr;

	if (size < 2)
		return 0;
	/* Small mailboxes mostly; with the top bit, near the 32-bit top. */
	max = (uint32_t)(data[0] & 0x7f) << 8 | data[1];
	if (data[0] & 0x80)
		max = UINT32_MAX - 1 - (max & 0xff);
	else
		max &= 0x3ff;
	size -= 2;
	s = malloc(size ? size : 1);
	if (s == NULL)
		return 0;
	memcpy(s, data + 2, size);
	mr = fuzz_model_parse(s, size, &m);
	pr = imap_seqset_parse(s, size, &set);
	if ((mr < 0) != (pr < 0))
		abort();
	if (pr == 0 && set.saved != (mr == 1))
		abort();
	if (pr == 0 && mr == 0 && m.n <= 64) {
		if (set.n != m.n)
			abort();
		fuzz_seqset_all(&set, &m, max);
		imap_seqset_normalize(&set, max);
		if (!set.normalized || set.n == 0 || set.n > m.n)
			abort();
		for (size_t i = 0; i < set.n; i++) {
			if (set.r[i].lo > set.r[i].hi ||
			    set.r[i].lo_star || set.r[i].hi_star ||
			    (i > 0 && set.r[i].lo <= set.r[i - 1].hi + 1ULL))
				abort();
		}
		fuzz_seqset_all(&set, &m, max);
	}
	imap_seqset_free(&set);
	free(s);
	return 0;
}
