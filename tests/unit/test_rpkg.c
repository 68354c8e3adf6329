/*
 * Unit tests for rpkg: the recovery package (SJRP1) and the import (SJRI1)
 * of docs/recovery-format.md round trip field by field and byte for byte;
 * every truncation, trailing bytes, oversize counts and lengths, names with
 * control characters and every other malformed field are rejected with a
 * reason that names the field; the plaintext packet framing of the control
 * channel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "rpkg.h"

static struct rpkg *
sample(void)
{
	static const struct rpkg_chan chans[] = {
		{ 0, 3, "session", 2097152, 1048576, 32768, 16384, 0 },
		{ 1, 7, "direct-tcpip", 100, 200, 300, 400, RPKG_CHAN_EOF_C2S },
		{ 5, 9, "forwarded-tcpip", 0, 4294967295u, 1, 2,
		    RPKG_CHAN_BY_SERVER | RPKG_CHAN_EOF_S2C },
	};
	static const uint8_t service[] = { 5, 0, 0, 0, 12, 's', 's', 'h', '-',
	    'u', 's', 'e', 'r', 'a', 'u', 't', 'h' };
	static const uint8_t success[] = { 52 };
	static const uint8_t confirm[] = { 91, 0, 0, 0, 0, 0, 0, 0, 3, 0, 32,
	    0, 0, 0, 0, 128, 0 };
	struct rpkg *k;
	size_t i;

	assert_non_null(k = rpkg_new());
	strcpy(k->client_version, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3");
	strcpy(k->server_version, "SSH-2.0-OpenSSH_9.6");
	for (i = 0; i < 48; i++)
		k->session_id[i] = (uint8_t)(0xa0 ^ i);
	k->session_id_len = 48;
	strcpy(k->kex_alg, "sntrup761x25519-sha512@openssh.com");
	strcpy(k->hostkey_alg, "rsa-sha2-512");
	k->strict_kex = 1;
	strcpy(k->user, "Zoë Müller");		/* UTF-8 is fine */
	strcpy(k->auth_method, "keyboard-interactive/pam");
	k->flags = RPKG_RERUN_EXEC;
	strcpy(k->notice, "SecureJeebs: your session was recovered; "
	    "a new shell.");
	strcpy(k->dir[RPKG_C2S].cipher, "chacha20-poly1305@openssh.com");
	for (i = 0; i < 64; i++)
		k->dir[RPKG_C2S].key[i] = (uint8_t)i;
	k->dir[RPKG_C2S].key_len = 64;
	k->dir[RPKG_C2S].seqnr = 0xfffffffe;
	k->dir[RPKG_C2S].packets = 1ull << 40;
	k->dir[RPKG_C2S].blocks = 0x0123456789abcdefull;
	strcpy(k->dir[RPKG_S2C].cipher, "aes256-cbc");
	strcpy(k->dir[RPKG_S2C].mac, "umac-128-etm@openssh.com");
	memset(k->dir[RPKG_S2C].key, 0x77, 32);
	k->dir[RPKG_S2C].key_len = 32;
	memset(k->dir[RPKG_S2C].iv, 0x88, 16);
	k->dir[RPKG_S2C].iv_len = 16;
	memset(k->dir[RPKG_S2C].mac_key, 0x99, 16);
	k->dir[RPKG_S2C].mac_key_len = 16;
	k->dir[RPKG_S2C].seqnr = 7;
	for (i = 0; i < sizeof(chans) / sizeof(chans[0]); i++)
		assert_int_equal(rpkg_add_chan(k, &chans[i]), 0);
	assert_int_equal(rpkg_add_msg(k, RPKG_C2S, 0, service,
	    sizeof(service)), 0);
	assert_int_equal(rpkg_add_msg(k, RPKG_C2S, 1, NULL, 0), 0);
	assert_int_equal(rpkg_add_msg(k, RPKG_C2S, 2, NULL, 0), 0);
	assert_int_equal(rpkg_add_msg(k, RPKG_S2C, 0, success,
	    sizeof(success)), 0);
	assert_int_equal(rpkg_add_msg(k, RPKG_S2C, 0, confirm,
	    sizeof(confirm)), 0);
	return k;
}

