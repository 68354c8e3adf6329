/*
 * rpkg: the recovery package (SJRP1) and the import (SJRI1) of one SSH
 * connection, and the plaintext packets of the control channel
 * (docs/recovery-format.md).  Every byte decoded goes through buf; every
 * field is checked, and a rejection names the field.  Packages hold keys and
 * the setup log: rpkg_free() wipes them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rpkg.h"

#define RPKG_MAGIC		"SJRP1"
#define RPKG_IMPORT_MAGIC	"SJRI1"
#define RPKG_MAGIC_LEN		5

/* Bits a field may hold. */
#define RPKG_IMPORT_FLAGS	RPKG_RERUN_EXEC
#define RPKG_CHAN_FLAGS		(RPKG_CHAN_BY_SERVER | RPKG_CHAN_EOF_C2S | \
				    RPKG_CHAN_EOF_S2C)
#define RPKG_LOG_PASSWORD	0x01	/* SSHTRACK_LOG_PASSWORD */
#define RPKG_LOG_REDACTED	0x02	/* SSHTRACK_LOG_REDACTED */
#define RPKG_LOG_FLAGS		(RPKG_LOG_PASSWORD | RPKG_LOG_REDACTED)

/* Smallest encodings, to refuse counts the bytes left cannot hold. */
#define RPKG_CHAN_MIN_LEN	(6 * 4 + 4 + 1 + 4)	/* a 1-byte type */
#define RPKG_MSG_MIN_LEN	(3 * 4)			/* an empty payload */

#define SSH_MSG_USERAUTH_REQUEST	50

/* Character classes of the names and texts a package carries. */
#define CHARS_TOKEN		0	/* printable ASCII, no space */
#define CHARS_TEXT		1	/* no control character */

struct dec {
	struct buf	 b;
	const char	*ctx;		/* "package", "import" */
	char		*why;
	size_t		 whylen;
};

static int
dec_fail(struct dec *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
dec_fail(struct dec *d, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->why != NULL && d->whylen > 0)
		snprintf(d->why, d->whylen, "%s: %s", d->ctx, msg);
	return -1;
}

static int
chars_ok(const uint8_t *p, size_t len, int class)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (class == CHARS_TOKEN && (p[i] < 0x21 || p[i] > 0x7e))
			return 0;
		if (class == CHARS_TEXT && (p[i] < 0x20 || p[i] == 0x7f))
			return 0;
	}
	return 1;
}

static int
get_u32(struct dec *d, const char *field, uint32_t *v)
{
	if (buf_get_u32(&d->b, v) != 0)
		return dec_fail(d, "%s: truncated", field);
	return 0;
}

static int
get_u64(struct dec *d, const char *field, uint64_t *v)
{
	if (buf_get_u64(&d->b, v) != 0)
		return dec_fail(d, "%s: truncated", field);
	return 0;
}

/* A string of at most max bytes into dst; *lenp its length. */
static int
get_bytes(struct dec *d, const char *field, uint8_t *dst, size_t max,
    size_t *lenp, int may_be_empty)
{
	const uint8_t *p;
	size_t len;

	if (buf_get_string_direct(&d->b, &p, &len) != 0)
		return dec_fail(d, "%s: truncated", field);
	if (len > max)
		return dec_fail(d, "%s: %zu bytes (at most %zu)", field, len,
		    max);
	if (len == 0 && !may_be_empty)
		return dec_fail(d, "%s: empty", field);
	if (len > 0)
		memcpy(dst, p, len);
	*lenp = len;
	return 0;
}

/* A name or text of at most dstsize - 1 bytes, NUL-terminated into dst. */
static int
get_name(struct dec *d, const char *field, char *dst, size_t dstsize,
    int class, int may_be_empty)
{
	size_t len;

	if (get_bytes(d, field, (uint8_t *)dst, dstsize - 1, &len,
	    may_be_empty) != 0)
		return -1;
	dst[len] = '\0';
	if (memchr(dst, '\0', len) != NULL || !chars_ok((uint8_t *)dst, len,
	    class))
		return dec_fail(d, "%s: %s", field, class == CHARS_TOKEN ?
		    "not a name (control character, space or non-ASCII "
		    "byte)" : "control character");
	return 0;
}

