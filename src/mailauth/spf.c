/*
 * check_host() (RFC 7208 §4) as a state machine over the in-loop
 * resolver. One query is in flight at a time; its callback moves the
 * machine on. Frames stack for include (and are replaced by redirect);
 * the DNS-querying terms are counted against SPF_LOOKUPS_MAX and their
 * empty answers against SPF_VOID_LOOKUPS_MAX (§4.6.4).
 *
 * States: a record is being fetched (OP_RECORD), a mechanism's lookup is
 * in flight (OP_A, OP_MX then OP_MX_ADDR per name, OP_PTR then
 * OP_PTR_ADDR per candidate name, OP_EXISTS), the "p" macro's names are
 * being validated before an expansion (OP_P_PTR, OP_P_ADDR), or the
 * explanation of a fail is fetched (OP_EXP). Every state ends in the next
 * query, in the next term (spf_run) or in the result (spf_finish).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../dns/dns.h"
#include "spf.h"
#include "spf_parse.h"

#define SPF_DEPTH_MAX (SPF_LOOKUPS_MAX + 2)
#define SPF_TXT_MAX 4096
#define SPF_EXPAND_MAX 2048
#define SPF_NAME_MAX 256

enum spf_op {
	OP_NONE = 0, OP_RECORD, OP_A, OP_MX, OP_MX_ADDR, OP_PTR, OP_PTR_ADDR,
	OP_EXISTS, OP_P_PTR, OP_P_ADDR, OP_EXP,
};

enum spf_load { LOAD_TOP, LOAD_INCLUDE, LOAD_REDIRECT };

struct spf_frame {
	char domain[SPF_NAME_MAX];
	char *txt;                  /* the record, NUL-terminated */
	size_t len, pos;            /* pos: the next term */
	struct spf_record_info info;
	char qual;                  /* include's qualifier in the parent */
};

struct spf_check {
	struct dns *dns;
	spf_done_cb cb;
	void *arg;
	struct dns_query *q;
	enum spf_op op;
	enum spf_load load;
	char load_qual;
	char sender[SPF_NAME_MAX * 2], local[SPF_NAME_MAX];
	char sender_domain[SPF_NAME_MAX], helo[SPF_NAME_MAX];
	char receiver[SPF_NAME_MAX];
	int family;
	unsigned char ip[16];
	struct spf_frame frames[SPF_DEPTH_MAX];
	int depth;
	unsigned lookups, voids;
	bool in_term, counted, in_exp;
	struct spf_term cur;
	char target[SPF_NAME_MAX];
	/* MX hosts or PTR names of the current mechanism */
	char names[SPF_PTR_NAMES_MAX][SPF_NAME_MAX];
	size_t n_names, name_i;
	/* The "p" macro (RFC 7208 §7.3): 0 not yet, 1 known */
	int p_state;
	char pnames[SPF_PTR_NAMES_MAX][SPF_NAME_MAX];
	bool pvalid[SPF_PTR_NAMES_MAX];
	size_t n_pnames, pname_i;
	char exp_txt[SPF_EXPLANATION_MAX];
	bool have_exp_txt;
	struct spf_outcome out;
};

static void spf_run(struct spf_check *c);
static void spf_finish_frame(struct spf_check *c, enum spf_result r);
static void spf_answer_cb(void *arg, const struct dns_answer *a);

const char *
spf_result_name(enum spf_result r)
{
	static const char *const names[] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror",
		"permerror",
	};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r]
							      : "?";
}

static void
spf_free(struct spf_check *c)
{
	dns_cancel(c->q);
	for (int i = 0; i < c->depth; i++)
		free(c->frames[i].txt);
	free(c);
}

void
spf_check_cancel(struct spf_check **cp)
{
	if (*cp == NULL)
		return;
	spf_free(*cp);
	*cp = NULL;
}

