/*
 * Backend selection and the thin store_* dispatch functions (store.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

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

int
store_begin(struct store *st, const char **err_r)
{
	return st->ops->begin(st, err_r);
}

int
store_commit(struct store *st, const char **err_r)
{
	return st->ops->commit(st, err_r);
}

int
store_rollback(struct store *st)
{
	return st->ops->rollback(st);
}

int
store_savepoint(struct store *st, const char **err_r)
{
	return st->ops->savepoint(st, err_r);
}

int
store_release(struct store *st, const char **err_r)
{
	return st->ops->release(st, err_r);
}

int
store_rollback_to(struct store *st)
{
	return st->ops->rollback_to(st);
}

int
store_domain_add(struct store *st, const char *domain, const char **err_r)
{
	return st->ops->domain_add(st, domain, err_r);
}

int
store_domain_del(struct store *st, const char *domain, const char **err_r)
{
	return st->ops->domain_del(st, domain, err_r);
}

int
store_domain_list(struct store *st, char ***names_r, const char **err_r)
{
	return st->ops->domain_list(st, names_r, err_r);
}

int
store_domain_exists(struct store *st, const char *domain)
{
	return st->ops->domain_exists(st, domain);
}

int
store_user_add(struct store *st, const char *address, const char *pwhash,
	       const char **err_r)
{
	return st->ops->user_add(st, address, pwhash, err_r);
}

int
store_user_passwd(struct store *st, const char *address, const char *pwhash,
		  const char **err_r)
{
	return st->ops->user_passwd(st, address, pwhash, err_r);
}

int
store_user_del(struct store *st, const char *address, char ***orphan_blobs_r,
	       const char **err_r)
{
	return st->ops->user_del(st, address, orphan_blobs_r, err_r);
}

int
store_user_list(struct store *st, const char *domain_or_null,
		char ***addresses_r, const char **err_r)
{
	return st->ops->user_list(st, domain_or_null, addresses_r, err_r);
}

int
store_account_lookup(struct store *st, const char *address,
		     struct store_account *acct_r)
{
	return st->ops->account_lookup(st, address, acct_r);
}

int
store_alias_add(struct store *st, const char *source, const char *target,
		const char **err_r)
{
	return st->ops->alias_add(st, source, target, err_r);
}

int
store_alias_del(struct store *st, const char *source,
		const char *target_or_null, const char **err_r)
{
	return st->ops->alias_del(st, source, target_or_null, err_r);
}

int
store_alias_list(struct store *st, const char *domain_or_null, char ***lines_r,
		 const char **err_r)
{
	return st->ops->alias_list(st, domain_or_null, lines_r, err_r);
}

enum store_rcpt_status
store_resolve_rcpt(struct store *st, const char *address, int64_t **accounts_r,
		   size_t *n_r)
{
	return st->ops->resolve_rcpt(st, address, accounts_r, n_r);
}

int
store_deliver(struct store *st, const struct store_delivery *d,
	      const char **err_r)
{
	return st->ops->deliver(st, d, err_r);
}

int
store_mailbox_info(struct store *st, int64_t account_id, const char *mailbox,
		   struct store_mailbox_info *info_r)
{
	return st->ops->mailbox_info(st, account_id, mailbox, info_r);
}

int
store_mailbox_messages(struct store *st, int64_t mailbox_id,
		       struct store_msg **msgs_r, size_t *n_r,
		       const char **err_r)
{
	return st->ops->mailbox_messages(st, mailbox_id, msgs_r, n_r, err_r);
}

int
store_messages_expunge(struct store *st, int64_t mailbox_id,
		       const int64_t *msg_ids, size_t n,
		       char ***orphan_blobs_r, const char **err_r)
{
	return st->ops->messages_expunge(st, mailbox_id, msg_ids, n,
					 orphan_blobs_r, err_r);
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
