/*
 * SRS on the SMTP server (smtp_srs.h). The secret is the server's, read
 * at start (srv->srs_secret); the SRS domain is srs_domain, or the
 * domain of the alias that forwards (its MX is ours, so bounces come
 * back here).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/config.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "../mailauth/srs.h"
#include "../store/store.h"
#include "smtp_int.h"
#include "smtp_srs.h"

bool
smtp_forward_domain(const struct smtp_tx *tx, char *out, size_t cap)
{
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		const struct smtp_rcpt *r = &tx->rcpts[i];
		const char *at = strrchr(r->addr, '@');
		size_t o = 0;

		if (r->n_remote == 0 || at == NULL)
			continue;
		for (at++; *at != '\0' && o + 1 < cap; at++)
			out[o++] = (char)tolower((unsigned char)*at);
		out[o] = '\0';
		return o > 0;
	}
	return false;
}

static bool
srs_on(const struct smtp_session *s)
{
	return s->base.srv->cfg.srs && s->base.srv->srs_ready;
}

int
smtp_srs_rcpt(struct smtp_session *s, const char *addr, bool not_hosted,
	      char ***remote_r)
{
	const char *at = strrchr(addr, '@');
	const char *srs_domain = s->base.srv->cfg.srs_domain;
	char orig[LIMIT_ADDRESS + 1];
	const char *why = NULL;
	char **v;
	int rc;

	if (!srs_on(s) || at == NULL || !srs_is_srs(addr))
		return 0;
	/* Another domain's SRS address is not ours to reverse. */
	if (not_hosted && strcasecmp(at + 1, srs_domain) != 0)
		return 0;
	rc = srs_reverse(s->base.srv->srs_secret, addr, time(NULL), orig,
			 sizeof(orig), &why);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		log_info(s->base.id, "srs_refused", " to=%s reason=%s",
			 log_qs(addr), log_qs(why));
		smtp_reply(s, 550, "5.1.1", "<%s>: Recipient address "
			   "rejected: %s", addr, why);
		return -1;
	}
	v = calloc(2, sizeof(*v));
	if (v == NULL || (v[0] = strdup(orig)) == NULL) {
		free(v);
		smtp_reply(s, 452, "4.3.1", "Out of memory");
		return -1;
	}
	log_info(s->base.id, "srs_reverse", " to=%s orig=%s", log_qs(addr),
		 log_qs(orig));
	*remote_r = v;
	return 1;
}

void
smtp_srs_sender(struct smtp_session *s, char *out, size_t cap)
{
	const struct smtp_tx *tx = s->tx;
	char domain[256];
	const char *srs_domain = s->base.srv->cfg.srs_domain;

	out[0] = '\0';
	/* Our users' mail keeps its sender (their domain's SPF is ours);
	 * so does the null sender, which nothing bounces to. */
	if (!srs_on(s) || s->proto != PROTO_SMTP || s->authed ||
	    tx->from[0] == '\0' ||
	    !smtp_forward_domain(tx, domain, sizeof(domain)))
		return;
	if (srs_domain[0] == '\0')
		srs_domain = domain;
	if (srs_forward(s->base.srv->srs_secret, tx->from, srs_domain,
			time(NULL), out, cap) < 0) {
		log_info(s->base.id, "srs_unrewritten", " msg=%s from=%s "
			 "reason=%s", tx->msgid, log_qs(tx->from),
			 log_qs("SRS address too long"));
		out[0] = '\0';
	}
}

const char *
smtp_srs_choose(struct store *st, const char *from, const char *srs)
{
	const char *at = strrchr(from, '@');
	char domain[256];
	size_t o = 0;

	if (srs[0] == '\0' || at == NULL)
		return from;
	for (at++; *at != '\0' && o + 1 < sizeof(domain); at++)
		domain[o++] = (char)tolower((unsigned char)*at);
	domain[o] = '\0';
	return store_domain_exists(st, domain) == 1 ? from : srs;
}