/* The result is known: tell the caller; the check is gone after. */
static void
spf_done(struct spf_check *c, enum spf_result r, const char *why)
{
	c->out.result = r;
	if (why != NULL && c->out.why[0] == '\0')
		snprintf(c->out.why, sizeof(c->out.why), "%s", why);
	if (r != SPF_FAIL)
		c->out.explanation[0] = '\0';
	c->cb(c->arg, &c->out);
	spf_free(c);
}

static enum spf_result
qual_result(char q)
{
	switch (q) {
	case '-': return SPF_FAIL;
	case '~': return SPF_SOFTFAIL;
	case '?': return SPF_NEUTRAL;
	default: return SPF_PASS;
	}
}

static bool
lookup(struct spf_check *c, enum spf_op op, const char *name, int type)
{
	c->op = op;
	c->q = dns_lookup(c->dns, name, type, spf_answer_cb, c);
	if (c->q != NULL)
		return true;
	spf_done(c, SPF_TEMPERROR, "DNS query could not start");
	return false;
}

static int
addr_type(const struct spf_check *c)
{
	return c->family == AF_INET6 ? 28 : 1;
}

static bool
prefix_match(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* True when an A/AAAA answer holds the client's address (within cidr). */
static bool
answer_has_ip(const struct spf_check *c, const struct dns_answer *a,
	      int cidr)
{
	size_t want = c->family == AF_INET6 ? 16 : 4;

	for (size_t i = 0; i < a->n; i++)
		if (a->len[i] == want && prefix_match(a->rdata[i], c->ip, cidr))
			return true;
	return false;
}

/* §4.6.4: a term that queries DNS; false (and permerror) past the limit. */
static bool
count_lookup(struct spf_check *c)
{
	if (c->counted)
		return true;
	c->counted = true;
	if (++c->lookups <= SPF_LOOKUPS_MAX)
		return true;
	spf_done(c, SPF_PERMERROR, "more than 10 DNS lookups");
	return false;
}

/* §4.6.4: an empty answer; false (and permerror) past the limit. */
static bool
count_void(struct spf_check *c, const struct dns_answer *a)
{
	if (a->status != DNS_NXDOMAIN && a->status != DNS_NODATA &&
	    !(a->status == DNS_OK && a->n == 0))
		return true;
	if (++c->voids <= SPF_VOID_LOOKUPS_MAX)
		return true;
	spf_done(c, SPF_PERMERROR, "more than 2 void DNS lookups");
	return false;
}

static void
reverse_name(const struct spf_check *c, char *out, size_t len)
{
	const unsigned char *a = c->ip;
	size_t k = 0;

	if (c->family == AF_INET) {
		snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
			 a[1], a[0]);
		return;
	}
	for (int i = 15; i >= 0 && k + 4 < len; i--)
		k += (size_t)snprintf(out + k, len - k, "%x.%x.", a[i] & 15,
				      a[i] >> 4);
	snprintf(out + k, len - k, "ip6.arpa");
}

/* The validated name for %{p}: one that is the domain or under it, else
 * any (RFC 7208 §7.3), else NULL ("unknown"). */
static const char *
p_name(const struct spf_check *c, const char *domain)
{
	size_t dl = strlen(domain);
	const char *any = NULL;

	for (size_t i = 0; i < c->n_pnames; i++) {
		const char *n = c->pnames[i];
		size_t nl = strlen(n);

		if (!c->pvalid[i])
			continue;
		if (strcasecmp(n, domain) == 0 ||
		    (nl > dl && n[nl - dl - 1] == '.' &&
		     strcasecmp(n + nl - dl, domain) == 0))
			return n;
		if (any == NULL)
			any = n;
	}
	return any;
}

static void
macro_ctx(const struct spf_check *c, const char *domain,
	  struct spf_macro_ctx *m)
{
	memset(m, 0, sizeof(*m));
	m->sender = c->sender;
	m->local = c->local;
	m->sender_domain = c->sender_domain;
	m->domain = domain;
	m->helo = c->helo;
	m->family = c->family;
	memcpy(m->ip, c->ip, sizeof(m->ip));
	m->ptr_name = c->p_state == 1 ? p_name(c, domain) : NULL;
	m->receiver = c->receiver;
	m->now = time(NULL);
}

