/*
 * Sequence sets (RFC 9051 §9 sequence-set, §6.4.8 UID sets) and the saved
 * search result "$" (RFC 5182 §2.1).
 */
#include "imap_parse.h"

#include <stdlib.h>
#include <string.h>

/* RFC 9051 §9 seq-number = nz-number / "*"; nz-number has no leading zero
 * and fits 32 bits. Returns the octets used, 0 when malformed. */
static size_t
imap_seq_number(const char *s, size_t len, uint32_t *n_r, bool *star_r)
{
	uint64_t n = 0;
	size_t i = 0;

	*star_r = len > 0 && s[0] == '*';
	if (*star_r) {
		*n_r = 0;
		return 1;
	}
	if (len == 0 || s[0] < '1' || s[0] > '9')
		return 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		n = n * 10 + (uint64_t)(s[i] - '0');
		if (n > UINT32_MAX)
			return 0;
		i++;
	}
	*n_r = (uint32_t)n;
	return i;
}

/* One seq-number or seq-range; returns octets used or 0. */
static size_t
imap_seq_range(const char *s, size_t len, struct imap_range *r)
{
	size_t used = imap_seq_number(s, len, &r->lo, &r->lo_star);

	if (used == 0)
		return 0;
	r->hi = r->lo;
	r->hi_star = r->lo_star;
	if (used < len && s[used] == ':') {
		size_t more = imap_seq_number(s + used + 1, len - used - 1,
					      &r->hi, &r->hi_star);
		if (more == 0)
			return 0;
		used += 1 + more;
	}
	if (!r->lo_star && !r->hi_star && r->lo > r->hi) {
		uint32_t t = r->lo;
		r->lo = r->hi;
		r->hi = t;
	}
	return used;
}

int
imap_seqset_parse(const char *s, size_t len, struct imap_seqset *set)
{
	size_t n = 1, i = 0, k = 0;

	memset(set, 0, sizeof(*set));
	if (len == 1 && s[0] == '$') {
		set->saved = true;
		return 0;
	}
	if (len == 0)
		return -1;
	for (size_t j = 0; j < len; j++)
		n += s[j] == ',';
	set->r = calloc(n, sizeof(*set->r));
	if (set->r == NULL)
		return -1;
	for (;;) {
		size_t used = imap_seq_range(s + i, len - i, &set->r[k]);

		if (used == 0)
			break;
		k++;
		i += used;
		if (i == len) {
			set->n = k;
			return 0;
		}
		if (s[i] != ',' || k == n)
			break;
		i++;
	}
	imap_seqset_free(set);
	return -1;
}

void
imap_seqset_free(struct imap_seqset *set)
{
	if (set == NULL)
		return;
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

/* RFC 9051 §9: "*" is the largest number in use, and a range holds
 * everything between its ends whichever is larger ("4:*" with 3 messages
 * is 3:4). */
void
imap_range_bounds(const struct imap_range *r, uint32_t max, uint32_t *lo_r,
		  uint32_t *hi_r)
{
	uint32_t lo = r->lo_star ? max : r->lo;
	uint32_t hi = r->hi_star ? max : r->hi;

	*lo_r = lo < hi ? lo : hi;
	*hi_r = lo < hi ? hi : lo;
}

static int
imap_range_cmp(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;

	return (x->lo > y->lo) - (x->lo < y->lo);
}

void
imap_seqset_normalize(struct imap_seqset *set, uint32_t max)
{
	size_t out = 0;

	if (set->saved || set->n == 0)
		return;
	for (size_t i = 0; i < set->n; i++) {
		imap_range_bounds(&set->r[i], max, &set->r[i].lo,
				  &set->r[i].hi);
		set->r[i].lo_star = set->r[i].hi_star = false;
	}
	qsort(set->r, set->n, sizeof(set->r[0]), imap_range_cmp);
	for (size_t i = 1; i < set->n; i++) {
		if (set->r[i].lo <= set->r[out].hi ||
		    set->r[i].lo - set->r[out].hi == 1) {
			if (set->r[i].hi > set->r[out].hi)
				set->r[out].hi = set->r[i].hi;
		} else {
			set->r[++out] = set->r[i];
		}
	}
	set->n = out + 1;
	set->normalized = true;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
		     uint32_t max)
{
	/* "$" must be replaced by the session's saved result first. */
	if (set == NULL || set->saved || n == 0)
		return false;
	if (set->normalized) {
		size_t lo = 0, hi = set->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (n < set->r[mid].lo)
				hi = mid;
			else if (n > set->r[mid].hi)
				lo = mid + 1;
			else
				return true;
		}
		return false;
	}
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo, hi;

		imap_range_bounds(&set->r[i], max, &lo, &hi);
		if (n >= lo && n <= hi)
			return true;
	}
	return false;
}