static int
get_magic(struct dec *d, const char *magic)
{
	const uint8_t *p;
	size_t len;

	if (buf_get_string_direct(&d->b, &p, &len) != 0)
		return dec_fail(d, "magic: truncated");
	if (len != RPKG_MAGIC_LEN || memcmp(p, magic, len) != 0)
		return dec_fail(d, "not an %s encoding", magic);
	return 0;
}

static int
version_ok(const char *v)
{
	return strncmp(v, "SSH-", 4) == 0;
}

static int
decode_dir(struct dec *d, const char *name, struct rpkg_dir *dir)
{
	char field[32];

#define FIELD(f)	(snprintf(field, sizeof(field), "%s %s", name, f), field)
	if (get_name(d, FIELD("cipher"), dir->cipher, sizeof(dir->cipher),
	    CHARS_TOKEN, 0) != 0 ||
	    get_bytes(d, FIELD("key"), dir->key, sizeof(dir->key),
	    &dir->key_len, 0) != 0 ||
	    get_bytes(d, FIELD("iv"), dir->iv, sizeof(dir->iv),
	    &dir->iv_len, 1) != 0 ||
	    get_name(d, FIELD("mac"), dir->mac, sizeof(dir->mac),
	    CHARS_TOKEN, 1) != 0 ||
	    get_bytes(d, FIELD("mac_key"), dir->mac_key,
	    sizeof(dir->mac_key), &dir->mac_key_len, 1) != 0 ||
	    get_u32(d, FIELD("seqnr"), &dir->seqnr) != 0 ||
	    get_u64(d, FIELD("packets"), &dir->packets) != 0 ||
	    get_u64(d, FIELD("blocks"), &dir->blocks) != 0)
		return -1;
	if (dir->mac[0] == '\0' && dir->mac_key_len != 0)
		return dec_fail(d, "%s: a mac_key without a mac", name);
#undef FIELD
	return 0;
}

static int
decode_chan(struct dec *d, struct rpkg *k, size_t n)
{
	struct rpkg_chan *ch = &k->chans[n];
	char field[48];
	size_t i;

#define FIELD(f)	(snprintf(field, sizeof(field), "channel %zu %s", n, f), \
			    field)
	if (get_u32(d, FIELD("id_client"), &ch->id_client) != 0 ||
	    get_u32(d, FIELD("id_server"), &ch->id_server) != 0 ||
	    get_name(d, FIELD("type"), ch->type, sizeof(ch->type),
	    CHARS_TOKEN, 0) != 0 ||
	    get_u32(d, FIELD("window_c2s"), &ch->window_c2s) != 0 ||
	    get_u32(d, FIELD("window_s2c"), &ch->window_s2c) != 0 ||
	    get_u32(d, FIELD("maxpacket_c2s"), &ch->maxpacket_c2s) != 0 ||
	    get_u32(d, FIELD("maxpacket_s2c"), &ch->maxpacket_s2c) != 0 ||
	    get_u32(d, FIELD("flags"), &ch->flags) != 0)
		return -1;
#undef FIELD
	if ((ch->flags & ~(uint32_t)RPKG_CHAN_FLAGS) != 0)
		return dec_fail(d, "channel %zu flags: unknown bits 0x%x", n,
		    ch->flags & ~(uint32_t)RPKG_CHAN_FLAGS);
	for (i = 0; i < n; i++) {
		if (k->chans[i].id_client == ch->id_client)
			return dec_fail(d, "channels %zu and %zu: same "
			    "client id %u", i, n, ch->id_client);
		if (k->chans[i].id_server == ch->id_server)
			return dec_fail(d, "channels %zu and %zu: same "
			    "server id %u", i, n, ch->id_server);
	}
	return 0;
}

