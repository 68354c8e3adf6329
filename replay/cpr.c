/*
 * cpr: the replay rules of docs/recovery-format.md.  The log is in processing
 * order; a client entry's answer is the first server entry after it, not yet
 * taken, of the kind that answers it (on the same channel for channel
 * messages).  Nothing from the log is printed but message names: userauth
 * payloads hold signatures and the whole log is secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cpr.h"
#include "log.h"
#include "rio.h"
#include "rpkg.h"

#define SSH_MSG_DISCONNECT			1
#define SSH_MSG_IGNORE				2
#define SSH_MSG_UNIMPLEMENTED			3
#define SSH_MSG_DEBUG				4
#define SSH_MSG_SERVICE_REQUEST			5
#define SSH_MSG_SERVICE_ACCEPT			6
#define SSH_MSG_EXT_INFO			7
#define SSH_MSG_USERAUTH_REQUEST		50
#define SSH_MSG_USERAUTH_FAILURE		51
#define SSH_MSG_USERAUTH_SUCCESS		52
#define SSH_MSG_USERAUTH_BANNER			53
#define SSH_MSG_GLOBAL_REQUEST			80
#define SSH_MSG_REQUEST_SUCCESS			81
#define SSH_MSG_REQUEST_FAILURE			82
#define SSH_MSG_CHANNEL_OPEN			90
#define SSH_MSG_CHANNEL_OPEN_CONFIRMATION	91
#define SSH_MSG_CHANNEL_OPEN_FAILURE		92
#define SSH_MSG_CHANNEL_WINDOW_ADJUST		93
#define SSH_MSG_CHANNEL_REQUEST			98
#define SSH_MSG_CHANNEL_SUCCESS			99
#define SSH_MSG_CHANNEL_FAILURE			100

/* Requests in our own name space are ours to send, never a client's. */
#define CPR_OWN_SUFFIX		"@securejeebs.org"

enum cpr_kind {
	CPR_SERVICE,
	CPR_USERAUTH,
	CPR_GLOBAL,
	CPR_OPEN,
	CPR_CHANREQ,
};

struct cpr_step {
	enum cpr_kind	 kind;
	size_t		 entry;		/* in the log */
	const uint8_t	*p;		/* what is sent */
	size_t		 len;
	uint8_t		*built;		/* p, when not sent as logged */
	int		 want_reply;	/* the sshd answers it */
	uint8_t		 answer;	/* the original's; 0: none logged */
	uint32_t	 id_client;	/* OPEN, CHANREQ */
	uint32_t	 id_server;	/* OPEN: the original server's id */
	int		 has_port;	/* tcpip-forward: the port bound */
	uint32_t	 port;
	char		 name[RPKG_NAME_MAX + 1];	/* service, type */
	char		 what[160];	/* for logs and reasons */
};

struct planner {
	const struct rpkg	*k;
	uint8_t			*used;	/* server entries taken as answers */
	struct cpr_plan		*plan;
	int			 authed;
	char			*why;
	size_t			 whylen;
};

/*
 * A name (no space) or a text from the log or the sshd, made printable for
 * logs and reasons.
 */
static int
get_printable(struct buf *b, char *dst, size_t dstsize, int spaces)
{
	const uint8_t *p;
	size_t len, i;

	if (buf_get_string_direct(b, &p, &len) != 0)
		return -1;
	if (len > dstsize - 1)
		len = dstsize - 1;
	for (i = 0; i < len; i++)
		dst[i] = ((p[i] > 0x20 || (spaces && p[i] == 0x20)) &&
		    p[i] < 0x7f) ? (char)p[i] : '?';
	dst[len] = '\0';
	return 0;
}

static int
get_name(struct buf *b, char *dst, size_t dstsize)
{
	return get_printable(b, dst, dstsize, 0);
}

static int
get_text(struct buf *b, char *dst, size_t dstsize)
{
	return get_printable(b, dst, dstsize, 1);
}

static int
own_name(const char *name)
{
	size_t n = strlen(name), s = strlen(CPR_OWN_SUFFIX);

	return n >= s && strcmp(name + n - s, CPR_OWN_SUFFIX) == 0;
}

static uint8_t
msg_type(const struct rpkg_msg *m)
{
	if (m->flags != 0)
		return SSH_MSG_USERAUTH_REQUEST;
	return m->len > 0 ? m->p[0] : 0;
}