/* Starts the validation of the client's PTR names for %{p}. */
static void
p_start(struct spf_check *c)
{
	char rev[80];

	reverse_name(c, rev, sizeof(rev));
	lookup(c, OP_P_PTR, rev, 12);
}

/* The target of a term (spec, or the current domain) into c->target:
 * 0 ready, 1 waiting for %{p} (the term is taken up again after), -1
 * not a name that can be looked up. */
static int
expand_target(struct spf_check *c, const char *spec, size_t len)
{
	const struct spf_frame *f = &c->frames[c->depth - 1];
	struct spf_macro_ctx m;
	char buf[SPF_EXPAND_MAX];
	const char *err;

	if (spec == NULL) {
		snprintf(c->target, sizeof(c->target), "%s", f->domain);
		return 0;
	}
	if (c->p_state == 0 && spf_macro_uses_p(spec, len)) {
		p_start(c);
		return 1;
	}
	macro_ctx(c, f->domain, &m);
	if (spf_macro_expand(spec, len, false, &m, buf, sizeof(buf), &err) < 0)
		return -1;
	spf_domain_trim(buf);
	if (strlen(buf) >= sizeof(c->target))
		return -1;
	snprintf(c->target, sizeof(c->target), "%s", buf);
	return 0;
}

/* Fetches the SPF record of c->target for the top level, an include or a
 * redirect. */
static void
load_record(struct spf_check *c, enum spf_load how, char qual)
{
	c->load = how;
	c->load_qual = qual;
	lookup(c, OP_RECORD, c->target, 16);
}

/* ---- terms ------------------------------------------------------------- */

/* Evaluates c->cur: 1 match, 0 no match, 2 waiting for DNS (or for the
 * check's end: a result was given). */
static int
eval_term(struct spf_check *c)
{
	const struct spf_term *t = &c->cur;
	int rc;

	switch (t->mech) {
	case SPF_MECH_ALL:
		return 1;
	case SPF_MECH_IP4:
		return c->family == AF_INET &&
		       prefix_match(c->ip, t->ip, t->cidr4);
	case SPF_MECH_IP6:
		return c->family == AF_INET6 &&
		       prefix_match(c->ip, t->ip, t->cidr6);
	case SPF_MECH_MODIFIER:
		return 0;
	default:
		break;
	}
	if (!count_lookup(c))
		return 2;
	rc = expand_target(c, t->spec, t->spec_len);
	if (rc == 1)
		return 2;
	if (rc < 0 || !spf_domain_ok(c->target)) {
		/* Nothing to look up: an empty answer. */
		struct dns_answer none = { .status = DNS_NXDOMAIN };

		return count_void(c, &none) ? 0 : 2;
	}
	switch (t->mech) {
	case SPF_MECH_INCLUDE:
		if (c->depth >= SPF_DEPTH_MAX) {
			spf_done(c, SPF_PERMERROR, "include nested too deep");
			return 2;
		}
		load_record(c, LOAD_INCLUDE, t->qual);
		return 2;
	case SPF_MECH_A:
		lookup(c, OP_A, c->target, addr_type(c));
		return 2;
	case SPF_MECH_MX:
		lookup(c, OP_MX, c->target, 15);
		return 2;
	case SPF_MECH_EXISTS:
		/* RFC 7208 §5.7: always an A query. */
		lookup(c, OP_EXISTS, c->target, 1);
		return 2;
	case SPF_MECH_PTR: {
		char rev[80];

		reverse_name(c, rev, sizeof(rev));
		lookup(c, OP_PTR, rev, 12);
		return 2;
	}
	default:
		return 0;
	}
}

/* §6.1: redirect when no mechanism matched (and no "all" anywhere),
 * else neutral. */
