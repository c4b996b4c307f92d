/*
 * libFuzzer target for the POP3 command parser: no crash, arguments inside
 * the input, argument counts and numbers within the documented bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "pop3/pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_pop3_check(const char *line, size_t size, const struct pop3_cmd *cmd)
{
	if (cmd->verb <= POP3_VERB_UNKNOWN || cmd->verb >= POP3_VERB_COUNT ||
	    cmd->nargs > POP3_MAX_ARGS || size > LIMIT_POP3_LINE)
		abort();
	for (size_t i = 0; i < cmd->nargs; i++) {
		if (cmd->args[i] < line || cmd->arg_lens[i] == 0 ||
		    cmd->args[i] + cmd->arg_lens[i] > line + size ||
		    memchr(cmd->args[i], '\0', cmd->arg_lens[i]) != NULL)
			abort();
	}
	if (cmd->verb == POP3_VERB_PASS &&
	    (cmd->rest == NULL || cmd->rest_len == 0))
		abort();
	if ((cmd->verb == POP3_VERB_RETR || cmd->verb == POP3_VERB_DELE) &&
	    cmd->num[0] == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_cmd cmd;
	const char *err = NULL;
	char *line = malloc(size ? size : 1);

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	if (pop3_parse_command(line, size, &cmd, &err) == 0)
		fuzz_pop3_check(line, size, &cmd);
	else if (err == NULL || err[0] == '\0')
		abort();
	free(line);
	return 0;
}
