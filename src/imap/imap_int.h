/*
 * Internals of the IMAP session shared by the files of src/imap: the
 * session struct, the selected-mailbox view, the command table's handler
 * signature, the reply helpers and the asynchronous job helpers.
 *
 * Flow: imap_session.c reads one complete command (lines and literals),
 * imap_parse_command() turns it into a struct imap_cmd, imap_cmds.c checks
 * state and flags and calls the handler. A handler either answers at once
 * or starts a job (worker read or group-commit write) and answers from its
 * done callback; either way it ends the command with imap_finish(), which
 * first announces pending mailbox changes (imap_view.c, RFC 9051 §7).
 */
#ifndef POSTEL_IMAP_INT_H
#define POSTEL_IMAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/limits.h"
#include "../core/runtime.h"
#include "../core/session.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "imap_parse.h"

struct conn;
struct event;
struct imap_session;

/* RFC 9051 §3: connection states, as bits of a mask. */
enum imap_state {
	IMAP_STATE_NOAUTH = 1 << 0,
	IMAP_STATE_AUTH = 1 << 1,
	IMAP_STATE_SELECTED = 1 << 2,
	IMAP_STATE_LOGOUT = 1 << 3,
};

/* Command table flags. */
enum imap_cmd_flag {
	IMAP_CMD_UID_OK = 1 << 0,     /* has a "UID x" form */
	/* RFC 9051 §7.5.1: no EXPUNGE responses while answering FETCH, STORE
	 * or SEARCH (they use sequence numbers the client relies on). */
	IMAP_CMD_NO_EXPUNGE = 1 << 1,
	IMAP_CMD_NEEDS_TLS = 1 << 2,  /* password inside (LOGIN) */
};

/* Which of the commands sharing a handler is running, from the table, so
 * the handler need not compare the command name again. */
enum imap_cmd_variant {
	IMAP_VARIANT_NONE = 0,
	IMAP_VARIANT_EXAMINE,      /* SELECT read-only */
	IMAP_VARIANT_LSUB,         /* LIST of subscriptions */
	IMAP_VARIANT_UNSUBSCRIBE,  /* SUBSCRIBE undone */
	IMAP_VARIANT_GETQUOTAROOT, /* GETQUOTA by mailbox */
	IMAP_VARIANT_SORT,         /* SEARCH sorted (RFC 5256) */
	IMAP_VARIANT_THREAD,       /* SEARCH threaded (RFC 5256) */
	IMAP_VARIANT_MOVE,         /* COPY then expunge (RFC 6851) */
	IMAP_VARIANT_UNSELECT,     /* CLOSE without expunge (RFC 3691) */
};

/* A message of the view whose expunge is not announced yet keeps its
 * sequence number and carries this bit in flags. */
#define IMAP_VFLAG_EXPUNGED (1u << 31)
/* \Recent for this session (RFC 3501 §2.3.2; never with IMAP4rev2). */
#define IMAP_VFLAG_RECENT (1u << 30)
/* The bits of a view's flags that are the session's, not the store's. */
#define IMAP_VFLAG_VIEW (IMAP_VFLAG_EXPUNGED | IMAP_VFLAG_RECENT)

/* The selected mailbox as this session's client knows it: sequence number
 * = index + 1 (RFC 9051 §2.3.1.2). Updated only at the points where the
 * client is told (imap_view.c). */
struct imap_view {
	int64_t mailbox_id;
	bool readonly;                         /* EXAMINE */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	/* Every change with a modseq up to this one is in msgs (the refresh
	 * asks the store only for what is newer); 0: unknown. */
	uint64_t synced_modseq;
	struct store_vmsg *msgs; /* UID order */
	size_t n, cap;
	struct server_watch watch;
	bool dirty;        /* a change was announced by server_notify */
	unsigned gen;      /* new per SELECT: late jobs see it changed */
	uint32_t *saved;   /* SEARCHRES "$" (RFC 5182): UIDs */
	size_t n_saved;
	/* The keywords this client was told of in FLAGS (at SELECT, and
	 * again whenever a new one came into the view), space-separated;
	 * NULL when none. At most IMAP_VIEW_KEYWORDS_MAX of them. */
	char *kw_known;
	unsigned kw_count;
	/* imap_keep.c's list of selected views. */
	struct imap_view *keep_prev, *keep_next;
	/* \Recent (RFC 3501 §2.3.2): UID ranges (lo, hi] this session
	 * claimed whose messages may still come into the view. */
	struct imap_recent_claim {
		uint32_t lo, hi;
	} *claims;
	size_t n_claims;
	/* UTF-8, allocated with the view: 10,000 idle sessions should not
	 * each carry room for the longest name. */
	char name[];
};

