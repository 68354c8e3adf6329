/*
 * keystore: per-connection key state (see keystore.h).  A hash table of
 * entries keyed by (server index, conn_id); each entry holds the public
 * view and, while the connection is open, the newest decoded key record.
 * Every change is written to the store first and applied in memory only
 * once the store has it, so memory never gets ahead of the state file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore.h"
#include "log.h"

#define KEYSTORE_MIN_BUCKETS	256

struct keystore_entry {
	struct keystore_conn	 info;
	size_t			 server;	/* index in conf->servers */
	struct seal_keyrec	*kr;		/* newest keys, or NULL */
	struct keystore_entry	*next;		/* hash chain */
};

struct keystore {
	struct store		*store;
	const struct conf	*conf;
	const struct keystore_keys *keys;
	struct keystore_entry	**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 n;
	uint64_t		 seed;
	keystore_listener_fn	 listener;
	keystore_listener_fn	 drain_listener;
	void			*drain_listener_arg;
	void			*listener_arg;
};

const char *
keystore_strerror(int r)
{
	switch (r) {
	case KEYSTORE_OK:		return "success";
	case KEYSTORE_ERR_STORE:	return "cannot write the state file";
	case KEYSTORE_ERR_FULL:		return "too many connections held";
	case KEYSTORE_ERR_NOMEM:	return "out of memory";
	case KEYSTORE_ERR_STATE:	return "record does not follow the "
					    "connection's last one";
	default:			return "unknown error";
	}
}

/* Keys */

static void
keystore_key_error(char *err, size_t errlen, const char *what,
    const char *path, int r)
{
	snprintf(err, errlen, "%s %s: %s", what, path,
	    r == SEAL_ERR_SYSTEM ? strerror(errno) : seal_strerror(r));
}

int
keystore_keys_load(const struct conf *c, struct keystore_keys *k, char *err,
    size_t errlen)
{
	size_t i;
	int r;

	memset(k, 0, sizeof(*k));
	if (!c->export_enabled)
		return 0;
	if ((r = seal_key_load_private(c->recovery_key, SEAL_KEY_X25519,
	    &k->recovery)) != SEAL_OK) {
		keystore_key_error(err, errlen, "recovery_key",
		    c->recovery_key, r);
		return -1;
	}
	for (i = 0; i < c->nservers && i < CONF_MAX_SERVERS; i++) {
		const struct conf_server *s = &c->servers[i];
		char what[CONF_NAME_MAX + 32];

		if (s->signing_key == NULL)
			continue;
		if ((r = seal_key_load_public(s->signing_key,
		    SEAL_KEY_ED25519, &k->signing[i])) != SEAL_OK) {
			snprintf(what, sizeof(what), "server %s: signing_key",
			    s->name);
			keystore_key_error(err, errlen, what, s->signing_key,
			    r);
			keystore_keys_free(k);
			return -1;
		}
	}
	return 0;
}

void
keystore_keys_check(const struct conf *c, const struct keystore_keys *k)
{
	uint8_t pub[CONF_MAX_SERVERS][SEAL_PUBKEY_LEN];
	int have[CONF_MAX_SERVERS];
	size_t i, j;

	if (!c->export_enabled)
		return;
	for (i = 0; i < c->nservers && i < CONF_MAX_SERVERS; i++) {
		have[i] = k->signing[i] != NULL &&
		    seal_key_public_raw(k->signing[i], pub[i]) == SEAL_OK;
		if (k->signing[i] == NULL)
			log_warn("server %s: no signing_key: its export "
			    "records will be refused", c->servers[i].name);
		/* A shared key lets either server write in the other's name. */
		for (j = 0; j < i && have[i]; j++)
			if (have[j] && memcmp(pub[i], pub[j],
			    SEAL_PUBKEY_LEN) == 0)
				log_warn("servers %s and %s have the same "
				    "signing_key: each can send records in "
				    "the other's name", c->servers[j].name,
				    c->servers[i].name);
	}
}

void
keystore_keys_free(struct keystore_keys *k)
{
	size_t i;

	seal_key_free(k->recovery);
	for (i = 0; i < CONF_MAX_SERVERS; i++)
		seal_key_free(k->signing[i]);
	memset(k, 0, sizeof(*k));
}

