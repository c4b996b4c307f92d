/*
 * Server lifecycle: bind, load TLS, drop privileges, start the worker pool
 * and the commit thread, run the loop; SIGTERM drains, SIGHUP reloads TLS
 * and reopens the log file, SIGUSR1 reopens the log file.
 */
#include "server.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "../auth/auth_cache.h"
#include "../auth/throttle.h"
#include "../store/commit.h"
#include "../store/store.h"
#include "../store/sweep.h"
#include "../core/challenge.h"
#include "../core/conn.h"
#include "../core/log.h"
#include "../core/metrics.h"
#include "../core/loop.h"
#include "../core/safepath.h"
#include "../core/session.h"
#include "../core/tls.h"
#include "../core/version.h"
#include "../core/workers.h"
#include "../dns/dns.h"
#include "../mailauth/dkim.h"
#include "../mailauth/dmarc.h"
#include "../mailauth/srs.h"
#include "../queue/queue.h"
#include "acme.h"
#include "control.h"
#include "keyhelper.h"
#include "listener.h"
#include "privdrop.h"
#include "protocols.h"
#include "sdnotify.h"
#include "server_int.h"
#include "tls_cert.h"
#include "tls_sni.h"

/* SIGTERM waits at most this long for durable work in flight. */
#define SERVER_DRAIN_MAX_TICKS 300 /* x 100 ms */
/* ... and at most this long for the sessions told to go (a command
 * running ends first, then its BYE/-ERR/421 leaves). */
#define SERVER_DRAIN_SESSION_TICKS 100 /* x 100 ms */

/* Durable work in flight: sessions' deliveries, and the queue's
 * transactions and commits (an outcome not committed would make the
 * next start send that transaction again). */
static unsigned
server_busy(const struct server *srv)
{
	return runtime_busy(srv) + queue_busy(srv->queue);
}

static void
drain_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct server_priv *p = srv->priv;

	if (server_busy(srv) > 0 &&
	    ++p->drain_ticks < SERVER_DRAIN_MAX_TICKS)
		return;
	if (server_busy(srv) == 0 && session_live_count(srv) > 0 &&
	    ++p->drain_ticks < SERVER_DRAIN_SESSION_TICKS)
		return;
	if (server_busy(srv) > 0)
		log_warn(NULL, "drain_timeout", " busy=%u queue=%u",
			 runtime_busy(srv), queue_busy(srv->queue));
	event_del(p->drain_timer);
	conn_shutdown_all(srv, "shutdown");
	loop_stop(srv->loop);
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = { 0, 100000 };

	if (srv->draining)
		return;
	log_info(NULL, "shutdown", " signal=%d busy=%u", (int)sig,
		 runtime_busy(srv));
	srv->draining = true;
	(void)sdnotify("STOPPING=1");
	listener_disable_all(srv);
	/* No new attempts; transactions in flight end (queue.h). */
	queue_drain(srv->queue);
	/* Every session is told, between commands (core/session.h). */
	session_bye_all(srv, SESSION_BYE_SHUTDOWN, NULL);
	event_add(srv->priv->drain_timer, &tv);
	drain_tick_cb(-1, 0, srv);
}

/* Swaps in a context built from the PEM just read; a bad certificate or
 * key keeps the one in use. */
static void
server_reload_pem_cb(void *arg, const char *cert, size_t cert_len,
		     const char *key, size_t key_len, const char *why)
{
	struct server *srv = arg;
	char err[512];
	SSL_CTX *ctx = NULL;

	/* An ACME certificate, when there is one, is the default. */
	if ((ctx = acme_ctx_load(srv)) == NULL && cert != NULL)
		ctx = tls_sni_ctx_new(srv, cert, cert_len, key, key_len, err,
				      sizeof(err));
	if (ctx == NULL) {
		log_error(NULL, "tls_reload", " reason=%s kept=old",
			  log_qs(cert != NULL ? err : why));
		return;
	}
	/* Live connections keep a reference to the old context. */
	tls_ctx_free(srv->tls_ctx);
	srv->tls_ctx = ctx;
	log_info(NULL, "tls_reload", " cert=%s", log_qs(srv->cfg.cert_path));
}