/* The import's fields, from d (whose bytes are exactly the import). */
static int
decode_import(struct dec *d, struct rpkg *k)
{
	uint32_t strict, nchans;
	size_t i;

	if (get_magic(d, RPKG_IMPORT_MAGIC) != 0 ||
	    get_name(d, "client_version", k->client_version,
	    sizeof(k->client_version), CHARS_TEXT, 0) != 0 ||
	    get_name(d, "server_version", k->server_version,
	    sizeof(k->server_version), CHARS_TEXT, 0) != 0)
		return -1;
	if (!version_ok(k->client_version))
		return dec_fail(d, "client_version: does not start with SSH-");
	if (!version_ok(k->server_version))
		return dec_fail(d, "server_version: does not start with SSH-");
	if (get_bytes(d, "session_id", k->session_id, sizeof(k->session_id),
	    &k->session_id_len, 0) != 0 ||
	    get_name(d, "kex_alg", k->kex_alg, sizeof(k->kex_alg),
	    CHARS_TOKEN, 0) != 0 ||
	    get_name(d, "hostkey_alg", k->hostkey_alg,
	    sizeof(k->hostkey_alg), CHARS_TOKEN, 0) != 0 ||
	    get_u32(d, "strict_kex", &strict) != 0)
		return -1;
	if (strict > 1)
		return dec_fail(d, "strict_kex: %u (0 or 1)", strict);
	k->strict_kex = (int)strict;
	if (get_name(d, "user", k->user, sizeof(k->user), CHARS_TEXT,
	    0) != 0 ||
	    get_name(d, "auth_method", k->auth_method,
	    sizeof(k->auth_method), CHARS_TOKEN, 0) != 0 ||
	    get_u32(d, "flags", &k->flags) != 0)
		return -1;
	if ((k->flags & ~(uint32_t)RPKG_IMPORT_FLAGS) != 0)
		return dec_fail(d, "flags: unknown bits 0x%x",
		    k->flags & ~(uint32_t)RPKG_IMPORT_FLAGS);
	if (get_name(d, "notice", k->notice, sizeof(k->notice), CHARS_TEXT,
	    1) != 0 ||
	    decode_dir(d, "c2s", &k->dir[RPKG_C2S]) != 0 ||
	    decode_dir(d, "s2c", &k->dir[RPKG_S2C]) != 0 ||
	    get_u32(d, "nchans", &nchans) != 0)
		return -1;
	if (nchans > RPKG_MAX_CHANS)
		return dec_fail(d, "%u channels (at most %u)", nchans,
		    RPKG_MAX_CHANS);
	if (nchans > buf_len(&d->b) / RPKG_CHAN_MIN_LEN)
		return dec_fail(d, "channels: truncated (%u announced, %zu "
		    "bytes left)", nchans, buf_len(&d->b));
	if (nchans > 0 &&
	    (k->chans = calloc(nchans, sizeof(*k->chans))) == NULL)
		return dec_fail(d, "out of memory");
	for (i = 0; i < nchans; i++) {
		k->nchans = i + 1;
		if (decode_chan(d, k, i) != 0)
			return -1;
	}
	if (buf_len(&d->b) != 0)
		return dec_fail(d, "%zu trailing bytes", buf_len(&d->b));
	return 0;
}

static int
decode_msg(struct dec *d, struct rpkg *k, size_t n)
{
	struct rpkg_msg *m = &k->log[n];
	const uint8_t *p;
	size_t len;

	if (buf_get_u32(&d->b, &m->dir) != 0 ||
	    buf_get_u32(&d->b, &m->flags) != 0 ||
	    buf_get_string_direct(&d->b, &p, &len) != 0)
		return dec_fail(d, "log entry %zu: truncated", n);
	if (m->dir != RPKG_C2S && m->dir != RPKG_S2C)
		return dec_fail(d, "log entry %zu: direction %u (0 or 1)", n,
		    m->dir);
	if ((m->flags & ~(uint32_t)RPKG_LOG_FLAGS) != 0)
		return dec_fail(d, "log entry %zu: unknown flags 0x%x", n,
		    m->flags);
	if (m->flags != 0) {
		/* A USERAUTH_REQUEST not kept: nothing, or its type alone. */
		if (m->dir != RPKG_C2S || (len > 0 &&
		    p[0] != SSH_MSG_USERAUTH_REQUEST))
			return dec_fail(d, "log entry %zu: flags 0x%x on a "
			    "message other than USERAUTH_REQUEST", n,
			    m->flags);
	} else if (len == 0)
		return dec_fail(d, "log entry %zu: empty payload", n);
	if (len > 0) {
		if ((m->p = malloc(len)) == NULL)
			return dec_fail(d, "out of memory");
		memcpy(m->p, p, len);
		m->len = len;
	}
	return 0;
}

static struct rpkg *
decode_start(struct dec *d, const char *ctx, const uint8_t *p, size_t len,
    char *why, size_t whylen)
{
	struct rpkg *k;

	buf_view(&d->b, p, len);
	d->ctx = ctx;
	d->why = why;
	d->whylen = whylen;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((k = rpkg_new()) == NULL)
		dec_fail(d, "out of memory");
	return k;
}