static void
encode(const struct rpkg *k, struct buf *out)
{
	buf_init(out, RPKG_MAX);
	assert_int_equal(rpkg_encode(k, out), 0);
}

static void
encode_import(const struct rpkg *k, struct buf *out)
{
	buf_init(out, RPKG_MAX);
	assert_int_equal(rpkg_encode_import(k, out), 0);
}

/* Decoding fails, and the reason holds expect. */
static void
assert_rejected(const uint8_t *p, size_t len, int import_only,
    const char *expect)
{
	struct rpkg *k = (struct rpkg *)1;
	char why[256] = "";
	int r;

	r = import_only ? rpkg_decode_import(p, len, &k, why, sizeof(why)) :
	    rpkg_decode(p, len, &k, why, sizeof(why));
	if (r != -1 || strstr(why, expect) == NULL)
		fail_msg("decode %s, reason \"%s\", expected \"%s\"",
		    r == 0 ? "succeeded" : "failed", why, expect);
	assert_null(k);
}

/* Wrap an import payload into a package with an empty log. */
static void
wrap(const struct buf *import, struct buf *pkg)
{
	buf_init(pkg, RPKG_MAX);
	assert_int_equal(buf_put_cstring(pkg, "SJRP1"), 0);
	assert_int_equal(buf_put_string(pkg, buf_ptr(import),
	    buf_len(import)), 0);
	assert_int_equal(buf_put_u32(pkg, 0), 0);
}

/*
 * The import of k with the first string equal to old (a u32 length and its
 * bytes) replaced by new; rejected alone and inside a package.
 */
static void
assert_string_rejected(const struct rpkg *k, const void *old, size_t oldlen,
    const void *new, size_t newlen, const char *expect)
{
	struct buf enc, mod, pkg, needle;
	const uint8_t *p;
	size_t i, len;

	encode_import(k, &enc);
	buf_init(&needle, 0);
	assert_int_equal(buf_put_string(&needle, old, oldlen), 0);
	p = buf_ptr(&enc);
	len = buf_len(&enc);
	for (i = 0; i + buf_len(&needle) <= len; i++)
		if (memcmp(p + i, buf_ptr(&needle), buf_len(&needle)) == 0)
			break;
	assert_true(i + buf_len(&needle) <= len);
	buf_init(&mod, RPKG_MAX);
	assert_int_equal(buf_put(&mod, p, i), 0);
	assert_int_equal(buf_put_string(&mod, new, newlen), 0);
	assert_int_equal(buf_put(&mod, p + i + buf_len(&needle),
	    len - i - buf_len(&needle)), 0);
	assert_rejected(buf_ptr(&mod), buf_len(&mod), 1, expect);
	wrap(&mod, &pkg);
	assert_rejected(buf_ptr(&pkg), buf_len(&pkg), 0, expect);
	buf_free(&enc);
	buf_free(&mod);
	buf_free(&pkg);
	buf_free(&needle);
}

