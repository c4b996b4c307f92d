/*
 * xtext (RFC 3461 §4): the encoding of DSN's ENVID and ORCPT values on the
 * SMTP wire. Printable ASCII 33..126 stands for itself except "+" and
 * "=", every other octet is "+" followed by two upper-case hex digits.
 */
#ifndef POSTEL_XTEXT_H
#define POSTEL_XTEXT_H

#include <stddef.h>

/* Decodes n octets of xtext into out (cap octets with its NUL). -1 when
 * the input is not xtext (an octet outside 33..126, "=", a "+" without
 * two upper-case hex digits, a decoded NUL) or does not fit. */
int xtext_decode(const char *in, size_t n, char *out, size_t cap);

/* Encodes the NUL-terminated in into out (cap octets with its NUL); -1
 * when it does not fit. At most 3 octets per input octet. */
int xtext_encode(const char *in, char *out, size_t cap);

#endif
