/*
 * libFuzzer target for the SMTP client's reply parser
 * (src/queue/smtpc_reply.h). The input is split into lines at LF (a CR
 * before it dropped, as the client's line reader does) and fed until a
 * reply completes or is refused, again and again. Besides "no crash" it
 * checks the parser's promises: a complete reply has a code of 200..599,
 * a status "C.S.D" whose class agrees with the code, text that is
 * printable ASCII and NUL-terminated, and the line text inside the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/smtpc_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_smtpc_check(const struct smtpc_reply *r)
{
	size_t tl = strnlen(r->text, sizeof(r->text));

	if (r->code < 200 || r->code > 599 || tl >= sizeof(r->text))
		abort();
	if (strnlen(r->status, sizeof(r->status)) >= sizeof(r->status) ||
	    r->status[1] != '.')
		abort();
	if (r->code >= 400 && r->status[0] - '0' != r->code / 100)
		abort();
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)r->text[i] < 0x20 ||
		    (unsigned char)r->text[i] >= 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct smtpc_reply_state st;
	struct smtpc_reply r;

	smtpc_reply_begin(&st, &r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *t;
		size_t tl;
		int rc;

		if (n > 0 && p[n - 1] == '\r')
			n--;
		rc = smtpc_reply_line(&st, p, n, &t, &tl);
		if (rc >= 0 && (t < p || t + tl > p + n))
			abort();
		if (rc == 1)
			fuzz_smtpc_check(&r);
		if (rc != 0)
			smtpc_reply_begin(&st, &r);
		p = nl ? nl + 1 : end;
	}
	return 0;
}