static void
test_round_trip(void **state)
{
	struct rpkg *k = sample(), *d;
	struct buf enc, again;
	char why[256];
	size_t i, j;

	(void)state;
	encode(k, &enc);
	assert_int_equal(rpkg_decode(buf_ptr(&enc), buf_len(&enc), &d, why,
	    sizeof(why)), 0);
	assert_string_equal(d->client_version, k->client_version);
	assert_string_equal(d->server_version, k->server_version);
	assert_int_equal(d->session_id_len, 48);
	assert_memory_equal(d->session_id, k->session_id, 48);
	assert_string_equal(d->kex_alg, k->kex_alg);
	assert_string_equal(d->hostkey_alg, k->hostkey_alg);
	assert_int_equal(d->strict_kex, 1);
	assert_string_equal(d->user, "Zoë Müller");
	assert_string_equal(d->auth_method, "keyboard-interactive/pam");
	assert_int_equal(d->flags, RPKG_RERUN_EXEC);
	assert_string_equal(d->notice, k->notice);
	for (i = 0; i < 2; i++) {
		const struct rpkg_dir *a = &k->dir[i], *b = &d->dir[i];

		assert_string_equal(a->cipher, b->cipher);
		assert_string_equal(a->mac, b->mac);
		assert_int_equal(a->key_len, b->key_len);
		assert_memory_equal(a->key, b->key, a->key_len);
		assert_int_equal(a->iv_len, b->iv_len);
		assert_memory_equal(a->iv, b->iv, a->iv_len);
		assert_int_equal(a->mac_key_len, b->mac_key_len);
		assert_memory_equal(a->mac_key, b->mac_key, a->mac_key_len);
		assert_int_equal(a->seqnr, b->seqnr);
		assert_int_equal(a->packets, b->packets);
		assert_int_equal(a->blocks, b->blocks);
	}
	assert_int_equal(d->nchans, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(d->chans[i].id_client, k->chans[i].id_client);
		assert_int_equal(d->chans[i].id_server, k->chans[i].id_server);
		assert_string_equal(d->chans[i].type, k->chans[i].type);
		assert_int_equal(d->chans[i].window_c2s,
		    k->chans[i].window_c2s);
		assert_int_equal(d->chans[i].window_s2c,
		    k->chans[i].window_s2c);
		assert_int_equal(d->chans[i].maxpacket_c2s,
		    k->chans[i].maxpacket_c2s);
		assert_int_equal(d->chans[i].maxpacket_s2c,
		    k->chans[i].maxpacket_s2c);
		assert_int_equal(d->chans[i].flags, k->chans[i].flags);
	}
	assert_int_equal(d->nlog, 5);
	for (j = 0; j < 5; j++) {
		assert_int_equal(d->log[j].dir, k->log[j].dir);
		assert_int_equal(d->log[j].flags, k->log[j].flags);
		assert_int_equal(d->log[j].len, k->log[j].len);
		if (k->log[j].len > 0)
			assert_memory_equal(d->log[j].p, k->log[j].p,
			    k->log[j].len);
	}
	assert_int_equal(d->log[1].flags, 1);
	assert_null(d->log[1].p);
	/* Canonical: what is decoded encodes to the same bytes. */
	encode(d, &again);
	assert_int_equal(buf_len(&again), buf_len(&enc));
	assert_memory_equal(buf_ptr(&again), buf_ptr(&enc), buf_len(&enc));
	rpkg_free(k);
	rpkg_free(d);
	buf_free(&enc);
	buf_free(&again);
}

static void
test_import_round_trip(void **state)
{
	struct rpkg *k = sample(), *d;
	struct buf enc, again;
	char why[256];

	(void)state;
	encode_import(k, &enc);
	assert_int_equal(rpkg_decode_import(buf_ptr(&enc), buf_len(&enc), &d,
	    why, sizeof(why)), 0);
	assert_int_equal(d->nlog, 0);
	assert_int_equal(d->nchans, 3);
	encode_import(d, &again);
	assert_int_equal(buf_len(&again), buf_len(&enc));
	assert_memory_equal(buf_ptr(&again), buf_ptr(&enc), buf_len(&enc));
	/* The import is not a package, nor the reverse. */
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "package: not an SJRP1 encoding");
	buf_free(&again);
	encode(k, &again);
	assert_rejected(buf_ptr(&again), buf_len(&again), 1,
	    "import: not an SJRI1 encoding");
	rpkg_free(k);
	rpkg_free(d);
	buf_free(&enc);
	buf_free(&again);
}

