/*
 * fuzz: what every harness in tests/fuzz/ provides.  Built with libFuzzer
 * (clang -fsanitize=fuzzer) for `make fuzz`, or with driver.c (any
 * compiler) to replay the corpus and the regression inputs in `make check`.
 */
#ifndef SJ_FUZZ_H
#define SJ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* One input; always returns 0 (libFuzzer's convention). */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Once, before the first input (optional: harnesses define it if needed). */
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort, so that both libFuzzer and the replay driver see a failure. */
#define FUZZ_CHECK(cond)	do { if (!(cond)) fuzz_fail(#cond, __FILE__, \
				    __LINE__); } while (0)
void	fuzz_fail(const char *what, const char *file, int line)
	    __attribute__((noreturn));

struct buf;
/*
 * The next chunk of an input: a u16 length (big-endian), then that many
 * bytes, or what is left if fewer (so mutations rarely end the input).
 * 0, or -1 at the end.
 */
int	fuzz_chunk(struct buf *b, const uint8_t **p, size_t *len);

/* The top of the source tree (SJ_TOP, else the current directory). */
const char *fuzz_top(void);

struct seal_key;
/*
 * The keys of the lab run recorded in tests/pcaps/ssh-keys.pcap: the
 * recovery (X25519) private key and web1's export signing public key.
 * Aborts if they cannot be loaded.
 */
void	fuzz_lab_keys(struct seal_key **recipient, struct seal_key **signer);

#endif
