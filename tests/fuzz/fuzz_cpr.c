/*
 * fuzz_cpr: jeebs-replay's side of the recovery, on a fuzzed package and
 * fuzzed answers from the recovery sshd: rpkg_decode(), cpr_plan() over the
 * setup log, then cpr_run() over a socketpair with a thread as the sshd.
 * The thread writes every answer at once (so they all wait in the
 * replay's receive queue, as an sshd that answers early would have them),
 * reads the import and the requests, and closes its end once it has seen
 * a request per planned step and the cutover, or once the replay has sent
 * nothing for ANSWER_IDLE_MS (it waits for an answer that will not come):
 * every input ends at once, none waits for the deadline.
 *
 * Input: a u32 (big-endian) package length, the package (SJRP1), then the
 * answers: a mode byte, 0: chunks (fuzz_chunk()) each sent as one packet
 * (rpkg_packet_put()); else the raw bytes of the channel.
 */
#include <sys/socket.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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
#define ANSWER_IDLE_MS	10

struct sshd {
	int		 fd;
	struct buf	 answers;
	size_t		 expect;	/* requests before it closes */
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void *
sshd_main(void *arg)
{
	struct sshd *s = arg;
	struct pollfd pfd;
	struct buf in;
	const uint8_t *p = buf_ptr(&s->answers);
	size_t left = buf_len(&s->answers), seen = 0;
	uint8_t tmp[16384];
	uint32_t len;
	ssize_t n;
	int import = 1;

	while (left > 0 && (n = send(s->fd, p, left, MSG_NOSIGNAL)) > 0) {
		p += n;
		left -= (size_t)n;
	}
	buf_init(&in, 2 * RPKG_MAX);
	pfd.fd = s->fd;
	pfd.events = POLLIN;
	while (seen < s->expect && poll(&pfd, 1, ANSWER_IDLE_MS) > 0) {
		if ((n = read(s->fd, tmp, sizeof(tmp))) <= 0 ||
		    buf_put(&in, tmp, (size_t)n) != 0)
			break;
		/* The import frame, then packets: a u32 length, that much. */
		while (buf_peek_u32(&in, 0, &len) == 0 &&
		    buf_len(&in) >= 4 + (size_t)len) {
			(void)buf_skip(&in, 4 + (size_t)len);
			if (!import)
				seen++;
			import = 0;
		}
	}
	buf_free(&in);
	(void)shutdown(s->fd, SHUT_WR);
	while (read(s->fd, tmp, sizeof(tmp)) > 0)
		;			/* never let the replay block */
	return NULL;
}

static void
run(const struct rpkg *k, const struct cpr_plan *plan, const uint8_t *p,
    size_t len)
{
	struct sshd s;
	struct buf in;
	struct rio io;
	struct cpr_result res;
	struct timespec deadline;
	const uint8_t *c;
	size_t clen;
	char why[256];
	int sv[2], sz = 1 << 20;
	pthread_t th;

	memset(&s, 0, sizeof(s));
	buf_init(&s.answers, ANSWERS_MAX);
	if (len > 0 && p[0] == 0) {
		buf_view(&in, p + 1, len - 1);
		while (fuzz_chunk(&in, &c, &clen) == 0)
			if (rpkg_packet_put(&s.answers, c, clen) != 0)
				break;
	} else if (len > 0)
		(void)buf_put(&s.answers, p + 1, len - 1 < ANSWERS_MAX ?
		    len - 1 : ANSWERS_MAX);
	s.expect = plan->nsteps + 1;		/* and the cutover */
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	s.fd = sv[1];
	FUZZ_CHECK(pthread_create(&th, NULL, sshd_main, &s) == 0);
	rio_now(&deadline);
	deadline.tv_sec += 2;
	/* Our own pid: waitpid() on it fails at once, "the sshd is gone". */
	rio_init(&io, sv[0], getpid(), &deadline, 2.0);
	why[0] = '\0';
	if (cpr_run(k, plan, &io, &res, why, sizeof(why)) != 0)
		FUZZ_CHECK(why[0] != '\0');
	else
		snprintf(why, sizeof(why), "cut over after %zu messages",
		    res.messages);
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "  replay: %s\n", why);
	rio_fini(&io);			/* closes sv[0]: the thread ends */
	FUZZ_CHECK(pthread_join(th, NULL) == 0);
	close(sv[1]);
	buf_free(&s.answers);
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
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "  plan: %s\n", why);
		rpkg_free(k);
		return 0;
	}
	run(k, &plan, buf_ptr(&in), buf_len(&in));
	cpr_plan_free(&plan);
	rpkg_free(k);
	return 0;
}