/* Every proper prefix is rejected, each with a reason. */
static void
test_truncations(void **state)
{
	struct rpkg *k = sample(), *d = (struct rpkg *)1;
	struct buf enc;
	char why[256];
	size_t len;

	(void)state;
	encode(k, &enc);
	for (len = 0; len < buf_len(&enc); len++) {
		why[0] = '\0';
		if (rpkg_decode(buf_ptr(&enc), len, &d, why,
		    sizeof(why)) != -1)
			fail_msg("a package cut to %zu of %zu bytes decoded",
			    len, buf_len(&enc));
		assert_null(d);
		if (strncmp(why, "package: ", 9) != 0 &&
		    strncmp(why, "import: ", 8) != 0)
			fail_msg("cut to %zu: reason \"%s\"", len, why);
		if (strstr(why, "truncated") == NULL &&
		    strstr(why, "trailing") == NULL &&
		    strstr(why, "not an SJRP1") == NULL)
			fail_msg("cut to %zu: reason \"%s\"", len, why);
	}
	buf_free(&enc);
	encode_import(k, &enc);
	for (len = 0; len < buf_len(&enc); len++) {
		why[0] = '\0';
		assert_int_equal(rpkg_decode_import(buf_ptr(&enc), len, &d,
		    why, sizeof(why)), -1);
		assert_true(strncmp(why, "import: ", 8) == 0);
	}
	/* Where the cut falls is named. */
	assert_rejected(buf_ptr(&enc), buf_len(&enc) - 1, 1,
	    "import: channel 2 flags: truncated");
	assert_rejected(buf_ptr(&enc), 30, 1,
	    "import: client_version: truncated");
	buf_free(&enc);
	rpkg_free(k);
}

static void
test_trailing(void **state)
{
	struct rpkg *k = sample();
	struct buf enc, imp, pkg;

	(void)state;
	encode(k, &enc);
	assert_int_equal(buf_put_u8(&enc, 0), 0);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "package: 1 trailing bytes");
	encode_import(k, &imp);
	assert_int_equal(buf_put_u32(&imp, 0), 0);
	assert_rejected(buf_ptr(&imp), buf_len(&imp), 1,
	    "import: 4 trailing bytes");
	wrap(&imp, &pkg);
	assert_rejected(buf_ptr(&pkg), buf_len(&pkg), 0,
	    "import: 4 trailing bytes");
	buf_free(&enc);
	buf_free(&imp);
	buf_free(&pkg);
	rpkg_free(k);
}

static void
patch_u32(struct buf *b, size_t off, uint32_t v)
{
	uint8_t *p = b->data + off;

	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
test_counts(void **state)
{
	struct rpkg *k = sample();
	struct buf enc, imp, pkg;
	size_t nlog_off, nchans_off;
	uint8_t *big;

	(void)state;
	encode(k, &enc);
	encode_import(k, &imp);
	/* magic string, import string, then nlog */
	nlog_off = 4 + 5 + 4 + buf_len(&imp);
	patch_u32(&enc, nlog_off, RPKG_MAX_LOG + 1);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "package: 65537 log entries (at most 65536)");
	patch_u32(&enc, nlog_off, RPKG_MAX_LOG);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "package: log: truncated (65536 entries announced");
	patch_u32(&enc, nlog_off, 6);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "package: log entry 5: truncated");
	buf_free(&enc);
	buf_free(&imp);

	/* The channels end the import: nchans is before the last three. */
	while (k->nchans > 0)
		k->nchans--;
	encode_import(k, &imp);
	nchans_off = buf_len(&imp) - 4;
	patch_u32(&imp, nchans_off, RPKG_MAX_CHANS + 1);
	assert_rejected(buf_ptr(&imp), buf_len(&imp), 1,
	    "import: 4097 channels (at most 4096)");
	wrap(&imp, &pkg);
	assert_rejected(buf_ptr(&pkg), buf_len(&pkg), 0,
	    "import: 4097 channels (at most 4096)");
	buf_free(&pkg);
	patch_u32(&imp, nchans_off, 2);
	assert_rejected(buf_ptr(&imp), buf_len(&imp), 1,
	    "import: channels: truncated (2 announced, 0 bytes left)");
	buf_free(&imp);

	/* Adding past the limits fails. */
	while (k->nlog < RPKG_MAX_LOG)
		assert_int_equal(rpkg_add_msg(k, RPKG_S2C, 0,
		    (const uint8_t *)"\x34", 1), 0);
	assert_int_equal(rpkg_add_msg(k, RPKG_S2C, 0,
	    (const uint8_t *)"\x34", 1), -1);
	assert_int_equal(rpkg_add_msg(k, 2, 0, NULL, 0), -1);
	rpkg_free(k);

	/* A package over 4 MiB, whatever it holds. */
	assert_non_null(big = calloc(1, RPKG_MAX + 1));
	assert_rejected(big, RPKG_MAX + 1, 0, "package: 4194305 bytes "
	    "(at most 4194304)");
	free(big);
}