int
rpkg_decode_import(const uint8_t *p, size_t len, struct rpkg **kp,
    char *why, size_t whylen)
{
	struct dec d;
	struct rpkg *k;

	*kp = NULL;
	if ((k = decode_start(&d, "import", p, len, why, whylen)) == NULL)
		return -1;
	if (decode_import(&d, k) != 0) {
		rpkg_free(k);
		return -1;
	}
	*kp = k;
	return 0;
}

int
rpkg_decode(const uint8_t *p, size_t len, struct rpkg **kp, char *why,
    size_t whylen)
{
	struct dec d, di;
	const uint8_t *ip;
	struct rpkg *k;
	uint32_t nlog;
	size_t ilen, i;

	*kp = NULL;
	if ((k = decode_start(&d, "package", p, len, why, whylen)) == NULL)
		return -1;
	if (len > RPKG_MAX) {
		dec_fail(&d, "%zu bytes (at most %u)", len, RPKG_MAX);
		goto fail;
	}
	if (get_magic(&d, RPKG_MAGIC) != 0)
		goto fail;
	if (buf_get_string_direct(&d.b, &ip, &ilen) != 0) {
		dec_fail(&d, "import: truncated");
		goto fail;
	}
	buf_view(&di.b, ip, ilen);
	di.ctx = "import";
	di.why = why;
	di.whylen = whylen;
	if (decode_import(&di, k) != 0)
		goto fail;
	if (get_u32(&d, "nlog", &nlog) != 0)
		goto fail;
	if (nlog > RPKG_MAX_LOG) {
		dec_fail(&d, "%u log entries (at most %u)", nlog,
		    RPKG_MAX_LOG);
		goto fail;
	}
	if (nlog > buf_len(&d.b) / RPKG_MSG_MIN_LEN) {
		dec_fail(&d, "log: truncated (%u entries announced, %zu "
		    "bytes left)", nlog, buf_len(&d.b));
		goto fail;
	}
	if (nlog > 0 && (k->log = calloc(nlog, sizeof(*k->log))) == NULL) {
		dec_fail(&d, "out of memory");
		goto fail;
	}
	for (i = 0; i < nlog; i++) {
		k->nlog = i + 1;
		if (decode_msg(&d, k, i) != 0)
			goto fail;
	}
	if (buf_len(&d.b) != 0) {
		dec_fail(&d, "%zu trailing bytes", buf_len(&d.b));
		goto fail;
	}
	*kp = k;
	return 0;
 fail:
	rpkg_free(k);
	return -1;
}

/* Encoding */

static int
put_dir(struct buf *out, const struct rpkg_dir *dir)
{
	int r;

	if (dir->key_len > sizeof(dir->key) || dir->iv_len > sizeof(dir->iv) ||
	    dir->mac_key_len > sizeof(dir->mac_key))
		return BUF_ERR_FORMAT;
	if ((r = buf_put_cstring(out, dir->cipher)) != 0 ||
	    (r = buf_put_string(out, dir->key, dir->key_len)) != 0 ||
	    (r = buf_put_string(out, dir->iv, dir->iv_len)) != 0 ||
	    (r = buf_put_cstring(out, dir->mac)) != 0 ||
	    (r = buf_put_string(out, dir->mac_key, dir->mac_key_len)) != 0 ||
	    (r = buf_put_u32(out, dir->seqnr)) != 0 ||
	    (r = buf_put_u64(out, dir->packets)) != 0 ||
	    (r = buf_put_u64(out, dir->blocks)) != 0)
		return r;
	return 0;
}

