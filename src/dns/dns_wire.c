/*
 * Pure parsers of the rdata libunbound hands back: domain names, MX, TXT
 * and PTR records. libunbound returns rdata uncompressed (RFC 1035 §4.1.4
 * pointers resolved), so a pointer byte here is malformed input.
 */
#include <stdio.h>
#include <string.h>

#include "dns_int.h"

/* RFC 1035 §2.3.4: labels of at most 63 octets, names of 255 on the
 * wire (253 characters of text). */
#define DNS_LABEL_MAX 63
#define DNS_NAME_WIRE_MAX 255
#define DNS_NAME_TEXT_MAX 253

static bool
dns_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Appends one label byte to out[*o..outlen); -1 when full. */
static int
dns_wire_put(unsigned char c, char *out, size_t outlen, size_t *o)
{
	char esc[8];
	size_t n = 1;

	if (dns_host_char(c)) {
		esc[0] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	} else {
		snprintf(esc, sizeof(esc), "\\%03u", (unsigned)c);
		n = 4;
	}
	if (*o + n >= outlen)
		return -1;
	memcpy(out + *o, esc, n);
	*o += n;
	return 0;
}

int
dns_wire_name(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (outlen == 0)
		return -1;
	for (;;) {
		size_t l;

		if (i >= len || i >= DNS_NAME_WIRE_MAX)
			return -1;
		l = p[i++];
		if (l == 0)
			break;
		if (l > DNS_LABEL_MAX || l > len - i)
			return -1;
		if (o > 0) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = '.';
		}
		for (size_t k = 0; k < l; k++)
			if (dns_wire_put(p[i + k], out, outlen, &o) < 0)
				return -1;
		i += l;
	}
	out[o] = '\0';
	return (int)i;
}

int
dns_wire_mx(const unsigned char *p, size_t len, unsigned *pref_r,
	    char *host, size_t hostlen)
{
	int n;

	if (len < 3)
		return -1;
	*pref_r = ((unsigned)p[0] << 8) | p[1];
	n = dns_wire_name(p + 2, len - 2, host, hostlen);
	/* The name must fill the rdata exactly. */
	if (n < 0 || (size_t)n != len - 2)
		return -1;
	return 0;
}

int
dns_txt_text(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	if (outlen == 0)
		return -1;
	/* RFC 1035 §3.3.14: one or more <character-string>s, each a length
	 * octet then that many octets. SPF (RFC 7208 §3.3) and DKIM (RFC
	 * 6376 §3.6.2.2) read them joined with nothing between. */
	if (len == 0)
		return -1;
	while (i < len) {
		size_t n = p[i++];

		if (n > len - i || n >= outlen - o)
			return -1;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return (int)o;
}

int
dns_ptr_name(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	int n = dns_wire_name(p, len, out, outlen);

	return n < 0 || (size_t)n != len ? -1 : 0;
}

bool
dns_name_ok(const char *name)
{
	size_t total = strlen(name), label = 0;

	if (total == 0 || total > DNS_NAME_TEXT_MAX)
		return false;
	for (size_t i = 0; i <= total; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > DNS_LABEL_MAX)
				return false;
			label = 0;
		} else if (dns_host_char(c)) {
			label++;
		} else {
			return false;
		}
	}
	return true;
}
