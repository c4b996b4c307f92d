/*
 * Process-wide counters and their Prometheus rendering (metrics.h). The
 * counters are relaxed atomics: each is read on its own, and an exact
 * snapshot across series is not what a scraper needs.
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conn.h"
#include "conn_int.h"
#include "runtime_int.h"
#include "workers.h"

#define METRICS_REJECT_SLOTS 32

/* RFC 3463 enhanced codes are short ("5.7.1"); longer ones are cut. */
struct metrics_reject {
	int code;
	char enh[16];
	uint64_t n;
};

static const char *const login_reasons[] = {
	"credentials", "malformed", "authzid", "blocked", "busy",
	"unavailable", "other",
};
#define METRICS_LOGIN_REASONS                                          \
	(sizeof(login_reasons) / sizeof(login_reasons[0]))

/* Upper bounds of the histogram buckets (+Inf is implied). */
static const uint64_t batch_le[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256 };
static const char *const batch_le_s[] = { "1", "2", "4", "8", "16", "32",
					  "64", "128", "256" };
#define METRICS_BATCH_BUCKETS (sizeof(batch_le) / sizeof(batch_le[0]))
static const int64_t lat_le_us[] = { 500, 1000, 2500, 5000, 10000, 25000,
				     50000, 100000, 250000, 500000,
				     1000000 };
static const char *const lat_le_s[] = { "0.0005", "0.001", "0.0025",
					"0.005", "0.01", "0.025", "0.05",
					"0.1", "0.25", "0.5", "1" };
#define METRICS_LAT_BUCKETS (sizeof(lat_le_us) / sizeof(lat_le_us[0]))

struct metrics {
	const char *proto_names[PROTO_COUNT];
	_Atomic uint64_t counters[METRICS_COUNTER_COUNT];
	_Atomic uint64_t accepted[PROTO_COUNT];
	_Atomic uint64_t refused[PROTO_COUNT][2]; /* [limit, rate] */
	_Atomic uint64_t logins[PROTO_COUNT];
	_Atomic uint64_t login_fail[PROTO_COUNT][METRICS_LOGIN_REASONS];
	_Atomic uint64_t batch_bucket[METRICS_BATCH_BUCKETS + 1];
	_Atomic uint64_t batch_sum, batch_count;
	_Atomic uint64_t lat_bucket[METRICS_LAT_BUCKETS + 1];
	_Atomic uint64_t lat_sum_us;
	/* Loop thread only (smtp_reply). */
	struct metrics_reject rejects[METRICS_REJECT_SLOTS];
	uint64_t rejects_other;
	uint64_t queue[METRICS_QUEUE_COUNTS];
	time_t queue_when; /* 0: never counted */
};

/* The one instance (metrics.h: like the log, process-wide). */
static struct metrics metrics;

