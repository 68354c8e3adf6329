# tests/lab/recover-lib.sh - helpers for the SSH recovery scenarios
# (tests/lab/03N-*), the demo and bench/005; source it instead of lib.sh:
#
#   . "$(dirname "$0")/recover-lib.sh"
#   rc_lab_up                   # lab with SJ_LAB_RECOVER=ssh (recover ssh,
#                               # fence none, dead_after RC_DEAD_AFTER)
#   tm_client t1 ssh            # a terminal session in tmux (in -cli)
#   tm_run t1 'echo hi'         # type a command, Enter
#   tm_wait t1 '^hi' 5          # wait for a line on its screen
#   rc_stream s1 ssh            # an exec stream (tests/lab/stream-check)
#   ports=$(rc_cli_ports)       # the -cli ends of the lab's SSH connections
#   rc_crash                    # note the time, then lab crash
#   rc_need_recovery            # skip here if the lab has no `recover ssh`
#   rc_wait_done 10             # takeover over, every connection's fate known
#
# Until the daemon takes `recover ssh` (`lab env`: SJ_RECOVER=no), a scenario
# runs what it can (lab up, sessions, checks before the crash, the crash) and
# then skips at rc_need_recovery with the reason.
#
# Set before rc_lab_up: RC_DEAD_AFTER (default 100 ms), RC_SERVER_EXTRA
# (more jeebs.conf server lines; later lines win), RC_RERUN=1 (re-run exec
# channels), and the lab's own SJ_SSHD_EXTRA, SJ_RECOVERY_SSHD_EXTRA, ...
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/takeover-lib.sh"

RC_LAB_DIR=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")")
# Lines that a client may print on stderr without anything being wrong.
RC_BENIGN='^(debug[0-9]|Using username|paramiko: (negotiated|rekey done)|Authenticated to|Transferred: |Bytes per second|Connection to [0-9.]+ closed\.?$|Shared connection to [0-9.]+ closed\.?$|Pseudo-terminal will not be allocated|OpenSSH_|$)'
# What a recovered pty session prints (the sshd's notice line): overridable.
RC_NOTICE_RE=${RC_NOTICE_RE:-[Rr]ecover|[Ff]ailover|SecureJeebs}

rc_lab_up() {
	export SJ_LAB_RECOVER=ssh
	[[ ${RC_RERUN:-0} == 1 ]] && export SJ_LAB_RECOVER_RERUN=1
	export SJ_JEEBS_SERVER_EXTRA="dead_after ${RC_DEAD_AFTER:-100}
${RC_SERVER_EXTRA:-}"
	lab_up
	tk_daemon_alive
	RC_DIR=$SJ_LAB_DIR/cli
	TK_DIR=$RC_DIR
	TK_CRASH_FILE=$RC_DIR/crash-time
	TM_SOCK=$RC_DIR/tmux.sock
	RC_HOSTCMD="grep -o '$SJ_PREFIX-[a-z0-9]*' /proc/net/dev"
	if [[ $SJ_RECOVER == yes ]]; then
		note "SSH recovery configured (recover ssh, recovery sshd log $SJ_RECOVERY_SSHD_LOG)"
	else
		note "no SSH recovery in this lab yet: $SJ_RECOVER_WHY"
	fi
}

# rc_need_recovery - skip (77) unless the lab recovers SSH connections.
rc_need_recovery() {
	[[ $SJ_RECOVER == yes ]] ||
		skip "no SSH recovery to check (${SJ_RECOVER_WHY}); ran up to the crash"
}

