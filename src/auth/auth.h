/*
 * Login for SMTP AUTH, POP3 and IMAP: looks the account up and verifies the
 * password on a worker thread, then reports on the loop thread. Protocol
 * sessions own the failure counting and delays (limits.h).
 */
#ifndef POSTEL_AUTH_H
#define POSTEL_AUTH_H

#include <stdint.h>

struct server;

enum auth_result {
	AUTH_OK = 0,
	AUTH_FAILED,   /* unknown user or wrong password: same answer */
	AUTH_TEMPFAIL, /* store unavailable */
};

/* On the loop thread. account_id and address (canonical "local@domain")
 * are valid only when result is AUTH_OK. */
typedef void (*auth_done_cb)(void *arg, enum auth_result result,
			     int64_t account_id, const char *address);

/* Copies user and pass (then wipes its copy after use). The callback always
 * runs exactly once, later, on the loop thread; the caller keeps arg alive
 * (hold a reference) until then. */
void auth_verify_async(struct server *srv, const char *user, const char *pass,
		       auth_done_cb cb, void *arg);

#endif
