# tests/lab/drain-lib.sh - helpers for the drain scenarios (tests/lab/08x-*)
# and bench/006; source it instead of recover-lib.sh:
#
#   . "$(dirname "$0")/drain-lib.sh"
#   dr_lab_up                  # rc_lab_up with SJ_LAB_DRAIN=1 (management
#                              # address on -srv, drain_command drain-cmd)
#   dr_mon_listener            # a listening sshd in -mon on the service IP
#                              # (ip_nonlocal_bind): new logins after the move
#   dr_drain_bg                # securejeebsctl drain web1 in the background
#   dr_drain_wait [TIMEOUT]    # its exit status in DR_RC, output in DR_OUT
#   dr_outages                 # "PORT OUTAGE_MS" per moved connection
#
# The drain's start is written as the "crash" time for stream-check
# (TK_CRASH_FILE): the streams' figures count from it.
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/recover-lib.sh"

dr_lab_up() {
	export SJ_LAB_DRAIN=1
	RC_RERUN=${RC_RERUN:-1}
	# Health detection must not see the drain as a crash: the drain itself
	# holds the takeover, but keep the threshold ordinary.
	RC_DEAD_AFTER=${RC_DEAD_AFTER:-1000}
	rc_lab_up
	[[ -n ${SJ_MGMT_IP:-} ]] || fail "the lab has no management address (SJ_LAB_DRAIN=1 ignored?)"
	grep -q '^ *drain_command' "$SJ_JEEBS_CONF" || fail "no drain_command in $SJ_JEEBS_CONF"
	DR_OUT=$RC_DIR/drain.out
}

# dr_mon_listener - the recovery host's own sshd listening on the service
# IP (before it holds it: net.ipv4.ip_nonlocal_bind=1 in -mon), with the
# recovery sshd's configuration; log mon/listener.log.
dr_mon_listener() {
	local listen=$SJ_VIP
	# (In the symmetric lab -mon is drained too: the sshd's check that the
	# address has left looks it up in the interface list, which this
	# sysctl does not fool; a bind, as before 0013's fix, succeeded.)
	lab_exec mon sysctl -qw net.ipv4.ip_nonlocal_bind=1 || fail "ip_nonlocal_bind"
	# MaxStartups: the logins held back during a drain all retry their SYN
	# at about the same time; sshd's default (10:30:100) drops some.
	{
		echo "MaxStartups 100:30:200"
		sed -e "s|^PidFile .*|PidFile $SJ_LAB_DIR/mon/listener.pid|" \
			-e "s|^ListenAddress .*|ListenAddress $listen|" "$SJ_RECOVERY_SSHD_CONFIG"
	} >"$SJ_LAB_DIR/mon/listener_config"
	lab_exec mon setsid "$SJ_RECOVERY_SSHD" -f "$SJ_LAB_DIR/mon/listener_config" \
		-E "$SJ_LAB_DIR/mon/listener.log" </dev/null >/dev/null 2>&1 ||
		fail "the -mon listener sshd does not start: $(tail -n 3 "$SJ_LAB_DIR/mon/listener.log" | tr '\n' '|')"
	# shellcheck disable=SC2317
	_dr_listening() { [[ -n $(lab_exec mon ss -Hltn "src $listen:$SJ_PORT") ]]; }
	wait_for 5 _dr_listening || fail "nothing listens on $listen:$SJ_PORT in -mon"
}

# dr_drain_bg - start `securejeebsctl drain web1`; its start time is the
# streams' "crash" time (DR_START_NS too).
dr_drain_bg() {
	DR_START_NS=$(now_ns)
	RC_CRASH_NS=$DR_START_NS
	awk -v n="$DR_START_NS" 'BEGIN { printf "%.6f\n", n / 1e9 }' >"$TK_CRASH_FILE"
	# shellcheck disable=SC2086
	$SJ_CTL drain "$SJ_SERVER_NAME" >"$DR_OUT" 2>&1 &
	DR_PID=$!
}

# dr_drain_wait [TIMEOUT] - wait for the drain command to end: DR_RC (its
# exit status), DR_MS (its duration), the output in DR_OUT.
dr_drain_wait() {
	local t=${1:-60}
	# shellcheck disable=SC2317
	_dr_over() { ! kill -0 "$DR_PID" 2>/dev/null; }
	wait_for "$t" _dr_over || fail "securejeebsctl drain still runs after ${t}s: $(tail -n 3 "$DR_OUT" | tr '\n' '|')"
	DR_RC=0
	wait "$DR_PID" || DR_RC=$?
	DR_MS=$(ms_since "$DR_START_NS")
}

# dr_outages - one line "PORT OUTAGE_MS HOW" per connection the drain moved
# (HOW: exact or from-capture), from its output.
dr_outages() {
	sed -n 's/^conn [0-9.]*:\([0-9]*\) moved \([a-z-]*\) outage_ms=\([0-9.]*\).*/\1 \3 \2/p' "$DR_OUT"
}

# dr_expect_all_moved N - the drain ended with 0 and moved N, every one exact.
dr_expect_all_moved() {
	local n=$1 got
	[[ $DR_RC == 0 ]] || fail "securejeebsctl drain exited $DR_RC: $(tail -n 8 "$DR_OUT" | tr '\n' '|')"
	got=$(dr_outages | wc -l)
	[[ $got == "$n" ]] || fail "$got connections moved, expected $n: $(tr '\n' '|' <"$DR_OUT")"
	got=$(dr_outages | awk '$3 != "exact"' | wc -l)
	[[ $got == 0 ]] || fail "$got connections moved from the capture, not the sshd's state: $(grep from-capture "$DR_OUT" | tr '\n' '|')"
}

# dr_login CMD... - a new login (stock ssh in -cli) that may wait for its
# connection: ConnectTimeout 30 s (a SYN held back by a drain is retried at
# 1, 3, 7, 15 s).
dr_login() {
	_run "$SJ_LAB" exec cli -- /usr/bin/ssh -F /dev/null \
		-i "$SJ_KEY" -o IdentitiesOnly=yes -o IdentityAgent=none \
		-o UserKnownHostsFile="$SJ_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=30 \
		-p "$SJ_PORT" -l "$SJ_USER" "$SJ_VIP" "$@"
}

# dr_monitors_in STATE - the number of the production sshd's session
# monitors whose title says drain-STATE (wait or ready).
dr_monitors_in() {
	local l m n=0
	l=$(cat "$SJ_SSHD_PIDFILE" 2>/dev/null) || { echo 0; return; }
	for m in $(pgrep -P "$l" -f '\[priv\]' || true); do
		tr '\0' ' ' <"/proc/$m/cmdline" 2>/dev/null | grep -q "drain-$1" && n=$((n + 1))
	done
	echo "$n"
}

# dr_vip_on_srv - the service address is on -srv (0) or not (1).
dr_vip_on_srv() { lab_exec srv ip -4 -o addr show | grep -q " $SJ_VIP/"; }
