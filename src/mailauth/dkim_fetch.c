/*
 * Key records over the in-loop resolver, all at once: the fetch DKIM's
 * and ARC's verifiers share (dkim_int.h). Each answer's key record is
 * the TXT record holding "p=" (others may share the name); libunbound
 * and dns.c cache the answers.
 */
#include <stdlib.h>
#include <string.h>

#include "../dns/dns.h"
#include "dkim_int.h"

struct dkim_fetch_one {
	struct dkim_fetch *f;
	size_t k;
	struct dns_query *q;
};

struct dkim_fetch {
	dkim_fetch_key_cb key;
	void (*done)(void *arg);
	void *arg;
	size_t pending;
	size_t n;
	struct dkim_fetch_one one[];
};

/* The key record among a TXT answer's records: its length in txt, or -1
 * (none, or the lookup failed: *tempfail_r says whether for now). */
static int
dkim_answer_key(const struct dns_answer *a, char *txt, size_t cap,
		bool *tempfail_r)
{
	*tempfail_r = a->status == DNS_TEMPFAIL;
	for (size_t r = 0; a->status == DNS_OK && r < a->n; r++) {
		int n = dns_txt_text(a->rdata[r], a->len[r], txt, cap);

		if (n > 0 && strstr(txt, "p=") != NULL)
			return n;
	}
	return -1;
}

static void
dkim_fetch_answer_cb(void *arg, const struct dns_answer *a)
{
	struct dkim_fetch_one *o = arg;
	struct dkim_fetch *f = o->f;
	char *txt = malloc(DKIM_KEY_TXT_MAX);
	bool tempfail = true;
	int n = txt != NULL ? dkim_answer_key(a, txt, DKIM_KEY_TXT_MAX,
					      &tempfail) : -1;

	o->q = NULL;
	f->key(f->arg, o->k, n > 0 ? txt : NULL, n > 0 ? (size_t)n : 0,
	       tempfail);
	free(txt);
	if (--f->pending == 0) {
		void (*done)(void *) = f->done;
		void *darg = f->arg;

		free(f);
		done(darg);
	}
}

int
dkim_fetch_start(struct dns *d, const char *const *names, size_t n,
		 dkim_fetch_key_cb key, void (*done)(void *arg), void *arg,
		 struct dkim_fetch **f_r)
{
	struct dkim_fetch *f;

	*f_r = NULL;
	if (d == NULL) {
		/* No resolver: every lookup fails for now. */
		for (size_t k = 0; k < n; k++)
			if (names[k] != NULL)
				key(arg, k, NULL, 0, true);
		return 1;
	}
	f = calloc(1, sizeof(*f) + n * sizeof(f->one[0]));
	if (f == NULL)
		return -1;
	f->key = key;
	f->done = done;
	f->arg = arg;
	f->n = n;
	for (size_t k = 0; k < n; k++) {
		struct dkim_fetch_one *o = &f->one[k];

		if (names[k] == NULL)
			continue;
		o->f = f;
		o->k = k;
		/* Answers come from the loop's next turns, never from
		 * inside dns_lookup (dns.c defers even a cached one). */
		o->q = dns_lookup(d, names[k], 16, dkim_fetch_answer_cb, o);
		if (o->q == NULL)
			key(arg, k, NULL, 0, true);
		else
			f->pending++;
	}
	if (f->pending == 0) {
		free(f);
		return 1;
	}
	*f_r = f;
	return 0;
}

void
dkim_fetch_cancel(struct dkim_fetch **fp)
{
	struct dkim_fetch *f = *fp;

	if (f == NULL)
		return;
	for (size_t k = 0; k < f->n; k++)
		if (f->one[k].q != NULL)
			dns_cancel(f->one[k].q);
	free(f);
	*fp = NULL;
}
