#!/usr/bin/env bash
# vm-matrix.sh runs the same packages in the cgvm VM on several kernels, one
# VM per package and kernel, and labels every line of go test's output with
# the kernel's version. It exits non-zero if any kernel's run failed.
#
# Usage: scripts/vm-matrix.sh [go test flags] packages...
#   CGVM_KERNELS  the kernels to run on, space-separated versions or paths;
#                 default: every cached kernel (cgvm -kernels lists them)
#   CGVM          the runner; default: cgvm on PATH, else $(go env GOPATH)/bin/cgvm
#
# Example: CGVM_KERNELS="6.1 6.12" scripts/vm-matrix.sh -race ./cgtest/...
set -uo pipefail

cgvm=${CGVM:-$(command -v cgvm || echo "$(go env GOPATH)/bin/cgvm")}
if [[ ! -x $cgvm ]]; then
	echo "vm-matrix: no cgvm runner at $cgvm: CGO_ENABLED=0 go install github.com/cgguard/cgguard/cmd/cgvm@latest, or set CGVM" >&2
	exit 2
fi
if [[ $# -eq 0 ]]; then
	echo "usage: scripts/vm-matrix.sh [go test flags] packages..." >&2
	exit 2
fi
kernels=${CGVM_KERNELS:-$("$cgvm" -kernels | cut -f1 | uniq | tr '\n' ' ')}
if [[ -z ${kernels// /} ]]; then
	echo "vm-matrix: no cached kernels: run scripts/vm-setup.sh" >&2
	exit 2
fi

failed=()
for k in $kernels; do
	echo "=== kernel $k"
	start=$SECONDS
	# go test prints ok/FAIL per package; the label makes each line say
	# which kernel it is about.
	CGVM_KERNEL=$k go test -exec "$cgvm" "$@" 2>&1 | sed -u "s|^|[$k] |"
	status=${PIPESTATUS[0]}
	echo "=== kernel $k: $([[ $status == 0 ]] && echo ok || echo FAIL) in $((SECONDS - start))s"
	[[ $status == 0 ]] || failed+=("$k")
done
if [[ ${#failed[@]} -gt 0 ]]; then
	echo "vm-matrix: failed on kernel(s): ${failed[*]}"
	exit 1
fi
