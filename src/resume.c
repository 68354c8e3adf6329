/*
 * resume: saving and restoring the trackers' state across restarts (see
 * resume.h).  Rows are named by server and 4-tuple.  The setup log is
 * sealed (ChaCha20-Poly1305, random nonce) under a key derived from the
 * recovery private key, bound to the row's name so that a log cannot be
 * moved to another connection.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resume.h"

/* A stream moved this far since its reference was saved: save it again. */
#define RESUME_REF_STEP		(256ULL << 20)
/* Sealed setup logs: the tracker's log is bounded far below this. */
#define RESUME_LOG_MAX		(4u << 20)

struct resume {
	struct store		*store;
	const struct conf	*conf;
	int			 have_key;
	uint8_t			 key[SEAL_LOCAL_KEY_LEN];
	int			 batch;
	size_t			 saved, failed;	/* in this batch */
};

/* A row's name in text form, and the strings it points to. */
struct resume_name {
	struct store_conn_key	 key;
	char			 cli[INET6_ADDRSTRLEN];
	char			 srv[INET6_ADDRSTRLEN];
};

struct resume *
resume_new(struct store *st, const struct conf *c,
    const struct seal_key *recovery)
{
	struct resume *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->store = st;
	r->conf = c;
	if (recovery != NULL && seal_local_key(recovery, RESUME_LOG_LABEL,
	    r->key) == SEAL_OK)
		r->have_key = 1;
	else
		log_warn("resume: no recovery key: setup logs are not saved, "
		    "so no connection is protectable after a restart");
	return r;
}

void
resume_set_conf(struct resume *r, const struct conf *c)
{
	if (r != NULL)
		r->conf = c;
}

void
resume_free(struct resume *r)
{
	if (r == NULL)
		return;
	explicit_bzero(r, sizeof(*r));
	free(r);
}

static void
resume_name(struct resume *r, size_t server, const struct tcptrack_conn *c,
    struct resume_name *n)
{
	memset(n, 0, sizeof(*n));
	if (inet_ntop(c->client.family, c->client.a, n->cli,
	    sizeof(n->cli)) == NULL)
		n->cli[0] = '\0';
	if (inet_ntop(c->server.family, c->server.a, n->srv,
	    sizeof(n->srv)) == NULL)
		n->srv[0] = '\0';
	n->key.server = r->conf->servers[server].name;
	n->key.family = c->client.family == AF_INET6 ? 6 : 4;
	n->key.client_addr = n->cli;
	n->key.client_port = c->cport;
	n->key.server_addr = n->srv;
	n->key.server_port = c->sport;
}

/* What the sealed log is bound to: the row's name. */
static void
resume_aad(const struct store_conn_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%s|%s|%d|%s|%u|%s|%u", RESUME_LOG_LABEL,
	    k->server, k->family, k->client_addr, k->client_port,
	    k->server_addr, k->server_port);
}

void
resume_begin(struct resume *r)
{
	r->saved = r->failed = 0;
	r->batch = store_batch_begin(r->store) == 0;
}

/* Saves run every quarter second: a full disk says so every 10 s. */
static struct log_ratelimit resume_rl = LOG_RATELIMIT_INIT(10);

void
resume_end(struct resume *r)
{
	if (r->batch)
		(void)store_batch_end(r->store);
	r->batch = 0;
	if (r->failed > 0)
		log_limited(&resume_rl, LOG_WARNING, "resume: %zu connections "
		    "not saved (state file)", r->failed);
}

static int
resume_save_tcp(struct resume *r, const struct resume_name *n,
    struct tcptrack_conn *c)
{
	struct tcptrack_handshake hs;
	struct store_tcp_resume t;
	int i;