static void
test_lengths(void **state)
{
	struct rpkg *k = sample();
	uint8_t long_bytes[300];
	const char *cipher = k->dir[RPKG_C2S].cipher;

	(void)state;
	memset(long_bytes, 'a', sizeof(long_bytes));
	memcpy(long_bytes, "SSH-2.0-", 8);
	assert_string_rejected(k, k->client_version,
	    strlen(k->client_version), long_bytes, 256,
	    "import: client_version: 256 bytes (at most 255)");
	assert_string_rejected(k, k->session_id, 48, long_bytes, 65,
	    "import: session_id: 65 bytes (at most 64)");
	assert_string_rejected(k, k->session_id, 48, "", 0,
	    "import: session_id: empty");
	assert_string_rejected(k, k->kex_alg, strlen(k->kex_alg), long_bytes,
	    65, "import: kex_alg: 65 bytes (at most 64)");
	assert_string_rejected(k, k->user, strlen(k->user), long_bytes, 256,
	    "import: user: 256 bytes (at most 255)");
	assert_string_rejected(k, k->user, strlen(k->user), "", 0,
	    "import: user: empty");
	assert_string_rejected(k, k->notice, strlen(k->notice), long_bytes,
	    201, "import: notice: 201 bytes (at most 200)");
	assert_string_rejected(k, cipher, strlen(cipher), long_bytes, 65,
	    "import: c2s cipher: 65 bytes (at most 64)");
	assert_string_rejected(k, k->dir[RPKG_C2S].key, 64, long_bytes, 65,
	    "import: c2s key: 65 bytes (at most 64)");
	assert_string_rejected(k, k->dir[RPKG_S2C].iv, 16, long_bytes, 65,
	    "import: s2c iv: 65 bytes (at most 64)");
	assert_string_rejected(k, k->dir[RPKG_S2C].mac_key, 16, long_bytes,
	    65, "import: s2c mac_key: 65 bytes (at most 64)");
	assert_string_rejected(k, "forwarded-tcpip", 15, long_bytes, 65,
	    "import: channel 2 type: 65 bytes (at most 64)");
	rpkg_free(k);
}

static void
test_control_characters(void **state)
{
	struct rpkg *k = sample();

	(void)state;
	assert_string_rejected(k, k->client_version,
	    strlen(k->client_version), "SSH-2.0-x\r\n", 11,
	    "import: client_version: control character");
	assert_string_rejected(k, k->server_version,
	    strlen(k->server_version), "SSH-2.0-\x1b[2J", 12,
	    "import: server_version: control character");
	assert_string_rejected(k, k->user, strlen(k->user), "root\n", 5,
	    "import: user: control character");
	assert_string_rejected(k, k->user, strlen(k->user), "ro\0ot", 5,
	    "import: user: control character");
	assert_string_rejected(k, k->notice, strlen(k->notice),
	    "hello\x07", 6, "import: notice: control character");
	assert_string_rejected(k, k->notice, strlen(k->notice),
	    "del\x7f", 4, "import: notice: control character");
	assert_string_rejected(k, k->kex_alg, strlen(k->kex_alg),
	    "curve25519 sha256", 17, "import: kex_alg: not a name");
	assert_string_rejected(k, k->hostkey_alg, strlen(k->hostkey_alg),
	    "ssh-ed25519\t", 12, "import: hostkey_alg: not a name");
	assert_string_rejected(k, k->auth_method, strlen(k->auth_method),
	    "password\xc3\xa9", 10, "import: auth_method: not a name");
	assert_string_rejected(k, "aes256-cbc", 10, "aes256\x01" "cbc", 10,
	    "import: s2c cipher: not a name");
	assert_string_rejected(k, "umac-128-etm@openssh.com", 24, "umac\n",
	    5, "import: s2c mac: not a name");
	assert_string_rejected(k, "direct-tcpip", 12, "direct\ntcpip", 12,
	    "import: channel 1 type: not a name");
	rpkg_free(k);
}

