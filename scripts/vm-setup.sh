#!/bin/sh
# vm-setup.sh installs what the cgvm test runner needs: qemu from Debian's
# packages, and Debian's kernel images and the guest's userland (busybox)
# in the cache,
# fetched with apt-get download and extracted, never installed (a kernel
# package would pull in hundreds of MB and upgrade systemd). It never
# changes the system's apt sources: each Debian suite gets a private
# sources list and lists directory in the cache, on the mirror the system
# already uses. It is idempotent: what is cached is not fetched again.
#
# Usage: scripts/vm-setup.sh        (root, or sudo, only to install qemu)
# Prints the cached kernel images, one path a line, on stdout.
set -eu

cache="${XDG_CACHE_HOME:-$HOME/.cache}/cgguard"
mkdir -p "$cache"

# The kernels to cache, one a line: the version CGVM_KERNEL names it by
# ("-": whatever the suite has), the Debian suite, the package to resolve,
# the name prefix of the package it depends on that holds the image, and
# the image's path in that package. A kernel is one more line.
kernels='
6.1  bookworm linux-image-amd64 linux-image- ./boot/vmlinuz-*
6.12 trixie   linux-image-amd64 linux-image- ./boot/vmlinuz-*
'

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "vm-setup: installing qemu needs root; run as root, or as root: apt-get install --no-install-recommends qemu-system-x86" >&2
		exit 1
	fi
}

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "vm-setup: installing qemu-system-x86 (no recommends)" >&2
	as_root apt-get update -qq >&2
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends qemu-system-x86 >&2
fi

# The Debian mirror the system's own sources name (CGVM_MIRROR overrides).
mirror=${CGVM_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources 2>/dev/null |
	grep -oE 'https?://[^ ]+/debian/?( |$)' | tr -d ' ' | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# As root, apt downloads as the unprivileged _apt user, which cannot reach
# a cache in root's home: say so instead of being warned each time.
sandbox=
if [ "$(id -u)" = 0 ]; then
	sandbox="-o APT::Sandbox::User=root"
fi

# papt SUITE apt-get|apt-cache ARGS...: apt on SUITE alone, with the
# suite's private sources list, lists and package cache under $cache/apt.
papt() {
	suite=$1
	shift
	dir="$cache/apt/$suite"
	cmd=$1
	shift
	"$cmd" -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts="$dir/parts" \
		-o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" \
		-o Acquire::Languages=none $sandbox -qq "$@"
}

# papt_update SUITE: fetch SUITE's package lists, once per run.
papt_update() {
	dir="$cache/apt/$1"
	[ -e "$work/updated-$1" ] && return 0
	mkdir -p "$dir/parts" "$dir/lists/partial" "$dir/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $1 main" >"$dir/sources.list"
	echo "vm-setup: reading Debian $1's package lists from $mirror" >&2
	papt "$1" apt-get update >&2
	touch "$work/updated-$1"
}

# extract SUITE PACKAGE PATTERN...: download PACKAGE from SUITE into $work
# and extract the members matching the patterns into $work/x.
extract() {
	suite=$1 pkg=$2
	shift 2
	rm -rf "$work/x" "$work"/*.deb
	mkdir -p "$work/x"
	(cd "$work" && papt "$suite" apt-get download "$pkg" >&2)
	dpkg-deb --fsys-tarfile "$work"/*.deb | tar -x -C "$work/x" --wildcards "$@"
}

# fetch_kernel VERSION SUITE PACKAGE DEPENDENCY-PREFIX MEMBER: cache SUITE's
# kernel image as vmlinuz-<release>, and its config as config-<release>
# (cgguard doctor reads it to say whether the kernel has sched_ext).
fetch_kernel() {
	version=$1 suite=$2 meta=$3 dep=$4 member=$5
	if [ "$version" = - ]; then
		marker="$cache/kernel-$suite"
		[ -f "$marker" ] && [ -f "$(cat "$marker")" ] && return 0
	else
		for f in "$cache/vmlinuz-$version".* "$cache/vmlinuz-$version"-*; do
			[ -f "$f" ] && return 0
		done
	fi
	papt_update "$suite"
	pkg=$(papt "$suite" apt-cache depends "$meta" | sed -n "s/^ *Depends: *\($dep[^ ]*\).*/\1/p" | head -n 1)
	if [ -z "$pkg" ]; then
		echo "vm-setup: Debian $suite's $meta depends on no package matching $dep; check $mirror" >&2
		exit 1
	fi
	echo "vm-setup: fetching $pkg from Debian $suite (the image only, not installed)" >&2
	extract "$suite" "$pkg" "$member" './boot/config-*'
	img=$(find "$work/x" -type f -name 'vmlinuz*' | head -n 1)
	case $(basename "$img") in
	vmlinuz) release=$(basename "$(dirname "$img")") ;; # /usr/lib/modules/<release>/vmlinuz
	*) release=$(basename "$img" | sed 's/^vmlinuz-//') ;;
	esac
	# Install atomically so a concurrent runner never sees half a kernel.
	cp "$img" "$cache/.vmlinuz-$release.tmp"
	chmod 0644 "$cache/.vmlinuz-$release.tmp"
	mv "$cache/.vmlinuz-$release.tmp" "$cache/vmlinuz-$release"
	for cfg in "$work"/x/boot/config-*; do
		[ -f "$cfg" ] && cp "$cfg" "$cache/config-$release"
	done
	if [ "$version" = - ]; then
		echo "$cache/vmlinuz-$release" >"$cache/kernel-$suite"
	fi
}

echo "$kernels" | while read -r version suite meta dep member; do
	if [ -n "$version" ]; then
		fetch_kernel "$version" "$suite" "$meta" "$dep" "$member"
	fi
done

# The guest's userland: Debian's busybox-static, one static binary that
# the runner packs and installs every applet of (dd, ps, grep, awk, ...).
if [ ! -x "$cache/busybox" ]; then
	papt_update bookworm
	echo "vm-setup: fetching busybox-static from Debian bookworm (not installed)" >&2
	extract bookworm busybox-static ./bin/busybox
	cp "$work/x/bin/busybox" "$cache/.busybox.tmp"
	chmod 0755 "$cache/.busybox.tmp"
	mv "$cache/.busybox.tmp" "$cache/busybox"
fi

# systemd for CGVM_INIT=systemd: Debian's systemd and every library package
# it needs, recursively, extracted into one tree (not installed), which the
# runner packs into the guest.
if [ ! -x "$cache/systemd/lib/systemd/systemd" ]; then
	papt_update bookworm
	pkgs=$(papt bookworm apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances systemd | grep -E '^(lib[^ ]*|systemd)$' | sort -u)
	echo "vm-setup: fetching systemd and its libraries from Debian bookworm (not installed):" $pkgs >&2
	rm -rf "$work"/*.deb "$cache/.systemd.tmp"
	mkdir -p "$cache/.systemd.tmp"
	# shellcheck disable=SC2086 # one package a word
	(cd "$work" && papt bookworm apt-get download $pkgs >&2)
	for deb in "$work"/*.deb; do
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$cache/.systemd.tmp" \
			--exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/locale
	done
	rm -rf "$cache/systemd"
	mv "$cache/.systemd.tmp" "$cache/systemd"
fi

# The sched_ext kernel (Debian unstable's) has a script of its own, which
# checks its config for sched_ext and BTF and keeps it in kernels/<release>.
sh "$(dirname "$0")/fetch-kernel-sid.sh" >/dev/null

ls -1 "$cache"/vmlinuz-* "$cache"/kernels/*/vmlinuz 2>/dev/null | sort -V
