/* drainrec: see drainrec.h and docs/drain.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "drainrec.h"

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
	buf_view(&b, p, len);
	if (buf_get_string_direct(&b, &tp, &tlen) != 0 || tlen != 4 ||
	    memcmp(tp, "SJD1", 4) != 0 || buf_get_u32(&b, &d->kex_number) != 0)
		goto bad;
	what = "session state";
	if (buf_get_string_direct(&b, &sp, &slen) != 0)
		goto bad;
	buf_view(&s, sp, slen);
	if (buf_get_u64(&s, &d->stop_us) != 0 ||
	    dr_dir(&s, &d->dir[0]) != 0 || dr_dir(&s, &d->dir[1]) != 0 ||
	    buf_get_u32(&s, &n) != 0 || n > DRAINREC_MAX_CHANS)
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
	    buf_get_u32(&b, &d->rcv_wup) != 0 || buf_len(&b) != 0)
		goto bad;
	if (d->mss == 0 || d->mss > 65535 || d->snd_wscale > 14 ||
	    d->rcv_wscale > 14) {
		what = "TCP options";
		goto bad;
	}
	return 0;
 bad:
	snprintf(why, whylen, "drain state: %s malformed", what);
	drainrec_free(d);
	return -1;
}

void
drainrec_free(struct drainrec *d)
{
	free(d->chans);
	d->chans = NULL;
	d->nchans = 0;
}