# rc_crash [WHICH] - note the time (seconds, for the clients' summaries;
# RC_CRASH_NS for ms_since), then lab crash [WHICH] (srv, srv2, all).
rc_crash() {
	RC_CRASH_NS=$(now_ns)
	# The crash is when the server's port was cut, not when we asked for it
	# (the lab script takes some ms to get there, and the server answers
	# meanwhile): measurements and "after the crash" count from the cut.
	# Until `lab crash` returns, the crash file is a link to the lab's cut
	# file, written the moment the port is cut: a stream that ends before
	# `lab crash` returns (a connection reset by the takeover) must not
	# count from the time we asked.
	rm -f "$SJ_LAB_DIR/cut" "$TK_CRASH_FILE"
	ln -s "$SJ_LAB_DIR/cut" "$TK_CRASH_FILE"
	lab crash ${1:+"$1"} 2>/dev/null || fail "lab crash ${1:-} failed"
	local cut
	if cut=$(cat "$SJ_LAB_DIR/cut" 2>/dev/null) && [[ -n $cut ]]; then
		RC_CRASH_NS=$(awk -v c="$cut" 'BEGIN { printf "%.0f\n", c * 1e9 }')
		printf '%s\n' "$cut" >"$TK_CRASH_FILE.new"
	else
		awk -v n="$RC_CRASH_NS" 'BEGIN { printf "%.6f\n", n / 1e9 }' >"$TK_CRASH_FILE.new"
	fi
	mv -f "$TK_CRASH_FILE.new" "$TK_CRASH_FILE"	# replaces the link
}

# rc_wait_done TIMEOUT - the takeover is over and every taken-over
# connection has its fate (recovered, reset or failed): status's
# recovered + reset + failed = conns.
rc_wait_done() {
	local t=${1:-15}
	# shellcheck disable=SC2317
	_rc_taken() { tk_daemon_alive; [[ $(tk_status_field 'v["state"]') == taken-over ]]; }
	wait_for "$t" _rc_taken ||
		fail "state not taken-over after ${t}s: $(tk_status_field 'v["state"] + ": " + v["why"]'); last daemon lines: $(tail -n 5 "$SJ_JEEBSD_LOG" | tr '\n' '|')"
	# shellcheck disable=SC2317
	_rc_all_fated() { [[ $(tk_status_field 't["recovered"] + t["reset"] + t["failed"] == t["conns"]') == True ]]; }
	wait_for "$t" _rc_all_fated ||
		fail "not every connection has a fate after ${t}s: $(tk_status_field 't')"
}

# rc_fates - "recovered reset failed" from status.
rc_fates() { tk_status_field '"%d %d %d" % (t["recovered"], t["reset"], t["failed"])'; }

# rc_expect_fates R X F - status counts exactly R recovered, X reset, F failed.
rc_expect_fates() {
	local got
	got=$(rc_fates)
	[[ $got == "$1 $2 $3" ]] || fail "recovered/reset/failed: $got, expected $1 $2 $3; $(rc_conn_whys)"
}

# rc_conn_whys - fate and reason of each taken-over connection, one line.
rc_conn_whys() {
	tk_conns_json | "$TK_PY" -c '
import json, sys
print("; ".join("%s:%s %s%s" % (c["client_addr"], c["client_port"], c["takeover"]["fate"],
    (" (" + c["takeover"]["why"] + ")") if c["takeover"].get("why") else "") for c in map(json.loads, sys.stdin)))'
}

# rc_cli_ports - the client ports of -cli's established connections to
# VIP:22, sorted, one line.
rc_cli_ports() {
	lab_exec cli ss -Htn state established dst "$SJ_VIP" |
		awk -v v="$SJ_VIP:${1:-22}" '$4 == v { n = split($3, a, ":"); print a[n] }' | sort -n | paste -sd ' '
}

# rc_mon_sshd_ports - the client ports of the connections on VIP:22 that an
# sshd owns in -mon (the recovered ones), sorted, one line.
rc_mon_sshd_ports() {
	lab_exec mon ss -Htnp state established src "$SJ_VIP" |
		awk -v v="$SJ_VIP:${1:-22}" '$3 == v && /"sshd"/ { n = split($4, a, ":"); print a[n] }' | sort -n | paste -sd ' '
}

# rc_client_env - the environment a client driver needs (RC_USER, RC_KEY
# override the lab's user and key).
rc_client_env() {
	echo "SJ_KEY=${RC_KEY:-$SJ_KEY} SJ_KNOWN_HOSTS=$SJ_KNOWN_HOSTS SJ_USER=${RC_USER:-$SJ_USER} SJ_VIP=$SJ_VIP SJ_PORT=$SJ_PORT"
}

