/*
 * SQLite backend: envelope recipient resolution (store_resolve_rcpt). For
 * one address the first rule that matches wins: the exact account, the
 * account without its "+tag", the address's aliases, the aliases of the
 * untagged address, the domain's catch-all (not for the sender check:
 * store_sq_delivers_to). Alias targets are resolved the
 * same way, at most STORE_SQ_ALIAS_DEPTH levels deep; an address already
 * seen is skipped, which ends alias loops. A target outside the hosted
 * domains is collected for the outbound queue when the caller asks for
 * them (never for the sender check: it grants no sender right).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_sqlite_int.h"

#define STORE_SQ_ALIAS_DEPTH 8

struct sq_resolve {
	struct store *st;
	int64_t *ids; /* distinct account ids found */
	size_t n_ids, cap_ids;
	char **seen;  /* normalized addresses already expanded */
	size_t n_seen;
	char **remote; /* external targets, when collected */
	size_t n_remote;
	bool want_remote;
	bool no_catchall; /* sender check: a catch-all grants nothing */
};

static int sq_expand(struct sq_resolve *r, const char *address, int depth);

static int
sq_add_account(struct sq_resolve *r, int64_t id)
{
	int64_t *ids;

	for (size_t i = 0; i < r->n_ids; i++) {
		if (r->ids[i] == id)
			return 0;
	}
	ids = store_sq_grow(r->ids, r->n_ids, &r->cap_ids, sizeof(*ids));
	if (ids == NULL)
		return -1;
	r->ids = ids;
	r->ids[r->n_ids++] = id;
	return 0;
}

/* 1 when local@domain is an account (added), 0 not, -1 error. */
static int
sq_match_account(struct sq_resolve *r, const char *local, const char *domain)
{
	int64_t id;
	int rc = store_sq_account_get(r->st, local, domain, &id, NULL, 0);

	if (rc == 1 && sq_add_account(r, id) < 0)
		return -1;
	return rc;
}

/* 1 when local@domain has aliases (their targets expanded), 0 none, -1
 * error. The targets are read in full first: expanding them reuses the
 * same cached statement. */
static int
sq_match_aliases(struct sq_resolve *r, int64_t domain_id, const char *local,
		 int depth)
{
	sqlite3_stmt *s = store_sq_stmt(r->st, SQ_ALIAS_TARGETS);
	char **targets = NULL;
	size_t n = 0;
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, domain_id);
	sqlite3_bind_text(s, 2, local, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_sq_strv_push(&targets, &n,
				       (const char *)sqlite3_column_text(s, 0))
		    < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		store_strv_free(targets);
		return -1;
	}
	for (size_t i = 0; i < n && rc != -1; i++) {
		if (sq_expand(r, targets[i], depth + 1) < 0)
			rc = -1;
	}
	store_strv_free(targets);
	if (rc == -1)
		return -1;
	return n > 0;
}

/* The rules for one local part of a hosted domain; 1 matched, 0 not. */
static int
sq_match_local(struct sq_resolve *r, int64_t domain_id, const char *local,
	       const char *domain, int depth)
{
	char base[STORE_SQ_LOCAL_BUF];
	const char *plus = strchr(local, '+');
	int rc;

	base[0] = '\0';
	/* Sub-addressing (RFC 5233): "user+tag" delivers to "user". */
	if (plus != NULL && plus != local) {
		memcpy(base, local, (size_t)(plus - local));
		base[plus - local] = '\0';
	}
	rc = sq_match_account(r, local, domain);
	if (rc == 0 && base[0] != '\0')
		rc = sq_match_account(r, base, domain);
	if (rc == 0)
		rc = sq_match_aliases(r, domain_id, local, depth);
	if (rc == 0 && base[0] != '\0')
		rc = sq_match_aliases(r, domain_id, base, depth);
	if (rc == 0 && local[0] != '\0' && !r->no_catchall)
		rc = sq_match_aliases(r, domain_id, "", depth);
	return rc;
}

/* Remembers an external target: its local part as given, its domain
 * lower-cased (sq_seen already made it distinct). 1, or -1 when memory
 * runs out. */
static int
sq_add_remote(struct sq_resolve *r, const char *address)
{
	char buf[STORE_SQ_ADDR_BUF];
	char *at;

	snprintf(buf, sizeof(buf), "%s", address);
	at = strrchr(buf, '@');
	if (at != NULL)
		(void)store_sq_lower(at, sizeof(buf) - (size_t)(at - buf), at);
	return store_sq_strv_push(&r->remote, &r->n_remote, buf) < 0 ? -1 : 1;
}

/* true when the address was expanded before; else remembers it. */
static int
sq_seen(struct sq_resolve *r, const char *address)
{
	for (size_t i = 0; i < r->n_seen; i++) {
		if (strcmp(r->seen[i], address) == 0)
			return 1;
	}
	return store_sq_strv_push(&r->seen, &r->n_seen, address) < 0 ? -1 : 0;
}

