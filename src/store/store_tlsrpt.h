/*
 * TLS-RPT counts (RFC 8460) in the store (schema v7, tlsrpt_results):
 * the outbound queue adds its sessions' results per day, policy domain,
 * MX and result type; the daily report reads a day's rows and deletes
 * them in the transaction that queues the report.
 */
#ifndef POSTEL_STORE_TLSRPT_H
#define POSTEL_STORE_TLSRPT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One row. In a list (store_tlsrpt_list) every string is malloc'ed and
 * freed by store_tlsrpt_rows_free; to add, they are borrowed. */
struct store_tlsrpt_row {
	int64_t day;             /* unix seconds of the UTC day's start */
	char *domain;            /* policy domain */
	char *mx;                /* receiving MX, "" none */
	char *result;            /* RFC 8460 result type, "" success */
	int64_t count;
	char *policy_type;       /* "sts" */
	char *policy_string;     /* the policy's lines, LF-separated */
	char *rua;               /* mailto: addresses, comma-separated */
};

void store_tlsrpt_rows_free(struct store_tlsrpt_row *rows, size_t n);

/* Adds r->count to the row of (day, domain, mx, result), made when
 * missing; the policy and rua columns take r's. 0 or -1. */
static inline int
store_tlsrpt_add(struct store *st, const struct store_tlsrpt_row *r,
		 const char **err_r)
{
	return st->ops->tlsrpt_add(st, r, err_r);
}

/* Every row of days <= day_max, by day, domain, mx, result. 0 or -1. */
static inline int
store_tlsrpt_list(struct store *st, int64_t day_max,
		  struct store_tlsrpt_row **rows_r, size_t *n_r,
		  const char **err_r)
{
	return st->ops->tlsrpt_list(st, day_max, rows_r, n_r, err_r);
}

/* Deletes the rows of one day and domain (its report is queued). */
static inline int
store_tlsrpt_delete(struct store *st, int64_t day, const char *domain,
		    const char **err_r)
{
	return st->ops->tlsrpt_delete(st, day, domain, err_r);
}

#endif