static void
test_fields(void **state)
{
	struct rpkg *k = sample();
	struct rpkg_chan dup;
	struct buf enc;
	size_t last;

	(void)state;
	assert_string_rejected(k, k->client_version,
	    strlen(k->client_version), "OpenSSH_9.2", 11,
	    "import: client_version: does not start with SSH-");
	assert_string_rejected(k, k->dir[RPKG_C2S].key, 64, "", 0,
	    "import: c2s key: empty");
	assert_string_rejected(k, "umac-128-etm@openssh.com", 24, "", 0,
	    "import: s2c: a mac_key without a mac");
	assert_string_rejected(k, "aes256-cbc", 10, "", 0,
	    "import: s2c cipher: empty");

	k->flags = 0x80000001u;
	encode(k, &enc);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "import: flags: unknown bits 0x80000000");
	buf_free(&enc);
	k->flags = RPKG_RERUN_EXEC;
	k->chans[1].flags = 0x08;
	encode(k, &enc);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "import: channel 1 flags: unknown bits 0x8");
	buf_free(&enc);
	k->chans[1].flags = 0;

	dup = k->chans[0];
	dup.id_server = 99;
	assert_int_equal(rpkg_add_chan(k, &dup), 0);
	encode(k, &enc);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "import: channels 0 and 3: same client id 0");
	buf_free(&enc);
	k->chans[3].id_client = 42;
	k->chans[3].id_server = 9;
	encode(k, &enc);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "import: channels 2 and 3: same server id 9");
	buf_free(&enc);
	k->nchans = 3;

	/* Log entries: the last one's dir, flags and payload. */
	assert_int_equal(rpkg_add_msg(k, RPKG_C2S, 0,
	    (const uint8_t *)"\x60", 1), 0);
	encode(k, &enc);
	last = buf_len(&enc) - (4 + 4 + 4 + 1);
	patch_u32(&enc, last, 2);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "package: log entry 5: direction 2 (0 or 1)");
	patch_u32(&enc, last, RPKG_C2S);
	patch_u32(&enc, last + 4, 4);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "package: log entry 5: unknown flags 0x4");
	patch_u32(&enc, last + 4, 1);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "package: log entry 5: flags 0x1 on a message other than "
	    "USERAUTH_REQUEST");
	patch_u32(&enc, last + 4, 0);
	patch_u32(&enc, last + 8, 0);
	assert_rejected(buf_ptr(&enc), buf_len(&enc) - 1, 0,
	    "package: log entry 5: empty payload");
	buf_free(&enc);
	rpkg_free(k);

	/* A dropped password from the server's side is no such thing. */
	k = sample();
	k->log[1].dir = RPKG_S2C;
	encode(k, &enc);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 0,
	    "package: log entry 1: flags 0x1 on a message other than "
	    "USERAUTH_REQUEST");
	buf_free(&enc);
	rpkg_free(k);
}

static void
test_strict_kex(void **state)
{
	struct rpkg *k = sample();
	struct buf enc;
	const uint8_t *p;
	size_t i;

	(void)state;
	/* strict_kex is the u32 after hostkey_alg. */
	encode_import(k, &enc);
	p = buf_ptr(&enc);
	for (i = 0; i + 12 < buf_len(&enc); i++)
		if (memcmp(p + i, "rsa-sha2-512", 12) == 0)
			break;
	patch_u32(&enc, i + 12, 2);
	assert_rejected(buf_ptr(&enc), buf_len(&enc), 1,
	    "import: strict_kex: 2 (0 or 1)");
	buf_free(&enc);
	rpkg_free(k);
}