/* logrotate renamed the file (or will remove it): lines go to a new one
 * under the configured name from now on. The open runs on the loop, once
 * per signal. */
static void
server_reopen_log(void)
{
	char err[512];
	int r = log_reopen(err, sizeof(err));

	if (r < 0)
		log_error(NULL, "log_reopen", " reason=%s kept=old",
			  log_qs(err));
	else if (r > 0)
		log_info(NULL, "log_reopen", " path=%s",
			 log_qs(log_target_path()));
}

static void
server_dkim_warn(const char *domain, const char *why)
{
	log_error(NULL, "dkim_keys", " domain=%s reason=%s", log_qs(domain),
		  log_qs(why));
}

/* The DKIM signing keys (DATA_DIR/dkim), at start and on SIGHUP; signing
 * in flight keeps the keyring it took. */
static void
server_dkim_load(struct server *srv)
{
	struct dkim_keyring *kr;

	if (!srv->cfg.dkim_sign)
		return;
	kr = dkim_keyring_load(srv->cfg.data_dir, server_dkim_warn);
	if (kr == NULL) {
		log_error(NULL, "dkim_keys", " reason=%s kept=old",
			  log_qs("out of memory"));
		return;
	}
	log_info(NULL, "dkim_keys", " domains=%zu", dkim_keyring_count(kr));
	dkim_keyring_set(&srv->dkim, kr);
}

static void
sigusr1_cb(evutil_socket_t sig, short what, void *arg)
{
	server_reopen_log();
}

static void
sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	char err[512];
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;

	server_reopen_log();
	server_dkim_load(srv);

	/* Started as root: the files may be root's alone; the helper reads
	 * them and answers on the loop. */
	if (srv->priv->keys != NULL) {
		if (keyhelper_fetch(srv->priv->keys, loop_base(srv->loop),
				    server_reload_pem_cb, srv, err,
				    sizeof(err)) < 0)
			server_reload_pem_cb(srv, NULL, 0, NULL, 0, err);
		return;
	}
	if (safepath_read(srv->cfg.cert_path, SAFEPATH_PEM_MAX, &cert,
			  &cert_len, err, sizeof(err)) < 0 ||
	    safepath_read(srv->cfg.key_path, SAFEPATH_PEM_MAX, &key, &key_len,
			  err, sizeof(err)) < 0)
		server_reload_pem_cb(srv, NULL, 0, NULL, 0, err);
	else
		server_reload_pem_cb(srv, cert, cert_len, key, key_len, NULL);
	safepath_free_buf(cert, cert_len);
	safepath_free_buf(key, key_len);
}

/* Session and transaction buffers come and go with every message. With
 * the fixed mmap threshold main() sets, glibc's trim threshold stays at
 * 128 KB: it handed the top of the heap back to the kernel (brk) and
 * took it again for the next message — under relay load one brk per
 * message and 6% of the loop thread (perf). Keep up to 8 MB free at the
 * top instead; buffers above the mmap threshold still go back at once. */
static void
server_tune_malloc(void)
{
	mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
	mallopt(M_TOP_PAD, 1024 * 1024);
}

