/*
 * search_speed: the cost of evaluating one IMAP SEARCH (RFC 9051 section
 * 6.4.4) over one 4 KB message in memory: SUBJECT "load" AND BODY "needle
 * not present" (a body key that must read the whole text). Prints
 * "search_speed rounds=N msg_bytes=B us_per_message=U" -- a figure, never a
 * pass/fail (tests/unit/test_imap_search.c checks the result only).
 * Build and run: bench/search_speed.sh (links the release objects).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap/imap_search.h"

#define SPEED_ROUNDS_DEFAULT 20000
#define SPEED_ROUNDS_MAX 10000000

int
main(int argc, char **argv)
{
	/* "lorem ipsum dolor sit amet Ünïcödé" in UTF-8 */
	static const char line[] = "lorem ipsum dolor sit amet \xc3\x9c" "n"
				   "\xc3\xaf" "c" "\xc3\xb6" "d" "\xc3\xa9\r\n";
	static char body[4096];
	struct imap_search_node subj, text, and;
	struct imap_search_msg m;
	struct timespec a, b;
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : SPEED_ROUNDS_DEFAULT;
	size_t n;
	int hits = 0;

	if (rounds < 1 || rounds > SPEED_ROUNDS_MAX) {
		fprintf(stderr, "usage: search_speed [rounds 1..%d]\n",
			SPEED_ROUNDS_MAX);
		return 2;
	}
	n = (size_t)snprintf(body, sizeof(body),
			     "From: x@example.com\r\nSubject: load test\r\n"
			     "Content-Type: text/plain; charset=utf-8\r\n\r\n");
	while (n + strlen(line) < sizeof(body)) {
		memcpy(body + n, line, strlen(line));
		n += strlen(line);
	}
	body[n] = '\0';
	memset(&subj, 0, sizeof(subj));
	memset(&text, 0, sizeof(text));
	memset(&and, 0, sizeof(and));
	subj.key = IMAP_SK_SUBJECT;
	subj.str = (char *)"load";
	text.key = IMAP_SK_BODY;
	text.str = (char *)"needle not present";
	subj.next = &text;
	and.key = IMAP_SK_AND;
	and.a = &subj;
	memset(&m, 0, sizeof(m));
	m.seq = m.uid = 1;
	m.modseq = 1;
	m.internaldate = 1767225600;
	m.data = body;
	m.len = n;
	m.size = (int64_t)n;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < rounds; i++)
		hits += imap_search_match(&and, &m, 1, 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("search_speed rounds=%ld msg_bytes=%zu hits=%d us_per_message=%.2f\n",
	       rounds, n, hits,
	       ((double)(b.tv_sec - a.tv_sec) * 1e6 +
		(double)(b.tv_nsec - a.tv_nsec) / 1e3) / (double)rounds);
	return hits == 0 ? 0 : 1;
}
