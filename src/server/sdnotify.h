/*
 * systemd's service notification (sd_notify(3), Type=notify) without
 * libsystemd: one datagram "READY=1" or "STOPPING=1" to the socket named
 * by $NOTIFY_SOCKET, when there is one. contrib/systemd/postel.service.
 */
#ifndef POSTEL_SDNOTIFY_H
#define POSTEL_SDNOTIFY_H

/* Sends state ("READY=1", ...). 1 sent, 0 no $NOTIFY_SOCKET (not run by
 * systemd), -1 on error (the service manager will notice the missing
 * readiness itself; nothing else depends on it). */
int sdnotify(const char *state);

#endif
