#!/bin/sh
# Builds the patched OpenSSH that SecureJeebs runs: Debian's own source package
# for this host's release (Debian's patches applied), then openssh-patches/series,
# configured like Debian's build, installed as plain files into build/openssh/.
# Run by `make openssh` from the top directory, as root.  Idempotent: the source
# is downloaded once into build/cache/openssh/, and nothing is rebuilt unless this
# script, VERSION, openssh-patches/ or the sealing code compiled into sshd
# (src/seal.[ch], src/buf.[ch]) changed.
#
# Environment overrides (for tests and for pinning):
#   SJ_OPENSSH_BUILD_DIR  build directory instead of <top>/build
#   SJ_OPENSSH_CACHE      download cache instead of $SJ_OPENSSH_BUILD_DIR/cache/openssh
#   SJ_OPENSSH_PATCHES    directory holding `series` and the patches
#   SJ_OPENSSH_VERSION    Debian source version to use (default: the candidate
#                         version of openssh-client, else the installed one)
#   SJ_OPENSSH_STOP_AFTER=patch  stop once the patched tree is ready (tests)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
self="$top/scripts/build-openssh.sh"
build_dir=${SJ_OPENSSH_BUILD_DIR:-$top/build}
cache=${SJ_OPENSSH_CACHE:-$build_dir/cache/openssh}
patch_dir=${SJ_OPENSSH_PATCHES:-$top/openssh-patches}
src="$build_dir/openssh-src"
out="$build_dir/openssh"
log="$src/build.log"
srclist=/etc/apt/sources.list.d/securejeebs-deb-src.sources

# The project's own sealing code (docs/export-format.md), compiled into sshd
# unchanged: copied into the tree as securejeebs/*.c,h before configure; the
# FailoverExport patches add the objects to sshd's object list.
shared_src="src/seal.c src/seal.h src/buf.c src/buf.h"

# What gets installed into build/openssh/: the server and what it runs (sftp
# subsystem, key helpers), the client tools used by the lab, and the DH-GEX
# moduli file (sshd falls back to built-in groups without it).
programs="sshd ssh ssh-keygen sftp-server scp sftp ssh-add ssh-agent ssh-keyscan
ssh-keysign ssh-pkcs11-helper ssh-sk-helper"

say() { echo "openssh: $*"; }
die() { echo "openssh: error: $*" >&2; exit 1; }

# Runs a logged phase; on failure shows the end of the log and stops.
run_logged() {
	_what=$1; _log=$2; shift 2
	echo "=== $_what: $*" >>"$_log"
	if ! "$@" >>"$_log" 2>&1; then
		# Without the long compiler command lines, so the errors stand out.
		echo "openssh: error: $_what failed; last lines of $_log:" >&2
		grep -v -e '^cc ' -e '^gcc ' "$_log" | tail -n 25 | cut -c1-200 >&2
		echo "openssh: error: $_what failed (full log: $_log)" >&2
		exit 1
	fi
}

[ "$(id -u)" -eq 0 ] || die "must run as root (apt sources, apt-get update)"

[ -f "$top/VERSION" ] || die "missing $top/VERSION"
sj_version=$(tr -d ' \t\r\n' <"$top/VERSION")
case $sj_version in
''|*[!0-9A-Za-z.+~-]*) die "VERSION '$sj_version' is not a plain version string" ;;
esac
[ -f "$patch_dir/series" ] || die "missing $patch_dir/series"

# ---------------------------------------------------------------------------
# Which Debian version.
# ---------------------------------------------------------------------------
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "cannot tell this host's Debian release from /etc/os-release"

deb_version=${SJ_OPENSSH_VERSION:-}
if [ -z "$deb_version" ]; then
	deb_version=$(apt-cache policy openssh-client 2>/dev/null |
		awk '$1 == "Candidate:" { print $2; exit }')
	case $deb_version in
	''|'(none)')
		deb_version=$(dpkg-query -W -f='${Version}' openssh-client 2>/dev/null || true) ;;
	esac
