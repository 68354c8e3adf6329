/*
 * buf: the one bounds-checked byte-buffer API.  Every byte that comes from
 * outside (captured frames, SSH packets, export records, control requests) is
 * read through it; nothing else indexes raw bytes.  Modelled on OpenSSH's
 * sshbuf: readers consume from the front, writers append, every call returns
 * 0 or a negative BUF_ERR_* value.  Integers are big-endian (network order).
 */
#ifndef SJ_BUF_H
#define SJ_BUF_H

#include <stddef.h>
#include <stdint.h>

#define BUF_OK			0
#define BUF_ERR_SHORT		-1	/* not enough bytes to read */
#define BUF_ERR_NOMEM		-2	/* allocation failed */
#define BUF_ERR_TOOBIG		-3	/* would exceed the buffer's limit */
#define BUF_ERR_FORMAT		-4	/* malformed content */

/* Hard ceiling for any buffer, whatever its own limit says. */
#define BUF_MAX_SIZE		(64u * 1024 * 1024)

struct buf {
	uint8_t		*data;		/* storage, NULL for a read-only view */
	const uint8_t	*cdata;		/* what is read: data, or the viewed bytes */
	size_t		 off;		/* read position */
	size_t		 len;		/* end of valid bytes */
	size_t		 alloc;		/* allocated size (0 for a view) */
	size_t		 max;		/* limit on len */
	int		 wipe;		/* explicit_bzero on free and realloc */
};

/* Initialise an empty growable buffer that may hold at most max bytes. */
void	buf_init(struct buf *b, size_t max);
/* Initialise b as a read-only view of len bytes at p (not copied). */
void	buf_view(struct buf *b, const void *p, size_t len);
/* Mark b as holding secrets: wiped whenever memory is released. */
void	buf_set_secret(struct buf *b);
/* Release storage (wiping it if secret); b can be reused after buf_init. */
void	buf_free(struct buf *b);
/* Drop all content, keep the storage. */
void	buf_reset(struct buf *b);

/* Bytes left to read, and a pointer to them. */
size_t		 buf_len(const struct buf *b);
const uint8_t	*buf_ptr(const struct buf *b);

/* Readers: consume from the front; on error nothing is consumed. */
int	buf_get_u8(struct buf *b, uint8_t *v);
int	buf_get_u16(struct buf *b, uint16_t *v);
int	buf_get_u32(struct buf *b, uint32_t *v);
int	buf_get_u64(struct buf *b, uint64_t *v);
int	buf_get(struct buf *b, void *out, size_t len);
int	buf_skip(struct buf *b, size_t len);
/* A u32 length then that many bytes, returned in place (valid until b changes). */
int	buf_get_string_direct(struct buf *b, const uint8_t **p, size_t *len);
/* As above, copied into a new NUL-terminated string; fails on embedded NUL. */
int	buf_get_cstring(struct buf *b, char **s, size_t maxlen);
/* Peek without consuming. */
int	buf_peek_u8(const struct buf *b, size_t off, uint8_t *v);
int	buf_peek_u32(const struct buf *b, size_t off, uint32_t *v);

/* Writers: append at the end. */
int	buf_put(struct buf *b, const void *p, size_t len);
int	buf_put_u8(struct buf *b, uint8_t v);
int	buf_put_u16(struct buf *b, uint16_t v);
int	buf_put_u32(struct buf *b, uint32_t v);
int	buf_put_u64(struct buf *b, uint64_t v);
int	buf_put_string(struct buf *b, const void *p, size_t len);
int	buf_put_cstring(struct buf *b, const char *s);
/* Append printf-formatted text (no NUL). */
int	buf_putf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Reserve len bytes at the end and return a pointer to fill them. */
int	buf_reserve(struct buf *b, size_t len, uint8_t **p);

/* Text for an error value. */
const char *buf_strerror(int r);

#endif
