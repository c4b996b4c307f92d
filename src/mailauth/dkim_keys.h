/*
 * DKIM key management on disk (dkim_keys.c): postel dkim generate, list,
 * rotate, remove, and the records `postel dns` prints.
 */
#ifndef POSTEL_DKIM_KEYS_H
#define POSTEL_DKIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "dkim.h"

/* Makes an Ed25519 and an RSA-2048 key under a new dated selector pair
 * and makes them the active pair. rotate false: the domain must have no
 * keys yet; true: it must have some (the old ones are kept). gid: the
 * service user's group when run as root (files root:gid 0640), or -1
 * (files 0600 of the caller). ed_r and rsa_r (DKIM_SELECTOR_MAX + 1)
 * get the selectors. 0, or -1 with *why_r. */
int dkim_keys_generate(const char *data_dir, const char *domain, bool rotate,
		       gid_t gid, time_t now, char *ed_r, char *rsa_r,
		       const char **why_r);

struct dkim_keyinfo {
	char domain[DKIM_DOMAIN_MAX + 1];
	char selector[DKIM_SELECTOR_MAX + 1];
	bool active;          /* signs now */
	bool ed25519;         /* else RSA */
	unsigned bits;
	time_t created;
	char txt[1024];       /* the TXT record to publish, "" unreadable */
};

/* Every selector of domain (NULL: of all domains), by domain then newest
 * first; *v_r malloc'ed (free()). 0 or -1. */
int dkim_keys_list(const char *data_dir, const char *domain,
		   struct dkim_keyinfo **v_r, size_t *n_r);

/* Deletes a selector that is not active. 0, or -1 with *why_r. */
int dkim_keys_remove(const char *data_dir, const char *domain,
		     const char *selector, const char **why_r);

#endif
