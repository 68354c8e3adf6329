# tests/lab/fault-lib.sh - helpers for the fault matrix (tests/lab/04N-*,
# 05N-*: issue 9, "Fault matrix (lab)"); source it instead of
# recover-lib.sh, whose helpers it adds to:
#
#   . "$(dirname "$0")/fault-lib.sh"
#   fl_port_of_pid PID          # -cli port of the connection of client PID
#   fl_fate PORT                # "fate<TAB>why" of a taken-over connection
#   fl_expect_fate PORT 'recovered|reset' [WHY-ERE]
#   fl_transport_errors TEXT    # the lines of a client's stderr that say
#                               # its transport broke (MAC, bad packet, ...)
#   fl_no_takeover_before       # no suspect/dead/takeover event so far
#   fl_rss                      # the daemon's VmRSS, KiB
#   fl_field JSON-EXPR          # an expression on connections --json `cs`
#
# Each scenario says in its header what must hold: the client connection
# survives with no transport error, or is reset cleanly with a reason (the
# client sees the connection end: no corrupt byte, no hang), and nothing
# else is affected (the other sessions of the lab recover).
# shellcheck shell=bash

. "$(dirname "${BASH_SOURCE[0]}")/recover-lib.sh"

# What a client prints when its transport (not the remote command) broke
# in a way recovery must never cause: corrupt or out-of-step bytes.
# shellcheck disable=SC2034  # (used by the scenarios)
FL_CORRUPT_RE='[Cc]orrupt|[Bb]ad packet length|message authentication code incorrect|MAC (check )?failed|[Mm]ismatched MAC|[Ii]ncorrect MAC|invalid packet|padding error|[Pp]rotocol error|Unexpected message|[Bb]ad (remote )?protocol version|message .* out of (order|sequence)|[Dd]ecryption failed|[Ii]nvalid MAC|unexpected (packet|message) type'
# What a client prints when its connection was reset or closed under it
# (a clean reset, as the design allows for what cannot be recovered).
# shellcheck disable=SC2034
FL_RESET_RE='[Rr]eset|[Cc]losed|[Bb]roken pipe|[Cc]onnection lost|EOF|[Ee]rror reading SSH protocol banner|[Ss]ocket is closed|[Ee]nd of file|No existing session|[Cc]onnection (refused|aborted)'

# fl_port_of_pid PID [PORT] - the -cli port of the established connection to
# VIP:PORT (default 22) owned by process PID.
fl_port_of_pid() {
	lab_exec cli ss -Htnp state established dst "$SJ_VIP" |
		awk -v pid="pid=$1," -v v="$SJ_VIP:${2:-22}" '$4 == v && index($0, pid) { n = split($3, a, ":"); print a[n] }' | head -n 1
}

# fl_field EXPR - a Python expression on the list of connections --json
# (`cs`), printed.
fl_field() {
	local j
	j=$($SJ_CTL connections --json) || fail "securejeebsctl connections --json failed"
	SJ_CLI_IP=$SJ_CLI_IP "$TK_PY" -c '
import json, os, sys
cs = json.load(sys.stdin)
def port(p, srv=os.environ.get("FL_SRV") or None, cli=os.environ.get("SJ_CLI_IP")):
    m = [c for c in cs if c.get("client_port") == int(p) and (srv is None or c["server"] == srv)
         and (not cli or c.get("client_addr") == cli)]
    for key in ("takeover", "tcp"):
        for c in m:
            if c.get(key):
                return c
    return m[-1] if m else None
print(eval(sys.argv[1]))' "$1" <<<"$j"
}

# fl_fate PORT [SERVER] - "fate<TAB>why" of the taken-over connection from
# client port PORT (of SERVER), or "none<TAB>" if it was not taken over.
fl_fate() {
	FL_SRV=${2:-} SJ_CLI_IP=$SJ_CLI_IP fl_field "(lambda c: (c['takeover']['fate'] + '\t' + (c['takeover'].get('why') or '')) if c and c.get('takeover') else 'none\t')(port($1))"
}

