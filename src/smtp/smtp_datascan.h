/*
 * The framing step of the DATA reader (smtp_data.c), apart from the
 * session so that a fuzz target can feed it the same input split at every
 * offset. Policy (RFC 5321 §4.1.1.4, §4.5.2): only CRLF "." CRLF ends the
 * text (the text starts as if after a CRLF); a bare CR or bare LF is
 * emitted as a line end like CRLF; a line's leading "." is dropped.
 */
#ifndef POSTEL_SMTP_DATASCAN_H
#define POSTEL_SMTP_DATASCAN_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_datascan {
	bool line_start; /* the next octet starts a line */
	bool prev_crlf;  /* ... and the line before ended with CRLF */
};

/* Called with a line's text (eol false, len > 0; the line may come in
 * several pieces) or at its end (eol true, p NULL, len 0: the caller
 * writes CRLF). */
typedef void (*smtp_datascan_emit_fn)(void *arg, const char *p, size_t len,
				      bool eol);

/* The state at the start of DATA text. */
void smtp_datascan_init(struct smtp_datascan *st);
/* Consumes p[0..n). Returns the number of octets used; sets *done when the
 * terminating CRLF.CRLF was seen (its octets are used). Stops early (fewer
 * octets used) when a decision needs octets that have not arrived yet (a
 * CR, or a leading "." after CRLF): call again with them prepended. */
size_t smtp_datascan_step(struct smtp_datascan *st, const char *p, size_t n,
			  bool *done, smtp_datascan_emit_fn emit, void *arg);

#endif
