/*
 * IMAP command parser (RFC 9051 §9 grammar, RFC 3501 for rev1): pure
 * functions from bytes to structs, no I/O or session state.
 *
 * Reading a command: the session reads one line; imap_line_literal() tells
 * whether it ends with a literal announcement {N}, {N+} (LITERAL+/-, RFC
 * 7888) or ~{N} (BINARY, RFC 3516). If so (and N is within the limit, checked
 * BEFORE reading or allocating anything) the session sends "+ " for a
 * synchronising literal, reads N octets and the next line, and so on. The
 * complete command (lines with their CRLF and the literal octets) is then
 * given to imap_parse_command().
 */
#ifndef POSTEL_IMAP_PARSE_H
#define POSTEL_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_TAG_MAX 64
#define IMAP_MAX_ARGS 4096      /* all args of one command, nested */
#define IMAP_MAX_DEPTH 16       /* list nesting */

enum imap_arg_type {
	IMAP_ARG_ATOM = 0, /* includes flags like \Seen and BODY[...]-style
			    * atoms: see imap_parse_command */
	IMAP_ARG_STRING,   /* quoted string, unescaped */
	IMAP_ARG_LITERAL,  /* {N} or ~{N} literal */
	IMAP_ARG_LIST,     /* ( ... ) */
	IMAP_ARG_NIL,
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str;  /* ATOM/STRING/LITERAL bytes, not terminated (a
			   * STRING points into the command's scratch copy) */
	size_t len;
	bool literal8;    /* ~{N} */
	struct imap_arg *list; /* LIST children */
	size_t list_n;
};

/* A parsed command. Arguments point into cmd->scratch or the input. */
struct imap_cmd {
	char tag[IMAP_TAG_MAX + 1];
	char name[32];         /* upper-cased command name */
	bool uid;              /* "UID FETCH" etc.: name is the second word */
	struct imap_arg *args; /* top-level arguments */
	size_t n_args;
	/* private storage */
	struct imap_arg *pool;
	size_t pool_n;
	char *scratch;
};

/* 1 when line[0..len) (without CRLF) ends with a literal announcement:
 * *size_r, *nonsync_r ({N+}), *literal8_r (~{N}). 0 when it does not,
 * -1 when the announcement is malformed (BAD). */
int imap_line_literal(const char *line, size_t len, uint64_t *size_r,
		      bool *nonsync_r, bool *literal8_r);

/* Parses a complete command. 0 ok; -1 with *err_r (constant text for a
 * BAD reply) and cmd->tag filled when a tag could be read ("*" otherwise).
 * Free with imap_cmd_free. Command names are matched by the caller.
 * Fetch attributes such as BODY.PEEK[HEADER.FIELDS (A B)]<0.100> arrive as
 * ONE atom, brackets, the nested field list and the partial included. */
int imap_parse_command(const char *buf, size_t len, struct imap_cmd *cmd,
		       const char **err_r);
void imap_cmd_free(struct imap_cmd *cmd);

/* Helpers for handlers. */
bool imap_arg_is_string(const struct imap_arg *a); /* atom/string/literal */
/* Copies an astring/nstring argument into a new NUL-terminated string;
 * NULL when it is not a string or contains NUL. */
char *imap_arg_dup(const struct imap_arg *a);
bool imap_arg_atom_is(const struct imap_arg *a, const char *word); /* ci */

/* ---- sequence sets (RFC 9051 §9 sequence-set, "$" of RFC 5182) ---- */
struct imap_range {
	uint32_t lo, hi; /* lo <= hi once neither is "*" */
	/* "*": the largest number in use, whatever lo/hi hold. Apart from
	 * 4294967295, which is a number like any other: "UID 9:4294967295"
	 * holds nothing in a mailbox whose UIDs end at 8. */
	bool lo_star, hi_star;
};
struct imap_seqset {
	struct imap_range *r;
	size_t n;
	bool saved; /* "$": the session substitutes its saved result */
	bool normalized; /* imap_seqset_normalize: sorted, disjoint, no "*" */
};
/* At s[0] == '{': a literal whose octets follow inline, as the session
 * stores a command ("{N}" or "{N+}", CRLF, N octets). Returns the octets
 * used, with *data_r and *n_r its contents; 0 when malformed or cut
 * short. */
/* RFC 9051 §9 ATOM-CHAR: CHAR except atom-specials. */
bool imap_is_atom_char(unsigned char c);
/* A range's ends with "*" read as max, smaller first (RFC 9051 §9: "4:*"
 * with 3 messages is 3:4). */
void imap_range_bounds(const struct imap_range *r, uint32_t max,
		       uint32_t *lo_r, uint32_t *hi_r);
size_t imap_literal_inline(const char *s, size_t len, const char **data_r,
			   size_t *n_r);
/* 0 ok, -1 malformed (zero, overflow, junk). Ranges are normalised
 * (a:b with a > b swapped), not merged. Free with imap_seqset_free. */