static void
end_of_record(struct spf_check *c)
{
	struct spf_frame *f = &c->frames[c->depth - 1];
	int rc;

	if (f->info.redirect == NULL || f->info.has_all) {
		spf_finish_frame(c, SPF_NEUTRAL);
		return;
	}
	if (!count_lookup(c))
		return;
	rc = expand_target(c, f->info.redirect, f->info.redirect_len);
	if (rc == 1)
		return;
	if (rc < 0 || !spf_domain_ok(c->target)) {
		spf_done(c, SPF_PERMERROR, "redirect to an invalid domain");
		return;
	}
	load_record(c, LOAD_REDIRECT, f->qual);
}

static void
spf_run(struct spf_check *c)
{
	for (;;) {
		struct spf_frame *f = &c->frames[c->depth - 1];
		const char *err = NULL;
		int rc;

		if (!c->in_term) {
			rc = spf_term_next(f->txt, f->len, &f->pos, &c->cur,
					   &err);
			if (rc < 0) {
				spf_done(c, SPF_PERMERROR, err);
				return;
			}
			if (rc == 0) {
				c->counted = false; /* for redirect */
				end_of_record(c);
				return;
			}
			if (c->cur.mech == SPF_MECH_MODIFIER)
				continue;
			c->in_term = true;
			c->counted = false;
		}
		rc = eval_term(c);
		if (rc == 2)
			return;
		if (rc == 1) {
			snprintf(c->out.why, sizeof(c->out.why),
				 "matched a term of %s", f->domain);
			spf_finish_frame(c, qual_result(c->cur.qual));
			return;
		}
		c->in_term = false;
	}
}

/* ---- results ----------------------------------------------------------- */

static void
exp_start(struct spf_check *c)
{
	const struct spf_frame *f = &c->frames[0];
	int rc;

	c->in_exp = true;
	rc = expand_target(c, f->info.exp, f->info.exp_len);
	if (rc == 1)
		return;
	if (rc < 0 || !spf_domain_ok(c->target)) {
		spf_done(c, SPF_FAIL, NULL);
		return;
	}
	lookup(c, OP_EXP, c->target, 16);
}

/* §6.2: the explanation text, expanded; ignored when it does not expand. */
static void
exp_expand(struct spf_check *c)
{
	struct spf_macro_ctx m;
	const char *err;
	size_t len = strlen(c->exp_txt);

	if (c->p_state == 0 && spf_macro_uses_p(c->exp_txt, len)) {
		p_start(c);
		return;
	}
	macro_ctx(c, c->frames[0].domain, &m);
	if (spf_macro_expand(c->exp_txt, len, true, &m, c->out.explanation,
			     sizeof(c->out.explanation), &err) < 0)
		c->out.explanation[0] = '\0';
	spf_done(c, SPF_FAIL, NULL);
}

/* The current frame ended with r. An include maps it for its parent
 * (§5.2); the top frame's fail fetches its explanation. */
static void
spf_finish_frame(struct spf_check *c, enum spf_result r)
{
	struct spf_frame *f;

	if (r == SPF_TEMPERROR || r == SPF_PERMERROR) {
		spf_done(c, r, NULL);
		return;
	}
	if (c->depth == 1) {
		f = &c->frames[0];
		if (r == SPF_FAIL && f->info.exp != NULL) {
			exp_start(c);
			return;
		}
		spf_done(c, r, NULL);
		return;
	}
	f = &c->frames[--c->depth];
	free(f->txt);
	f->txt = NULL;
	switch (r) {
	case SPF_PASS:
		snprintf(c->out.why, sizeof(c->out.why), "include:%s passed",
			 f->domain);
		spf_finish_frame(c, qual_result(f->qual));
		return;
	case SPF_NONE:
		spf_done(c, SPF_PERMERROR, "include of a domain without SPF");
		return;
	default: /* fail, softfail, neutral: no match */
		c->out.why[0] = '\0';
		c->in_term = false;
		spf_run(c);
	}
}

