/* drainrec: see drainrec.h and docs/drain.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "drainrec.h"

#define SSH_MSG_USERAUTH_REQUEST	50
#define DRAINREC_LOG_FLAGS	(DRAINREC_LOG_PASSWORD | DRAINREC_LOG_REDACTED)
#define DRAINREC_MSG_MIN_LEN	(3 * 4)		/* an empty payload */
#define DRAINREC_CHAN_MIN_LEN	(7 * 4 + 4 + 1 + 4)	/* a 1-byte type */

static int
dr_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
dr_fail(char *why, size_t whylen, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "drain state: %s", msg);
	return -1;
}

static int
dr_dir(struct buf *b, struct drainrec_dir *d)
{
	const uint8_t *p;
	size_t len;

	if (buf_get_u32(b, &d->seqnr) != 0 ||
	    buf_get_u64(b, &d->packets) != 0 ||
	    buf_get_u64(b, &d->blocks) != 0 ||
	    buf_get_string_direct(b, &p, &len) != 0 || len > DRAINREC_IV_MAX)
		return -1;
	memcpy(d->iv, p, len);
	d->iv_len = len;
	return buf_get_string_direct(b, &d->raw, &d->raw_len);
}

/*
 * A string of 1..max bytes into dst (NUL-terminated): printable ASCII
 * without space (token), or any byte but a control character (text).
 */
