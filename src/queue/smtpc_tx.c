/*
 * One transaction of the SMTP client (smtpc.h): MAIL FROM with its
 * parameters, RCPT TO for each recipient, DATA and the message read from
 * its file, dot-stuffed (RFC 5321 §4.5.2). With PIPELINING (RFC 2920)
 * MAIL, every RCPT and DATA leave in one write and the replies are read
 * in order.
 *
 * Reading the message file is a blocking read of a local file (the page
 * cache, usually: it was written moments or minutes ago): at most
 * SMTPC_BODY_CHUNK per loop turn, and only when the socket has taken what
 * was queued before, so a large message never sits in memory whole. The
 * exception is a message converted to 7 bits for a server without
 * 8BITMIME: the converter works on the whole message.
 */
#include "smtpc_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "../core/log.h"
#include "../core/runtime.h"
#include "../mime/mime.h"
#include "../store/store.h"
#include "../store/store_queue.h"
#include "../util/xtext.h"

/* RFC 3461 §4.4: ENVID at most 100 characters; ORCPT §4.2 at most 500;
 * xtext triples an octet at worst. */
#define SMTPC_XTEXT_MAX (3 * 500 + 1)

/* The 7-bit copy of a message goes with its transaction: an idle
 * connection keeps no message memory. */
static void
smtpc_tx_clear(struct smtpc *c)
{
	c->m = NULL;
	c->use_conv = false;
	buf_fini(&c->conv);
	buf_init(&c->conv, 0);
}

static bool
smtpc_2xx(const struct smtpc_reply *r)
{
	return r->code >= 200 && r->code < 300;
}

/* Every recipient still open (no reply, or accepted) gets r. */
static void
smtpc_tx_set_open(struct smtpc_msg *m, const struct smtpc_reply *r)
{
	for (size_t i = 0; i < m->n_rcpts; i++)
		if (m->rcpts[i].reply.code == 0 ||
		    smtpc_2xx(&m->rcpts[i].reply))
			m->rcpts[i].reply = *r;
	m->reply = *r;
}

void
smtpc_tx_fail(struct smtpc *c, const struct smtpc_reply *r)
{
	smtpc_tx_set_open(c->m, r);
	smtpc_tx_clear(c);
}

static void
smtpc_tx_end(struct smtpc *c)
{
	smtpc_tx_clear(c);
	c->state = SMTPC_READY;
	smtpc_arm(c, 0);
	smtpc_call(c, true);
}

/* Refused before anything was sent (size, SMTPUTF8, 8-bit): the
 * connection stays usable; the callback comes from the loop. */
static void
smtpc_tx_refuse(struct smtpc *c, int code, const char *status,
		const char *text)
{
	struct smtpc_reply r;

	smtpc_reply_set(&r, code, status, "%s", text);
	log_info(c->id, "smtpc_refuse", " peer=%s reply=%s", log_qs(c->peer),
		 log_qs(r.text));
	smtpc_tx_set_open(c->m, &r);
	smtpc_tx_clear(c);
	smtpc_defer(c, true);
}

/* ---- commands ------------------------------------------------------- */

static void
smtpc_tx_mail(struct smtpc *c)
{
	const struct smtpc_msg *m = c->m;
	char size[32] = "", envid[SMTPC_XTEXT_MAX] = "";
	bool dsn = c->ext & SMTPC_EXT_DSN;

	if (c->ext & SMTPC_EXT_SIZE)
		snprintf(size, sizeof(size), " SIZE=%llu",
			 (unsigned long long)c->body_len);
	/* RFC 3461 §4.4: ENVID only to a server that announced DSN. */
	if (dsn && m->envid != NULL && m->envid[0] != '\0' &&
	    xtext_encode(m->envid, envid, sizeof(envid)) < 0)
		envid[0] = '\0';
	smtpc_cmd(c, "MAIL FROM:<%s>%s%s%s%s%s%s%s", m->from, size,
		  (m->flags & STORE_QMSG_8BIT) && !c->use_conv
			  ? " BODY=8BITMIME" : "",
		  (m->flags & STORE_QMSG_SMTPUTF8) ? " SMTPUTF8" : "",
		  /* RFC 8689 §4.2.1: the requirement travels on. */
		  (m->flags & STORE_QMSG_REQUIRETLS) &&
			  (c->ext & SMTPC_EXT_REQUIRETLS) ? " REQUIRETLS" : "",
		  !dsn || m->ret == STORE_RET_DEFAULT ? ""
		  : m->ret == STORE_RET_FULL ? " RET=FULL" : " RET=HDRS",
		  envid[0] ? " ENVID=" : "", envid);
}