/* The TXT answer of a record fetch: exactly one "v=spf1" (§4.5). */
static void
on_record(struct spf_check *c, const struct dns_answer *a)
{
	char txt[SPF_TXT_MAX];
	int found = 0, keep = -1;
	struct spf_frame *f;
	const char *err;

	if (a->status == DNS_TEMPFAIL) {
		spf_done(c, SPF_TEMPERROR, a->why);
		return;
	}
	if (c->load != LOAD_TOP && !count_void(c, a))
		return;
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++) {
		int n = dns_txt_text(a->rdata[i], a->len[i], txt, sizeof(txt));

		if (n >= 0 ? spf_is_record(txt, (size_t)n)
			   : (a->len[i] > 7 && spf_is_record(
				  (const char *)a->rdata[i] + 1, 7))) {
			found++;
			keep = (int)i;
		}
	}
	if (found == 0) {
		if (c->load == LOAD_TOP)
			spf_done(c, SPF_NONE, "no SPF record");
		else
			spf_done(c, SPF_PERMERROR, "include or redirect "
				 "target has no SPF record");
		return;
	}
	if (found > 1) {
		spf_done(c, SPF_PERMERROR, "more than one SPF record");
		return;
	}
	int n = dns_txt_text(a->rdata[keep], a->len[keep], txt, sizeof(txt));
	if (n < 0) {
		spf_done(c, SPF_PERMERROR, "SPF record too long");
		return;
	}
	if (c->load != LOAD_REDIRECT)
		c->depth++;
	f = &c->frames[c->depth - 1];
	free(f->txt);
	memset(f, 0, sizeof(*f));
	f->qual = c->load_qual;
	snprintf(f->domain, sizeof(f->domain), "%s", c->target);
	f->txt = malloc((size_t)n + 1);
	if (f->txt == NULL) {
		spf_done(c, SPF_TEMPERROR, "out of memory");
		return;
	}
	memcpy(f->txt, txt, (size_t)n + 1);
	f->len = (size_t)n;
	if (spf_record_check(f->txt, f->len, &f->info, &err) < 0) {
		spf_done(c, SPF_PERMERROR, err);
		return;
	}
	c->in_term = false;
	spf_run(c);
}

/* The next MX host's address lookup, or no match after the last. */
static void
mx_next(struct spf_check *c)
{
	if (c->name_i < c->n_names) {
		lookup(c, OP_MX_ADDR, c->names[c->name_i++], addr_type(c));
		return;
	}
	c->in_term = false;
	spf_run(c);
}

static void
on_mx(struct spf_check *c, const struct dns_answer *a)
{
	if (a->status == DNS_TEMPFAIL) {
		spf_done(c, SPF_TEMPERROR, a->why);
		return;
	}
	if (!count_void(c, a))
		return;
	c->n_names = c->name_i = 0;
	/* §4.6.4: more than 10 MX names is a permerror. */
	if (a->status == DNS_OK && a->n > SPF_MX_NAMES_MAX) {
		spf_done(c, SPF_PERMERROR, "more than 10 MX names");
		return;
	}
	for (size_t i = 0; a->status == DNS_OK && i < a->n; i++) {
		char *n = c->names[c->n_names];

		if (a->len[i] < 3 ||
		    dns_ptr_name(a->rdata[i] + 2, a->len[i] - 2, n,
				 SPF_NAME_MAX) < 0 || n[0] == '\0')
			continue; /* malformed, or a null MX */
		c->n_names++;
	}
	mx_next(c);
}

/* Names of the PTR answer into names (at most 10, §4.6.4), optionally
 * only those that are target or under it. */
static size_t
ptr_names(const struct dns_answer *a, char (*names)[SPF_NAME_MAX],
	  const char *under)
{
	size_t n = 0, ul = under ? strlen(under) : 0;

	for (size_t i = 0; a->status == DNS_OK && i < a->n &&
			   i < SPF_PTR_NAMES_MAX; i++) {
		char *nm = names[n];
		size_t nl;

		if (dns_ptr_name(a->rdata[i], a->len[i], nm, SPF_NAME_MAX) < 0)
			continue;
		nl = strlen(nm);
		if (under != NULL && strcasecmp(nm, under) != 0 &&
		    !(nl > ul && nm[nl - ul - 1] == '.' &&
		      strcasecmp(nm + nl - ul, under) == 0))
			continue;
		n++;
	}
	return n;
}

