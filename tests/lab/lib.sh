# tests/lab/lib.sh - helpers for lab scenarios (tests/lab/NNN-name); source it:
#
#   . "$(dirname "$0")/lib.sh"
#   lab_up                      # lab up, eval `lab env`, lab down on exit
#   out=$(lab_ssh 'echo hi')    # stock ssh in -cli to the test user on the VIP
#   wait_for 5 some command     # poll until it succeeds, or time out
#   [ "$out" = hi ] || fail "got '$out'"
#
# Scenario contract: run from any cwd with SJ_LAB_PREFIX set to a unique
# prefix; exit 0 = pass, 77 = skip, anything else = fail with a one-line
# reason on stderr.  Scenarios run in parallel (different prefixes): use no
# fixed global name.  SJ_LAB_KEEP=1 leaves the lab up after the scenario, for
# inspection (then: SJ_LAB_PREFIX=... tests/lab/lab down).
# shellcheck shell=bash

set -eEuo pipefail
# An unexpected failing command (set -e) still gives the one-line reason.
_lab_on_err() {
	[[ $BASHPID == "$$" ]] || return 0
	echo "FAIL $SJ_SCENARIO: line $2: \"$3\" failed (exit $1)" >&2
}
trap '_lab_on_err $? $LINENO "$BASH_COMMAND"' ERR

SJ_LAB=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")/lab")
SJ_SCENARIO=$(basename "$0")

fail() { echo "FAIL $SJ_SCENARIO: $*" >&2; exit 1; }
skip() { echo "SKIP $SJ_SCENARIO: $*" >&2; exit 77; }
note() { echo "$SJ_SCENARIO: $*" >&2; }

# lab NODE... - the lab command itself (same prefix, same lab dir).
lab() { "$SJ_LAB" "$@"; }

# _run CMD... - run CMD; in a subshell (`f &`, `$(f)`), exec it, so that
# `lab_exec ... &` gives in $! the PID of the command itself (ip netns exec
# execs it too): kill "$!" then reaches it.  Note that a background command
# of a non-interactive shell ignores SIGINT: stop it with SIGTERM.
_run() {
	if [[ $BASHPID != "$$" ]]; then exec "$@"; fi
	"$@"
}

# lab_exec NODE CMD... - run CMD in NODE's namespace.
lab_exec() { local node=$1; shift; _run "$SJ_LAB" exec "$node" -- "$@"; }

_lab_on_exit() {
	local rc=$?
	trap - EXIT
	if [[ ${SJ_LAB_KEEP:-0} == 1 ]]; then
		note "lab left up (SJ_LAB_KEEP=1): SJ_LAB_PREFIX=${SJ_LAB_PREFIX:-sj} $SJ_LAB down"
	elif ! "$SJ_LAB" down >/dev/null 2>&1; then
		"$SJ_LAB" down >&2 || true
		echo "FAIL $SJ_SCENARIO: lab down failed" >&2
		[[ $rc == 0 ]] && rc=1
	fi
	exit "$rc"
}

# lab_up - bring the lab up (skip if it cannot be: no root, no sshd build),
# import its description (SJ_VIP, SJ_KEY, ...) and take it down on exit.
# Extra environment for `lab up` (e.g. SJ_LAB_NO_DAEMON=1) is passed through.
lab_up() {
	[[ $(id -u) == 0 ]] || skip "the lab needs root"
	local sshd
	sshd=$(eval "$("$SJ_LAB" env)"; echo "$SJ_SSHD")
	[[ -x $sshd ]] || skip "no sshd at $sshd: run make openssh"
	trap _lab_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	local err
	if ! err=$("$SJ_LAB" up 2>&1); then
		echo "$err" | tail -n 20 >&2
		fail "lab up failed: $(echo "$err" | grep '^lab' | tail -n 1)"
	fi
	eval "$("$SJ_LAB" env)"
}

# wait_for TIMEOUT CMD... - run CMD every 50 ms until it succeeds (0) or
# TIMEOUT seconds have passed (1).
wait_for() {
	local t=$1 i n
	shift
	n=$(awk -v t="$t" 'BEGIN { printf "%d", t * 20 }')
	for ((i = 0; i <= n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# lab_ssh [SSH-OPTIONS... --] COMMAND... - Debian's stock ssh client in
# -cli, logged in as the test user on the VIP with the lab's key and known
# hosts (StrictHostKeyChecking yes), no user or system ssh_config, no agent,
# no prompt.  Extra ssh options go before a "--":  lab_ssh -v -- true
lab_ssh() {
	local opts=() a
	for a in "$@"; do
		if [[ $a == -- ]]; then
			opts=("${@:1:${#opts[@]}}")
			shift $((${#opts[@]} + 1))
			break
		fi
		opts+=("$a")
	done
	[[ ${a:-} == -- ]] || opts=()
	_run "$SJ_LAB" exec cli -- /usr/bin/ssh -F /dev/null \
		-i "$SJ_KEY" -o IdentitiesOnly=yes -o IdentityAgent=none \
		-o UserKnownHostsFile="$SJ_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=5 \
		-p "$SJ_PORT" -l "$SJ_USER" "${opts[@]}" "$SJ_VIP" "$@"
}

# count_lines PATTERN FILE - number of lines of FILE matching PATTERN (0 if
# the file does not exist).
count_lines() { [[ -e $2 ]] || { echo 0; return; }; grep -c -- "$1" "$2" || true; }

# pcap_count FILE FILTER - packets in a pcap FILE that match a tcpdump FILTER.
pcap_count() {
	{ tcpdump -nn -r "$1" "$2" 2>/dev/null || true; } | wc -l
}

# now - seconds since the epoch, with nanoseconds (for comparing with pcap times).
now() { date +%s.%N; }