int imap_seqset_parse(const char *s, size_t len, struct imap_seqset *set);
void imap_seqset_free(struct imap_seqset *set);
/* true when n is in set, with "*" meaning max. */
/* Resolves "*" to max, sorts and merges the ranges, so that
 * imap_seqset_contains is a binary search (a 64 KB set can hold 30,000
 * ranges; checked against every message of a mailbox that was quadratic).
 * Only for a set used with this one max. */
void imap_seqset_normalize(struct imap_seqset *set, uint32_t max);
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
			  uint32_t max);

/* ---- FETCH items (RFC 9051 §6.4.5, RFC 3516 BINARY, RFC 7162) ---- */
enum imap_fetch_kind {
	IMAP_FETCH_FLAGS = 0,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,          /* BODY (non-extensible BODYSTRUCTURE) */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_UID,
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_SECTION,       /* BODY[...] / BODY.PEEK[...] */
	IMAP_FETCH_BINARY,        /* BINARY[...] / BINARY.PEEK[...] */
	IMAP_FETCH_BINARY_SIZE,   /* BINARY.SIZE[...] */
	IMAP_FETCH_RFC822,        /* = BODY[] , sets \Seen */
	IMAP_FETCH_RFC822_HEADER, /* = BODY.PEEK[HEADER] */
	IMAP_FETCH_RFC822_TEXT,   /* = BODY[TEXT], sets \Seen */
	IMAP_FETCH_SAVEDATE,      /* RFC 8514 */
	IMAP_FETCH_EMAILID,       /* RFC 8474 */
	IMAP_FETCH_THREADID,
	IMAP_FETCH_PREVIEW,       /* RFC 8970, with or without (LAZY) */
};

enum imap_section_text {
	IMAP_SECTION_ALL = 0,       /* BODY[] or BODY[1.2] (whole part) */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,
};

#define IMAP_SECTION_MAX_DEPTH 32

struct imap_fetch_item {
	enum imap_fetch_kind kind;
	bool peek;
	uint32_t path[IMAP_SECTION_MAX_DEPTH]; /* part numbers */
	size_t depth;
	enum imap_section_text text;
	char **fields;             /* HEADER.FIELDS names, upper-cased */
	size_t n_fields;
	bool partial;
	uint64_t partial_off, partial_len;
	/* The item name as the client wrote it, normalised for the reply
	 * ("BODY[HEADER.FIELDS (SUBJECT)]<0>"), NUL-terminated. */
	char *reply_name;
};

struct imap_fetch {
	struct imap_fetch_item *items;
	size_t n;
	bool changedsince_set;
	uint64_t changedsince;   /* CHANGEDSINCE modifier (RFC 7162) */
	bool vanished;           /* VANISHED modifier (UID FETCH only) */
};

/* args[0..n) are the FETCH arguments after the sequence set: one item,
 * a macro (ALL, FAST, FULL) or a list, then optional modifiers list.
 * 0 or -1 with *err_r. Free with imap_fetch_free. */
int imap_fetch_parse(const struct imap_arg *args, size_t n,
		     struct imap_fetch *f, const char **err_r);
void imap_fetch_free(struct imap_fetch *f);

/* ---- SEARCH (RFC 9051 §6.4.4, RFC 7162 MODSEQ, RFC 4731 ESEARCH) ---- */
enum imap_search_key {
	IMAP_SK_ALL = 0, IMAP_SK_AND, IMAP_SK_OR, IMAP_SK_NOT,
	IMAP_SK_SEQSET, IMAP_SK_UID,
	IMAP_SK_ANSWERED, IMAP_SK_DELETED, IMAP_SK_DRAFT, IMAP_SK_FLAGGED,
	IMAP_SK_SEEN, IMAP_SK_RECENT, IMAP_SK_NEW, IMAP_SK_OLD,
	IMAP_SK_UNANSWERED, IMAP_SK_UNDELETED, IMAP_SK_UNDRAFT,
	IMAP_SK_UNFLAGGED, IMAP_SK_UNSEEN,
	IMAP_SK_KEYWORD, IMAP_SK_UNKEYWORD,
	IMAP_SK_BCC, IMAP_SK_CC, IMAP_SK_FROM, IMAP_SK_TO, IMAP_SK_SUBJECT,
	IMAP_SK_BODY, IMAP_SK_TEXT, IMAP_SK_HEADER,
	IMAP_SK_BEFORE, IMAP_SK_ON, IMAP_SK_SINCE,          /* internal date */
	IMAP_SK_SENTBEFORE, IMAP_SK_SENTON, IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER, IMAP_SK_SMALLER,
	IMAP_SK_MODSEQ,
	IMAP_SK_OLDER, IMAP_SK_YOUNGER,                     /* RFC 5032 */
	IMAP_SK_SAVEDBEFORE, IMAP_SK_SAVEDON, IMAP_SK_SAVEDSINCE, /* 8514 */
	IMAP_SK_SAVEDATESUPPORTED,
	IMAP_SK_EMAILID, IMAP_SK_THREADID,                  /* RFC 8474 */
};