static const char *
type_name(uint8_t type)
{
	static char tmp[24];

	return rpkg_msg_name(type, tmp, sizeof(tmp));
}

static int
plan_fail(struct planner *pl, size_t i, const char *what)
{
	snprintf(pl->why, pl->whylen, "log entry %zu: %s", i, what);
	return -1;
}

/*
 * The first server entry after from, not taken yet, of type t1 or t2 (on
 * channel chan, the recipient, if chan >= 0): its index, or -1.
 */
static long
find_answer(struct planner *pl, size_t from, uint8_t t1, uint8_t t2,
    int64_t chan)
{
	const struct rpkg_msg *m;
	struct buf b;
	uint32_t recipient;
	uint8_t t;
	size_t j;

	for (j = from; j < pl->k->nlog; j++) {
		m = &pl->k->log[j];
		if (m->dir != RPKG_S2C || pl->used[j])
			continue;
		t = msg_type(m);
		if (t != t1 && t != t2)
			continue;
		if (chan >= 0) {
			buf_view(&b, m->p + 1, m->len - 1);
			if (buf_get_u32(&b, &recipient) != 0 ||
			    recipient != (uint32_t)chan)
				continue;
		}
		return (long)j;
	}
	return -1;
}

static long
take_answer(struct planner *pl, size_t from, uint8_t t1, uint8_t t2,
    int64_t chan)
{
	long j;

	if ((j = find_answer(pl, from, t1, t2, chan)) >= 0)
		pl->used[j] = 1;
	return j;
}

static struct cpr_step *
add_step(struct planner *pl, enum cpr_kind kind, size_t i)
{
	struct cpr_step *st = &pl->plan->steps[pl->plan->nsteps++];

	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->entry = i;
	st->p = pl->k->log[i].p;
	st->len = pl->k->log[i].len;
	return st;
}

static int
plan_service(struct planner *pl, size_t i)
{
	const struct rpkg_msg *m = &pl->k->log[i];
	struct cpr_step *st;
	struct buf b;
	char name[RPKG_NAME_MAX + 1];

	buf_view(&b, m->p + 1, m->len - 1);
	if (get_name(&b, name, sizeof(name)) != 0)
		return plan_fail(pl, i, "malformed SERVICE_REQUEST");
	(void)take_answer(pl, i + 1, SSH_MSG_SERVICE_ACCEPT,
	    SSH_MSG_SERVICE_ACCEPT, -1);
	st = add_step(pl, CPR_SERVICE, i);
	st->want_reply = 1;
	st->answer = SSH_MSG_SERVICE_ACCEPT;
	snprintf(st->name, sizeof(st->name), "%s", name);
	snprintf(st->what, sizeof(st->what), "SERVICE_REQUEST %s", name);
	return 1;
}

/* The attested request that stands for a method that cannot be replayed. */
static int
build_attested(struct planner *pl, struct cpr_step *st)
{
	struct buf b;

	buf_init(&b, 4096);
	if (buf_put_u8(&b, SSH_MSG_USERAUTH_REQUEST) != 0 ||
	    buf_put_cstring(&b, pl->k->user) != 0 ||
	    buf_put_cstring(&b, "ssh-connection") != 0 ||
	    buf_put_cstring(&b, CPR_ATTESTED_METHOD) != 0 ||
	    (st->built = malloc(buf_len(&b))) == NULL) {
		buf_free(&b);
		return -1;
	}
	memcpy(st->built, buf_ptr(&b), buf_len(&b));
	st->p = st->built;
	st->len = buf_len(&b);
	buf_free(&b);
	return 0;
}

/* The next client USERAUTH_REQUEST after i (nlog if none). */
static size_t
next_userauth(const struct rpkg *k, size_t i)
{
	for (i++; i < k->nlog; i++)
		if (k->log[i].dir == RPKG_C2S &&
		    msg_type(&k->log[i]) == SSH_MSG_USERAUTH_REQUEST)
			break;
	return i;
}

/*
 * publickey, or OpenSSH's publickey-hostbound-v00@openssh.com (the same
 * with the server's host key in the signed data): both carry a signature
 * over the session_id, so both are verified again.
 */
static int
cpr_is_pubkey(const char *method)
{
	return strcmp(method, "publickey") == 0 ||
	    strcmp(method, "publickey-hostbound-v00@openssh.com") == 0;
}

