/*
 * libFuzzer target for the submission sender check's header parser
 * (smtp_sender_header_parse): no crash or leak on any header; every
 * address it returns is "local@domain" with both parts non-empty and
 * within the limits, free of NUL and line breaks; at most
 * SMTP_SENDER_ADDRS_MAX, all distinct; a refused mailbox text is
 * printable ASCII.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_sender.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_sender_check_addr(const char *a)
{
	const char *at = strrchr(a, '@');
	size_t len = strlen(a);

	if (at == NULL || at == a || at[1] == '\0' || len > LIMIT_ADDRESS ||
	    strpbrk(a, "\r\n") != NULL)
		abort();
	if (strlen(at + 1) > LIMIT_DOMAIN)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smtp_sender_hdr h;
	enum smtp_sender_hdr_status st;

	st = smtp_sender_header_parse((const char *)data, size, &h);
	if (h.n > SMTP_SENDER_ADDRS_MAX)
		abort();
	for (size_t i = 0; i < h.n; i++) {
		fuzz_sender_check_addr(h.addrs[i]);
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(h.addrs[i], h.addrs[k]) == 0)
				abort();
	}
	if (st == SMTP_SENDER_HDR_OK && h.n == 0)
		abort();
	if (st == SMTP_SENDER_HDR_BAD_ADDR)
		for (const char *p = h.bad; *p != '\0'; p++)
			if (*p <= 0x20 || *p >= 0x7f)
				abort();
	return 0;
}
