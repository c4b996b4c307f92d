/*
 * Helpers shared by the admin commands (cli_domain.c, cli_user.c,
 * cli_alias.c): error and usage lines, validation of domains and addresses,
 * password input, and opening the store after dropping privileges.
 */
#ifndef POSTEL_CLI_UTIL_H
#define POSTEL_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/limits.h"

struct config;
struct store;

/* Process exit statuses of the admin commands (cli.h). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERR 1
#define CLI_EXIT_USAGE 2

/* Longest password accepted, in bytes (without the line ending), and the
 * buffer that holds one (room for a CR and the NUL). */
#define CLI_PASSWORD_MAX 1024
#define CLI_PASSWORD_BUF (CLI_PASSWORD_MAX + 2)
/* Buffer sizes for a validated, canonical domain and address. */
#define CLI_DOMAIN_BUF (LIMIT_DOMAIN + 1)
#define CLI_ADDRESS_BUF (LIMIT_ADDRESS + 1)

/* cli_address_check flags. */
enum cli_addr_flag {
	/* A user name: '+' is the tag separator (user+tag@domain reaches
	 * user@domain), so it may not appear in the local part. */
	CLI_ADDR_NO_PLUS = 1 << 0,
	/* "@domain" (an alias catch-all source) is accepted. */
	CLI_ADDR_CATCHALL = 1 << 1,
};

/* Prints exactly one line "postel: <message>" on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "postel: usage: postel <synopsis>" on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage(const char *synopsis);
/* Copies s into buf (buflen > 4) for an error message: control bytes
 * become '?', anything beyond about 80 bytes is cut with "...". */
const char *cli_quote(const char *s, char *buf, size_t buflen);

/* Domain name (RFC 1035 §2.3.1 letters/digits/hyphen labels, RFC 5890
 * A-labels for internationalised names). On success writes the lower-case
 * form into out (outlen >= CLI_DOMAIN_BUF) and returns 0; otherwise -1 with
 * a static reason in *why_r. */
int cli_domain_check(const char *in, char *out, size_t outlen,
		     const char **why_r);
/* Local part s[0..len): RFC 5322 §3.2.3 dot-atom (atext and single inner
 * dots), 1..LIMIT_LOCALPART bytes. 0 or -1 with *why_r. */
int cli_localpart_check(const char *s, size_t len, bool allow_plus,
			const char **why_r);
/* local@domain (or "@domain" with CLI_ADDR_CATCHALL). Writes the canonical
 * form (local part unchanged, domain lower-cased) into out (outlen >=
 * CLI_ADDRESS_BUF). 0 or -1 with *why_r. */
int cli_address_check(const char *in, unsigned flags, char *out,
		      size_t outlen, const char **why_r);

/* Reads one line from fd into buf (cap >= CLI_PASSWORD_BUF), one byte
 * at a time so that no copy is left in a stdio buffer. The line ending (LF
 * or CRLF) is removed and buf is NUL-terminated. Returns 0, or -1 with
 * *why_r (empty, too long, NUL byte, read error). */
int cli_password_read_fd(int fd, char *buf, size_t cap, const char **why_r);
/* Gets a new password: one line of stdin when from_stdin, otherwise asked
 * twice on /dev/tty with echo off. Prints the error itself on failure.
 * 0 or -1. The caller wipes buf (explicit_bzero) after use. */
int cli_password_get(bool from_stdin, char *buf, size_t cap);

/* Prepares the data directory, drops to cfg->run_user when root and opens
 * the store. Prints the error itself; NULL on failure. */
struct store *cli_store_open(const struct config *cfg);
/* Closes it and bumps the change counter (store/changes.h), so a running
 * server drops what it cached from the store before the change. */
void cli_store_close(const struct config *cfg, struct store **stp);
/* Prints "postel: <what>: <err>", or a clear "database is locked" message
 * when the store gave up waiting for a lock. */
void cli_store_err(const char *what, const char *err);
/* true when a store error means the database stayed locked or busy. */
bool cli_err_is_locked(const char *err);

/* The positional arguments of argv (argc entries) after the action word,
 * with "--password-stdin" recognised when want_stdin_flag is set. Any other
 * "--option" is a usage error. pos receives up to maxpos pointers. Returns
 * the number of positional arguments, or -1 with *bad_r the unknown
 * option. */
int cli_split_args(int argc, char **argv, bool want_stdin_flag,
		   bool *stdin_flag_r, char **pos, int maxpos,
		   const char **bad_r);
/* Copies every mailbox of the account to dir (Maildir++, or one mbox
 * file per mailbox), fsynced, before "user del" (cli_keep.c). 0, or -1
 * after the error line. */
int cli_keep_mailboxes(struct store *st, const char *data_dir,
		       const char *address, const char *dir, bool mbox);
/* The control socket (cli_control.c). cli_control_ask sends one request
 * line and hands each data line to cb (may be NULL): 0 when the server
 * answered OK, 1 when no server runs, -1 otherwise; why says what (not
 * printed). */
struct control_reply;
typedef void (*cli_control_cb)(void *ctx, const struct control_reply *r);
int cli_control_ask(const struct config *cfg, const char *request,
		    cli_control_cb cb, void *ctx, char *why, size_t whylen);
/* The logged-in sessions (of user, or all when NULL) on stdout: a table
 * (nothing when there are none), or as_fields one "session: PROTOCOL
 * CLIENT since TIME UTC" line each; *n_r how many. As above. */
int cli_control_who(const struct config *cfg, const char *user,
		    bool as_fields, unsigned *n_r, char *why, size_t whylen);
/* Ends user's sessions on every protocol; *n_r how many. As above. */
int cli_control_kick(const struct config *cfg, const char *user,
		     unsigned *n_r, char *why, size_t whylen);
/* user show, after quota and usage (cli_show.c): mailboxes, aliases,
 * grants, open sessions. 0, or -1 after the error line. */
int cli_user_show_more(const struct config *cfg, struct store *st,
		       int64_t account_id, const char *address);
/* true when argv holds -h or --help. */
bool cli_wants_help(int argc, char **argv);
/* For "list [DOMAIN]": CLI_EXIT_OK when dom is NULL or hosted, otherwise
 * prints why and returns CLI_EXIT_ERR. */
int cli_list_domain_ok(struct store *st, const char *dom);
/* Prints items one per line and frees them; what names the list in the
 * error line. Returns the exit status. */
int cli_print_list(int list_rc, char **items, const char *what,
		   const char *err);

#endif