static int
plan_userauth(struct planner *pl, size_t i)
{
	const struct rpkg_msg *m = &pl->k->log[i];
	struct cpr_step *st;
	struct buf b;
	char method[RPKG_NAME_MAX + 1];
	uint8_t has_sig = 1, partial;
	int kept = m->flags == 0, as_logged, pubkey;
	long j;

	snprintf(method, sizeof(method), "%s", m->flags & 1 ? "password" :
	    "(a method not kept)");

	if (kept) {
		buf_view(&b, m->p + 1, m->len - 1);
		if (buf_get_string_direct(&b, NULL, NULL) != 0 ||
		    buf_get_string_direct(&b, NULL, NULL) != 0 ||
		    get_name(&b, method, sizeof(method)) != 0 ||
		    (cpr_is_pubkey(method) &&
		    buf_get_u8(&b, &has_sig) != 0))
			return plan_fail(pl, i, "malformed USERAUTH_REQUEST");
	}
	pubkey = cpr_is_pubkey(method);
	if (pl->authed) {
		debug_f("log entry %zu: USERAUTH_REQUEST after the success: "
		    "not replayed", i);
		return 0;
	}
	if (kept && pubkey && !has_sig) {
		/*
		 * A query: never sent.  Its answer is USERAUTH_PK_OK, never
		 * logged, or a USERAUTH_FAILURE before the client's next
		 * request, which is not the next request's answer.
		 */
		j = find_answer(pl, i + 1, SSH_MSG_USERAUTH_FAILURE,
		    SSH_MSG_USERAUTH_SUCCESS, -1);
		if (j >= 0 && (size_t)j < next_userauth(pl->k, i) &&
		    msg_type(&pl->k->log[j]) == SSH_MSG_USERAUTH_FAILURE)
			pl->used[j] = 1;
		debug_f("log entry %zu: publickey query: not replayed", i);
		return 0;
	}
	j = take_answer(pl, i + 1, SSH_MSG_USERAUTH_FAILURE,
	    SSH_MSG_USERAUTH_SUCCESS, -1);
	if (j < 0) {
		debug_f("log entry %zu: USERAUTH_REQUEST %s unanswered: not "
		    "replayed", i, method);
		return 0;
	}
	if (msg_type(&pl->k->log[j]) == SSH_MSG_USERAUTH_FAILURE) {
		buf_view(&b, pl->k->log[j].p + 1, pl->k->log[j].len - 1);
		if (buf_get_string_direct(&b, NULL, NULL) != 0 ||
		    buf_get_u8(&b, &partial) != 0)
			return plan_fail(pl, (size_t)j,
			    "malformed USERAUTH_FAILURE");
		if (!partial) {
			debug_f("log entry %zu: USERAUTH_REQUEST %s refused by "
			    "the original server: not replayed", i, method);
			return 0;
		}
	}
	st = add_step(pl, CPR_USERAUTH, i);
	st->want_reply = 1;
	st->answer = msg_type(&pl->k->log[j]);
	as_logged = kept && (pubkey || strcmp(method, "hostbased") == 0);
	if (!as_logged && build_attested(pl, st) != 0)
		return plan_fail(pl, i, "out of memory");
	snprintf(st->name, sizeof(st->name), "%s",
	    as_logged ? method : CPR_ATTESTED_METHOD);
	if (as_logged)
		snprintf(st->what, sizeof(st->what), "USERAUTH_REQUEST %s",
		    method);
	else
		snprintf(st->what, sizeof(st->what), "USERAUTH_REQUEST %s "
		    "(for %s)", CPR_ATTESTED_METHOD, method);
	if (st->answer == SSH_MSG_USERAUTH_SUCCESS)
		pl->authed = 1;
	return 1;
}

/*
 * tcpip-forward for port 0: the client was told the port the original
 * server bound.  Ask for that port, so that the sshd binds the same.
 */