	if (tcptrack_handshake(c, &hs) != 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t.key = n->key;
	for (i = 0; i < 2; i++) {
		t.isn[i] = hs.isn[i];
		t.mss[i] = hs.has_mss[i] ? hs.mss[i] : -1;
		t.wscale[i] = hs.has_wscale ? hs.wscale[i] : -1;
		t.ref_off[i] = hs.ref_off[i];
	}
	t.sack = hs.sackok;
	t.timestamps = hs.ts;
	t.created_us = t.updated_us = store_now_us();
	if (store_tcp_resume_put(r->store, &t) != 0)
		return -1;
	c->saved = 1;
	c->saved_off[0] = hs.ref_off[0];
	c->saved_off[1] = hs.ref_off[1];
	return 0;
}

static int
resume_save_refs(struct resume *r, const struct resume_name *n,
    struct tcptrack_conn *c)
{
	uint64_t ref[2];
	int i;

	for (i = 0; i < 2; i++)
		ref[i] = c->dir[i].resume_pending ? c->saved_off[i] :
		    c->dir[i].delivered;
	if (store_tcp_resume_refs(r->store, &n->key, ref) != 0)
		return -1;
	c->saved_off[0] = ref[0];
	c->saved_off[1] = ref[1];
	return 0;
}

static int
resume_save_ssh(struct resume *r, const struct resume_name *n,
    struct tcptrack_conn *c, struct sshtrack *ssh, int log_changed)
{
	struct sshtrack_sync sp;
	struct store_ssh_sync y;
	struct buf state, log, sealed;
	char aad[512];
	int i, ret = -1;

	buf_init(&state, 1024 * 1024);
	buf_init(&log, RESUME_LOG_MAX);
	buf_set_secret(&log);
	buf_init(&sealed, RESUME_LOG_MAX + SEAL_LOCAL_OVERHEAD);
	if (sshtrack_sync_get(ssh, c, &sp, &state, &log) != 0) {
		ret = 0;		/* nothing to save yet */
		goto out;
	}
	memset(&y, 0, sizeof(y));
	y.key = n->key;
	y.updated_us = store_now_us();
	for (i = 0; i < 2; i++) {
		y.dir[i].valid = sp.dir[i].valid;
		y.dir[i].off = sp.dir[i].off;
		y.dir[i].seqnr = sp.dir[i].seqnr;
		y.dir[i].kex_number = sp.dir[i].kex_number;
		y.dir[i].packets = sp.dir[i].packets;
		y.dir[i].blocks = sp.dir[i].blocks;
		if (sp.dir[i].has_cbc) {
			y.dir[i].cbc = sp.dir[i].cbc;
			y.dir[i].cbc_len = sizeof(sp.dir[i].cbc);
		}
	}
	y.state = buf_ptr(&state);
	y.state_len = buf_len(&state);
	if (log_changed) {
		y.log_set = 1;
		resume_aad(&n->key, aad, sizeof(aad));
		if (r->have_key && seal_local_box(r->key,
		    (const uint8_t *)aad, strlen(aad), buf_ptr(&log),
		    buf_len(&log), &sealed) == SEAL_OK) {
			y.log = buf_ptr(&sealed);
			y.log_len = buf_len(&sealed);
		}
	}
	if (store_ssh_sync_put(r->store, &y) != 0 ||
	    resume_save_refs(r, n, c) != 0)
		goto out;
	sshtrack_sync_saved(ssh, c, &sp);
	ret = 0;
 out:
	buf_free(&state);
	buf_free(&log);
	buf_free(&sealed);
	explicit_bzero(&sp, sizeof(sp));
	return ret;
}

int
resume_save(struct resume *r, size_t server, struct tcptrack_conn *c,
    struct sshtrack *ssh)
{
	struct resume_name n;
	int dirty = 0, log_changed = 0, far = 0, failed = 0, i;

