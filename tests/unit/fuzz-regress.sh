#!/bin/sh
# Replays every committed fuzz input through its harness, built without
# libFuzzer (tests/fuzz/replay-NAME: the harness with tests/fuzz/driver.c,
# the normal compiler and flags, sanitizers when configured with them): the
# seed corpus tests/fuzz/corpus/NAME and every input that once crashed,
# tests/fuzz/regress/NAME.  A crash, a sanitizer report or a failed check
# in a harness fails the test.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export SJ_TOP=$top
log=$(mktemp /tmp/sj-fuzz-regress.XXXXXX)
trap 'rm -f "$log"' EXIT
fail=0
for h in pkt tcptrack sshtrack_clear sshtrack_keyed seal control conf rpkg cpr drainrec; do
	bin=tests/fuzz/replay-$h
	[ -x "$bin" ] || { echo "FAIL: $bin is not built (make unit builds it)"; fail=1; continue; }
	set -- tests/fuzz/corpus/$h
	[ -d "tests/fuzz/regress/$h" ] && set -- "$@" "tests/fuzz/regress/$h"
	# FUZZ_VERBOSE: each input's name before it runs, so a failure names it.
	if FUZZ_VERBOSE=1 "$bin" "$@" >"$log" 2>&1; then
		tail -n 1 "$log"
	else
		echo "FAIL: $h (exit $?)"
		grep -Ev ' (debug|info|notice): ' "$log" | tail -n 30
		fail=1
	fi
done
[ "$fail" -eq 0 ] && echo "every corpus and regression input replayed"
exit "$fail"
