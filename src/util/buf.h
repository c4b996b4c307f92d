/*
 * Growable byte buffer with a hard maximum: wire data is bytes plus a length,
 * and every buffer knows how large it may become.
 */
#ifndef POSTEL_BUF_H
#define POSTEL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* append beyond this fails */
};

void buf_init(struct buf *b, size_t max);
void buf_fini(struct buf *b);
/* Keeps the allocation, forgets the contents. */
void buf_reset(struct buf *b);
/* 0 on success, -1 when the result would exceed b->max or memory is out
 * (the buffer is unchanged then). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Ensures room for n more bytes; 0 or -1 as buf_append. */
int buf_reserve(struct buf *b, size_t n);

#endif