	if (server >= r->conf->nservers)
		return 0;
	if (ssh != NULL)
		dirty = sshtrack_sync_dirty(ssh, c, &log_changed);
	for (i = 0; c->saved && i < 2; i++)
		if (!c->dir[i].resume_pending &&
		    c->dir[i].delivered > c->saved_off[i] + RESUME_REF_STEP)
			far = 1;
	if (c->saved && !dirty && !far)
		return 0;
	resume_name(r, server, c, &n);
	if (!c->saved && resume_save_tcp(r, &n, c) != 0)
		return 0;	/* no handshake seen (or the store failed) */
	if (dirty)
		failed = resume_save_ssh(r, &n, c, ssh, log_changed) != 0;
	else if (far)
		failed = resume_save_refs(r, &n, c) != 0;
	if (failed) {
		/*
		 * Put the handshake row again next time: it may have been
		 * lost with a batch whose commit failed (a full disk), and
		 * the sync point refers to it.
		 */
		c->saved = 0;
		r->failed++;
	} else
		r->saved++;
	return 1;
}

void
resume_forget(struct resume *r, size_t server, const struct tcptrack_conn *c)
{
	struct resume_name n;

	if (!c->saved || server >= r->conf->nservers)
		return;
	resume_name(r, server, c, &n);
	(void)store_tcp_resume_delete(r->store, &n.key);
}

/* Restoring */

struct resume_load {
	struct resume		*r;
	struct tcptrack		*t;
	struct sshtrack		*ssh;
	int			(*ssh_tracked)(void *, size_t);
	void			*arg;
	double			 now;
	size_t			 resumed, with_ssh, skipped;
	/* Rows to forget once the reading is over. */
	struct store_tcp_resume	*gone;
	char			(*gone_text)[3][128];
	size_t			 ngone, agone;
};

/* The configured service that t names, its index; -1 if none. */
static int
resume_server(const struct resume *r, const struct store_tcp_resume *t,
    struct pkt_addr *cli, struct pkt_addr *srv)
{
	const struct conf_server *s;
	struct pkt_addr svc;
	uint8_t a[16], b[16];
	int idx, af = t->key.family == 6 ? AF_INET6 : AF_INET, i;

