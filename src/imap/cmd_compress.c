/*
 * COMPRESS DEFLATE (RFC 4978). The handler only answers; the switch itself
 * happens in imap_reply_tagged_flush(), right after the tagged OK is
 * queued, because that OK may wait for a view refresh and nothing may be
 * read or written between the OK and the start of compression (§3). The
 * connection layer (core/conn.c, util/zpipe.c) does the deflating.
 */
#include "../core/conn.h"
#include "../core/log.h"
#include "imap_int.h"

/* RFC 4978 §5: "command-auth =/ compress", so the table allows it only
 * once logged in (authenticated and selected states). */
void
imap_cmd_compress(struct imap_session *s, const struct imap_cmd *c)
{
	/* §3: DEFLATE is the only mechanism; others are BAD. */
	if (c->n_args != 1 || !imap_arg_atom_is(&c->args[0], "DEFLATE")) {
		imap_finish(s, "BAD", NULL, "Unknown compression mechanism");
		session_error(&s->base);
		return;
	}
	/* RFC 5530 §3 COMPRESSIONACTIVE: once per connection. */
	if (s->compress) {
		imap_finish(s, "NO", "COMPRESSIONACTIVE",
			    "DEFLATE active already");
		return;
	}
	s->compress = true;
	log_info(s->base.id, "compress", " mech=DEFLATE");
	imap_finish(s, "OK", NULL, "DEFLATE active");
}

/* Called by imap_reply_tagged_flush() once a tagged line is queued. */
void
imap_compress_after_tagged(struct imap_session *s)
{
	if (!s->compress || s->base.conn == NULL ||
	    conn_is_compressed(s->base.conn))
		return;
	if (conn_compress_start(s->base.conn) < 0) {
		/* The client compresses from now on; we cannot follow. */
		log_warn(s->base.id, "compress", " result=fail");
		session_close(&s->base, "compress");
	}
}
