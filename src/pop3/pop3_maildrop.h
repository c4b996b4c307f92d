/*
 * The POP3 maildrop: the INBOX listing taken at login, RETR/TOP streamed
 * from the message file on workers, and the deletions applied at QUIT
 * through the group commit (RFC 1939 §6: only in the UPDATE state).
 */
#ifndef POSTEL_POP3_MAILDROP_H
#define POSTEL_POP3_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pop3_session;

/* Output state of RFC 1939 §3 byte-stuffing of a message (also TOP's line
 * limit, RFC 1939 §7). Pure, so it is unit-tested without a server. */
struct pop3_stuff {
	bool mid_line;       /* some byte of the current line was emitted */
	bool prev_cr;        /* the last byte emitted was a CR */
	bool line_has_text;  /* the current line holds more than CRs */
	bool top;            /* stop after the header and top_lines lines */
	bool in_body;        /* the blank line after the header was seen */
	unsigned long top_lines;
	unsigned long body_lines;
	bool done;           /* TOP limit reached: ignore further input */
};

/* Worst-case output of pop3_stuff_chunk() for n input bytes. */
#define POP3_STUFF_OUT_MAX(n) (2 * (n))
/* Worst case of pop3_stuff_finish(): CRLF + ".\r\n". */
#define POP3_STUFF_FINISH_MAX 5

void pop3_stuff_init(struct pop3_stuff *st, bool top,
		     unsigned long top_lines);
/* Dot-stuffs in[0..len), turning bare LF into CRLF, into out (room for
 * POP3_STUFF_OUT_MAX(len)). Returns the bytes written; st->done tells that
 * TOP has everything it needs. */
size_t pop3_stuff_chunk(struct pop3_stuff *st, const uint8_t *in, size_t len,
			uint8_t *out);
/* Ends the last line if needed and writes the terminating ".\r\n" into out
 * (room for POP3_STUFF_FINISH_MAX). Returns the bytes written. */
size_t pop3_stuff_finish(struct pop3_stuff *st, uint8_t *out);

/* After a successful authentication: looks up the INBOX, locks it (RFC 1939
 * §8), lists it and enters TRANSACTION, replying +OK or -ERR. */
void pop3_maildrop_open(struct pop3_session *s);
/* Frees the listing (the lock is the session's). */
void pop3_maildrop_fini(struct pop3_session *s);
/* Message n (1-based) when it exists and is not marked deleted, else NULL
 * after replying "-ERR no such message". */
const struct store_msg *pop3_maildrop_get(struct pop3_session *s,
					  unsigned long n);
/* Count and octets of the messages not marked deleted. */
void pop3_maildrop_stat(const struct pop3_session *s, size_t *count_r,
			int64_t *octets_r);
/* RETR (top false) or TOP n lines: streams message n. */
void pop3_maildrop_retr(struct pop3_session *s, unsigned long n, bool top,
			unsigned long lines);
/* The conn's output drained: a RETR waiting for room reads on. */
void pop3_maildrop_retr_drain(struct pop3_session *s);
/* Frees a RETR in progress (connection gone). */
void pop3_maildrop_retr_free(struct pop3_session *s);
/* QUIT in TRANSACTION: expunges the marked messages durably, then replies
 * and closes (RFC 1939 §6). */
void pop3_maildrop_update(struct pop3_session *s);

#endif
