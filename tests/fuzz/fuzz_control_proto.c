/*
 * libFuzzer target for the control socket's line protocol
 * (server/control_proto.h): the request parser the server runs and the
 * reply parser the admin commands run. No crash; what comes out stays
 * within the documented bounds; an escaped field reads back the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/control_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_req req;
	static struct control_reply rep;
	const char *err = NULL;
	char esc[CONTROL_FIELD_MAX * 3 + 8], line[sizeof(esc) + 8];
	int n;

	if (control_parse_request((const char *)data, size, &req, &err) == 0) {
		if (strlen(req.arg) > CONTROL_ARG_MAX ||
		    req.verb > CONTROL_KICK)
			abort();
	} else if (err == NULL) {
		abort();
	}
	err = NULL;
	if (control_parse_reply((const char *)data, size, &rep, &err) == 0) {
		if (rep.n_fields > CONTROL_FIELDS_MAX ||
		    (rep.kind == CONTROL_LINE_DATA && rep.n_fields == 0))
			abort();
		for (size_t i = 0; i < rep.n_fields; i++)
			if (strlen(rep.fields[i]) > CONTROL_FIELD_MAX ||
			    rep.fields[i][0] == '\0')
				abort();
	} else if (err == NULL) {
		abort();
	}
	/* Round trip: a field without NUL, escaped, parses back as itself. */
	if (size == 0 || size > CONTROL_FIELD_MAX ||
	    memchr(data, '\0', size) != NULL)
		return 0;
	n = control_escape((const char *)data, size, esc, sizeof(esc));
	if (n < 0 || (size_t)n + 2 > sizeof(line))
		abort();
	memcpy(line, "* ", 2);
	memcpy(line + 2, esc, (size_t)n);
	if (control_parse_reply(line, (size_t)n + 2, &rep, &err) < 0 ||
	    rep.n_fields != 1 || strlen(rep.fields[0]) != size ||
	    memcmp(rep.fields[0], data, size) != 0)
		abort();
	return 0;
}