static int
build_forward(struct cpr_step *st, const struct rpkg_msg *m)
{
	struct buf in, out;
	const uint8_t *addr;
	size_t addrlen;
	uint32_t port;
	uint8_t want;

	buf_view(&in, m->p + 1, m->len - 1);
	if (buf_get_string_direct(&in, NULL, NULL) != 0 ||
	    buf_get_u8(&in, &want) != 0 ||
	    buf_get_string_direct(&in, &addr, &addrlen) != 0 ||
	    buf_get_u32(&in, &port) != 0)
		return -1;
	if (port != 0)
		return 0;
	buf_init(&out, RPKG_PACKET_MAX);
	if (buf_put_u8(&out, SSH_MSG_GLOBAL_REQUEST) != 0 ||
	    buf_put_cstring(&out, "tcpip-forward") != 0 ||
	    buf_put_u8(&out, want) != 0 ||
	    buf_put_string(&out, addr, addrlen) != 0 ||
	    buf_put_u32(&out, st->port) != 0 ||
	    buf_put(&out, buf_ptr(&in), buf_len(&in)) != 0 ||
	    (st->built = malloc(buf_len(&out))) == NULL) {
		buf_free(&out);
		return -1;
	}
	memcpy(st->built, buf_ptr(&out), buf_len(&out));
	st->p = st->built;
	st->len = buf_len(&out);
	buf_free(&out);
	return 0;
}

static int
plan_global(struct planner *pl, size_t i)
{
	const struct rpkg_msg *m = &pl->k->log[i];
	struct cpr_step *st;
	struct buf b;
	char name[RPKG_NAME_MAX + 1];
	uint8_t want;
	uint32_t port;
	long j = -1;

	buf_view(&b, m->p + 1, m->len - 1);
	if (get_name(&b, name, sizeof(name)) != 0 ||
	    buf_get_u8(&b, &want) != 0)
		return plan_fail(pl, i, "malformed GLOBAL_REQUEST");
	if (own_name(name))
		return plan_fail(pl, i, "the client sent a GLOBAL_REQUEST "
		    "of SecureJeebs's own");
	if (want)
		j = take_answer(pl, i + 1, SSH_MSG_REQUEST_SUCCESS,
		    SSH_MSG_REQUEST_FAILURE, -1);
	st = add_step(pl, CPR_GLOBAL, i);
	st->want_reply = want != 0;
	st->answer = j >= 0 ? msg_type(&pl->k->log[j]) : 0;
	snprintf(st->name, sizeof(st->name), "%s", name);
	snprintf(st->what, sizeof(st->what), "GLOBAL_REQUEST %s", name);
	if (want && j < 0)
		debug_f("log entry %zu: %s: no answer logged, any will do", i,
		    st->what);
	if (st->answer == SSH_MSG_REQUEST_SUCCESS &&
	    strcmp(name, "tcpip-forward") == 0) {
		buf_view(&b, pl->k->log[j].p + 1, pl->k->log[j].len - 1);
		if (buf_get_u32(&b, &port) == 0) {
			st->has_port = 1;
			st->port = port;
			if (build_forward(st, m) != 0)
				return plan_fail(pl, i, "malformed "
				    "tcpip-forward");
		}
	}
	return 1;
}

static int
plan_open(struct planner *pl, size_t i)
{
	const struct rpkg_msg *m = &pl->k->log[i];
	struct cpr_step *st;
	struct buf b;
	char type[RPKG_NAME_MAX + 1];
	uint32_t sender, recipient, id_server = 0;
	long j;

	buf_view(&b, m->p + 1, m->len - 1);
	if (get_name(&b, type, sizeof(type)) != 0 ||
	    buf_get_u32(&b, &sender) != 0)
		return plan_fail(pl, i, "malformed CHANNEL_OPEN");
	j = take_answer(pl, i + 1, SSH_MSG_CHANNEL_OPEN_CONFIRMATION,
	    SSH_MSG_CHANNEL_OPEN_FAILURE, sender);
	if (j < 0) {
		/* The client waits for an answer it will never get. */
		debug_f("log entry %zu: CHANNEL_OPEN %s (channel %u) "
		    "unanswered: not replayed", i, type, sender);
		return 0;
	}
	if (msg_type(&pl->k->log[j]) == SSH_MSG_CHANNEL_OPEN_CONFIRMATION) {
		buf_view(&b, pl->k->log[j].p + 1, pl->k->log[j].len - 1);
		if (buf_get_u32(&b, &recipient) != 0 ||
		    buf_get_u32(&b, &id_server) != 0)
			return plan_fail(pl, (size_t)j,
			    "malformed CHANNEL_OPEN_CONFIRMATION");
	}
	st = add_step(pl, CPR_OPEN, i);
	st->want_reply = 1;
	st->answer = msg_type(&pl->k->log[j]);
	st->id_client = sender;
	st->id_server = id_server;
	snprintf(st->name, sizeof(st->name), "%s", type);
	snprintf(st->what, sizeof(st->what), "CHANNEL_OPEN %s (channel %u)",
	    type, sender);
	return 1;
}

