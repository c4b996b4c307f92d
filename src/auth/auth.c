/*
 * Password logins in three steps, so a login whose password is in the
 * verified-login cache never waits behind a backlog of hashes:
 *   1. loop: a blocked client address is refused at once (no lookup, no
 *      hash: a blocked guesser costs nothing);
 *   2. auth lookup thread: the account row, then the cache (fast);
 *   3. auth hashing pool, bounded by auth_queue_max: the slow hash. A full
 *      queue answers AUTH_BUSY at once instead of growing.
 * Failures are counted in the throttle on the loop thread.
 */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../core/conn.h"
#include "../core/limits.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/loop.h"
#include "../core/runtime.h"
#include "../core/session.h"
#include "../core/workers.h"
#include "../store/store.h"
#include "../util/str.h"
#include "auth_cache.h"
#include "passwd.h"
#include "sasl.h"
#include "throttle.h"

/* Big enough for any conn_peer() text (INET6_ADDRSTRLEN is 46). */
#define AUTH_PEER_MAX 64
#define AUTH_SESS_MAX 32

struct auth_job {
	struct server *srv;
	auth_done_cb cb;
	void *arg;
	char sess_id[AUTH_SESS_MAX + 1];
	char peer[AUTH_PEER_MAX + 1];
	char user[LIMIT_ADDRESS + 1];
	char pass[SASL_PASS_MAX + 1];
	int found; /* store_account_lookup: 1 found, 0 not, -1 error */
	bool need_hash;
	enum auth_result result;
	struct store_account acct;
};

/* Step 2, on the lookup thread. */
static void
auth_lookup_work(void *arg)
{
	struct auth_job *j = arg;
	struct store *st = store_thread_handle(&j->srv->cfg);

	if (st == NULL) {
		j->result = AUTH_TEMPFAIL;
		return;
	}
	j->found = store_account_lookup(st, j->user, &j->acct);
	if (j->found < 0) {
		j->result = AUTH_TEMPFAIL;
		return;
	}
	/* A recent successful login with this very password against this
	 * very stored hash: skip the deliberately slow hash. Only a right
	 * password can hit, so a miss tells a guesser nothing new. */
	if (j->found == 1 && auth_cache_lookup(j->srv->auth_cache,
					       j->acct.address, j->pass,
					       j->acct.pwhash)) {
		j->result = AUTH_OK;
		return;
	}
	j->need_hash = true;
}

/* Step 3, on the hashing pool. */
static void
auth_hash_work(void *arg)
{
	struct auth_job *j = arg;

	/* An unknown user costs one hash too, so timing tells nothing.
	 * Failures are never cached: every guess pays the full hash. */
	if (passwd_verify(j->pass, j->found == 1 ? j->acct.pwhash : NULL) &&
	    j->found == 1) {
		j->result = AUTH_OK;
		auth_cache_insert(j->srv->auth_cache, j->acct.address, j->pass,
				  j->acct.pwhash);
	} else {
		j->result = AUTH_FAILED;
	}
}

static unsigned
auth_count_failure(struct server *srv, const char *sess_id,
		   const char *peer, const char *user)
{
	struct throttle_fail tf;

	if (sess_id != NULL && sess_id[0] == '\0')
		sess_id = NULL;

	throttle_fail(srv->auth_throttle, peer, user, &tf);
	if (tf.blocked)
		log_warn(sess_id, "auth_block", " ip=%s failures=%u "
			 "seconds=%d", log_qs(peer), tf.addr_failures,
			 srv->cfg.auth_block_time);
	return tf.addr_failures > tf.account_failures ? tf.addr_failures
						      : tf.account_failures;
}

/* On the loop: counts a failure, answers, wipes and frees. */
static void
auth_finish(void *arg)
{
	struct auth_job *j = arg;
	struct auth_outcome o = {
		.result = j->result,
		.account_id = -1,
		.address = "",
	};

	OPENSSL_cleanse(j->pass, sizeof(j->pass));
	OPENSSL_cleanse(j->acct.pwhash, sizeof(j->acct.pwhash));
	if (o.result == AUTH_OK) {
		o.account_id = j->acct.id;
		o.address = j->acct.address;
	} else if (o.result == AUTH_FAILED) {
		o.failures = auth_count_failure(j->srv, j->sess_id, j->peer,
						j->user);
	}
	j->cb(j->arg, &o);
	free(j);
}

