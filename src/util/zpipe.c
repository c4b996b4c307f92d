/*
 * Raw DEFLATE between evbuffers with zlib. Both directions work on the
 * evbuffer's chunks in place (evbuffer_peek) through a small stack buffer,
 * so nothing is copied into one big contiguous block first.
 */
#include "zpipe.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <zlib.h>

/* Bytes produced per zlib call; bounds the stack buffer. */
#define ZPIPE_CHUNK 16384
/* RFC 4978 §3: raw DEFLATE (RFC 1951); negative windowBits tells zlib not
 * to expect or write a zlib header. 15 is the full 32 KiB window. */
#define ZPIPE_WBITS (-15)

struct zpipe {
	z_stream in, out;
	bool in_ok, out_ok;
	bool in_more; /* inflate stopped with output possibly pending */
};

struct zpipe *
zpipe_new(void)
{
	struct zpipe *z = calloc(1, sizeof(*z));

	if (z == NULL)
		return NULL;
	z->in_ok = inflateInit2(&z->in, ZPIPE_WBITS) == Z_OK;
	z->out_ok = deflateInit2(&z->out, Z_BEST_SPEED, Z_DEFLATED,
				 ZPIPE_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK;
	if (!z->in_ok || !z->out_ok) {
		zpipe_free(&z);
		return NULL;
	}
	return z;
}

void
zpipe_free(struct zpipe **zp)
{
	struct zpipe *z = *zp;

	if (z == NULL)
		return;
	if (z->in_ok)
		inflateEnd(&z->in);
	if (z->out_ok)
		deflateEnd(&z->out);
	free(z);
	*zp = NULL;
}

/* Runs deflate on what next_in/avail_in hold until it stops producing a
 * full buffer, appending the output to dst. 0 or -1. */
static int
zpipe_deflate_run(struct zpipe *z, struct evbuffer *dst, int flush)
{
	unsigned char out[ZPIPE_CHUNK];

	do {
		int rc;

		z->out.next_out = out;
		z->out.avail_out = sizeof(out);
		rc = deflate(&z->out, flush);
		/* Z_BUF_ERROR only means "no progress possible": not fatal. */
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			return -1;
		if (sizeof(out) - z->out.avail_out > 0 &&
		    evbuffer_add(dst, out, sizeof(out) - z->out.avail_out) < 0)
			return -1;
	} while (z->out.avail_out == 0);
	return 0;
}

int
zpipe_deflate(struct zpipe *z, struct evbuffer *src, struct evbuffer *dst,
	      size_t max)
{
	struct evbuffer_iovec v;

	if (evbuffer_get_length(src) == 0)
		return 0;
	while (max > 0 && evbuffer_peek(src, -1, NULL, &v, 1) > 0) {
		size_t len = v.iov_len > UINT_MAX ? UINT_MAX : v.iov_len;

		if (len > max)
			len = max;
		max -= len;

		z->out.next_in = v.iov_base;
		z->out.avail_in = (uInt)len;
		if (zpipe_deflate_run(z, dst, Z_NO_FLUSH) < 0)
			return -1;
		evbuffer_drain(src, len - z->out.avail_in);
		z->out.next_in = NULL;
		z->out.avail_in = 0;
		if (len == 0)
			break;
	}
	/* Everything so far goes out now: a reply must never wait for the
	 * next one to fill a deflate block. */
	if (evbuffer_get_length(src) > 0)
		return 0;
	return zpipe_deflate_run(z, dst, Z_SYNC_FLUSH);
}

/* One inflate call from src's first chunk into at most room bytes of dst.
 * 1 progress, 0 none possible now, -1 error. */
static int
zpipe_inflate_step(struct zpipe *z, struct evbuffer *src,
		   struct evbuffer *dst, size_t room)
{
	unsigned char out[ZPIPE_CHUNK];
	struct evbuffer_iovec v = { NULL, 0 };
	size_t in_len, used, made;
	int rc;

	if (room > sizeof(out))
		room = sizeof(out);
	if (evbuffer_peek(src, -1, NULL, &v, 1) <= 0)
		v.iov_len = 0;
	in_len = v.iov_len > UINT_MAX ? UINT_MAX : v.iov_len;
	z->in.next_in = v.iov_base;
	z->in.avail_in = (uInt)in_len;
	z->in.next_out = out;
	z->in.avail_out = (uInt)room;
	rc = inflate(&z->in, Z_SYNC_FLUSH);
	used = in_len - z->in.avail_in;
	made = room - z->in.avail_out;
	z->in.next_in = NULL;
	z->in.avail_in = 0;
	evbuffer_drain(src, used);
	if (made > 0 && evbuffer_add(dst, out, made) < 0)
		return -1;
	/* A full output buffer may leave output inside zlib even when all
	 * input is used up. */
	z->in_more = made == room;
	/* Z_STREAM_END: the client ended its stream, yet RFC 4978 has it
	 * compress until the connection ends; anything else is corrupt. */
	if (rc != Z_OK && rc != Z_BUF_ERROR)
		return -1;
	return used > 0 || made > 0 ? 1 : 0;
}

int
zpipe_inflate(struct zpipe *z, struct evbuffer *src, struct evbuffer *dst,
	      size_t limit)
{
	for (;;) {
		size_t have = evbuffer_get_length(dst);
		int r;

		if (have >= limit)
			return 0;
		if (evbuffer_get_length(src) == 0 && !z->in_more)
			return 0;
		r = zpipe_inflate_step(z, src, dst, limit - have);
		if (r <= 0)
			return r;
	}
}

bool
zpipe_inflate_pending(const struct zpipe *z)
{
	return z->in_more;
}
