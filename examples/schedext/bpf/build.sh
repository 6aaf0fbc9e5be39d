#!/bin/sh
# build.sh compiles the BPF schedulers in this directory into the objects
# the Go package embeds (run by go generate; the objects are committed, so
# building or testing the example needs no compiler).
#
# vmlinux.h is generated, not committed (it is ~3 MB): bpftool dumps the
# BTF of a sched_ext kernel's image, the one scripts/fetch-kernel-sid.sh
# caches, or the one SCHEDEXT_KERNEL names (a bzImage, or an ELF vmlinux).
#
# Tools (Debian 12: apt-get install clang-19 llvm-19 bpftool xz-utils zstd):
# CLANG (default clang-19), LLVM_STRIP (default llvm-strip-19), BPFTOOL
# (default bpftool).
set -eu
cd "$(dirname "$0")"

CLANG=${CLANG:-clang-19}
LLVM_STRIP=${LLVM_STRIP:-llvm-strip-19}
BPFTOOL=${BPFTOOL:-bpftool}

cache="${XDG_CACHE_HOME:-$HOME/.cache}/cgguard/kernels"
kernel=${SCHEDEXT_KERNEL:-$(ls -1 "$cache"/*/vmlinuz 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$kernel" ] || [ ! -f "$kernel" ]; then
	echo "build.sh: no sched_ext kernel image to take BTF from: run scripts/fetch-kernel-sid.sh, or set SCHEDEXT_KERNEL=/path/to/vmlinuz" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# bpftool reads BTF from an ELF vmlinux. A bzImage carries one, compressed:
# the x86 boot header (Documentation/arch/x86/boot.rst) gives the payload's
# offset (setup sectors plus payload_offset) and length.
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; } # little-endian host
if [ "$(head -c 4 "$kernel" | od -An -c | tr -d ' ')" = '177ELF' ]; then
	elf=$kernel
else
	setup=$(u8 "$kernel" 497)
	[ "$setup" = 0 ] && setup=4
	off=$(((setup + 1) * 512 + $(u32 "$kernel" 584)))
	len=$(u32 "$kernel" 588)
	tail -c +$((off + 1)) "$kernel" | head -c "$len" >"$work/payload"
	case $(od -An -tx1 -N4 "$work/payload" | tr -d ' ') in
	28b52ffd) # zstd; the kernel build appends the 4-byte decompressed size
		head -c $((len - 4)) "$work/payload" | zstd -dcq >"$work/vmlinux" ;;
	fd377a58) xz -dc --single-stream <"$work/payload" >"$work/vmlinux" ;;
	1f8b*) gzip -dc <"$work/payload" >"$work/vmlinux" 2>/dev/null || true ;;
	*)
		echo "build.sh: $kernel: unknown payload compression; set SCHEDEXT_KERNEL to an ELF vmlinux" >&2
		exit 1
		;;
	esac
	elf=$work/vmlinux
fi
"$BPFTOOL" btf dump file "$elf" format c >"$work/vmlinux.h"

for src in *.bpf.c; do
	obj=${src%.c}.o
	# -g makes the BTF that struct_ops and CO-RE need; the DWARF that comes
	# with it is stripped (it is 95% of the object).
	# -Wno-missing-declarations: bpftool 7.1 emits a few empty forward
	# declarations for the newest kernels' anonymous members.
	"$CLANG" -target bpf -O2 -g -Wall -Werror -Wno-missing-declarations \
		-I"$work" -c "$src" -o "$work/$obj"
	"$LLVM_STRIP" -g -o "$obj" "$work/$obj"
	echo "build.sh: $obj from $src, types from $kernel" >&2
done
