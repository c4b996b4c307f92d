/*
 * Keyword text normalisation (store_kw.h). Works on (pointer, length)
 * tokens so the current text is never copied token by token.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_kw.h"

struct kw_tok {
	const char *p;
	size_t len;
};

struct kw_set {
	struct kw_tok *t;
	size_t n;
	size_t cap;
};

static bool
kw_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

bool
store_kw_valid(char *const *kw, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = kw[i] != NULL ? strlen(kw[i]) : 0;

		if (len == 0 || len > STORE_KEYWORD_LEN_MAX)
			return false;
		for (size_t j = 0; j < len; j++) {
			if (!kw_atom_char((unsigned char)kw[i][j]))
				return false;
		}
	}
	return true;
}

static bool
kw_has(const struct kw_set *s, const char *p, size_t len)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->t[i].len == len && strncasecmp(s->t[i].p, p, len) == 0)
			return true;
	}
	return false;
}

/* Adds the token unless present; 0 or -1 (out of memory). */
static int
kw_add(struct kw_set *s, const char *p, size_t len)
{
	if (len == 0 || kw_has(s, p, len))
		return 0;
	if (s->n == s->cap) {
		size_t ncap = s->cap == 0 ? 16 : s->cap * 2;
		struct kw_tok *nt = realloc(s->t, ncap * sizeof(*nt));

		if (nt == NULL)
			return -1;
		s->t = nt;
		s->cap = ncap;
	}
	s->t[s->n].p = p;
	s->t[s->n].len = len;
	s->n++;
	return 0;
}

static int
kw_add_text(struct kw_set *s, const char *text)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, " ");

		if (kw_add(s, p, len) < 0)
			return -1;
		p += len;
		p += strspn(p, " ");
	}
	return 0;
}

static void
kw_remove(struct kw_set *s, char *const *kw, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < s->n; i++) {
		bool drop = false;

		for (size_t j = 0; j < n && !drop; j++)
			drop = strlen(kw[j]) == s->t[i].len
			       && strncasecmp(kw[j], s->t[i].p, s->t[i].len)
					  == 0;
		if (!drop)
			s->t[out++] = s->t[i];
	}
	s->n = out;
}

static char *
kw_join(const struct kw_set *s)
{
	size_t total = 1, off = 0;
	char *out;

	for (size_t i = 0; i < s->n; i++)
		total += s->t[i].len + 1;
	out = malloc(total);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		if (i > 0)
			out[off++] = ' ';
		memcpy(out + off, s->t[i].p, s->t[i].len);
		off += s->t[i].len;
	}
	out[off] = '\0';
	return out;
}

int
store_kw_apply(const char *cur, enum store_flag_mode mode, char *const *kw,
	       size_t n, char **out_r, const char **err_r)
{
	struct kw_set s = { 0 };
	int rc = -1;

	*out_r = NULL;
	if (!store_kw_valid(kw, n)) {
		*err_r = "invalid keyword";
		return -1;
	}
	*err_r = "out of memory";
	if (mode != STORE_FLAGS_SET && kw_add_text(&s, cur) < 0)
		goto done;
	if (mode == STORE_FLAGS_REMOVE) {
		kw_remove(&s, kw, n);
	} else {
		for (size_t i = 0; i < n; i++) {
			if (kw_add(&s, kw[i], strlen(kw[i])) < 0)
				goto done;
		}
		if (s.n > STORE_KEYWORDS_MAX) {
			*err_r = "too many keywords";
			goto done;
		}
	}
	*out_r = kw_join(&s);
	if (*out_r != NULL)
		rc = 0;
done:
	free(s.t);
	return rc;
}

bool
store_kw_equal(const char *a, const char *b)
{
	struct kw_set sa = { 0 }, sb = { 0 };
	bool same = false;

	if (kw_add_text(&sa, a) < 0 || kw_add_text(&sb, b) < 0)
		goto done;
	same = sa.n == sb.n;
	for (size_t i = 0; same && i < sa.n; i++)
		same = kw_has(&sb, sa.t[i].p, sa.t[i].len);
done:
	free(sa.t);
	free(sb.t);
	return same;
}
