# tests/lab/takeover-lib.sh - helpers for the takeover scenarios
# (tests/lab/02N-*) and benchmarks; source it instead of lib.sh:
#
#   . "$(dirname "$0")/takeover-lib.sh"
#   tk_lab_up                   # lab with a line-echo service on VIP:7000 in
#                               # -srv, watched by securejeebsd with
#                               # `recover exec /bin/cat` and `fence none`
#   tk_client a --conns 1 ...   # takeover-echo client "a" in -cli (background)
#   tk_wait_ready a             # each of its connections has had an echo
#   tk_crash                    # note the time, then lab crash
#   tk_wait_state taken-over 10 # the server's takeover state in status --json
#   tk_stop_client a            # stop sending, wait for its summary
#   tk_check_clean a            # no error, no loss, no duplicate
#   tk_check_outage a 3000      # an echo after the crash on every connection
#
# The jeebs.conf lines go through the lab's hook SJ_JEEBS_SERVER_EXTRA (later
# lines win): set TK_SERVER_EXTRA for more (a fence command, dead_after,
# ...) before tk_lab_up.
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TK_PORT=7000
TK_ECHO=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")/takeover-echo")
TK_PY=/usr/bin/python3

# tk_lab_up - the lab, with the echo service and the daemon configured for it.
tk_lab_up() {
	export SJ_JEEBS_SERVER_EXTRA="ports $TK_PORT
fence none
recover exec /bin/cat
dead_after ${TK_DEAD_AFTER:-100}
${TK_SERVER_EXTRA:-}"
	export SJ_JEEBS_EXTRA=${TK_GLOBAL_EXTRA:-}
	lab_up
	grep -q '^recover exec' "$SJ_JEEBS_CONF" ||
		skip "the lab does not pass SJ_JEEBS_SERVER_EXTRA into jeebs.conf"
	local pid
	pid=$(cat "$SJ_JEEBSD_PIDFILE" 2>/dev/null || true)
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null ||
		fail "securejeebsd is not running: $(tail -n 3 "$SJ_JEEBSD_LOG" 2>/dev/null)"
	TK_DIR=$SJ_LAB_DIR/cli
	TK_CRASH_FILE=$TK_DIR/crash-time
	tk_echo_server
}

# tk_echo_server - the line-echo service on VIP:7000 in -srv.
tk_echo_server() {
	local log=$SJ_LAB_DIR/srv/echo-server.log
	lab_exec srv setsid "$TK_PY" "$TK_ECHO" server "$SJ_VIP" "$TK_PORT" \
		</dev/null >"$log" 2>&1 &
	disown	# a crash kills it: no word from the shell about that
	# shellcheck disable=SC2317
	_tk_listening() { [[ -n $(lab_exec srv ss -Hltn "src $SJ_VIP:$TK_PORT") ]]; }
	wait_for 10 _tk_listening || fail "echo server does not listen: $(tail -n 2 "$log")"
}

# tk_client NAME ARGS... - a checking client in -cli, in the background; its
# files are $TK_DIR/NAME.* (summary NAME.json).
tk_client() {
	local name=$1; shift
	rm -f "$TK_DIR/$name.json" "$TK_DIR/$name.stop" "$TK_DIR/$name.ready"
	lab_exec cli "$TK_PY" "$TK_ECHO" client "$SJ_VIP" "$TK_PORT" \
		--summary "$TK_DIR/$name.json" --stop-file "$TK_DIR/$name.stop" \
		--crash-file "$TK_CRASH_FILE" --ready-file "$TK_DIR/$name.ready" "$@" \
		</dev/null >"$TK_DIR/$name.out" 2>&1 &
	eval "TK_PID_$name=\$!"
}

# tk_wait_ready NAME [TIMEOUT] - every connection of NAME has had an echo.
tk_wait_ready() {
	wait_for "${2:-15}" test -e "$TK_DIR/$1.ready" ||
		fail "client $1: no echo on every connection: $(tail -n 3 "$TK_DIR/$1.out")"
}

# tk_crash - note the time (just before the link is cut), then crash.
tk_crash() {
	now >"$TK_CRASH_FILE"
	lab crash 2>/dev/null || fail "lab crash failed"
}

# tk_status_field EXPR - a Python expression on the status JSON `s` (server
# 0 is `v`, its takeover `t`, None if none); prints its value.
tk_status_field() {
	local j
	j=$($SJ_CTL status --json 2>/dev/null) || return 1
	"$TK_PY" -c '
import json, sys
s = json.load(sys.stdin); v = s["servers"][0]; t = v.get("takeover")
print(eval(sys.argv[1]))' "$1" <<<"$j"
}

# tk_wait_state STATE TIMEOUT - wait for the server's state in status.
tk_wait_state() {
	local want=$1 t=${2:-10}
	# shellcheck disable=SC2317
	_tk_state_is() { [[ $(tk_status_field 'v["state"]') == "$want" ]]; }
	wait_for "$t" _tk_state_is || fail "state not $want after ${t}s: $(tk_status_field 'v["state"] + ": " + v["why"]'); last daemon lines: $(tail -n 5 "$SJ_JEEBSD_LOG" | tr '\n' '|')"
}

