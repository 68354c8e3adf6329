#!/bin/sh
# Checks the patch step of scripts/build-openssh.sh: a series that applies gives
# a patched tree, and a patch that no longer applies stops the build before
# configure, names the patch file, and leaves no half-patched tree behind.
# Uses the cached Debian source (build/cache/openssh) and a scratch build
# directory, so it neither downloads nor touches build/.
# Exit: 0 pass, 1 fail, 77 skip (not root, or no cached source yet: run
# `make openssh` once).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
script="$top/scripts/build-openssh.sh"
cache=${SJ_OPENSSH_CACHE:-$top/build/cache/openssh}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "the build script runs as root only"
dsc=$(ls "$cache"/openssh_*.dsc 2>/dev/null | tail -n 1 || true)
[ -n "$dsc" ] || skip "no cached Debian openssh source in $cache (run make openssh)"
version=$(sed -n 's/^Version: //p' "$dsc")
[ -n "$version" ] || fail "no Version in $dsc"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/patches"
cp "$top"/openssh-patches/* "$tmp/patches/"

run_build() {
	SJ_OPENSSH_BUILD_DIR="$tmp/build" SJ_OPENSSH_CACHE="$cache" \
	SJ_OPENSSH_PATCHES="$tmp/patches" SJ_OPENSSH_VERSION="$version" \
	SJ_OPENSSH_STOP_AFTER=patch sh "$script" >"$tmp/out" 2>&1
}

# 1. The real series applies.
run_build || { cat "$tmp/out"; fail "the project's own series does not apply"; }
grep -q SECUREJEEBS_VERSION "$tmp/build/openssh-src/version.h" ||
	fail "patch 0001 is not in the unpacked tree"
[ ! -e "$tmp/build/openssh-src/config.status" ] || fail "configure ran despite SJ_OPENSSH_STOP_AFTER=patch"

# 2. A patch that does not apply, after one that does.
broken=9999-does-not-apply.patch
cat >"$tmp/patches/$broken" <<'EOF'
Test patch whose context is not in any OpenSSH tree.

diff -u a/version.h b/version.h
--- a/version.h
+++ b/version.h
@@ -1,3 +1,3 @@
 /* no such line in version.h */
-#define SSH_VERSION	"OpenSSH_0.0"
+#define SSH_VERSION	"OpenSSH_0.1"
 
EOF
# A second file in the same patch that would apply: the dry run must keep it out.
cat >>"$tmp/patches/$broken" <<'EOF'
diff -u a/sjtest-marker b/sjtest-marker
--- /dev/null
+++ b/sjtest-marker
@@ -0,0 +1 @@
+applied
EOF
echo "$broken" >>"$tmp/patches/series"
rm -rf "$tmp/build"

status=0
run_build || status=$?
[ "$status" -ne 0 ] || { cat "$tmp/out"; fail "the build succeeded with a patch that does not apply"; }
grep -q "error: patch .*/$broken does not apply" "$tmp/out" ||
	{ cat "$tmp/out"; fail "the failure message does not name $broken"; }
grep -q "applied .* patch" "$tmp/out" && fail "the patch step reported success"
[ ! -e "$tmp/build/openssh-src" ] || fail "a (half-)patched tree was left in openssh-src"
[ ! -e "$tmp/build/openssh-src.new" ] || fail "the scratch tree was left behind"
[ ! -e "$tmp/build/openssh" ] || fail "something was installed"
grep -q "^openssh: configure" "$tmp/out" && fail "the build went on to configure"

echo "PASS: openssh-series (broken patch fails the build and is named)"