static void
ptr_next(struct spf_check *c)
{
	if (c->name_i < c->n_names) {
		lookup(c, OP_PTR_ADDR, c->names[c->name_i++], addr_type(c));
		return;
	}
	c->in_term = false;
	spf_run(c);
}

static void
p_next(struct spf_check *c)
{
	if (c->pname_i < c->n_pnames) {
		lookup(c, OP_P_ADDR, c->pnames[c->pname_i], addr_type(c));
		return;
	}
	c->p_state = 1;
	/* Take up what waited for %{p}. */
	if (c->have_exp_txt)
		exp_expand(c);
	else if (c->in_exp)
		exp_start(c);
	else if (c->in_term)
		spf_run(c);
	else
		end_of_record(c);
}

/* A mechanism's answer (a, exists, mx, ptr steps). */
static void
on_mech(struct spf_check *c, const struct dns_answer *a)
{
	bool match = false;
	int cidr = c->family == AF_INET6 ? c->cur.cidr6 : c->cur.cidr4;

	switch (c->op) {
	case OP_A:
	case OP_EXISTS:
	case OP_MX_ADDR:
		if (a->status == DNS_TEMPFAIL) {
			spf_done(c, SPF_TEMPERROR, a->why);
			return;
		}
		if (c->op != OP_MX_ADDR && !count_void(c, a))
			return;
		if (c->op == OP_EXISTS)
			match = a->status == DNS_OK && a->n > 0;
		else
			match = a->status == DNS_OK && answer_has_ip(c, a, cidr);
		if (!match && c->op == OP_MX_ADDR) {
			mx_next(c);
			return;
		}
		break;
	case OP_PTR:
		/* §5.5: a DNS error means no match. */
		if (a->status != DNS_TEMPFAIL && !count_void(c, a))
			return;
		c->name_i = 0;
		c->n_names = ptr_names(a, c->names, c->target);
		ptr_next(c);
		return;
	case OP_PTR_ADDR:
		if (!(a->status == DNS_OK &&
		      answer_has_ip(c, a, c->family == AF_INET6 ? 128 : 32))) {
			ptr_next(c);
			return;
		}
		match = true;
		break;
	default:
		break;
	}
	if (match) {
		snprintf(c->out.why, sizeof(c->out.why),
			 "matched a term of %s", c->frames[c->depth - 1].domain);
		spf_finish_frame(c, qual_result(c->cur.qual));
		return;
	}
	c->in_term = false;
	spf_run(c);
}

static void
on_exp(struct spf_check *c, const struct dns_answer *a)
{
	int n;

	/* §6.2: exactly one TXT record, else no explanation. */
	if (a->status != DNS_OK || a->n != 1) {
		spf_done(c, SPF_FAIL, NULL);
		return;
	}
	n = dns_txt_text(a->rdata[0], a->len[0], c->exp_txt,
			 sizeof(c->exp_txt));
	if (n < 0 || strlen(c->exp_txt) != (size_t)n) {
		spf_done(c, SPF_FAIL, NULL);
		return;
	}
	c->have_exp_txt = true;
	exp_expand(c);
}

static void
spf_answer_cb(void *arg, const struct dns_answer *a)
{
	struct spf_check *c = arg;

	c->q = NULL; /* the resolver frees it after this call */
	switch (c->op) {
	case OP_RECORD:
		on_record(c, a);
		break;
	case OP_MX:
		on_mx(c, a);
		break;
	case OP_P_PTR:
		c->n_pnames = ptr_names(a, c->pnames, NULL);
		c->pname_i = 0;
		p_next(c);
		break;
	case OP_P_ADDR:
		c->pvalid[c->pname_i++] = a->status == DNS_OK &&
			answer_has_ip(c, a, c->family == AF_INET6 ? 128 : 32);
		p_next(c);
		break;
	case OP_EXP:
		on_exp(c, a);
		break;
	default:
		on_mech(c, a);
		break;
	}
}