int
rpkg_encode_import(const struct rpkg *k, struct buf *out)
{
	const struct rpkg_chan *ch;
	size_t i;
	int r;

	if (k->session_id_len > sizeof(k->session_id) ||
	    k->nchans > RPKG_MAX_CHANS)
		return BUF_ERR_FORMAT;
	buf_set_secret(out);
	if ((r = buf_put_cstring(out, RPKG_IMPORT_MAGIC)) != 0 ||
	    (r = buf_put_cstring(out, k->client_version)) != 0 ||
	    (r = buf_put_cstring(out, k->server_version)) != 0 ||
	    (r = buf_put_string(out, k->session_id,
	    k->session_id_len)) != 0 ||
	    (r = buf_put_cstring(out, k->kex_alg)) != 0 ||
	    (r = buf_put_cstring(out, k->hostkey_alg)) != 0 ||
	    (r = buf_put_u32(out, k->strict_kex ? 1 : 0)) != 0 ||
	    (r = buf_put_cstring(out, k->user)) != 0 ||
	    (r = buf_put_cstring(out, k->auth_method)) != 0 ||
	    (r = buf_put_u32(out, k->flags)) != 0 ||
	    (r = buf_put_cstring(out, k->notice)) != 0 ||
	    (r = put_dir(out, &k->dir[RPKG_C2S])) != 0 ||
	    (r = put_dir(out, &k->dir[RPKG_S2C])) != 0 ||
	    (r = buf_put_u32(out, (uint32_t)k->nchans)) != 0)
		return r;
	for (i = 0; i < k->nchans; i++) {
		ch = &k->chans[i];
		if ((r = buf_put_u32(out, ch->id_client)) != 0 ||
		    (r = buf_put_u32(out, ch->id_server)) != 0 ||
		    (r = buf_put_cstring(out, ch->type)) != 0 ||
		    (r = buf_put_u32(out, ch->window_c2s)) != 0 ||
		    (r = buf_put_u32(out, ch->window_s2c)) != 0 ||
		    (r = buf_put_u32(out, ch->maxpacket_c2s)) != 0 ||
		    (r = buf_put_u32(out, ch->maxpacket_s2c)) != 0 ||
		    (r = buf_put_u32(out, ch->flags)) != 0)
			return r;
	}
	return 0;
}

int
rpkg_encode(const struct rpkg *k, struct buf *out)
{
	struct buf import;
	size_t i;
	int r;

	if (k->nlog > RPKG_MAX_LOG)
		return BUF_ERR_FORMAT;
	buf_set_secret(out);
	buf_init(&import, RPKG_MAX);
	buf_set_secret(&import);
	if ((r = rpkg_encode_import(k, &import)) != 0 ||
	    (r = buf_put_cstring(out, RPKG_MAGIC)) != 0 ||
	    (r = buf_put_string(out, buf_ptr(&import),
	    buf_len(&import))) != 0 ||
	    (r = buf_put_u32(out, (uint32_t)k->nlog)) != 0)
		goto out;
	for (i = 0; i < k->nlog; i++) {
		if ((r = buf_put_u32(out, k->log[i].dir)) != 0 ||
		    (r = buf_put_u32(out, k->log[i].flags)) != 0 ||
		    (r = buf_put_string(out, k->log[i].p,
		    k->log[i].len)) != 0)
			goto out;
	}
 out:
	buf_free(&import);
	return r;
}

/* Building */

struct rpkg *
rpkg_new(void)
{
	return calloc(1, sizeof(struct rpkg));
}

int
rpkg_add_chan(struct rpkg *k, const struct rpkg_chan *ch)
{
	struct rpkg_chan *n;

	if (k->nchans >= RPKG_MAX_CHANS)
		return -1;
	if ((n = reallocarray(k->chans, k->nchans + 1, sizeof(*n))) == NULL)
		return -1;
	k->chans = n;
	k->chans[k->nchans++] = *ch;
	return 0;
}

int
rpkg_add_msg(struct rpkg *k, uint32_t dir, uint32_t flags,
    const uint8_t *p, size_t len)
{
	struct rpkg_msg *n;
	uint8_t *copy = NULL;

	if (k->nlog >= RPKG_MAX_LOG || (dir != RPKG_C2S && dir != RPKG_S2C) ||
	    len > RPKG_MAX)
		return -1;
	if (len > 0) {
		if ((copy = malloc(len)) == NULL)
			return -1;
		memcpy(copy, p, len);
	}
	if ((n = reallocarray(k->log, k->nlog + 1, sizeof(*n))) == NULL) {
		free(copy);
		return -1;
	}
	k->log = n;
	k->log[k->nlog].dir = dir;
	k->log[k->nlog].flags = flags;
	k->log[k->nlog].p = copy;
	k->log[k->nlog].len = len;
	k->nlog++;
	return 0;
}

void
rpkg_free(struct rpkg *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->nlog; i++) {
		if (k->log[i].p != NULL) {
			explicit_bzero(k->log[i].p, k->log[i].len);
			free(k->log[i].p);
		}
	}
	if (k->log != NULL) {
		explicit_bzero(k->log, k->nlog * sizeof(*k->log));
		free(k->log);
	}
	if (k->chans != NULL) {
		explicit_bzero(k->chans, k->nchans * sizeof(*k->chans));
		free(k->chans);
	}
	explicit_bzero(k, sizeof(*k));
	free(k);
}