static inline void
metrics_add(_Atomic uint64_t *v, uint64_t n)
{
	atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

static inline uint64_t
metrics_get(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

void
metrics_set_proto_name(enum proto p, const char *name)
{
	if (p >= 0 && p < PROTO_COUNT)
		metrics.proto_names[p] = name;
}

void
metrics_inc(enum metrics_counter c)
{
	if (c >= 0 && c < METRICS_COUNTER_COUNT)
		metrics_add(&metrics.counters[c], 1);
}

void
metrics_conn_accepted(enum proto p)
{
	if (p >= 0 && p < PROTO_COUNT)
		metrics_add(&metrics.accepted[p], 1);
}

void
metrics_conn_refused(enum proto p, bool rate)
{
	if (p >= 0 && p < PROTO_COUNT)
		metrics_add(&metrics.refused[p][rate ? 1 : 0], 1);
}

static int
metrics_proto_index(const char *name)
{
	for (int p = 0; p < PROTO_COUNT; p++)
		if (metrics.proto_names[p] != NULL && name != NULL &&
		    strcmp(metrics.proto_names[p], name) == 0)
			return p;
	return -1;
}

void
metrics_login(const char *proto, bool ok, const char *reason)
{
	int p = metrics_proto_index(proto);
	size_t r = METRICS_LOGIN_REASONS - 1;

	if (p < 0)
		return;
	if (ok) {
		metrics_add(&metrics.logins[p], 1);
		return;
	}
	for (size_t i = 0; i + 1 < METRICS_LOGIN_REASONS; i++)
		if (reason != NULL && strcmp(reason, login_reasons[i]) == 0)
			r = i;
	metrics_add(&metrics.login_fail[p][r], 1);
}

void
metrics_smtp_reject(int code, const char *enh)
{
	const char *e = enh != NULL ? enh : "";

	for (size_t i = 0; i < METRICS_REJECT_SLOTS; i++) {
		struct metrics_reject *r = &metrics.rejects[i];

		if (r->code == 0) {
			r->code = code;
			snprintf(r->enh, sizeof(r->enh), "%s", e);
		}
		if (r->code == code && strncmp(r->enh, e, sizeof(r->enh) - 1)
		    == 0) {
			r->n++;
			return;
		}
	}
	metrics.rejects_other++;
}

void
metrics_commit_batch(size_t jobs, int64_t usec)
{
	size_t b = 0, l = 0;

	while (b < METRICS_BATCH_BUCKETS && jobs > batch_le[b])
		b++;
	while (l < METRICS_LAT_BUCKETS && usec > lat_le_us[l])
		l++;
	metrics_add(&metrics.batch_bucket[b], 1);
	metrics_add(&metrics.batch_sum, jobs);
	metrics_add(&metrics.batch_count, 1);
	metrics_add(&metrics.lat_bucket[l], 1);
	metrics_add(&metrics.lat_sum_us, usec > 0 ? (uint64_t)usec : 0);
}

void
metrics_queue_set(const uint64_t counts[METRICS_QUEUE_COUNTS], time_t now)
{
	memcpy(metrics.queue, counts, sizeof(metrics.queue));
	metrics.queue_when = now;
}

bool
metrics_queue_fresh(time_t now, int max_age_ms)
{
	return metrics.queue_when != 0 &&
	       (now - metrics.queue_when) * 1000 < max_age_ms;
}

static void
metrics_head(struct evbuffer *out, const char *name, const char *type,
	     const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
			    name, type);
}

/* One series per named protocol from an array indexed by enum proto. */
static void
metrics_per_proto(struct evbuffer *out, const char *name, const char *type,
		  const char *help, _Atomic uint64_t *v)
{
	metrics_head(out, name, type, help);
	for (int p = 0; p < PROTO_COUNT; p++)
		if (metrics.proto_names[p] != NULL)
			evbuffer_add_printf(out, "%s{protocol=\"%s\"} %llu\n",
					    name, metrics.proto_names[p],
					    (unsigned long long)metrics_get(
						    &v[p]));
}

static void
metrics_render_conns(struct server *srv, struct evbuffer *out)
{
	unsigned open[PROTO_COUNT] = { 0 };
	static const char *const why[2] = { "limit", "rate" };

	metrics_per_proto(out, "postel_connections_accepted_total", "counter",
			  "Connections accepted, by listener.",
			  metrics.accepted);
	metrics_head(out, "postel_connections_refused_total", "counter",
		     "Connections refused by a limit, by listener.");
	for (int p = 0; p < PROTO_COUNT; p++)
		for (int r = 0; r < 2 && metrics.proto_names[p] != NULL; r++)
			evbuffer_add_printf(
				out, "postel_connections_refused_total"
				"{protocol=\"%s\",reason=\"%s\"} %llu\n",
				metrics.proto_names[p], why[r],
				(unsigned long long)metrics_get(
					&metrics.refused[p][r]));
	for (struct conn *c = srv->reg->conns; c != NULL; c = c->next) {
		int p = metrics_proto_index(c->proto);

		if (p >= 0)
			open[p]++;
	}
	metrics_head(out, "postel_sessions_open", "gauge",
		     "Open client connections (one session each), by "
		     "listener.");
	for (int p = 0; p < PROTO_COUNT; p++)
		if (metrics.proto_names[p] != NULL)
			evbuffer_add_printf(out, "postel_sessions_open"
					    "{protocol=\"%s\"} %u\n",
					    metrics.proto_names[p], open[p]);
}

static void
metrics_render_logins(struct evbuffer *out)
{
	metrics_per_proto(out, "postel_logins_total", "counter",
			  "Successful logins, by listener.", metrics.logins);
	metrics_head(out, "postel_login_failures_total", "counter",
		     "Failed logins, by listener and reason.");
	for (int p = 0; p < PROTO_COUNT; p++)
		for (size_t r = 0; r < METRICS_LOGIN_REASONS &&
				   metrics.proto_names[p] != NULL; r++)
			evbuffer_add_printf(
				out, "postel_login_failures_total{protocol="
				"\"%s\",reason=\"%s\"} %llu\n",
				metrics.proto_names[p], login_reasons[r],
				(unsigned long long)metrics_get(
					&metrics.login_fail[p][r]));
}

static void
metrics_render_messages(struct evbuffer *out)
{
	static const struct {
		const char *name, *help;
		enum metrics_counter c;
	} rows[] = {
		{ "postel_messages_accepted_total",
		  "Messages accepted over SMTP (250 after the data).",
		  METRICS_MSG_ACCEPTED },
		{ "postel_messages_stored_total",
		  "Message copies delivered to local mailboxes.",
		  METRICS_MSG_STORED },
		{ "postel_http_requests_total", "HTTP requests answered.",
		  METRICS_HTTP_REQUESTS },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		metrics_head(out, rows[i].name, "counter", rows[i].help);
		evbuffer_add_printf(out, "%s %llu\n", rows[i].name,
				    (unsigned long long)metrics_get(
					    &metrics.counters[rows[i].c]));
	}
	metrics_head(out, "postel_queue_attempts_total", "counter",
		     "Outbound recipient attempts, by result.");
	evbuffer_add_printf(
		out, "postel_queue_attempts_total{result=\"sent\"} %llu\n"
		"postel_queue_attempts_total{result=\"bounced\"} %llu\n"
		"postel_queue_attempts_total{result=\"deferred\"} %llu\n",
		(unsigned long long)metrics_get(
			&metrics.counters[METRICS_QUEUE_SENT]),
		(unsigned long long)metrics_get(
			&metrics.counters[METRICS_QUEUE_BOUNCED]),
		(unsigned long long)metrics_get(
			&metrics.counters[METRICS_QUEUE_DEFERRED]));
	metrics_head(out, "postel_smtp_rejections_total", "counter",
		     "SMTP failure replies, by reply code and enhanced "
		     "status code (RFC 3463).");
	for (size_t i = 0; i < METRICS_REJECT_SLOTS; i++)
		if (metrics.rejects[i].code != 0)
			evbuffer_add_printf(
				out, "postel_smtp_rejections_total{code=\"%d\","
				"status=\"%s\"} %llu\n", metrics.rejects[i].code,
				metrics.rejects[i].enh,
				(unsigned long long)metrics.rejects[i].n);
	evbuffer_add_printf(out, "postel_smtp_rejections_total{code=\"other\","
			    "status=\"\"} %llu\n",
			    (unsigned long long)metrics.rejects_other);
}

static void
metrics_histogram(struct evbuffer *out, const char *name, const char *help,
		  const char *const *le, size_t n, _Atomic uint64_t *bucket,
		  double sum)
{
	uint64_t cum = 0;

	metrics_head(out, name, "histogram", help);
	for (size_t i = 0; i < n; i++) {
		cum += metrics_get(&bucket[i]);
		evbuffer_add_printf(out, "%s_bucket{le=\"%s\"} %llu\n", name,
				    le[i], (unsigned long long)cum);
	}
	cum += metrics_get(&bucket[n]);
	evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
			    "%s_count %llu\n", name, (unsigned long long)cum,
			    name, sum, name, (unsigned long long)cum);
}