static int
server_signals(struct server *srv)
{
	struct event_base *base = loop_base(srv->loop);
	struct server_priv *p = srv->priv;

	signal(SIGPIPE, SIG_IGN);
	p->sig_term = evsignal_new(base, SIGTERM, sigterm_cb, srv);
	p->sig_int = evsignal_new(base, SIGINT, sigterm_cb, srv);
	p->sig_hup = evsignal_new(base, SIGHUP, sighup_cb, srv);
	p->sig_usr1 = evsignal_new(base, SIGUSR1, sigusr1_cb, srv);
	p->drain_timer = event_new(base, -1, EV_PERSIST, drain_tick_cb, srv);
	if (!p->sig_term || !p->sig_int || !p->sig_hup || !p->sig_usr1 ||
	    !p->drain_timer)
		return -1;
	event_add(p->sig_term, NULL);
	event_add(p->sig_int, NULL);
	event_add(p->sig_hup, NULL);
	event_add(p->sig_usr1, NULL);
	return 0;
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* One server per data dir: a second one would find the first's messages
 * in flight (written, not yet committed) and, worse, sweep them as
 * orphans. The lock ends with the process, however it ends. Taken first,
 * before a port is bound or anything printed, so a second `serve` says
 * one line and leaves the running one alone. As root in the service
 * user's directory: opened relative to the directory's fd, never through
 * a link, read-only (flock needs no write access, so a hard link planted
 * there could not make root write anything), and handed to the user when
 * this call made it. */
static int
server_lock_data_dir(struct server *srv, char *err, size_t errlen)
{
	int dfd = safepath_open_dir(srv->cfg.data_dir, false, 0, NULL, err,
				    errlen);
	int fd;
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (dfd < 0)
		return -1;
	fd = openat(dfd, "serve.lock",
		    O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0 && privdrop_user_ids(srv->cfg.run_user, &uid, &gid) == 0)
		(void)fchown(fd, uid, gid);
	else if (fd < 0 && errno == EEXIST)
		fd = openat(dfd, "serve.lock", O_RDONLY | O_NOFOLLOW |
			    O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "cannot open %s/serve.lock: %s",
			 srv->cfg.data_dir,
			 fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	srv->priv->lock_fd = fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s", errno == EWOULDBLOCK
			 ? "another postel serve is using this data directory"
			 : strerror(errno));
		return -1;
	}
	return 0;
}

/* Everything done as root: data dir, certificate, key, ports. */
static int
server_start_privileged(struct server *srv, char *err, size_t errlen)
{
	if (privdrop_prepare_dir(srv->cfg.data_dir, srv->cfg.run_user, err,
				 errlen) < 0)
		return -1;
	if (server_lock_data_dir(srv, err, errlen) < 0)
		return -1;
	if (tls_ensure_cert(&srv->cfg, err, errlen) < 0)
		return -1;
	srv->priv->tickets = tls_tickets_new(srv->cfg.tls_ticket_rotation);
	if (srv->priv->tickets == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	srv->tls_ctx = tls_ctx_new(&srv->cfg, srv->priv->tickets, err, errlen);
	if (srv->tls_ctx == NULL ||
	    tls_sni_attach(srv->tls_ctx, srv, err, errlen) < 0)
		return -1;
	/* acme = yes: the certificate obtained before is the default. */
	SSL_CTX *acme_ctx = acme_ctx_load(srv);
	if (acme_ctx != NULL) {
		tls_ctx_free(srv->tls_ctx);
		srv->tls_ctx = acme_ctx;
	}
	for (int p = 0; p < PROTO_COUNT; p++)
		metrics_set_proto_name((enum proto)p, protocols[p].name);
	if (listener_bind_all(srv, protocols, err, errlen) < 0)
		return -1;
	/* Forked before any thread exists; it keeps root only to read the
	 * configured files again on SIGHUP. */
	if (geteuid() == 0 &&
	    (srv->priv->keys = keyhelper_start(srv->cfg.cert_path,
					       srv->cfg.key_path, err,
					       errlen)) == NULL)
		return -1;
	return privdrop_to_user(srv->cfg.run_user, err, errlen);
}

/* The message store's top directory, made by the unprivileged user. */
static int
server_make_store_dirs(struct server *srv, char *err, size_t errlen)
{
	char path[sizeof(srv->cfg.data_dir) + 8];

	snprintf(path, sizeof(path), "%s/msg", srv->cfg.data_dir);
	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s%s", path,
			 strerror(errno), errno == EACCES &&
			 srv->priv->keys != NULL
			 ? " (every directory above the data dir must be "
			   "searchable by the service user)" : "");
		return -1;
	}
	return 0;
}