/* Back on the loop after step 2: done, or on to the bounded hash queue. */
static void
auth_lookup_done(void *arg)
{
	struct auth_job *j = arg;
	struct server *srv = j->srv;
	const char *sid = j->sess_id[0] != '\0' ? j->sess_id : NULL;

	/* Which way a login was verified, for tests of the cache (debug). */
	if (!j->need_hash) {
		if (j->result == AUTH_OK)
			log_debug(sid, "auth_verify", " via=cache");
		auth_finish(j);
		return;
	}
	/* Blocked while the lookup ran: spare the hash. */
	if (throttle_blocked(srv->auth_throttle, j->peer)) {
		j->result = AUTH_BLOCKED;
		auth_finish(j);
		return;
	}
	log_debug(sid, "auth_verify", " via=hash");
	if (workers_try_submit(srv->auth_workers, srv->cfg.auth_queue_max,
			       auth_hash_work, auth_finish, j) < 0) {
		log_warn(sid, "auth_busy",
			 " ip=%s queue_max=%u", log_qs(j->peer),
			 srv->cfg.auth_queue_max);
		j->result = AUTH_BUSY;
		auth_finish(j);
	}
}

void
auth_verify_async(struct server *srv, const struct auth_req *rq,
		  auth_done_cb cb, void *arg)
{
	struct auth_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		log_error(NULL, "auth", " reason=oom");
		abort();
	}
	j->srv = srv;
	j->cb = cb;
	j->arg = arg;
	j->result = AUTH_FAILED;
	if (rq->sess_id != NULL)
		str_lcpy(j->sess_id, rq->sess_id, sizeof(j->sess_id));
	if (rq->peer_ip != NULL)
		str_lcpy(j->peer, rq->peer_ip, sizeof(j->peer));
	/* Over-long names or passwords cannot match anything stored. */
	if (str_lcpy(j->user, rq->user, sizeof(j->user)) >= sizeof(j->user) ||
	    str_lcpy(j->pass, rq->pass, sizeof(j->pass)) >= sizeof(j->pass))
		j->user[0] = '\0';
	/* Step 1: a blocked address gets its answer without any work. The
	 * callback still runs later, as promised. */
	if (throttle_blocked(srv->auth_throttle, j->peer)) {
		j->result = AUTH_BLOCKED;
		loop_post(srv->loop, auth_finish, j);
		return;
	}
	workers_submit(srv->auth_lookup_workers, auth_lookup_work,
		       auth_lookup_done, j);
}

unsigned
auth_note_failure(struct server *srv, const struct auth_req *rq)
{
	return auth_count_failure(srv, rq->sess_id, rq->peer_ip, rq->user);
}

long
auth_fail_delay_ms(const struct server *srv, unsigned n)
{
	long ms = (long)srv->cfg.auth_fail_delay_ms * (long)n;
	long max = srv->cfg.auth_fail_delay_max_ms;

	if (ms < 0)
		ms = 0;
	return ms > max ? max : ms;
}

unsigned
auth_max_failures(const struct server *srv)
{
	unsigned max = srv->cfg.max_auth_failures;

	return max > 0 ? max : LIMIT_AUTH_FAILURES_DEFAULT;
}

unsigned
auth_session_failure(struct server *srv, const struct auth_req *rq,
		     unsigned n, unsigned failures)
{
	if (n == 0)
		n = auth_note_failure(srv, rq);
	return n > failures ? n : failures;
}

static const char *const auth_fail_names[] = {
	[AUTH_FAIL_CREDENTIALS] = "credentials",
	[AUTH_FAIL_MALFORMED] = "malformed",
	[AUTH_FAIL_AUTHZID] = "authzid",
	[AUTH_FAIL_BLOCKED] = "blocked",
	[AUTH_FAIL_BUSY] = "busy",
	[AUTH_FAIL_UNAVAILABLE] = "unavailable",
};

void
auth_log_failure(const struct session *s, const char *user, const char *mech,
		 enum auth_fail_reason why, unsigned failures)
{
	/* The fields a ban needs (address, protocol) come first and never
	 * hold client text, so a crafted user name cannot fake them. */
	log_warn(s->id, "login_fail", " proto=%s ip=%s user=%s mech=%s "
		 "reason=%s failures=%u",
		 s->conn != NULL ? conn_proto(s->conn) : "?",
		 s->conn != NULL ? log_qs(conn_peer(s->conn)) : "?",
		 log_qs(user != NULL ? user : ""), mech != NULL ? mech : "?",
		 auth_fail_names[why], failures);
	metrics_login(s->conn != NULL ? conn_proto(s->conn) : NULL, false,
		      auth_fail_names[why]);
}

int
auth_fail_timer(struct server *srv, struct event **ev, unsigned n,
		event_callback_fn cb, void *arg)
{
	long ms = auth_fail_delay_ms(srv, n);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (*ev == NULL)
		*ev = evtimer_new(loop_base(srv->loop), cb, arg);
	if (*ev == NULL || evtimer_add(*ev, &tv) != 0)
		return -1;
	return 0;
}

void
auth_refused_note(const struct session *s, const char *user,
		  const char *mech, enum auth_result result,
		  unsigned *failures)
{
	if (result == AUTH_BLOCKED)
		++*failures;
	auth_log_failure(s, user, mech, result == AUTH_BLOCKED
			 ? AUTH_FAIL_BLOCKED : result == AUTH_BUSY
			 ? AUTH_FAIL_BUSY : AUTH_FAIL_UNAVAILABLE, *failures);
}