/* Hash table */

static size_t
keystore_hash(const struct keystore *ks, size_t server, uint64_t conn_id)
{
	uint64_t z = conn_id ^ ks->seed ^ ((uint64_t)server << 56);

	/* splitmix64's finaliser */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (size_t)(z & (ks->nbuckets - 1));
}

static struct keystore_entry *
keystore_find(const struct keystore *ks, size_t server, uint64_t conn_id)
{
	struct keystore_entry *e;

	for (e = ks->buckets[keystore_hash(ks, server, conn_id)]; e != NULL;
	    e = e->next)
		if (e->server == server && e->info.conn_id == conn_id)
			return e;
	return NULL;
}

static void
keystore_link(struct keystore *ks, struct keystore_entry *e)
{
	size_t h = keystore_hash(ks, e->server, e->info.conn_id);

	e->next = ks->buckets[h];
	ks->buckets[h] = e;
	ks->n++;
}

/* Double the table when it is full; on failure just keep longer chains. */
static void
keystore_grow(struct keystore *ks)
{
	struct keystore_entry **old = ks->buckets, *e, *next;
	size_t i, oldn = ks->nbuckets;

	if (ks->n < ks->nbuckets)
		return;
	if ((ks->buckets = calloc(oldn * 2, sizeof(*ks->buckets))) == NULL) {
		ks->buckets = old;
		return;
	}
	ks->nbuckets = oldn * 2;
	ks->n = 0;
	for (i = 0; i < oldn; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			keystore_link(ks, e);
		}
	free(old);
}

static void
keystore_entry_free(struct keystore_entry *e)
{
	seal_keyrec_free(e->kr);
	explicit_bzero(e, sizeof(*e));
	free(e);
}

static struct keystore_entry *
keystore_entry_new(struct keystore *ks, size_t server, uint64_t conn_id)
{
	struct keystore_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->server = server;
	e->info.server = ks->conf->servers[server].name;
	e->info.conn_id = conn_id;
	return e;
}

/* Conversions to and from the store's rows */

static void
keystore_addr_str(uint8_t family, const struct seal_endpoint *ep, char *buf,
    size_t len)
{
	int af = family == SEAL_AF_INET6 ? AF_INET6 : AF_INET;

	if (family == 0 || inet_ntop(af, ep->addr, buf, (socklen_t)len) ==
	    NULL)
		snprintf(buf, len, "%s", "");
}

static void
keystore_addr_parse(int family, const char *s, struct seal_endpoint *ep)
{
	memset(ep->addr, 0, sizeof(ep->addr));
	(void)inet_pton(family == SEAL_AF_INET6 ? AF_INET6 : AF_INET, s,
	    ep->addr);
}

static void
keystore_to_row(const struct keystore_conn *kc, char *cli, char *srv,
    size_t alen, struct store_export_conn *row)
{
	keystore_addr_str(kc->family, &kc->client, cli, alen);
	keystore_addr_str(kc->family, &kc->service, srv, alen);
	memset(row, 0, sizeof(*row));
	row->server = kc->server;
	row->conn_id = kc->conn_id;
	row->closed = kc->closed;
	row->last_counter = kc->last_counter;
	row->nrecords = kc->nrecords;
	row->first_us = kc->first_us;
	row->last_us = kc->last_us;
	row->last_time = kc->last_time;
	row->closed_us = kc->closed_us;
	row->family = kc->family;
	row->client_addr = cli;
	row->client_port = kc->client.port;
	row->server_addr = srv;
	row->server_port = kc->service.port;
	row->kex_number = kc->kex_number;
	row->kex_alg = kc->kex_alg;
	row->hostkey_alg = kc->hostkey_alg;
	row->c2s_cipher = kc->c2s_cipher;
	row->c2s_mac = kc->c2s_mac;
	row->c2s_comp = kc->c2s_comp;
	row->s2c_cipher = kc->s2c_cipher;
	row->s2c_mac = kc->s2c_mac;
	row->s2c_comp = kc->s2c_comp;
	row->strict_kex = kc->strict_kex;
	row->user = kc->user;
	row->auth_method = kc->auth_method;
}

