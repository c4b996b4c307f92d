/*
 * Configuration: built-in defaults, then the optional config file
 * (docs/CONFIG.md), then command-line --listen options.
 */
#ifndef POSTEL_CONFIG_H
#define POSTEL_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum proto {
	PROTO_SMTP = 0,     /* port 25: mail for hosted domains */
	PROTO_SUBMISSION,   /* 587: STARTTLS, AUTH required */
	PROTO_SUBMISSIONS,  /* 465: implicit TLS, AUTH required */
	PROTO_POP3,         /* 110: STLS */
	PROTO_POP3S,        /* 995: implicit TLS */
	PROTO_IMAP,         /* 143: STARTTLS (RFC 9051 §6.2.1) */
	PROTO_IMAPS,        /* 993: implicit TLS (RFC 8314) */
	PROTO_COUNT
};

#define CONFIG_MAX_LISTENERS 32

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
};

/* auth_cache_ttl: long enough to cover a client's reconnect loop, short
 * enough that verified credentials do not linger (Dovecot's auth_cache_ttl
 * default is one hour; ours is more cautious). */
#define CONFIG_AUTH_CACHE_TTL_DEFAULT 300

/* Defaults for a process running as root (ports 25, 587, ...) or not
 * (2525, 2587, ...). */
void config_defaults(struct config *cfg, bool as_root);
/* Reads KEY = VALUE lines; 0 or -1 with "file:line: reason" in err. */
int config_load(struct config *cfg, const char *path, char *err,
		size_t errlen);
/* Parses PROTO=ADDR:PORT (ADDR may be [IPv6]); 0 or -1 with err. */
int config_parse_listen(const char *spec, struct config_listen *out,
			char *err, size_t errlen);
const char *config_proto_name(enum proto p);
/* Fills paths that depend on data_dir (cert, key) when unset. */
void config_finish(struct config *cfg);

#endif
