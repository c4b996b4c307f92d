/*
 * SORT (RFC 5256) with DISPLAYFROM/DISPLAYTO (RFC 5957): each message's sort
 * keys are extracted once from its header, then the messages are ordered by
 * the program with ties in sequence order (RFC 5256 §3). Strings compare
 * with i;ascii-casemap, the default collation of RFC 5256 §3.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../mime/mime.h"
#include "../util/buf.h"
#include "../util/str.h"
#include "imap_search.h"

/* Decoded header values longer than this are cut for sorting. */
#define SORT_VALUE_MAX (64 * 1024)

static const struct {
	const char *name;
	enum imap_sort_key key;
} sort_names[] = {
	{"ARRIVAL", IMAP_SORT_ARRIVAL},
	{"CC", IMAP_SORT_CC},
	{"DATE", IMAP_SORT_DATE},
	{"FROM", IMAP_SORT_FROM},
	{"SIZE", IMAP_SORT_SIZE},
	{"SUBJECT", IMAP_SORT_SUBJECT},
	{"TO", IMAP_SORT_TO},
	{"DISPLAYFROM", IMAP_SORT_DISPLAYFROM},
	{"DISPLAYTO", IMAP_SORT_DISPLAYTO},
};

int
imap_sort_parse(const struct imap_arg *list, struct imap_sort_program *p,
		const char **err_r)
{
	bool reverse = false;

	p->n = 0;
	if (list == NULL || list->type != IMAP_ARG_LIST || list->list_n == 0) {
		*err_r = "SORT criteria must be a non-empty list";
		return -1;
	}
	for (size_t i = 0; i < list->list_n; i++) {
		const struct imap_arg *a = &list->list[i];
		size_t k, nk = sizeof(sort_names) / sizeof(sort_names[0]);

		if (a->type != IMAP_ARG_ATOM) {
			*err_r = "Bad SORT criterion";
			return -1;
		}
		if (str_ieq(a->str, a->len, "REVERSE")) {
			reverse = true;
			continue;
		}
		for (k = 0; k < nk; k++)
			if (str_ieq(a->str, a->len, sort_names[k].name))
				break;
		if (k == nk) {
			*err_r = "Unknown SORT criterion";
			return -1;
		}
		if (p->n == IMAP_SORT_MAX_CRIT) {
			*err_r = "Too many SORT criteria";
			return -1;
		}
		p->crit[p->n].key = sort_names[k].key;
		p->crit[p->n].reverse = reverse;
		p->n++;
		reverse = false;
	}
	if (reverse || p->n == 0) {
		*err_r = "REVERSE must precede a SORT criterion";
		return -1;
	}
	return 0;
}

/* ---- RFC 5256 §2.1 base subject ---- */

static bool
ci_prefix(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word);

	return n >= wl && strncasecmp(s, word, wl) == 0;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP; its length or 0. */
static size_t
blob_len(const char *s, size_t n)
{
	if (n == 0 || s[0] != '[')
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (s[i] == '[')
			return 0;
		if (s[i] == ']') {
			for (i++; i < n && s[i] == ' ';)
				i++;
			return i;
		}
	}
	return 0;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
