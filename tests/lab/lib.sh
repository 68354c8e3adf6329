# tests/lab/lib.sh - helpers for lab scenarios (tests/lab/NNN-name); source it:
#
#   . "$(dirname "$0")/lib.sh"
#   lab_up                      # lab up, eval `lab env`, lab down on exit
#   out=$(lab_ssh 'echo hi')    # stock ssh in -cli to the test user on the VIP
#   wait_for 5 some command     # poll until it succeeds, or time out
#   [ "$out" = hi ] || fail "got '$out'"
#   lab_client plink -- 'echo hi'   # another client (tests/lab/clients/)
#   require_export; fk_check CONN 0 # key export: daemon's keys = sshd's
#   lab_second_sshd 2222 "FailoverExport no"   # side-by-side comparisons
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

# lab_client NAME [-c CIPHER] [-m MAC] [-k KEX] [-v] [--] COMMAND... - one of
# the client drivers in tests/lab/clients/ (ssh, paramiko, dbclient, plink)
# in -cli, as the test user on the VIP with the lab's key and pinned host
# keys; stdin goes to COMMAND, its output and exit status come back (255: the
# client failed).  Killed after SJ_CLIENT_TIMEOUT seconds (default 30):
# dbclient and plink have no connect timeout of their own.
lab_client() {
	local name=$1; shift
	local drv=$SJ_REPO/tests/lab/clients/$name
	[[ -x $drv ]] || fail "no client driver $drv"
	_run "$SJ_LAB" exec cli -- timeout -k 2 "${SJ_CLIENT_TIMEOUT:-30}" \
		env SJ_KEY="$SJ_KEY" SJ_KNOWN_HOSTS="$SJ_KNOWN_HOSTS" SJ_USER="$SJ_USER" \
		SJ_VIP="$SJ_VIP" SJ_PORT="$SJ_PORT" "$drv" "$@"
}

# log_mark FILE - the current size of FILE (0 if absent), for log_since.
log_mark() { stat -c %s "$1" 2>/dev/null || echo 0; }
# log_since FILE MARK - what FILE got after log_mark gave MARK.
log_since() { tail -c "+$(($2 + 1))" "$1" 2>/dev/null || true; }

# sshd_kex_summary - on stdin a piece of an sshd log at LogLevel DEBUG1 with
# one connection's first key exchange; on stdout one line
#   client=... kex=... hostkey=... c2s=CIPHER/MAC s2c=CIPHER/MAC strict=0|1
# (strict: the sshd reset its sequence numbers at NEWKEYS; MAC "<implicit>"
# for AEAD ciphers is printed as "-").
sshd_kex_summary() {
	awk '
		/remote software version / && !cl { cl = $0; sub(/.*remote software version /, "", cl); sub(/ .*/, "", cl) }
		/debug1: kex: algorithm: / && !kx { kx = $4 }
		/debug1: kex: host key algorithm: / && !hk { hk = $6 }
		/debug1: kex: client->server cipher: / && !cs { cs = $5 "/" $7 }
		/debug1: kex: server->client cipher: / && !sc { sc = $5 "/" $7 }
		/resetting (send|read) seqnr/ { st = 1 }
		/KEX done/ { done = 1 }
		END {
			gsub(/<implicit>/, "-", cs); gsub(/<implicit>/, "-", sc)
			printf "client=%s kex=%s hostkey=%s c2s=%s s2c=%s strict=%d\n",
				cl ? cl : "?", kx ? kx : "?", hk ? hk : "?", cs ? cs : "?", sc ? sc : "?", st
		}'
}

# ---------------------------------------------------------------------------
# Key export (DESIGN.md 2): the patched sshd logs at DEBUG1, and securejeebsd
# with -d logs for every record it opened, one line computed from the keys
#   failover-keys conn=%016llx kex=%u sid=... c2s=.../.../.../%u s2c=... strict=%d
# Equal lines for one (conn, kex) prove the daemon holds the sshd's live keys.

# require_export - skip unless this lab exports keys (sshd and daemon both
# support it: `lab env`'s SJ_EXPORT) and the daemon runs and answers
# `connections --json`.
require_export() {
	[[ ${SJ_EXPORT:-no} == yes ]] || skip "no key export in this lab: ${SJ_EXPORT_WHY:-?}"
	local pid
	pid=$(cat "$SJ_JEEBSD_PIDFILE" 2>/dev/null || true)
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null ||
		fail "securejeebsd is not running: $(tail -n 1 "$SJ_JEEBSD_LOG" 2>/dev/null)"
	local err
	err=$($SJ_CTL connections --json 2>&1 >/dev/null) ||
		skip "securejeebsctl has no 'connections --json' yet: $(echo "$err" | head -n 1)"
	[[ ${SJ_JEEBSD_DEBUG:-1} == 1 ]] ||
		fail "SJ_JEEBSD_DEBUG=${SJ_JEEBSD_DEBUG}: the daemon's failover-keys lines need its -d"
}

