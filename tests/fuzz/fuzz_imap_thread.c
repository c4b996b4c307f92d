/*
 * libFuzzer target for THREAD (imap_thread.c, RFC 5256): the input is a
 * list of message headers separated by NUL octets; both algorithms must
 * thread them without a crash or leak, and every message must appear in
 * the answer exactly once, inside balanced parentheses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_search.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_THREAD_MSGS 64

static void
fuzz_thread_check(const struct buf *b, size_t n)
{
	unsigned char seen[FUZZ_THREAD_MSGS + 1] = {0};
	const char *p = (const char *)b->data;
	long depth = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (p[i] == '(') {
			depth++;
		} else if (p[i] == ')') {
			if (--depth < 0)
				abort();
		} else if (p[i] >= '1' && p[i] <= '9') {
			unsigned long v = strtoul(p + i, NULL, 10);

			if (v == 0 || v > n || seen[v]++ || depth == 0)
				abort();
			while (i + 1 < b->len && p[i + 1] >= '0' &&
			       p[i + 1] <= '9')
				i++;
		} else if (p[i] != ' ') {
			abort();
		}
	}
	if (depth != 0)
		abort();
	for (size_t v = 1; v <= n; v++)
		if (!seen[v])
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_search_msg m[FUZZ_THREAD_MSGS];
	char *copy = malloc(size + 1);
	size_t n = 0, start = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t i = 0; i <= size && n < FUZZ_THREAD_MSGS; i++) {
		if (i < size && copy[i] != '\0')
			continue;
		memset(&m[n], 0, sizeof(m[n]));
		m[n].seq = m[n].uid = (uint32_t)n + 1;
		m[n].internaldate = (int64_t)n * 60;
		m[n].data = copy + start;
		m[n].len = i - start;
		n++;
		start = i + 1;
	}
	for (int alg = 0; alg < 2; alg++) {
		struct buf b;

		buf_init(&b, 1 << 20);
		if (imap_thread_build((enum imap_thread_alg)alg, m, n, false,
				      &b) == 0)
			fuzz_thread_check(&b, n);
		buf_fini(&b);
	}
	free(copy);
	return 0;
}