# tk_stop_client NAME - stop sending and wait for its summary.
tk_stop_client() {
	local name=$1 pid rc=0
	touch "$TK_DIR/$name.stop"
	eval "pid=\$TK_PID_$name"
	wait "$pid" || rc=$?
	[[ -s $TK_DIR/$name.json ]] ||
		fail "client $name wrote no summary (exit $rc): $(tail -n 5 "$TK_DIR/$name.out")"
}

# tk_sum NAME EXPR - a Python expression on client NAME's summary `s`.
tk_sum() {
	"$TK_PY" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$TK_DIR/$1.json" "$2"
}

# tk_check_clean NAME - client NAME saw no error, no line was lost or
# duplicated, and the echo side closed every connection cleanly at the end.
tk_check_clean() {
	local name=$1 e m l c n
	e=$(tk_sum "$name" 'len(s["errors"])') m=$(tk_sum "$name" 'len(s["mismatches"])')
	l=$(tk_sum "$name" 's["lost"]') c=$(tk_sum "$name" 's["eof_clean"]')
	n=$(tk_sum "$name" 's["conns"]')
	[[ $e == 0 ]] || fail "client $name saw errors: $(tk_sum "$name" 's["errors"][:3]')"
	[[ $m == 0 ]] || fail "client $name: echoes did not match (duplicate or corrupt): $(tk_sum "$name" 's["mismatches"][:3]')"
	[[ $l == 0 ]] || fail "client $name: $l lines never echoed"
	[[ $c == "$n" ]] || fail "client $name: only $c of $n connections were closed cleanly by the echo side"
	note "client $name: $n connections, $(tk_sum "$name" 's["sent"]') lines sent, all echoed once, in order"
}

# tk_check_outage NAME [MAX_MS] - every connection of NAME had an echo after
# the crash; the outage (last echo before the crash -> first after) is
# bounded and noted, with last server frame -> first echo (the daemon's last
# frame from the server: the crash, to within one line) in $TK_FIRST_ECHO_MS.
tk_check_outage() {
	local name=$1 max=${2:-3000} g lf
	g=$(tk_sum "$name" 's["gap_max_ms"]')
	[[ $g != None ]] || fail "client $name: no echo after the crash"
	[[ $(tk_sum "$name" 'sum(1 for g in s["per_conn"] if g.get("first_after"))') == $(tk_sum "$name" 's["conns"]') ]] ||
		fail "client $name: some connections had no echo after the crash"
	awk -v g="$g" -v m="$max" 'BEGIN { exit !(g <= m) }' ||
		fail "client $name: outage ${g} ms over ${max} ms"
	lf=$(tk_status_field 't["last_frame_us"]')
	TK_OUTAGE_MS=$(tk_sum "$name" '"%.0f" % s["gap_max_ms"]')
	TK_FIRST_ECHO_MS=$(tk_sum "$name" '"%.0f" % ((s["first_echo_after"] - '"$lf"' / 1e6) * 1000)')
	note "client $name: outage (last echo before the crash -> first after) max $TK_OUTAGE_MS ms, median $(tk_sum "$name" '"%.0f" % s["gap_median_ms"]') ms; last server frame -> first echo $TK_FIRST_ECHO_MS ms; detection $(tk_status_field '"%.0f" % t["detection_ms"]') ms; rtt $(tk_sum "$name" '"%.3f" % (s["rtt_ms"] or 0)') ms"
}

# tk_conns_json - the taken-over connections of `connections --json`, one
# JSON object per line.
tk_conns_json() {
	local j
	j=$($SJ_CTL connections --json) || fail "securejeebsctl connections --json failed"
	"$TK_PY" -c '
import json, sys
for c in json.load(sys.stdin):
    if c.get("takeover"):
        print(json.dumps(c))' <<<"$j"
}

# tk_daemon_alive - the daemon still runs.
tk_daemon_alive() {
	local pid
	pid=$(cat "$SJ_JEEBSD_PIDFILE" 2>/dev/null || true)
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null ||
		fail "securejeebsd died: $(tail -n 5 "$SJ_JEEBSD_LOG")"
}

# tk_hub_drop NAME RULE - an nftables rule in the hub's bridge forward path
# (e.g. 'oifname "p-cli-p" ip saddr 198.18.0.2 ip length > 64'), dropping
# what it matches; tk_hub_undrop NAME removes it.
tk_hub_drop() {
	lab exec hub -- nft -f - <<NFT || fail "nft rule $1 refused"
table bridge $1 {
	chain forward {
		type filter hook forward priority 0; policy accept;
		$2 drop
	}
}
NFT
}
tk_hub_undrop() { lab exec hub -- nft delete table bridge "$1" 2>/dev/null || true; }

# tk_takeover_conns_check EXPR - every taken-over connection `c` (its
# takeover part `t`) of connections --json satisfies EXPR; prints the count.
tk_takeover_conns_check() {
	local j
	j=$($SJ_CTL connections --json) || fail "securejeebsctl connections --json failed"
	"$TK_PY" -c '
import json, sys
n = 0
for c in json.load(sys.stdin):
    t = c.get("takeover")
    if not t:
        continue
    n += 1
    if not eval(sys.argv[1]):
        sys.exit("taken-over connection fails %s: %s" % (sys.argv[1], json.dumps(c)))
print(n)' "$1" <<<"$j" || fail "connections --json: a connection fails $1"
}
