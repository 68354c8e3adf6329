#!/bin/bash
# Records tests/pcaps/ssh-keys.pcap and ssh-keys.expect: one SSH session in a
# lab with the key export on, captured on the monitor's port (the session on
# port 22 and the sshd's export stream to securejeebsd on port 7022), with
# RekeyLimit 32K so that the session rekeys a few times.  Recorded with it:
# the server kernel's view of the connection (`ss -tin` in -srv, taken while
# the session idles) and the sshd's own failover-keys lines (DEBUG1), whose
# start seqnrs the unit test compares with the SSH tracker.  Also copied: the
# lab's recovery private key (ssh-keys.recovery.key, a throwaway test key
# made by this lab run, protecting nothing else) and the sshd's export
# signing public key (ssh-keys.web1-export.pub), so that the unit test can
# open the exported records.
# Run as root from the top of the tree: tests/pcaps/record-ssh-keys.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/tests/pcaps
export SJ_LAB_PREFIX=${SJ_LAB_PREFIX:-sjreck}
export SJ_SSHD_LOGLEVEL=DEBUG1 SJ_SSHD_EXTRA='RekeyLimit 32K'
unset SJ_LAB_NO_DAEMON SJ_LAB_NO_EXPORT
bytes=${SJ_REC_BYTES:-48000}	# each way
lab=$top/tests/lab/lab
trap '"$lab" down >/dev/null 2>&1 || true' EXIT
"$lab" up >/dev/null
eval "$("$lab" env)"
[[ $SJ_EXPORT == yes ]] || { echo "no key export in this lab: $SJ_EXPORT_WHY" >&2; exit 1; }
mark=$(wc -l <"$SJ_SSHD_LOG")
"$lab" exec mon -- tcpdump -q -n -s 0 -i "$SJ_IF_MON" -w "$SJ_LAB_DIR/mon/cap.pcap" \
	-U "tcp port $SJ_PORT or tcp port 7022" 2>/dev/null &
dump=$!
sleep 1
head -c "$bytes" /dev/zero | tr '\0' y >"$SJ_LAB_DIR/cli/rec-data"
# The client's data, then (after the rekeys) a line more and EOF: packets in
# both directions under the last keys.
{ cat "$SJ_LAB_DIR/cli/rec-data"; sleep 2; echo hi; } |
	"$lab" exec cli -- /usr/bin/ssh -F /dev/null -i "$SJ_KEY" -o IdentitiesOnly=yes \
	-o IdentityAgent=none -o UserKnownHostsFile="$SJ_KNOWN_HOSTS" \
	-o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -p "$SJ_PORT" \
	-l "$SJ_USER" "$SJ_VIP" \
	"head -c $bytes >/dev/null; head -c $bytes /dev/zero | tr '\\0' x; echo; cat; sleep 30" \
	>/dev/null &
ssh=$!
# Wait for both transfers and the rekeys to be done and acknowledged, then
# read the server's view while the session idles.
sleep 5
ss_line=$("$lab" exec srv -- ss -tinH state established "( sport = :$SJ_PORT )" | tr '\n' ' ')
fk=$(tail -n +$((mark + 1)) "$SJ_SSHD_LOG" |
	sed -n 's/.*\(failover-keys conn=[0-9a-fA-F]* .*strict=[0-9]*\).*/\1/p')
sleep 1
kill -INT "$dump"; wait "$dump" || true
kill "$ssh" 2>/dev/null || true
cport=$(awk '{print $4}' <<<"$ss_line" | sed 's/.*://')
get() { grep -o "$1:[0-9,]*" <<<"$ss_line" | head -n 1 | cut -d: -f2; }
nconn=$(awk '{print $2}' <<<"$fk" | sort -u | wc -l)
[[ -n $fk && $nconn == 1 ]] || { echo "expected the failover-keys lines of one connection, got: $fk" >&2; exit 1; }
nkex=$(wc -l <<<"$fk")
cp "$SJ_LAB_DIR/mon/cap.pcap" "$out/ssh-keys.pcap"
install -m 0600 "$SJ_RECOVERY_KEY" "$out/ssh-keys.recovery.key"
install -m 0644 "$SJ_SIGNING_PUB" "$out/ssh-keys.web1-export.pub"
{
	echo "# ss -tin in -srv while the session idled, and the sshd's failover-keys"
	echo "# lines (LogLevel DEBUG1, RekeyLimit 32K), recorded $(date -u +%F)."
	echo "# ssh-keys.recovery.key is the recovery private key of that throwaway"
	echo "# lab run (a test key, protecting nothing); ssh-keys.web1-export.pub the"
	echo "# sshd's export signing public key."
	echo "client_port=$cport"
	echo "bytes_received=$(get bytes_received)"
	echo "bytes_acked=$(get bytes_acked)"
	echo "wscale=$(get wscale)"
	echo "kex_count=$nkex"
	i=0
	while read -r line; do
		c2s=$(grep -o 'c2s=[^ ]*' <<<"$line" | sed 's|.*/||')
		s2c=$(grep -o 's2c=[^ ]*' <<<"$line" | sed 's|.*/||')
		echo "kex${i}_c2s_seqnr=$c2s"
		echo "kex${i}_s2c_seqnr=$s2c"
		i=$((i + 1))
	done <<<"$fk"
	echo "# raw: $ss_line"
	while read -r line; do echo "# sshd: $line"; done <<<"$fk"
} >"$out/ssh-keys.expect"
cat "$out/ssh-keys.expect"
ls -la "$out/ssh-keys.pcap"
