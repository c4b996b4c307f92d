/*
 * Configuration values (struct config) and the defaults named here: the
 * runtime level, read by every layer. Filling it -- built-in defaults,
 * then the optional config file (docs/CONFIG.md), then command-line
 * --listen options -- is the top layer's (src/server/config_file.h).
 */
#ifndef POSTEL_CONFIG_H
#define POSTEL_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum proto {
	PROTO_SMTP = 0,     /* port 25: mail for hosted domains */
	PROTO_SUBMISSION,   /* 587: STARTTLS, AUTH required */
	PROTO_SUBMISSIONS,  /* 465: implicit TLS, AUTH required */
	PROTO_POP3,         /* 110: STLS */
	PROTO_POP3S,        /* 995: implicit TLS */
	PROTO_IMAP,         /* 143: STARTTLS (RFC 9051 §6.2.1) */
	PROTO_IMAPS,        /* 993: implicit TLS (RFC 8314) */
	PROTO_HTTP,         /* 80: autoconfig, MTA-STS, metrics (opt-in) */
	PROTO_HTTPS,        /* 443: the same over TLS (opt-in) */
	PROTO_COUNT
};

#define CONFIG_MAX_LISTENERS 32
#define CONFIG_MAX_RESOLVERS 8
#define CONFIG_MAX_TLS_POLICIES 64

/* Outbound TLS per destination domain (tls_policy). MAY: STARTTLS when
 * offered, any certificate, plaintext when not (the default);
 * ENCRYPT: TLS required, any certificate; VERIFY: TLS required and the
 * certificate must verify for the MX host name. */
enum config_tls_mode {
	CONFIG_TLS_MAY = 0,
	CONFIG_TLS_NONE,
	CONFIG_TLS_ENCRYPT,
	CONFIG_TLS_VERIFY,
};

struct config_tls_policy {
	char domain[256];
	enum config_tls_mode mode;
};

struct config_listen {
	enum proto proto;
	char addr[64];  /* numeric IPv4 or IPv6 (no brackets) */
	int port;
};

struct config {
	char hostname[256];
	char data_dir[PATH_MAX];
	char cert_path[PATH_MAX];
	char key_path[PATH_MAX];
	char run_user[64];     /* user to drop to when started as root */
	char store_url[256];   /* "sqlite" (default) */
	int log_level;         /* enum log_level */
	/* `log`: stderr, syslog[:SOCKET] or an absolute file path
	 * (log_target_parse; opened by serve after the privilege drop). */
	char log_target[PATH_MAX];
	struct config_listen listeners[CONFIG_MAX_LISTENERS];
	size_t n_listeners;

	size_t max_message_size;
	unsigned max_rcpts;
	int smtp_cmd_timeout;
	int smtp_data_timeout;
	int pop3_timeout;
	int imap_timeout;
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned max_auth_failures;
	int auth_fail_delay_ms;
	int worker_threads;
	int auth_cache_ttl;    /* seconds a verified login is remembered */
	bool sender_check;     /* submission: MAIL FROM/From: must be the
				* account's (smtp_sender.h) */
	/* Storage: the quota of an account that has none of its
	 * own (octets, 0 = unlimited), and the free space of the data dir's
	 * filesystem below which nothing new is accepted (0 = no check). */
	uint64_t quota_default;
	uint64_t min_free_disk;
	/* TLS profile (docs/CONFIG.md) */
	char tls_min_version[16];   /* "TLSv1.2" or "TLSv1.3" */
	char tls_ciphers[512];      /* TLS 1.2 cipher list (OpenSSL syntax) */
	char tls_ciphersuites[256]; /* TLS 1.3 suites */
	int tls_ticket_rotation;    /* seconds per ticket key; 0: no tickets */
	int tls_handshake_timeout;  /* seconds for a whole TLS handshake */
	/* Slow clients and connection rate (0 turns each off). */
	int command_deadline;  /* seconds from a line's first byte to its end */
	int smtp_data_min_rate; /* bytes/s over DATA/BDAT after the grace */
	int smtp_data_grace;   /* seconds */
	int preauth_timeout;   /* idle seconds before login (IMAP/POP3/587) */
	int max_connection_rate_per_ip; /* new connections per minute */
	/* Addresses the rate does not apply to (iprate_parse_prefixes). */
	char connection_rate_exempt[256];
	/* Failed-login throttle across connections (src/auth/throttle.h). */
	unsigned auth_block_failures; /* per address in the window; 0: off */
	int auth_fail_window;         /* seconds failures are counted over */
	int auth_block_time;          /* seconds a blocked address waits */
	int auth_fail_delay_max_ms;   /* cap of the growing failure delay */
	unsigned auth_queue_max;      /* logins waiting for a hash */
	/* Recipient harvesting (SMTP RCPT). */
	unsigned smtp_max_bad_rcpts;  /* then each RCPT waits the delay */
	unsigned smtp_bad_rcpt_limit; /* then 421 and close */
	int smtp_bad_rcpt_delay_ms;

