/*
 * The POP3 command table and the handlers of the simple commands. The
 * dispatcher checks the state and the TLS requirement and sends those
 * refusals itself; a handler holds only its command's logic.
 */
#include <inttypes.h>
#include <stddef.h>

#include "../core/conn.h"
#include "../core/log.h"
#include "../core/runtime.h"
#include "pop3_maildrop.h"
#include "pop3_reply.h"
#include "pop3_session.h"

typedef void (*pop3_handler_fn)(struct pop3_session *s,
				const struct pop3_cmd *cmd);

/* The verb's name is pop3_parse.c's (pop3_verb_name). */
struct pop3_cmd_def {
	pop3_handler_fn handler;
	unsigned states; /* enum pop3_state mask */
	unsigned flags;  /* enum pop3_cmd_flag */
};

static void pop3_cmd_capa(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_stls(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_apop(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_quit(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_noop(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_stat(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_list(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_uidl(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_dele(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_rset(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_retr(struct pop3_session *s, const struct pop3_cmd *c);
static void pop3_cmd_top(struct pop3_session *s, const struct pop3_cmd *c);

#define AUTHZ POP3_STATE_AUTHORIZATION
#define TRANS POP3_STATE_TRANSACTION

/* RFC 1939 §4-7, RFC 2449 §5 (CAPA), RFC 2595 §4 (STLS), RFC 5034 §4
 * (AUTH). Indexed by verb. */
static const struct pop3_cmd_def pop3_cmd_table[POP3_VERB_COUNT] = {
	[POP3_VERB_USER] = {pop3_auth_user, AUTHZ, POP3_CMD_NEEDS_TLS},
	[POP3_VERB_PASS] = {pop3_auth_pass, AUTHZ, POP3_CMD_NEEDS_TLS},
	[POP3_VERB_AUTH] = {pop3_auth_auth, AUTHZ, POP3_CMD_NEEDS_TLS},
	[POP3_VERB_APOP] = {pop3_cmd_apop, AUTHZ, 0},
	[POP3_VERB_STLS] = {pop3_cmd_stls, AUTHZ, 0},
	[POP3_VERB_CAPA] = {pop3_cmd_capa, AUTHZ | TRANS, 0},
	[POP3_VERB_QUIT] = {pop3_cmd_quit, AUTHZ | TRANS, 0},
	[POP3_VERB_NOOP] = {pop3_cmd_noop, TRANS, 0},
	[POP3_VERB_STAT] = {pop3_cmd_stat, TRANS, 0},
	[POP3_VERB_LIST] = {pop3_cmd_list, TRANS, 0},
	[POP3_VERB_UIDL] = {pop3_cmd_uidl, TRANS, 0},
	[POP3_VERB_DELE] = {pop3_cmd_dele, TRANS, 0},
	[POP3_VERB_RSET] = {pop3_cmd_rset, TRANS, 0},
	[POP3_VERB_RETR] = {pop3_cmd_retr, TRANS, 0},
	[POP3_VERB_TOP] = {pop3_cmd_top, TRANS, 0},
};

static const struct pop3_cmd_def *
pop3_cmds_find(enum pop3_verb verb)
{
	if ((int)verb <= (int)POP3_VERB_UNKNOWN || verb >= POP3_VERB_COUNT)
		return NULL;
	if (pop3_cmd_table[verb].handler == NULL)
		return NULL;
	return &pop3_cmd_table[verb];
}

int
pop3_cmds_lookup(enum pop3_verb verb, unsigned *states_r, unsigned *flags_r)
{
	const struct pop3_cmd_def *d = pop3_cmds_find(verb);

	if (d == NULL)
		return -1;
	*states_r = d->states;
	*flags_r = d->flags;
	return 0;
}

const char *
pop3_cmds_name(enum pop3_verb verb)
{
	return pop3_cmds_find(verb) != NULL ? pop3_verb_name(verb) : "?";
}

void
pop3_cmds_dispatch(struct pop3_session *s, const struct pop3_cmd *cmd)
{
	const struct pop3_cmd_def *d = pop3_cmds_find(cmd->verb);

	if (d == NULL) {
		pop3_reply_err(s, NULL, "Unknown command");
		session_error(&s->base);
		return;
	}
	if ((d->states & s->state) == 0) {
		pop3_reply_err(s, NULL, "Command not valid in this state");
		session_error(&s->base);
		return;
	}
	/* Principle 4 / RFC 2595 §2: no password over a clear channel. */
	if ((d->flags & POP3_CMD_NEEDS_TLS) && !session_is_tls(&s->base)) {
		pop3_reply_err(s, POP3_CODE_AUTH, POP3_TXT_PLAINTEXT);
		session_error(&s->base);
		return;
	}
	d->handler(s, cmd);
}

/* RFC 2449 §5: capabilities may differ before and after TLS; USER and SASL
 * are offered only where they may be used (RFC 2595 §2). */
static void
pop3_cmd_capa(struct pop3_session *s, const struct pop3_cmd *c)
{
	bool tls = session_is_tls(&s->base);

	pop3_reply_ok(s, "Capability list follows");
	pop3_reply_line(s, "TOP");
	pop3_reply_line(s, "UIDL");
	pop3_reply_line(s, "RESP-CODES");
	pop3_reply_line(s, "AUTH-RESP-CODE");
	pop3_reply_line(s, "PIPELINING");
	if (!tls && s->base.srv->tls_ctx != NULL &&
	    s->state == POP3_STATE_AUTHORIZATION)
		pop3_reply_line(s, "STLS");
	if (tls && s->state == POP3_STATE_AUTHORIZATION) {
		pop3_reply_line(s, "USER");
		pop3_reply_line(s, "SASL PLAIN");
	}
	pop3_reply_line(s, "IMPLEMENTATION Postel");
	pop3_reply_end(s);
}

/* RFC 2595 §4. conn_starttls() drops the input received so far (no command
 * injection, RFC 3207 §4.2 by analogy); the session forgets USER. */
static void
pop3_cmd_stls(struct pop3_session *s, const struct pop3_cmd *c)
{
	if (session_is_tls(&s->base)) {
		pop3_reply_err(s, NULL, "Command not permitted when TLS active");
		return;
	}
	if (s->base.srv->tls_ctx == NULL) {
		pop3_reply_err(s, NULL, "TLS not available");
		return;
	}
	pop3_reply_ok(s, "Begin TLS negotiation");
	s->state = POP3_STATE_AUTHORIZATION;
	s->user[0] = '\0';
	s->sasl_wait = false;
	s->base.discarding = false;
	/* The conn drops the buffered plaintext only when it switches, after
	 * the reply is flushed: read nothing more until then. */
	if (session_starttls(&s->base) == 0)
		s->tls_pending = true;
}

/* APOP (RFC 1939 §7) needs the clear-text secret on the server; we keep
 * only salted hashes (DESIGN.md principle 4). */
static void
pop3_cmd_apop(struct pop3_session *s, const struct pop3_cmd *c)
{
	pop3_reply_err(s, NULL, "not supported");
}

static void
pop3_cmd_quit(struct pop3_session *s, const struct pop3_cmd *c)
{
	if (s->state == POP3_STATE_TRANSACTION) {
		pop3_maildrop_update(s);
		return;
	}
	pop3_reply_ok(s, POP3_TXT_BYE);
	session_close(&s->base, "quit");
}

static void
pop3_cmd_noop(struct pop3_session *s, const struct pop3_cmd *c)
{
	pop3_reply_ok(s, "%s", "");
}

static void
pop3_cmd_stat(struct pop3_session *s, const struct pop3_cmd *c)
{
	size_t count;
	int64_t octets;

	pop3_maildrop_stat(s, &count, &octets);
	pop3_reply_ok(s, "%zu %" PRId64, count, octets);
}

static void
pop3_cmd_list(struct pop3_session *s, const struct pop3_cmd *c)
{
	const struct store_msg *m;
	size_t count;
	int64_t octets;

	if (c->nargs > 0) {
		m = pop3_maildrop_get(s, c->num[0]);
		if (m != NULL)
			pop3_reply_ok(s, "%lu %" PRId64, c->num[0], m->size);
		return;
	}
	pop3_maildrop_stat(s, &count, &octets);
	pop3_reply_ok(s, "%zu messages (%" PRId64 " octets)", count, octets);
	for (size_t i = 0; i < s->drop.n; i++)
		if (!s->drop.deleted[i])
			pop3_reply_line(s, "%zu %" PRId64, i + 1,
					s->drop.msgs[i].size);
	pop3_reply_end(s);
}

/* RFC 1939 §7: a unique-id is 1-70 characters 0x21-0x7E, never reused for
 * another message of the maildrop. UIDVALIDITY.UID is unique for the life
 * of the mailbox and survives restarts. */
static void
pop3_cmd_uidl(struct pop3_session *s, const struct pop3_cmd *c)
{
	const struct store_msg *m;

	if (c->nargs > 0) {
		m = pop3_maildrop_get(s, c->num[0]);
		if (m != NULL)
			pop3_reply_ok(s, "%lu %" PRIu32 ".%" PRIu32, c->num[0],
				      s->drop.uidvalidity, m->uid);
		return;
	}
	pop3_reply_ok(s, "Unique-ID listing follows");
	for (size_t i = 0; i < s->drop.n; i++)
		if (!s->drop.deleted[i])
			pop3_reply_line(s, "%zu %" PRIu32 ".%" PRIu32, i + 1,
					s->drop.uidvalidity,
					s->drop.msgs[i].uid);
	pop3_reply_end(s);
}

/* RFC 1939 §6: DELE only marks; the message goes at QUIT. */
static void
pop3_cmd_dele(struct pop3_session *s, const struct pop3_cmd *c)
{
	if (pop3_maildrop_get(s, c->num[0]) == NULL)
		return;
	s->drop.deleted[c->num[0] - 1] = true;
	pop3_reply_ok(s, "message %lu deleted", c->num[0]);
}

static void
pop3_cmd_rset(struct pop3_session *s, const struct pop3_cmd *c)
{
	size_t count;
	int64_t octets;

	for (size_t i = 0; i < s->drop.n; i++)
		s->drop.deleted[i] = false;
	pop3_maildrop_stat(s, &count, &octets);
	pop3_reply_ok(s, "maildrop has %zu messages (%" PRId64 " octets)",
		      count, octets);
}

static void
pop3_cmd_retr(struct pop3_session *s, const struct pop3_cmd *c)
{
	pop3_maildrop_retr(s, c->num[0], false, 0);
}

/* RFC 1939 §7: TOP msg n, the header, the blank line and n body lines. */
static void
pop3_cmd_top(struct pop3_session *s, const struct pop3_cmd *c)
{
	pop3_maildrop_retr(s, c->num[0], true, c->num[1]);
}
