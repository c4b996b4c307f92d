/*
 * The key helper: a small process forked as root before the privilege drop
 * that keeps root only to read the configured certificate and key files
 * again when the server reloads them (SIGHUP), so a root-only key (the
 * Let's Encrypt layout, root:root 0600) can be reloaded while the server
 * itself can never open it.
 *
 * Protocol on a socketpair, one request at a time: the server sends the
 * byte 'R'; the helper answers 0x00, u32 length, certificate PEM, u32
 * length, key PEM; or 0x01, u32 length, an error text. Lengths are in
 * network order and at most SAFEPATH_PEM_MAX (texts KEYHELPER_ERR_MAX).
 * The helper never takes a path or anything else from the server: the
 * paths are fixed when it is forked. It exits when the socket closes or on
 * any other byte.
 */
#ifndef POSTEL_KEYHELPER_H
#define POSTEL_KEYHELPER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct keyhelper;

#define KEYHELPER_ERR_MAX 512
/* The helper has this long to answer before the reload is given up. */
#define KEYHELPER_TIMEOUT_S 10

/* Called on the loop with the PEM bytes (borrowed, wiped after the call)
 * or, when cert is NULL, with an error text. */
typedef void (*keyhelper_cb)(void *arg, const char *cert, size_t cert_len,
			     const char *key, size_t key_len,
			     const char *err);

/* One answer, parsed: cert/key point into the parsed bytes. */
struct keyhelper_reply {
	bool is_err;
	char err[KEYHELPER_ERR_MAX + 1];
	const char *cert, *key;
	size_t cert_len, key_len;
};
/* Pure parser of the helper's answer (fuzzed): 1 a whole answer in r,
 * 0 need more bytes, -1 malformed (unknown status, length over its
 * maximum). Bytes after the answer are not looked at. */
int keyhelper_parse_reply(const unsigned char *b, size_t len,
			  struct keyhelper_reply *r);

/* Forks the helper (call as root, before any thread is started). NULL with
 * err on failure. */
struct keyhelper *keyhelper_start(const char *cert_path, const char *key_path,
				  char *err, size_t errlen);
/* Asks for the files; cb runs later on the loop of `base`, never waiting
 * on it (non-blocking socket, KEYHELPER_TIMEOUT_S bound). -1 with err when
 * a request is already in flight or the helper is gone. */
int keyhelper_fetch(struct keyhelper *kh, struct event_base *base,
		    keyhelper_cb cb, void *arg, char *err, size_t errlen);
/* Closes the socket (the helper exits) and reaps it. */
void keyhelper_free(struct keyhelper **khp);

#endif