struct imap_search_node {
	enum imap_search_key key;
	struct imap_search_node *a, *b; /* AND: list via a->next; OR: a,b; NOT: a */
	struct imap_search_node *next;  /* sibling in an AND list */
	char *str;       /* text keys (UTF-8), KEYWORD flag, HEADER value */
	char *field;     /* HEADER field name */
	int64_t date;    /* date keys: unix time of 00:00 UTC that day */
	uint64_t num;    /* LARGER/SMALLER size, MODSEQ value, OLDER/YOUNGER
			  * interval in seconds */
	struct imap_seqset set; /* SEQSET / UID */
};

enum imap_esearch_ret {
	IMAP_ESEARCH_MIN = 1 << 0, IMAP_ESEARCH_MAX = 1 << 1,
	IMAP_ESEARCH_ALL = 1 << 2, IMAP_ESEARCH_COUNT = 1 << 3,
	IMAP_ESEARCH_SAVE = 1 << 4,
	IMAP_ESEARCH_PARTIAL = 1 << 5, /* RFC 9394 */
	IMAP_ESEARCH_UPDATE = 1 << 6,  /* RFC 5267 §4.3 */
	IMAP_ESEARCH_CONTEXT = 1 << 7, /* RFC 5267 §4.2: a hint */
};

/* NOT / OR / parenthesis nesting in one SEARCH program: bounds the
 * recursion of the parser and of every evaluator walking the tree. */
#define IMAP_SEARCH_MAX_DEPTH 128

struct imap_search {
	struct imap_search_node *root; /* an AND node */
	unsigned ret;        /* enum imap_esearch_ret; 0 = plain SEARCH */
	bool ret_given;      /* RETURN (...) was present (even empty) */
	/* PARTIAL lo:hi (RFC 9394): positions 1-based from the first
	 * result, or with neg from the last (-1 is the last); lo <= hi. */
	uint32_t partial_lo, partial_hi;
	bool partial_neg;
	char charset[32];    /* "" or the CHARSET argument, upper-cased */
};

/* args are the SEARCH arguments: [RETURN (...)] [CHARSET x] keys...
 * 0 or -1 with *err_r; *badcharset_r set when the charset is unknown (NO
 * [BADCHARSET]). Only US-ASCII and UTF-8 are accepted. */
int imap_search_parse(const struct imap_arg *args, size_t n,
		      struct imap_search *s, bool *badcharset_r,
		      const char **err_r);
void imap_search_free(struct imap_search *s);
/* The RETURN option list alone (RFC 4731 §3.1; ESORT, RFC 5267 §3, puts
 * it before the sort criteria): sets s->ret and s->ret_given. 0 or -1. */
int imap_search_return(struct imap_search *s, const struct imap_arg *list);
/* RFC 9394 partial-range: "a:b" or "-a:-b", a and b nz-number (32-bit).
 * 0 with the ends ordered (*lo_r <= *hi_r, magnitudes) or -1. */
int imap_partial_parse(const char *s, size_t len, uint32_t *lo_r,
		       uint32_t *hi_r, bool *neg_r);

/* ---- STORE (RFC 9051 §6.4.6, RFC 7162 UNCHANGEDSINCE) ---- */
enum imap_store_mode { IMAP_STORE_SET = 0, IMAP_STORE_ADD, IMAP_STORE_REMOVE };

struct imap_store_args {
	enum imap_store_mode mode;
	bool silent;
	bool unchangedsince_set;
	uint64_t unchangedsince;
	uint32_t flags;   /* enum store_flag bits (store.h) */
	char **keywords;  /* other flags, as written */
	size_t n_keywords;
};
/* Longest keyword (flag-keyword atom) accepted in a flag list. */
#define IMAP_KEYWORD_MAX 128

/* args after the sequence set: [(UNCHANGEDSINCE n)] item value. */
int imap_store_parse(const struct imap_arg *args, size_t n,
		     struct imap_store_args *st, const char **err_r);
void imap_store_args_free(struct imap_store_args *st);
/* Parses a flag list "(\Seen $Forwarded)" (APPEND, STORE): system flags into
 * *flags_r (store.h bits), keywords into a new array. \Recent is refused. */
int imap_flags_parse(const struct imap_arg *list, uint32_t *flags_r,
		     char ***keywords_r, size_t *n_r, const char **err_r);

/* ---- mailbox names (RFC 3501 §5.1.3 modified UTF-7) ---- */
/* 0 ok, -1 malformed; out is NUL-terminated UTF-8 / modified UTF-7. */
int imap_mutf7_to_utf8(const char *in, size_t len, char *out, size_t outcap);
int imap_utf8_to_mutf7(const char *in, size_t len, char *out, size_t outcap);

/* ---- dates (RFC 9051 date-time "01-Jan-2026 10:00:00 +0000" and date) */
int imap_parse_date(const char *s, size_t len, int64_t *day_r);
int imap_parse_datetime(const char *s, size_t len, int64_t *t_r);
/* Formats t as an IMAP date-time in UTC offset tz_minutes. */
void imap_format_datetime(int64_t t, char out[32]);

#endif
