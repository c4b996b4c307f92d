/* Configuration defaults, config file and --listen parsing. */
#include "config_file.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/iprate.h"
#include "../core/limits.h"
#include "../core/log.h"
#include "../util/str.h"
#include "protocols.h"

/* Names and default ports: the protocol table (protocols.h). */
const char *
config_proto_name(enum proto p)
{
	return (p >= 0 && p < PROTO_COUNT) ? protocols[p].name : "?";
}

static void
default_data_dir(struct config *cfg, bool as_root)
{
	const char *home = getenv("HOME");

	if (as_root || home == NULL || *home == '\0')
		str_lcpy(cfg->data_dir, "/var/lib/postel", sizeof(cfg->data_dir));
	else
		snprintf(cfg->data_dir, sizeof(cfg->data_dir),
			 "%s/.local/share/postel", home);
}

void
config_defaults(struct config *cfg, bool as_root)
{
	memset(cfg, 0, sizeof(*cfg));
	if (gethostname(cfg->hostname, sizeof(cfg->hostname) - 1) < 0 ||
	    cfg->hostname[0] == '\0')
		str_lcpy(cfg->hostname, "localhost", sizeof(cfg->hostname));
	default_data_dir(cfg, as_root);
	str_lcpy(cfg->run_user, "postel", sizeof(cfg->run_user));
	str_lcpy(cfg->store_url, "sqlite", sizeof(cfg->store_url));
	cfg->log_level = LOG_INFO;
	str_lcpy(cfg->log_target, "stderr", sizeof(cfg->log_target));
	for (int p = 0; p < PROTO_COUNT; p++) {
		if (protocols[p].opt_in)
			continue;
		struct config_listen *l = &cfg->listeners[cfg->n_listeners++];
		l->proto = (enum proto)p;
		str_lcpy(l->addr, "0.0.0.0", sizeof(l->addr));
		l->port = as_root ? protocols[p].port_root
				  : protocols[p].port_user;
	}
	cfg->max_message_size = LIMIT_MESSAGE_SIZE_DEFAULT;
	cfg->max_rcpts = LIMIT_SMTP_RCPTS_DEFAULT;
	cfg->smtp_cmd_timeout = LIMIT_SMTP_CMD_TIMEOUT_DEFAULT;
	cfg->smtp_data_timeout = LIMIT_SMTP_DATA_TIMEOUT_DEFAULT;
	cfg->pop3_timeout = LIMIT_POP3_TIMEOUT_DEFAULT;
	cfg->imap_timeout = LIMIT_IMAP_TIMEOUT_DEFAULT;
	cfg->max_connections = LIMIT_CONNECTIONS_DEFAULT;
	cfg->max_connections_per_ip = LIMIT_CONNECTIONS_PER_IP_DEFAULT;
	cfg->max_auth_failures = LIMIT_AUTH_FAILURES_DEFAULT;
	cfg->auth_fail_delay_ms = LIMIT_AUTH_FAIL_DELAY_MS;
	cfg->worker_threads = 4;
	cfg->auth_cache_ttl = CONFIG_AUTH_CACHE_TTL_DEFAULT;
	cfg->sender_check = true;
	cfg->quota_default = LIMIT_QUOTA_DEFAULT;
	cfg->min_free_disk = LIMIT_MIN_FREE_DISK_DEFAULT;
	str_lcpy(cfg->tls_min_version, "TLSv1.2", sizeof(cfg->tls_min_version));
	str_lcpy(cfg->tls_ciphers, CONFIG_TLS_CIPHERS_DEFAULT,
		 sizeof(cfg->tls_ciphers));
	str_lcpy(cfg->tls_ciphersuites, CONFIG_TLS_CIPHERSUITES_DEFAULT,
		 sizeof(cfg->tls_ciphersuites));
	cfg->tls_ticket_rotation = CONFIG_TLS_TICKET_ROTATION_DEFAULT;
	cfg->tls_handshake_timeout = CONFIG_TLS_HANDSHAKE_TIMEOUT_DEFAULT;
	cfg->command_deadline = LIMIT_COMMAND_DEADLINE_DEFAULT;
	cfg->smtp_data_min_rate = LIMIT_SMTP_DATA_MIN_RATE_DEFAULT;
	cfg->smtp_data_grace = LIMIT_SMTP_DATA_GRACE_DEFAULT;
	cfg->preauth_timeout = LIMIT_PREAUTH_TIMEOUT_DEFAULT;
	cfg->max_connection_rate_per_ip = LIMIT_CONNECTION_RATE_PER_IP_DEFAULT;
	/* Webmail and local tools open a connection per request. */
	str_lcpy(cfg->connection_rate_exempt, "127.0.0.0/8 ::1",
		 sizeof(cfg->connection_rate_exempt));
	cfg->auth_block_failures = LIMIT_AUTH_BLOCK_FAILURES;
	cfg->auth_fail_window = LIMIT_AUTH_FAIL_WINDOW;
	cfg->auth_block_time = LIMIT_AUTH_BLOCK_TIME;
	cfg->auth_fail_delay_max_ms = LIMIT_AUTH_FAIL_DELAY_MAX_MS;
	cfg->auth_queue_max = LIMIT_AUTH_QUEUE_MAX;
	cfg->smtp_max_bad_rcpts = LIMIT_SMTP_BAD_RCPTS;
	cfg->smtp_bad_rcpt_limit = LIMIT_SMTP_BAD_RCPT_LIMIT;
	cfg->smtp_bad_rcpt_delay_ms = LIMIT_SMTP_BAD_RCPT_DELAY_MS;
	str_lcpy(cfg->dnssec_trust_anchor, CONFIG_DNSSEC_TRUST_ANCHOR_DEFAULT,
		 sizeof(cfg->dnssec_trust_anchor));
	cfg->queue_delivery = true;
	cfg->dkim_sign = true;
	cfg->spf = true;
	cfg->dmarc = true;
	cfg->dmarc_enforce = true;
	cfg->arc = true;
	cfg->srs = true;
	cfg->retry_min = CONFIG_RETRY_MIN_DEFAULT;
	cfg->retry_max = CONFIG_RETRY_MAX_DEFAULT;
	cfg->queue_lifetime = CONFIG_QUEUE_LIFETIME_DEFAULT;
	cfg->delay_warning = CONFIG_DELAY_WARNING_DEFAULT;
	cfg->queue_concurrency = CONFIG_QUEUE_CONCURRENCY_DEFAULT;
	cfg->queue_dest_concurrency = CONFIG_QUEUE_DEST_CONCURRENCY_DEFAULT;
	cfg->queue_rcpts_per_tx = CONFIG_QUEUE_RCPTS_PER_TX_DEFAULT;
	cfg->smtp_client_connect_timeout = CONFIG_SMTP_CLIENT_CONNECT_TIMEOUT;
	cfg->smtp_client_timeout = CONFIG_SMTP_CLIENT_TIMEOUT;
	cfg->mta_sts_fetch_timeout = CONFIG_MTA_STS_FETCH_TIMEOUT_DEFAULT;
	cfg->mta_sts_fetch_port = 443;
	cfg->http_timeout = CONFIG_HTTP_TIMEOUT_DEFAULT;
	cfg->http_request_deadline = CONFIG_HTTP_REQUEST_DEADLINE_DEFAULT;
	str_lcpy(cfg->metrics_allow, "127.0.0.0/8 ::1",
		 sizeof(cfg->metrics_allow));
	cfg->mta_sts_mode = CONFIG_STS_TESTING;
	cfg->mta_sts_max_age = CONFIG_MTA_STS_MAX_AGE_DEFAULT;
	str_lcpy(cfg->acme_directory, CONFIG_ACME_DIRECTORY_DEFAULT,
		 sizeof(cfg->acme_directory));
	cfg->acme_renew_before = CONFIG_ACME_RENEW_BEFORE_DEFAULT;
	cfg->acme_check_interval = CONFIG_ACME_CHECK_INTERVAL_DEFAULT;
	cfg->acme_retry_interval = CONFIG_ACME_RETRY_INTERVAL_DEFAULT;
}

