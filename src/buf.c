/*
 * buf: bounds-checked byte buffers (see buf.h).  Growth is geometric and
 * capped by the buffer's own limit; secret buffers are wiped on release.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = (max == 0 || max > BUF_MAX_SIZE) ? BUF_MAX_SIZE : max;
}

void
buf_view(struct buf *b, const void *p, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->cdata = p;
	b->len = len;
	b->max = len;
}

void
buf_set_secret(struct buf *b)
{
	b->wipe = 1;
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		if (b->wipe)
			explicit_bzero(b->data, b->alloc);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

void
buf_reset(struct buf *b)
{
	if (b->data != NULL && b->wipe)
		explicit_bzero(b->data, b->alloc);
	b->off = b->len = 0;
}

size_t
buf_len(const struct buf *b)
{
	return b->len - b->off;
}

const uint8_t *
buf_ptr(const struct buf *b)
{
	return b->cdata == NULL ? NULL : b->cdata + b->off;
}

int
buf_get(struct buf *b, void *out, size_t len)
{
	if (buf_len(b) < len)
		return BUF_ERR_SHORT;
	if (out != NULL && len > 0)
		memcpy(out, b->cdata + b->off, len);
	b->off += len;
	return BUF_OK;
}

int
buf_skip(struct buf *b, size_t len)
{
	return buf_get(b, NULL, len);
}

int
buf_peek_u8(const struct buf *b, size_t off, uint8_t *v)
{
	if (off >= buf_len(b))
		return BUF_ERR_SHORT;
	*v = b->cdata[b->off + off];
	return BUF_OK;
}

int
buf_peek_u32(const struct buf *b, size_t off, uint32_t *v)
{
	const uint8_t *p;

	if (buf_len(b) < 4 || off > buf_len(b) - 4)
		return BUF_ERR_SHORT;
	p = b->cdata + b->off + off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	return BUF_OK;
}

int
buf_get_u8(struct buf *b, uint8_t *v)
{
	return buf_get(b, v, 1);
}

int
buf_get_u16(struct buf *b, uint16_t *v)
{
	uint8_t p[2];
	int r;

	if ((r = buf_get(b, p, sizeof(p))) != 0)
		return r;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return BUF_OK;
}

int
buf_get_u32(struct buf *b, uint32_t *v)
{
	int r;

	if ((r = buf_peek_u32(b, 0, v)) != 0)
		return r;
	b->off += 4;
	return BUF_OK;
}

int
buf_get_u64(struct buf *b, uint64_t *v)
{
	uint32_t hi, lo;

	if (buf_len(b) < 8)
		return BUF_ERR_SHORT;
	(void)buf_get_u32(b, &hi);
	(void)buf_get_u32(b, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return BUF_OK;
}

int
buf_get_string_direct(struct buf *b, const uint8_t **p, size_t *len)
{
	uint32_t n;
	int r;

	if ((r = buf_peek_u32(b, 0, &n)) != 0)
		return r;
	if (n > buf_len(b) - 4)
		return BUF_ERR_SHORT;
	b->off += 4;
	if (p != NULL)
		*p = b->cdata + b->off;
	if (len != NULL)
		*len = n;
	b->off += n;
	return BUF_OK;
}

int
buf_get_cstring(struct buf *b, char **s, size_t maxlen)
{
	const uint8_t *p;
	size_t len, save = b->off;
	char *out;
	int r;

	if ((r = buf_get_string_direct(b, &p, &len)) != 0)
		return r;
	if (len > maxlen || memchr(p, '\0', len) != NULL) {
		b->off = save;
		return BUF_ERR_FORMAT;
	}
	if ((out = malloc(len + 1)) == NULL) {
		b->off = save;
		return BUF_ERR_NOMEM;
	}
	memcpy(out, p, len);
	out[len] = '\0';
	*s = out;
	return BUF_OK;
}

/* Make room for len more bytes, compacting consumed space first. */
static int
buf_grow(struct buf *b, size_t len)
{
	size_t need, nalloc;
	uint8_t *n;

	if (b->cdata != NULL && b->data == NULL)
		return BUF_ERR_FORMAT;		/* read-only view */
	if (len > b->max || b->len - b->off > b->max - len)
		return BUF_ERR_TOOBIG;
	if (b->off > 0 && b->len + len > b->alloc) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		if (b->wipe)
			explicit_bzero(b->data + b->len - b->off, b->off);
		b->len -= b->off;
		b->off = 0;
	}
	need = b->len + len;
	/* Allocate even for len 0, so that buf_reserve() has a place to point. */
	if (need <= b->alloc && b->data != NULL)
		return BUF_OK;
	nalloc = b->alloc < 256 ? 256 : b->alloc;
	while (nalloc < need)
		nalloc *= 2;
	if (nalloc > b->max)
		nalloc = b->max;
	if ((n = malloc(nalloc)) == NULL)
		return BUF_ERR_NOMEM;
	if (b->data != NULL) {
		memcpy(n, b->data, b->len);
		if (b->wipe)
			explicit_bzero(b->data, b->alloc);
		free(b->data);
	}
	b->data = n;
	b->cdata = n;
	b->alloc = nalloc;
	return BUF_OK;
}

int
buf_reserve(struct buf *b, size_t len, uint8_t **p)
{
	int r;

	if ((r = buf_grow(b, len)) != 0)
		return r;
	*p = b->data + b->len;
	b->len += len;
	return BUF_OK;
}

int
buf_put(struct buf *b, const void *p, size_t len)
{
	uint8_t *dst;
	int r;

	if (len == 0)
		return BUF_OK;
	if ((r = buf_reserve(b, len, &dst)) != 0)
		return r;
	memcpy(dst, p, len);
	return BUF_OK;
}

int
buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int
buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t p[2] = { v >> 8, v & 0xff };

	return buf_put(b, p, sizeof(p));
}

int
buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

	return buf_put(b, p, sizeof(p));
}

int
buf_put_u64(struct buf *b, uint64_t v)
{
	int r;

	if ((r = buf_put_u32(b, (uint32_t)(v >> 32))) != 0)
		return r;
	return buf_put_u32(b, (uint32_t)v);
}

int
buf_put_string(struct buf *b, const void *p, size_t len)
{
	int r;

	if (len > UINT32_MAX)
		return BUF_ERR_TOOBIG;
	if (len > b->max || 4 > b->max - len)
		return BUF_ERR_TOOBIG;
	if ((r = buf_grow(b, 4 + len)) != 0)
		return r;
	(void)buf_put_u32(b, (uint32_t)len);
	return buf_put(b, p, len);
}

int
buf_put_cstring(struct buf *b, const char *s)
{
	return buf_put_string(b, s, strlen(s));
}

int
buf_putf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256], *big;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return BUF_ERR_FORMAT;
	if ((size_t)n < sizeof(small))
		return buf_put(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return BUF_ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = buf_put(b, big, (size_t)n);
	free(big);
	return r;
}

const char *
buf_strerror(int r)
{
	switch (r) {
	case BUF_OK:		return "success";
	case BUF_ERR_SHORT:	return "truncated data";
	case BUF_ERR_NOMEM:	return "out of memory";
	case BUF_ERR_TOOBIG:	return "data too large";
	case BUF_ERR_FORMAT:	return "malformed data";
	default:		return "unknown error";
	}
}