/* An asynchronous step of a command. Embed as the first member of a
 * command's own job struct. */
struct imap_job {
	struct imap_session *s;
	/* Worker thread (imap_job_read) with its store handle, or commit
	 * thread inside the group transaction (imap_job_commit: return 0/-1
	 * and set err). */
	int (*work)(struct imap_job *j, struct store *st);
	/* Commit thread after the transaction (ok tells whether it
	 * committed), once the orphans are unlinked. May be NULL. */
	void (*after)(struct imap_job *j, bool ok);
	/* Loop thread, only while the connection lives. */
	void (*done)(struct imap_job *j);
	/* Loop thread, always, last; NULL means free(j). */
	void (*free)(struct imap_job *j);
	int result;
	bool requeue;       /* set by done: run work again on a worker */
	bool requeue_commit; /* ... in the group commit instead */
	/* With requeue: first wait until the client has read most of the
	 * queued output (conn on_drain), so a slow reader of a big FETCH
	 * never makes us buffer the whole mailbox. */
	bool requeue_drain;
	/* Loop thread: a job that parks itself as drain_job to go on after
	 * the client read most of the output (FETCH of flags only) instead
	 * of a worker step. NULL for worker jobs. */
	void (*resume)(struct imap_job *j);
	/* Message files a committed change left unreferenced (store
	 * *_orphans out-parameters): unlinked after the commit by the
	 * commit thread (commit_job.orphans), never before. */
	char **orphans;
	char err[160];
	char sync_blob[64]; /* commit: blob whose directory must be synced */
};

struct imap_session {
	struct session base;     /* first: srv, conn, id, refs, closing... */
	unsigned state;          /* enum imap_state (one bit) */
	bool tls_pending;        /* STARTTLS accepted, handshake not begun */
	bool in_cmd;             /* a command runs (answered by imap_finish) */
	bool in_process;         /* inside the input loop */
	bool timeout_authed;     /* idle timeout chosen for after login */
	bool idling;             /* IDLE: waiting for DONE */
	bool sasl_wait;          /* AUTHENTICATE: next line is a response */
	bool refreshing;         /* a view refresh job runs */
	bool finish_pending;     /* tagged reply waits for the refresh */
	bool self_notify;        /* ignore our own server_notify_account */
	unsigned auth_failures;
	const char *auth_mech;  /* of the login in flight: "LOGIN", "PLAIN" */
	/* ENABLEd extensions (RFC 5161). */
	bool rev2, condstore, qresync, utf8;
	bool compress;           /* COMPRESS=DEFLATE active */
	int64_t account_id;
	char address[LIMIT_ADDRESS + 1];
	struct event *delay_ev;  /* failed-login delay */
	/* Input: the command being read, lines and literals. */
	struct buf in;
	uint64_t lit_left;       /* literal octets still to read */
	bool lit_nonsync;
	/* The command in progress. */
	char tag[IMAP_TAG_MAX + 1];
	char cmd_name[40];       /* "UID FETCH", for logs */
	unsigned cmd_flags;      /* enum imap_cmd_flag of the running one */
	enum imap_cmd_variant cmd_variant; /* of the running one */
	struct buf tagged;       /* finished tagged line, while refreshing */
	struct imap_view *view;  /* SELECTED state */
	struct imap_notify *notify; /* NOTIFY SET (cmd_notify.c), or NULL */
	bool notify_busy;        /* a NOTIFY pass runs: commands wait */
	/* RFC 5267 contexts of the selected view (imap_context.c). */
	struct imap_context *contexts;
	size_t n_contexts;
	uint64_t ctx_fp[3];      /* the view when they were last looked at */
	bool ctx_running;        /* an update chain runs */
	struct imap_context *ctx_cur;
	void (*ctx_then)(struct imap_session *s);
	/* After a refresh (cmd_notify.c imap_notify_after): MessageNew's
	 * FETCH from view index nfetch_first, then context updates, then
	 * the waiting steps. */
	bool nfetch_pending, after_running;
	size_t nfetch_first;
	void (*after_then[2])(struct imap_session *s);
	struct imap_job *drain_job; /* requeue_drain job parked until drain */
	unsigned view_gen;
};

