/*
 * FETCH of flags only: FLAGS, UID and MODSEQ in any order and number, with
 * CHANGEDSINCE (RFC 7162 §3.1.4.1) — what every syncing client sends for the
 * whole mailbox. The selected view already holds all of it, so the reply is
 * formatted on the loop straight from the view: no worker round trip, no
 * copy of the messages, no printf. One slice of about the output high-water
 * mark at a time: the next slice is formatted when the client has read most
 * of it (on_drain), so a slow reader never makes us buffer the mailbox and
 * the loop is held for one slice (15,000 short lines, well under 1 ms) only.
 *
 * The bytes are exactly those of the general path (cmd_fetch.c): items in
 * the client's order, then UID for UID FETCH and MODSEQ under CONDSTORE
 * when not asked for, flags through imap_buf_flags.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../core/conn.h"
#include "../core/limits.h"
#include "../util/str.h"
#include "imap_int.h"

/* Output per slice: past the high-water mark, so a slice parks. */
#define IMAP_FFL_SLICE (LIMIT_OUTPUT_HIGH_WATER + 64 * 1024)
/* Combinations of the five system flags and \Recent (index bit 5). */
#define IMAP_FFL_SYS 64
#define IMAP_FFL_RECENT 32
/* "(\Seen \Answered \Flagged \Deleted \Draft \Recent" */
#define IMAP_FFL_SYS_MAX 56

struct imap_ffl {
	struct imap_job job;    /* parked as the session's drain_job */
	struct imap_fetch f;
	size_t *idx, n, next;
	unsigned gen;
	bool uid, modseq;
	struct buf out;
	/* imap_buf_flags of each system-flag combination, without ")". */
	char sys[IMAP_FFL_SYS][IMAP_FFL_SYS_MAX];
	uint8_t sys_len[IMAP_FFL_SYS];
};

bool
imap_fetch_flags_only(const struct imap_fetch *f)
{
	if (f->vanished)
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (f->items[i].kind != IMAP_FETCH_FLAGS &&
		    f->items[i].kind != IMAP_FETCH_UID &&
		    f->items[i].kind != IMAP_FETCH_MODSEQ)
			return false;
	return true;
}

static void
imap_ffl_free(struct imap_job *j)
{
	struct imap_ffl *x = (struct imap_ffl *)j;

	imap_fetch_free(&x->f);
	free(x->idx);
	buf_fini(&x->out);
	free(x);
}

static int
imap_ffl_table(struct imap_ffl *x)
{
	struct buf b;

	buf_init(&b, 256);
	for (uint32_t fl = 0; fl < IMAP_FFL_SYS; fl++) {
		buf_reset(&b);
		uint32_t bits = (fl & STORE_FLAGS_ALL) |
				((fl & IMAP_FFL_RECENT) ? IMAP_VFLAG_RECENT : 0);

		if (imap_buf_flags(&b, bits, NULL) < 0 || b.len < 2 ||
		    b.len - 1 > IMAP_FFL_SYS_MAX) {
			buf_fini(&b);
			return -1;
		}
		memcpy(x->sys[fl], b.data, b.len - 1);
		x->sys_len[fl] = (uint8_t)(b.len - 1);
	}
	buf_fini(&b);
	return 0;
}