void
config_finish(struct config *cfg)
{
	if (cfg->cert_path[0] == '\0')
		snprintf(cfg->cert_path, sizeof(cfg->cert_path),
			 "%s/tls/cert.pem", cfg->data_dir);
	if (cfg->key_path[0] == '\0')
		snprintf(cfg->key_path, sizeof(cfg->key_path),
			 "%s/tls/key.pem", cfg->data_dir);
	/* A listen line without a port: the protocol's default. */
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].port == 0)
			cfg->listeners[i].port =
				geteuid() == 0
					? protocols[cfg->listeners[i].proto].port_root
					: protocols[cfg->listeners[i].proto].port_user;
}

static int
parse_proto(const char *s, size_t len, enum proto *p)
{
	for (int i = 0; i < PROTO_COUNT; i++)
		if (strlen(protocols[i].name) == len &&
		    strncmp(s, protocols[i].name, len) == 0) {
			*p = (enum proto)i;
			return 0;
		}
	return -1;
}

/* ADDR:PORT where ADDR is IPv4 or [IPv6]. */
static int
parse_addr_port(const char *s, struct config_listen *out, char *err,
		size_t errlen)
{
	const char *colon;
	size_t alen;
	const char *a = s;
	long long port;
	unsigned char tmp[16];

	/* A bare address (IPv4, or [IPv6]: without brackets its last group
	 * would read as a port): port 0, the protocol's default
	 * (config_finish). */
	alen = strlen(s);
	if (*s == '[' && alen > 2 && s[alen - 1] == ']') {
		a = s + 1;
		alen -= 2;
	} else if (strchr(s, ':') != NULL) {
		alen = sizeof(out->addr);
	}
	if (alen < sizeof(out->addr)) {
		memcpy(out->addr, a, alen);
		out->addr[alen] = '\0';
		if (inet_pton(AF_INET, out->addr, tmp) == 1 ||
		    inet_pton(AF_INET6, out->addr, tmp) == 1) {
			out->port = 0;
			return 0;
		}
	}
	a = s;
	if (*s == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			goto bad;
		a = s + 1;
		alen = (size_t)(rb - a);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			goto bad;
		alen = (size_t)(colon - s);
	}
	if (alen == 0 || alen >= sizeof(out->addr))
		goto bad;
	memcpy(out->addr, a, alen);
	out->addr[alen] = '\0';
	if (inet_pton(AF_INET, out->addr, tmp) != 1 &&
	    inet_pton(AF_INET6, out->addr, tmp) != 1)
		goto bad;
	if (str_tonum(colon + 1, 1, 65535, &port) < 0)
		goto bad;
	out->port = (int)port;
	return 0;
bad:
	snprintf(err, errlen, "bad listen address '%s' (want ADDR:PORT, "
		 "[IPv6]:PORT)", s);
	return -1;
}