# rc_client_errors FILE - the lines of a client's stderr FILE that are not
# benign (debug output, "Using username", ...): empty if none.
rc_client_errors() {
	[[ -e $1 ]] || return 0
	tr -d '\r' <"$1" | grep -Ev "$RC_BENIGN" || true
}

# ---------------------------------------------------------------------------
# Terminal sessions: tmux in -cli, one server per lab (socket cli/tmux.sock).

tmx() { lab_exec cli tmux -S "$TM_SOCK" "$@"; }

# tm_client NAME CLIENT [DRIVER-ARGS...] - a terminal session of a client
# driver (tests/lab/clients/CLIENT -t ...) in tmux window NAME (150x40),
# stderr to cli/NAME.err; its window stays after the client exits.
# Extra environment for the driver: RC_CLIENT_ENV (e.g. SJ_CLIENT_REKEY=64K).
tm_client() {
	local name=$1 client=$2; shift 2
	local q='' a
	for a in "$@"; do q+=" $(printf '%q' "$a")"; done
	rm -f "$RC_DIR/$name.err"
	tmx -f /dev/null new-session -d -s "$name" -x 150 -y 40 \
		"exec env $(rc_client_env) ${RC_CLIENT_ENV:-} $SJ_REPO/tests/lab/clients/$client -t$q 2>>$RC_DIR/$name.err" \; \
		set-option -w -t "$name" remain-on-exit on >/dev/null ||
		fail "tmux: cannot start session $name"
}

# tm_screen NAME - the window's text (history included), empty lines dropped.
tm_screen() { tmx capture-pane -p -J -S -500 -t "$1" | grep -v '^[[:space:]]*$' || true; }

# tm_run NAME TEXT - type TEXT and Enter.
tm_run() {
	tmx send-keys -t "$1" -l "$2"
	tmx send-keys -t "$1" Enter
}

# tm_wait NAME ERE [TIMEOUT] - wait until a line of the screen matches ERE.
tm_wait() {
	local name=$1 re=$2 t=${3:-10}
	# shellcheck disable=SC2317
	_tm_has() { tm_screen "$name" | grep -Eq -- "$re"; }
	wait_for "$t" _tm_has
}

# tm_dead NAME - the client in window NAME has exited ("1"), or not ("0").
tm_dead() { tmx display-message -p -t "$1" '#{pane_dead}'; }

# tm_login NAME [TIMEOUT] - wait for a shell prompt in NAME (a line ending in
# "$ "), fail with the screen and the client's stderr otherwise.
tm_login() {
	tm_wait "$1" '\$ ?$' "${2:-15}" ||
		fail "$1: no shell prompt: screen: $(tm_screen "$1" | tail -n 5 | tr '\n' '|') stderr: $(tail -n 3 "$RC_DIR/$1.err" 2>/dev/null | tr '\n' '|')"
}

# tm_check NAME TAG [TIMEOUT] - run a command that prints "TAG-<n> <node>"
# (the node is the lab interface the shell's host has: <prefix>-srv before a
# crash, <prefix>-mon after a recovery) and wait for its output; the node in
# $tm_node.
tm_check() {
	local name=$1 tag=$2 t=${3:-10}
	local n=$((RANDOM % 900 + 100))
	tm_run "$name" "echo $tag-\$(($n*7)) \$($RC_HOSTCMD)"
	tm_wait "$name" "^$tag-$((n * 7)) " "$t" ||
		fail "$name: no answer to the '$tag' command within ${t}s: screen: $(tm_screen "$name" | tail -n 6 | tr '\n' '|') stderr: $(rc_client_errors "$RC_DIR/$name.err" | tail -n 3 | tr '\n' '|')"
	tm_node=$(tm_screen "$name" | grep -E "^$tag-$((n * 7)) " | tail -n 1 | awk '{ print $2 }')
}

