/*
 * The control socket (DATA_DIR/control, a unix stream socket, mode 0600,
 * owned by the service user): `postel status|who|kick` and the session
 * part of `postel user show|del` ask the running server through it. Served
 * on the loop, one bounded request per connection (control_proto.h).
 */
#ifndef POSTEL_CONTROL_H
#define POSTEL_CONTROL_H

#include <stddef.h>
#include <time.h>

struct server;
struct control;

/* Creates the socket (after the privilege drop: it is the service
 * user's) and serves it on srv's loop; a stale socket left by a crash is
 * replaced (the data-dir lock says no other server runs). version is
 * static. NULL with err. */
struct control *control_start(struct server *srv, const char *version,
			      time_t started, char *err, size_t errlen);
/* Closes every client and the socket, and removes it. */
void control_free(struct control **cp);

/* DATA_DIR/control as a sockaddr_un path: the path itself, or, when it is
 * longer than sun_path holds, "/proc/self/fd/N/control" through dirfd_r
 * (an open fd of the data directory, to close after bind or connect;
 * -1 when not used). 0 or -1 with err. Shared with the admin commands. */
struct sockaddr_un;
int control_sockaddr(const char *data_dir, struct sockaddr_un *sun,
		     int *dirfd_r, char *err, size_t errlen);

#endif