int
config_parse_listen(const char *spec, struct config_listen *out, char *err,
		    size_t errlen)
{
	size_t plen = strcspn(spec, "= ");

	if (spec[plen] == '\0' || parse_proto(spec, plen, &out->proto) < 0) {
		snprintf(err, errlen, "bad listener '%s' (want PROTO=ADDR:PORT, "
			 "PROTO one of smtp submission submissions pop3 pop3s "
			 "imap imaps http https)",
			 spec);
		return -1;
	}
	spec += plen;
	while (*spec == '=' || *spec == ' ')
		spec++;
	return parse_addr_port(spec, out, err, errlen);
}

/* How a key's value is read and stored. */
enum config_type {
	CONFIG_T_STR,      /* char[size], copied whole or refused */
	CONFIG_T_INT,      /* int in [min, max] */
	CONFIG_T_UNS,      /* unsigned in [min, max] */
	CONFIG_T_SIZE_T,   /* size_t in [min, max] */
	CONFIG_T_OCTETS,   /* uint64_t, octets with a K/M/G/T suffix */
	CONFIG_T_YESNO,    /* bool from "yes" / "no" */
	CONFIG_T_LOGLEVEL, /* int from log_level_parse */
	CONFIG_T_LOGTARGET,/* char[size] that log_target_parse accepts */
	CONFIG_T_PREFIXES, /* char[size] of addresses and ADDR/LEN prefixes */
	CONFIG_T_TLSVER,   /* char[size]: "TLSv1.2" or "TLSv1.3" */
	CONFIG_T_LISTEN,   /* a listener: the first replaces the defaults */
	CONFIG_T_RESOLVER, /* resolver = ADDR[:PORT], repeatable */
	CONFIG_T_TLSPOLICY,/* tls_policy = DOMAIN MODE, repeatable */
	CONFIG_T_STSMODE,  /* int from enforce / testing / none */
};