static int
plan_chanreq(struct planner *pl, size_t i)
{
	const struct rpkg_msg *m = &pl->k->log[i];
	const struct cpr_step *open = NULL;
	struct cpr_step *st;
	struct buf b;
	char name[RPKG_NAME_MAX + 1];
	uint32_t recipient;
	uint8_t want;
	size_t s;
	long j = -1;

	buf_view(&b, m->p + 1, m->len - 1);
	if (buf_get_u32(&b, &recipient) != 0 ||
	    get_name(&b, name, sizeof(name)) != 0 ||
	    buf_get_u8(&b, &want) != 0)
		return plan_fail(pl, i, "malformed CHANNEL_REQUEST");
	/* The latest replayed open the server numbered so. */
	for (s = pl->plan->nsteps; s > 0; s--) {
		open = &pl->plan->steps[s - 1];
		if (open->kind == CPR_OPEN &&
		    open->answer == SSH_MSG_CHANNEL_OPEN_CONFIRMATION &&
		    open->id_server == recipient)
			break;
		open = NULL;
	}
	if (open == NULL) {
		debug_f("log entry %zu: CHANNEL_REQUEST %s on server channel "
		    "%u, which is not replayed: not replayed", i, name,
		    recipient);
		return 0;
	}
	if (want)
		j = take_answer(pl, i + 1, SSH_MSG_CHANNEL_SUCCESS,
		    SSH_MSG_CHANNEL_FAILURE, open->id_client);
	st = add_step(pl, CPR_CHANREQ, i);
	st->want_reply = want != 0;
	st->answer = j >= 0 ? msg_type(&pl->k->log[j]) : 0;
	st->id_client = open->id_client;
	snprintf(st->name, sizeof(st->name), "%s", name);
	snprintf(st->what, sizeof(st->what), "CHANNEL_REQUEST %s on channel "
	    "%u", name, st->id_client);
	if (want && j < 0)
		debug_f("log entry %zu: %s: no answer logged, any will do", i,
		    st->what);
	return 1;
}

int
cpr_plan(const struct rpkg *k, struct cpr_plan *plan, char *why,
    size_t whylen)
{
	struct planner pl;
	const struct rpkg_msg *m;
	size_t i;
	int r;

	memset(plan, 0, sizeof(*plan));
	memset(&pl, 0, sizeof(pl));
	pl.k = k;
	pl.plan = plan;
	pl.why = why;
	pl.whylen = whylen;
	if (k->nlog > 0 && ((pl.used = calloc(k->nlog, 1)) == NULL ||
	    (plan->steps = calloc(k->nlog, sizeof(*plan->steps))) == NULL)) {
		free(pl.used);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	for (i = 0, r = 0; i < k->nlog && r >= 0; i++) {
		m = &k->log[i];
		if (m->dir != RPKG_C2S)
			continue;	/* the answers */
		switch (msg_type(m)) {
		case SSH_MSG_SERVICE_REQUEST:
			r = plan_service(&pl, i);
			break;
		case SSH_MSG_USERAUTH_REQUEST:
			r = plan_userauth(&pl, i);
			break;
		case SSH_MSG_GLOBAL_REQUEST:
			r = plan_global(&pl, i);
			break;
		case SSH_MSG_CHANNEL_OPEN:
			r = plan_open(&pl, i);
			break;
		case SSH_MSG_CHANNEL_REQUEST:
			r = plan_chanreq(&pl, i);
			break;
		default:
			/* EOF and CLOSE are in the import's channel flags. */
			debug_f("log entry %zu: %s: not replayed", i,
			    type_name(msg_type(m)));
			break;
		}
	}
	free(pl.used);
	if (r >= 0 && !pl.authed) {
		snprintf(why, whylen, "the log holds no successful "
		    "authentication");
		r = -1;
	}
	if (r < 0) {
		cpr_plan_free(plan);
		return -1;
	}
	return 0;
}

void
cpr_plan_free(struct cpr_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->nsteps; i++) {
		if (plan->steps[i].built != NULL) {
			explicit_bzero(plan->steps[i].built,
			    plan->steps[i].len);
			free(plan->steps[i].built);
		}
	}
	free(plan->steps);
	memset(plan, 0, sizeof(*plan));
}