#define COPY(dst, src)	snprintf((dst), sizeof(dst), "%s", (src))

static void
keystore_from_row(const struct store_export_conn *row,
    struct keystore_conn *kc)
{
	kc->closed = row->closed;
	kc->nrecords = row->nrecords;
	kc->last_counter = row->last_counter;
	kc->first_us = row->first_us;
	kc->last_us = row->last_us;
	kc->last_time = row->last_time;
	kc->closed_us = row->closed ? row->closed_us : 0;
	kc->family = row->family == SEAL_AF_INET6 ? SEAL_AF_INET6 :
	    SEAL_AF_INET;
	keystore_addr_parse(kc->family, row->client_addr, &kc->client);
	kc->client.port = row->client_port;
	keystore_addr_parse(kc->family, row->server_addr, &kc->service);
	kc->service.port = row->server_port;
	kc->kex_number = row->kex_number;
	COPY(kc->kex_alg, row->kex_alg);
	COPY(kc->hostkey_alg, row->hostkey_alg);
	COPY(kc->c2s_cipher, row->c2s_cipher);
	COPY(kc->c2s_mac, row->c2s_mac);
	COPY(kc->c2s_comp, row->c2s_comp);
	COPY(kc->s2c_cipher, row->s2c_cipher);
	COPY(kc->s2c_mac, row->s2c_mac);
	COPY(kc->s2c_comp, row->s2c_comp);
	kc->strict_kex = row->strict_kex;
	COPY(kc->user, row->user);
	COPY(kc->auth_method, row->auth_method);
}

/* What a record changes in the public view. */
static void
keystore_apply(struct keystore_conn *kc, const struct seal_header *hdr,
    const struct seal_keyrec *kr, int64_t now_us)
{
	if (kc->nrecords == 0)
		kc->first_us = now_us;
	kc->nrecords++;
	kc->last_counter = hdr->counter;
	kc->last_us = now_us;
	kc->last_time = hdr->time;
	kc->family = kr->family;
	kc->client = kr->client;
	kc->service = kr->server;
	if (kr->drain)
		return;		/* a drain part: the keys stay as they are */
	if (kr->closed) {
		kc->closed = 1;
		kc->closed_us = now_us;
		kc->keys_held = 0;
		return;
	}
	kc->kex_number = kr->kex_number;
	COPY(kc->kex_alg, kr->kex_alg);
	COPY(kc->hostkey_alg, kr->hostkey_alg);
	COPY(kc->c2s_cipher, kr->c2s.cipher);
	COPY(kc->c2s_mac, kr->c2s.mac);
	COPY(kc->c2s_comp, kr->c2s.comp);
	COPY(kc->s2c_cipher, kr->s2c.cipher);
	COPY(kc->s2c_mac, kr->s2c.mac);
	COPY(kc->s2c_comp, kr->s2c.comp);
	kc->strict_kex = kr->c2s.strict_kex;
	if (kr->has_login) {
		COPY(kc->user, kr->user);
		COPY(kc->auth_method, kr->auth_method);
	}
	kc->keys_held = 1;
}

/*
 * A rekey record need not repeat the attested login: the login in force
 * stays with the connection's newest keys.
 */
static void
keystore_keep_login(struct seal_keyrec *kr, const struct seal_keyrec *prev)
{
	if (kr->closed || kr->has_login || prev == NULL || !prev->has_login)
		return;
	kr->has_login = 1;
	memcpy(kr->user, prev->user, sizeof(kr->user));
	memcpy(kr->auth_method, prev->auth_method, sizeof(kr->auth_method));
	memcpy(kr->auth_options, prev->auth_options,
	    sizeof(kr->auth_options));
}

/* Reload */

struct keystore_reload {
	struct keystore		*ks;
	struct keystore_entry	*e;
	uint64_t		 next;		/* counter expected */
	int			 failed;
	char			 why[160];
};