/* One row per key: its name, type, the field of struct config it sets
 * and its bounds. A numeric limit whose range starts at 0 is off at 0. */
struct config_key {
	const char *name;
	enum config_type type;
	size_t offset;
	size_t size;          /* of the field (CONFIG_T_STR etc.) */
	long long min, max;   /* numeric types */
};

#define F(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define KSTR(k, f) { k, CONFIG_T_STR, F(f), 0, 0 }
#define KINT(k, lo, hi, f) { k, CONFIG_T_INT, F(f), lo, hi }
#define KUNS(k, lo, hi, f) { k, CONFIG_T_UNS, F(f), lo, hi }
#define KSIZE(k, lo, hi, f) { k, CONFIG_T_SIZE_T, F(f), lo, hi }
#define KTYPE(k, t, f) { k, t, F(f), 0, 0 }

static const struct config_key config_keys[] = {
	KSTR("hostname", hostname),
	KSTR("data_dir", data_dir),
	KSTR("cert", cert_path),
	KSTR("key", key_path),
	KSTR("user", run_user),
	KSTR("store", store_url),
	{ "listen", CONFIG_T_LISTEN, 0, 0, 0, 0 },
	KSIZE("max_message_size", 1024, 1LL << 31, max_message_size),
	KUNS("max_recipients", 1, 100000, max_rcpts),
	KINT("smtp_command_timeout", 1, 86400, smtp_cmd_timeout),
	KINT("smtp_data_timeout", 1, 86400, smtp_data_timeout),
	KINT("pop3_timeout", 1, 86400, pop3_timeout),
	KUNS("max_connections", 1, 1000000, max_connections),
	KUNS("max_connections_per_ip", 1, 1000000, max_connections_per_ip),
	KUNS("max_auth_failures", 1, 1000, max_auth_failures),
	KINT("auth_fail_delay_ms", 0, 60000, auth_fail_delay_ms),
	KINT("worker_threads", 1, 64, worker_threads),
	KINT("imap_timeout", 1, 86400, imap_timeout),
	KINT("auth_cache_ttl", 0, 86400, auth_cache_ttl),
	KUNS("auth_block_failures", 0, 100000, auth_block_failures),
	KINT("auth_fail_window", 1, 86400, auth_fail_window),
	KINT("auth_block_time", 0, 86400, auth_block_time),
	KINT("auth_fail_delay_max_ms", 0, 600000, auth_fail_delay_max_ms),
	KUNS("auth_queue_max", 1, 100000, auth_queue_max),
	KUNS("smtp_max_bad_rcpts", 0, 100000, smtp_max_bad_rcpts),
	KUNS("smtp_bad_rcpt_limit", 1, 100000, smtp_bad_rcpt_limit),
	KINT("smtp_bad_rcpt_delay_ms", 0, 600000, smtp_bad_rcpt_delay_ms),
	KINT("command_deadline", 0, 86400, command_deadline),
	KINT("smtp_data_min_rate", 0, 1 << 30, smtp_data_min_rate),
	KINT("smtp_data_grace", 1, 86400, smtp_data_grace),
	KINT("preauth_timeout", 0, 86400, preauth_timeout),
	KINT("max_connection_rate_per_ip", 0, 1000000,
	     max_connection_rate_per_ip),
	KINT("tls_ticket_rotation", 0, 7 * 86400, tls_ticket_rotation),
	KINT("tls_handshake_timeout", 1, 3600, tls_handshake_timeout),
	KTYPE("connection_rate_exempt", CONFIG_T_PREFIXES,
	      connection_rate_exempt),
	/* Octets below 2^62, so any sum with a usage stays in range. */
	KTYPE("quota_default", CONFIG_T_OCTETS, quota_default),
	KTYPE("min_free_disk", CONFIG_T_OCTETS, min_free_disk),
	KTYPE("log_level", CONFIG_T_LOGLEVEL, log_level),
	KTYPE("log", CONFIG_T_LOGTARGET, log_target),
	KTYPE("sender_check", CONFIG_T_YESNO, sender_check),
	/* Values OpenSSL parses (cipher lists) are checked when the context
	 * is built. */
	KTYPE("tls_min_version", CONFIG_T_TLSVER, tls_min_version),
	KSTR("tls_ciphers", tls_ciphers),
	KSTR("tls_ciphersuites", tls_ciphersuites),
	/* Outbound: DNS, queue, SMTP client. */
	{ "resolver", CONFIG_T_RESOLVER, 0, 0, 0, 0 },
	KSTR("dnssec_trust_anchor", dnssec_trust_anchor),
	KSTR("tls_ca_file", tls_ca_file),
	KTYPE("queue_delivery", CONFIG_T_YESNO, queue_delivery),
	KTYPE("dkim_sign", CONFIG_T_YESNO, dkim_sign),
	KTYPE("spf", CONFIG_T_YESNO, spf),
	KTYPE("dmarc", CONFIG_T_YESNO, dmarc),
	KTYPE("dmarc_enforce", CONFIG_T_YESNO, dmarc_enforce),
	KTYPE("arc", CONFIG_T_YESNO, arc),
	KTYPE("srs", CONFIG_T_YESNO, srs),
	KSTR("srs_domain", srs_domain),
	KSTR("arc_trusted_sealers", arc_trusted_sealers),
	KINT("retry_min", 1, 86400, retry_min),
	KINT("retry_max", 1, 7 * 86400, retry_max),
	KINT("queue_lifetime", 1, 60 * 86400, queue_lifetime),
	KINT("delay_warning", 0, 60 * 86400, delay_warning),
	KUNS("queue_concurrency", 1, 10000, queue_concurrency),
	KUNS("queue_destination_concurrency", 1, 1000,
	     queue_dest_concurrency),
	KUNS("queue_recipients_per_transaction", 1, 1000, queue_rcpts_per_tx),
	KINT("smtp_client_connect_timeout", 1, 3600,
	     smtp_client_connect_timeout),
	KINT("smtp_client_timeout", 1, 3600, smtp_client_timeout),
	KSTR("relayhost", relayhost),
	KSTR("relayhost_auth_file", relayhost_auth_file),
	{ "tls_policy", CONFIG_T_TLSPOLICY, 0, 0, 0, 0 },
	/* HTTP endpoint. */
	KINT("http_timeout", 1, 86400, http_timeout),
	KINT("http_request_deadline", 1, 3600, http_request_deadline),
	KTYPE("metrics_allow", CONFIG_T_PREFIXES, metrics_allow),
	KSTR("metrics_token", metrics_token),
	KTYPE("mta_sts_mode", CONFIG_T_STSMODE, mta_sts_mode),
	KINT("mta_sts_max_age", 0, 31557600, mta_sts_max_age),
	KSTR("mta_sts_mx", mta_sts_mx),
	/* Certificates: ACME, SNI; self-service passwords. */
	KTYPE("acme", CONFIG_T_YESNO, acme),
	KSTR("acme_directory", acme_directory),
	KSTR("acme_email", acme_email),
	KSTR("acme_ca_file", acme_ca_file),
	KINT("acme_renew_before", 0, 20 * 31557600, acme_renew_before),
	KINT("acme_check_interval", 1, 7 * 86400, acme_check_interval),
	KINT("acme_retry_interval", 1, 7 * 86400, acme_retry_interval),
	KSTR("tls_sni_dir", tls_sni_dir),
	KTYPE("user_password_change", CONFIG_T_YESNO, user_password_change),
	KINT("mta_sts_fetch_timeout", 1, 600, mta_sts_fetch_timeout),
	KINT("mta_sts_fetch_port", 1, 65535, mta_sts_fetch_port),
};

