/*
 * Password hashing with libxcrypt: yescrypt for new hashes; any hash crypt(3)
 * knows (sha512-crypt, bcrypt, ...) verifies, so accounts can be migrated
 * from Dovecot or system files. Deliberately slow: call only on a worker.
 */
#ifndef POSTEL_PASSWD_H
#define POSTEL_PASSWD_H

#include <stdbool.h>
#include <stddef.h>

/* Writes a new salted yescrypt hash of password into out (outlen >= 256).
 * 0 or -1. */
int passwd_hash(const char *password, char *out, size_t outlen);
/* true when password matches hash. A NULL or empty hash still costs one
 * hash computation (against a fixed dummy) so that unknown users and wrong
 * passwords take the same time, then returns false. */
bool passwd_verify(const char *password, const char *hash);

#endif