static size_t
refwd_len(const char *s, size_t n)
{
	size_t i;

	if (ci_prefix(s, n, "re"))
		i = 2;
	else if (ci_prefix(s, n, "fwd"))
		i = 3;
	else if (ci_prefix(s, n, "fw"))
		i = 2;
	else
		return 0;
	while (i < n && s[i] == ' ')
		i++;
	i += blob_len(s + i, n - i);
	return i < n && s[i] == ':' ? i + 1 : 0;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP */
static size_t
leader_len(const char *s, size_t n)
{
	size_t i = 0, b, r;

	if (n > 0 && s[0] == ' ')
		return 1;
	while ((b = blob_len(s + i, n - i)) > 0)
		i += b;
	r = refwd_len(s + i, n - i);
	return r > 0 ? i + r : 0;
}

/* Steps 3-5: leaders, then a leading blob that does not leave the subject
 * empty, until neither applies. */
static void
strip_leaders(const char *s, size_t *start, size_t end)
{
	bool changed = true;

	while (changed) {
		size_t l, b;

		changed = false;
		while (*start < end &&
		       (l = leader_len(s + *start, end - *start)) > 0) {
			*start += l;
			changed = true;
		}
		b = blob_len(s + *start, end - *start);
		if (b > 0 && *start + b < end) {
			*start += b;
			changed = true;
		}
	}
}

/* Steps 1-6 in place on s[0..n); the base subject is s[*start_r..*end_r). */
static void
base_subject_span(char *s, size_t n, size_t *start_r, size_t *end_r)
{
	size_t start = 0, end = 0;

	/* Step 1: runs of white space become one space. */
	for (size_t i = 0; i < n; i++) {
		bool ws = s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
			  s[i] == '\n';

		if (ws && end > 0 && s[end - 1] == ' ')
			continue;
		s[end++] = ws ? ' ' : s[i];
	}
	for (;;) {
		/* Step 2: trailing "(fwd)" and white space. */
		for (;;) {
			if (end > start && s[end - 1] == ' ')
				end--;
			else if (end - start >= 5 &&
				 strncasecmp(s + end - 5, "(fwd)", 5) == 0)
				end -= 5;
			else
				break;
		}
		strip_leaders(s, &start, end);
		/* Step 6: "[fwd: ... ]" wraps a forwarded subject. */
		if (end - start >= 6 &&
		    ci_prefix(s + start, end - start, "[fwd:") &&
		    s[end - 1] == ']') {
			start += 5;
			end--;
			continue;
		}
		break;
	}
	*start_r = start;
	*end_r = end;
}

void
imap_base_subject(const char *subject, char *out, size_t outcap)
{
	size_t n = strlen(subject), start, end;
	char *work = out;

	if (outcap == 0)
		return;
	/* Work on the whole subject, then cut: a "Re:" must not decide the
	 * result only because the output is short. */
	if (n + 1 > outcap) {
		work = malloc(n + 1);
		if (work == NULL) {
			work = out;
			n = outcap - 1;
		}
	}
	memcpy(work, subject, n);
	base_subject_span(work, n, &start, &end);
	if (end - start > outcap - 1) {
		end = start + outcap - 1;
		/* do not leave half a UTF-8 sequence */
		while (end > start && ((unsigned char)work[end] & 0xC0) == 0x80)
			end--;
	}
	memmove(out, work + start, end - start);
	out[end - start] = '\0';
	if (work != out)
		free(work);
}

/* ---- per-message keys ---- */

struct sort_item {
	const struct imap_sort_program *p;
	struct imap_search_msg m;
	size_t idx;
	int64_t date;
	/* Indexed by enum imap_sort_key; NULL when unused. */
	char *str[IMAP_SORT_DISPLAYTO + 1];
};

/* The decoded (RFC 2047) value of the first field called name, into out;
 * false when the message has no such field. */
bool
imap_sort_field(const char *hdr, size_t len, const char *name, bool decode,
	    struct buf *out)
{
	struct mime_field f;
	size_t pos = 0, nl = strlen(name);

	buf_reset(out);
	while (mime_next_field(hdr, len, &pos, &f) == 1) {
		if (f.name_len != nl || strncasecmp(f.name, name, nl) != 0)
			continue;
		if (decode && imap_text_blank(f.value, f.value_len))
			return true;
		if (!decode || mime_decode_header(f.value, f.value_len, out) != 0) {
			buf_reset(out);
			(void)buf_append(out, f.value,
					 f.value_len < out->max ? f.value_len
								: out->max);
		}
		return true;
	}
	return false;
}

/* FROM/TO/CC: the first address's addr-mailbox (RFC 5256 §3), lower-case;
 * DISPLAY*: its decoded display name, else its addr-spec (RFC 5957 §7). */
static char *
addr_key(const char *hdr, size_t len, const char *field, bool display,
	 struct buf *tmp)
{
	struct mime_mailbox a;
	const char *at;

	if (!imap_sort_field(hdr, len, field, false, tmp) || tmp->len == 0 ||
	    !mime_first_mailbox((const char *)tmp->data, tmp->len, &a))
		return str_ndup("", 0);
	if (display && a.plen > 0) {
		buf_reset(tmp);
		if (mime_decode_header(a.phrase, a.plen, tmp) == 0 &&
		    tmp->len > 0)
			return str_ndup((const char *)tmp->data, tmp->len);
		return str_ndup(a.phrase, a.plen);
	}
	if (display)
		return str_lower_ndup(a.spec, a.slen);
	at = memrchr(a.spec, '@', a.slen);
	return str_lower_ndup(a.spec,
			      at != NULL ? (size_t)(at - a.spec) : a.slen);
}

char *
imap_sort_subject(const char *hdr, size_t len, struct buf *tmp)
{
	char *raw, *out;

	if (!imap_sort_field(hdr, len, "subject", true, tmp))
		return str_ndup("", 0);
	raw = str_ndup(tmp->len > 0 ? (const char *)tmp->data : "", tmp->len);
	out = malloc(tmp->len + 1);
	if (raw == NULL || out == NULL) {
		free(raw);
		free(out);
		return NULL;
	}
	imap_base_subject(raw, out, tmp->len + 1);
	free(raw);
	return out;
}

/* RFC 5256 §3 DATE: the Date: header in UTC, else the internal date. */
int64_t
imap_sort_date(const char *hdr, size_t len, const struct imap_search_msg *m,
	 struct buf *tmp)
{
	int64_t t, day;

	if (imap_sort_field(hdr, len, "date", false, tmp) && tmp->len > 0 &&
	    mime_parse_date((const char *)tmp->data, tmp->len, &t, &day) == 0)
		return t;
	return m->internaldate;
}

static char *
string_key(enum imap_sort_key k, const char *hdr, size_t len,
	   struct buf *tmp)
{
	switch (k) {
	case IMAP_SORT_SUBJECT:
		return imap_sort_subject(hdr, len, tmp);
	case IMAP_SORT_FROM:
		return addr_key(hdr, len, "from", false, tmp);
	case IMAP_SORT_TO:
		return addr_key(hdr, len, "to", false, tmp);
	case IMAP_SORT_CC:
		return addr_key(hdr, len, "cc", false, tmp);
	case IMAP_SORT_DISPLAYFROM:
		return addr_key(hdr, len, "from", true, tmp);
	case IMAP_SORT_DISPLAYTO:
		return addr_key(hdr, len, "to", true, tmp);
	default:
		return NULL;
	}
}

static void
item_keys(struct sort_item *it, struct buf *tmp)
{
	const struct imap_search_msg *m = &it->m;
	const char *hdr = "";
	size_t len = 0;

	/* Every sort criterion reads a search field (mime.h): the stored
	 * block when there is one, else the message's header. */
	if (m->fields != NULL) {
		hdr = m->fields;
		len = m->fields_len;
	} else if (m->data != NULL) {
		hdr = m->data;
		len = mime_header_block_len(m->data, m->len);
	}

	it->date = m->internaldate;
	for (size_t i = 0; i < it->p->n; i++) {
		enum imap_sort_key k = it->p->crit[i].key;

		if (k == IMAP_SORT_DATE)
			it->date = imap_sort_date(hdr, len, m, tmp);
		else if (k != IMAP_SORT_ARRIVAL && k != IMAP_SORT_SIZE &&
			 it->str[k] == NULL)
			it->str[k] = string_key(k, hdr, len, tmp);
	}
}

static int
cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

/* i;ascii-casemap (RFC 4790 §9.2.1, the collation RFC 5256 sorts by):
 * a-z become A-Z before comparing octets. strcasecmp maps the other way,
 * which puts "[", "_" and the other octets between 'Z' and 'a' before
 * the letters instead of after them. */
static int
cmp_str(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)(a != NULL ? a : "");
	const unsigned char *y = (const unsigned char *)(b != NULL ? b : "");

	for (;; x++, y++) {
		unsigned char cx = *x >= 'a' && *x <= 'z' ? *x - 32 : *x;
		unsigned char cy = *y >= 'a' && *y <= 'z' ? *y - 32 : *y;

		if (cx != cy || cx == '\0')
			return (cx > cy) - (cx < cy);
	}
}

