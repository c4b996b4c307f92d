/*
 * The IMAP command table (RFC 9051 §6 and the extensions we announce) and
 * the dispatcher: it checks the command's allowed states, its UID form and
 * the TLS requirement and sends those refusals itself; a handler holds only
 * its command's logic. Also the capability list, which says only what
 * really works at this moment.
 */
#include <stdio.h>
#include <string.h>

#include "../core/log.h"
#include "../core/runtime.h"
#include "../util/str.h"
#include "imap_int.h"

struct imap_cmd_def {
	const char *name;
	imap_handler_fn handler;
	unsigned states; /* enum imap_state mask */
	unsigned flags;  /* enum imap_cmd_flag */
	enum imap_cmd_variant variant;
	/* Argument count: NONE is a bare command (RFC 9051 §9: name CRLF),
	 * refused before the state check; a range is checked after it, with
	 * "Bad <name> arguments"; ANY leaves the count to the handler. */
	signed char min_args, max_args;
};

#define ARGS_ANY 0, -1
#define ARGS_NONE 0, 0
#define ARGS(lo, hi) lo, hi
#define V(x) IMAP_VARIANT_##x

#define ANY (IMAP_STATE_NOAUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define NOAUTH IMAP_STATE_NOAUTH
#define AUTHED (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define SEL IMAP_STATE_SELECTED

/* Flags, short. */
#define UID IMAP_CMD_UID_OK
#define UID_NX (IMAP_CMD_UID_OK | IMAP_CMD_NO_EXPUNGE)
#define TLS IMAP_CMD_NEEDS_TLS

static const struct imap_cmd_def imap_cmd_table[] = {
	/* RFC 9051 §6.1: any state. */
	{ "CAPABILITY", imap_cmd_capability, ANY, 0, V(NONE), ARGS_NONE },
	{ "NOOP", imap_cmd_noop, ANY, 0, V(NONE), ARGS_NONE },
	{ "LOGOUT", imap_cmd_logout, ANY, 0, V(NONE), ARGS_NONE },
	{ "ID", imap_cmd_id, ANY, 0, V(NONE), ARGS_ANY },      /* RFC 2971 */
	/* §6.2: not authenticated. */
	{ "STARTTLS", imap_cmd_starttls, NOAUTH, 0, V(NONE), ARGS_NONE },
	{ "AUTHENTICATE", imap_cmd_authenticate, NOAUTH, 0, V(NONE), ARGS_ANY },
	{ "LOGIN", imap_cmd_login, NOAUTH, TLS, V(NONE), ARGS(2, 2) },
	/* §6.3: authenticated. */
	{ "ENABLE", imap_cmd_enable, AUTHED, 0, V(NONE), ARGS_ANY }, /* RFC 5161 */
	{ "UNAUTHENTICATE", imap_cmd_unauthenticate, AUTHED, 0, V(NONE),
	  ARGS_NONE },                                         /* RFC 8437 */
	{ "SELECT", imap_cmd_select, AUTHED, 0, V(NONE), ARGS(1, 2) },
	{ "EXAMINE", imap_cmd_select, AUTHED, 0, V(EXAMINE), ARGS(1, 2) },
	{ "CREATE", imap_cmd_create, AUTHED, 0, V(NONE), ARGS_ANY },
	{ "DELETE", imap_cmd_delete, AUTHED, 0, V(NONE), ARGS_ANY },
	{ "RENAME", imap_cmd_rename, AUTHED, 0, V(NONE), ARGS_ANY },
	{ "SUBSCRIBE", imap_cmd_subscribe, AUTHED, 0, V(NONE), ARGS_ANY },
	{ "UNSUBSCRIBE", imap_cmd_subscribe, AUTHED, 0, V(UNSUBSCRIBE),
	  ARGS_ANY },
	{ "LIST", imap_cmd_list, AUTHED, 0, V(NONE), ARGS_ANY },
	{ "LSUB", imap_cmd_list, AUTHED, 0, V(LSUB), ARGS_ANY },
	{ "NAMESPACE", imap_cmd_namespace, AUTHED, 0, V(NONE),
	  ARGS_NONE },                                         /* RFC 2342 */
	{ "STATUS", imap_cmd_status, AUTHED, 0, V(NONE), ARGS_ANY },
	{ "APPEND", imap_cmd_append, AUTHED, 0, V(NONE), ARGS_ANY },
	{ "IDLE", imap_cmd_idle, AUTHED, 0, V(NONE), ARGS_ANY }, /* RFC 2177 */
	{ "NOTIFY", imap_cmd_notify, AUTHED, 0, V(NONE), ARGS_ANY }, /* 5465 */
	{ "COMPRESS", imap_cmd_compress, AUTHED, 0, V(NONE),
	  ARGS_ANY },                                          /* RFC 4978 */
	{ "GETQUOTA", imap_cmd_getquota, AUTHED, 0, V(NONE),
	  ARGS(1, 1) },                                        /* RFC 9208 */
	{ "GETQUOTAROOT", imap_cmd_getquota, AUTHED, 0, V(GETQUOTAROOT),
	  ARGS(1, 1) },
	{ "SETQUOTA", imap_cmd_setquota, AUTHED, 0, V(NONE), ARGS_ANY },
	{ "GETMETADATA", imap_cmd_getmetadata, AUTHED, 0, V(NONE),
	  ARGS_ANY },                                          /* RFC 5464 */
	{ "SETMETADATA", imap_cmd_setmetadata, AUTHED, 0, V(NONE), ARGS_ANY },
	/* §6.4: selected. */
	{ "CHECK", imap_cmd_check, SEL, 0, V(NONE), ARGS_NONE },
	{ "CLOSE", imap_cmd_close, SEL, 0, V(NONE), ARGS_NONE },
	{ "UNSELECT", imap_cmd_close, SEL, 0, V(UNSELECT),
	  ARGS_NONE },                                         /* RFC 3691 */
	{ "EXPUNGE", imap_cmd_expunge, SEL, UID, V(NONE), ARGS_ANY },
	{ "SEARCH", imap_cmd_search, SEL, UID_NX, V(NONE), ARGS_ANY },
	{ "SORT", imap_cmd_search, SEL, UID_NX, V(SORT), ARGS_ANY }, /* 5256 */
	{ "THREAD", imap_cmd_search, SEL, UID_NX, V(THREAD), ARGS_ANY },
	{ "FETCH", imap_cmd_fetch, SEL, UID_NX, V(NONE), ARGS_ANY },
	{ "STORE", imap_cmd_store, SEL, UID_NX, V(NONE), ARGS_ANY },
	{ "COPY", imap_cmd_copy, SEL, UID, V(NONE), ARGS(2, 2) },
	{ "MOVE", imap_cmd_copy, SEL, UID, V(MOVE), ARGS(2, 2) }, /* RFC 6851 */
	{ "CANCELUPDATE", imap_cmd_cancelupdate, SEL, 0, V(NONE),
	  ARGS_ANY },                                          /* RFC 5267 */
};


