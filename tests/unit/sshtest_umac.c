/*
 * sshtest_umac: UMAC-64 and UMAC-128 for the test writer (included from
 * sshtest_writer.c), written step by step after RFC 4418 on byte strings:
 * slow, literal, and separate from the tracker's own implementation.  Both
 * are checked against tags computed by OpenSSH's umac.c (sshtest_vectors.h).
 * Byte order as OpenSSH uses it: key words big-endian, NH message words
 * little-endian.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

static void
t_aes(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl;

	if (c == NULL || !EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key,
	    NULL) || !EVP_CIPHER_CTX_set_padding(c, 0) ||
	    !EVP_EncryptUpdate(c, out, &outl, in, 16))
		abort();
	EVP_CIPHER_CTX_free(c);
}

static uint64_t
t_str2uint(const uint8_t *s, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *s++;
	return v;
}

static void
t_uint2str(uint64_t v, uint8_t *s, size_t n)
{
	while (n-- > 0) {
		s[n] = (uint8_t)v;
		v >>= 8;
	}
}

/* KDF(K, index, numbytes) */
static void
t_kdf(const uint8_t K[16], uint64_t index, size_t numbytes, uint8_t *Y)
{
	uint8_t in[16], T[16];
	uint64_t i;
	size_t n;

	for (i = 1; numbytes > 0; i++) {
		t_uint2str(index, in, 8);
		t_uint2str(i, in + 8, 8);
		t_aes(K, in, T);
		n = numbytes < 16 ? numbytes : 16;
		memcpy(Y, T, n);
		Y += n;
		numbytes -= n;
	}
}

/* PDF(K, Nonce, taglen), Nonce 8 bytes */
static void
t_pdf(const uint8_t K[16], const uint8_t Nonce[8], size_t taglen, uint8_t *Y)
{
	uint8_t N[16], Kp[16], T[16];
	uint64_t index = 0;

	memset(N, 0, sizeof(N));
	memcpy(N, Nonce, 8);
	if (taglen == 8) {
		index = t_str2uint(Nonce, 8) % 2;
		N[7] ^= (uint8_t)index;
	}
	t_kdf(K, 0, 16, Kp);
	t_aes(Kp, N, T);
	memcpy(Y, T + index * taglen, taglen);
}

/* NH(K, M), |M| a multiple of 32 */
static uint64_t
t_nh(const uint8_t *K, const uint8_t *M, size_t len)
{
	uint64_t Y = 0;
	size_t t = len / 4, i, j;
	uint32_t m[8], k[8];

	for (i = 0; i < t; i += 8) {
		for (j = 0; j < 8; j++) {
			const uint8_t *w = M + 4 * (i + j);

			m[j] = (uint32_t)w[0] | (uint32_t)w[1] << 8 |
			    (uint32_t)w[2] << 16 | (uint32_t)w[3] << 24;
			k[j] = (uint32_t)t_str2uint(K + 4 * (i + j), 4);
		}
		for (j = 0; j < 4; j++)
			Y += (uint64_t)(uint32_t)(m[j] + k[j]) *
			    (uint64_t)(uint32_t)(m[j + 4] + k[j + 4]);
	}
	return Y;
}

/* L1-HASH(K, M): one 64-bit value per 1024-byte chunk */
static size_t
t_l1(const uint8_t *K, const uint8_t *M, size_t len, uint64_t *Y)
{
	uint8_t chunk[1024];
	size_t t = len == 0 ? 1 : (len + 1023) / 1024, i, n, padded;

	for (i = 0; i < t; i++) {
		n = len - 1024 * i < 1024 ? len - 1024 * i : 1024;
		padded = n == 0 ? 32 : (n + 31) / 32 * 32;
		memset(chunk, 0, sizeof(chunk));
		memcpy(chunk, M + 1024 * i, n);
		Y[i] = t_nh(K, chunk, padded) + 8 * (uint64_t)n;
	}
	return t;
}

/* POLY(64, 2^64 - 2^32, k, M) */
static uint64_t
t_poly(uint64_t k, const uint64_t *M, size_t n)
{
	const unsigned __int128 p = 0xFFFFFFFFFFFFFFC5ULL;
	const uint64_t offset = 59, marker = 0xFFFFFFFFFFFFFFC4ULL;
	unsigned __int128 y = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (M[i] >= 0xFFFFFFFF00000000ULL) {
			y = (k * y + marker) % p;
			y = (k * y + (M[i] - offset)) % p;
		} else
			y = (k * y + M[i]) % p;
	}
	return (uint64_t)y;
}

/* L3-HASH(K1, K2, M), M 16 bytes: first 8 bytes zero here */
static uint32_t
t_l3(const uint8_t *K1, const uint8_t *K2, uint64_t low)
{
	const uint64_t p36 = 0x0000000FFFFFFFFBULL;
	uint8_t M[16];
	uint64_t y = 0;
	int i;

	memset(M, 0, 8);
	t_uint2str(low, M + 8, 8);
	for (i = 0; i < 8; i++)
		y = (y + t_str2uint(M + 2 * i, 2) *
		    (t_str2uint(K1 + 8 * i, 8) % p36)) % p36;
	return (uint32_t)y ^ (uint32_t)t_str2uint(K2, 4);
}

/* UMAC(K, M, Nonce, taglen) with the 32-bit sequence number as nonce */
static void
t_umac(const uint8_t K[16], const uint8_t *M, size_t len, uint32_t seqnr,
    size_t taglen, uint8_t *tag)
{
	static uint64_t A[300];
	uint8_t L1Key[1024 + 48], L2Key[96], L3Key1[256], L3Key2[16];
	uint8_t nonce[8], pad[16];
	size_t iters = taglen / 4, i, n;
	uint64_t B;
	uint32_t C;

	t_kdf(K, 1, 1024 + (iters - 1) * 16, L1Key);
	t_kdf(K, 2, iters * 24, L2Key);
	t_kdf(K, 3, iters * 64, L3Key1);
	t_kdf(K, 4, iters * 4, L3Key2);
	for (i = 0; i < iters; i++) {
		n = t_l1(L1Key + 16 * i, M, len, A);
		if (len <= 1024)
			B = A[0];
		else
			B = t_poly(t_str2uint(L2Key + 24 * i, 8) &
			    0x01ffffff01ffffffULL, A, n);
		C = t_l3(L3Key1 + 64 * i, L3Key2 + 4 * i, B);
		t_uint2str(C, tag + 4 * i, 4);
	}
	t_uint2str(seqnr, nonce, 8);
	t_pdf(K, nonce, taglen, pad);
	for (i = 0; i < taglen; i++)
		tag[i] ^= pad[i];
}