/* RFC 3461 §4.1: NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY. */
static void
smtpc_tx_notify(unsigned notify, char *out, size_t cap)
{
	out[0] = '\0';
	if (notify == 0)
		return;
	if (notify & STORE_NOTIFY_NEVER) {
		snprintf(out, cap, " NOTIFY=NEVER");
		return;
	}
	snprintf(out, cap, " NOTIFY=%s%s%s%s%s",
		 notify & STORE_NOTIFY_SUCCESS ? "SUCCESS" : "",
		 (notify & STORE_NOTIFY_SUCCESS) &&
			 (notify & (STORE_NOTIFY_FAILURE | STORE_NOTIFY_DELAY))
			 ? "," : "",
		 notify & STORE_NOTIFY_FAILURE ? "FAILURE" : "",
		 (notify & STORE_NOTIFY_FAILURE) && (notify & STORE_NOTIFY_DELAY)
			 ? "," : "",
		 notify & STORE_NOTIFY_DELAY ? "DELAY" : "");
}

/* RFC 3461 §4.2: ORCPT=addr-type;xtext(address). */
static void
smtpc_tx_orcpt(const char *orcpt, char *out, size_t cap)
{
	const char *semi = orcpt != NULL ? strchr(orcpt, ';') : NULL;
	char x[SMTPC_XTEXT_MAX];
	int tl;

	out[0] = '\0';
	if (semi == NULL || semi == orcpt || semi - orcpt > 32 ||
	    xtext_encode(semi + 1, x, sizeof(x)) < 0)
		return;
	tl = (int)(semi - orcpt);
	snprintf(out, cap, " ORCPT=%.*s;%s", tl, orcpt, x);
}

static void
smtpc_tx_rcpt(struct smtpc *c, size_t i)
{
	const struct smtpc_rcpt *r = &c->m->rcpts[i];
	char notify[48] = "", orcpt[SMTPC_XTEXT_MAX + 48] = "";

	if (c->ext & SMTPC_EXT_DSN) {
		smtpc_tx_notify(r->notify, notify, sizeof(notify));
		smtpc_tx_orcpt(r->orcpt, orcpt, sizeof(orcpt));
	}
	smtpc_cmd(c, "RCPT TO:<%s>%s%s", r->addr, notify, orcpt);
}

/* MAIL, and with PIPELINING every RCPT and DATA too: RFC 2920 §3.1 lets
 * DATA be the last command of the group. */
static void
smtpc_tx_begin(struct smtpc *c)
{
	c->rcpt_next = 0;
	c->n_accepted = 0;
	c->mail_ok = false;
	c->state = SMTPC_MAIL;
	smtpc_tx_mail(c);
	if (!(c->ext & SMTPC_EXT_PIPELINING))
		return;
	for (size_t i = 0; i < c->m->n_rcpts; i++)
		smtpc_tx_rcpt(c, i);
	smtpc_cmd(c, "DATA");
}

/* ---- the message --------------------------------------------------- */

/* Up to n octets of the message as sent (the prefix, then the file from
 * m->start) from offset off: the count, 0 at the end, -1 (errno) on a
 * read error. */
static ssize_t
smtpc_tx_read(const struct smtpc_msg *m, uint8_t *p, size_t n, uint64_t off)
{
	size_t got = 0;
	ssize_t r;

	if (off < m->prefix_len) {
		got = m->prefix_len - (size_t)off < n ? m->prefix_len -
							(size_t)off : n;
		memcpy(p, m->prefix + off, got);
		if (got == n)
			return (ssize_t)got;
		off += got;
	}
	if (m->data != NULL) {
		uint64_t at = off - m->prefix_len;

		r = at < m->size ? (ssize_t)(m->size - at < n - got
					     ? m->size - at : n - got) : 0;
		memcpy(p + got, m->data + m->start + at, (size_t)r);
		return (ssize_t)(got + (size_t)r);
	}
	r = pread(m->fd, p + got, n - got,
		  (off_t)(m->start + off - m->prefix_len));
	if (r < 0)
		return got > 0 ? (ssize_t)got : -1;
	return (ssize_t)(got + (size_t)r);
}

