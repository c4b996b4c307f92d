/*
 * The control socket's line protocol (DATA_DIR/control, ours): what
 * `postel status|who|kick` and `user show|del` say to a running server.
 * Pure: bytes in, structs out; used by the server (control.c) and the
 * admin commands (src/cli/cli_control.c), fuzzed
 * (tests/fuzz/fuzz_control_proto.c).
 *
 * One request per connection. The client sends one line, "VERB" or
 * "VERB ARG" (ASCII, at most CONTROL_LINE_MAX octets before LF or CRLF):
 *   STATUS        server facts: "* version V", "* started UNIXTIME",
 *                 "* listener PROTO ADDR:PORT", "* sessions PROTO N",
 *                 "* users N" (distinct logged-in users)
 *   WHO [ADDRESS] one "* USER PROTO IP LOGIN_UNIXTIME SESSION_ID" per
 *                 logged-in session (only ADDRESS's when given)
 *   KICK ADDRESS  ends ADDRESS's sessions on every protocol: "* kicked N"
 * The server answers with data lines ("* " then fields separated by one
 * space, each percent-escaped: control_escape) and one last line, "OK" or
 * "ERR text", then closes.
 */
#ifndef POSTEL_CONTROL_PROTO_H
#define POSTEL_CONTROL_PROTO_H

#include <stddef.h>

/* The socket's name in the data directory. */
#define CONTROL_SOCKET_NAME "control"
/* Longest request or reply line (without its line end). */
#define CONTROL_LINE_MAX 1024
/* Longest argument (an address, RFC 5321 §4.5.3.1.3). */
#define CONTROL_ARG_MAX 320
/* Most fields in one data line, longest field once unescaped. */
#define CONTROL_FIELDS_MAX 8
#define CONTROL_FIELD_MAX 320

enum control_verb {
	CONTROL_STATUS,
	CONTROL_WHO,
	CONTROL_KICK,
};

struct control_req {
	enum control_verb verb;
	char arg[CONTROL_ARG_MAX + 1]; /* "" when none */
};

/* line[0..len) without its line end. 0, or -1 with a static *err_r
 * ("unknown command", "missing argument", ...). */
int control_parse_request(const char *line, size_t len,
			  struct control_req *req, const char **err_r);

enum control_line_kind {
	CONTROL_LINE_DATA, /* "* f1 f2 ..." */
	CONTROL_LINE_OK,   /* "OK" */
	CONTROL_LINE_ERR,  /* "ERR text" */
};

struct control_reply {
	enum control_line_kind kind;
	size_t n_fields;
	char fields[CONTROL_FIELDS_MAX][CONTROL_FIELD_MAX + 1];
	char text[CONTROL_LINE_MAX + 1]; /* ERR's text, printable only */
};

/* One reply line[0..len) without its line end. 0, or -1 with *err_r. */
int control_parse_reply(const char *line, size_t len,
			struct control_reply *rep, const char **err_r);

/* Writes in[0..len) into out with the octets a field cannot carry
 * (space and below, DEL and above, '%') as %XX, NUL-terminated. Returns
 * the length written, or -1 when out (outlen) is too small. */
int control_escape(const char *in, size_t len, char *out, size_t outlen);

#endif