/* Running */

static const char *
kind_name(uint8_t type)
{
	switch (type) {
	case SSH_MSG_REQUEST_SUCCESS:
	case SSH_MSG_CHANNEL_SUCCESS:
	case SSH_MSG_USERAUTH_SUCCESS:
		return "SUCCESS";
	default:
		return "FAILURE";
	}
}

/* Messages an sshd sends of itself: they answer nothing. */
static int
unasked(const uint8_t *p, size_t len)
{
	struct buf b;
	uint8_t want;

	switch (p[0]) {
	case SSH_MSG_IGNORE:
	case SSH_MSG_DEBUG:
	case SSH_MSG_EXT_INFO:
	case SSH_MSG_USERAUTH_BANNER:
	case SSH_MSG_CHANNEL_WINDOW_ADJUST:
		return 1;
	case SSH_MSG_GLOBAL_REQUEST:
		buf_view(&b, p + 1, len - 1);
		return buf_get_string_direct(&b, NULL, NULL) == 0 &&
		    buf_get_u8(&b, &want) == 0 && want == 0;
	default:
		return 0;
	}
}

/*
 * The sshd's answer to what: 0 with its type and b viewing what follows the
 * type byte, or -1 with the reason.
 */
static int
recv_answer(struct rio *io, const char *what, uint8_t *typep, struct buf *b,
    char *why, size_t whylen)
{
	const uint8_t *p;
	char waiting[200], desc[128];
	uint32_t code;
	size_t len;

	snprintf(waiting, sizeof(waiting), "the answer to %s", what);
	for (;;) {
		if (rio_recv_packet(io, waiting, &p, &len, why, whylen) != 0)
			return -1;
		if (unasked(p, len)) {
			debug_f("< %s (skipped)", type_name(p[0]));
			continue;
		}
		debug_f("< %s", type_name(p[0]));
		buf_view(b, p + 1, len - 1);
		*typep = p[0];
		if (p[0] == SSH_MSG_DISCONNECT) {
			if (buf_get_u32(b, &code) != 0 ||
			    get_text(b, desc, sizeof(desc)) != 0) {
				code = 0;
				snprintf(desc, sizeof(desc), "?");
			}
			snprintf(why, whylen, "the sshd disconnected: %s "
			    "(reason %u, waiting for %s)", desc, code,
			    waiting);
			return -1;
		}
		if (p[0] == SSH_MSG_UNIMPLEMENTED) {
			snprintf(why, whylen, "the sshd did not implement %s",
			    what);
			return -1;
		}
		return 0;
	}
}

static int
unexpected(uint8_t type, const char *what, char *why, size_t whylen)
{
	snprintf(why, whylen, "the sshd sent %s, waiting for the answer to %s",
	    type_name(type), what);
	return -1;
}

static int
check_service(const struct cpr_step *st, uint8_t type, struct buf *b,
    char *why, size_t whylen)
{
	char name[RPKG_NAME_MAX + 1];

	if (type != SSH_MSG_SERVICE_ACCEPT)
		return unexpected(type, st->what, why, whylen);
	if (get_name(b, name, sizeof(name)) != 0 ||
	    strcmp(name, st->name) != 0) {
		snprintf(why, whylen, "%s: the sshd accepted another service",
		    st->what);
		return -1;
	}
	return 0;
}

static int
check_userauth(const struct cpr_step *st, uint8_t type, struct buf *b,
    char *why, size_t whylen)
{
	uint8_t partial = 0;

	if (type != SSH_MSG_USERAUTH_SUCCESS &&
	    type != SSH_MSG_USERAUTH_FAILURE)
		return unexpected(type, st->what, why, whylen);
	if (type == SSH_MSG_USERAUTH_FAILURE &&
	    (buf_get_string_direct(b, NULL, NULL) != 0 ||
	    buf_get_u8(b, &partial) != 0)) {
		snprintf(why, whylen, "%s: malformed USERAUTH_FAILURE",
		    st->what);
		return -1;
	}
	if (type == st->answer && (type == SSH_MSG_USERAUTH_SUCCESS || partial))
		return 0;
	snprintf(why, whylen, "%s: the sshd %s, the original server %s",
	    st->what, type == SSH_MSG_USERAUTH_SUCCESS ? "accepted it" :
	    partial ? "answered a partial success" : "refused it",
	    st->answer == SSH_MSG_USERAUTH_SUCCESS ? "accepted it" :
	    "answered a partial success");
	return -1;
}