static const struct imap_cmd_def *
imap_cmds_find(const char *name)
{
	for (size_t i = 0; i < sizeof(imap_cmd_table) / sizeof(imap_cmd_table[0]);
	     i++)
		if (strcmp(imap_cmd_table[i].name, name) == 0)
			return &imap_cmd_table[i];
	return NULL;
}

static void
imap_cmds_refuse(struct imap_session *s, const char *status,
		 const char *code, const char *text)
{
	imap_finish(s, status, code, "%s", text);
	session_error(&s->base);
}

void
imap_cmds_dispatch(struct imap_session *s, const struct imap_cmd *cmd)
{
	const struct imap_cmd_def *d = imap_cmds_find(cmd->name);

	str_lcpy(s->tag, cmd->tag, sizeof(s->tag));
	snprintf(s->cmd_name, sizeof(s->cmd_name), "%s%s",
		 cmd->uid ? "UID " : "", cmd->name);
	s->in_cmd = true;
	imap_notify_client_spoke(s);
	s->cmd_flags = d != NULL ? d->flags : 0;
	s->cmd_variant = d != NULL ? d->variant : IMAP_VARIANT_NONE;
	log_debug(s->base.id, "cmd", " tag=%s name=%s", log_qs(s->tag),
		  log_qs(s->cmd_name));
	if (d == NULL || (cmd->uid && !(d->flags & IMAP_CMD_UID_OK))) {
		imap_cmds_refuse(s, "BAD", NULL, "Unknown command");
		return;
	}
	if (d->max_args == 0 && cmd->n_args > 0) {
		imap_cmds_refuse(s, "BAD", NULL, "Command takes no arguments");
		return;
	}
	if ((d->states & s->state) == 0) {
		imap_cmds_refuse(s, "BAD", NULL,
				 s->state == IMAP_STATE_NOAUTH
					 ? "Log in first"
					 : "Command not valid in this state");
		return;
	}
	/* A syntax error is BAD before any other check (LOGIN with no
	 * arguments on a plaintext port too). */
	if (d->max_args > 0 && (cmd->n_args < (size_t)d->min_args ||
				cmd->n_args > (size_t)d->max_args)) {
		imap_finish(s, "BAD", NULL, "Bad %s arguments", cmd->name);
		session_error(&s->base);
		return;
	}
	/* RFC 9051 §6.2.3 / DESIGN.md principle 4: LOGINDISABLED until TLS. */
	if ((d->flags & IMAP_CMD_NEEDS_TLS) && !session_is_tls(&s->base)) {
		imap_cmds_refuse(s, "NO", "PRIVACYREQUIRED",
				 "Plaintext login disallowed; use STARTTLS");
		return;
	}
	d->handler(s, cmd);
}

/* RFC 9051 §7.2.2. Before TLS on port 143 nothing that needs a password is
 * offered; after login the authentication capabilities go away. */
void
imap_cmds_capability(struct imap_session *s, struct buf *b)
{
	bool tls = session_is_tls(&s->base);

	buf_printf(b, "IMAP4rev1 IMAP4rev2");
	if (s->state == IMAP_STATE_NOAUTH) {
		if (!tls && s->base.srv->tls_ctx != NULL)
			buf_printf(b, " STARTTLS");
		if (!tls)
			buf_printf(b, " LOGINDISABLED");
		else
			buf_printf(b, " AUTH=PLAIN SASL-IR");
	}
	buf_printf(b, " LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN"
		      " UIDPLUS MOVE SPECIAL-USE CREATE-SPECIAL-USE"
		      " LIST-EXTENDED LIST-STATUS STATUS=SIZE ESEARCH SEARCHRES"
		      " SORT CONDSTORE QRESYNC BINARY UTF8=ACCEPT"
		      " QUOTA QUOTA=RES-STORAGE"
		      " MULTIAPPEND UNAUTHENTICATE WITHIN SAVEDATE OBJECTID"
		      " PREVIEW ESORT SORT=DISPLAY"
		      " THREAD=ORDEREDSUBJECT THREAD=REFERENCES METADATA"
		      " NOTIFY PARTIAL CONTEXT=SEARCH CONTEXT=SORT"
		      " APPENDLIMIT=%zu", s->base.srv->cfg.max_message_size);
	/* RFC 4978: usable once logged in, and only once. */
	if (s->state != IMAP_STATE_NOAUTH && !s->compress)
		buf_printf(b, " COMPRESS=DEFLATE");
}
