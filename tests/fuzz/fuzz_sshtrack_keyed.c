/*
 * fuzz_sshtrack_keyed: the SSH tracker with its keys, so that decryption,
 * MAC and tag checks, and every message decoder behind them run on fuzzed
 * messages.  The harness is the SSH peer: like tests/unit/test_sshtrack.c
 * it writes both streams with tests/unit/sshtest_writer.c (identification,
 * KEXINITs, an ECDH exchange, NEWKEYS under key records it makes), then
 * encrypts what the input says.
 *
 * Input: byte 0 picks the cipher and MAC (combos[]), byte 1 bit 0 strict
 * KEX, bits 1-2 the segment size; then records of an op byte and a chunk
 * (fuzz_chunk()).  op bit 7 is the direction; op & 7:
 *   0  a packet whose payload is the chunk (type byte first)
 *   1  the chunk as raw stream bytes (no framing, no encryption)
 *   2  a rekey: KEXINITs, ECDH, NEWKEYS under a new record; op bit 3: the
 *      record is withheld (the tracker waits for it)
 *   3  every record made so far arrives (sshtrack_keys_arrived())
 *   4  the other side acknowledges everything of the direction
 *   5  a packet whose payload is the chunk, lost by the capture
 *   6  a packet whose payload is the chunk, its ciphertext byte chunk[0]
 *      flipped
 *   7  the queries of a takeover, now
 */
#include <openssl/sha.h>
#include <stdio.h>

#include "sshfx.c"
#include "sshtest_writer.c"

#define C2S	SSHTRACK_C2S
#define S2C	SSHTRACK_S2C

struct combo {
	const char	*cipher, *mac;
};

static const struct combo combos[] = {
	{ "chacha20-poly1305@openssh.com", "" },
	{ "aes128-gcm@openssh.com", "" },
	{ "aes256-gcm@openssh.com", "" },
	{ "aes128-ctr", "hmac-sha2-256-etm@openssh.com" },
	{ "aes256-ctr", "hmac-sha2-512" },
	{ "aes256-ctr", "umac-64@openssh.com" },
	{ "aes128-ctr", "umac-128-etm@openssh.com" },
	{ "aes256-cbc", "hmac-sha2-256" },
	{ "aes192-cbc", "hmac-sha1-etm@openssh.com" },
	{ "aes128-cbc", "hmac-sha1-96" },
};
#define NCOMBOS	(sizeof(combos) / sizeof(combos[0]))

static const size_t mss_of[4] = { 536, 1448, 7, 65536 };

struct keyed {
	struct sshfx		*f;
	struct sshtest_w	 w[2];
	const struct combo	*co;
	int			 strict;
	size_t			 mss;
	int			 nkex;		/* records made */
};

static void
fill(const char *label, int n, uint8_t *out, size_t len)
{
	uint8_t h[SHA512_DIGEST_LENGTH];
	char s[64];

	snprintf(s, sizeof(s), "%s %d", label, n);
	SHA512((const uint8_t *)s, strlen(s), h);
	memcpy(out, h, len);
}

static size_t
keylen_of(const char *cipher)
{
	if (strstr(cipher, "chacha") != NULL)
		return 64;
	if (strstr(cipher, "128") != NULL)
		return 16;
	if (strstr(cipher, "192") != NULL)
		return 24;
	return 32;
}

static size_t
mackeylen_of(const char *mac)
{
	if (*mac == '\0')
		return 0;
	if (strncmp(mac, "umac", 4) == 0)
		return 16;
	if (strncmp(mac, "hmac-sha2-512", 13) == 0)
		return 64;
	if (strncmp(mac, "hmac-sha1", 9) == 0)
		return 20;
	return 32;
}

static void
dir_keys(struct seal_dir *d, const struct combo *co, int kex, int dir,
    uint32_t start, int strict)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->cipher, sizeof(d->cipher), "%s", co->cipher);
	snprintf(d->mac, sizeof(d->mac), "%s", co->mac);
	snprintf(d->comp, sizeof(d->comp), "none");
	d->enc_key_len = keylen_of(co->cipher);
	fill("enc", kex * 2 + dir, d->enc_key, d->enc_key_len);
	d->iv_len = strstr(co->cipher, "chacha") ? 0 :
	    strstr(co->cipher, "gcm") ? 12 : 16;
	fill("iv", kex * 2 + dir, d->iv, d->iv_len);
	d->mac_key_len = mackeylen_of(co->mac);
	fill("mac", kex * 2 + dir, d->mac_key, d->mac_key_len);
	d->start_seqnr = start;
	d->strict_kex = strict;
}

/* Feed what the writer of dir wrote since the last call. */
static void
k_feed(struct keyed *k, int dir)
{
	struct sshfx *f = k->f;
	uint64_t end = buf_len(&k->w[dir].out);

	if (f->c != NULL && end > f->fed[dir])
		fx_feed(f, dir, buf_ptr(&k->w[dir].out) + f->fed[dir],
		    (size_t)(end - f->fed[dir]), k->mss);
	f->fed[dir] = end;
}

