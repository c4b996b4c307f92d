/*
 * libFuzzer target for the DSN builder: the input is split into a
 * diagnostic, an address and the original message; no crash or leak,
 * every line of the result ends in CRLF and is at most 998 octets (RFC
 * 5322 §2.1.1), and no value opens a header line of its own.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the next piece (up to a 0xff octet). */
static char *
fuzz_dsn_piece(const uint8_t **p, size_t *left)
{
	const uint8_t *end = memchr(*p, 0xff, *left);
	size_t n = end != NULL ? (size_t)(end - *p) : *left;
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n < *left ? n + 1 : n;
	*left -= n < *left ? n + 1 : n;
	return s;
}

/* Where the returned original starts (the first of the two part headers
 * we write for it): its own lines may say anything. */
static size_t
fuzz_dsn_third(const struct buf *b)
{
	static const char *const marks[] = {
	    "\r\nContent-Description: Undelivered Message\r\n",
	    "\r\nContent-Description: Message Headers\r\n"};
	size_t first = b->len;

	for (size_t i = 0; i < 2; i++) {
		const uint8_t *m =
		    memmem(b->data, b->len, marks[i], strlen(marks[i]));

		if (m != NULL && (size_t)(m - b->data) < first)
			first = (size_t)(m - b->data);
	}
	if (first == b->len)
		abort();
	return first;
}

static void
fuzz_dsn_check(const struct buf *b)
{
	size_t col = 0, third = fuzz_dsn_third(b);

	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\r') {
			if (i + 1 >= b->len || b->data[i + 1] != '\n')
				abort();
			i++;
			col = 0;
			if (i < third && i + 9 < b->len &&
			    memcmp(b->data + i + 1, "Injected:", 9) == 0)
				abort();
			continue;
		}
		if (b->data[i] == '\n' || ++col > 998)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t left = size;
	char *diag = fuzz_dsn_piece(&p, &left);
	char *addr = fuzz_dsn_piece(&p, &left);
	struct dsn_info info = {"mx.example.test",
	                        diag,
	                        addr,
	                        "postmaster@mx.example.test",
	                        "QID",
	                        1700000000,
	                        (enum store_ret)(size % 3),
	                        size % 5 == 0,
	                        1700003600};
	struct dsn_rcpt r = {
	    addr,       diag,      (enum store_queue_notice)(size % 5),
	    diag,       diag,      diag,
	    1700000000, 1700400000};
	struct buf out;

	buf_init(&out, 1 << 24);
	if (dsn_build(&info, &r, 1, (const char *)p, left, size % 7 * 64,
	              &out) == 0)
		fuzz_dsn_check(&out);
	buf_fini(&out);
	free(diag);
	free(addr);
	return 0;
}