#undef F
#undef KSTR
#undef KINT
#undef KUNS
#undef KSIZE
#undef KTYPE

/* A number in the key's range into its int, unsigned or size_t field. */
static int
config_set_number(const struct config_key *k, void *field, const char *val,
		  char *err, size_t errlen)
{
	long long v;

	if (str_tonum(val, k->min, k->max, &v) < 0) {
		snprintf(err, errlen, "%s must be a number from %lld to %lld",
			 k->name, k->min, k->max);
		return -1;
	}
	if (k->type == CONFIG_T_INT)
		*(int *)field = (int)v;
	else if (k->type == CONFIG_T_UNS)
		*(unsigned *)field = (unsigned)v;
	else
		*(size_t *)field = (size_t)v;
	return 0;
}

/* A string field, whole or refused. */
static int
config_set_string(const struct config_key *k, char *field, const char *val,
		  char *err, size_t errlen)
{
	if (str_lcpy(field, val, k->size) < k->size)
		return 0;
	snprintf(err, errlen, "value of %s too long", k->name);
	return -1;
}

/* Keys with a value syntax of their own: 0 set, -1 bad value (err). */
static int
config_set_special(const struct config_key *k, void *field, const char *val,
		   char *err, size_t errlen)
{
	uint64_t size;
	int lv;

	switch (k->type) {
	case CONFIG_T_PREFIXES:
		if (iprate_parse_prefixes(val, NULL, IPRATE_PREFIX_MAX) < 0 ||
		    str_lcpy(field, val, k->size) >= k->size) {
			snprintf(err, errlen, "%s: want up to %d addresses or "
				 "ADDR/LEN prefixes", k->name,
				 IPRATE_PREFIX_MAX);
			return -1;
		}
		return 0;
	case CONFIG_T_OCTETS:
		if (str_tosize(val, 1ULL << 62, &size) < 0) {
			snprintf(err, errlen, "%s must be a size (octets, "
				 "or with a K, M, G or T suffix)", k->name);
			return -1;
		}
		*(uint64_t *)field = size;
		return 0;
	case CONFIG_T_LOGLEVEL:
		lv = log_level_parse(val);
		if (lv < 0) {
			snprintf(err, errlen, "bad log_level '%s'", val);
			return -1;
		}
		*(int *)field = lv;
		return 0;
	case CONFIG_T_LOGTARGET:
		if (log_target_parse(val, &(enum log_output){ 0 },
				     &(const char *){ NULL }) < 0) {
			snprintf(err, errlen, "log must be stderr, syslog, "
				 "syslog:/SOCKET or an absolute file path, not "
				 "'%s'", val);
			return -1;
		}
		return config_set_string(k, field, val, err, errlen);
	case CONFIG_T_YESNO:
		if (strcmp(val, "yes") != 0 && strcmp(val, "no") != 0) {
			snprintf(err, errlen, "%s must be yes or no", k->name);
			return -1;
		}
		*(bool *)field = strcmp(val, "yes") == 0;
		return 0;
	case CONFIG_T_TLSVER:
		if (strcmp(val, "TLSv1.2") != 0 && strcmp(val, "TLSv1.3") != 0) {
			snprintf(err, errlen, "%s must be TLSv1.2 or TLSv1.3",
				 k->name);
			return -1;
		}
		return config_set_string(k, field, val, err, errlen);
	case CONFIG_T_STSMODE:
		if (strcmp(val, "enforce") == 0)
			*(int *)field = CONFIG_STS_ENFORCE;
		else if (strcmp(val, "testing") == 0)
			*(int *)field = CONFIG_STS_TESTING;
		else if (strcmp(val, "none") == 0)
			*(int *)field = CONFIG_STS_NONE;
		else {
			snprintf(err, errlen, "%s must be enforce, testing or "
				 "none", k->name);
			return -1;
		}
		return 0;
	default:
		snprintf(err, errlen, "unknown setting '%s'", k->name);
		return -1;
	}
}

