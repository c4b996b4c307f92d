/*
 * The commands of any state (RFC 9051 §6.1): CAPABILITY, NOOP, LOGOUT,
 * ID (RFC 2971); and the two session-wide ones of the authenticated state
 * that touch no mailbox: NAMESPACE (RFC 2342) and ENABLE (RFC 5161).
 */
#include "imap_int.h"

void
imap_cmd_capability(struct imap_session *s, const struct imap_cmd *c)
{
	struct buf b;

	buf_init(&b, 2048);
	imap_cmds_capability(s, &b);
	imap_untagged(s, "CAPABILITY %.*s", (int)b.len, (const char *)b.data);
	buf_fini(&b);
	imap_finish(s, "OK", NULL, "CAPABILITY completed");
}

/* RFC 9051 §6.1.2: NOOP is the polling point; imap_finish announces
 * what changed. */
void
imap_cmd_noop(struct imap_session *s, const struct imap_cmd *c)
{
	imap_finish(s, "OK", NULL, "%s completed", c->name);
}

void
imap_cmd_logout(struct imap_session *s, const struct imap_cmd *c)
{
	imap_untagged(s, "BYE Postel IMAP server signing off");
	s->state = IMAP_STATE_LOGOUT;
	imap_view_close(s);
	buf_reset(&s->tagged);
	buf_printf(&s->tagged, "%s OK LOGOUT completed\r\n", s->tag);
	imap_reply_tagged_flush(s);
	session_close(&s->base, "logout");
}

void
imap_cmd_id(struct imap_session *s, const struct imap_cmd *c)
{
	imap_untagged(s, "ID (\"name\" \"Postel\" \"vendor\" \"Postel\")");
	imap_finish(s, "OK", NULL, "ID completed");
}

void
imap_cmd_namespace(struct imap_session *s, const struct imap_cmd *c)
{
	/* RFC 2342: one personal namespace, no others; delimiter "/". */
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_finish(s, "OK", NULL, "NAMESPACE completed");
}

/* RFC 5161. IMAP4rev2 (RFC 9051 §6.3.1) changes mailbox name encoding
 * and response forms; QRESYNC implies CONDSTORE (RFC 7162 §3.2.3). */
void
imap_cmd_enable(struct imap_session *s, const struct imap_cmd *c)
{
	struct buf b;

	buf_init(&b, 256);
	for (size_t i = 0; i < c->n_args; i++) {
		const struct imap_arg *a = &c->args[i];
		bool *flag = NULL;
		const char *name = NULL;

		if (imap_arg_atom_is(a, "IMAP4rev2")) {
			flag = &s->rev2;
			name = "IMAP4rev2";
		} else if (imap_arg_atom_is(a, "CONDSTORE")) {
			flag = &s->condstore;
			name = "CONDSTORE";
		} else if (imap_arg_atom_is(a, "QRESYNC")) {
			flag = &s->qresync;
			name = "QRESYNC";
			s->condstore = true;
		} else if (imap_arg_atom_is(a, "UTF8=ACCEPT")) {
			flag = &s->utf8;
			name = "UTF8=ACCEPT";
		}
		if (flag == NULL || *flag)
			continue;
		*flag = true;
		buf_printf(&b, " %s", name);
	}
	if (b.len > 0)
		imap_untagged(s, "ENABLED%.*s", (int)b.len,
			      (const char *)b.data);
	else
		imap_untagged(s, "ENABLED");
	buf_fini(&b);
	imap_finish(s, "OK", NULL, "ENABLE completed");
}