/* RFC 6152 §3 asks 8-bit data only of a server with 8BITMIME: convert it
 * (quoted-printable) or give up. 0 ready, -1 refused (done). */
static int
smtpc_tx_downgrade(struct smtpc *c)
{
	struct smtpc_msg *m = c->m;
	struct buf in;
	ssize_t n = 0;
	int rc;

	size_t total = (size_t)m->size + m->prefix_len;

	buf_init(&in, total + 1);
	if (buf_reserve(&in, total + 1) < 0) {
		smtpc_tx_refuse(c, 451, "4.3.0", "out of memory");
		return -1;
	}
	while (in.len <= total &&
	       (n = smtpc_tx_read(m, in.data + in.len, in.cap - in.len,
				  in.len)) > 0)
		in.len += (size_t)n;
	if (n < 0 || in.len != total) {
		buf_fini(&in);
		smtpc_tx_refuse(c, 451, "4.3.0", "cannot read the message");
		return -1;
	}
	buf_fini(&c->conv);
	buf_init(&c->conv, 3 * (size_t)m->size + 4096);
	rc = mime_downgrade_7bit((const char *)in.data, in.len, &c->conv);
	buf_fini(&in);
	if (rc != 0) {
		smtpc_tx_refuse(c, rc > 0 ? 554 : 451, rc > 0 ? "5.6.3"
				: "4.3.0", rc > 0
				? "8-bit message cannot be converted to 7 bits "
				  "for a server without 8BITMIME"
				: "out of memory");
		return -1;
	}
	c->use_conv = true;
	c->body_len = c->conv.len;
	return 0;
}

/* Appends n octets, dot-stuffed (RFC 5321 §4.5.2) and with bare LFs made
 * CRLF (§2.3.8), to out. */
static void
smtpc_tx_stuff(struct smtpc *c, struct evbuffer *out, const uint8_t *p,
	       size_t n)
{
	const uint8_t *run = p, *end = p + n;

	/* Line by line (memchr finds each end): a dot that starts a line
	 * is doubled, a bare LF gets its CR. */
	while (p < end) {
		const uint8_t *nl;

		if (c->body_col == 0 && *p == '.') {
			evbuffer_add(out, run, (size_t)(p - run));
			evbuffer_add(out, ".", 1);
			run = p;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			c->body_col = 1;
			c->body_cr = end[-1] == '\r';
			break;
		}
		if (!(nl > p ? nl[-1] == '\r' : c->body_cr)) {
			evbuffer_add(out, run, (size_t)(nl - run));
			evbuffer_add(out, "\r", 1);
			run = nl;
		}
		c->body_col = 0;
		c->body_cr = false;
		p = nl + 1;
	}
	evbuffer_add(out, run, (size_t)(end - run));
}