/* listen = PROTO=ADDR:PORT; the first one in a file replaces the
 * default listeners, the next ones add to it. */
static int
config_set_listen(struct config *cfg, const char *val, bool *listen_reset,
		  char *err, size_t errlen)
{
	if (!*listen_reset) {
		cfg->n_listeners = 0;
		*listen_reset = true;
	}
	if (cfg->n_listeners >= CONFIG_MAX_LISTENERS) {
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	return config_parse_listen(val, &cfg->listeners[cfg->n_listeners++],
				   err, errlen);
}

/* resolver = ADDR[:PORT] (IPv4, or [IPv6] with a port); repeatable. */
static int
config_add_resolver(struct config *cfg, const char *val, char *err,
		    size_t errlen)
{
	struct config_listen probe;
	char spec[80];

	if (cfg->n_resolvers >= CONFIG_MAX_RESOLVERS) {
		snprintf(err, errlen, "at most %d resolvers",
			 CONFIG_MAX_RESOLVERS);
		return -1;
	}
	/* A bare address means port 53. */
	if (strchr(val, ':') == NULL || (val[0] != '[' &&
					 strchr(val, ':') != strrchr(val, ':')))
		snprintf(spec, sizeof(spec), "%s%s%s:53",
			 strchr(val, ':') ? "[" : "", val,
			 strchr(val, ':') ? "]" : "");
	else
		snprintf(spec, sizeof(spec), "%s", val);
	if (parse_addr_port(spec, &probe, err, errlen) < 0) {
		snprintf(err, errlen, "bad resolver '%s' (want ADDR or "
			 "ADDR:PORT, [IPv6]:PORT)", val);
		return -1;
	}
	/* Kept as "ADDR@PORT", the form libunbound's forwarder takes. */
	snprintf(cfg->resolvers[cfg->n_resolvers++],
		 sizeof(cfg->resolvers[0]), "%s@%d", probe.addr, probe.port);
	return 0;
}

/* tls_policy = DOMAIN none|may|encrypt|verify; a later line for the
 * same domain replaces the earlier one. */
static int
config_add_tls_policy(struct config *cfg, const char *val, char *err,
		      size_t errlen)
{
	static const char *const modes[] = {
		[CONFIG_TLS_MAY] = "may", [CONFIG_TLS_NONE] = "none",
		[CONFIG_TLS_ENCRYPT] = "encrypt", [CONFIG_TLS_VERIFY] = "verify",
	};
	char domain[256], mode[16];
	struct config_tls_policy *p = NULL;
	int m = -1;

	if (sscanf(val, "%255s %15s", domain, mode) != 2) {
		snprintf(err, errlen, "tls_policy wants DOMAIN MODE");
		return -1;
	}
	for (int i = 0; i < 4; i++)
		if (strcmp(mode, modes[i]) == 0)
			m = i;
	if (m < 0) {
		snprintf(err, errlen, "tls_policy mode must be none, may, "
			 "encrypt or verify");
		return -1;
	}
	for (size_t i = 0; i < strlen(domain); i++)
		domain[i] = (char)tolower((unsigned char)domain[i]);
	for (size_t i = 0; i < cfg->n_tls_policies && p == NULL; i++)
		if (strcmp(cfg->tls_policies[i].domain, domain) == 0)
			p = &cfg->tls_policies[i];
	if (p == NULL) {
		if (cfg->n_tls_policies >= CONFIG_MAX_TLS_POLICIES) {
			snprintf(err, errlen, "at most %d tls_policy lines",
				 CONFIG_MAX_TLS_POLICIES);
			return -1;
		}
		p = &cfg->tls_policies[cfg->n_tls_policies++];
	}
	str_lcpy(p->domain, domain, sizeof(p->domain));
	p->mode = (enum config_tls_mode)m;
	return 0;
}

/* Applies one key = value; 0 or -1 with a reason in err. */
static int
config_set(struct config *cfg, const char *key, const char *val,
	   bool *listen_reset, char *err, size_t errlen)
{
	const struct config_key *k = NULL;

	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]);
	     i++)
		if (strcmp(key, config_keys[i].name) == 0) {
			k = &config_keys[i];
			break;
		}
	if (k == NULL) {
		snprintf(err, errlen, "unknown setting '%s'", key);
		return -1;
	}
	void *field = (char *)cfg + k->offset;

	switch (k->type) {
	case CONFIG_T_STR:
		return config_set_string(k, field, val, err, errlen);
	case CONFIG_T_INT:
	case CONFIG_T_UNS:
	case CONFIG_T_SIZE_T:
		return config_set_number(k, field, val, err, errlen);
	case CONFIG_T_LISTEN:
		return config_set_listen(cfg, val, listen_reset, err, errlen);
	case CONFIG_T_RESOLVER:
		return config_add_resolver(cfg, val, err, errlen);
	case CONFIG_T_TLSPOLICY:
		return config_add_tls_policy(cfg, val, err, errlen);
	default:
		return config_set_special(k, field, val, err, errlen);
	}
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* One line of the file, comment and surrounding space allowed: empty,
 * or KEY = VALUE. 0, or -1 with "name:line: reason" in err. */