	if ((idx = conf_server_index(r->conf, t->key.server)) < 0 ||
	    inet_pton(af, t->key.client_addr, a) != 1 ||
	    inet_pton(af, t->key.server_addr, b) != 1)
		return -1;
	pkt_addr_set(cli, af, a);
	pkt_addr_set(srv, af, b);
	s = &r->conf->servers[idx];
	pkt_addr_set(&svc, s->service_ip.family, &s->service_ip.u);
	if (memcmp(&svc, srv, sizeof(svc)) != 0)
		return -1;
	for (i = 0; i < s->nports; i++)
		if (s->ports[i] == t->key.server_port)
			return idx;
	return -1;
}

/* Remember a row to forget (its strings copied: they die with the row). */
static void
resume_gone(struct resume_load *ld, const struct store_tcp_resume *t)
{
	struct store_tcp_resume *n;
	char (*nt)[3][128];
	size_t na;

	if (ld->ngone == ld->agone) {
		na = ld->agone ? ld->agone * 2 : 16;
		if ((n = reallocarray(ld->gone, na, sizeof(*n))) == NULL)
			return;
		ld->gone = n;
		if ((nt = reallocarray(ld->gone_text, na,
		    sizeof(*nt))) == NULL)
			return;
		ld->gone_text = nt;
		ld->agone = na;
	}
	ld->gone[ld->ngone] = *t;
	snprintf(ld->gone_text[ld->ngone][0], 128, "%s", t->key.server);
	snprintf(ld->gone_text[ld->ngone][1], 128, "%s", t->key.client_addr);
	snprintf(ld->gone_text[ld->ngone][2], 128, "%s", t->key.server_addr);
	ld->gone[ld->ngone].key.server = ld->gone_text[ld->ngone][0];
	ld->gone[ld->ngone].key.client_addr = ld->gone_text[ld->ngone][1];
	ld->gone[ld->ngone].key.server_addr = ld->gone_text[ld->ngone][2];
	ld->ngone++;
}

static void
resume_ssh(struct resume_load *ld, struct tcptrack_conn *c,
    const struct store_ssh_sync *y)
{
	struct resume *r = ld->r;
	struct sshtrack_sync sp;
	struct buf log;
	char aad[512], why[160], who[80];
	const uint8_t *lp = NULL;
	size_t llen = 0;
	int i;

	memset(&sp, 0, sizeof(sp));
	for (i = 0; i < 2; i++) {
		sp.dir[i].valid = y->dir[i].valid;
		sp.dir[i].off = y->dir[i].off;
		sp.dir[i].seqnr = y->dir[i].seqnr;
		sp.dir[i].kex_number = y->dir[i].kex_number;
		sp.dir[i].packets = y->dir[i].packets;
		sp.dir[i].blocks = y->dir[i].blocks;
		if (y->dir[i].cbc != NULL &&
		    y->dir[i].cbc_len == sizeof(sp.dir[i].cbc)) {
			sp.dir[i].has_cbc = 1;
			memcpy(sp.dir[i].cbc, y->dir[i].cbc,
			    sizeof(sp.dir[i].cbc));
		}
	}
	buf_init(&log, RESUME_LOG_MAX);
	buf_set_secret(&log);
	pkt_endpoint_str(&c->client, c->cport, who, sizeof(who));
	if (y->log != NULL && r->have_key) {
		resume_aad(&y->key, aad, sizeof(aad));
		if (seal_local_open(r->key, (const uint8_t *)aad,
		    strlen(aad), y->log, y->log_len, &log) == SEAL_OK) {
			lp = buf_ptr(&log);
			llen = buf_len(&log);
		} else
			log_warn("resume: %s: the saved setup log does not "
			    "open (another recovery key?)", who);
	}
	if (sshtrack_sync_restore(ld->ssh, c, &sp, y->state, y->state_len,
	    lp, llen, why, sizeof(why)) != 0)
		log_warn("resume: %s: SSH state not restored: %s", who, why);
	else
		ld->with_ssh++;
	buf_free(&log);
	explicit_bzero(&sp, sizeof(sp));
}

static int
resume_row(void *arg, const struct store_tcp_resume *t,
    const struct store_ssh_sync *y)
{
	struct resume_load *ld = arg;
	struct tcptrack_handshake hs;
	struct tcptrack_conn *c;
	int idx, i;

	memset(&hs, 0, sizeof(hs));
	if ((idx = resume_server(ld->r, t, &hs.client, &hs.server)) < 0) {
		/* Not a service watched any more. */
		resume_gone(ld, t);
		ld->skipped++;
		return 0;
	}
	hs.cport = t->key.client_port;
	hs.sport = t->key.server_port;
	for (i = 0; i < 2; i++) {
		hs.isn[i] = t->isn[i];
		hs.has_mss[i] = t->mss[i] >= 0;
		hs.mss[i] = t->mss[i] >= 0 ? (uint16_t)t->mss[i] : 0;
		hs.wscale[i] = t->wscale[i] >= 0 ? (uint8_t)t->wscale[i] : 0;
		hs.ref_off[i] = t->ref_off[i];
	}
	hs.has_wscale = t->wscale[0] >= 0 && t->wscale[1] >= 0;
	hs.sackok = t->sack;
	hs.ts = t->timestamps;
	if ((c = tcptrack_resume(ld->t, &hs, ld->now)) == NULL) {
		ld->skipped++;
		return 0;
	}
	c->saved = 1;
	c->saved_off[0] = t->ref_off[0];
	c->saved_off[1] = t->ref_off[1];
	ld->resumed++;
	if (y != NULL && ld->ssh_tracked(ld->arg, (size_t)idx))
		resume_ssh(ld, c, y);
	return 0;
}

size_t
resume_restore(struct resume *r, struct tcptrack *t, struct sshtrack *ssh,
    int (*ssh_tracked)(void *arg, size_t server), void *arg, double now)
{
	struct resume_load ld;
	size_t i;

	memset(&ld, 0, sizeof(ld));
	ld.r = r;
	ld.t = t;
	ld.ssh = ssh;
	ld.ssh_tracked = ssh_tracked;
	ld.arg = arg;
	ld.now = now;
	if (store_resume_load(r->store, resume_row, &ld) != 0)
		log_error("resume: cannot read the saved connections");
	for (i = 0; i < ld.ngone; i++)
		(void)store_tcp_resume_delete(r->store, &ld.gone[i].key);
	free(ld.gone);
	free(ld.gone_text);
	if (ld.resumed > 0 || ld.skipped > 0)
		log_notice("resume: %zu connections resumed from the state "
		    "file (%zu with an SSH sync point), %zu skipped",
		    ld.resumed, ld.with_ssh, ld.skipped);
	return ld.resumed;
}
