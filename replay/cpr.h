/*
 * cpr: Controlled Partial Replay of one connection's setup log
 * (docs/recovery-format.md, "Replay rules").  cpr_plan() decides from the
 * log alone which client messages are sent, as logged or replaced, and which
 * answer each must get; cpr_run() sends the import, the plan and the cutover
 * request over the control channel and checks every answer.
 */
#ifndef SJ_CPR_H
#define SJ_CPR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rpkg.h"
#include "rio.h"

#define CPR_CUTOVER_REQUEST	"cutover@securejeebs.org"
#define CPR_ATTESTED_METHOD	"securejeebs-attested@securejeebs.org"

struct cpr_step;

struct cpr_plan {
	struct cpr_step	*steps;
	size_t		 nsteps;
};

struct cpr_result {
	size_t		 messages;	/* replayed, not counting the cutover */
	struct timespec	 cutover_sent, cutover_done;
};

/* Plan the replay of k's log: 0, or -1 with the reason. */
int	cpr_plan(const struct rpkg *k, struct cpr_plan *plan, char *why,
	    size_t whylen);
/* Wipe and free what cpr_plan() built. */
void	cpr_plan_free(struct cpr_plan *plan);
/* The import the sshd gets: SJRI2 (SJRI1 + the setup log); 0 or -1. */
int	cpr_encode_import(const struct rpkg *k, struct buf *out);
/*
 * Send the import frame, replay the plan, order the cutover: 0 once the
 * sshd has accepted it, or -1 with the reason.
 */
int	cpr_run(const struct rpkg *k, const struct cpr_plan *plan,
	    struct rio *io, struct cpr_result *res, char *why, size_t whylen);

#endif