# fl_expect_fate PORT FATE-ERE [WHY-ERE] [SERVER] - the fate of PORT's
# connection matches FATE-ERE (and its reason WHY-ERE); fl_got is the fate,
# fl_why the reason.
fl_expect_fate() {
	local f
	f=$(fl_fate "$1" "${4:-}")
	fl_got=${f%%$'\t'*} fl_why=${f#*$'\t'}
	[[ $fl_got =~ ^($2)$ ]] || fail "port $1: fate '$fl_got' ($fl_why), expected $2; all: $(rc_conn_whys)"
	[[ -z ${3:-} || $fl_why =~ $3 ]] || fail "port $1: $fl_got with reason '$fl_why', expected a reason matching /$3/"
}

# fl_transport_errors TEXT - the lines of TEXT (a client's stderr) that say
# its transport received corrupt or out-of-step bytes.
fl_transport_errors() { tr -d '\r' <<<"$1" | grep -E -- "$FL_CORRUPT_RE" || true; }

# fl_no_takeover_before - no server was suspected, declared dead or taken
# over so far (events), and status says alive.
fl_no_takeover_before() {
	local ev
	ev=$($SJ_CTL events) || fail "securejeebsctl events failed"
	if grep -Eq ' (suspect|dead|fencing|fenced|takeover[a-z-]*|handing-off|taken-over) ' <<<"$ev"; then
		fail "a live server was suspected, declared dead or taken over: $(grep -E ' (suspect|dead|fencing|fenced|takeover[a-z-]*|handing-off|taken-over) ' <<<"$ev" | head -n 3 | tr '\n' '|')"
	fi
	[[ $(tk_status_field 'v["state"]') == alive ]] || fail "state before the crash: $(tk_status_field 'v["state"] + ": " + v["why"]')"
}

# fl_rss - the daemon's resident memory, KiB.
fl_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "$SJ_JEEBSD_PIDFILE")/status"; }

# fl_wait_protectable N [TIMEOUT] - at least N wire-tracked connections are
# protectable.
fl_wait_protectable() {
	# shellcheck disable=SC2317
	_fl_np() { [[ $(fl_field 'sum(1 for c in cs if c.get("tcp") and c.get("protectable"))') -ge $1 ]]; }
	wait_for "${2:-15}" _fl_np "$1" ||
		fail "fewer than $1 protectable connections: $(fl_field '[(c["client_port"], c["protectable"], c["reason"]) for c in cs if c.get("tcp")]')"
}

# fl_rc_vars - what rc_lab_up sets besides the lab (for a scenario that
# brings the lab up itself, e.g. without the daemon).
fl_rc_vars() {
	RC_DIR=$SJ_LAB_DIR/cli
	TK_DIR=$RC_DIR
	TK_CRASH_FILE=$RC_DIR/crash-time
	TM_SOCK=$RC_DIR/tmux.sock
	RC_HOSTCMD="grep -o '$SJ_PREFIX-[a-z0-9]*' /proc/net/dev"
}

# fl_start_daemon [CONF] - start securejeebsd in -mon as the lab does (its
# pid in the lab's pid file), and wait until it answers on its control
# socket; fails with its last log lines if it does not.
fl_start_daemon() {
	local dflag=() pid
	[[ ${SJ_JEEBSD_DEBUG:-1} == 1 ]] && dflag=(-d)
	lab_exec mon setsid "$SJ_JEEBSD" -c "${1:-$SJ_JEEBS_CONF}" -f "${dflag[@]}" </dev/null >>"$SJ_JEEBSD_LOG" 2>&1 &
	pid=$!
	echo "$pid" >"$SJ_JEEBSD_PIDFILE"
	disown "$pid" 2>/dev/null || true
	# shellcheck disable=SC2317
	_fl_answers() { kill -0 "$pid" 2>/dev/null && $SJ_CTL status >/dev/null 2>&1; }
	wait_for 10 _fl_answers || fail "securejeebsd (pid $pid) does not answer on its control socket: $(tail -n 3 "$SJ_JEEBSD_LOG" | tr '\n' '|')"
}

# fl_last_line TEXT - its last non-empty line (carriage returns dropped),
# or nothing.
fl_last_line() { tr -d '\r' <<<"$1" | { grep -v '^[[:space:]]*$' || true; } | tail -n 1; }
