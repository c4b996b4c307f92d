/*
 * Shared parts of the admin commands: messages, argument splitting, name
 * validation, password input and store opening. See cli_util.h.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../core/config.h"
#include "../server/privdrop.h"
#include "../store/changes.h"
#include "../store/store.h"
#include "cli_util.h"

/* Longest domain name: RFC 1035 §2.3.4 (255 octets on the wire, so 253
 * characters in text form without the root dot) and label size. */
#define CLI_DOMAIN_TEXT_MAX 253
#define CLI_LABEL_MAX 63

/* A signal that arrived while the terminal's echo was off (the one
 * mutable global: a signal flag). */
static volatile sig_atomic_t cli_tty_signal;

void
cli_err(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	/* One fprintf so the line is written whole. */
	fprintf(stderr, "postel: %s\n", line);
}

int
cli_usage(const char *synopsis)
{
	fprintf(stderr, "postel: usage: postel %s\n", synopsis);
	return CLI_EXIT_USAGE;
}

const char *
cli_quote(const char *s, char *buf, size_t buflen)
{
	size_t i, max = buflen - 4;

	if (max > 80)
		max = 80;
	for (i = 0; s[i] != '\0' && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

bool
cli_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int
cli_split_args(int argc, char **argv, bool want_stdin_flag,
	       bool *stdin_flag_r, char **pos, int maxpos, const char **bad_r)
{
	bool only_pos = false;
	int n = 0;

	if (stdin_flag_r != NULL)
		*stdin_flag_r = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
		} else if (!only_pos && strncmp(a, "--", 2) == 0) {
			if (!want_stdin_flag ||
			    strcmp(a, "--password-stdin") != 0) {
				*bad_r = a;
				return -1;
			}
			*stdin_flag_r = true;
		} else {
			if (n < maxpos)
				pos[n] = argv[i];
			n++;
		}
	}
	return n;
}

/* One label: RFC 1035 §2.3.1 (letters, digits, hyphens; no hyphen at
 * either end), at most 63 octets. */
static int
cli_label_check(const char *s, size_t len, const char **why_r)
{
	if (len == 0) {
		*why_r = "empty label (leading, trailing or double dot)";
		return -1;
	}
	if (len > CLI_LABEL_MAX) {
		*why_r = "label longer than 63 characters";
		return -1;
	}
	if (s[0] == '-' || s[len - 1] == '-') {
		*why_r = "label starts or ends with a hyphen";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isascii(c) || !(isalnum(c) || c == '-')) {
			*why_r = "invalid character (only letters, digits, "
				 "hyphens and dots)";
			return -1;
		}
	}
	return 0;
}

static bool
cli_all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

int
cli_domain_check(const char *in, char *out, size_t outlen,
		 const char **why_r)
{
	size_t len = strlen(in), start = 0, last = 0;
	bool dot = false;

	if (len == 0) {
		*why_r = "empty domain";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)in[i] >= 0x80) {
			/* RFC 5890/5891: we do not convert U-labels; the admin
			 * gives the A-label form (xn--...). */
			*why_r = "non-ASCII domain; give its ASCII (punycode) "
				 "form, e.g. xn--bcher-kva.example";
			return -1;
		}
	}
	if (len > CLI_DOMAIN_TEXT_MAX || len >= outlen) {
		*why_r = "domain longer than 253 characters";
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && in[i] != '.')
			continue;
		if (cli_label_check(in + start, i - start, why_r) < 0)
			return -1;
		last = start;
		dot = dot || i < len;
		start = i + 1;
	}
	if (!dot) {
		*why_r = "domain needs at least one dot (e.g. example.org)";
		return -1;
	}
	/* RFC 3696 §2: a top-level domain is never all-numeric, which also
	 * keeps IPv4 addresses out. */
	if (cli_all_digits(in + last, len - last)) {
		*why_r = "top-level label is all digits (an IP address is "
			 "not a domain)";
		return -1;
	}
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	return 0;
}

