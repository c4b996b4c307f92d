/*
 * SASL mechanisms PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login),
 * decoding only: verifying the password is passwd.c's job, on a worker.
 */
#ifndef POSTEL_SASL_H
#define POSTEL_SASL_H

#include <stddef.h>

#include "../core/limits.h"

#define SASL_PASS_MAX 1024

enum sasl_mech { SASL_MECH_UNKNOWN = 0, SASL_MECH_PLAIN, SASL_MECH_LOGIN };

struct sasl_creds {
	char authzid[LIMIT_ADDRESS + 1];
	char user[LIMIT_ADDRESS + 1];
	char pass[SASL_PASS_MAX + 1];
};

enum sasl_mech sasl_mech_parse(const char *name, size_t len);
/* Decodes a base64 PLAIN response "authzid\0authcid\0passwd". 0 ok, -1
 * malformed (bad base64, missing NULs, empty user or password, a NUL
 * inside a field, fields too long). An authzid different from the user is
 * accepted here; the caller refuses it (we do not support proxy auth). */
int sasl_plain_decode(const char *b64, size_t len, struct sasl_creds *c);
/* Decodes one base64 LOGIN step into out (NUL-terminated, no NUL inside).
 * 0 ok, -1 malformed or longer than outcap - 1. */
int sasl_login_decode(const char *b64, size_t len, char *out, size_t outcap);
/* Wipes the password. */
void sasl_creds_clear(struct sasl_creds *c);

#endif
