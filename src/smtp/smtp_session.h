/*
 * SMTP server sessions (RFC 5321) for ports 25, 587 and 465.
 */
#ifndef POSTEL_SMTP_SESSION_H
#define POSTEL_SMTP_SESSION_H

struct server;
struct conn;

/* proto is PROTO_SMTP, PROTO_SUBMISSION or PROTO_SUBMISSIONS. The session
 * takes the connection over and frees both when it ends. */
void smtp_session_start(struct server *srv, struct conn *conn, int proto);

#endif