/* RFC 5322 §3.2.3 atext, minus ALPHA and DIGIT. */
static bool
cli_is_atext(unsigned char c)
{
	return isascii(c) &&
	       (isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~",
						    c) != NULL));
}

int
cli_localpart_check(const char *s, size_t len, bool allow_plus,
		    const char **why_r)
{
	if (len == 0) {
		*why_r = "empty local part";
		return -1;
	}
	if (len > LIMIT_LOCALPART) {
		*why_r = "local part longer than 64 characters";
		return -1;
	}
	if (s[0] == '.' || s[len - 1] == '.') {
		*why_r = "local part starts or ends with a dot";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' && s[i + 1] == '.') {
			*why_r = "two dots in a row in the local part";
			return -1;
		}
		if (c == '+' && !allow_plus) {
			*why_r = "'+' is the tag separator and cannot be part "
				 "of a user name";
			return -1;
		}
		if (c >= 0x80) {
			*why_r = "non-ASCII local parts are not supported";
			return -1;
		}
		if (c != '.' && !cli_is_atext(c)) {
			*why_r = "invalid character in the local part";
			return -1;
		}
	}
	return 0;
}

int
cli_address_check(const char *in, unsigned flags, char *out, size_t outlen,
		  const char **why_r)
{
	const char *at = strrchr(in, '@');
	char dom[CLI_DOMAIN_BUF];
	size_t llen;
	int n;

	if (at == NULL) {
		*why_r = (flags & CLI_ADDR_CATCHALL) ?
			"expected local@domain or @domain" :
			"expected local@domain";
		return -1;
	}
	llen = (size_t)(at - in);
	if (llen == 0 && !(flags & CLI_ADDR_CATCHALL)) {
		*why_r = "empty local part";
		return -1;
	}
	if (llen > 0 && cli_localpart_check(in, llen,
					    !(flags & CLI_ADDR_NO_PLUS),
					    why_r) < 0)
		return -1;
	if (cli_domain_check(at + 1, dom, sizeof(dom), why_r) < 0)
		return -1;
	n = snprintf(out, outlen, "%.*s@%s", (int)llen, in, dom);
	if (n < 0 || (size_t)n >= outlen || n > LIMIT_ADDRESS) {
		*why_r = "address too long";
		return -1;
	}
	return 0;
}

int
cli_password_read_fd(int fd, char *buf, size_t cap, const char **why_r)
{
	size_t len = 0;
	bool too_long = false, nul = false;

	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR && !cli_tty_signal)
			continue;
		if (r < 0) {
			*why_r = "cannot read the password";
			explicit_bzero(buf, cap);
			return -1;
		}
		if (r == 0 || c == '\n')
			break;
		if (c == '\0')
			nul = true;
		/* Keep reading to the end of the line, so that a too-long
		 * line is not taken as the next input. */
		if (len + 1 < cap && len < CLI_PASSWORD_MAX + 1)
			buf[len++] = c;
		else
			too_long = true;
		explicit_bzero(&c, sizeof(c));
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (too_long || len > CLI_PASSWORD_MAX)
		*why_r = "password too long (at most 1024 bytes)";
	else if (nul)
		*why_r = "password contains a NUL byte";
	else if (len == 0)
		*why_r = "empty password refused";
	else
		return 0;
	explicit_bzero(buf, cap);
	return -1;
}

static void
cli_tty_signal_cb(int sig)
{
	cli_tty_signal = sig;
}

/* Echo off while reading one line from the terminal. A signal that
 * arrives meanwhile (Ctrl-C) interrupts the read; the caller restores the
 * terminal first and then re-raises it. */