static int
keystore_reload_record(void *arg, uint64_t counter, int64_t recv_us,
    const uint8_t *rec, size_t len)
{
	struct keystore_reload *rl = arg;
	struct keystore_entry *e = rl->e;
	const struct keystore_keys *keys = rl->ks->keys;
	struct seal_header hdr;
	struct seal_keyrec *kr = NULL;
	struct buf pt;
	int r;

	(void)recv_us;
	if (keys == NULL || keys->recovery == NULL ||
	    keys->signing[e->server] == NULL) {
		snprintf(rl->why, sizeof(rl->why), "no key to open its "
		    "records (export off or no signing_key)");
		goto fail;
	}
	if (counter != rl->next) {
		snprintf(rl->why, sizeof(rl->why), "record %llu missing",
		    (unsigned long long)rl->next);
		goto fail;
	}
	buf_init(&pt, SEAL_PAYLOAD_MAX);
	buf_set_secret(&pt);
	/* No age check: these records were fresh when they came. */
	r = seal_open(rec, len, keys->recovery, keys->signing[e->server],
	    e->info.server, &hdr, &pt);
	if (r == SEAL_OK && (hdr.conn_id != e->info.conn_id ||
	    hdr.counter != counter))
		r = SEAL_ERR_PAYLOAD;
	if (r == SEAL_OK)
		r = seal_keyrec_decode(buf_ptr(&pt), buf_len(&pt), &hdr, &kr);
	buf_free(&pt);
	if (r == SEAL_OK && kr->closed)
		r = SEAL_ERR_PAYLOAD;	/* an end notice is never kept */
	if (r == SEAL_OK && kr->drain) {
		/* A drain part changes no keys; a restart forgets the drain. */
		seal_keyrec_free(kr);
		rl->next = counter + 1;
		return 0;
	}
	if (r != SEAL_OK) {
		snprintf(rl->why, sizeof(rl->why), "record %llu: %s",
		    (unsigned long long)counter, seal_strerror(r));
		seal_keyrec_free(kr);
		goto fail;
	}
	keystore_keep_login(kr, e->kr);
	seal_keyrec_free(e->kr);
	e->kr = kr;
	rl->next = counter + 1;
	return 0;
 fail:
	rl->failed = 1;
	return 1;
}

struct keystore_load {
	struct keystore	*ks;
	int		 failed;
	size_t		 skipped;
};

static int
keystore_load_row(void *arg, const struct store_export_conn *row)
{
	struct keystore_load *ld = arg;
	struct keystore *ks = ld->ks;
	struct keystore_entry *e;
	int idx;

	if ((idx = conf_server_index(ks->conf, row->server)) < 0) {
		ld->skipped++;
		return 0;
	}
	if (ks->n >= KEYSTORE_MAX_CONNS) {
		ld->skipped++;
		return 0;
	}
	if ((e = keystore_entry_new(ks, (size_t)idx, row->conn_id)) == NULL) {
		ld->failed = 1;
		return 1;
	}
	keystore_from_row(row, &e->info);
	keystore_grow(ks);
	keystore_link(ks, e);
	return 0;
}

/* Re-open the sealed records of one open connection. */
static void
keystore_reload_keys(struct keystore *ks, struct keystore_entry *e)
{
	struct keystore_reload rl;

	memset(&rl, 0, sizeof(rl));
	rl.ks = ks;
	rl.e = e;
	if (store_export_records(ks->store, e->info.server, e->info.conn_id,
	    keystore_reload_record, &rl) != 0 && !rl.failed) {
		rl.failed = 1;
		snprintf(rl.why, sizeof(rl.why), "cannot read its records");
	}
	if (!rl.failed && (rl.next == 0 || rl.next - 1 !=
	    e->info.last_counter)) {
		rl.failed = 1;
		snprintf(rl.why, sizeof(rl.why), "records end before "
		    "counter %llu", (unsigned long long)e->info.last_counter);
	}
	if (rl.failed) {
		seal_keyrec_free(e->kr);
		e->kr = NULL;
		log_warn("keystore: %s connection %016llx: keys not "
		    "restored: %s", e->info.server,
		    (unsigned long long)e->info.conn_id, rl.why);
	}
	e->info.keys_held = e->kr != NULL;
}

