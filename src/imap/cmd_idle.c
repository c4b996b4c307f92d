/*
 * IDLE (RFC 2177, RFC 9051 §6.3.13): the client waits for DONE while we
 * announce mailbox changes as they happen (imap_view.c starts a refresh
 * as soon as a watch fires).
 */
#include "../util/str.h"
#include "imap_int.h"

void
imap_cmd_idle(struct imap_session *s, const struct imap_cmd *c)
{
	if (c->n_args != 0) {
		imap_finish(s, "BAD", NULL, "IDLE takes no arguments");
		return;
	}
	s->idling = true;
	imap_continue(s, "idling");
	imap_notify_idle(s);
}

void
imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	s->idling = false;
	if (str_ieq(line, len, "DONE")) {
		imap_finish(s, "OK", NULL, "IDLE terminated");
		return;
	}
	imap_finish(s, "BAD", NULL, "Expected DONE");
	session_error(&s->base);
}
