#!/usr/bin/env bash
# deps.sh - install the Debian packages lockstep-bpf needs to build, test and
# run its demo (xz-utils, gzip, coreutils and python3 are also the real-program corpus, tests/e2e-real.sh).  Idempotent: silent when everything is already there.
set -euo pipefail
PKGS=(make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev libcriterion-dev libcapstone-dev
	qemu-user binutils python3 procps xz-utils gzip coreutils time curl bsdutils valgrind gcc-aarch64-linux-gnu
	libc6-dev-arm64-cross libclang-rt-14-dev)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "lockstep-bpf needs these Debian packages: ${missing[*]}" >&2
	echo "install them with: sudo apt-get install ${missing[*]}  (or run: sudo make deps)" >&2
	exit 2
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