static void
server_free_parts(struct server *srv)
{
	struct server_priv *p = srv->priv;

	/* The outbound queue stops first (it uses the resolver, the store
	 * and the workers): nothing new starts, its lookups are cancelled;
	 * it is freed below, after the last completions. */
	acme_stop(&p->acme);
	queue_drain(srv->queue);
	/* Then the resolver: cancels what is in flight, joins its thread. */
	dns_free(&srv->dns);
	sweep_thread_stop(&p->sweep);
	workers_free(&srv->workers);
	workers_free(&srv->io_workers);
	workers_free(&srv->auth_workers);
	workers_free(&srv->auth_lookup_workers);
	/* After its only users, the auth workers, have stopped. */
	auth_cache_free(&srv->auth_cache);
	throttle_free(&srv->auth_throttle);
	commit_free(&srv->commit);
	/* Completions the threads posted after the loop stopped still free
	 * their sessions: run them. */
	if (srv->loop != NULL)
		for (int i = 0; i < 3; i++)
			event_base_loop(loop_base(srv->loop), EVLOOP_NONBLOCK);
	/* After those completions (the queue's among them); a transaction
	 * still in flight is cut, its recipients stay leased until the next
	 * start frees them (queue.c). */
	queue_free(&srv->queue);
	dkim_keyring_set(&srv->dkim, NULL);
	control_free(&p->control);
	listener_free_all(srv);
	if (p->sig_term) event_free(p->sig_term);
	if (p->sig_int) event_free(p->sig_int);
	if (p->sig_hup) event_free(p->sig_hup);
	if (p->sig_usr1) event_free(p->sig_usr1);
	if (p->drain_timer) event_free(p->drain_timer);
	tls_ctx_free(srv->tls_ctx);
	srv->tls_ctx = NULL;
	tls_tickets_free(&p->tickets);
	challenges_free(&srv->challenges);
	keyhelper_free(&p->keys);
	conn_linger_free_all(srv);
	loop_free(&srv->loop);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	free(p);
	srv->priv = NULL;
	runtime_free(srv);
}

/* The SRS secret, made on first start by the service user (after the
 * drop: the file is its own, mode 0600). Without it forwards keep their
 * sender and SRS addresses are refused; the log says why. */
static void
server_srs_load(struct server *srv)
{
	char err[512];

	_Static_assert(sizeof(srv->srs_secret) == SRS_SECRET_LEN, "secret");
	if (!srv->cfg.srs)
		return;
	if (srs_secret_load(srv->cfg.data_dir, srv->srs_secret, err,
			    sizeof(err)) < 0) {
		log_error(NULL, "srs_secret", " reason=%s", log_qs(err));
		return;
	}
	srv->srs_ready = true;
}

/* The worker pools, the login throttle and cache; 0 or -1. */
static int
server_start_workers(struct server *srv)
{
	srv->workers = workers_new(srv->loop, srv->cfg.worker_threads);
	/* File syncs mostly wait on the disk: more threads let the kernel
	 * merge them into fewer journal commits, without delaying lookups
	 * queued behind them. */
	srv->io_workers = workers_new(srv->loop, 2 * srv->cfg.worker_threads);
	/* yescrypt is CPU-heavy by design: a login storm must not delay
	 * lookups and reads queued behind it. */
	srv->auth_workers = workers_new(srv->loop, 2);
	/* Account lookups and cache checks are quick: on their own thread,
	 * a login with a remembered password never waits behind hashes. */
	srv->auth_lookup_workers = workers_new(srv->loop, 1);
	srv->auth_throttle = throttle_new(&(struct throttle_params){
		.block_failures = srv->cfg.auth_block_failures,
		.window_s = (unsigned)srv->cfg.auth_fail_window,
		.block_s = (unsigned)srv->cfg.auth_block_time,
	});
	/* Repeated logins skip the hash (auth_cache_ttl 0: never). */
	if (srv->cfg.auth_cache_ttl > 0)
		srv->auth_cache = auth_cache_new(
			(unsigned)srv->cfg.auth_cache_ttl);
	if (srv->workers == NULL || srv->io_workers == NULL ||
	    srv->auth_workers == NULL || srv->auth_lookup_workers == NULL ||
	    srv->auth_throttle == NULL ||
	    (srv->cfg.auth_cache_ttl > 0 && srv->auth_cache == NULL))
		return -1;
	return 0;
}