	/* ---- Outbound: DNS, queue, SMTP client (docs/CONFIG.md) ---- */
	/* resolver = ADDR[:PORT], repeatable: forward every query there;
	 * none: /etc/resolv.conf, or full recursion when it lists none. */
	char resolvers[CONFIG_MAX_RESOLVERS][64];
	size_t n_resolvers;
	/* DNSSEC trust anchor file (default: Debian's dns-root-data root
	 * key); "none" turns validation off. */
	char dnssec_trust_anchor[PATH_MAX];
	/* queue_delivery = no: mail is still accepted and queued, but
	 * nothing is sent and no notice goes out (maintenance, or a site
	 * that delivers only when told, Postfix's defer_transports). */
	bool queue_delivery;
	/* dkim_sign = no: messages are queued unsigned even for domains
	 * with DKIM keys (issue 10; keys: postel dkim generate). */
	bool dkim_sign;
	/* spf = no: no SPF checks on port 25 (docs/CONFIG.md). */
	bool spf;
	/* dmarc = no: no DKIM/DMARC checks on port 25; dmarc_enforce = no:
	 * DMARC failures are only reported, never rejected or sent to
	 * Junk (docs/CONFIG.md). */
	bool dmarc;
	bool dmarc_enforce;
	/* arc = no: ARC chains not verified, forwards not sealed; srs = no:
	 * forwards keep their sender; srs_domain: the SRS addresses' domain
	 * ("": the forwarding alias's). ARC and SRS in ARCHITECTURE.md. */
	bool arc;
	bool srs;
	char srs_domain[256];
	/* arc_trusted_sealers: domains whose passing ARC chain overrides a
	 * DMARC failure (RFC 7489 §7, RFC 8617 §7.2.1); "": none. */
	char arc_trusted_sealers[512];
	int retry_min;        /* seconds, first retry / backoff floor */
	int retry_max;        /* seconds, backoff ceiling */
	int queue_lifetime;   /* seconds a message may stay queued */
	int delay_warning;    /* seconds before a delay notice; 0 = off */
	unsigned queue_concurrency;     /* outbound connections in total */
	unsigned queue_dest_concurrency;/* most connections per destination */
	unsigned queue_rcpts_per_tx;    /* recipients per transaction (50) */
	int smtp_client_connect_timeout; /* seconds */
	int smtp_client_timeout;  /* seconds per command reply (RFC 5321
				   * §4.5.3.2: 5 min; we default lower) */
	/* relayhost = HOST[:PORT]: every remote message goes there, TLS
	 * required, AUTH with relayhost_auth_file's "user password" line. */
	char relayhost[256];
	char relayhost_auth_file[PATH_MAX];
	/* tls_ca_file: PEM certificates the outbound client trusts besides
	 * the system store (private CAs, tests); "" none. */
	char tls_ca_file[PATH_MAX];
	/* tls_policy = DOMAIN none|may|encrypt|verify, repeatable. */
	struct config_tls_policy tls_policies[CONFIG_MAX_TLS_POLICIES];
	size_t n_tls_policies;

	/* ---- HTTP endpoint (src/http/, docs/CONFIG.md) ---- */
	int http_timeout;          /* idle seconds between requests */
	int http_request_deadline; /* seconds from a request's first byte */
	char metrics_allow[256];   /* addresses /metrics answers */
	char metrics_token[128];   /* "": no bearer token asked */
	int mta_sts_mode;          /* enum config_sts_mode */
	int mta_sts_max_age;       /* seconds (RFC 8461 §3.2 max_age) */
	char mta_sts_mx[256];      /* extra mx: names besides hostname */