/* ---- start ------------------------------------------------------------- */

/* §4.3 initial processing: the address and the identity. false with
 * out filled when the result is known already. */
static bool
spf_setup(struct spf_check *c, const struct spf_request *r)
{
	const char *at;
	unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	snprintf(c->helo, sizeof(c->helo), "%s", r->helo ? r->helo : "");
	snprintf(c->receiver, sizeof(c->receiver), "%s",
		 r->receiver ? r->receiver : "");
	if (inet_pton(AF_INET, r->ip, c->ip) == 1) {
		c->family = AF_INET;
	} else if (inet_pton(AF_INET6, r->ip, c->ip) == 1) {
		c->family = AF_INET6;
		/* An IPv4-mapped address is checked as IPv4. */
		if (memcmp(c->ip, v4mapped, sizeof(v4mapped)) == 0) {
			memmove(c->ip, c->ip + 12, 4);
			c->family = AF_INET;
		}
	} else {
		snprintf(c->out.why, sizeof(c->out.why), "bad client address");
		c->out.result = SPF_NONE;
		return false;
	}
	if (r->helo_identity || r->sender == NULL || r->sender[0] == '\0')
		snprintf(c->sender, sizeof(c->sender), "postmaster@%s",
			 c->helo);
	else
		snprintf(c->sender, sizeof(c->sender), "%s", r->sender);
	at = strrchr(c->sender, '@');
	if (at == NULL) {
		snprintf(c->local, sizeof(c->local), "postmaster");
		snprintf(c->sender_domain, sizeof(c->sender_domain), "%s",
			 c->sender);
	} else {
		/* §4.3: an empty local-part is "postmaster". */
		snprintf(c->local, sizeof(c->local), "%.*s",
			 (int)(at - c->sender), c->sender);
		if (c->local[0] == '\0')
			snprintf(c->local, sizeof(c->local), "postmaster");
		snprintf(c->sender_domain, sizeof(c->sender_domain), "%s",
			 at + 1);
	}
	snprintf(c->out.domain, sizeof(c->out.domain), "%s", c->sender_domain);
	/* §4.3: a malformed or single-label domain, or a domain literal,
	 * gives none. */
	if (c->sender_domain[0] == '[' || !spf_domain_ok(c->sender_domain)) {
		snprintf(c->out.why, sizeof(c->out.why), "not a domain name");
		c->out.result = SPF_NONE;
		return false;
	}
	snprintf(c->target, sizeof(c->target), "%s", c->sender_domain);
	spf_domain_trim(c->target);
	return true;
}

struct spf_check *
spf_check_start(struct dns *d, const struct spf_request *r, spf_done_cb cb,
		void *arg, struct spf_outcome *now_r)
{
	struct spf_check *c = calloc(1, sizeof(*c));

	memset(now_r, 0, sizeof(*now_r));
	if (c == NULL) {
		now_r->result = SPF_TEMPERROR;
		snprintf(now_r->why, sizeof(now_r->why), "out of memory");
		return NULL;
	}
	c->dns = d;
	c->cb = cb;
	c->arg = arg;
	if (!spf_setup(c, r)) {
		*now_r = c->out;
		free(c);
		return NULL;
	}
	c->load = LOAD_TOP;
	c->op = OP_RECORD;
	c->q = dns_lookup(d, c->target, 16, spf_answer_cb, c);
	if (c->q == NULL) {
		*now_r = c->out;
		now_r->result = SPF_TEMPERROR;
		snprintf(now_r->why, sizeof(now_r->why),
			 "DNS query could not start");
		free(c);
		return NULL;
	}
	return c;
}
