/*
 * SPF (RFC 7208): check_host() for a client address, a sender and a HELO
 * name, evaluated asynchronously over the in-loop resolver (dns.h), whose
 * cache keeps the answers. Loop thread only; the callback always runs
 * later from the loop, never inside spf_check_start.
 */
#ifndef POSTEL_SPF_H
#define POSTEL_SPF_H

#include <stdbool.h>

struct dns;
struct spf_check;

/* RFC 7208 §2.6, in this order (spf_result_name gives the RFC names). */
enum spf_result {
	SPF_NONE = 0,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/* RFC 7208 §4.6.4 */
#define SPF_LOOKUPS_MAX 10
#define SPF_VOID_LOOKUPS_MAX 2
#define SPF_MX_NAMES_MAX 10
#define SPF_PTR_NAMES_MAX 10
#define SPF_EXPLANATION_MAX 512

struct spf_request {
	const char *ip;        /* client address, text ("192.0.2.1", "::1") */
	const char *sender;    /* MAIL FROM address, "" for the null sender */
	const char *helo;      /* HELO/EHLO name */
	const char *receiver;  /* our host name (%{r} in explanations) */
	/* true: the HELO identity (RFC 7208 §2.3): postmaster@helo */
	bool helo_identity;
};

struct spf_outcome {
	enum spf_result result;
	char domain[256];      /* the domain checked (may be "") */
	/* fail only: the exp= explanation, expanded (RFC 7208 §6.2); "" */
	char explanation[SPF_EXPLANATION_MAX];
	char why[160];         /* what decided (mechanism, error), for logs */
};

typedef void (*spf_done_cb)(void *arg, const struct spf_outcome *o);

/* Starts check_host(). NULL when the result is known at once (initial
 * processing, RFC 7208 §4.3, or no query could start): *now_r holds it
 * and cb is not called. Else cb runs once, later, unless cancelled. */
struct spf_check *spf_check_start(struct dns *d, const struct spf_request *r,
				  spf_done_cb cb, void *arg,
				  struct spf_outcome *now_r);
/* Stops a check (its callback will not run); NULL: nothing. */
void spf_check_cancel(struct spf_check **cp);

const char *spf_result_name(enum spf_result r);

#endif
