/*
 * Internal helpers shared by the files of src/mime/ (not for other modules):
 * header unfolding, charset conversion, parameter parsing, IMAP string
 * quoting.
 */
#ifndef POSTEL_MIME_INT_H
#define POSTEL_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mime.h"

/* Parameters kept from one Content-Type/Disposition field; more are
 * ignored (hostile headers must not cost more than a bounded amount). */
#define MIME_MAX_PARAMS 64
/* RFC 2231 §3: continuation sections per parameter we join. */
#define MIME_MAX_SECTIONS 100
/* Longest charset name we pass to iconv. */
#define MIME_MAX_CHARSET 64
/* Output buffers of mime_compute_meta: the input is already bounded by
 * the message size limit; this only guards against arithmetic surprises. */
#define MIME_META_MAX ((size_t)1 << 30)

/* partmap.c: hands a buffer's contents over as a NUL-terminated string
 * (the buffer is left empty); NULL when memory runs out. */
char *mime_buf_steal(struct buf *b);

/* rfc5322.c */
/* True when the field's name is name (case-insensitive). */
bool mime_field_is(const struct mime_field *f, const char *name);
/* RFC 5322 §2.2.3: unfolding removes CR and LF; also trims surrounding
 * white space. Appends to out; 0 or -1. */
int mime_unfold(const char *v, size_t len, struct buf *out);
/* The same, as a new NUL-terminated string (NUL bytes dropped); NULL
 * only when memory runs out. */
char *mime_unfold_dup(const char *v, size_t len);
/* Counts LF characters (IMAP body-fld-lines, as Dovecot counts them). */
size_t mime_count_lines(const char *p, size_t len);

/* decode.c */
/* Converts in[0..len) from charset (cs[0..cslen)) to UTF-8, appending to
 * out: 0 ok, 1 unknown charset (nothing appended), -1 out of memory. */
int mime_charset_convert(const char *cs, size_t cslen, const char *in,
			 size_t len, struct buf *out);
/* Lenient base64: skips characters outside the alphabet. */
int mime_base64_decode(const char *in, size_t len, struct buf *out);
/* The octet written as two hex digits (either case) at p[0..1], when
 * avail >= 2; else -1. p[1] is read only when p[0] is a digit. */
int mime_hex_byte(const char *p, size_t avail);
/* RFC 2047 §4.2 "Q" encoding: '_' is a space, =XX a byte. */
int mime_q_decode(const char *in, size_t len, struct buf *out);

/* params.c */
/* Skips CFWS (RFC 5322 §3.2.2: white space and comments, which nest and
 * may hold quoted pairs) from v[*i]; *i ends at the next other byte or len. */
void mime_skip_cfws(const char *v, size_t len, size_t *i);
/* RFC 2045 §5.1 Content-Type value: lower-cased type and subtype (NULL
 * when the syntax is invalid) and parameters with RFC 2231 continuations
 * joined and decoded. 0 or -1 (out of memory; outputs then freed). */
int mime_parse_ctype(const char *v, size_t len, char **type_r,
		     char **subtype_r, struct mime_param **params_r,
		     size_t *n_r);
/* RFC 2183 Content-Disposition: lower-cased disposition token. */
int mime_parse_disposition(const char *v, size_t len, char **disp_r,
			   struct mime_param **params_r, size_t *n_r);
/* A single token (Content-Transfer-Encoding), lower-cased; NULL when
 * absent or not a valid token. 0 or -1. */
int mime_parse_token(const char *v, size_t len, char **tok_r);
void mime_params_free(struct mime_param *params, size_t n);

/* imapstr.c */
/* RFC 9051 §4.3: a quoted string, or a literal when the text holds 8-bit
 * or control characters (NUL bytes are dropped: a literal may not hold
 * them). 0 or -1 (out full). */
int mime_imap_string(struct buf *out, const char *s, size_t len);
/* The same for a C string; NULL is NIL. */
int mime_imap_nstring(struct buf *out, const char *s);
/* Address lists (RFC 5322 §3.4) in IMAP syntax: "((name adl mbox host)
 * ...)" or NIL when the value holds no address. */
int mime_imap_addresses(struct buf *out, const char *v, size_t len);

#endif
