/*
 * The mailboxes of a message's From: and Sender: fields, for the sender
 * check on submission. Pure: header bytes in, addresses out. The address
 * syntax is the MIME parser's (mime_addresses), the one IMAP's ENVELOPE
 * uses, so the check sees the addresses a mail reader shows.
 *
 * Why Sender: too: RFC 5322 §3.6.2 makes Sender: the mailbox of the agent
 * that actually transmitted the message, and readers show it ("on behalf
 * of"); on submission that agent is the authenticated user, so it must be
 * one of theirs like From:. A Sender: never excuses a foreign From:.
 */
#include <string.h>

#include "smtp_sender.h"
#include "../mime/mime.h"
#include "../util/str.h"

struct sender_parse {
	struct smtp_sender_hdr *r;
	enum smtp_sender_field field;
	size_t seen; /* mailboxes of the current field, duplicates too */
	enum smtp_sender_hdr_status status;
};

const char *
smtp_sender_field_name(enum smtp_sender_field f)
{
	return f == SMTP_SENDER_SENDER ? "Sender:" : "From:";
}

/* The mailbox as far as it fits, printable ASCII only (for a reply). */
static void
sender_bad(struct sender_parse *p, const char *local, size_t llen,
	   const char *domain, size_t dlen)
{
	char *b = p->r->bad;
	size_t n = 0, cap = sizeof(p->r->bad) - 1;

	for (size_t i = 0; i < llen + 1 + dlen && n < cap; i++) {
		unsigned char c = i < llen    ? (unsigned char)local[i]
				  : i == llen ? '@'
					      : (unsigned char)domain[i - llen - 1];

		if (i == llen && dlen == 0)
			break;
		b[n++] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	b[n] = '\0';
	p->r->bad_field = p->field;
	p->status = SMTP_SENDER_HDR_BAD_ADDR;
}

/* A local part that is one quoted string: its content, escapes undone
 * (RFC 5322 §3.2.4); anything else as written. Returns the length. */
static size_t
sender_unquote(const char *l, size_t len, char *out, size_t cap)
{
	size_t n = 0;

	if (len < 2 || l[0] != '"' || l[len - 1] != '"') {
		if (len > cap)
			return cap + 1;
		if (len > 0) /* an empty part may have no buffer at all */
			memcpy(out, l, len);
		return len;
	}
	for (size_t i = 1; i + 1 < len; i++) {
		if (l[i] == '"')
			return cap + 1; /* "a"b"c": not one quoted string */
		if (l[i] == '\\' && i + 2 < len)
			i++;
		if (n == cap)
			return cap + 1;
		out[n++] = l[i];
	}
	return n;
}

/* Control bytes (NUL, CR, LF from folding inside a quoted string...)
 * are in no address we host or grant. */
static bool
sender_has_ctl(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return true;
	return false;
}

/* A domain (or address literal) never holds these; the parser keeps a
 * broken quoted string at the end of the value in the domain. */
static bool
sender_bad_domain(const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr("@\"\\()<>,; ", d[i]) != NULL)
			return true;
	return false;
}

static int
sender_addr_cb(const char *local, size_t llen, const char *domain,
	       size_t dlen, void *arg)
{
	struct sender_parse *p = arg;
	struct smtp_sender_hdr *r = p->r;
	char a[LIMIT_ADDRESS + 1];
	size_t n;

	n = sender_unquote(local, llen, a, LIMIT_LOCALPART);
	if (n == 0 || n > LIMIT_LOCALPART || dlen == 0 || domain == NULL ||
	    dlen > LIMIT_DOMAIN || sender_has_ctl(a, n) ||
	    sender_has_ctl(domain, dlen) || sender_bad_domain(domain, dlen)) {
		sender_bad(p, local, llen, domain, dlen);
		return -1;
	}
	p->seen++;
	a[n++] = '@';
	memcpy(a + n, domain, dlen);
	n += dlen;
	a[n] = '\0';
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->addrs[i]) == n && str_ieq(r->addrs[i], n, a))
			return 0;
	if (r->n == SMTP_SENDER_ADDRS_MAX) {
		p->status = SMTP_SENDER_HDR_TOO_MANY;
		return -1;
	}
	memcpy(r->addrs[r->n], a, n + 1);
	r->field[r->n++] = p->field;
	return 0;
}

enum smtp_sender_hdr_status
smtp_sender_header_parse(const char *hdr, size_t len,
			 struct smtp_sender_hdr *r)
{
	struct sender_parse p = { .r = r, .status = SMTP_SENDER_HDR_OK };
	size_t hlen = mime_header_block_len(hdr, len), pos = 0, n_from = 0;
	struct mime_field f;

	r->n = 0;
	r->bad[0] = '\0';
	while (mime_next_field(hdr, hlen, &pos, &f) == 1) {
		if (str_ieq(f.name, f.name_len, "from"))
			p.field = SMTP_SENDER_FROM;
		else if (str_ieq(f.name, f.name_len, "sender"))
			p.field = SMTP_SENDER_SENDER;
		else
			continue;
		p.seen = 0;
		/* The address parser reads NUL as white space; a reader in C
		 * may stop there instead and show another address. */
		if (memchr(f.value, '\0', f.value_len) != NULL) {
			sender_bad(&p, f.value, f.value_len, NULL, 0);
			return p.status;
		}
		if (mime_addresses(f.value, f.value_len, sender_addr_cb, &p) < 0)
			return p.status != SMTP_SENDER_HDR_OK
				       ? p.status
				       : SMTP_SENDER_HDR_NO_MEMORY;
		/* RFC 5322 §3.6.2: From: is required. Several From: fields
		 * (invalid, but readers show one of them) are all checked. */
		if (p.field == SMTP_SENDER_FROM)
			n_from += p.seen > 0;
	}
	return n_from > 0 ? SMTP_SENDER_HDR_OK : SMTP_SENDER_HDR_NO_FROM;
}
