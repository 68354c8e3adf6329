/*
 * jeebs-replay: the Controlled Partial Replay client.  securejeebsd runs it
 * per recovered SSH connection; it feeds the recovery-mode sshd the logged
 * setup messages over a private control socket and orders the cutover.
 *
 * This release has no recovery mode yet: the tool only identifies itself and
 * refuses to run, so that nothing mistakes it for a working replay.
 */
#include <stdio.h>
#include <string.h>

#include "version.h"

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "-V") == 0) {
		printf("jeebs-replay %s\n", SJ_VERSION);
		return 0;
	}
	fprintf(stderr, "jeebs-replay %s: SSH session replay is not "
	    "implemented in this release\n", SJ_VERSION);
	return 1;
}