int
keystore_open(struct store *st, const struct conf *c,
    const struct keystore_keys *keys, struct keystore **out)
{
	struct keystore *ks;
	struct keystore_load ld;
	struct keystore_counts n;
	struct keystore_entry *e;
	size_t i;

	*out = NULL;
	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return KEYSTORE_ERR_NOMEM;
	ks->store = st;
	ks->conf = c;
	ks->keys = keys;
	ks->nbuckets = KEYSTORE_MIN_BUCKETS;
	arc4random_buf(&ks->seed, sizeof(ks->seed));
	if ((ks->buckets = calloc(ks->nbuckets, sizeof(*ks->buckets))) ==
	    NULL) {
		free(ks);
		return KEYSTORE_ERR_NOMEM;
	}
	if (c->export_max_age > 0)
		(void)store_export_purge(st, store_now_us() -
		    (int64_t)c->export_max_age * 1000000);
	memset(&ld, 0, sizeof(ld));
	ld.ks = ks;
	if (store_export_conns(st, keystore_load_row, &ld) != 0 ||
	    ld.failed) {
		keystore_close(ks);
		return ld.failed ? KEYSTORE_ERR_NOMEM : KEYSTORE_ERR_STORE;
	}
	if (ld.skipped > 0)
		log_warn("keystore: %zu connections in the state file not "
		    "loaded (server no longer configured, or too many)",
		    ld.skipped);
	for (i = 0; i < ks->nbuckets; i++)
		for (e = ks->buckets[i]; e != NULL; e = e->next)
			if (!e->info.closed)
				keystore_reload_keys(ks, e);
	keystore_expire(ks, time(NULL));
	keystore_counts(ks, &n);
	if (n.open + n.closed > 0)
		log_notice("keystore: restored %zu open connections (%zu "
		    "with keys) and %zu ended ones", n.open, n.keys_held,
		    n.closed);
	*out = ks;
	return KEYSTORE_OK;
}

int
keystore_reconf(struct keystore *ks, const struct conf *nc,
    const int *old_of_new)
{
	struct keystore_entry **old = ks->buckets, *e, *next;
	int new_of_old[CONF_MAX_SERVERS];
	size_t i, oldn = ks->nbuckets;
	int forgotten = 0;

	if (ks->conf->nservers > CONF_MAX_SERVERS)
		return -1;
	for (i = 0; i < CONF_MAX_SERVERS; i++)
		new_of_old[i] = -1;
	for (i = 0; i < nc->nservers; i++)
		if (old_of_new[i] >= 0 && old_of_new[i] < CONF_MAX_SERVERS)
			new_of_old[old_of_new[i]] = (int)i;
	if ((ks->buckets = calloc(oldn, sizeof(*ks->buckets))) == NULL) {
		ks->buckets = old;
		return -1;
	}
	ks->n = 0;
	ks->conf = nc;
	for (i = 0; i < oldn; i++)
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			if (e->server >= CONF_MAX_SERVERS ||
			    new_of_old[e->server] < 0) {
				keystore_entry_free(e);
				forgotten++;
				continue;
			}
			e->server = (size_t)new_of_old[e->server];
			e->info.server = nc->servers[e->server].name;
			keystore_link(ks, e);
		}
	free(old);
	return forgotten;
}

void
keystore_close(struct keystore *ks)
{
	struct keystore_entry *e, *next;
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->nbuckets; i++)
		for (e = ks->buckets[i]; e != NULL; e = next) {
			next = e->next;
			keystore_entry_free(e);
		}
	free(ks->buckets);
	explicit_bzero(ks, sizeof(*ks));
	free(ks);
}

/* Operations */

int
keystore_last(struct keystore *ks, size_t server, uint64_t conn_id,
    int *have_last, uint64_t *last, int *closed)
{
	struct keystore_entry *e;
	int r;

	*have_last = 0;
	*last = 0;
	*closed = 0;
	if ((e = keystore_find(ks, server, conn_id)) != NULL) {
		*have_last = 1;
		*last = e->info.last_counter;
		*closed = e->info.closed;
		return KEYSTORE_OK;
	}
	/* Ended connections stay in the state file longer than in memory. */
	r = store_export_lookup(ks->store, ks->conf->servers[server].name,
	    conn_id, last, closed);
	if (r < 0)
		return KEYSTORE_ERR_STORE;
	*have_last = r == 1;
	return KEYSTORE_OK;
}