# ---------------------------------------------------------------------------
# Exec streams (tests/lab/stream-check) in -cli, in the background.

# rc_stream NAME CLIENT [DRIVER-ARGS...] - a stream through CLIENT running
# RC_STREAM_CMD (default: print "who=<user>@<node>", then exec cat); files
# cli/NAME.*; summary cli/NAME.json.  RC_INTERVAL: seconds between lines
# (default 0.02).
rc_stream() {
	local name=$1 client=$2; shift 2
	local cmd=${RC_STREAM_CMD:-echo who=\$(id -un)@\$($RC_HOSTCMD); exec cat}
	rm -f "$RC_DIR/$name.json" "$RC_DIR/$name.stop" "$RC_DIR/$name.ready" "$RC_DIR/$name.extras"
	# shellcheck disable=SC2046
	lab_exec cli env $(rc_client_env) ${RC_CLIENT_ENV:-} "$RC_LAB_DIR/stream-check" \
		--summary "$RC_DIR/$name.json" --interval "${RC_INTERVAL:-0.02}" \
		--crash-file "$TK_CRASH_FILE" --stop-file "$RC_DIR/$name.stop" \
		--ready-file "$RC_DIR/$name.ready" --extras-file "$RC_DIR/$name.extras" --drain "${RC_DRAIN:-3}" \
		-- "$SJ_REPO/tests/lab/clients/$client" "$@" -- "$cmd" \
		</dev/null >"$RC_DIR/$name.out" 2>&1 &
	eval "RC_PID_$name=\$!"
}

# rc_stream_ready NAME [TIMEOUT] - the stream has had its first echo.
rc_stream_ready() {
	wait_for "${2:-15}" test -e "$RC_DIR/$1.ready" ||
		fail "stream $1: no echo within ${2:-15}s: $(tail -n 3 "$RC_DIR/$1.out" | tr '\n' '|')"
}

# rc_stream_stop NAME - stop sending; wait for the client to exit and the
# summary.
rc_stream_stop() {
	local name=$1 pid rc=0
	touch "$RC_DIR/$name.stop"
	eval "pid=\$RC_PID_$name"
	wait "$pid" || rc=$?
	[[ -s $RC_DIR/$name.json ]] ||
		fail "stream $name wrote no summary (exit $rc): $(tail -n 5 "$RC_DIR/$name.out" | tr '\n' '|')"
}

# rc_sum NAME EXPR - a Python expression on stream NAME's summary `s`.
rc_sum() {
	"$TK_PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$RC_DIR/$1.json" "$2"
}

