/*
 * SPF record and macro syntax (RFC 7208 §4.6, §5, §6, §7): pure functions
 * over the bytes of a record, no I/O. spf.c evaluates with them; the
 * fuzz target tests/fuzz/fuzz_spf_parse.c feeds them anything.
 */
#ifndef POSTEL_SPF_PARSE_H
#define POSTEL_SPF_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum spf_mech {
	SPF_MECH_ALL = 0,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
	SPF_MECH_MODIFIER,  /* name=value: redirect, exp or unknown */
};

/* One term of a record; pointers into the record text. */
struct spf_term {
	enum spf_mech mech;
	char qual;              /* '+', '-', '~' or '?' */
	const char *spec;       /* domain-spec (or modifier value), or NULL */
	size_t spec_len;
	const char *name;       /* modifier name */
	size_t name_len;
	int cidr4, cidr6;       /* prefix lengths (32 / 128 when absent) */
	unsigned char ip[16];   /* ip4 (first 4 octets) / ip6 network */
};

/* What the whole record holds, once its syntax is known to be valid. */
struct spf_record_info {
	const char *redirect;   /* domain-spec of redirect=, or NULL */
	size_t redirect_len;
	const char *exp;        /* domain-spec of exp=, or NULL */
	size_t exp_len;
	bool has_all;           /* an "all" anywhere: redirect is ignored */
	size_t n_terms;
};

/* RFC 7208 §4.5: true when txt[0..len) is an SPF version 1 record
 * ("v=spf1" alone or followed by a space, case-insensitive). */
bool spf_is_record(const char *txt, size_t len);

/* The next term after *pos (starting at the version): 1 with *t filled
 * and *pos moved past it, 0 at the end, -1 on a syntax error (*err_r says
 * which). Call spf_record_check first: only it checks the whole record
 * (duplicate modifiers, macro syntax). */
int spf_term_next(const char *txt, size_t len, size_t *pos,
		  struct spf_term *t, const char **err_r);

/* RFC 7208 §4.6: the syntax of every term (a syntax error anywhere makes
 * the record a permerror before anything is evaluated). 0 with *info
 * filled, -1 with *err_r. */
int spf_record_check(const char *txt, size_t len,
		     struct spf_record_info *info, const char **err_r);

/* The values the macros of RFC 7208 §7.3 stand for. */
struct spf_macro_ctx {
	const char *sender;     /* s: local-part@domain */
	const char *local;      /* l */
	const char *sender_domain; /* o */
	const char *domain;     /* d: the current domain */
	const char *helo;       /* h */
	int family;             /* AF_INET or AF_INET6 (i, c, v) */
	unsigned char ip[16];
	const char *ptr_name;   /* p: the validated name, or NULL: "unknown" */
	const char *receiver;   /* r (explanations only) */
	time_t now;             /* t (explanations only) */
};

/* Expands a macro-string (a domain-spec, or with explain true an
 * explanation string, which may hold c, r, t and spaces) into out (NUL-
 * terminated). 0, or -1 on a syntax error or when it does not fit. */
int spf_macro_expand(const char *s, size_t len, bool explain,
		     const struct spf_macro_ctx *m, char *out, size_t outlen,
		     const char **err_r);
/* The syntax alone; 0 or -1. */
int spf_macro_check(const char *s, size_t len, bool explain,
		    const char **err_r);
/* True when s uses the "p" macro (which needs DNS lookups first). */
bool spf_macro_uses_p(const char *s, size_t len);

/* RFC 7208 §4.3: a name SPF may look up (labels of 1..63 octets, at most
 * 253 in all, at least two labels; a final dot is allowed). */
bool spf_domain_ok(const char *d);
/* RFC 7208 §7.3: an expanded domain longer than 253 octets loses labels
 * from the left until it fits; a final dot is removed. In place. */
void spf_domain_trim(char *d);

#endif