static int
config_line(struct config *cfg, char *line, const char *name, int lineno,
	    bool *listen_reset, char *err, size_t errlen)
{
	char why[512];
	char *hash = strchr(line, '#');

	if (hash != NULL)
		*hash = '\0';
	char *s = trim(line);
	if (*s == '\0')
		return 0;
	char *eq = strchr(s, '=');
	if (eq == NULL) {
		snprintf(err, errlen, "%s:%d: expected key = value", name,
			 lineno);
		return -1;
	}
	*eq = '\0';
	if (config_set(cfg, trim(s), trim(eq + 1), listen_reset, why,
		       sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
		return -1;
	}
	return 0;
}

int
config_parse_text(struct config *cfg, const char *text, size_t len,
		  const char *name, char *err, size_t errlen)
{
	char *copy = malloc(len + 1);
	size_t off = 0;
	int lineno = 0, rc = 0;
	bool listen_reset = false;

	if (copy == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	/* Whole lines, however long: a fixed line buffer would read the
	 * rest of a long line (a comment's too) as a line of its own. */
	while (off < len && rc == 0) {
		char *line = copy + off;
		char *nl = memchr(line, '\n', len - off);

		if (nl != NULL)
			*nl = '\0';
		off += nl != NULL ? (size_t)(nl - line) + 1 : len - off;
		lineno++;
		rc = config_line(cfg, line, name, lineno, &listen_reset, err,
				 errlen);
	}
	free(copy);
	return rc;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			char *t = cap < CONFIG_FILE_MAX
					  ? realloc(text, cap + 65536)
					  : NULL;

			if (t == NULL) {
				snprintf(err, errlen, "%s: %s", path,
					 cap < CONFIG_FILE_MAX
						 ? "out of memory"
						 : "file too large");
				free(text);
				fclose(f);
				return -1;
			}
			text = t;
			cap += 65536;
		}
		size_t got = fread(text + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		free(text);
		fclose(f);
		return -1;
	}
	fclose(f);
	rc = config_parse_text(cfg, text, len, path, err, errlen);
	free(text);
	return rc;
}