static void
test_packets(void **state)
{
	uint8_t payload[300], bad[32];
	const uint8_t *p;
	struct buf b, part;
	char why[128];
	size_t len, i, total, got;
	uint32_t plen;
	uint8_t padlen;

	(void)state;
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (len = 1; len <= sizeof(payload); len++) {
		buf_init(&b, 0);
		assert_int_equal(rpkg_packet_put(&b, payload, len), 0);
		total = buf_len(&b);
		assert_int_equal(total % 8, 0);
		assert_int_equal(buf_peek_u32(&b, 0, &plen), 0);
		assert_int_equal(plen + 4, total);
		assert_int_equal(buf_peek_u8(&b, 4, &padlen), 0);
		assert_true(padlen >= 4 && padlen < 12);
		/* Any prefix: not yet whole, nothing consumed. */
		for (i = 0; i < total; i++) {
			buf_view(&part, buf_ptr(&b), i);
			assert_int_equal(rpkg_packet_get(&part, &p, &got, why,
			    sizeof(why)), BUF_ERR_SHORT);
			assert_int_equal(buf_len(&part), i);
		}
		assert_int_equal(rpkg_packet_get(&b, &p, &got, why,
		    sizeof(why)), 0);
		assert_int_equal(got, len);
		assert_memory_equal(p, payload, len);
		assert_int_equal(buf_len(&b), 0);
		buf_free(&b);
	}
	buf_init(&b, 0);
	assert_int_equal(rpkg_packet_put(&b, payload, RPKG_PACKET_MAX),
	    BUF_ERR_TOOBIG);
	buf_free(&b);

	/* Malformed: too long, not a multiple of 8, short padding, empty. */
	memset(bad, 0, sizeof(bad));
	bad[1] = 0x04;
	bad[2] = 0x00;
	bad[3] = 0x04;			/* 256 KiB + 4 */
	buf_view(&b, bad, sizeof(bad));
	assert_int_equal(rpkg_packet_get(&b, &p, &len, why, sizeof(why)),
	    BUF_ERR_FORMAT);
	assert_non_null(strstr(why, "packet_length 262148 (at most 262144)"));
	memset(bad, 0, sizeof(bad));
	bad[3] = 13;
	buf_view(&b, bad, sizeof(bad));
	assert_int_equal(rpkg_packet_get(&b, &p, &len, why, sizeof(why)),
	    BUF_ERR_FORMAT);
	assert_non_null(strstr(why, "not a multiple of 8"));
	bad[3] = 12;
	bad[4] = 3;
	buf_view(&b, bad, sizeof(bad));
	assert_int_equal(rpkg_packet_get(&b, &p, &len, why, sizeof(why)),
	    BUF_ERR_FORMAT);
	assert_non_null(strstr(why, "padding of 3 bytes (at least 4)"));
	bad[4] = 11;
	buf_view(&b, bad, sizeof(bad));
	assert_int_equal(rpkg_packet_get(&b, &p, &len, why, sizeof(why)),
	    BUF_ERR_FORMAT);
	assert_non_null(strstr(why, "no payload"));
	bad[4] = 10;			/* one byte of payload: fine */
	buf_view(&b, bad, sizeof(bad));
	assert_int_equal(rpkg_packet_get(&b, &p, &len, why, sizeof(why)), 0);
	assert_int_equal(len, 1);
	assert_int_equal(buf_len(&b), sizeof(bad) - 16);
}

static void
test_msg_names(void **state)
{
	char tmp[24];

	(void)state;
	assert_string_equal(rpkg_msg_name(90, tmp, sizeof(tmp)),
	    "CHANNEL_OPEN");
	assert_string_equal(rpkg_msg_name(52, tmp, sizeof(tmp)),
	    "USERAUTH_SUCCESS");
	assert_string_equal(rpkg_msg_name(201, tmp, sizeof(tmp)),
	    "message 201");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_import_round_trip),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_strict_kex),
		cmocka_unit_test(test_packets),
		cmocka_unit_test(test_msg_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
