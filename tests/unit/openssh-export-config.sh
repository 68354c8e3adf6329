#!/bin/sh
# Checks the FailoverExport keywords of the patched sshd (openssh-patches
# 0003): `sshd -t` accepts a good configuration, and refuses bad ones with a
# message that names the keyword and the problem: a recovery host that is
# not a numeric address, a missing key file, a signing key readable by
# others, the signing key being a host key, a key of the wrong type, no
# recovery host, a bad server name.  With FailoverExport no, the Failover
# key files are not even looked at.  Uses build/openssh/ (make openssh).
# Exit: 0 pass, 1 fail, 77 skip (not root, or no patched sshd built yet).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${SJ_OPENSSH_BIN:-$top/build/openssh}
sshd="$bin/sshd"

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "sshd -t checks key ownership as root"
if [ ! -x "$sshd" ] || [ ! -x "$bin/ssh-keygen" ]; then
	skip "no patched sshd in $bin (run make openssh)"
fi
command -v openssl >/dev/null || skip "openssl(1) not installed"
[ -d /run/sshd ] || skip "no privilege separation directory /run/sshd (run scripts/setup.sh)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
umask 077
"$bin/ssh-keygen" -q -t ed25519 -N '' -f "$tmp/host_ed25519"
openssl genpkey -algorithm X25519 -out "$tmp/recovery.pem" 2>/dev/null
openssl pkey -in "$tmp/recovery.pem" -pubout -out "$tmp/recovery.pub"
chmod 644 "$tmp/recovery.pub"
openssl genpkey -algorithm ED25519 -out "$tmp/signing.pem" 2>/dev/null
chmod 600 "$tmp/signing.pem"
cat >"$tmp/base.cfg" <<EOF
HostKey $tmp/host_ed25519
PidFile none
EOF
"$sshd" -T -f "$tmp/base.cfg" 2>/dev/null | grep -q '^failoverexport no$' ||
	fail "$sshd does not know FailoverExport, or its default is not no (patch 0003?)"
good="-o FailoverExport=yes -o FailoverRecoveryHost=198.18.0.2:7022
-o FailoverRecoveryKey=$tmp/recovery.pub -o FailoverSigningKey=$tmp/signing.pem"

# run_t EXPECT DESCRIPTION -o ...: runs sshd -t; EXPECT is "ok" or a
# pattern the error output must match (grep -E).
n=0
run_t() {
	_want=$1; _what=$2; shift 2
	n=$((n + 1))
	_status=0
	"$sshd" -t -f "$tmp/base.cfg" "$@" >"$tmp/out" 2>&1 || _status=$?
	if [ "$_want" = ok ]; then
		[ $_status -eq 0 ] || { cat "$tmp/out"; fail "$_what: sshd -t refused a good configuration"; }
		return 0
	fi
	[ $_status -ne 0 ] || fail "$_what: sshd -t accepted it"
	grep -Eq "$_want" "$tmp/out" ||
		{ cat "$tmp/out"; fail "$_what: message does not match /$_want/"; }
}

# sshd takes the first value given for a keyword, so each case puts its
# bad value before the good ones.
# shellcheck disable=SC2086
{
run_t ok "good configuration" $good
run_t ok "several hosts, IPv6, default port" \
	-o "FailoverRecoveryHost=[2001:db8::7] 198.18.0.3 2001:db8::8" \
	-o FailoverServerName=prod-1.a_b $good
run_t ok "FailoverExport no ignores missing key files" -o FailoverExport=no \
	-o FailoverRecoveryKey=$tmp/none.pub -o FailoverSigningKey=$tmp/none.pem

run_t 'FailoverRecoveryHost "recovery\.example:7022": not a numeric' "host name as recovery host" \
	-o FailoverRecoveryHost=recovery.example:7022 $good
run_t 'FailoverRecoveryHost "198\.18\.0\.2:99999": not a numeric' "bad port" \
	-o FailoverRecoveryHost=198.18.0.2:99999 $good
run_t 'FailoverRecoveryHost "198\.18\.0\.300": not a numeric' "bad IPv4 address" \
	-o FailoverRecoveryHost=198.18.0.300 $good
run_t 'FailoverRecoveryKey .*/none\.pub: No such file or directory' "missing recovery key" \
	-o FailoverRecoveryKey=$tmp/none.pub $good
run_t 'FailoverSigningKey .*/none\.pem: No such file or directory' "missing signing key" \
	-o FailoverSigningKey=$tmp/none.pem $good
run_t 'FailoverExport yes needs FailoverSigningKey' "no signing key" \
	-o FailoverExport=yes -o FailoverRecoveryHost=198.18.0.2 -o FailoverRecoveryKey=$tmp/recovery.pub
run_t 'FailoverExport yes needs at least one FailoverRecoveryHost' "no recovery host" \
	-o FailoverExport=yes -o FailoverRecoveryKey=$tmp/recovery.pub -o FailoverSigningKey=$tmp/signing.pem
run_t 'FailoverServerName "a/b": must be 1-64 of' "bad server name" \
	-o FailoverServerName=a/b $good
run_t 'FailoverRecoveryKey .*/signing\.pem: not an X25519 public key' "recovery key of the wrong type" \
	-o FailoverRecoveryKey=$tmp/signing.pem $good
run_t 'FailoverSigningKey .*/recovery\.pem: not an Ed25519 private key' "signing key of the wrong type" \
	-o FailoverSigningKey=$tmp/recovery.pem $good
run_t 'FailoverSigningKey .*/host_ed25519 is the HostKey .*/host_ed25519: .*must be a dedicated key' \
	"signing key is the host key" -o FailoverSigningKey=$tmp/host_ed25519 $good
ln "$tmp/signing.pem" "$tmp/hostkey-link"
run_t 'FailoverSigningKey .*/signing\.pem is the HostKey .*/hostkey-link' \
	"signing key is a host key under another name" -o HostKey=$tmp/hostkey-link $good
rm "$tmp/hostkey-link"
chmod 644 "$tmp/signing.pem"
run_t 'FailoverSigningKey .*/signing\.pem: bad permissions: .*chmod 600' "world-readable signing key" $good
chmod 640 "$tmp/signing.pem"
run_t 'FailoverSigningKey .*/signing\.pem: bad permissions' "group-readable signing key" $good
chmod 600 "$tmp/signing.pem"
chmod 666 "$tmp/recovery.pub"
run_t 'FailoverRecoveryKey .*/recovery\.pub: bad permissions: .*not writable by group or others' \
	"world-writable recovery key" $good
chmod 644 "$tmp/recovery.pub"
run_t ok "good again" $good
}

# -T shows what was parsed, normalised.
# shellcheck disable=SC2086
"$sshd" -T -f "$tmp/base.cfg" -o "FailoverRecoveryHost=[2001:db8::7]" \
	-o FailoverServerName=prod1 $good >"$tmp/dump" 2>&1 || { cat "$tmp/dump"; fail "sshd -T failed"; }
for want in 'failoverexport yes' 'failoverrecoveryhost 198.18.0.2:7022' \
	'failoverrecoveryhost [2001:db8::7]:7022' "failoverrecoverykey $tmp/recovery.pub" \
	"failoversigningkey $tmp/signing.pem" 'failoverservername prod1'; do
	grep -qxF "$want" "$tmp/dump" || { grep -i failover "$tmp/dump"; fail "sshd -T lacks '$want'"; }
done

echo "PASS: openssh-export-config ($n sshd -t cases, sshd -T)"
