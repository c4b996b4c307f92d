/* Password logins, verified on a worker thread. */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../core/limits.h"
#include "../core/log.h"
#include "../core/server.h"
#include "../core/workers.h"
#include "../store/store.h"
#include "../util/str.h"
#include "auth_cache.h"
#include "passwd.h"
#include "sasl.h"

struct auth_job {
	struct server *srv;
	auth_done_cb cb;
	void *arg;
	char user[LIMIT_ADDRESS + 1];
	char pass[SASL_PASS_MAX + 1];
	enum auth_result result;
	struct store_account acct;
};

static void
auth_work(void *arg)
{
	struct auth_job *j = arg;
	struct store *st = server_thread_store(j->srv);
	int found;

	if (st == NULL) {
		j->result = AUTH_TEMPFAIL;
		return;
	}
	found = store_account_lookup(st, j->user, &j->acct);
	if (found < 0) {
		j->result = AUTH_TEMPFAIL;
		return;
	}
	/* A recent successful login with this very password against this
	 * very stored hash: skip the deliberately slow hash. Only a right
	 * password can hit, so a miss tells a guesser nothing new. */
	if (found == 1 && auth_cache_lookup(j->srv->auth_cache,
					    j->acct.address, j->pass,
					    j->acct.pwhash)) {
		j->result = AUTH_OK;
		return;
	}
	/* An unknown user costs one hash too, so timing tells nothing.
	 * Failures are never cached: every guess pays the full hash. */
	if (passwd_verify(j->pass, found == 1 ? j->acct.pwhash : NULL) &&
	    found == 1) {
		j->result = AUTH_OK;
		auth_cache_insert(j->srv->auth_cache, j->acct.address, j->pass,
				  j->acct.pwhash);
	} else {
		j->result = AUTH_FAILED;
	}
}

static void
auth_done(void *arg)
{
	struct auth_job *j = arg;

	OPENSSL_cleanse(j->pass, sizeof(j->pass));
	OPENSSL_cleanse(j->acct.pwhash, sizeof(j->acct.pwhash));
	j->cb(j->arg, j->result, j->result == AUTH_OK ? j->acct.id : -1,
	      j->result == AUTH_OK ? j->acct.address : "");
	free(j);
}

void
auth_verify_async(struct server *srv, const char *user, const char *pass,
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
	/* Over-long names or passwords cannot match anything stored. */
	if (str_lcpy(j->user, user, sizeof(j->user)) >= sizeof(j->user) ||
	    str_lcpy(j->pass, pass, sizeof(j->pass)) >= sizeof(j->pass))
		j->user[0] = '\0';
	workers_submit(srv->auth_workers, auth_work, auth_done, j);
}