static void
smtpc_tx_body_end(struct smtpc *c, struct evbuffer *out)
{
	/* RFC 5321 §4.1.1.4: the message ends with CRLF before ".". */
	if (c->body_col != 0)
		evbuffer_add(out, "\r\n", 2);
	evbuffer_add(out, ".\r\n", 3);
	c->state = SMTPC_DATA_END;
	smtpc_arm(c, c->srv->cfg.smtp_client_timeout);
	/* The reply may be here already (read but left while sending). */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

void
smtpc_tx_body(struct smtpc *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	uint8_t chunk[SMTPC_BODY_CHUNK];
	size_t want = SMTPC_BODY_CHUNK;
	const uint8_t *p = chunk;
	ssize_t n;
	struct smtpc_reply r;

	if (smtpc_out_pending(c) > SMTPC_OUT_HIGH)
		return;
	if (c->body_len - c->body_off < want)
		want = (size_t)(c->body_len - c->body_off);
	if (want > 0 && c->use_conv) {
		p = c->conv.data + c->body_off;
		n = (ssize_t)want;
	} else if (want > 0) {
		n = smtpc_tx_read(c->m, chunk, want, c->body_off);
		if (n <= 0) {
			smtpc_reply_set(&r, 451, "4.3.0", "cannot read the "
					"message: %s", n < 0 ? strerror(errno)
					: "shorter than its size");
			smtpc_fail(c, &r);
			return;
		}
	} else {
		n = 0;
	}
	smtpc_tx_stuff(c, out, p, (size_t)n);
	c->body_off += (uint64_t)n;
	smtpc_arm(c, c->srv->cfg.smtp_client_timeout);
	if (c->body_off >= c->body_len)
		smtpc_tx_body_end(c, out);
}

static void
smtpc_tx_data_start(struct smtpc *c)
{
	c->state = SMTPC_BODY;
	c->body_off = 0;
	c->body_col = 0;
	c->body_cr = false;
	smtpc_tx_body(c);
}

/* ---- replies --------------------------------------------------------- */

static void
smtpc_tx_rcpt_reply(struct smtpc *c)
{
	struct smtpc_msg *m = c->m;
	struct smtpc_rcpt *r = &m->rcpts[c->rcpt_next++];

	/* With PIPELINING after a refused MAIL the RCPT replies are only
	 * "503 need MAIL": the recipients get MAIL's reply. */
	r->reply = c->mail_ok ? c->cur : m->reply;
	if (c->mail_ok && smtpc_2xx(&c->cur))
		c->n_accepted++;
	else if (c->mail_ok)
		m->reply = c->cur;
	if (c->rcpt_next < m->n_rcpts) {
		if (!(c->ext & SMTPC_EXT_PIPELINING))
			smtpc_tx_rcpt(c, c->rcpt_next);
		return;
	}
	c->state = SMTPC_DATA;
	if (c->ext & SMTPC_EXT_PIPELINING)
		return;
	if (c->n_accepted > 0) {
		smtpc_cmd(c, "DATA");
		return;
	}
	/* Every recipient refused: the transaction is open (MAIL took),
	 * RSET before the next one. */
	c->need_rset = true;
	smtpc_tx_end(c);
}

static void
smtpc_tx_data_reply(struct smtpc *c)
{
	struct smtpc_msg *m = c->m;

	if (c->cur.code == 354 && c->mail_ok && c->n_accepted > 0) {
		smtpc_tx_data_start(c);
		return;
	}
	if (c->cur.code == 354) {
		/* RFC 2920 §3.1: a 354 with no recipient: end at once. */
		smtpc_cmd(c, ".");
		c->state = SMTPC_DISCARD;
		return;
	}
	c->need_rset = true;
	if (c->mail_ok && c->n_accepted > 0) {
		for (size_t i = 0; i < m->n_rcpts; i++)
			if (smtpc_2xx(&m->rcpts[i].reply))
				m->rcpts[i].reply = c->cur;
		m->reply = c->cur;
	}
	smtpc_tx_end(c);
}

static void
smtpc_tx_end_reply(struct smtpc *c)
{
	struct smtpc_msg *m = c->m;

	/* RFC 5321 §4.1.1.4: one reply for every accepted recipient. */
	for (size_t i = 0; i < m->n_rcpts; i++)
		if (smtpc_2xx(&m->rcpts[i].reply))
			m->rcpts[i].reply = c->cur;
	m->reply = c->cur;
	c->count++;
	smtpc_tx_end(c);
}

void
smtpc_tx_reply(struct smtpc *c)
{
	struct smtpc_reply r;

	switch (c->state) {
	case SMTPC_RSET:
		if (!smtpc_2xx(&c->cur)) {
			smtpc_reply_set(&r, 421, "4.4.2", "RSET refused by "
					"%s: %s", c->peer, c->cur.text);
			smtpc_fail(c, &r);
			return;
		}
		c->need_rset = false;
		smtpc_tx_begin(c);
		return;
	case SMTPC_MAIL:
		c->mail_ok = smtpc_2xx(&c->cur);
		if (!c->mail_ok)
			c->m->reply = c->cur;
		c->state = SMTPC_RCPT;
		if (c->ext & SMTPC_EXT_PIPELINING)
			return;
		if (c->mail_ok) {
			smtpc_tx_rcpt(c, 0);
			return;
		}
		smtpc_tx_set_open(c->m, &c->cur);
		smtpc_tx_end(c);
		return;
	case SMTPC_RCPT:
		smtpc_tx_rcpt_reply(c);
		return;
	case SMTPC_DATA:
		smtpc_tx_data_reply(c);
		return;
	case SMTPC_DISCARD:
		c->need_rset = true;
		smtpc_tx_end(c);
		return;
	default:
		smtpc_tx_end_reply(c);
	}
}

/* RFC 8689 §4.2.1: a REQUIRETLS message (with a sender: bounces are
 * exempt) goes only over TLS whose certificate verified (DANE, MTA-STS,
 * or PKIX with the trust anchors, tls_ca_file) to a server that takes
 * REQUIRETLS on; else it is returned (§5: 5.7.10, 5.7.30). 0 or -1
 * (refused, done). */
static int
smtpc_tx_requiretls(struct smtpc *c)
{
	const struct smtpc_msg *m = c->m;
	char text[200];

	if (!(m->flags & STORE_QMSG_REQUIRETLS) || m->from[0] == '\0')
		return 0;
	if (!c->tls || !c->verified) {
		snprintf(text, sizeof(text), "REQUIRETLS: %s %s", c->peer,
			 c->tls ? "has a certificate that did not verify"
				: "offers no TLS");
		smtpc_tx_refuse(c, 550, "5.7.10", text);
		return -1;
	}
	if (!(c->ext & SMTPC_EXT_REQUIRETLS)) {
		snprintf(text, sizeof(text), "REQUIRETLS: %s does not support "
			 "REQUIRETLS", c->peer);
		smtpc_tx_refuse(c, 550, "5.7.30", text);
		return -1;
	}
	return 0;
}

void
smtpc_tx_start(struct smtpc *c)
{
	struct smtpc_msg *m = c->m;
	char text[160];

	c->use_conv = false;
	c->body_len = m->size + m->prefix_len;
	if (smtpc_tx_requiretls(c) < 0)
		return;
	/* RFC 6531 §3.4: no SMTPUTF8, no way to send it. */
	if ((m->flags & STORE_QMSG_SMTPUTF8) &&
	    !(c->ext & SMTPC_EXT_SMTPUTF8)) {
		smtpc_tx_refuse(c, 553, "5.6.7", "the message needs SMTPUTF8, "
				"which the server does not offer");
		return;
	}
	if ((m->flags & STORE_QMSG_8BIT) && !(c->ext & SMTPC_EXT_8BITMIME) &&
	    smtpc_tx_downgrade(c) < 0)
		return;
	/* RFC 1870 §6: too big for the server's announced limit. */
	if ((c->ext & SMTPC_EXT_SIZE) && c->max_size > 0 &&
	    c->body_len > c->max_size) {
		snprintf(text, sizeof(text), "message size %llu exceeds the "
			 "limit %llu of the server",
			 (unsigned long long)c->body_len,
			 (unsigned long long)c->max_size);
		smtpc_tx_refuse(c, 552, "5.3.4", text);
		return;
	}
	if (c->need_rset) {
		c->state = SMTPC_RSET;
		smtpc_cmd(c, "RSET");
		return;
	}
	smtpc_tx_begin(c);
}

void
smtpc_send(struct smtpc *c, struct smtpc_msg *m, smtpc_cb done, void *arg)
{
	struct smtpc_reply r;

	c->cb = done;
	c->cb_arg = arg;
	c->m = m;
	memset(&m->reply, 0, sizeof(m->reply));
	for (size_t i = 0; i < m->n_rcpts; i++)
		memset(&m->rcpts[i].reply, 0, sizeof(m->rcpts[i].reply));
	if (c->state != SMTPC_READY || m->n_rcpts == 0) {
		if (c->err.code != 0)
			r = c->err;
		else
			smtpc_reply_set(&r, 421, "4.4.2", "connection to %s "
					"not ready", c->peer);
		smtpc_tx_set_open(m, &r);
		c->m = NULL;
		smtpc_defer(c, c->state == SMTPC_READY);
		return;
	}
	smtpc_tx_start(c);
}
