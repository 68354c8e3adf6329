#!/bin/sh
# Every man page renders with `man -l` without a single groff warning.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v man >/dev/null || { echo "man not installed"; exit 77; }
status=0 n=0
for page in "$top"/docs/*.[1-8]; do
	n=$((n + 1))
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
	if [ -n "$out" ]; then
		echo "$page:"; echo "$out"; status=1
	fi
	# The page must also render to something real.
	lines=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l "$page" 2>/dev/null | wc -l)
	[ "$lines" -ge 10 ] || { echo "$page: renders to only $lines lines"; status=1; }
done
[ "$n" -ge 4 ] || { echo "expected at least 4 man pages, found $n"; status=1; }
[ $status -eq 0 ] && echo "$n man pages render without warnings"
exit $status