# rc_stream_check NAME [MAX_GAP_MS] - stream NAME went on across the crash:
# no duplicate, nothing out of order, echoes after the crash, no line lost
# after the first echo that followed it (the lines lost at the crash are
# one range, counted in $RC_LOST), the client exited 0 with nothing but
# benign lines on stderr, and the gap is under MAX_GAP_MS (default 5000).
# Its outage in $RC_GAP_MS; notes the figures.
rc_stream_check() {
	local name=$1 max=${2:-5000} v
	[[ $(rc_sum "$name" 's["dups"]') == 0 ]] || fail "stream $name: $(rc_sum "$name" 's["dups"]') duplicate echoes"
	[[ $(rc_sum "$name" 's["disorder"]') == 0 ]] || fail "stream $name: echoes out of order"
	[[ $(rc_sum "$name" 's["first_after"]') != None ]] ||
		fail "stream $name: no echo after the crash (sent $(rc_sum "$name" 's["sent"]'), echoed $(rc_sum "$name" 's["echoed"]'), exit $(rc_sum "$name" 's["exit_status"]'), stderr: $(rc_sum "$name" 's["stderr"][-300:]' | tr '\n' '|'))"
	v=$(rc_sum "$name" 's["lost_after_first"]')
	[[ $v == 0 ]] || fail "stream $name: $v lines lost after the recovery: $(rc_sum "$name" 's["lost_ranges"]')"
	[[ $(rc_sum "$name" 'len(s["lost_ranges"]) <= 1') == True ]] ||
		fail "stream $name: lines lost in several places: $(rc_sum "$name" 's["lost_ranges"]')"
	[[ $(rc_sum "$name" 's["exit_status"]') == 0 ]] ||
		fail "stream $name: the client exited with $(rc_sum "$name" 's["exit_status"]'): $(rc_sum "$name" 's["stderr"][-300:]' | tr '\n' '|')"
	v=$(rc_sum "$name" 's["stderr"]' | tr -d '\r' | grep -Ev "$RC_BENIGN" || true)
	[[ -z $v ]] || fail "stream $name: the client printed errors: $(head -n 3 <<<"$v" | tr '\n' '|')"
	RC_LOST=$(rc_sum "$name" 's["lost"]')
	RC_GAP_MS=$(rc_sum "$name" '"%.0f" % s["gap_ms"]')
	awk -v g="$RC_GAP_MS" -v m="$max" 'BEGIN { exit !(g <= m) }' ||
		fail "stream $name: outage $RC_GAP_MS ms over $max ms"
	note "stream $name: $(rc_sum "$name" 's["sent"]') lines sent, $RC_LOST lost at the crash $(rc_sum "$name" 's["lost_ranges"]'), none after; outage (last echo before -> first after) $RC_GAP_MS ms, crash -> first echo $(rc_sum "$name" '"%.0f" % s["crash_to_first_ms"]') ms, rtt $(rc_sum "$name" '"%.2f" % (s["rtt_ms"] or 0)') ms"
}

# rc_stream_extras_now NAME - the extra lines so far (the stream runs).
rc_stream_extras_now() { cut -d' ' -f2- "$RC_DIR/$1.extras" 2>/dev/null || true; }
# rc_stream_extras NAME - the stream's extra lines (what the remote command
# printed besides echoes), one a line, in order.
rc_stream_extras() { rc_sum "$1" '"\n".join(e[1] for e in s["extras"])'; }
# rc_stream_extras_after NAME - those that came after the crash.
rc_stream_extras_after() { rc_sum "$1" '"\n".join(e[1] for e in s["extras"] if s["t_crash"] and e[0] > s["t_crash"])'; }

# ---------------------------------------------------------------------------
# More users (shared by every lab, like the test user; never removed).

# lab_user NAME - the account NAME (created if missing, password "*"), a key
# pair for it in cli/users/NAME/id_ed25519 (RC_KEY for it: that path), its
# public key authorized on the server and, copied, on the recovery host.
lab_user() {
	local u=$1
	(
		flock -w 30 9 || fail "cannot lock $SJ_LAB to create user $u"
		if ! getent passwd "$u" >/dev/null; then
			useradd --create-home --shell /bin/bash --user-group \
				--comment "SecureJeebs lab test user" "$u" || fail "useradd $u failed"
		fi
		usermod -p '*' "$u" || fail "usermod -p '*' $u failed"
	) 9<"$SJ_LAB"
	local d=$SJ_LAB_DIR/cli/users/$u
	install -d -m 0755 "$d"
	[[ -s $d/id_ed25519 ]] ||
		ssh-keygen -q -t ed25519 -N '' -C "$u@securejeebs-lab-$SJ_PREFIX" -f "$d/id_ed25519" </dev/null ||
		fail "ssh-keygen for $u failed"
	lab_authorize "$u" "$(cat "$d/id_ed25519.pub")"
}

# lab_authorize USER LINE - append an authorized_keys LINE (options allowed)
# for USER on the server (srv/) and on the recovery host (mon/): the
# recovery sshd reads its own copy, never the dead server's.
lab_authorize() {
	local u=$1 line=$2 node
	for node in srv mon; do
		install -d -m 0755 "$SJ_LAB_DIR/$node/authorized_keys"
		printf '%s\n' "$line" >>"$SJ_LAB_DIR/$node/authorized_keys/$u"
		chmod 0644 "$SJ_LAB_DIR/$node/authorized_keys/$u"
	done
}
