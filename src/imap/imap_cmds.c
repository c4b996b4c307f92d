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
#include "../core/server.h"
#include "../util/str.h"
#include "imap_int.h"

struct imap_cmd_def {
	const char *name;
	imap_handler_fn handler;
	unsigned states; /* enum imap_state mask */
	unsigned flags;  /* enum imap_cmd_flag */
};

#define ANY (IMAP_STATE_NOAUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define NOAUTH IMAP_STATE_NOAUTH
#define AUTHED (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define SEL IMAP_STATE_SELECTED

static const struct imap_cmd_def imap_cmd_table[] = {
	/* RFC 9051 §6.1: any state. */
	{ "CAPABILITY", imap_cmd_capability, ANY, IMAP_CMD_NO_ARGS },
	{ "NOOP", imap_cmd_noop, ANY, IMAP_CMD_NO_ARGS },
	{ "LOGOUT", imap_cmd_logout, ANY, IMAP_CMD_NO_ARGS },
	{ "ID", imap_cmd_id, ANY, 0 },                /* RFC 2971 */
	/* §6.2: not authenticated. */
	{ "STARTTLS", imap_cmd_starttls, NOAUTH, IMAP_CMD_NO_ARGS },
	{ "AUTHENTICATE", imap_cmd_authenticate, NOAUTH, 0 },
	{ "LOGIN", imap_cmd_login, NOAUTH, IMAP_CMD_NEEDS_TLS },
	/* §6.3: authenticated. */
	{ "ENABLE", imap_cmd_enable, AUTHED, 0 },     /* RFC 5161 */
	{ "SELECT", imap_cmd_select, AUTHED, 0 },
	{ "EXAMINE", imap_cmd_select, AUTHED, 0 },
	{ "CREATE", imap_cmd_create, AUTHED, 0 },
	{ "DELETE", imap_cmd_delete, AUTHED, 0 },
	{ "RENAME", imap_cmd_rename, AUTHED, 0 },
	{ "SUBSCRIBE", imap_cmd_subscribe, AUTHED, 0 },
	{ "UNSUBSCRIBE", imap_cmd_subscribe, AUTHED, 0 },
	{ "LIST", imap_cmd_list, AUTHED, 0 },
	{ "LSUB", imap_cmd_list, AUTHED, 0 },
	{ "NAMESPACE", imap_cmd_namespace, AUTHED, IMAP_CMD_NO_ARGS }, /* RFC 2342 */
	{ "STATUS", imap_cmd_status, AUTHED, 0 },
	{ "APPEND", imap_cmd_append, AUTHED, 0 },
	{ "IDLE", imap_cmd_idle, AUTHED, 0 },          /* RFC 2177 */
	{ "COMPRESS", imap_cmd_compress, AUTHED, 0 },  /* RFC 4978 */
	{ "GETQUOTA", imap_cmd_getquota, AUTHED, 0 },  /* RFC 9208 */
	{ "GETQUOTAROOT", imap_cmd_getquota, AUTHED, 0 },
	{ "SETQUOTA", imap_cmd_setquota, AUTHED, 0 },
	/* §6.4: selected. */
	{ "CHECK", imap_cmd_check, SEL, IMAP_CMD_NO_ARGS },
	{ "CLOSE", imap_cmd_close, SEL, IMAP_CMD_NO_ARGS },
	{ "UNSELECT", imap_cmd_close, SEL, IMAP_CMD_NO_ARGS },         /* RFC 3691 */
	{ "EXPUNGE", imap_cmd_expunge, SEL, IMAP_CMD_UID_OK },
	{ "SEARCH", imap_cmd_search, SEL,
	  IMAP_CMD_UID_OK | IMAP_CMD_NO_EXPUNGE },
	{ "SORT", imap_cmd_search, SEL, IMAP_CMD_UID_OK | IMAP_CMD_NO_EXPUNGE },
	{ "FETCH", imap_cmd_fetch, SEL, IMAP_CMD_UID_OK | IMAP_CMD_NO_EXPUNGE },
	{ "STORE", imap_cmd_store, SEL, IMAP_CMD_UID_OK | IMAP_CMD_NO_EXPUNGE },
	{ "COPY", imap_cmd_copy, SEL, IMAP_CMD_UID_OK },
	{ "MOVE", imap_cmd_copy, SEL, IMAP_CMD_UID_OK }, /* RFC 6851 */
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
	s->cmd_flags = d != NULL ? d->flags : 0;
	log_debug(s->base.id, "cmd", " tag=%s name=%s", log_qs(s->tag),
		  log_qs(s->cmd_name));
	if (d == NULL || (cmd->uid && !(d->flags & IMAP_CMD_UID_OK))) {
		imap_cmds_refuse(s, "BAD", NULL, "Unknown command");
		return;
	}
	if ((d->flags & IMAP_CMD_NO_ARGS) && cmd->n_args > 0) {
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
		      " APPENDLIMIT=%zu", s->base.srv->cfg.max_message_size);
	/* RFC 4978: usable once logged in, and only once. */
	if (s->state != IMAP_STATE_NOAUTH && !s->compress)
		buf_printf(b, " COMPRESS=DEFLATE");
}