static int
item_cmp(const void *va, const void *vb)
{
	const struct sort_item *a = va, *b = vb;
	const struct imap_sort_program *p = a->p;

	for (size_t i = 0; i < p->n; i++) {
		enum imap_sort_key k = p->crit[i].key;
		int r;

		if (k == IMAP_SORT_ARRIVAL)
			r = cmp_i64(a->m.internaldate, b->m.internaldate);
		else if (k == IMAP_SORT_DATE)
			r = cmp_i64(a->date, b->date);
		else if (k == IMAP_SORT_SIZE)
			r = cmp_i64(a->m.size, b->m.size);
		else
			r = cmp_str(a->str[k], b->str[k]);
		if (r != 0)
			return p->crit[i].reverse ? -r : r;
	}
	/* RFC 5256 §3: ties in sequence order; the input position last, so
	 * the order is total. */
	if (a->m.seq != b->m.seq)
		return a->m.seq < b->m.seq ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx ? 1 : 0;
}

void
imap_sort_messages(const struct imap_sort_program *p,
		   struct imap_search_msg *msgs, size_t n)
{
	struct sort_item *items;
	struct buf tmp;

	if (n < 2 || p->n == 0)
		return;
	items = calloc(n, sizeof(*items));
	if (items == NULL)
		return; /* out of memory: the sequence order stays */
	buf_init(&tmp, SORT_VALUE_MAX);
	for (size_t i = 0; i < n; i++) {
		items[i].p = p;
		items[i].m = msgs[i];
		items[i].idx = i;
		item_keys(&items[i], &tmp);
	}
	buf_fini(&tmp);
	qsort(items, n, sizeof(*items), item_cmp);
	for (size_t i = 0; i < n; i++) {
		msgs[i] = items[i].m;
		for (size_t k = 0; k <= IMAP_SORT_DISPLAYTO; k++)
			free(items[i].str[k]);
	}
	free(items);
}
