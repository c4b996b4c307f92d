/*
 * Our own MIME parser (RFC 5322 headers, RFC 2045-2049 MIME, RFC 2047 encoded
 * words, RFC 2231 parameters), tolerant of the broken mail found in real life.
 * A message is parsed once, at delivery or APPEND: its ENVELOPE, BODY and
 * BODYSTRUCTURE (RFC 9051 §7.5.2) and a part map (the byte offsets of every
 * part) are stored, so FETCH never parses a message again.
 */
#ifndef POSTEL_MIME_H
#define POSTEL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

/* Hostile nesting and part counts are cut off here: deeper or further
 * parts are treated as opaque text of their parent. */
#define MIME_MAX_DEPTH 32
#define MIME_MAX_PARTS 2000

struct mime_param {
	char *name;  /* lower-case */
	char *value; /* RFC 2231 continuations joined; charset-decoded to UTF-8 */
};

enum mime_kind {
	MIME_KIND_LEAF = 0,
	MIME_KIND_MULTIPART,
	MIME_KIND_MESSAGE, /* message/rfc822 (or message/global): one child */
};

struct mime_part {
	enum mime_kind kind;
	/* Byte offsets into the whole message. The header block includes the
	 * empty line that ends it (when present). */
	size_t header_off, header_len;
	size_t body_off, body_len;
	size_t body_lines;
	char *type, *subtype;   /* lower-case; defaults per RFC 2045 §5.2 and
				 * RFC 2046 §5.1.5 (digest) */
	struct mime_param *params;
	size_t n_params;
	char *id, *description, *encoding, *md5; /* NULL when absent */
	char *disposition;       /* lower-case, NULL when absent */
	struct mime_param *disp_params;
	size_t n_disp_params;
	char *language, *location;
	struct mime_part *children; /* multipart parts, or the one message */
	size_t n_children;
};

/* Parses msg[0..len). Never fails on bad input (broken boundaries, missing
 * headers, bad encodings are tolerated as a real client would); -1 only
 * when memory runs out. *root_r is freed with mime_free. */
int mime_parse(const char *msg, size_t len, struct mime_part **root_r);
void mime_free(struct mime_part **rootp);

/* IMAP ENVELOPE of the message whose header is hdr[0..len) (RFC 9051
 * §7.5.2), appended to out as one IMAP parenthesised list. Strings are sent
 * as quoted strings when safe, otherwise as literals; 8-bit header text is
 * kept as UTF-8 (IMAP4rev2). 0 or -1 (out full). */
int mime_envelope(const char *hdr, size_t len, struct buf *out);
/* BODY (extended = false) or BODYSTRUCTURE (extended = true) of part. */
int mime_bodystructure(const char *msg, size_t len,
		       const struct mime_part *part, bool extended,
		       struct buf *out);

/* The part map: a compact serialisation of every part's offsets and kind,
 * stored beside the ENVELOPE/BODYSTRUCTURE strings. */
int mime_partmap_build(const struct mime_part *root, struct buf *out);

/* Where a section's bytes are (RFC 9051 §6.4.5 section-spec). For part
 * path [1,2]: header = its MIME header, body = its body. For a
 * message/rfc822 part, msg_header/msg_body are the embedded message's
 * header and body (for "1.2.HEADER", "1.2.TEXT", "1.2" whole). */
struct mime_section {
	enum mime_kind kind;
	size_t header_off, header_len;
	size_t body_off, body_len;
	bool has_msg;
	size_t msg_header_off, msg_header_len;
	size_t msg_body_off, msg_body_len;
	char encoding[32]; /* Content-Transfer-Encoding, lower-case, or "" */
};

/* path[0..depth) are part numbers (1-based); depth 0 is the whole message
 * (header = message header, body = message text; has_msg is set and msg_*
 * repeat them). 1 found, 0 no such part,
 * -1 malformed map. RFC 9051 §6.4.5: a non-multipart message has part 1 =
 * its body. */
int mime_partmap_find(const char *map, size_t maplen, const uint32_t *path,
		      size_t depth, struct mime_section *sec_r);

/* Content-Transfer-Encoding decoding for BINARY (RFC 3516) and SEARCH:
 * "base64", "quoted-printable", "7bit", "8bit", "binary" (or "").
 * 0 ok; -1 unknown encoding (BINARY answers NO [UNKNOWN-CTE]); broken
 * base64/QP is decoded as well as possible, never an error; -2 when out
 * is full or memory runs out. */
int mime_decode_body(const char *encoding, const char *in, size_t len,
		     struct buf *out);

/* Length of the header block at p[0..len), including the empty line that
 * ends it; len when there is no empty line (header-only entity). The one
 * rule FETCH, SEARCH and SORT all use. */
size_t mime_header_block_len(const char *p, size_t len);

/* Header field helpers (rfc5322.c). Iterates over the fields of a header
 * block: 1 with *field filled, 0 at the end. Values are raw (folded). */
struct mime_field {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};
int mime_next_field(const char *hdr, size_t len, size_t *pos,
		    struct mime_field *field);
/* Unfolds and decodes RFC 2047 encoded words into UTF-8 (charsets other
 * than UTF-8 through iconv; undecodable words are kept as written). */
