#!/bin/sh
# fetch-kernel-sid.sh fetches Debian unstable's current kernel image, the
# first Debian kernel built with CONFIG_SCHED_CLASS_EXT (sched_ext) and BTF,
# for the cgvm runner. It leaves the system's apt sources alone: apt reads a
# private sources list for sid (at the mirror the system's own sources use)
# and keeps its package lists in a private directory. Nothing is installed;
# only the image and the kernel config are extracted from the packages.
#
# The image lands in a subdirectory the runner's default (the newest
# vmlinuz-* directly in the cache) does not glob, so it is used only when
# asked for:
#
#	~/.cache/cgguard/kernels/<version>/vmlinuz
#	~/.cache/cgguard/kernels/<version>/config
#
# Usage: scripts/fetch-kernel-sid.sh
# It is idempotent: when a sched_ext kernel is already cached it only prints
# its path. The last line of stdout is the image path, for
# CGVM_KERNEL=$(scripts/fetch-kernel-sid.sh | tail -n 1).
set -eu

cache="${XDG_CACHE_HOME:-$HOME/.cache}/cgguard"
kernels="$cache/kernels"
mkdir -p "$kernels"

# A cached sched_ext kernel is good enough: CI should not depend on the
# mirror (nor re-download 14 MB) once it has one.
existing=$(ls -1d "$kernels"/*/ 2>/dev/null | sort -V | while read -r d; do
	if [ -f "$d/vmlinuz" ] && grep -qx 'CONFIG_SCHED_CLASS_EXT=y' "$d/config" 2>/dev/null; then
		echo "${d%/}/vmlinuz"
	fi
done | tail -n 1)
if [ -n "$existing" ]; then
	echo "$existing"
	exit 0
fi

# The mirror the system's own sources use (deb822 URIs: or a one-line deb).
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
	sed -n -e 's|^URIs: *\(https\{0,1\}://[^ ]*/debian\)/\{0,1\}$|\1|p' \
		-e 's|^deb \(\[[^]]*\] \)\{0,1\}\(https\{0,1\}://[^ ]*/debian\)/\{0,1\} .*|\2|p' |
	head -n 1)
if [ -z "$mirror" ]; then
	mirror=http://deb.debian.org/debian
fi

work=$(mktemp -d)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/debs"
# As root, apt-get fetches as the unprivileged _apt user, which must be able
# to write these directories (else it warns and fetches unsandboxed).
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
	chown -R _apt "$work/lists" "$work/debs"
fi
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" >"$work/sources.list"
apt() {
	cmd=$1
	shift
	"$cmd" -o Dir::Etc::SourceList="$work/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$work/lists" \
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
		"$@"
}

echo "fetch-kernel-sid: reading sid's package lists from $mirror" >&2
apt apt-get update -qq >&2

# linux-image-amd64 depends on linux-image-<version>-amd64 (or, since 7.x,
# directly on linux-binary-<version>); the image is in linux-binary-<version>,
# the config in linux-base-<version>. Follow the dependencies until both show.
deps() { apt apt-cache depends "$1" 2>/dev/null | sed -n 's/^ *|\{0,1\}Depends: *\([^ <>]*\).*/\1/p'; }
binary=
base=
for pkg in $(deps linux-image-amd64); do
	case $pkg in
	linux-binary-*) binary=$pkg ;;
	linux-base-*) base=$pkg ;;
	linux-image-*)
		for sub in $(deps "$pkg"); do
			case $sub in
			linux-binary-*) binary=$sub ;;
			linux-base-*) base=$sub ;;
			esac
		done
		;;
	esac
done
if [ -z "$binary" ] || [ -z "$base" ]; then
	echo "fetch-kernel-sid: cannot find linux-binary-<version> and linux-base-<version> among sid's linux-image-amd64 dependencies (found binary=${binary:-none} base=${base:-none}); look with: apt-cache depends linux-image-amd64 on sid" >&2
	exit 1
fi
version=${binary#linux-binary-}
echo "fetch-kernel-sid: fetching $binary and $base (not installed)" >&2
(cd "$work/debs" && apt apt-get download -qq "$binary" "$base" >&2)

mkdir -p "$work/x"
for deb in "$work"/debs/*.deb; do
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/x" --wildcards \
		"./usr/lib/modules/$version/vmlinuz" "./usr/lib/modules/$version/config" 2>/dev/null || true
done
img="$work/x/usr/lib/modules/$version/vmlinuz"
cfg="$work/x/usr/lib/modules/$version/config"
if [ ! -f "$img" ] || [ ! -f "$cfg" ]; then
	echo "fetch-kernel-sid: $binary or $base did not hold usr/lib/modules/$version/{vmlinuz,config}; list them with dpkg-deb -c" >&2
	exit 1
fi
for opt in CONFIG_SCHED_CLASS_EXT=y CONFIG_DEBUG_INFO_BTF=y; do
	if ! grep -qx "$opt" "$cfg"; then
		echo "fetch-kernel-sid: kernel $version is built without $opt; sched_ext schedulers cannot load on it" >&2
		exit 1
	fi
done

# Install atomically so a concurrent runner never sees a half-written kernel:
# fill a temporary directory, then rename it into place.
dest="$kernels/$version"
tmp="$kernels/.$version.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$img" "$tmp/vmlinuz"
cp "$cfg" "$tmp/config"
chmod 0644 "$tmp/vmlinuz" "$tmp/config"
rm -rf "$dest"
mv "$tmp" "$dest"
echo "$dest/vmlinuz"