/* 1 matched, 0 nothing (or ignored: too deep, seen, not ours), -1 error. */
static int
sq_expand(struct sq_resolve *r, const char *address, int depth)
{
	char local[STORE_SQ_LOCAL_BUF], domain[STORE_SQ_DOMAIN_BUF];
	char norm[STORE_SQ_ADDR_BUF];
	int64_t domain_id;
	int rc;

	if (depth > STORE_SQ_ALIAS_DEPTH)
		return 0;
	if (store_sq_split(address, local, domain) < 0)
		return 0;
	snprintf(norm, sizeof(norm), "%s@%s", local, domain);
	rc = sq_seen(r, norm);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	rc = store_sq_domain_id(r->st, domain, &domain_id);
	if (rc < 0)
		return -1;
	/* Not ours: forwarded through the outbound queue (depth > 0: the
	 * address asked for is never remote here, its domain is hosted). */
	if (rc == 0)
		return depth > 0 && r->want_remote ? sq_add_remote(r, address)
						   : 0;
	return sq_match_local(r, domain_id, local, domain, depth);
}

enum store_rcpt_status
store_sqlite_resolve_rcpt(struct store *st, const char *address,
			  int64_t **accounts_r, size_t *n_r, char ***remote_r)
{
	char local[STORE_SQ_LOCAL_BUF], domain[STORE_SQ_DOMAIN_BUF];
	struct sq_resolve r = { .st = st, .want_remote = remote_r != NULL };
	enum store_rcpt_status status;
	int64_t domain_id;
	int rc;

	*accounts_r = NULL;
	*n_r = 0;
	if (remote_r != NULL)
		*remote_r = NULL;
	if (store_sq_split(address, local, domain) < 0)
		return STORE_RCPT_NOT_HOSTED;
	rc = store_sq_domain_id(st, domain, &domain_id);
	if (rc <= 0)
		return rc == 0 ? STORE_RCPT_NOT_HOSTED : STORE_RCPT_ERROR;
	if (local[0] == '\0')
		return STORE_RCPT_NO_USER;
	if (sq_expand(&r, address, 0) < 0) {
		status = STORE_RCPT_ERROR;
	} else if (r.n_ids == 0 && r.n_remote == 0) {
		status = STORE_RCPT_NO_USER;
	} else {
		status = STORE_RCPT_OK;
		*accounts_r = r.ids;
		*n_r = r.n_ids;
		r.ids = NULL;
		if (remote_r != NULL) {
			*remote_r = r.remote;
			r.remote = NULL;
		}
	}
	free(r.ids);
	store_strv_free(r.seen);
	store_strv_free(r.remote);
	return status;
}

int
store_sq_reaches_someone(struct store *st, const char *address)
{
	struct sq_resolve r = { .st = st, .no_catchall = true,
				.want_remote = true };
	char local[STORE_SQ_LOCAL_BUF], domain[STORE_SQ_DOMAIN_BUF];
	int rc;

	if (store_sq_split(address, local, domain) < 0)
		return 0;
	rc = store_sq_domain_id(st, domain, &(int64_t){ 0 });
	if (rc <= 0)
		return rc < 0 ? -1 : 1; /* not ours: forwarded */
	/* Depth 1, as an alias target: an external target it forwards to
	 * counts. */
	rc = sq_expand(&r, address, 1) < 0 ? -1 : r.n_ids + r.n_remote > 0;
	free(r.ids);
	store_strv_free(r.seen);
	store_strv_free(r.remote);
	return rc;
}

int
store_sq_alias_reaches(struct store *st, const char *from, const char *to)
{
	struct sq_resolve r = { .st = st, .no_catchall = true };
	char local[STORE_SQ_LOCAL_BUF], domain[STORE_SQ_DOMAIN_BUF];
	char norm[STORE_SQ_ADDR_BUF];
	int rc = 0;

	if (store_sq_split(to, local, domain) < 0)
		return 0;
	snprintf(norm, sizeof(norm), "%s@%s", local, domain);
	/* Depth 1: the expansion of an alias target, as at delivery. */
	if (sq_expand(&r, from, 1) < 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < r.n_seen; i++)
		rc = strcmp(r.seen[i], norm) == 0;
	free(r.ids);
	store_strv_free(r.seen);
	store_strv_free(r.remote);
	return rc;
}

int
store_sq_delivers_to(struct store *st, const char *address, int64_t account_id)
{
	struct sq_resolve r = { .st = st, .no_catchall = true };
	int rc = 0;

	if (sq_expand(&r, address, 0) < 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < r.n_ids; i++)
		rc = r.ids[i] == account_id;
	free(r.ids);
	store_strv_free(r.seen);
	return rc;
}