fi
[ -n "$deb_version" ] || die "cannot tell the openssh version (is openssh-client known to apt?)"
# File names drop the epoch: 1:9.2p1-2+deb12u10 -> openssh_9.2p1-2+deb12u10.dsc
file_version=${deb_version#*:}
dsc="$cache/openssh_$file_version.dsc"

# ---------------------------------------------------------------------------
# Up to date?  The key covers everything that changes the result.
# ---------------------------------------------------------------------------
key=$( {
	echo "debian $deb_version securejeebs $sj_version"
	cat "$self"
	echo "series:"; cat "$patch_dir/series"
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$patch_dir/series" | while read -r p _; do
		echo "patch $p"; cat "$patch_dir/$p" 2>/dev/null || echo "(missing)"
	done
	for f in $shared_src; do
		echo "shared $f"
		if [ -f "$top/$f" ]; then sha256sum <"$top/$f"; else echo "(missing)"; fi
	done
} | sha256sum | cut -c1-64)

mkdir -p "$build_dir"
# One build at a time per build directory.
exec 9>"$build_dir/.openssh.lock"
flock 9

up_to_date=yes
[ "$(cat "$out/.sj-stamp" 2>/dev/null || true)" = "$key" ] || up_to_date=no
for p in $programs moduli; do
	[ -f "$out/$p" ] || up_to_date=no
done
if [ $up_to_date = yes ]; then
	say "up to date (OpenSSH $deb_version, SecureJeebs $sj_version) in $out"
	exit 0
fi

# ---------------------------------------------------------------------------
# deb-src for this release, derived from the existing deb entries.
# ---------------------------------------------------------------------------

# Prints deb822 deb-src stanzas for every enabled `deb` entry of this release
# (suite <codename> or <codename>-*), in deb822 (*.sources) or one-line
# (*.list) files.  Only Types, URIs, Suites, Components and Signed-By are
# carried over: never trusted=yes, so apt checks the Sources indexes against the
# archive's signed Release files as it does for the binaries.
derive_deb_src() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && [ "$f" != "$srclist" ] || continue
		awk -v cn="$codename" '
		function keep_suites(s,    n, a, i, r) {
			n = split(s, a, /[ \t]+/); r = ""
			for (i = 1; i <= n; i++)
				if (a[i] == cn || index(a[i], cn "-") == 1 || a[i] == cn "/updates")
					r = r (r == "" ? "" : " ") a[i]
			return r
		}
		function flush(    t, s) {
			t = " " v["types"] " "; s = keep_suites(v["suites"])
			if (seen && index(t, " deb ") && tolower(v["enabled"]) != "no" && s != "" &&
			    v["uris"] != "" && v["components"] != "") {
				printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n", v["uris"], s, v["components"]
				if (v["signed-by"] != "") printf "Signed-By: %s\n", v["signed-by"]
				printf "\n"
			}
			split("", v); seen = 0; cur = ""
		}
		/^#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ { if (cur == "signed-by") v[cur] = v[cur] "\n" $0
		           else if (cur != "") v[cur] = v[cur] " " $0
		           next }
		{ i = index($0, ":"); if (!i) next
		  cur = tolower(substr($0, 1, i - 1)); val = substr($0, i + 1)
		  sub(/^[ \t]+/, "", val); sub(/[ \t]+$/, "", val)
		  v[cur] = val; seen = 1 }
		END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v cn="$codename" '
		{ sub(/#.*/, "") }
		$1 != "deb" { next }
		{ signed = ""; rest = $0; sub(/^[ \t]*deb[ \t]+/, "", rest)
		  if (substr(rest, 1, 1) == "[") {
			j = index(rest, "]"); opts = substr(rest, 2, j - 2); rest = substr(rest, j + 1)
			n = split(opts, o, /[ \t]+/)
			for (k = 1; k <= n; k++) if (o[k] ~ /^signed-by=/) signed = substr(o[k], 11)
		  }
		  n = split(rest, w, /[ \t]+/); if (w[1] == "") { for (k = 1; k < n; k++) w[k] = w[k + 1]; n-- }
		  if (n < 3) next
		  if (!(w[2] == cn || index(w[2], cn "-") == 1 || w[2] == cn "/updates")) next
		  comps = w[3]; for (k = 4; k <= n; k++) comps = comps " " w[k]
		  printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n", w[1], w[2], comps
		  if (signed != "") printf "Signed-By: %s\n", signed
		  printf "\n" }' "$f"
	done
}

# True if some source list other than ours already has deb-src for this release.
have_deb_src() {
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && [ "$f" != "$srclist" ] || continue
		awk -v cn="$codename" '
		/^#/ { next }
		/^[ \t]*$/ { if (src && rel && !off) found = 1; src = rel = off = 0; next }
		tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb-src") src = 1 }
		tolower($1) == "suites:" { for (i = 2; i <= NF; i++)
			if ($i == cn || index($i, cn "-") == 1) rel = 1 }
		tolower($1) == "enabled:" && tolower($2) == "no" { off = 1 }
		END { if (src && rel && !off) found = 1; exit !found }' "$f" && return 0
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v cn="$codename" '
		{ sub(/#.*/, "") }
		$1 == "deb-src" { for (i = 2; i <= NF; i++)
			if ($i == cn || index($i, cn "-") == 1) found = 1 }
		END { exit !found }' "$f" && return 0
	done
	return 1
}

ensure_deb_src() {
	if have_deb_src; then
		return 0
	fi
	_want=$(mktemp)
	{
		echo "# Written by SecureJeebs scripts/build-openssh.sh: source packages of"
		echo "# this release, for building the patched OpenSSH.  Derived from the"
		echo "# existing deb entries; safe to delete."
		echo
		derive_deb_src
	} >"$_want"
	grep -q '^Types: deb-src' "$_want" ||
		{ rm -f "$_want"; die "no Debian '$codename' deb entry in the apt sources to derive deb-src from"; }
	if cmp -s "$_want" "$srclist"; then
		rm -f "$_want"
	else
		say "adding $srclist"
		install -m 0644 "$_want" "$srclist"
		rm -f "$_want"
		say "apt-get update"
		apt-get update -q >>"$dl_log" 2>&1 || { tail -n 20 "$dl_log" >&2; die "apt-get update failed"; }
	fi
}

# ---------------------------------------------------------------------------
# Download (once) into the cache.
# ---------------------------------------------------------------------------
# True if the .dsc and every file it lists are in the cache, with the listed
# SHA-256 sums (so a truncated or deleted tarball is fetched again).
cache_complete() {
	[ -f "$dsc" ] || return 1
	sed -n '/^Checksums-Sha256:/,/^[^ ]/s/^ \([0-9a-f]\{64\}\) [0-9]* \(.*\)$/\1  \2/p' "$dsc" \
		>"$build_dir/openssh-sums.tmp"
	if [ -s "$build_dir/openssh-sums.tmp" ] &&
		(cd "$cache" && sha256sum --quiet --strict -c "$build_dir/openssh-sums.tmp") >/dev/null 2>&1
	then _ok=0; else _ok=1; fi
	rm -f "$build_dir/openssh-sums.tmp"
	return $_ok
}

if cache_complete; then
	say "source openssh $deb_version: cached in $cache"
else
	dl_log="$build_dir/openssh-download.log"
	: >"$dl_log"
	ensure_deb_src
	# The Sources index may predate the deb-src entry or the candidate version.
	if ! apt-cache showsrc --only-source openssh 2>/dev/null |
		grep -qx "Version: $deb_version"; then
		say "apt-get update (no source index for openssh $deb_version yet)"
		apt-get update -q >>"$dl_log" 2>&1 || { tail -n 20 "$dl_log" >&2; die "apt-get update failed"; }
	fi
	say "downloading Debian source openssh $deb_version"
	part="$cache.part"
	rm -rf "$part"
	mkdir -p "$part"
	# Let apt drop privileges to _apt for the download, as it prefers.
	if getent passwd _apt >/dev/null; then chown _apt "$part"; fi
	(cd "$part" && apt-get source -q --download-only "openssh=$deb_version") >>"$dl_log" 2>&1 ||
		{ tail -n 20 "$dl_log" >&2; die "apt-get source openssh=$deb_version failed (log: $dl_log)"; }
	[ -f "$part/openssh_$file_version.dsc" ] || die "apt-get source did not produce openssh_$file_version.dsc"
	chown -R root:root "$part"
	mkdir -p "$cache"
	mv "$part"/* "$cache"/
	rmdir "$part"
	rm -f "$dl_log"
fi


# ---------------------------------------------------------------------------
# Unpack with Debian's patches, then ours.  All of it happens in a scratch tree
# that replaces build/openssh-src/ only once every patch is in, so that tree is
# never half-patched.
# ---------------------------------------------------------------------------
if [ "$(cat "$src/.sj-prepared" 2>/dev/null || true)" = "$key" ]; then
	say "source tree $src already unpacked and patched"
else
	say "unpacking with Debian's patches (dpkg-source -x)"
	new="$src.new"
	prep_log="$build_dir/openssh-prepare.log"
	series_tmp="$build_dir/openssh-series.tmp"
	patch_out="$build_dir/openssh-patch.out"
	rm -rf "$new"
	: >"$prep_log"
	# --no-check skips only the OpenPGP signature of the .dsc (that needs
	# debian-keyring); the file checksums in the .dsc are still verified, and
	# the .dsc itself came through apt, checked against the signed Sources
	# index.  --no-copy keeps the orig tarball out of build/.
	run_logged "dpkg-source -x" "$prep_log" \
		dpkg-source --no-check --no-copy -x "$dsc" "$new"
	[ -f "$new/debian/rules" ] && [ -f "$new/debian/patches/series" ] &&
		[ -f "$new/version.h" ] || die "unpacked tree $new does not look like Debian's openssh"

	npatches=0
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$patch_dir/series" >"$series_tmp"
	while read -r p _; do
		f="$patch_dir/$p"
		if [ ! -f "$f" ]; then
			rm -rf "$new" "$series_tmp"
			die "patch $f (listed in $patch_dir/series) does not exist"
		fi
		# Dry run first: a patch that does not apply cleanly changes nothing.
		if ! (cd "$new" && patch -p1 --dry-run --batch --forward --fuzz=0 \
			<"$f") >"$patch_out" 2>&1; then
			sed 's/^/  /' "$patch_out" >&2
			rm -rf "$new" "$series_tmp" "$patch_out"
			die "patch $f does not apply to Debian's openssh $deb_version; stopped before configure"
		fi
		echo "=== patch -p1 < $f" >>"$prep_log"
		if ! (cd "$new" && patch -p1 --batch --forward --fuzz=0 \
			--no-backup-if-mismatch <"$f") >>"$prep_log" 2>&1; then
			rm -rf "$new" "$series_tmp" "$patch_out"
			die "patch $f failed after a clean dry run (log: $prep_log)"
		fi
		npatches=$((npatches + 1))
	done <"$series_tmp"
	rm -f "$series_tmp" "$patch_out"
	say "applied $npatches SecureJeebs patch(es) from $patch_dir/series"

	# The shared sealing code, as it is in src/ (never edited here).
	mkdir -p "$new/securejeebs"
	for f in $shared_src; do
		[ -f "$top/$f" ] || { rm -rf "$new"; die "missing $top/$f"; }
		install -m 0644 "$top/$f" "$new/securejeebs/$(basename "$f")"
	done

	rm -rf "$src"
	mv "$new" "$src"
	mv "$prep_log" "$log"
	echo "$key" >"$src/.sj-prepared"
fi

if [ "${SJ_OPENSSH_STOP_AFTER:-}" = patch ]; then
	say "stopping after the patch step (SJ_OPENSSH_STOP_AFTER=patch)"
	exit 0
fi

# ---------------------------------------------------------------------------
# Configure like Debian's deb build.
# ---------------------------------------------------------------------------
# Debian's confflags for the deb build, copied from debian/rules of
# 9.2p1-2+deb12u10 (the linux-only ones included), in its order.  All of them
# are kept.  What this build leaves out of debian/rules, and why:
#  - the second, minimal udeb configuration (confflags_udeb, for the installer);
#  - contrib/gnome-ssh-askpass3 (needs GTK; ASKPASS_PROGRAM still points at
#    /usr/bin/ssh-askpass as in Debian);
#  - the regress binaries and the test suite (make regress-prep / unit /
#    compat-tests): slow, and not what `make openssh` is for;
#  - the out-of-tree build in debian/build-deb: we build in the tree;
#  - of dh_auto_configure's own defaults, --disable-option-checking (we want
#    configure to report a misspelt option, and fail on it below), the
#    automake-only --disable-silent-rules/--disable-maintainer-mode/
#    --disable-dependency-tracking (OpenSSH does not use automake), and
#    --build/--includedir/--infodir/--libdir/--runstatedir (native build,
#    nothing installed there).  --prefix, --mandir and --localstatedir are kept.
# --with-sandbox=seccomp_filter is Debian's default on linux too (configure picks
# it); we ask for it explicitly so configure fails rather than choose another.
# --with-privsep-user=sshd is also the built-in default; the user is created by
# scripts/setup.sh.  If a later Debian revision adds flags, the check below
# names them.
debian_confflags='--sysconfdir=/etc/ssh
--libexecdir=${prefix}/lib/openssh
--disable-strip
--with-mantype=doc
--with-4in6
--with-privsep-path=/run/sshd
--with-pid-dir=/run
ac_cv_func_mkdtemp=no
--with-tcp-wrappers
--with-pam
--with-libedit
--with-kerberos5=/usr
--with-ssl-engine
--with-selinux
--with-audit=linux
--with-systemd
--with-security-key-builtin
--with-xauth=/usr/bin/xauth
--with-default-path=/usr/local/bin:/usr/bin:/bin:/usr/games
--with-superuser-path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
dh_defaults='--prefix=/usr
--mandir=${prefix}/share/man
--localstatedir=/var'
our_confflags='--with-sandbox=seccomp_filter
--with-privsep-user=sshd'

# Evaluates a make expression in the context of Debian's debian/rules.
debian_rules_eval() {
	printf 'sj-eval:\n\t@printf "%%s\\n" %s\n' "$1" >"$build_dir/openssh-eval.mk"
	(cd "$src" && make -s -f debian/rules -f "$build_dir/openssh-eval.mk" sj-eval)
	rm -f "$build_dir/openssh-eval.mk"
}

# Debian's version suffix ("Debian-2+deb12u10"), computed by debian/rules.
extraversion=$(debian_rules_eval '"$(SSH_EXTRAVERSION)"') ||
	die "could not evaluate SSH_EXTRAVERSION in debian/rules"
case $extraversion in
*[!0-9A-Za-z.+~-]*|'') die "unexpected SSH_EXTRAVERSION '$extraversion' from debian/rules" ;;
esac

if [ "$(cat "$src/.sj-configured" 2>/dev/null || true)" = "$key" ]; then
	say "already configured"
else
	rm -f "$src/.sj-configured"
	# Drift check: Debian's current flags (minus the compiler/linker flags,
	# which follow) that this script does not pass.
	debian_now=$(debian_rules_eval '$(confflags)' | grep -e '^--' -e '^[a-z]' |
		grep -v -e '^--with-cflags=' -e '^--with-ldflags=') ||
		die "could not read confflags from debian/rules"
	missing_flags=$(printf '%s\n' "$debian_now" | while read -r f; do
		printf '%s\n' "$debian_confflags" | grep -qxF -e "$f" || printf ' %s' "$f"
	done)
	[ -z "$missing_flags" ] ||
		say "WARNING: debian/rules has configure flags not mirrored here:$missing_flags"

	# Compiler and linker flags as debian/rules builds them: dpkg-buildflags
	# with hardening=+all, Debian's version suffix, and ours (patch 0001).
	# The -D values are escaped once more because configure puts them into
	# the Makefile, whose commands go through the shell.
	export DEB_BUILD_MAINT_OPTIONS=hardening=+all
	cppflags=$(cd "$src" && dpkg-buildflags --get CPPFLAGS)
	cflags=$(cd "$src" && dpkg-buildflags --get CFLAGS)
	ldflags=$(cd "$src" && dpkg-buildflags --get LDFLAGS)
	cflags="$cppflags $cflags -DSSH_EXTRAVERSION=\\\"$extraversion\\\" -DSECUREJEEBS_VERSION=\\\"$sj_version\\\""
	ldflags="-Wl,--as-needed $ldflags"

	# Debian patches configure.ac (GSSAPI, TCP wrappers, systemd), so the
	# shipped configure is stale: regenerate it as dh_autoreconf does.
	say "autoreconf"
	run_logged autoreconf "$log" sh -c "cd '$src' && autoreconf -f -i"

	say "configure (log: $log)"
	oldifs=$IFS
	IFS='
'
	set -f
	# shellcheck disable=SC2086
	set -- $dh_defaults $debian_confflags $our_confflags
	set +f
	IFS=$oldifs
	run_logged configure "$log" sh -c 'cd "$1" && shift && exec ./configure "$@"' sh "$src" \
		"$@" --with-cflags="$cflags" --with-ldflags="$ldflags"
	if grep -q 'unrecognized options' "$log"; then
		grep 'unrecognized options' "$log" >&2
		die "configure did not recognize some options (Debian patch not applied?)"
	fi

	# Make sure the features actually came out on.
	for d in SANDBOX_SECCOMP_FILTER USE_PAM WITH_SELINUX GSSAPI KRB5 USE_LIBEDIT \
		USE_LINUX_AUDIT ENABLE_SK_INTERNAL LIBWRAP HAVE_SYSTEMD; do
		grep -q "^#define $d\\b" "$src/config.h" ||
			die "configure did not enable $d (see $log)"
	done
	grep -q "^#define SSH_PRIVSEP_USER \"sshd\"" "$src/config.h" ||
		die "privsep user is not sshd (see $log)"
	echo "$key" >"$src/.sj-configured"
fi

# ---------------------------------------------------------------------------
# Build and install.
# ---------------------------------------------------------------------------
say "make -j2 (log: $log)"
run_logged make "$log" make -C "$src" -j2 ASKPASS_PROGRAM=/usr/bin/ssh-askpass

say "installing into $out"
rm -f "$out/.sj-stamp"
mkdir -p "$out"
for p in $programs; do
	[ -f "$src/$p" ] || die "make did not produce $p"
	install -m 0755 "$src/$p" "$out/$p"
done
install -m 0644 "$src/moduli" "$out/moduli"

# The binary must say what it is (patch 0001).
upstream=${file_version%-*}
want="OpenSSH_$upstream $extraversion SecureJeebs-$sj_version"
got=$("$out/sshd" -V 2>&1 | sed 's/,.*//')
[ "$got" = "$want" ] || die "built sshd says it is '$got', expected '$want'"
echo "$key" >"$out/.sj-stamp"
say "done: $got in $out"
