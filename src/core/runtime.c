/*
 * The runtime half of struct server (runtime.h): mailbox locks, busy
 * counter, account watches and the registry of live connections.
 */
#include "runtime_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"
#include "iprate.h"
#include "log.h"
#include "tls.h"

int
runtime_init(struct server *srv)
{
	srv->reg = calloc(1, sizeof(*srv->reg));
	return srv->reg != NULL ? 0 : -1;
}

void
runtime_free(struct server *srv)
{
	struct runtime_reg *r = srv->reg;

	if (r == NULL)
		return;
	for (size_t b = 0; b < RUNTIME_LOCK_BUCKETS; b++)
		while (r->locks[b] != NULL) {
			struct runtime_lock *l = r->locks[b];
			r->locks[b] = l->next;
			free(l);
		}
	for (size_t b = 0; b < RUNTIME_IP_BUCKETS; b++)
		while (r->ips[b] != NULL) {
			struct runtime_ip_count *e = r->ips[b];
			r->ips[b] = e->next;
			free(e);
		}
	tls_ctx_free(r->tls_client_ctx);
	free(r);
	srv->reg = NULL;
}

struct ssl_ctx_st *
server_tls_client_ctx(struct server *srv)
{
	struct runtime_reg *r = srv->reg;
	char err[256];

	if (r->tls_client_ctx == NULL) {
		r->tls_client_ctx = tls_client_ctx_new(&srv->cfg, err,
						       sizeof(err));
		if (r->tls_client_ctx == NULL)
			log_error(NULL, "tls_client", " error=%s",
				  log_qs(err));
	}
	return r->tls_client_ctx;
}

bool
server_mailbox_lock(struct server *srv, int64_t mailbox_id)
{
	struct runtime_lock **pp =
		&srv->reg->locks[(uint64_t)mailbox_id % RUNTIME_LOCK_BUCKETS];

	for (struct runtime_lock *l = *pp; l != NULL; l = l->next)
		if (l->mailbox_id == mailbox_id)
			return false;
	struct runtime_lock *l = malloc(sizeof(*l));
	if (l == NULL)
		return false;
	l->mailbox_id = mailbox_id;
	l->next = *pp;
	*pp = l;
	return true;
}

void
server_mailbox_unlock(struct server *srv, int64_t mailbox_id)
{
	struct runtime_lock **pp =
		&srv->reg->locks[(uint64_t)mailbox_id % RUNTIME_LOCK_BUCKETS];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->mailbox_id == mailbox_id) {
			struct runtime_lock *l = *pp;
			*pp = l->next;
			free(l);
			return;
		}
}

void
server_busy_begin(struct server *srv)
{
	srv->reg->busy++;
}

void
server_busy_end(struct server *srv)
{
	if (srv->reg->busy > 0)
		srv->reg->busy--;
}

unsigned
runtime_busy(const struct server *srv)
{
	return srv->reg->busy;
}

void
server_watch_add(struct server *srv, struct server_watch *w)
{
	w->prev = NULL;
	w->next = srv->reg->watches;
	if (w->next != NULL)
		w->next->prev = w;
	srv->reg->watches = w;
}

void
server_watch_remove(struct server *srv, struct server_watch *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else if (srv->reg->watches == w)
		srv->reg->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

void
server_notify_account(struct server *srv, int64_t account_id)
{
	struct server_watch *w = srv->reg->watches;

	/* A linear walk: watches are IMAP sessions with a mailbox selected;
	 * a per-account table can replace this when it shows in profiles. */
	while (w != NULL) {
		struct server_watch *next = w->next;
		if (w->account_id == account_id)
			w->cb(w->ctx, account_id);
		w = next;
	}
}

static unsigned
ip_hash(const char *ip)
{
	unsigned h = 2166136261u;

	for (; *ip; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h % RUNTIME_IP_BUCKETS;
}

static struct runtime_ip_count **
ip_find(struct runtime_reg *r, const char *ip)
{
	struct runtime_ip_count **pp = &r->ips[ip_hash(ip)];

	while (*pp != NULL && strcmp((*pp)->ip, ip) != 0)
		pp = &(*pp)->next;
	return pp;
}

unsigned
runtime_conn_count_group(const struct server *srv, const char *group)
{
	struct runtime_ip_count *e = *ip_find(srv->reg, group);

	return e ? e->n : 0;
}

unsigned
runtime_conn_count(const struct server *srv)
{
	return srv->reg->n_conns;
}

/* Links c into the list of live connections (for SIGTERM) and counts it
 * under its address group (iprate.h). */
void
runtime_conn_added(struct server *srv, struct conn *c)
{
	struct runtime_reg *r = srv->reg;
	char group[64];
	struct runtime_ip_count **pp;

	c->next = r->conns;
	if (r->conns != NULL)
		r->conns->prev = c;
	r->conns = c;
	iprate_group(conn_peer(c), group, sizeof(group));
	pp = ip_find(r, group);
	if (*pp == NULL) {
		struct runtime_ip_count *e = calloc(1, sizeof(*e));
		if (e == NULL)
			return;
		snprintf(e->ip, sizeof(e->ip), "%s", group);
		*pp = e;
	}
	(*pp)->n++;
	r->n_conns++;
}

void
runtime_conn_removed(struct server *srv, struct conn *c)
{
	struct runtime_reg *r = srv->reg;
	char group[64];
	struct runtime_ip_count **pp;

	iprate_group(conn_peer(c), group, sizeof(group));
	pp = ip_find(r, group);
	r->n_conns--;
	if (*pp != NULL && --(*pp)->n == 0) {
		struct runtime_ip_count *e = *pp;
		*pp = e->next;
		free(e);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		r->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
}

void
server_queue_kick(struct server *srv, bool notices)
{
	if (srv->queue != NULL && srv->queue_kick_fn != NULL)
		srv->queue_kick_fn(srv->queue, notices);
}
