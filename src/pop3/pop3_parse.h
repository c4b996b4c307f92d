/*
 * POP3 command parser (RFC 1939 §3, RFC 2449 §3): one command line -> struct
 * pop3_cmd. Pure: no I/O or session state. Arguments point into the line.
 */
#ifndef POSTEL_POP3_PARSE_H
#define POSTEL_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>

enum pop3_verb {
	POP3_VERB_UNKNOWN = 0,
	POP3_VERB_USER,
	POP3_VERB_PASS,
	POP3_VERB_AUTH,
	POP3_VERB_STAT,
	POP3_VERB_LIST,
	POP3_VERB_RETR,
	POP3_VERB_TOP,
	POP3_VERB_UIDL,
	POP3_VERB_DELE,
	POP3_VERB_RSET,
	POP3_VERB_NOOP,
	POP3_VERB_QUIT,
	POP3_VERB_CAPA,
	POP3_VERB_STLS,
	POP3_VERB_APOP,
	POP3_VERB_COUNT
};

#define POP3_MAX_ARGS 2

struct pop3_cmd {
	enum pop3_verb verb;
	size_t nargs;
	const char *args[POP3_MAX_ARGS]; /* not terminated */
	size_t arg_lens[POP3_MAX_ARGS];
	/* For PASS, the whole rest of the line (passwords may hold spaces). */
	const char *rest;
	size_t rest_len;
	/* Numeric arguments when the verb takes them (LIST/RETR/TOP/UIDL/DELE
	 * message number, TOP line count); valid for i < nargs. */
	unsigned long num[POP3_MAX_ARGS];
};

/* line/len without CRLF. 0 ok; -1 with *err_r = constant text for "-ERR"
 * (unknown command, wrong argument count, non-numeric or zero message
 * number, NUL byte, keyword longer than 4). Verbs are case-insensitive;
 * argument counts are checked per verb (RFC 1939 §5-7). */
/* The verb's keyword ("TOP"), "?" for none. */
const char *pop3_verb_name(enum pop3_verb verb);

int pop3_parse_command(const char *line, size_t len, struct pop3_cmd *cmd,
		       const char **err_r);

#endif