int
server_run(struct server *srv)
{
	char err[1024];
	time_t started = time(NULL);
	int rc = -1;

	log_set_level((enum log_level)srv->cfg.log_level);
	raise_fd_limit();
	server_tune_malloc();
	evthread_use_pthreads();
	srv->priv = calloc(1, sizeof(*srv->priv));
	srv->loop = loop_new();
	if (srv->priv == NULL || srv->loop == NULL || runtime_init(srv) < 0) {
		fprintf(stderr, "postel: out of memory\n");
		return 1;
	}
	srv->priv->lock_fd = -1;
	/* The log file is opened by the service user, after the drop: the
	 * same user opens it again on SIGHUP/SIGUSR1, and root never
	 * writes into a directory someone else may control. */
	if (server_start_privileged(srv, err, sizeof(err)) < 0 ||
	    log_open(srv->cfg.log_target, err, sizeof(err)) < 0 ||
	    server_make_store_dirs(srv, err, sizeof(err)) < 0)
		goto out;
	/* After the drop: the socket is the service user's. */
	srv->priv->control = control_start(srv, POSTEL_VERSION, started, err,
					   sizeof(err));
	if (srv->priv->control == NULL)
		goto out;
	srv->commit = commit_new(srv->cfg.store_url, srv->cfg.data_dir,
				 srv->loop, err, sizeof(err));
	if (srv->commit == NULL)
		goto out;
	if (server_start_workers(srv) < 0 || server_signals(srv) < 0) {
		snprintf(err, sizeof(err), "cannot start threads");
		goto out;
	}
	/* The resolver, after the privilege drop (its thread needs none)
	 * and before the loop runs the listeners; a bad trust anchor or
	 * resolver stops the start here. */
	srv->dns = dns_new(loop_base(srv->loop), &srv->cfg, err, sizeof(err));
	if (srv->dns == NULL)
		goto out;
	log_info(NULL, "dns_start", " resolvers=%zu dnssec_trust_anchor=%s",
		 srv->cfg.n_resolvers, log_qs(srv->cfg.dnssec_trust_anchor));
	server_dkim_load(srv);
	server_srs_load(srv);
	/* Parsing the Public Suffix List reads and indexes a file: at start,
	 * not on the loop when the first message arrives. */
	if (srv->cfg.dmarc)
		dmarc_psl_preload();
	/* The outbound queue (src/queue/queue.h) starts here, after the
	 * resolver and before "ready". */
	log_info(NULL, "start", " hostname=%s data=%s",
		 log_qs(srv->cfg.hostname), log_qs(srv->cfg.data_dir));
	/* Files from before this start that no row references were never
	 * acknowledged (or were expunged just before a crash): remove them,
	 * beside the serving, on a thread of its own. */
	srv->priv->sweep = sweep_thread_start(srv->cfg.store_url,
					      srv->cfg.data_dir,
					      started - SWEEP_MARGIN_S);
	/* queue_delivery = no: the queue fills, nothing leaves; the
	 * scheduler is not even started (no rounds, no notices). */
	if (!srv->cfg.queue_delivery)
		log_info(NULL, "queue_paused", " reason=%s",
			 log_qs("queue_delivery = no"));
	else if (queue_new(srv, err, sizeof(err)) == NULL)
		goto out;
	if (acme_start(srv, &srv->priv->acme, err, sizeof(err)) < 0)
		goto out;
	printf("postel: ready\n");
	fflush(stdout);
	/* Type=notify: listening, privileges dropped, the store open. */
	(void)sdnotify("READY=1");
	rc = loop_run(srv->loop);
	log_info(NULL, "stop", NULL);
	server_free_parts(srv);
	return rc == 0 ? 0 : 1;
out:
	fprintf(stderr, "postel: %s\n", err);
	server_free_parts(srv);
	return 1;
}