static int
check_global(const struct cpr_step *st, uint8_t type, struct buf *b,
    char *why, size_t whylen)
{
	uint32_t port;

	if (type != SSH_MSG_REQUEST_SUCCESS && type != SSH_MSG_REQUEST_FAILURE)
		return unexpected(type, st->what, why, whylen);
	if (st->answer != 0 && type != st->answer) {
		snprintf(why, whylen, "%s: the sshd answered %s, the original "
		    "server %s", st->what, kind_name(type),
		    kind_name(st->answer));
		return -1;
	}
	/* Asked for the original's port: it may say so or say nothing. */
	if (type == SSH_MSG_REQUEST_SUCCESS && st->has_port &&
	    buf_get_u32(b, &port) == 0 && port != st->port) {
		snprintf(why, whylen, "%s: the sshd bound port %u, the "
		    "original server %u", st->what, port, st->port);
		return -1;
	}
	return 0;
}

static int
check_open(const struct cpr_step *st, uint8_t type, struct buf *b,
    char *why, size_t whylen)
{
	char desc[128];
	uint32_t recipient, sender, code;

	if (type != SSH_MSG_CHANNEL_OPEN_CONFIRMATION &&
	    type != SSH_MSG_CHANNEL_OPEN_FAILURE)
		return unexpected(type, st->what, why, whylen);
	if (buf_get_u32(b, &recipient) != 0 || buf_get_u32(b, &sender) != 0) {
		snprintf(why, whylen, "%s: malformed %s", st->what,
		    type_name(type));
		return -1;
	}
	if (recipient != st->id_client) {
		snprintf(why, whylen, "channel %u: the sshd answered for "
		    "channel %u", st->id_client, recipient);
		return -1;
	}
	if (type == SSH_MSG_CHANNEL_OPEN_FAILURE) {
		if (st->answer == SSH_MSG_CHANNEL_OPEN_FAILURE)
			return 0;
		code = sender;
		if (get_text(b, desc, sizeof(desc)) != 0)
			snprintf(desc, sizeof(desc), "?");
		snprintf(why, whylen, "channel %u: the sshd refused to open "
		    "the %s channel (%s, reason %u), the original server "
		    "opened it", st->id_client, st->name, desc, code);
		return -1;
	}
	if (st->answer == SSH_MSG_CHANNEL_OPEN_FAILURE) {
		snprintf(why, whylen, "channel %u: the sshd opened the %s "
		    "channel, the original server refused it", st->id_client,
		    st->name);
		return -1;
	}
	if (sender != st->id_server) {
		snprintf(why, whylen, "channel %u: the sshd assigned id %u, "
		    "the original server %u", st->id_client, sender,
		    st->id_server);
		return -1;
	}
	return 0;
}

static int
check_chanreq(const struct cpr_step *st, uint8_t type, struct buf *b,
    char *why, size_t whylen)
{
	uint32_t recipient;

	if (type != SSH_MSG_CHANNEL_SUCCESS && type != SSH_MSG_CHANNEL_FAILURE)
		return unexpected(type, st->what, why, whylen);
	if (buf_get_u32(b, &recipient) != 0) {
		snprintf(why, whylen, "%s: malformed %s", st->what,
		    type_name(type));
		return -1;
	}
	if (recipient != st->id_client) {
		snprintf(why, whylen, "channel %u: the sshd answered %s for "
		    "channel %u", st->id_client, st->name, recipient);
		return -1;
	}
	if (st->answer != 0 && type != st->answer) {
		snprintf(why, whylen, "channel %u: %s: the sshd answered %s, "
		    "the original server %s", st->id_client, st->name,
		    kind_name(type), kind_name(st->answer));
		return -1;
	}
	return 0;
}

