/*
 * The one POP3 reply path: "+OK text" and "-ERR [CODE] text" status lines
 * (RFC 1939 §3, RFC 2449 §8 / RFC 3206 response codes), multi-line bodies
 * and the SASL "+ " continuation. Handlers never write to the connection.
 * Failures are logged here; a password never reaches a reply or a log line.
 */
#ifndef POSTEL_POP3_REPLY_H
#define POSTEL_POP3_REPLY_H

#include <stddef.h>

struct pop3_session;
struct pop3_cmd;

/* RFC 2449 §8 and RFC 3206 response codes. */
#define POP3_CODE_AUTH "AUTH"
#define POP3_CODE_IN_USE "IN-USE"
#define POP3_CODE_SYS_TEMP "SYS/TEMP"
#define POP3_CODE_SYS_PERM "SYS/PERM"

/* Fixed texts, so the same condition always gets the same answer. */
#define POP3_TXT_GREETING "Postel POP3 ready"
#define POP3_TXT_NO_MSG "no such message"
#define POP3_TXT_BYE "Postel POP3 server signing off"
#define POP3_TXT_PLAINTEXT                                                   \
	"Plaintext authentication disallowed on non-secure (SSL/TLS) "       \
	"connections"
#define POP3_TXT_AUTH_FAILED "Authentication failed"
#define POP3_TXT_IN_USE "Mailbox is locked by another session"
#define POP3_TXT_TEMP "Temporary failure, please try again later"

/* RFC 2449 §4: a status line is at most 512 octets with CRLF; longer texts
 * are cut. */
void pop3_reply_ok(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* code NULL for none; otherwise "-ERR [code] text". */
void pop3_reply_err(struct pop3_session *s, const char *code,
		    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One line of a multi-line body; the text must not start with '.'. */
void pop3_reply_line(struct pop3_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Already formatted (dot-stuffed, CRLF) body bytes. */
void pop3_reply_raw(struct pop3_session *s, const void *data, size_t len);
/* ".\r\n": the end of a multi-line body (RFC 1939 §3). */
void pop3_reply_end(struct pop3_session *s);
/* RFC 5034 §4: the empty server challenge "+ ". */
void pop3_reply_continue(struct pop3_session *s);
/* Debug trace of a received command with credentials masked. */
void pop3_reply_log_cmd(struct pop3_session *s, const struct pop3_cmd *cmd);

#endif