int mime_decode_header(const char *value, size_t len, struct buf *out);
/* Converts text in charset to UTF-8 (invalid bytes become U+FFFD). */
int mime_to_utf8(const char *charset, const char *in, size_t len,
		 struct buf *out);

/* The mailboxes of an address-list field value v[0..len) (From:, Sender:,
 * RFC 5322 §3.4), parsed exactly as for ENVELOPE (mime_imap_addresses, so
 * what is checked is what an IMAP client shows): for each mailbox, also
 * inside groups, cb gets its local part and domain as written (quoted
 * strings keep their quotes, comments and white space are dropped; the
 * domain is empty when missing). cb returns 0 to go on or -1 to stop.
 * 0, or -1 (cb stopped or memory ran out). Pure, no allocation beyond
 * O(len). */
typedef int (*mime_addr_cb)(const char *local, size_t local_len,
			    const char *domain, size_t domain_len, void *arg);
int mime_addresses(const char *v, size_t len, mime_addr_cb cb, void *arg);

/* The first mailbox of an address-list field value v[0..len) (addr.c),
 * skipping group names and empty members: phrase is its display name as
 * written (encoded words left encoded, quotes and comments removed, white
 * space runs one space, trimmed), spec its addr-spec unquoted without
 * white space or an obsolete route; each cut at MIME_PHRASE_MAX - 1 bytes.
 * Without angle brackets the words read are the addr-spec (plen 0). true
 * when one was found. */
#define MIME_PHRASE_MAX 1024
struct mime_mailbox {
	char phrase[MIME_PHRASE_MAX];
	size_t plen;
	char spec[MIME_PHRASE_MAX];
	size_t slen;
};
bool mime_first_mailbox(const char *v, size_t len, struct mime_mailbox *a);

/* RFC 5322 §3.3 date-time (date.c; tolerant of obsolete forms and
 * missing weekday/seconds/zone). *t_r: the instant in unix seconds (UTC);
 * *day_r: the calendar day as written, in days since 1970-01-01 (the
 * "date in its own zone" of IMAP SENT*). 0 ok, -1 unparseable. */
int mime_parse_date(const char *s, size_t len, int64_t *t_r, int64_t *day_r);

/* Everything stored per message at delivery and APPEND: ENVELOPE, BODY,
 * BODYSTRUCTURE (each a complete parenthesised IMAP list, NUL-terminated,
 * possibly holding literals "{n}\r\n...") and the part map (text,
 * NUL-terminated, *partmap_len_r without the NUL). All malloc'ed, freed
 * by the caller. 0, or -1 when memory runs out (outputs then NULL). */
int mime_compute_meta(const char *msg, size_t len, char **envelope_r,
		      char **body_r, char **bodystructure_r, char **partmap_r,
		      size_t *partmap_len_r);

/* The search fields (fields.c): From, To, Cc, Bcc, Subject and Date, the
 * header fields that SEARCH keys and SORT criteria read. mime_search_fields
 * copies those of the message's header, as written, into a header block
 * of their own (CRLF-terminated lines; "\r\n" alone when there are
 * none), malloc'ed and NUL-terminated, stored with the metadata. -1 when
 * they exceed MIME_SEARCH_FIELDS_MAX or memory runs out: readers then use
 * the message itself. */
#define MIME_SEARCH_FIELDS_MAX (256 * 1024)
bool mime_is_search_field(const char *name, size_t len);
int mime_search_fields(const char *msg, size_t len, char **fields_r,
		       size_t *fields_len_r);

/* The first Message-ID field of the message's header (RFC 5322 §3.6.4),
 * unfolded, blanks collapsed and trimmed, cut to outlen - 1 octets, into
 * out (NUL-terminated); returns its length, 0 when there is none. For the
 * acceptance log line. */
size_t mime_message_id(const char *msg, size_t len, char *out,
		       size_t outlen);

/* Length of the fields of a header block (a header section with or
 * without the empty line that ends it: a header-only entity may lack
 * one), without that empty line. */
size_t mime_fields_len(const char *h, size_t len);

/* RFC 6152 §3, RFC 2045: rewrites a message with 8-bit octets as 7-bit,
 * for a next hop without 8BITMIME (downgrade.c). A message without 8-bit
 * octets is appended unchanged. Otherwise every leaf part (or the single
 * body) with 8-bit octets is re-encoded, its Content-Transfer-Encoding
 * field replaced: text as quoted-printable (RFC 2045 §6.7; CRLF stays the
 * line break, every other octet is kept exactly, so decoding gives the
 * original bytes back), other types and parts that were base64 as base64
 * (§6.8); a leaf that claims quoted-printable or base64 but holds raw
 * 8-bit octets is decoded first. Multiparts keep their boundaries and are
 * labelled 7bit; parts and headers already 7-bit are copied octet for
 * octet; 8-bit text in a preamble or epilogue is dropped (RFC 2046
 * §5.1.1: it is ignored). The top-level header gains "MIME-Version: 1.0"
 * when it lacks one and a part was re-encoded.
 * 0: the converted message was appended to out; 1: it cannot be
 * converted (8-bit octets in a header field, in a message/ or multipart/
 * entity that may not be re-encoded, RFC 2045 §6.4, or under an unknown
 * transfer encoding): bounce with 5.6.3, out unchanged; -1: out of
 * memory or out full (out unchanged). */
int mime_downgrade_7bit(const char *msg, size_t len, struct buf *out);

#endif
