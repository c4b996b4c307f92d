/*
 * Raw DEFLATE (RFC 1951, no zlib or gzip header) in both directions of a
 * stream, between evbuffers: what IMAP COMPRESS=DEFLATE (RFC 4978) puts
 * under the protocol. The inflating side is bounded: it never produces
 * more than the caller allows, so a small compressed input (a
 * "decompression bomb") cannot grow a buffer without limit.
 */
#ifndef POSTEL_ZPIPE_H
#define POSTEL_ZPIPE_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct zpipe;

/* NULL when out of memory. */
struct zpipe *zpipe_new(void);
void zpipe_free(struct zpipe **zp);

/* Compresses at most max bytes of src (drained) onto dst; once src is
 * empty, ends with a sync flush (RFC 4978 §4: the peer can decode
 * everything sent so far). SIZE_MAX: all of it. 0 or -1. */
int zpipe_deflate(struct zpipe *z, struct evbuffer *src, struct evbuffer *dst,
		  size_t max);

/* Decompresses from src (consumed as far as used) onto dst until src is
 * empty or dst holds at least limit bytes. 0, or -1 on corrupt input or
 * an ended stream (the peer may not end it while the connection lives). */
int zpipe_inflate(struct zpipe *z, struct evbuffer *src, struct evbuffer *dst,
		  size_t limit);
/* True when inflate may hold output it could not hand over (dst was at
 * its limit): call zpipe_inflate again once dst has room, even with no
 * new input. */
bool zpipe_inflate_pending(const struct zpipe *z);

#endif
