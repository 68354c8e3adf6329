/*
 * fuzz_common: helpers shared by the harnesses (linked into every one).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"
#include "seal.h"

void
fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	abort();
}

const char *
fuzz_top(void)
{
	const char *t = getenv("SJ_TOP");

	return t != NULL && *t != '\0' ? t : ".";
}

int
fuzz_chunk(struct buf *b, const uint8_t **p, size_t *len)
{
	uint16_t n;

	if (buf_get_u16(b, &n) != 0)
		return -1;
	*len = n < buf_len(b) ? n : buf_len(b);
	*p = buf_ptr(b);
	(void)buf_skip(b, *len);
	return 0;
}

void
fuzz_lab_keys(struct seal_key **recipient, struct seal_key **signer)
{
	char path[4096], tmp[] = "/tmp/sj-fuzz-recovery-XXXXXX", key[4096];
	FILE *f;
	size_t n;
	int fd, r;

	/* git keeps the test key 0644; seal_key_load_private() wants 0600. */
	snprintf(path, sizeof(path), "%s/tests/pcaps/ssh-keys.recovery.key",
	    fuzz_top());
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		abort();
	}
	n = fread(key, 1, sizeof(key), f);
	fclose(f);
	if (n == 0 || n == sizeof(key) || (fd = mkstemp(tmp)) < 0 ||
	    fchmod(fd, 0600) != 0 || write(fd, key, n) != (ssize_t)n)
		fuzz_fail("copy of the recovery key", __FILE__, __LINE__);
	close(fd);
	r = seal_key_load_private(tmp, SEAL_KEY_X25519, recipient);
	unlink(tmp);
	if (r != SEAL_OK)
		fuzz_fail(seal_strerror(r), __FILE__, __LINE__);
	snprintf(path, sizeof(path), "%s/tests/pcaps/ssh-keys.web1-export.pub",
	    fuzz_top());
	if ((r = seal_key_load_public(path, SEAL_KEY_ED25519, signer)) !=
	    SEAL_OK)
		fuzz_fail(seal_strerror(r), __FILE__, __LINE__);
}