static int
dr_name(struct buf *b, char *dst, size_t max, int token)
{
	const uint8_t *p;
	size_t len, i;

	if (buf_get_string_direct(b, &p, &len) != 0 || len == 0 || len > max)
		return -1;
	for (i = 0; i < len; i++) {
		if (token && (p[i] < 0x21 || p[i] > 0x7e))
			return -1;
		if (!token && (p[i] < 0x20 || p[i] == 0x7f))
			return -1;
	}
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

/* The SJD2 fields after rcv_wup; the reason in why. */
static int
dr_sjd2(struct buf *b, struct drainrec *d, char *why, size_t whylen)
{
	uint32_t strict, nlog;
	size_t i;

	if (dr_name(b, d->client_version, DRAINREC_VERSION_MAX, 0) != 0 ||
	    strncmp(d->client_version, "SSH-", 4) != 0)
		return dr_fail(why, whylen, "client_version malformed");
	if (dr_name(b, d->server_version, DRAINREC_VERSION_MAX, 0) != 0 ||
	    strncmp(d->server_version, "SSH-", 4) != 0)
		return dr_fail(why, whylen, "server_version malformed");
	if (dr_name(b, d->hostkey_alg, DRAINREC_NAME_MAX, 1) != 0)
		return dr_fail(why, whylen, "hostkey_alg malformed");
	if (buf_get_u32(b, &strict) != 0 || strict > 1)
		return dr_fail(why, whylen, "strict_kex malformed");
	d->strict_kex = (int)strict;
	if (buf_get_u32(b, &nlog) != 0)
		return dr_fail(why, whylen, "nlog truncated");
	if (nlog > DRAINREC_MAX_LOG)
		return dr_fail(why, whylen, "%u log entries (at most %u)", nlog,
		    DRAINREC_MAX_LOG);
	if (nlog > buf_len(b) / DRAINREC_MSG_MIN_LEN)
		return dr_fail(why, whylen, "log truncated (%u entries "
		    "announced, %zu bytes left)", nlog, buf_len(b));
	if (nlog > 0 && (d->log = calloc(nlog, sizeof(*d->log))) == NULL)
		return dr_fail(why, whylen, "out of memory");
	for (i = 0; i < nlog; i++) {
		struct drainrec_msg *m = &d->log[i];

		if (buf_get_u32(b, &m->dir) != 0 ||
		    buf_get_u32(b, &m->flags) != 0 ||
		    buf_get_string_direct(b, &m->p, &m->len) != 0)
			return dr_fail(why, whylen, "log entry %zu truncated",
			    i);
		if (m->dir > 1)
			return dr_fail(why, whylen, "log entry %zu: direction "
			    "%u", i, m->dir);
		if ((m->flags & ~(uint32_t)DRAINREC_LOG_FLAGS) != 0)
			return dr_fail(why, whylen, "log entry %zu: unknown "
			    "flags 0x%x", i, m->flags);
		if (m->flags != 0) {
			/* A USERAUTH_REQUEST not kept: nothing or its type. */
			if (m->dir != 0 || (m->len > 0 &&
			    m->p[0] != SSH_MSG_USERAUTH_REQUEST))
				return dr_fail(why, whylen, "log entry %zu: "
				    "flags 0x%x on a message other than "
				    "USERAUTH_REQUEST", i, m->flags);
		} else if (m->len == 0)
			return dr_fail(why, whylen, "log entry %zu: empty", i);
		d->nlog = i + 1;
	}
	if (buf_len(b) != 0)
		return dr_fail(why, whylen, "%zu trailing bytes", buf_len(b));
	return 0;
}

int
drainrec_decode(const uint8_t *p, size_t len, struct drainrec *d, char *why,
    size_t whylen)
{
	struct buf b, s;
	const uint8_t *sp, *tp;
	size_t slen, tlen, i;
	uint32_t n;
	const char *what = "header";

	memset(d, 0, sizeof(*d));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	buf_view(&b, p, len);
	if (buf_get_string_direct(&b, &tp, &tlen) != 0 || tlen != 4)
		goto bad;
	if (memcmp(tp, "SJD1", 4) == 0)
		d->version = 1;
	else if (memcmp(tp, "SJD2", 4) == 0)
		d->version = 2;
	else {
		what = "magic (neither SJD1 nor SJD2)";
		goto bad;
	}
	if (buf_get_u32(&b, &d->kex_number) != 0)
		goto bad;
	what = "session state";
	if (buf_get_string_direct(&b, &sp, &slen) != 0)
		goto bad;
	buf_view(&s, sp, slen);
	if (buf_get_u64(&s, &d->stop_us) != 0 ||
	    dr_dir(&s, &d->dir[0]) != 0 || dr_dir(&s, &d->dir[1]) != 0 ||
	    buf_get_u32(&s, &n) != 0 || n > DRAINREC_MAX_CHANS ||
	    n > buf_len(&s) / DRAINREC_CHAN_MIN_LEN)
		goto bad;
	what = "channels";
	if ((d->chans = calloc(n ? n : 1, sizeof(*d->chans))) == NULL)
		goto bad;
	for (i = 0; i < n; i++) {
		struct drainrec_chan *c = &d->chans[i];

		if (buf_get_u32(&s, &c->self) != 0 ||
		    buf_get_u32(&s, &c->remote_id) != 0 ||
		    buf_get_string_direct(&s, &tp, &tlen) != 0 || tlen == 0 ||
		    tlen >= sizeof(c->type) ||
		    buf_get_u32(&s, &c->local_window) != 0 ||
		    buf_get_u32(&s, &c->remote_window) != 0 ||
		    buf_get_u32(&s, &c->local_maxpacket) != 0 ||
		    buf_get_u32(&s, &c->remote_maxpacket) != 0 ||
		    buf_get_u32(&s, &c->flags) != 0)
			goto bad;
		memcpy(c->type, tp, tlen);
		c->type[tlen] = '\0';
		if (memchr(c->type, '\0', tlen) != NULL)
			goto bad;
	}
	d->nchans = n;
	if (buf_len(&s) != 0)
		goto bad;
	what = "TCP state";
	if (buf_get_u32(&b, &d->snd_una) != 0 ||
	    buf_get_u32(&b, &d->rcv_nxt) != 0 ||
	    buf_get_string_direct(&b, &d->sendq, &d->sendq_len) != 0 ||
	    buf_get_string_direct(&b, &d->recvq, &d->recvq_len) != 0 ||
	    buf_get_u32(&b, &d->mss) != 0 ||
	    buf_get_u8(&b, &d->tcp_flags) != 0 ||
	    buf_get_u8(&b, &d->snd_wscale) != 0 ||
	    buf_get_u8(&b, &d->rcv_wscale) != 0 ||
	    buf_get_u32(&b, &d->tsval) != 0 ||
	    buf_get_u32(&b, &d->snd_wl1) != 0 ||
	    buf_get_u32(&b, &d->snd_wnd) != 0 ||
	    buf_get_u32(&b, &d->max_window) != 0 ||
	    buf_get_u32(&b, &d->rcv_wnd) != 0 ||
	    buf_get_u32(&b, &d->rcv_wup) != 0 ||
	    (d->version == 1 && buf_len(&b) != 0))
		goto bad;
	if (d->mss == 0 || d->mss > 65535 || d->snd_wscale > 14 ||
	    d->rcv_wscale > 14) {
		what = "TCP options";
		goto bad;
	}
	if (d->version == 2 && dr_sjd2(&b, d, why, whylen) != 0) {
		drainrec_free(d);
		return -1;
	}
	return 0;
 bad:
	dr_fail(why, whylen, "%s malformed", what);
	drainrec_free(d);
	return -1;
}

void
drainrec_free(struct drainrec *d)
{
	free(d->chans);
	d->chans = NULL;
	d->nchans = 0;
	free(d->log);
	d->log = NULL;
	d->nlog = 0;
}

static int
dr_put_dir(struct buf *b, const struct drainrec_dir *d)
{
	if (d->iv_len > DRAINREC_IV_MAX)
		return -1;
	return buf_put_u32(b, d->seqnr) != 0 ||
	    buf_put_u64(b, d->packets) != 0 ||
	    buf_put_u64(b, d->blocks) != 0 ||
	    buf_put_string(b, d->iv, d->iv_len) != 0 ||
	    buf_put_string(b, d->raw, d->raw_len) != 0 ? -1 : 0;
}

int
drainrec_encode(const struct drainrec *d, struct buf *out)
{
	struct buf s;
	size_t i;
	int r = -1;

	if ((d->version != 1 && d->version != 2) ||
	    d->nchans > DRAINREC_MAX_CHANS || d->nlog > DRAINREC_MAX_LOG)
		return -1;
	buf_init(&s, BUF_MAX_SIZE);
	buf_set_secret(&s);
	if (buf_put_u64(&s, d->stop_us) != 0 ||
	    dr_put_dir(&s, &d->dir[0]) != 0 ||
	    dr_put_dir(&s, &d->dir[1]) != 0 ||
	    buf_put_u32(&s, (uint32_t)d->nchans) != 0)
		goto out;
	for (i = 0; i < d->nchans; i++) {
		const struct drainrec_chan *c = &d->chans[i];

		if (buf_put_u32(&s, c->self) != 0 ||
		    buf_put_u32(&s, c->remote_id) != 0 ||
		    buf_put_cstring(&s, c->type) != 0 ||
		    buf_put_u32(&s, c->local_window) != 0 ||
		    buf_put_u32(&s, c->remote_window) != 0 ||
		    buf_put_u32(&s, c->local_maxpacket) != 0 ||
		    buf_put_u32(&s, c->remote_maxpacket) != 0 ||
		    buf_put_u32(&s, c->flags) != 0)
			goto out;
	}
	if (buf_put_string(out, d->version == 2 ? "SJD2" : "SJD1", 4) != 0 ||
	    buf_put_u32(out, d->kex_number) != 0 ||
	    buf_put_string(out, buf_ptr(&s), buf_len(&s)) != 0 ||
	    buf_put_u32(out, d->snd_una) != 0 ||
	    buf_put_u32(out, d->rcv_nxt) != 0 ||
	    buf_put_string(out, d->sendq, d->sendq_len) != 0 ||
	    buf_put_string(out, d->recvq, d->recvq_len) != 0 ||
	    buf_put_u32(out, d->mss) != 0 ||
	    buf_put_u8(out, d->tcp_flags) != 0 ||
	    buf_put_u8(out, d->snd_wscale) != 0 ||
	    buf_put_u8(out, d->rcv_wscale) != 0 ||
	    buf_put_u32(out, d->tsval) != 0 ||
	    buf_put_u32(out, d->snd_wl1) != 0 ||
	    buf_put_u32(out, d->snd_wnd) != 0 ||
	    buf_put_u32(out, d->max_window) != 0 ||
	    buf_put_u32(out, d->rcv_wnd) != 0 ||
	    buf_put_u32(out, d->rcv_wup) != 0)
		goto out;
	if (d->version == 2) {
		if (buf_put_cstring(out, d->client_version) != 0 ||
		    buf_put_cstring(out, d->server_version) != 0 ||
		    buf_put_cstring(out, d->hostkey_alg) != 0 ||
		    buf_put_u32(out, d->strict_kex ? 1 : 0) != 0 ||
		    buf_put_u32(out, (uint32_t)d->nlog) != 0)
			goto out;
		for (i = 0; i < d->nlog; i++)
			if (buf_put_u32(out, d->log[i].dir) != 0 ||
			    buf_put_u32(out, d->log[i].flags) != 0 ||
			    buf_put_string(out, d->log[i].p,
			    d->log[i].len) != 0)
				goto out;
	}
	r = 0;
 out:
	buf_free(&s);
	return r;
}