static int
cli_tty_read(int fd, const char *prompt, char *buf, size_t cap,
	     const char **why_r)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };
	struct sigaction sa, old[sizeof(sigs) / sizeof(sigs[0])];
	struct termios saved, quiet;
	int rc;

	if (tcgetattr(fd, &saved) < 0) {
		*why_r = "cannot set up the terminal";
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_tty_signal_cb; /* no SA_RESTART: read() stops */
	sigemptyset(&sa.sa_mask);
	cli_tty_signal = 0;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
	quiet.c_lflag |= ICANON;
	(void)tcsetattr(fd, TCSAFLUSH, &quiet);
	(void)!write(fd, prompt, strlen(prompt));
	rc = cli_password_read_fd(fd, buf, cap, why_r);
	(void)!write(fd, "\n", 1);
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &old[i], NULL);
	if (cli_tty_signal != 0) {
		explicit_bzero(buf, cap);
		raise(cli_tty_signal);
		*why_r = "interrupted";
		return -1;
	}
	return rc;
}

static int
cli_password_tty(char *buf, size_t cap)
{
	char again[CLI_PASSWORD_BUF];
	const char *why = NULL;
	int fd, rc = -1;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		cli_err("no terminal to read the password from "
			"(use --password-stdin)");
		return -1;
	}
	if (cli_tty_read(fd, "Password: ", buf, cap, &why) < 0)
		cli_err("%s", why);
	else if (cli_tty_read(fd, "Repeat password: ", again, sizeof(again),
			      &why) < 0)
		cli_err("%s", why);
	else if (strcmp(buf, again) != 0)
		cli_err("passwords do not match");
	else
		rc = 0;
	explicit_bzero(again, sizeof(again));
	if (rc < 0)
		explicit_bzero(buf, cap);
	close(fd);
	return rc;
}

int
cli_password_get(bool from_stdin, char *buf, size_t cap)
{
	const char *why = NULL;

	if (!from_stdin)
		return cli_password_tty(buf, cap);
	if (cli_password_read_fd(STDIN_FILENO, buf, cap, &why) < 0) {
		cli_err("%s", why);
		return -1;
	}
	return 0;
}

bool
cli_err_is_locked(const char *err)
{
	return err != NULL && (strcasestr(err, "locked") != NULL ||
			       strcasestr(err, "busy") != NULL);
}

void
cli_store_err(const char *what, const char *err)
{
	if (err == NULL || *err == '\0')
		err = "unknown store error";
	if (cli_err_is_locked(err))
		cli_err("%s: the database stayed locked by another process "
			"for too long; nothing was changed, try again (%s)",
			what, err);
	else
		cli_err("%s: %s", what, err);
}

struct store *
cli_store_open(const struct config *cfg)
{
	char err[256] = "";
	struct store *st;

	if (privdrop_prepare_dir(cfg->data_dir, cfg->run_user, err,
				 sizeof(err)) < 0 ||
	    privdrop_to_user(cfg->run_user, err, sizeof(err)) < 0) {
		cli_err("%s", err[0] != '\0' ? err : "cannot drop privileges");
		return NULL;
	}
	st = store_open(cfg->store_url[0] != '\0' ? cfg->store_url : NULL,
			cfg->data_dir, err, sizeof(err));
	if (st == NULL) {
		cli_store_err("cannot open the store", err);
		return NULL;
	}
	return st;
}

void
cli_store_close(const struct config *cfg, struct store **stp)
{
	store_close(stp);
	store_changes_bump(cfg->data_dir);
}

int
cli_list_domain_ok(struct store *st, const char *dom)
{
	int r;

	if (dom == NULL)
		return CLI_EXIT_OK;
	r = store_domain_exists(st, dom);
	if (r == 0)
		cli_err("no such domain %s", dom);
	else if (r < 0)
		cli_store_err(dom, st->err);
	return r > 0 ? CLI_EXIT_OK : CLI_EXIT_ERR;
}

int
cli_print_list(int list_rc, char **items, const char *what, const char *err)
{
	if (list_rc < 0) {
		cli_store_err(what, err);
		return CLI_EXIT_ERR;
	}
	for (size_t i = 0; items != NULL && items[i] != NULL; i++)
		printf("%s\n", items[i]);
	store_strv_free(items);
	if (fflush(stdout) != 0) {
		cli_err("cannot write the list");
		return CLI_EXIT_ERR;
	}
	return CLI_EXIT_OK;
}
