/*
 * rio: how jeebs-replay waits, and its end of the control channel to the
 * recovery sshd.  One deadline bounds everything; every wait is a ppoll()
 * that also ends on SIGTERM, SIGINT or SIGHUP (blocked otherwise) and, on the
 * control channel, on the sshd's exit.  The channel carries the import frame,
 * then plaintext SSH packets both ways (rpkg_packet_put / rpkg_packet_get).
 */
#ifndef SJ_RIO_H
#define SJ_RIO_H

#include <sys/types.h>

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

/* Catch the terminating signals (blocked except in rio_poll), ignore SIGPIPE. */
int	rio_signals_init(void);
/* In a forked child before exec: default dispositions, the old mask. */
void	rio_signals_child(void);

/* CLOCK_MONOTONIC now; microseconds from a to b; ms left until a deadline. */
void	rio_now(struct timespec *ts);
uint64_t rio_us(const struct timespec *a, const struct timespec *b);
long	rio_ms_left(const struct timespec *deadline);

/*
 * ppoll() for at most min(deadline, max_ms; -1: no cap): >0 events, 0
 * nothing happened (the caller checks the deadline), -1 a terminating signal
 * or an error, the reason in why.
 */
int	rio_poll(struct pollfd *pfd, nfds_t n, const struct timespec *deadline,
	    int max_ms, char *why, size_t whylen);

struct rio {
	int			 fd;		/* our end, non-blocking */
	pid_t			 pid;		/* the sshd */
	int			 pidfd;		/* readable once it exits;
						   -1: waitpid every 50 ms */
	int			 reaped;	/* status is waitpid()'s */
	int			 status;
	int			 eof;		/* the sshd closed its end */
	const struct timespec	*deadline;
	double			 timeout;	/* seconds, for reasons */
	struct buf		 in, out;	/* received, to send */
	struct buf		 pkt;		/* the last packet's payload */
	int			 got_first;
	struct timespec		 first;		/* the sshd's first packet */
};

/* Take over fd (made non-blocking) to the sshd pid. */
void	rio_init(struct rio *io, int fd, pid_t pid,
	    const struct timespec *deadline, double timeout);
/* Close the channel, wipe the buffers; the sshd is left as it is. */
void	rio_fini(struct rio *io);
/*
 * Send one frame (u32 length + payload) / one packet, reading what comes
 * meanwhile; what names it for reasons.  0, or -1 with the reason.
 */
int	rio_send_frame(struct rio *io, const struct buf *payload,
	    const char *what, char *why, size_t whylen);
int	rio_send_packet(struct rio *io, const uint8_t *p, size_t len,
	    const char *what, char *why, size_t whylen);
/*
 * The next packet from the sshd: 0 and its payload (valid until the next
 * call), or -1 with the reason (deadline, the sshd gone, a bad packet).
 */
int	rio_recv_packet(struct rio *io, const char *what, const uint8_t **p,
	    size_t *len, char *why, size_t whylen);
/* Reap the sshd if it exits within ms: 1 reaped (io->status), 0 not. */
int	rio_reap(struct rio *io, int ms);

#endif