int
keystore_put(struct keystore *ks, size_t server,
    const struct seal_header *hdr, const uint8_t *rec, size_t len,
    struct seal_keyrec *kr, int64_t now_us)
{
	struct keystore_entry *e, *fresh = NULL;
	struct keystore_conn next;
	struct store_export_conn row;
	char cli[INET6_ADDRSTRLEN], srv[INET6_ADDRSTRLEN];
	int r, have_last, closed;
	uint64_t last;

	if ((r = keystore_last(ks, server, hdr->conn_id, &have_last, &last,
	    &closed)) != KEYSTORE_OK)
		goto out;
	if (closed || seal_replay_check(have_last, last, hdr->counter) !=
	    SEAL_OK || kr->conn_id != hdr->conn_id ||
	    kr->counter != hdr->counter) {
		r = KEYSTORE_ERR_STATE;
		goto out;
	}
	if ((e = keystore_find(ks, server, hdr->conn_id)) == NULL) {
		if (ks->n >= KEYSTORE_MAX_CONNS &&
		    (keystore_expire(ks, time(NULL)) == 0 ||
		    ks->n >= KEYSTORE_MAX_CONNS)) {
			r = KEYSTORE_ERR_FULL;
			goto out;
		}
		if ((fresh = keystore_entry_new(ks, server,
		    hdr->conn_id)) == NULL) {
			r = KEYSTORE_ERR_NOMEM;
			goto out;
		}
		e = fresh;
	}
	keystore_keep_login(kr, e->kr);
	next = e->info;
	keystore_apply(&next, hdr, kr, now_us);
	keystore_to_row(&next, cli, srv, sizeof(cli), &row);
	if (kr->closed)
		r = store_export_close(ks->store, &row);
	else
		r = store_export_record(ks->store, &row, hdr->counter, now_us,
		    rec, len);
	if (r != 0) {
		r = KEYSTORE_ERR_STORE;
		goto out;
	}
	/* The state file has it: now memory follows. */
	e->info = next;
	if (!kr->drain) {
		seal_keyrec_free(e->kr);
		e->kr = NULL;
	}
	if (!kr->closed && !kr->drain) {
		e->kr = kr;
		kr = NULL;
	}
	if (fresh != NULL) {
		keystore_grow(ks);
		keystore_link(ks, fresh);
		fresh = NULL;
	}
	r = KEYSTORE_OK;
	if (kr != NULL && kr->drain) {
		if (ks->drain_listener != NULL)
			ks->drain_listener(ks->drain_listener_arg, server,
			    &e->info, kr);
	} else if (ks->listener != NULL)
		ks->listener(ks->listener_arg, server, &e->info, e->kr);
 out:
	if (fresh != NULL)
		keystore_entry_free(fresh);
	seal_keyrec_free(kr);
	return r;
}

void
keystore_set_listener(struct keystore *ks, keystore_listener_fn fn, void *arg)
{
	ks->listener = fn;
	ks->listener_arg = arg;
}

void
keystore_set_drain_listener(struct keystore *ks, keystore_listener_fn fn,
    void *arg)
{
	ks->drain_listener = fn;
	ks->drain_listener_arg = arg;
}

const struct seal_keyrec *
keystore_find_tuple(struct keystore *ks, size_t server, uint8_t family,
    const struct seal_endpoint *client, const struct seal_endpoint *service)
{
	struct keystore_entry *e;
	size_t i, alen = family == SEAL_AF_INET ? 4 : 16;

	for (i = 0; i < ks->nbuckets; i++)
		for (e = ks->buckets[i]; e != NULL; e = e->next) {
			if (e->server != server || e->kr == NULL ||
			    e->info.closed || e->info.family != family ||
			    e->info.client.port != client->port ||
			    e->info.service.port != service->port ||
			    memcmp(e->info.client.addr, client->addr,
			    alen) != 0 ||
			    memcmp(e->info.service.addr, service->addr,
			    alen) != 0)
				continue;
			return e->kr;
		}
	return NULL;
}

const struct seal_keyrec *
keystore_get(struct keystore *ks, size_t server, uint64_t conn_id)
{
	struct keystore_entry *e = keystore_find(ks, server, conn_id);

	return e != NULL ? e->kr : NULL;
}

