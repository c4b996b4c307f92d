/*
 * SMTP command parser (RFC 5321 §4.1, RFC 1869 ESMTP parameters): one command
 * line -> struct smtp_cmd. Pure: no I/O, no session, no logging. Arguments
 * point into the caller's line buffer, which must outlive the struct, except
 * the path, which is copied (decoded from a quoted local part) into cmd->path.
 */
#ifndef POSTEL_SMTP_PARSE_H
#define POSTEL_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/limits.h"

#define SMTP_MAX_PARAMS 16

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_HELP,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_COUNT
};

struct smtp_param {
	const char *key; /* e.g. "SIZE", not terminated */
	size_t key_len;
	const char *val; /* NULL when the parameter has no "=value" */
	size_t val_len;
};

/* RFC 3461 DSN parameters, decoded by the parser. */
#define SMTP_ENVID_MAX 100       /* RFC 3461 §4.4, decoded octets */
#define SMTP_ORCPT_WIRE_MAX 500  /* RFC 3461 §4.2, the value as sent */
/* The decoded ORCPT kept: "rfc822;" or "utf-8;" and an address of at
 * most LIMIT_ADDRESS octets (longer ones are refused: no mailbox is). */
#define SMTP_ORCPT_MAX (LIMIT_ADDRESS + 8)

/* RFC 3461 §4.1 NOTIFY (the bits of enum store_notify). */
enum smtp_notify {
	SMTP_NOTIFY_SUCCESS = 1 << 0,
	SMTP_NOTIFY_FAILURE = 1 << 1,
	SMTP_NOTIFY_DELAY = 1 << 2,
	SMTP_NOTIFY_NEVER = 1 << 3,
};

/* RFC 3461 §4.3 RET (the values of enum store_ret). */
enum smtp_ret { SMTP_RET_DEFAULT = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_cmd {
	enum smtp_verb verb;
	/* Everything after the verb and one space, not terminated (HELO
	 * domain, AUTH arguments, VRFY string, NOOP/HELP text). */
	const char *arg;
	size_t arg_len;

	/* MAIL FROM / RCPT TO: the path without angle brackets or source
	 * route, quoted local parts decoded ("a b"@x -> a b@x is NOT done:
	 * the quotes are kept as written, so the address round-trips).
	 * "" for the null reverse-path <>. For RCPT TO:<postmaster> (no
	 * domain, RFC 5321 §4.1.1.3) path is "postmaster". */
	char path[LIMIT_ADDRESS + 1];
	bool path_has_utf8;  /* non-ASCII octets in the path (RFC 6531) */
	struct smtp_param params[SMTP_MAX_PARAMS];
	size_t n_params;

	/* DSN (RFC 3461), checked and decoded here; the parameters stay in
	 * params[] too. MAIL: RET= and ENVID= (xtext decoded, "" when not
	 * given). RCPT: NOTIFY= (0 when not given) and ORCPT= as
	 * "rfc822;addr" or "utf-8;addr" (addr-type lower-cased, xtext or
	 * RFC 6533 \x{HEX} decoded, "" when not given). */
	enum smtp_ret dsn_ret;
	char envid[SMTP_ENVID_MAX + 1];
	unsigned notify;
	char orcpt[SMTP_ORCPT_MAX + 1];

	/* BDAT <size> [LAST] (RFC 3030). */
	unsigned long long bdat_size;
	bool bdat_last;
	/* bdat_size was read, also when the parse failed after it: the
	 * chunk of a refused BDAT is still read (RFC 3030 §2). */
	bool bdat_size_ok;
};

/* A failed parse tells the reply to send. */
struct smtp_parse_error {
	int code;         /* 500 unknown command, 501 bad arguments, 553 bad path */
	const char *enh;  /* enhanced status code, e.g. "5.5.2" */
	const char *text; /* human text, constant */
};

/* line/len: one command line without its CRLF (or LF). Returns 0 and fills
 * cmd, or -1 and fills err. Rejects NUL bytes (500 5.5.2), unknown verbs
 * (500 5.5.1), missing or stray arguments (501 5.5.4), a HELO/EHLO name
 * that is no ASCII domain or address literal (501 5.5.2), malformed paths
 * (501 5.1.3 for MAIL/RCPT syntax, 553 5.1.3 not used here), too many
 * parameters, a parameter given twice, or a bad DSN value (RET, ENVID on
 * MAIL; NOTIFY, ORCPT on RCPT: 501 5.5.4). Verbs are case-insensitive. */
int smtp_parse_command(const char *line, size_t len, struct smtp_cmd *cmd,
		       struct smtp_parse_error *err);

/* Finds ESMTP parameter key (case-insensitive); NULL when absent. */
const struct smtp_param *smtp_cmd_param(const struct smtp_cmd *cmd,
					const char *key);

/* Validates a domain (RFC 5321 §4.1.2 Domain, or an address literal
 * [1.2.3.4] / [IPv6:...]), as in a path. UTF-8 labels are accepted
 * (RFC 6531 §3.3). */
bool smtp_valid_domain(const char *s, size_t len);
/* The HELO/EHLO argument: the same, but ASCII only (RFC 6531 §3.7.1). */
bool smtp_valid_helo(const char *s, size_t len);

/* Splits "local@domain" at its last '@' outside quotes; -1 when there is
 * none or either part is empty / too long. */
int smtp_split_address(const char *addr, size_t *at_r);

const char *smtp_verb_name(enum smtp_verb v);
/* Well-formed UTF-8 (RFC 3629 §4); plain ASCII passes. */
bool smtp_utf8_valid(const unsigned char *s, size_t len);
/* smtp_parse_dsn.c, for smtp_parse_command only: checks and decodes the
 * DSN parameters among cmd->params (RET, ENVID on MAIL; NOTIFY, ORCPT on
 * RCPT). 0, or -1 with err filled (501 5.5.4). */
int smtp_parse_dsn(struct smtp_cmd *cmd, bool is_mail,
		   struct smtp_parse_error *err);
/* True when line's first word is BDAT (any case), whether or not the rest
 * parses: a BDAT whose size cannot be read ends the connection. */
bool smtp_line_is_bdat(const char *line, size_t len);

#endif