static int
run_step(const struct cpr_step *st, struct rio *io, char *why,
    size_t whylen)
{
	struct buf b;
	uint8_t type;

	debug_f("> %s", st->what);
	if (rio_send_packet(io, st->p, st->len, st->what, why, whylen) != 0)
		return -1;
	if (!st->want_reply)
		return 0;
	if (recv_answer(io, st->what, &type, &b, why, whylen) != 0)
		return -1;
	switch (st->kind) {
	case CPR_SERVICE:
		return check_service(st, type, &b, why, whylen);
	case CPR_USERAUTH:
		return check_userauth(st, type, &b, why, whylen);
	case CPR_GLOBAL:
		return check_global(st, type, &b, why, whylen);
	case CPR_OPEN:
		return check_open(st, type, &b, why, whylen);
	case CPR_CHANREQ:
		return check_chanreq(st, type, &b, why, whylen);
	}
	return unexpected(type, st->what, why, whylen);
}

static int
run_cutover(struct rio *io, struct cpr_result *res, char *why, size_t whylen)
{
	static const char what[] = "the cutover request";
	struct buf req, b;
	uint8_t type;
	int r;

	buf_init(&req, 256);
	if (buf_put_u8(&req, SSH_MSG_GLOBAL_REQUEST) != 0 ||
	    buf_put_cstring(&req, CPR_CUTOVER_REQUEST) != 0 ||
	    buf_put_u8(&req, 1) != 0) {
		buf_free(&req);
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	debug_f("> GLOBAL_REQUEST %s", CPR_CUTOVER_REQUEST);
	rio_now(&res->cutover_sent);
	r = rio_send_packet(io, buf_ptr(&req), buf_len(&req), what, why,
	    whylen);
	buf_free(&req);
	if (r != 0 || recv_answer(io, what, &type, &b, why, whylen) != 0)
		return -1;
	rio_now(&res->cutover_done);
	if (type == SSH_MSG_REQUEST_FAILURE) {
		snprintf(why, whylen, "the sshd refused the cutover (its "
		    "channels do not match the import)");
		return -1;
	}
	if (type != SSH_MSG_REQUEST_SUCCESS)
		return unexpected(type, what, why, whylen);
	return 0;
}

/*
 * SJRI2 (docs/recovery-format.md): the SJRI1 encoding with the magic
 * "SJRI2" and, after the channel list, the package's setup log as in SJRP1
 * (u32 nlog; nlog x { u32 dir; u32 flags; string payload }).  The sshd
 * keeps it to drain the session on later (SJD2).  0 or -1.
 */
int
cpr_encode_import(const struct rpkg *k, struct buf *out)
{
	static const uint8_t magic1[] = { 0, 0, 0, 5, 'S', 'J', 'R', 'I', '1' };
	struct buf one;
	size_t i;
	int r = -1;

	buf_init(&one, RPKG_MAX);
	buf_set_secret(&one);
	if (rpkg_encode_import(k, &one) != 0 ||
	    buf_len(&one) < sizeof(magic1) ||
	    memcmp(buf_ptr(&one), magic1, sizeof(magic1)) != 0)
		goto out;
	if (buf_put_cstring(out, "SJRI2") != 0 ||
	    buf_put(out, buf_ptr(&one) + sizeof(magic1),
	    buf_len(&one) - sizeof(magic1)) != 0 ||
	    buf_put_u32(out, (uint32_t)k->nlog) != 0)
		goto out;
	for (i = 0; i < k->nlog; i++)
		if (buf_put_u32(out, k->log[i].dir) != 0 ||
		    buf_put_u32(out, k->log[i].flags) != 0 ||
		    buf_put_string(out, k->log[i].p, k->log[i].len) != 0)
			goto out;
	r = 0;
 out:
	buf_free(&one);
	return r;
}

int
cpr_run(const struct rpkg *k, const struct cpr_plan *plan, struct rio *io,
    struct cpr_result *res, char *why, size_t whylen)
{
	struct buf import;
	size_t i;
	int r;

	memset(res, 0, sizeof(*res));
	buf_init(&import, RPKG_MAX);
	buf_set_secret(&import);
	if (cpr_encode_import(k, &import) != 0) {
		buf_free(&import);
		snprintf(why, whylen, "cannot encode the import");
		return -1;
	}
	debug_f("> import (%zu bytes, %zu channels)", buf_len(&import),
	    k->nchans);
	r = rio_send_frame(io, &import, "the import", why, whylen);
	buf_free(&import);
	if (r != 0)
		return -1;
	for (i = 0; i < plan->nsteps; i++) {
		if (run_step(&plan->steps[i], io, why, whylen) != 0)
			return -1;
		res->messages++;
	}
	return run_cutover(io, res, why, whylen);
}
