/*
 * libFuzzer target for the SMTP DATA scanner (smtp_datascan.h), the framing
 * step of smtp_data.c. The input is fed whole, then split at every offset
 * (and one octet at a time), each time as the reader does: octets the step
 * did not use are offered again with the next ones. Every run must give the
 * same output, the same end and the same unused tail; and the unsplit run
 * must follow the policy, checked against a model written differently:
 * - the text ends exactly after the first CRLF "." CRLF of CRLF + input;
 * - the output has only CRLF line ends (no bare CR or LF);
 * - the output is the input up to there with every line end as CRLF and
 *   each line's leading "." dropped.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_datascan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Splitting at every offset is quadratic: beyond this, every 7th. */
#define FUZZ_DATA_ALL_SPLITS 1024

struct fuzz_out {
	char *p;
	size_t len, cap;
};

struct fuzz_run {
	struct fuzz_out out;
	bool done;
	size_t used; /* octets of the input consumed */
};

static void
fuzz_data_emit(void *arg, const char *p, size_t len, bool eol)
{
	struct fuzz_out *o = arg;

	if (eol) {
		if (p != NULL || len != 0)
			abort();
		p = "\r\n";
		len = 2;
	} else if (p == NULL || len == 0) {
		abort();
	}
	if (o->len + len > o->cap)
		abort(); /* the output can never be longer than 2 x input */
	memcpy(o->p + o->len, p, len);
	o->len += len;
}

/* Feeds data[0..size) in pieces ending at the cuts (ascending, the last
 * one size), as data_read does: the unused octets stay in front. */
static void
fuzz_data_feed(const uint8_t *data, size_t size, const size_t *cuts,
	       size_t n_cuts, struct fuzz_run *r)
{
	struct smtp_datascan st;
	size_t pos = 0;

	smtp_datascan_init(&st);
	r->out.len = 0;
	r->done = false;
	for (size_t c = 0; c < n_cuts && !r->done; c++) {
		/* Copy so ASan sees any read past what has "arrived". */
		size_t n = cuts[c] - pos;
		char *buf = malloc(n ? n : 1);
		size_t used;

		if (buf == NULL)
			abort();
		memcpy(buf, data + pos, n);
		used = smtp_datascan_step(&st, buf, n, &r->done,
					  fuzz_data_emit, &r->out);
		free(buf);
		if (used > n)
			abort();
		pos += used;
	}
	r->used = pos;
}

/* The policy, one octet at a time: returns the output length, with
 * *end_r the end of the text (0 when it does not end). */
static size_t
fuzz_data_model(const uint8_t *d, size_t n, char *out, size_t *end_r)
{
	size_t o = 0, i = 0;
	bool bol = true, after_crlf = true;

	*end_r = 0;
	while (i < n) {
		if (bol && d[i] == '.') {
			if (after_crlf && n - i >= 3 && d[i + 1] == '\r' &&
			    d[i + 2] == '\n') {
				*end_r = i + 3;
				return o;
			}
			/* Undecided yet: the reader waits, emits nothing. */
			if (after_crlf && (n - i < 2 ||
					   (n - i < 3 && d[i + 1] == '\r')))
				return o;
			i++;
			bol = false;
			continue;
		}
		bol = false;
		if (d[i] == '\r' && i + 1 == n)
			return o; /* CR or CRLF: undecided */
		if (d[i] == '\r' || d[i] == '\n') {
			after_crlf = d[i] == '\r' && d[i + 1] == '\n';
			i += after_crlf ? 2 : 1;
			out[o++] = '\r';
			out[o++] = '\n';
			bol = true;
			continue;
		}
		out[o++] = (char)d[i++];
	}
	return o;
}

/* The first CRLF "." CRLF of CRLF + input: where the text must end. */
static size_t
fuzz_data_first_end(const uint8_t *d, size_t n)
{
	if (n >= 3 && memcmp(d, ".\r\n", 3) == 0)
		return 3;
	for (size_t i = 0; i + 5 <= n; i++)
		if (memcmp(d + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

static void
fuzz_data_same(const struct fuzz_run *a, const struct fuzz_run *b)
{
	if (a->done != b->done || a->used != b->used ||
	    a->out.len != b->out.len ||
	    memcmp(a->out.p, b->out.p, a->out.len) != 0)
		abort();
}

static void
fuzz_data_policy(const uint8_t *data, size_t size, const struct fuzz_run *r)
{
	size_t end = fuzz_data_first_end(data, size), mend;
	char *model = malloc(2 * size + 1);
	size_t mlen;

	if (model == NULL)
		abort();
	if (r->done != (end != 0) || (r->done && r->used != end))
		abort();
	/* Not ended: all is used but a last CR, or a "." (with a CR) after
	 * CRLF that could still start the end. */
	if (!r->done && size - r->used > 2)
		abort();
	for (size_t i = 0; i < r->out.len; i++) {
		if (r->out.p[i] == '\r' &&
		    (i + 1 == r->out.len || r->out.p[i + 1] != '\n'))
			abort();
		if (r->out.p[i] == '\n' && (i == 0 || r->out.p[i - 1] != '\r'))
			abort();
	}
	mlen = fuzz_data_model(data, size, model, &mend);
	if (mend != end || mlen != r->out.len ||
	    memcmp(model, r->out.p, mlen) != 0)
		abort();
	free(model);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run whole, split;
	size_t cuts[3];
	size_t step = size <= FUZZ_DATA_ALL_SPLITS ? 1 : 7;

	whole.out.cap = split.out.cap = 2 * size;
	whole.out.p = malloc(whole.out.cap + 1);
	split.out.p = malloc(split.out.cap + 1);
	if (whole.out.p == NULL || split.out.p == NULL)
		abort();

	cuts[0] = size;
	fuzz_data_feed(data, size, cuts, 1, &whole);
	fuzz_data_policy(data, size, &whole);

	/* Two pieces, cut at every offset (and three, around it). */
	for (size_t k = 0; k <= size; k += step) {
		cuts[0] = k;
		cuts[1] = size;
		fuzz_data_feed(data, size, cuts, 2, &split);
		fuzz_data_same(&whole, &split);
		if (k + 1 < size) {
			cuts[1] = k + 1;
			cuts[2] = size;
			fuzz_data_feed(data, size, cuts, 3, &split);
			fuzz_data_same(&whole, &split);
		}
	}
	/* One octet at a time. */
	{
		size_t *one = malloc((size + 1) * sizeof(*one));

		if (one == NULL)
			abort();
		for (size_t i = 0; i < size; i++)
			one[i] = i + 1;
		fuzz_data_feed(data, size, one, size, &split);
		fuzz_data_same(&whole, &split);
		free(one);
	}
	free(whole.out.p);
	free(split.out.p);
	return 0;
}