# fk_lines FILE - its failover-keys lines, from "failover-keys" to "strict=N".
fk_lines() {
	[[ -e $1 ]] || return 0
	sed -n 's/.*\(failover-keys conn=[0-9a-fA-F]* .*strict=[0-9]*\).*/\1/p' "$1"
}
# fk_line FILE CONN KEX - the line for that connection and KEX number (the
# last one if there are several); empty if none.
fk_line() {
	fk_lines "$1" | awk -v c="conn=$2" -v k="kex=$3" '$2 == c && $3 == k' | tail -n 1
}
# fk_conns - on stdin a piece of a log; on stdout the conn ids of its
# failover-keys lines, once each, in order.
fk_conns() {
	sed -n 's/.*failover-keys conn=\([0-9a-fA-F]*\) .*/\1/p' | awk '!seen[$0]++'
}
# fk_kexes FILE CONN - the KEX numbers of CONN's lines in FILE, in order.
fk_kexes() {
	fk_lines "$1" | awk -v c="conn=$2" '$2 == c { sub(/^kex=/, "", $3); print $3 }'
}

fk_last=
# fk_check CONN KEX [WHAT] - the daemon's failover-keys line for CONN/KEX
# (waited for: the export is asynchronous) equals the sshd's; fails otherwise.
# The line is left in $fk_last.
fk_check() {
	local conn=$1 kex=$2 what=${3:-conn $1 kex $2} s
	s=$(fk_line "$SJ_SSHD_LOG" "$conn" "$kex")
	[[ -n $s ]] || fail "$what: no failover-keys line for conn=$conn kex=$kex in the sshd log"
	# shellcheck disable=SC2317
	_fk_daemon_has() { [[ -n $(fk_line "$SJ_JEEBSD_LOG" "$conn" "$kex") ]]; }
	wait_for 5 _fk_daemon_has ||
		fail "$what: the daemon logged no failover-keys line for conn=$conn kex=$kex within 5 s (last daemon line: $(tail -n 1 "$SJ_JEEBSD_LOG"))"
	local d
	d=$(fk_line "$SJ_JEEBSD_LOG" "$conn" "$kex")
	[[ $d == "$s" ]] || fail "$what: keys differ: sshd '$s', daemon '$d'"
	fk_last=$s
}

# conn_info [CONN] - `securejeebsctl connections --json` through
# tests/lab/conninfo: "found=1 conn=... user=... records=N last_counter=N
# keys_held=yes|no kex=N state=..." (found=0 if CONN is not there).
conn_info() {
	local j
	j=$($SJ_CTL connections --json) || fail "securejeebsctl connections --json failed"
	"$SJ_REPO/tests/lab/conninfo" "$@" <<<"$j"
}
# field NAME LINE - the value of NAME=... in a conn_info line.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# ms_since T0 - milliseconds since T0 (from now_ns).
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# median / p90 of numbers on stdin (nearest rank).
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
p90() { sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.9 + 0.999); if (i < 1) i = 1; if (NR) print a[i] }'; }

# lab_second_sshd PORT [LINE...] - another listener of the same patched sshd
# in -srv on VIP:PORT, with the lab's srv/sshd_config in which each LINE
# replaces the lines of its keyword (e.g. "FailoverExport no"), logging to
# srv/sshd-PORT.log (path in $second_log).  For side-by-side comparisons in
# one lab: log in to it with SJ_PORT=PORT.  `lab down` stops it with the rest
# of -srv.  (The daemon watches port 22 only.)
lab_second_sshd() {
	local port=$1 l k; shift
	local cfg=$SJ_LAB_DIR/srv/sshd_config-$port
	second_log=$SJ_LAB_DIR/srv/sshd-$port.log
	sed -e "s/^Port .*/Port $port/" \
		-e "s|^PidFile .*|PidFile $SJ_LAB_DIR/srv/sshd-$port.pid|" "$SJ_SSHD_CONFIG" >"$cfg"
	for l in "$@"; do
		k=${l%% *}
		sed -i "/^[[:space:]]*${k}[[:space:]]/Id" "$cfg"
		sed -i "1a $l" "$cfg"
	done
	local err
	err=$(lab_exec srv "$SJ_SSHD" -t -f "$cfg" 2>&1) || fail "sshd -t -f $cfg: $err"
	lab_exec srv setsid "$SJ_SSHD" -D -f "$cfg" -E "$second_log" </dev/null >/dev/null 2>&1 &
	# shellcheck disable=SC2317
	_second_listening() { [[ -n $(lab_exec srv ss -Hltn "src $SJ_VIP:$port") ]]; }
	wait_for 10 _second_listening || fail "second sshd does not listen on $SJ_VIP:$port: $(tail -n 1 "$second_log" 2>/dev/null)"
}

# login_ms [SSH-OPTIONS... --] - wall-clock milliseconds of one stock ssh
# login running `true` (to SJ_PORT); fails if the login fails.
login_ms() {
	local t0 err
	t0=$(now_ns)
	err=$(lab_ssh "$@" -- true 2>&1) || fail "login to port $SJ_PORT failed: $(echo "$err" | tail -n 1)"
	ms_since "$t0"
}

# capture_loss PERCENT - the monitor's capture path loses PERCENT of the TCP
# frames it would see: the hub drops them on their way to the -mon port (an
# nftables bridge rule; this kernel has no netem), like a lossy mirror port.
# The monitor's own probes (ARP) are not affected, as on a real recovery
# host whose probes use its normal port.  0 removes the loss.
capture_loss() {
	local port=${SJ_PREFIX}-mon-p
	lab exec hub -- nft delete table bridge sjloss 2>/dev/null || true
	[[ $1 == 0 ]] && return 0
	lab exec hub -- nft -f - <<NFT
table bridge sjloss {
	chain forward {
		type filter hook forward priority 0; policy accept;
		oifname "$port" ip protocol tcp numgen random mod 100 < $1 drop
	}
}
NFT
}
