/*
 * TLS-RPT for outbound mail (RFC 8460): the _smtp._tls TXT record, the
 * counting of each session's result per policy domain (kept in memory a
 * moment, then added to the store's tlsrpt_results, schema v7), and the
 * daily aggregate report (§4 JSON, gzipped, §5.3 mail) queued to the
 * domain's rua through our own queue.
 */
#ifndef POSTEL_TLSRPT_H
#define POSTEL_TLSRPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mta_sts.h"

struct config;
struct server;
struct store;
struct store_tlsrpt_row;
struct tlsrpt;

/* Addresses of a rua we keep (comma-separated, mailto: removed). */
#define TLSRPT_RUA_MAX 512
/* Counts held in memory before they go to the store regardless. */
#define TLSRPT_PENDING_MAX 1024

/* ---- Pure (tlsrpt_report.c) -------------------------------------- */

/* One TXT record's text (RFC 8460 §3): 1 a TLSRPTv1 record with at
 * least one mailto: address, those addresses into rua_r (comma-separated,
 * NUL-terminated); 0 not a TLSRPTv1 record, or one with only https:
 * URIs; -1 malformed. */
int tlsrpt_txt_parse(const char *txt, size_t len, char *rua_r,
		     size_t rualen);

/* The RFC 8460 §4.4 JSON report of one day and policy domain from its
 * rows (all with that day and domain). Returns a malloc'ed,
 * NUL-terminated text, or NULL when out of memory. */
char *tlsrpt_json(const struct store_tlsrpt_row *rows, size_t n,
		  const char *submitter, const char *report_id);

/* ---- Sending reports (tlsrpt_report.c; any thread) ------------------- */

/* Queues the report of every (day, domain) with day <= day_max in st:
 * the message file written, queued to the rua and the rows deleted in
 * one transaction each. *sent_r: reports queued. 0, or -1 (err). */
int tlsrpt_send_reports(const struct config *cfg, struct store *st,
			int64_t day_max, unsigned *sent_r, const char **err_r);
/* The start (unix seconds) of the UTC day holding t. */
int64_t tlsrpt_day(int64_t t);

/* ---- Counting on the loop (tlsrpt.c) --------------------------------- */

struct tlsrpt *tlsrpt_new(struct server *srv);
/* What is still in memory goes to the store first (a worker job that
 * the worker pool finishes before it stops). */
void tlsrpt_free(struct tlsrpt **tp);
/* One session (or policy fetch) result for domain, whose policy is a
 * (a fetch failure when a->fetch_fail) and rua its addresses. mx: the
 * MX host name, "" when none was reached. */
void tlsrpt_count(struct tlsrpt *t, const char *domain,
		  const struct mta_sts_answer *a, const char *rua,
		  const char *mx, enum mta_sts_result r);
/* The counts in memory to the store now (a worker job; drain). */
void tlsrpt_flush(struct tlsrpt *t);
/* Once a second (the queue's tick): counts to the store, and at the
 * turn of a UTC day the reports of the days before. */
void tlsrpt_tick(struct tlsrpt *t);

#endif
