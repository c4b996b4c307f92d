/*
 * libFuzzer target for the SMTP command parser. Besides "no crash", it
 * checks the parser's promises: arguments point inside the input, the path
 * fits its limits, and the error reply is always filled in.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_smtp_check_inside(const uint8_t *data, size_t size, const char *p,
		       size_t n)
{
	if (p == NULL)
		return;
	if ((const uint8_t *)p < data || n > size ||
	    (const uint8_t *)p + n > data + size)
		abort();
}

static void
fuzz_smtp_check_cmd(const uint8_t *data, size_t size,
		    const struct smtp_cmd *cmd)
{
	size_t at;

	if (cmd->verb <= SMTP_VERB_UNKNOWN || cmd->verb >= SMTP_VERB_COUNT)
		abort();
	fuzz_smtp_check_inside(data, size, cmd->arg, cmd->arg_len);
	if (cmd->n_params > SMTP_MAX_PARAMS)
		abort();
	for (size_t i = 0; i < cmd->n_params; i++) {
		const struct smtp_param *p = &cmd->params[i];

		if (p->key_len == 0)
			abort();
		fuzz_smtp_check_inside(data, size, p->key, p->key_len);
		fuzz_smtp_check_inside(data, size, p->val, p->val_len);
		if (smtp_cmd_param(cmd, "SIZE") == NULL && p->key_len == 4 &&
		    strncasecmp(p->key, "SIZE", 4) == 0)
			abort();
	}
	if (strlen(cmd->path) > LIMIT_ADDRESS)
		abort();
	if ((cmd->verb == SMTP_VERB_MAIL || cmd->verb == SMTP_VERB_RCPT) &&
	    cmd->path[0] != '\0' && strcmp(cmd->path, "postmaster") != 0 &&
	    smtp_split_address(cmd->path, &at) < 0)
		abort();
	if (cmd->verb == SMTP_VERB_RCPT && cmd->path[0] == '\0')
		abort();
	if (cmd->bdat_size > 9223372036854775807ULL)
		abort();
	/* DSN (RFC 3461): decoded values within their limits and free of
	 * controls (they go into DSN headers); NEVER stands alone. */
	if (strlen(cmd->envid) > SMTP_ENVID_MAX ||
	    strlen(cmd->orcpt) > SMTP_ORCPT_MAX ||
	    ((cmd->notify & SMTP_NOTIFY_NEVER) &&
	     cmd->notify != SMTP_NOTIFY_NEVER))
		abort();
	for (const char *q = cmd->orcpt; *q; q++)
		if ((unsigned char)*q < 32 || *q == 127)
			abort();
	for (const char *q = cmd->envid; *q; q++)
		if ((unsigned char)*q < 32 || (unsigned char)*q >= 127)
			abort();
	if (cmd->orcpt[0] != '\0' && strncmp(cmd->orcpt, "rfc822;", 7) != 0 &&
	    strncmp(cmd->orcpt, "utf-8;", 6) != 0)
		abort();
	/* HELO/EHLO: an ASCII domain or literal (RFC 6531 §3.7.1), within
	 * RFC 5321's length (a trailing dot aside, or a literal). */
	if (cmd->verb == SMTP_VERB_HELO || cmd->verb == SMTP_VERB_EHLO) {
		for (size_t i = 0; i < cmd->arg_len; i++)
			if ((unsigned char)cmd->arg[i] >= 0x80 ||
			    cmd->arg[i] == ' ')
				abort();
		if (cmd->arg_len == 0 ||
		    (cmd->arg[0] != '[' && cmd->arg_len > LIMIT_DOMAIN + 1))
			abort();
	}
	(void)smtp_verb_name(cmd->verb);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_cmd cmd;
	struct smtp_parse_error err;
	/* Copy so ASan sees reads past the exact input length. */
	char *line = malloc(size ? size : 1);

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	if (smtp_parse_command(line, size, &cmd, &err) == 0) {
		fuzz_smtp_check_cmd((const uint8_t *)line, size, &cmd);
	} else if (err.enh == NULL || err.text == NULL ||
		   (err.code != 500 && err.code != 501)) {
		abort();
	} else if (cmd.bdat_size_ok && (cmd.verb != SMTP_VERB_BDAT ||
					cmd.bdat_size > 9223372036854775807ULL)) {
		abort(); /* a refused BDAT's size to skip is always sane */
	}
	/* Every line the parser takes as BDAT is one smtp_line_is_bdat
	 * sees (the dispatcher closes on an unreadable BDAT size). */
	if (smtp_parse_command(line, size, &cmd, &err) == 0 &&
	    cmd.verb == SMTP_VERB_BDAT && !smtp_line_is_bdat(line, size))
		abort();
	(void)smtp_valid_domain(line, size);
	(void)smtp_valid_helo(line, size);
	free(line);
	return 0;
}
