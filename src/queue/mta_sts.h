/*
 * MTA-STS for outbound mail (RFC 8461): the pure parts (the TXT record,
 * the policy file, the HTTP response that carries it, MX pattern
 * matching), the per-domain lookup with its cache (memory, and files in
 * data_dir/mta-sts/ so a restart keeps every policy for its max_age), and
 * what a destination does with the result (queue_dest.c's hook).
 */
#ifndef POSTEL_MTA_STS_H
#define POSTEL_MTA_STS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct mta_sts;
struct mta_sts_req;

/* RFC 8461 §3.2: a policy file at most this long (also our fetch limit:
 * "senders SHOULD impose a limit on the response size", §3.3). */
#define MTA_STS_POLICY_MAX (64 * 1024)
/* mx lines we keep (a real policy has a handful). */
#define MTA_STS_MX_MAX 16
/* RFC 8461 §3.2: max_age at most 31557600 (one year). */
#define MTA_STS_MAX_AGE_MAX 31557600
/* RFC 8461 §3.1: id is 1*32(ALPHA / DIGIT). */
#define MTA_STS_ID_MAX 32
/* Head of the HTTP response (status line and fields). */
#define MTA_STS_HTTP_HEAD_MAX (16 * 1024)

enum mta_sts_mode {
	MTA_STS_NONE = 0,      /* no policy, or mode none */
	MTA_STS_TESTING,
	MTA_STS_ENFORCE,
};

struct mta_sts_policy {
	enum mta_sts_mode mode;
	uint32_t max_age;
	size_t n_mx;
	char mx[MTA_STS_MX_MAX][256];   /* lower-case; "*.x.y" wildcards */
};

/* RFC 8460 §4.3 result types we report (also the index of the counts
 * kept per policy domain; 0 is a success). */
enum mta_sts_result {
	MTA_STS_OK = 0,
	MTA_STS_STARTTLS_NOT_SUPPORTED,
	MTA_STS_CERT_HOST_MISMATCH,
	MTA_STS_CERT_EXPIRED,
	MTA_STS_CERT_NOT_TRUSTED,
	MTA_STS_VALIDATION_FAILURE,
	MTA_STS_POLICY_FETCH_ERROR,
	MTA_STS_POLICY_INVALID,
	MTA_STS_WEBPKI_INVALID,
	MTA_STS_RESULT_COUNT,
};
/* "starttls-not-supported", ... ("" for MTA_STS_OK). */
const char *mta_sts_result_name(enum mta_sts_result r);

/* ---- Pure parsers (mta_sts_parse.c; fuzzed by fuzz_mta_sts.c) ---- */

/* One TXT record's text (RFC 8461 §3.1): 1 an STSv1 record, its id into
 * id_r (NUL-terminated, MTA_STS_ID_MAX + 1 octets); 0 not an STSv1
 * record (other TXT at the name); -1 an STSv1 record that is malformed. */
int mta_sts_txt_parse(const char *txt, size_t len, char *id_r);

/* The policy file (RFC 8461 §3.2): 0 valid, *p filled; -1 invalid (why
 * in err): no or wrong version, unknown mode, no mx for enforce or
 * testing, max_age missing or out of range. Unknown fields are ignored;
 * of a repeated field other than mx the first counts. */
int mta_sts_policy_parse(const char *text, size_t len,
			 struct mta_sts_policy *p, char *err, size_t errlen);

/* Does MX host name (no final dot) match an mx pattern of p? RFC 8461
 * §4.1: exact, or "*." matching exactly one leftmost label;
 * case-insensitive. */
bool mta_sts_mx_match(const struct mta_sts_policy *p, const char *host);

/* The policy back as text (for the cache file). Returns the length, or
 * -1 when out does not hold it. */
int mta_sts_policy_format(const struct mta_sts_policy *p, char *out,
			  size_t outlen);

/* The head of an HTTP/1.x response at the front of buf: 1 complete
 * (*status_r, *head_len_r, *clen_r: Content-Length or -1 when absent,
 * *text_plain_r: Content-Type is text/plain); 0 incomplete; -1
 * malformed, over MTA_STS_HTTP_HEAD_MAX, or chunked (we ask HTTP/1.0). */
int mta_sts_http_head(const char *buf, size_t len, int *status_r,
		      size_t *head_len_r, int64_t *clen_r,
		      bool *text_plain_r);

/* ---- The cache and lookups (mta_sts.c, loop thread) ------------------ */

/* What a destination gets: the policy in force (mode NONE: none) and,
 * when the policy could not be had, the failure to report. */
struct mta_sts_answer {
	struct mta_sts_policy policy;
	char id[MTA_STS_ID_MAX + 1];     /* the policy's id ("" none) */
	enum mta_sts_result fetch_fail;  /* MTA_STS_OK when none */
	char why[160];                   /* for the log */
};

typedef void (*mta_sts_cb)(void *arg, const struct mta_sts_answer *a);

/* Loads the cache files (start-up, before the loop runs). NULL when out
 * of memory. */
struct mta_sts *mta_sts_new(struct server *srv);
/* Cancels every lookup in flight (callbacks never run). */
void mta_sts_free(struct mta_sts **sp);
/* The policy of domain: its _mta-sts TXT record, then the cached policy
 * when the id is the same and max_age not over, else a fetch over HTTPS.
 * cb runs later from the loop, never inside this call. NULL when it
 * cannot start (cb not called). */
struct mta_sts_req *mta_sts_lookup(struct mta_sts *s, const char *domain,
				   mta_sts_cb cb, void *arg);
void mta_sts_cancel(struct mta_sts_req *r);

/* ---- The HTTPS fetch (mta_sts_fetch.c) ------------------------------- */

struct mta_sts_fetch;
/* body: the policy text (len octets), NULL on failure with fail and why
 * set. Runs from the loop. */
typedef void (*mta_sts_fetch_cb)(void *arg, const char *body, size_t len,
				 enum mta_sts_result fail, const char *why);
/* GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt: no redirects,
 * MTA_STS_POLICY_MAX octets, mta_sts_fetch_timeout seconds, the
 * certificate verified for the host name (RFC 8461 §3.3). NULL when it
 * cannot start. */
struct mta_sts_fetch *mta_sts_fetch_start(struct server *srv,
					  const char *domain,
					  mta_sts_fetch_cb cb, void *arg);
void mta_sts_fetch_cancel(struct mta_sts_fetch *f);

#endif