static char *
imap_ffl_lit(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static char *
imap_ffl_flags(const struct imap_ffl *x, char *p, uint32_t flags,
	       const char *kw, size_t kw_len)
{
	uint32_t sys = (flags & STORE_FLAGS_ALL) |
		       ((flags & IMAP_VFLAG_RECENT) ? IMAP_FFL_RECENT : 0);

	p = imap_ffl_lit(p, x->sys[sys], x->sys_len[sys]);
	if (kw_len > 0) {
		if (sys != 0)
			*p++ = ' ';
		p = imap_ffl_lit(p, kw, kw_len);
	}
	*p++ = ')';
	return p;
}

/* One FETCH response; -1 when the output buffer cannot grow. */
static int
imap_ffl_one(struct imap_ffl *x, size_t i, const struct store_vmsg *v)
{
	uint32_t flags = v->flags & ~IMAP_VFLAG_EXPUNGED;
	size_t kw_len = v->keywords != NULL ? strlen(v->keywords) : 0;
	bool uid_done = false, modseq_done = false;
	char *p, *start;

	/* Per item at most "MODSEQ (" 20 digits ")" or the flags list. */
	if (buf_reserve(&x->out, 64 + (x->f.n + 2) *
			(IMAP_FFL_SYS_MAX + 32 + kw_len)) < 0)
		return -1;
	start = p = (char *)x->out.data + x->out.len;
	p = imap_ffl_lit(p, "* ", 2);
	p = str_u64(p, (uint64_t)i + 1);
	p = imap_ffl_lit(p, " FETCH (", 8);
	for (size_t k = 0; k < x->f.n; k++) {
		if (k > 0)
			*p++ = ' ';
		switch (x->f.items[k].kind) {
		case IMAP_FETCH_FLAGS:
			p = imap_ffl_lit(p, "FLAGS ", 6);
			p = imap_ffl_flags(x, p, flags, v->keywords, kw_len);
			break;
		case IMAP_FETCH_UID:
			p = imap_ffl_lit(p, "UID ", 4);
			p = str_u64(p, v->uid);
			uid_done = true;
			break;
		default: /* IMAP_FETCH_MODSEQ (imap_fetch_flags_only) */
			p = imap_ffl_lit(p, "MODSEQ (", 8);
			p = str_u64(p, v->modseq);
			*p++ = ')';
			modseq_done = true;
			break;
		}
	}
	/* RFC 9051 §6.4.9 and RFC 7162 §3.1.4.1, as imap_fetch_one. */
	if (x->uid && !uid_done) {
		p = imap_ffl_lit(p, " UID ", 5);
		p = str_u64(p, v->uid);
	}
	if (x->modseq && !modseq_done) {
		p = imap_ffl_lit(p, " MODSEQ (", 9);
		p = str_u64(p, v->modseq);
		*p++ = ')';
	}
	p = imap_ffl_lit(p, ")\r\n", 3);
	x->out.len += (size_t)(p - start);
	return 0;
}

/* Formats and queues the next slice; true when the command is answered. */
static bool
imap_ffl_slice(struct imap_ffl *x)
{
	struct imap_session *s = x->job.s;
	const struct imap_view *v = s->view;

	if (v == NULL || v->gen != x->gen) {
		imap_finish(s, "NO", "UNAVAILABLE", "FETCH failed");
		return true;
	}
	buf_reset(&x->out);
	while (x->next < x->n && x->out.len < IMAP_FFL_SLICE) {
		size_t i = x->idx[x->next++];
		const struct store_vmsg *m;

		if (i >= v->n) /* cannot happen while the view is unchanged */
			continue;
		m = &v->msgs[i];
		if (x->f.changedsince_set && m->modseq <= x->f.changedsince)
			continue;
		if (imap_ffl_one(x, i, m) < 0) {
			imap_reply_raw(s, x->out.data, x->out.len);
			imap_finish(s, "NO", "SERVERBUG", "Out of memory");
			return true;
		}
	}
	imap_reply_raw(s, x->out.data, x->out.len);
	if (x->next < x->n)
		return false;
	imap_finish(s, "OK", NULL, "FETCH completed");
	return true;
}

/* Loop: the first slice, and each one after the client read most of the
 * previous (imap_session_drain_cb). Parked with a session reference. */
static void
imap_ffl_step(struct imap_job *j)
{
	struct imap_ffl *x = (struct imap_ffl *)j;
	struct imap_session *s = j->s;

	for (size_t round = 0; round <= x->n; round++) {
		if (s->base.conn == NULL || imap_ffl_slice(x)) {
			imap_ffl_free(j);
			return;
		}
		if (conn_output_pending(s->base.conn) >
		    LIMIT_OUTPUT_HIGH_WATER && s->drain_job == NULL) {
			session_ref(&s->base);
			s->drain_job = j;
			return;
		}
	}
	imap_finish(s, "NO", "SERVERBUG", "FETCH failed");
	imap_ffl_free(j);
}

void
imap_fetch_flags(struct imap_session *s, struct imap_fetch *f, size_t *idx,
		 size_t n, bool uid, bool modseq)
{
	struct imap_ffl *x = calloc(1, sizeof(*x));

	if (x == NULL || imap_ffl_table(x) < 0) {
		free(x);
		imap_fetch_free(f);
		free(idx);
		imap_finish(s, "NO", "SERVERBUG", "Out of memory");
		return;
	}
	x->job.s = s;
	x->job.free = imap_ffl_free;
	x->job.resume = imap_ffl_step;
	x->f = *f;
	memset(f, 0, sizeof(*f));
	x->idx = idx;
	x->n = n;
	x->gen = s->view->gen;
	x->uid = uid;
	x->modseq = modseq;
	buf_init(&x->out, IMAP_FFL_SLICE + 64 * 1024 * 1024);
	imap_ffl_step(&x->job);
}