/* Plaintext packets */

int
rpkg_packet_put(struct buf *out, const uint8_t *payload, size_t len)
{
	uint8_t *pad;
	size_t padlen, plen;
	int r;

	if (len > RPKG_PACKET_MAX)
		return BUF_ERR_TOOBIG;
	/* 4 + 1 + len + padlen is a multiple of 8 with padlen >= 4. */
	padlen = 8 - (5 + len) % 8;
	if (padlen < 4)
		padlen += 8;
	plen = 1 + len + padlen;
	if (plen > RPKG_PACKET_MAX)
		return BUF_ERR_TOOBIG;
	if ((r = buf_put_u32(out, (uint32_t)plen)) != 0 ||
	    (r = buf_put_u8(out, (uint8_t)padlen)) != 0 ||
	    (r = buf_put(out, payload, len)) != 0 ||
	    (r = buf_reserve(out, padlen, &pad)) != 0)
		return r;
	memset(pad, 0, padlen);
	return 0;
}

int
rpkg_packet_get(struct buf *in, const uint8_t **p, size_t *len, char *why,
    size_t whylen)
{
	uint32_t plen;
	uint8_t padlen;

	if (buf_peek_u32(in, 0, &plen) != 0)
		return BUF_ERR_SHORT;
	if (plen > RPKG_PACKET_MAX) {
		snprintf(why, whylen, "packet_length %u (at most %u)", plen,
		    RPKG_PACKET_MAX);
		return BUF_ERR_FORMAT;
	}
	if ((4 + (size_t)plen) % 8 != 0) {
		snprintf(why, whylen, "packet_length %u: the packet is not "
		    "a multiple of 8 bytes", plen);
		return BUF_ERR_FORMAT;
	}
	if (buf_len(in) < 4 + (size_t)plen)
		return BUF_ERR_SHORT;
	(void)buf_peek_u8(in, 4, &padlen);
	if (padlen < 4) {
		snprintf(why, whylen, "padding of %u bytes (at least 4)",
		    padlen);
		return BUF_ERR_FORMAT;
	}
	if ((size_t)padlen + 1 >= plen) {
		snprintf(why, whylen, "packet_length %u, padding %u: no "
		    "payload", plen, padlen);
		return BUF_ERR_FORMAT;
	}
	*p = buf_ptr(in) + 5;
	*len = plen - 1 - padlen;
	(void)buf_skip(in, 4 + (size_t)plen);
	return 0;
}

const char *
rpkg_msg_name(uint8_t type, char *tmp, size_t tmplen)
{
	static const struct {
		uint8_t		 type;
		const char	*name;
	} names[] = {
		{ 1, "DISCONNECT" }, { 2, "IGNORE" }, { 3, "UNIMPLEMENTED" },
		{ 4, "DEBUG" }, { 5, "SERVICE_REQUEST" },
		{ 6, "SERVICE_ACCEPT" }, { 7, "EXT_INFO" },
		{ 20, "KEXINIT" }, { 21, "NEWKEYS" },
		{ 50, "USERAUTH_REQUEST" }, { 51, "USERAUTH_FAILURE" },
		{ 52, "USERAUTH_SUCCESS" }, { 53, "USERAUTH_BANNER" },
		{ 60, "USERAUTH_PK_OK" }, { 61, "USERAUTH_INFO_RESPONSE" },
		{ 80, "GLOBAL_REQUEST" }, { 81, "REQUEST_SUCCESS" },
		{ 82, "REQUEST_FAILURE" }, { 90, "CHANNEL_OPEN" },
		{ 91, "CHANNEL_OPEN_CONFIRMATION" },
		{ 92, "CHANNEL_OPEN_FAILURE" },
		{ 93, "CHANNEL_WINDOW_ADJUST" }, { 94, "CHANNEL_DATA" },
		{ 95, "CHANNEL_EXTENDED_DATA" }, { 96, "CHANNEL_EOF" },
		{ 97, "CHANNEL_CLOSE" }, { 98, "CHANNEL_REQUEST" },
		{ 99, "CHANNEL_SUCCESS" }, { 100, "CHANNEL_FAILURE" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(tmp, tmplen, "message %u", type);
	return tmp;
}
