#!/bin/sh
# vm-setup.sh installs what the cgvm test runner needs: qemu from Debian's
# packages and a Debian kernel image, without installing the kernel package
# (that would pull in hundreds of MB and upgrade systemd). It is idempotent:
# a second run finds both and only prints the kernel path.
#
# Usage: scripts/vm-setup.sh        (run as root, or with sudo available)
# Prints the path of the kernel image on its last line of stdout.
set -eu

cache="${XDG_CACHE_HOME:-$HOME/.cache}/cgguard"
mkdir -p "$cache"

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

updated=
apt_update() {
	if [ -z "$updated" ]; then
		as_root apt-get update -qq >&2
		updated=1
	fi
}

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "vm-setup: installing qemu-system-x86 (no recommends)" >&2
	apt_update
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends qemu-system-x86 >&2
fi

# An existing kernel image in the cache is good enough: the runner takes the
# newest one, and CI should not depend on the mirror once it has a kernel.
existing=$(ls -1 "$cache"/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$existing" ]; then
	echo "$existing"
	exit 0
fi

apt_update
# linux-image-amd64 is a metapackage; the package it depends on holds the
# actual image (e.g. linux-image-6.12.48+deb13-amd64).
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	sed -n 's/^ *Depends: *\(linux-image-[^ ]*\).*/\1/p' | head -n 1)
if [ -z "$pkg" ]; then
	echo "vm-setup: cannot find the kernel package linux-image-amd64 depends on; check apt sources (apt-cache depends linux-image-amd64)" >&2
	exit 1
fi
echo "vm-setup: fetching $pkg (image only, not installed)" >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# As root, apt-get downloads as the unprivileged _apt user, which must be
# able to write the directory (else it warns and downloads unsandboxed).
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$work"
fi
(cd "$work" && apt-get download -qq "$pkg" >&2)
deb=$(ls -1 "$work"/*.deb | head -n 1)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" --wildcards './boot/vmlinuz-*'
img=$(ls -1 "$work"/boot/vmlinuz-* | head -n 1)
name=$(basename "$img")
# Install atomically so a concurrent runner never sees a half-written kernel.
cp "$img" "$cache/.$name.tmp"
mv "$cache/.$name.tmp" "$cache/$name"
chmod 0644 "$cache/$name"
echo "$cache/$name"
