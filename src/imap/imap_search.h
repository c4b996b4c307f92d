/*
 * SEARCH and SORT evaluation (RFC 9051 §6.4.4, RFC 5256). Pure: the session
 * gives each message's metadata and, when the search needs them, its bytes;
 * this module decides. Text keys match decoded headers (RFC 2047) and
 * decoded bodies (base64, quoted-printable, charset -> UTF-8) as
 * case-insensitive UTF-8 substrings. Runs on a worker thread (it may read
 * and decode whole messages).
 */
#ifndef POSTEL_IMAP_SEARCH_H
#define POSTEL_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"

struct imap_search_msg {
	uint32_t seq;
	uint32_t uid;
	uint32_t flags;        /* store.h enum store_flag */
	const char *keywords;  /* space-separated, or NULL */
	uint64_t modseq;
	int64_t size;
	int64_t internaldate;  /* unix seconds */
	int64_t savedate;      /* RFC 8514, unix seconds */
	int64_t blob_id;       /* RFC 8474 EMAILID "M<blob_id>" */
	bool recent;
	const char *data;      /* the whole message, or NULL when not needed */
	size_t len;
	/* The stored search fields (mime_search_fields), or NULL: keys and
	 * sort criteria on those fields read them instead of data. */
	const char *fields;
	size_t fields_len;
};

/* What the evaluation will need, so the caller reads files only then. */
bool imap_search_needs_text(const struct imap_search_node *root);
/* Keys that read the message file itself (BODY, TEXT, HEADER of a field
 * outside the search fields), and keys the search fields answer. */
bool imap_search_needs_file(const struct imap_search_node *root);
bool imap_search_needs_fields(const struct imap_search_node *root);
/* Keys that need the file, size or internal date of the messages (not
 * kept in the selected view: read from the store first). */
bool imap_search_needs_row(const struct imap_search_node *root);

/* 1 when m matches, 0 when not. max_seq / max_uid give "*". A date key
 * compares internaldate (or the Date: header for SENT*) by calendar day in
 * the message's own time zone for SENT*, UTC for the internal date. */
int imap_search_match(const struct imap_search_node *root,
		      const struct imap_search_msg *m, uint32_t max_seq,
		      uint32_t max_uid);

/* ---- SORT (RFC 5256) ---- */
enum imap_sort_key {
	IMAP_SORT_ARRIVAL = 0, IMAP_SORT_CC, IMAP_SORT_DATE, IMAP_SORT_FROM,
	IMAP_SORT_SIZE, IMAP_SORT_SUBJECT, IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM, IMAP_SORT_DISPLAYTO, /* RFC 5957 */
};
struct imap_sort_crit {
	enum imap_sort_key key;
	bool reverse;
};
#define IMAP_SORT_MAX_CRIT 16
struct imap_sort_program {
	struct imap_sort_crit crit[IMAP_SORT_MAX_CRIT];
	size_t n;
};
/* list is the parenthesised sort criteria. 0 or -1 with *err_r. */
int imap_sort_parse(const struct imap_arg *list,
		    struct imap_sort_program *p, const char **err_r);
/* Sorts msgs[0..n) in place; each message's header is needed
 * (m->data/len: at least the header block). Ties fall back to sequence
 * order (RFC 5256 §3). */
void imap_sort_messages(const struct imap_sort_program *p,
			struct imap_search_msg *msgs, size_t n);
/* RFC 5256 §2.1 base subject of a decoded subject; out NUL-terminated. */
void imap_base_subject(const char *subject, char *out, size_t outcap);
/* Of a header block hdr[0..len): the first field called name into out
 * (RFC 2047-decoded with decode), false when there is none; the base
 * subject (new string, NULL when memory runs out); the sent date (Date:,
 * else m's internal date). tmp is scratch. */
struct buf;
bool imap_sort_field(const char *hdr, size_t len, const char *name,
		     bool decode, struct buf *out);
char *imap_sort_subject(const char *hdr, size_t len, struct buf *tmp);
int64_t imap_sort_date(const char *hdr, size_t len,
		       const struct imap_search_msg *m, struct buf *tmp);

/* ---- THREAD (RFC 5256 §2.2, §2.3), imap_thread.c ---- */
enum imap_thread_alg {
	IMAP_THREAD_ORDEREDSUBJECT = 0,
	IMAP_THREAD_REFERENCES,
};
/* A reference chain deeper than this is cut (no link is made that would
 * go deeper), so every walk of the tree is bounded. */
#define IMAP_THREAD_MAX_DEPTH 512
/* The algorithm's name (case-insensitive): 0, or -1 when unknown. */
int imap_thread_alg_parse(const char *name, size_t len,
			  enum imap_thread_alg *alg_r);
/* Threads msgs[0..n) (each with its header: m->data, else m->fields;
 * seq order) and appends the thread lists ("(1 2)(3 (4)(5))") to out,
 * numbered by UID with uid, else by sequence number. 0 or -1 (memory). */
int imap_thread_build(enum imap_thread_alg alg,
		      const struct imap_search_msg *msgs, size_t n, bool uid,
		      struct buf *out);

/* ---- helpers shared by imap_search.c, imap_sort.c and imap_text.c ---- */
struct buf;
/* Appends s[0..len) case-folded to out: ASCII, Latin-1, Latin Extended-A,
 * Greek and Cyrillic letters map to their lower-case form; bytes that are
 * not valid UTF-8 are copied as themselves. The result is never longer
 * than the input. 0 or -1 (out full). */
int imap_text_fold(const char *s, size_t len, struct buf *out);
/* true when needle[0..nlen) occurs in hay[0..hlen); both already folded.
 * An empty needle is found in any haystack. */
bool imap_text_find(const char *hay, size_t hlen, const char *needle,
		    size_t nlen);
/* true when s[0..len) holds only white space, CR, LF and NUL: a header
 * value with nothing to decode. */
bool imap_text_blank(const char *s, size_t len);

#endif