typedef void (*imap_handler_fn)(struct imap_session *s,
				const struct imap_cmd *cmd);

/* ---- imap_session.c ---- */
/* Reference counting, close, is_tls and the count of bad commands are
 * the base's (core/session.h: session_ref(&s->base), ...). */
/* Resumes reading after an asynchronous step that is not a command end
 * (e.g. the IDLE DONE wait). */
void imap_session_kick(struct imap_session *s);
/* Back to the not-authenticated timeout (UNAUTHENTICATE). */
void imap_session_timeout_reset(struct imap_session *s);

/* ---- imap_reply.c: the one reply path ---- */
/* Ends the running command: "tag status [code] text". status is "OK",
 * "NO" or "BAD"; code may be NULL. Pending mailbox changes are announced
 * first (imap_view.c). */
void imap_finish(struct imap_session *s, const char *status, const char *code,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "* text" */
/* Keywords listed in FLAGS at most (RFC 9051 §7.3.5 lets a server list
 * those in use; a bound keeps a mailbox with thousands of tags sane). */
#define IMAP_VIEW_KEYWORDS_MAX 256
/* keywords (space-separated, as the store keeps them) came into the
 * view: any this client has not been told of is added, and FLAGS and
 * PERMANENTFLAGS are sent again, before the response that shows it
 * (RFC 9051 §7.3.5). */
void imap_view_keywords_note(struct imap_session *s, const char *keywords);
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" from the view's known
 * keywords. */
void imap_view_flags_announce(struct imap_session *s);
/* A CONDSTORE enabling command ran (RFC 7162 §3.1: FETCH MODSEQ or
 * CHANGEDSINCE, SEARCH MODSEQ, STORE UNCHANGEDSINCE): MODSEQ in every
 * FETCH from now on, and, the first time with a mailbox selected, its
 * HIGHESTMODSEQ in an untagged OK before the command's answer. */
void imap_condstore_enable(struct imap_session *s);
void imap_untagged(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "+ text" */
void imap_continue(struct imap_session *s, const char *text);
/* Already formatted bytes (FETCH responses with literals). */
void imap_reply_raw(struct imap_session *s, const void *data, size_t len);
/* Writes the tagged line now (imap_view.c calls it). */
void imap_reply_tagged_flush(struct imap_session *s);
/* Appends s[0..len) as an IMAP string: quoted when safe, else a literal
 * (RFC 9051 §4.3). 0 or -1 (buffer full). */
int imap_buf_string(struct buf *b, const char *str, size_t len);
/* A mailbox name as the client expects it: UTF-8 with IMAP4rev2 or
 * UTF8=ACCEPT, modified UTF-7 otherwise (RFC 3501 §5.1.3). */
int imap_buf_mailbox(struct imap_session *s, struct buf *b,
		     const char *name);
/* A UID (or sequence number) set written as its numbers come, ascending:
 * runs become ranges, "1:3,7" (RFC 9051 sequence-set), for VANISHED,
 * COPYUID and ESEARCH. Start zeroed with b set; end with imap_set_end. */
struct imap_set_out {
	struct buf *b;
	uint32_t first, last;
	bool open;   /* first..last not written yet */
	bool any;    /* something written: the next run needs a comma */
};
void imap_set_add(struct imap_set_out *o, uint32_t n);
void imap_set_end(struct imap_set_out *o);
/* The same for an ascending array. */
void imap_buf_set(struct buf *b, const uint32_t *v, size_t n);
/* "(\Seen \Answered kw ...)" of flags and keywords. */
int imap_buf_flags(struct buf *b, uint32_t flags, const char *keywords);
/* A name as the client sent it -> UTF-8 (modified UTF-7 decoded for an
 * IMAP4rev1 session without UTF8=ACCEPT). 0; 1 when it is not modified
 * UTF-7 but printable ASCII: kept as sent, a name no mailbox can have
 * (what looks it up finds nothing; CREATE refuses it); -1 when unusable. */
int imap_name_decode(const struct imap_session *s, const char *raw,
		     size_t len, char *out, size_t cap);
/* Client mailbox name argument -> UTF-8 (INBOX normalised): 0, 1 as
 * imap_name_decode, or -1 (BAD). */
int imap_mailbox_arg(struct imap_session *s, const struct imap_arg *a,
		     char *out, size_t cap);

/* ---- imap_cmds.c ---- */
void imap_cmds_dispatch(struct imap_session *s, const struct imap_cmd *cmd);
/* Capability list for the current state, space separated. */
void imap_cmds_capability(struct imap_session *s, struct buf *b);

/* ---- async jobs (imap_session.c) ---- */
/* Runs j->work on a worker (reads), then j->done on the loop. */
void imap_job_read(struct imap_session *s, struct imap_job *j);
/* Runs j->work(j, NULL) on an I/O worker (writing message files). */
void imap_job_io(struct imap_session *s, struct imap_job *j);
/* Runs j->work in the group commit, then j->done on the loop (after the
 * change is durable: RFC answers OK only then, DESIGN.md principle 1). */
void imap_job_commit(struct imap_session *s, struct imap_job *j);

/* ---- imap_view.c: the selected view ---- */
/* Installs a view (takes msgs) and its server watch. */
void imap_view_open(struct imap_session *s, struct imap_view *v);
void imap_view_close(struct imap_session *s);
/* Announces pending changes (starting a refresh job when needed); calls
 * imap_reply_tagged_flush when done. */
void imap_notify_before_tagged(struct imap_session *s);
/* During IDLE: refresh and announce at once. */
void imap_notify_idle(struct imap_session *s);
/* Tells other sessions of the account; this one too when self. */
void imap_notify_others(struct imap_session *s, bool self);
/* Announces expunges held in the view (EXPUNGE or VANISHED). */
void imap_notify_expunges(struct imap_session *s);
/* Index of uid in the view, or -1. */
long imap_view_find(const struct imap_view *v, uint32_t uid);
/* Resolves a sequence set (sequence numbers or UIDs) to view indices,
 * in order, without duplicates; malloc'ed. 0, or -1 when out of memory.
 * For sequence numbers an out-of-range number sets *bad_r. */
int imap_view_resolve(struct imap_session *s, const struct imap_arg *arg,
		      bool uid, size_t **idx_r, size_t *n_r, bool *bad_r);
/* FETCH FLAGS (MODSEQ) line of view message i. */
void imap_view_flags_line(struct imap_session *s, size_t i, bool uid);

/* Starts a refresh job now (NOTIFY's pass; imap_notify_refreshed ends
 * it). */
void imap_view_refresh(struct imap_session *s);

/* ---- imap_context.c: CONTEXT=SEARCH/SORT (RFC 5267 §4) ---- */
#define IMAP_CONTEXT_MAX 8  /* live RETURN (UPDATE) results per session */
struct imap_context;
struct imap_search;
struct imap_sort_program;
/* The SEARCH/SORT that just answered asked for UPDATE: keep it (takes
 * the program from q). 0, or -1 when refused (NOUPDATE). */
int imap_context_add(struct imap_session *s, struct imap_search *q,
		     const struct imap_sort_program *sort, bool is_sort,
		     bool uid, const uint32_t *uids, size_t n);
void imap_context_free_all(struct imap_session *s);
/* When the view changed, evaluates every context again and announces
 * ADDTO/REMOVEFROM; then calls then(s). true: then is (or was) called;
 * false: nothing to do, the caller goes on itself. */
bool imap_context_update(struct imap_session *s,
			 void (*then)(struct imap_session *s));
/* cmd_search.c: runs the context's program over the view on a worker;
 * ends in imap_context_result. 0 or -1. */
int imap_search_context_run(struct imap_session *s, struct imap_context *c,
			    const struct imap_search *q,
			    const struct imap_sort_program *sort,
			    bool is_sort, bool uid);
/* The new result (uids taken, result order), ok 0; or ok -1. */
void imap_context_result(struct imap_session *s, struct imap_context *c,
			 int ok, uint32_t *uids, size_t n);
void imap_cmd_cancelupdate(struct imap_session *s, const struct imap_cmd *c);

/* ---- cmd_notify.c: NOTIFY (RFC 5465) ---- */
void imap_cmd_notify(struct imap_session *s, const struct imap_cmd *c);
void imap_notify_free(struct imap_session *s);
/* No command runs (or IDLE): announce what changed, if anything did. */
void imap_notify_poll(struct imap_session *s);
/* A view refresh ended (imap_view.c). */
void imap_notify_refreshed(struct imap_session *s);
/* Messages [first, n) of the view were just announced by EXISTS: the
 * FETCH of MessageNew's attributes (RFC 5465 §5.2). */
void imap_notify_new_messages(struct imap_session *s, size_t first);
/* After a refresh or at a command's end: MessageNew's FETCH, CONTEXT
 * updates, then then(s) (now or later; then may be NULL). */
void imap_notify_after(struct imap_session *s,
		       void (*then)(struct imap_session *s));
/* SELECTED-DELAYED and no command: expunges wait (RFC 5465 §6). */
bool imap_notify_hold_expunges(const struct imap_session *s);
/* A command came: the client reads (overflow accounting). */
void imap_notify_client_spoke(struct imap_session *s);

/* ---- imap_keep.c: expunged messages others still number ---- */
/* What FETCH needs of an expunged message besides the view's flags. */
struct imap_keep_row {
	uint32_t uid;
	int64_t size, internaldate, blob_id;
	char blob[64];
};
/* The rows an expunge removes and the files it left unreferenced. */
struct imap_keep_entry;
struct imap_keep_set {
	int64_t mailbox_id;
	struct imap_keep_entry **ents; /* provisional until registered */
	size_t n, cap;
	char **orphans; /* NULL-terminated, or NULL */
};
/* Commit thread, in the expunge's transaction, before the rows go: the
 * rows become findable by imap_keep_lookup at once (a reader only looks
 * when its snapshot lacks the row, i.e. after the commit), so no reader
 * can miss them between the commit and imap_keep_register. 0 or -1. */
int imap_keep_capture(struct imap_keep_set *k, const struct store_imsg *rows,
		      size_t n);
/* Drops what was captured and not registered (an expunge undone). */
void imap_keep_set_free(struct imap_keep_set *k);
/* After the expunge committed: every view that numbers a message holds
 * it; files nobody needs are unlinked (I/O worker). Empties k. */
void imap_keep_register(struct server *srv, struct imap_keep_set *k);
/* The view announced the expunge of uid (or forgets it). */
void imap_keep_release(struct server *srv, int64_t mailbox_id, uint32_t uid);
void imap_keep_view_add(struct imap_view *v);
/* Releases every message of the view. */
void imap_keep_view_remove(struct server *srv, struct imap_view *v);
/* A view read (SELECT, refresh) in flight; embed in its job. */
struct imap_keep_reader {
	uint64_t epoch;
	bool active;
	struct imap_keep_reader *prev, *next;
};
void imap_keep_read_begin(struct imap_keep_reader *r);
/* The read's messages are in v from index first_new on (v NULL: it was
 * dropped). Idempotent. */
void imap_keep_read_end(struct server *srv, struct imap_keep_reader *r,
			const struct imap_view *v, size_t first_new);
/* Any thread: the kept row of an expunged message; false when none. */
bool imap_keep_lookup(int64_t mailbox_id, uint32_t uid,
		      struct imap_keep_row *r);

/* ---- imap_recent.c: \Recent (RFC 3501 §2.3.2) ---- */
/* An IMAP4rev1 session and the mailbox has messages nobody claimed. */
bool imap_recent_wanted(const struct imap_session *s,
			const struct store_mailbox *b);
/* Commit thread: claims them; the range is (lo, hi], empty on error
 * (logged). Always 0: the command goes on without \Recent. */
int imap_recent_claim_work(struct store *st, int64_t mailbox_id,
			   uint32_t *lo_r, uint32_t *hi_r);
/* This session claimed (lo, hi]: marks the view and remembers the range
 * for messages that come later. */
void imap_recent_claimed(struct imap_view *v, uint32_t lo, uint32_t hi);
/* Messages [first, n) came into the view: marked when claimed before. */
void imap_recent_arrived(struct imap_view *v, size_t first);
/* Read-only view: messages [first, n) above recent_uid are shown
 * \Recent, not claimed. */
void imap_recent_unclaimed(struct imap_view *v, uint32_t recent_uid,
			   size_t first);
/* "* N RECENT" (nothing for an IMAP4rev2 session). */
void imap_recent_announce(struct imap_session *s);

/* ---- cmd_mailbox.c: STATUS items, shared with LIST-STATUS ---- */
/* STATUS items as bits (imap_status_parse); NOTIFY sends them too. */
enum {
	ST_MESSAGES = 1 << 0, ST_UIDNEXT = 1 << 1, ST_UIDVALIDITY = 1 << 2,
	ST_UNSEEN = 1 << 3, ST_DELETED = 1 << 4, ST_SIZE = 1 << 5,
	ST_HIGHESTMODSEQ = 1 << 6, ST_RECENT = 1 << 7,
	ST_MAILBOXID = 1 << 8, /* RFC 8474 §4.3 */
};
/* Parses "(MESSAGES UNSEEN ...)" into a bit mask; 0 or -1. */
int imap_status_parse(const struct imap_arg *list, unsigned *items_r);
/* Worker: b->recent when items ask for RECENT; 0 or -1. */
int imap_status_recent(struct store *st, unsigned items,
		       struct store_mailbox *b);
/* "* STATUS name (...)" of one mailbox. */
void imap_status_line(struct imap_session *s, const struct store_mailbox *b,
		      unsigned items);

/* ---- command handlers ---- */
void imap_cmd_capability(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_noop(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_logout(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_starttls(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_login(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_authenticate(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_unauthenticate(struct imap_session *s,
			     const struct imap_cmd *c);
void imap_cmd_getmetadata(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_setmetadata(struct imap_session *s, const struct imap_cmd *c);
void imap_auth_sasl_line(struct imap_session *s, const char *line,
			 size_t len);
void imap_cmd_enable(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_id(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_namespace(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_select(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_create(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_delete(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_rename(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_subscribe(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_list(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_status(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_fetch(struct imap_session *s, const struct imap_cmd *c);
/* cmd_fetch_flags.c: FETCH of FLAGS, UID and MODSEQ only, answered on the
 * loop from the view; takes f (zeroed) and idx. */
bool imap_fetch_flags_only(const struct imap_fetch *f);
/* The item sets \Seen (BODY[] without .PEEK, RFC822, RFC822.TEXT). */
bool imap_fetch_sets_seen(const struct imap_fetch_item *it);
/* NOTIFY MessageNew's attributes (RFC 5465 §5.2): untagged FETCH of view
 * messages [first, n) with f's items (borrowed; none may set \Seen),
 * then then(s). 0, or -1 (nothing started). */
int imap_fetch_notify(struct imap_session *s, const struct imap_fetch *f,
		      size_t first, void (*then)(struct imap_session *s));
void imap_fetch_flags(struct imap_session *s, struct imap_fetch *f,
		      size_t *idx, size_t n, bool uid, bool modseq);
void imap_cmd_store(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_copy(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_append(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_expunge(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_close(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_check(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_idle(struct imap_session *s, const struct imap_cmd *c);
void imap_idle_line(struct imap_session *s, const char *line, size_t len);
void imap_cmd_search(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_compress(struct imap_session *s, const struct imap_cmd *c);
/* cmd_quota.c (RFC 9208) */
void imap_cmd_getquota(struct imap_session *s, const struct imap_cmd *c);
void imap_cmd_setquota(struct imap_session *s, const struct imap_cmd *c);
/* Commit thread, after a change that adds to the account's usage: *over_r
 * when the usage now exceeds the limit (the job then fails and its
 * savepoint is undone, so concurrent APPENDs are checked one after the
 * other). 0, or -1 with *err_r. */
int imap_quota_over(struct store *st, int64_t account_id,
		    uint64_t quota_default, bool *over_r, const char **err_r);
/* Starts COMPRESS=DEFLATE once its tagged OK is queued (cmd_compress.c). */
void imap_compress_after_tagged(struct imap_session *s);

/* Expunges the view's \Deleted messages (uids NULL) or those of the
 * listed UIDs that are \Deleted; silent for CLOSE. Ends the command. */
void imap_expunge_start(struct imap_session *s, const uint32_t *uids,
			size_t n, bool silent, bool unselect_after);

#endif
