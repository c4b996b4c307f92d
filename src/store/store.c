/*
 * Backend selection, open/close and the result free functions. The store_*
 * functions that only dispatch to the backend are static inline in store.h
 * and store_imap.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#include "../core/limits.h"

int
store_metadata_name(const char *in, size_t len, char *out, bool whole_ok)
{
	size_t n;

	if (len == 0 || len > LIMIT_IMAP_METADATA_NAME)
		return -1;
	for (n = 0; n < len; n++) {
		unsigned char c = (unsigned char)in[n];

		if (c <= 0x20 || c >= 0x7f || c == '*' || c == '%' ||
		    (c == '/' && n > 0 && in[n - 1] == '/'))
			return -1;
		out[n] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[n] = '\0';
	if (out[n - 1] == '/')
		return -1;
	if (strcmp(out, "/private") == 0 || strcmp(out, "/shared") == 0)
		return whole_ok ? 0 : -1;
	return strncmp(out, "/private/", 9) == 0 ||
			       strncmp(out, "/shared/", 8) == 0
		       ? 0
		       : -1;
}

static const struct store_ops *
store_backend(const char *url)
{
	if (url == NULL || url[0] == '\0' || strcmp(url, "sqlite") == 0)
		return &store_sqlite_ops;
	return NULL;
}

struct store *
store_open(const char *url, const char *data_dir, char *err, size_t errlen)
{
	const struct store_ops *ops = store_backend(url);
	struct store *st;
	const char *why = NULL;

	if (ops == NULL) {
		/* Only the scheme: a URL may carry a password. */
		snprintf(err, errlen, "unknown store backend \"%.*s\"",
			 (int)strcspn(url, ":"), url);
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->ops = ops;
	if (ops->open(st, data_dir, &why) < 0) {
		snprintf(err, errlen, "%s", why != NULL ? why : "open failed");
		free(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;

	if (st == NULL)
		return;
	st->ops->close(st);
	free(st);
	*stp = NULL;
}

void
store_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* ---- the outbound queue --------------------------------------------- */

void
store_queue_entry_fini(struct store_queue_entry *e)
{
	if (e == NULL)
		return;
	free(e->rcpts);
	e->rcpts = NULL;
	e->n_rcpts = 0;
}

void
store_queue_items_free(struct store_queue_item *items, size_t n)
{
	for (size_t i = 0; items != NULL && i < n; i++)
		free(items[i].prefix);
	free(items);
}

void
store_queue_entries_free(struct store_queue_entry *e, size_t n)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_queue_entry_fini(&e[i]);
	free(e);
}

/* ---- IMAP -------------------------------------------------------- */

void
store_imsgs_free(struct store_imsg *msgs, size_t n)
{
	if (msgs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(msgs[i].keywords);
	free(msgs);
}

void
store_vmsgs_free(struct store_vmsg *msgs, size_t n)
{
	if (msgs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(msgs[i].keywords);
	free(msgs);
}

int
store_mailbox_fields(struct store *st, int64_t mailbox_id,
		     struct store_fields **fields_r, size_t *n_r,
		     const char **err_r)
{
	*fields_r = NULL;
	*n_r = 0;
	return st->ops->mailbox_fields(st, mailbox_id, fields_r, n_r, err_r);
}

void
store_fields_free(struct store_fields *f, size_t n)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(f[i].fields);
	free(f);
}

int
store_mailbox_imsgs_uids(struct store *st, int64_t mailbox_id,
			 const uint32_t *uids, size_t n,
			 struct store_imsg **msgs_r, size_t *n_r,
			 const char **err_r)
{
	*msgs_r = NULL;
	*n_r = 0;
	if (n > STORE_IMSGS_UIDS_MAX) {
		*err_r = "too many UIDs";
		return -1;
	}
	return st->ops->mailbox_imsgs_uids(st, mailbox_id, uids, n, msgs_r,
					   n_r, err_r);
}

void
store_meta_free(struct store_meta *m)
{
	if (m == NULL)
		return;
	free(m->envelope);
	free(m->body);
	free(m->bodystructure);
	free(m->partmap);
	free(m->fields);
	memset(m, 0, sizeof(*m));
}

void
store_flag_changes_free(struct store_flag_change *c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(c[i].keywords);
	free(c);
}

uint64_t
store_quota_limit(int64_t quota, uint64_t quota_default)
{
	return quota < 0 ? quota_default : (uint64_t)quota;
}

bool
store_quota_exceeded(uint64_t limit, uint64_t usage, uint64_t add)
{
	/* Written so that no sum can wrap. */
	return limit > 0 && (usage > limit || add > limit - usage);
}