static void
metrics_render_workers(struct server *srv, struct evbuffer *out)
{
	const struct {
		const char *pool;
		struct workers *w;
	} pools[] = {
		{ "store", srv->workers },
		{ "io", srv->io_workers },
		{ "auth", srv->auth_workers },
		{ "auth_lookup", srv->auth_lookup_workers },
	};

	metrics_head(out, "postel_worker_queue_depth", "gauge",
		     "Jobs waiting for a worker thread, by pool.");
	for (size_t i = 0; i < sizeof(pools) / sizeof(pools[0]); i++)
		if (pools[i].w != NULL)
			evbuffer_add_printf(out, "postel_worker_queue_depth"
					    "{pool=\"%s\"} %u\n", pools[i].pool,
					    workers_queued(pools[i].w));
}

static void
metrics_render_queue(struct evbuffer *out)
{
	static const char *const states[] = { "pending", "held", "sent",
					      "failed" };

	metrics_head(out, "postel_queue_recipients", "gauge",
		     "Outbound queue recipients, by state (counted at most "
		     "every few seconds).");
	for (size_t i = 0; i < 4; i++)
		evbuffer_add_printf(out, "postel_queue_recipients{state=\"%s\"}"
				    " %llu\n", states[i],
				    (unsigned long long)metrics.queue[i]);
	metrics_head(out, "postel_queue_messages", "gauge",
		     "Messages in the outbound queue.");
	evbuffer_add_printf(out, "postel_queue_messages %llu\n",
			    (unsigned long long)metrics.queue[4]);
}

/* When the default certificate expires, so an alert fires when ACME
 * renewal (or the administrator's) has been failing for too long. */
static void
metrics_render_tls(struct server *srv, struct evbuffer *out)
{
	X509 *x = srv->tls_ctx != NULL
		? SSL_CTX_get0_certificate(srv->tls_ctx) : NULL;
	struct tm tm;

	if (x == NULL || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return;
	metrics_head(out, "postel_tls_certificate_expiry_timestamp_seconds",
		     "gauge", "When the default certificate (cert/key, ACME's "
		     "or the self-signed one) expires, Unix time.");
	evbuffer_add_printf(out, "postel_tls_certificate_expiry_timestamp_"
			    "seconds %lld\n", (long long)timegm(&tm));
}

void
metrics_render(struct server *srv, struct evbuffer *out)
{
	metrics_render_conns(srv, out);
	metrics_render_logins(out);
	metrics_render_messages(out);
	metrics_histogram(out, "postel_commit_batch_jobs",
			  "Jobs per group-commit batch (one transaction and "
			  "one fsync round each).", batch_le_s,
			  METRICS_BATCH_BUCKETS, metrics.batch_bucket,
			  (double)metrics_get(&metrics.batch_sum));
	metrics_histogram(out, "postel_commit_batch_duration_seconds",
			  "Time of a group-commit batch, from its start to "
			  "its hand-off to the loop.", lat_le_s,
			  METRICS_LAT_BUCKETS, metrics.lat_bucket,
			  (double)metrics_get(&metrics.lat_sum_us) / 1e6);
	metrics_render_workers(srv, out);
	metrics_render_tls(srv, out);
	if (metrics.queue_when != 0)
		metrics_render_queue(out);
}