/* A KEXINIT offering the combo, as the client and server lists differ. */
static void
kexinit(struct keyed *k, int dir)
{
	char kex[256], ciphers[256], macs[256];

	if (dir == C2S)
		snprintf(kex, sizeof(kex), "sntrup761x25519-sha512@openssh.com,"
		    "curve25519-sha256,ext-info-c%s", k->strict ?
		    ",kex-strict-c-v00@openssh.com" : "");
	else
		snprintf(kex, sizeof(kex), "curve25519-sha256,"
		    "kex-strict-s-v00@openssh.com");
	snprintf(ciphers, sizeof(ciphers), dir == C2S ? "%s,aes128-ctr" :
	    "aes128-ctr,%s,aes256-gcm@openssh.com", k->co->cipher);
	snprintf(macs, sizeof(macs), dir == C2S ? "%s%shmac-sha2-256" :
	    "hmac-sha2-256%s%s", dir == C2S ? k->co->mac : ",",
	    dir == C2S ? (*k->co->mac ? "," : "") : k->co->mac);
	w_kexinit(&k->w[dir], kex, ciphers, macs, dir == C2S ? "none" :
	    "none,zlib@openssh.com");
	k_feed(k, dir);
}

/* ECDH, a record for the new keys, both NEWKEYS. */
static void
kex_finish(struct keyed *k, int withhold)
{
	struct sshfx *f = k->f;
	struct seal_keyrec *r;
	struct msg m;
	uint8_t pub[32];
	int kex;

	if (k->nkex >= SSHFX_MAXKEX)
		return;
	kex = k->nkex++;
	memset(pub, 0x42, sizeof(pub));
	m_init(&m, 30);				/* KEX_ECDH_INIT */
	m_bytes(&m, pub, sizeof(pub));
	m_send(&m, &k->w[C2S]);
	k_feed(k, C2S);
	m_init(&m, 31);				/* KEX_ECDH_REPLY */
	m_bytes(&m, pub, 20);
	m_bytes(&m, pub, sizeof(pub));
	m_bytes(&m, pub, 30);
	m_send(&m, &k->w[S2C]);
	r = &f->rec[kex];
	memset(r, 0, sizeof(*r));
	r->kex_number = (uint32_t)kex;
	r->counter = (uint64_t)kex;
	r->family = SEAL_AF_INET;
	r->session_id_len = 32;
	fill("sid", 0, r->session_id, 32);
	snprintf(r->kex_alg, sizeof(r->kex_alg), "curve25519-sha256");
	snprintf(r->hostkey_alg, sizeof(r->hostkey_alg), "ssh-ed25519");
	dir_keys(&r->c2s, k->co, kex, C2S, k->strict ? 0 :
	    k->w[C2S].seqnr + 1, k->strict);
	dir_keys(&r->s2c, k->co, kex, S2C, k->strict ? 0 :
	    k->w[S2C].seqnr + 1, k->strict);
	w_next_keys(&k->w[C2S], &r->c2s);
	w_next_keys(&k->w[S2C], &r->s2c);
	f->avail[kex] = !withhold;
	w_newkeys(&k->w[S2C]);
	k_feed(k, S2C);
	w_newkeys(&k->w[C2S]);
	k_feed(k, C2S);
}

#define CLIENT_VERSION	"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6"
#define SERVER_VERSION	"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10 SecureJeebs"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyed k;
	const uint8_t *p;
	struct buf in;
	size_t len, at;
	uint8_t op;
	int dir, i;

	if (size < 2)
		return 0;
	memset(&k, 0, sizeof(k));
	k.co = &combos[data[0] % NCOMBOS];
	k.strict = data[1] & 1;
	k.mss = mss_of[(data[1] >> 1) & 3];
	k.f = fx_new();
	w_init(&k.w[C2S]);
	w_init(&k.w[S2C]);
	k.w[C2S].strict = k.w[S2C].strict = k.strict;
	w_raw(&k.w[C2S], CLIENT_VERSION "\r\n", strlen(CLIENT_VERSION) + 2);
	k_feed(&k, C2S);
	w_raw(&k.w[S2C], SERVER_VERSION "\r\n", strlen(SERVER_VERSION) + 2);
	k_feed(&k, S2C);
	kexinit(&k, C2S);
	kexinit(&k, S2C);
	kex_finish(&k, 0);

	buf_view(&in, data + 2, size - 2);
	while (k.f->c != NULL && buf_get_u8(&in, &op) == 0 &&
	    fuzz_chunk(&in, &p, &len) == 0) {
		dir = op >> 7;
		switch (op & 7) {
		case 0:
			w_packet(&k.w[dir], p, len);
			k_feed(&k, dir);
			break;
		case 1:
			w_raw(&k.w[dir], p, len);
			k_feed(&k, dir);
			break;
		case 2:
			kexinit(&k, C2S);
			kexinit(&k, S2C);
			kex_finish(&k, (op & 8) != 0);
			break;
		case 3:
			for (i = 0; i < SSHFX_MAXKEX; i++)
				k.f->avail[i] = i < k.nkex;
			sshtrack_keys_arrived(k.f->st, k.f->c);
			break;
		case 4:
			fx_ack(k.f, dir);
			break;
		case 5:
			w_packet(&k.w[dir], p, len);
			k.f->fed[dir] = buf_len(&k.w[dir].out);
			break;
		case 6:
			at = buf_len(&k.w[dir].out);
			w_packet(&k.w[dir], p, len);
			if (len > 0 && at + p[0] < buf_len(&k.w[dir].out))
				k.w[dir].out.data[at + p[0]] ^= 0x01;
			k_feed(&k, dir);
			break;
		case 7:
			fx_query(k.f);
			break;
		}
	}
	fx_query(k.f);
	fx_free(k.f);
	w_free(&k.w[C2S]);
	w_free(&k.w[S2C]);
	return 0;
}
