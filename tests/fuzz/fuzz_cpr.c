/*
 * fuzz_cpr: jeebs-replay's side of the recovery, on a fuzzed package and
 * fuzzed answers from the recovery sshd: rpkg_decode(), cpr_plan() over the
 * setup log, then cpr_run() over a socketpair whose other end already holds
 * the sshd's answers and is then shut (so every wait ends at once).
 *
 * Input: a u32 (big-endian) package length, the package (SJRP1), then the
 * answers: a mode byte, 0: chunks (fuzz_chunk()) each sent as one packet
 * (rpkg_packet_put()); else the raw bytes of the channel.
 */
#include <sys/socket.h>

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cpr.h"
#include "fuzz.h"
#include "rio.h"
#include "rpkg.h"

/* What the sshd end may hold before cpr_run() reads it. */
#define ANSWERS_MAX	(64 * 1024)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void
run(const struct rpkg *k, const struct cpr_plan *plan, const uint8_t *p,
    size_t len)
{
	struct buf ans, in;
	struct rio io;
	struct cpr_result res;
	struct timespec deadline;
	const uint8_t *c;
	size_t clen;
	char why[256];
	int sv[2], sz = 1 << 20;

	buf_init(&ans, ANSWERS_MAX);
	if (len > 0 && p[0] == 0) {
		buf_view(&in, p + 1, len - 1);
		while (fuzz_chunk(&in, &c, &clen) == 0)
			if (rpkg_packet_put(&ans, c, clen) != 0)
				break;
	} else if (len > 0)
		(void)buf_put(&ans, p + 1, len - 1 < ANSWERS_MAX ? len - 1 :
		    ANSWERS_MAX);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (buf_len(&ans) > 0)
		(void)send(sv[1], buf_ptr(&ans), buf_len(&ans),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	buf_free(&ans);
	(void)shutdown(sv[1], SHUT_WR);
	rio_now(&deadline);
	deadline.tv_sec += 1;
	/* Our own pid: waitpid() on it fails at once, "the sshd is gone". */
	rio_init(&io, sv[0], getpid(), &deadline, 1.0);
	why[0] = '\0';
	if (cpr_run(k, plan, &io, &res, why, sizeof(why)) != 0)
		FUZZ_CHECK(why[0] != '\0');
	rio_fini(&io);
	close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpkg *k = NULL;
	struct cpr_plan plan;
	struct buf in;
	uint32_t plen;
	char why[256];

	buf_view(&in, data, size);
	if (buf_get_u32(&in, &plen) != 0 || plen > buf_len(&in))
		return 0;
	if (rpkg_decode(buf_ptr(&in), plen, &k, why, sizeof(why)) != 0)
		return 0;
	(void)buf_skip(&in, plen);
	memset(&plan, 0, sizeof(plan));
	why[0] = '\0';
	if (cpr_plan(k, &plan, why, sizeof(why)) != 0) {
		FUZZ_CHECK(why[0] != '\0');
		rpkg_free(k);
		return 0;
	}
	run(k, &plan, buf_ptr(&in), buf_len(&in));
	cpr_plan_free(&plan);
	rpkg_free(k);
	return 0;
}
