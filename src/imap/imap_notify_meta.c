/*
 * NOTIFY's MailboxMetadataChange and ServerMetadataChange (RFC 5465 §5.7,
 * §5.8; RFC 5464 §4.4.2): the METADATA entries of a mailbox (or of the
 * server) as a sorted list of names with a hash of each value, read by
 * the scan job; two such lists differ in the names added, removed or
 * given another value, which go out as "* METADATA mailbox name ...".
 */
#include <stdlib.h>
#include <string.h>

#include "imap_notify_int.h"

void
imap_notify_meta_free(struct imap_notify_metaset *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].name);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/* FNV-1a: only equality matters, and a value never leaves the store. */
static uint64_t
imap_notify_meta_hash(const char *p, size_t len)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int
imap_notify_meta_cmp(const void *a, const void *b)
{
	return strcmp(((const struct imap_notify_meta *)a)->name,
		      ((const struct imap_notify_meta *)b)->name);
}

/* Appends rows[0..n) to m (room for them is there). 0 or -1. */
static int
imap_notify_meta_add(struct imap_notify_metaset *m,
		     const struct store_metadata *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct imap_notify_meta *e = &m->v[m->n];

		if ((e->name = strdup(rows[i].name)) == NULL)
			return -1;
		e->h = imap_notify_meta_hash(rows[i].value, rows[i].len);
		m->n++;
	}
	return 0;
}

int
imap_notify_meta_scan(struct store *st, int64_t account_id,
		      int64_t mailbox_id, struct imap_notify_metaset *m)
{
	struct store_metadata *rows = NULL, *rows2 = NULL;
	size_t n = 0, n2 = 0;
	const char *err = NULL;
	int r = -1;

	memset(m, 0, sizeof(*m));
	/* The server's are the account's /private ones and /shared ones
	 * under account 0 (cmd_metadata.c). */
	if (store_metadata_list(st, account_id, mailbox_id, &rows, &n,
				&err) < 0 ||
	    (mailbox_id == 0 &&
	     store_metadata_list(st, 0, 0, &rows2, &n2, &err) < 0))
		goto out;
	m->v = calloc(n + n2 + 1, sizeof(*m->v));
	if (m->v == NULL || imap_notify_meta_add(m, rows, n) < 0 ||
	    imap_notify_meta_add(m, rows2, n2) < 0) {
		imap_notify_meta_free(m);
		goto out;
	}
	qsort(m->v, m->n, sizeof(*m->v), imap_notify_meta_cmp);
	r = 0;
out:
	store_metadata_free(rows, n);
	store_metadata_free(rows2, n2);
	return r;
}

void
imap_notify_meta_diff(struct imap_session *s, const char *mailbox,
		      const struct imap_notify_metaset *old,
		      const struct imap_notify_metaset *now)
{
	size_t i = 0, j = 0, head;
	struct buf b;

	buf_init(&b, 1024 * 1024);
	buf_printf(&b, "* METADATA ");
	if (mailbox[0] == '\0')
		buf_printf(&b, "\"\"");
	else
		imap_buf_mailbox(s, &b, mailbox);
	head = b.len;
	while (i < old->n || j < now->n) {
		int c = i == old->n ? 1
			: j == now->n ? -1
			: strcmp(old->v[i].name, now->v[j].name);
		const char *name = c < 0 ? old->v[i].name : now->v[j].name;

		if (c != 0 || old->v[i].h != now->v[j].h) {
			buf_append(&b, " ", 1);
			imap_buf_string(&b, name, strlen(name));
		}
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	if (b.len > head) {
		buf_append(&b, "\r\n", 2);
		imap_reply_raw(s, b.data, b.len);
	}
	buf_fini(&b);
}
