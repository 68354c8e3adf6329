#!/bin/sh
# Builds the Debian packages (`make deb`): securejeebs and
# openssh-server-securejeebs, with the project's own debian/ directory and
# dpkg-buildpackage -us -uc -b, in a copy of the tree (build/deb/src), so
# that the build never touches the tree others work in.  The .debs end in
# build/deb/.  Cached: nothing is rebuilt unless the inputs changed (the
# tree's files as git sees them, tracked or not, but for the tests, the
# benchmarks and CI, which are not packaged; and the version of
# Debian's openssh that scripts/build-openssh.sh would patch).  The OpenSSH
# build of the packages is its own (build/deb/openssh-build), from the
# tree's download cache (build/cache/openssh).
#
# Prints the two .deb paths, one a line, on success.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/deb
stage=$out/src
log=$out/build.log

[ "$(id -u)" -eq 0 ] || { echo "build-deb: must run as root (the OpenSSH build configures apt)" >&2; exit 1; }
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
	{ echo "build-deb: dpkg-buildpackage and debhelper are needed (scripts/setup.sh)" >&2; exit 1; }
cd "$top"
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9

files=$(mktemp)
trap 'rm -f "$files"' EXIT
git ls-files -z -co --exclude-standard | tr '\0' '\n' | grep -v '^build/' |
	LC_ALL=C sort >"$files"
# The key leaves out what cannot change a package: the lab and unit tests,
# the benchmarks, CI.
key=$( {
	grep -Ev '^(tests/lab|tests/unit|bench|\.ci)/|^BENCHMARKS\.md$' "$files" |
	while IFS= read -r f; do
		[ -f "$f" ] || continue
		printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -c1-64)"
	done
	apt-cache policy openssh-client 2>/dev/null | sed -n 's/^ *Candidate: //p'
} | sha256sum | cut -c1-64)

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
arch=$(dpkg --print-architecture)
debs="$out/securejeebs_${version}_$arch.deb $out/openssh-server-securejeebs_${version}_$arch.deb"
up_to_date=yes
[ "$(cat "$out/.key" 2>/dev/null || true)" = "$key" ] || up_to_date=no
for d in $debs; do [ -f "$d" ] || up_to_date=no; done
if [ $up_to_date = yes ]; then
	echo "build-deb: up to date (inputs $(echo "$key" | cut -c1-12))" >&2
	for d in $debs; do echo "$d"; done
	exit 0
fi

echo "build-deb: building in $stage (log $log)" >&2
rm -rf "$stage" "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes "$out/.key"
mkdir -p "$stage"
tr '\n' '\0' <"$files" | tar --null -T - -cf - | tar -C "$stage" -xf -
# The tree's own OpenSSH build is reused when it was made from the same
# inputs: build-openssh.sh's key is over contents, not paths, so a copy
# with a matching stamp is taken as up to date, and anything else is
# rebuilt there.
ob=$out/openssh-build
if [ -f "$top/build/openssh/.sj-stamp" ] && [ -d "$top/build/openssh-src" ] &&
    ! cmp -s "$top/build/openssh/.sj-stamp" "$ob/openssh/.sj-stamp"; then
	(
		flock 8
		rm -rf "$ob/openssh" "$ob/openssh-src"
		mkdir -p "$ob"
		cp -a "$top/build/openssh" "$top/build/openssh-src" "$ob/"
	) 8>"$top/build/.openssh.lock"
fi
start=$(date +%s)
if ! (cd "$stage" && SJ_OPENSSH_BUILD_DIR=$out/openssh-build \
	SJ_OPENSSH_CACHE=$top/build/cache/openssh \
	dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "build-deb: dpkg-buildpackage failed (log $log)" >&2
	exit 1
fi
for d in $debs; do
	[ -f "$d" ] || { echo "build-deb: $d was not built (log $log)" >&2; exit 1; }
done
echo "$key" >"$out/.key"
echo "build-deb: built in $(( $(date +%s) - start )) s" >&2
for d in $debs; do echo "$d"; done