size_t
keystore_forget_server(struct keystore *ks, size_t server, int64_t now_us)
{
	struct keystore_entry *e;
	struct store_export_conn row;
	char cli[INET6_ADDRSTRLEN], srv[INET6_ADDRSTRLEN];
	size_t i, n = 0;

	for (i = 0; i < ks->nbuckets; i++)
		for (e = ks->buckets[i]; e != NULL; e = e->next) {
			if (e->server != server || e->info.closed)
				continue;
			seal_keyrec_free(e->kr);
			e->kr = NULL;
			e->info.closed = 1;
			e->info.closed_us = now_us;
			e->info.keys_held = 0;
			keystore_to_row(&e->info, cli, srv, sizeof(cli), &row);
			(void)store_export_close(ks->store, &row);
			n++;
		}
	return n;
}

const struct keystore_conn *
keystore_conn(struct keystore *ks, size_t server, uint64_t conn_id)
{
	struct keystore_entry *e = keystore_find(ks, server, conn_id);

	return e != NULL ? &e->info : NULL;
}

/*
 * An ended connection is remembered until none of its records could pass
 * the age check any more: export_max_age after both its end and the
 * exporter's time in its last record.  With the check off, the state file
 * keeps it for good (the only replay guard left) and memory for a while.
 */
size_t
keystore_expire(struct keystore *ks, time_t now)
{
	struct keystore_entry **pp, *e;
	uint32_t keep = ks->conf->export_max_age;
	int64_t end;
	size_t i, n = 0;
	int r;

	if (keep > 0) {
		r = store_export_purge(ks->store, (int64_t)now * 1000000 -
		    (int64_t)keep * 1000000);
		if (r > 0)
			debug_f("forgot %d ended connections", r);
	} else
		keep = KEYSTORE_CLOSED_LINGER;
	for (i = 0; i < ks->nbuckets; i++) {
		for (pp = &ks->buckets[i]; (e = *pp) != NULL;) {
			end = e->info.closed_us / 1000000;
			if (e->info.last_time <= (uint64_t)INT64_MAX &&
			    (int64_t)e->info.last_time > end)
				end = (int64_t)e->info.last_time;
			if (!e->info.closed || end + keep >= (int64_t)now) {
				pp = &e->next;
				continue;
			}
			*pp = e->next;
			keystore_entry_free(e);
			ks->n--;
			n++;
		}
	}
	return n;
}

static int
keystore_cmp(const void *a, const void *b)
{
	const struct keystore_entry *x, *y;

	x = *(const struct keystore_entry *const *)a;
	y = *(const struct keystore_entry *const *)b;

	if (x->server != y->server)
		return x->server < y->server ? -1 : 1;
	if (x->info.conn_id != y->info.conn_id)
		return x->info.conn_id < y->info.conn_id ? -1 : 1;
	return 0;
}

int
keystore_walk(struct keystore *ks, keystore_walk_cb cb, void *arg)
{
	struct keystore_entry **all, *e;
	size_t i, n = 0;
	int r = 0;

	if (ks->n == 0)
		return 0;
	if ((all = calloc(ks->n, sizeof(*all))) == NULL)
		return KEYSTORE_ERR_NOMEM;
	for (i = 0; i < ks->nbuckets; i++)
		for (e = ks->buckets[i]; e != NULL && n < ks->n; e = e->next)
			all[n++] = e;
	qsort(all, n, sizeof(*all), keystore_cmp);
	for (i = 0; i < n && r == 0; i++)
		r = cb(arg, &all[i]->info);
	free(all);
	return r;
}

struct store *
keystore_store(struct keystore *ks)
{
	return ks->store;
}

const struct keystore_keys *
keystore_keys(struct keystore *ks)
{
	return ks->keys;
}

void
keystore_counts(struct keystore *ks, struct keystore_counts *n)
{
	struct keystore_entry *e;
	size_t i;

	memset(n, 0, sizeof(*n));
	for (i = 0; i < ks->nbuckets; i++)
		for (e = ks->buckets[i]; e != NULL; e = e->next) {
			if (e->info.closed)
				n->closed++;
			else
				n->open++;
			if (e->kr != NULL)
				n->keys_held++;
		}
}