	/* ---- Certificates: ACME (src/server/acme.h), SNI ---- */
	bool acme;                 /* off by default */
	char acme_directory[512];  /* the CA's RFC 8555 directory URL */
	char acme_email[256];      /* account contact; "" for none */
	char acme_ca_file[PATH_MAX]; /* trust for the CA's HTTPS (pebble) */
	int acme_renew_before;     /* seconds before expiry to renew */
	int acme_check_interval;   /* seconds between checks */
	int acme_retry_interval;   /* seconds after a failed attempt */
	char tls_sni_dir[PATH_MAX]; /* per-name certificates; "": none */
	bool user_password_change; /* POST /account/password allowed */
	/* MTA-STS client (src/queue/mta_sts.h): the policy fetch's time
	 * limit and port (443; another port only for tests). */
	int mta_sts_fetch_timeout; /* seconds */
	int mta_sts_fetch_port;
};

#define CONFIG_ACME_DIRECTORY_DEFAULT \
	"https://acme-v02.api.letsencrypt.org/directory"
/* Let's Encrypt advises renewing 30 days before the 90-day expiry. */
#define CONFIG_ACME_RENEW_BEFORE_DEFAULT (30 * 86400)
#define CONFIG_ACME_CHECK_INTERVAL_DEFAULT (12 * 3600)
#define CONFIG_ACME_RETRY_INTERVAL_DEFAULT 3600

/* RFC 8461 §5: enforce, testing (report only), none (withdrawn). */
enum config_sts_mode {
	CONFIG_STS_TESTING = 0,
	CONFIG_STS_ENFORCE,
	CONFIG_STS_NONE,
};
/* RFC 8461 §3.2 suggests weeks for max_age; one week lets a change of
 * MX or mode reach every sender within a week. */
#define CONFIG_MTA_STS_MAX_AGE_DEFAULT (7 * 86400)
/* RFC 8461 §3.3 asks for a time limit on the policy fetch. */
#define CONFIG_MTA_STS_FETCH_TIMEOUT_DEFAULT 60
#define CONFIG_HTTP_TIMEOUT_DEFAULT 60
#define CONFIG_HTTP_REQUEST_DEADLINE_DEFAULT 30

/* RFC 9325 §4.2 (BCP 195): TLS 1.2 with ECDHE key exchange and AEAD
 * ciphers only; no static RSA, no CBC, no SHA-1 MACs. */
#define CONFIG_TLS_CIPHERS_DEFAULT                                    \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"   \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"   \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
/* RFC 8446 §9.1: the TLS 1.3 suites (all AEAD, all (EC)DHE). */
#define CONFIG_TLS_CIPHERSUITES_DEFAULT                               \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"               \
	"TLS_CHACHA20_POLY1305_SHA256"
/* A ticket key seals tickets for an hour and opens them for one more. */
#define CONFIG_TLS_TICKET_ROTATION_DEFAULT 3600
/* A client gets this long for the whole handshake on 465/993/995 and
 * after STARTTLS, then the connection is closed. */
#define CONFIG_TLS_HANDSHAKE_TIMEOUT_DEFAULT 30

/* auth_cache_ttl: long enough to cover a client's reconnect loop, short
 * enough that verified credentials do not linger (Dovecot's auth_cache_ttl
 * default is one hour; ours is more cautious). */
#define CONFIG_AUTH_CACHE_TTL_DEFAULT 300

/* Outbound queue defaults (issue text: RFC 5321 §4.5.4.1 suggests at
 * least 30 minutes between retries and 4-5 days in all; we start at 5
 * minutes and back off to an hour). */
#define CONFIG_RETRY_MIN_DEFAULT 300
#define CONFIG_RETRY_MAX_DEFAULT 3600
#define CONFIG_QUEUE_LIFETIME_DEFAULT (5 * 86400)
#define CONFIG_DELAY_WARNING_DEFAULT (4 * 3600)
#define CONFIG_QUEUE_CONCURRENCY_DEFAULT 100
#define CONFIG_QUEUE_DEST_CONCURRENCY_DEFAULT 10
#define CONFIG_QUEUE_RCPTS_PER_TX_DEFAULT 50
#define CONFIG_SMTP_CLIENT_CONNECT_TIMEOUT 30
#define CONFIG_SMTP_CLIENT_TIMEOUT 300
#define CONFIG_DNSSEC_TRUST_ANCHOR_DEFAULT "/usr/share/dns/root.key"

#endif
