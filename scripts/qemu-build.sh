#!/usr/bin/env bash
# qemu-build.sh - build "another QEMU" for the tests: Debian bookworm's own
# qemu 7.2 source, x86_64-linux-user only, with one change of ours: a
# translation block ends after at most 7 guest instructions (upstream: 512).
# Same semantics, different block boundaries, so the second side publishes
# about twice as many blocks: the case --insn exists for, and one that
# -singlestep (1 instruction per block) does not cover.
#
# Prints the path of the binary on its last line of stdout.  Idempotent:
# the binary is cached outside the checkout, keyed by the source version
# and the hash of our change, and reused when present.  Never installs
# QEMU system-wide and never touches Debian's /usr/bin/qemu-x86_64; deb-src
# is enabled through a private apt configuration, not by editing /etc/apt.
#
#   LOCKSTEP_QEMU_MAX7_DIR  cache folder (default /var/cache/lockstep-bpf/qemu-7.2-max7)
#   LOCKSTEP_QEMU_VERSION   source version to fetch (default: that of the installed qemu-user)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

CACHE=${LOCKSTEP_QEMU_MAX7_DIR:-/var/cache/lockstep-bpf/qemu-7.2-max7}
BIN=$CACHE/qemu-x86_64
MAX_INSNS=7
# Our change, as a sed on accel/tcg/translate-all.c (tb_gen_code): the
# default block length limit, used when the cflags ask for no count.
CHANGE="s/^\([[:space:]]*max_insns = \)TCG_MAX_INSNS;/\1$MAX_INSNS;/"
PATCH_HASH=$(printf '%s' "$CHANGE" | sha256sum | cut -c1-16)

say() { echo "qemu-build: $*" >&2; }
start=$(date +%s)

VERSION=${LOCKSTEP_QEMU_VERSION:-$(dpkg-query -W -f='${source:Version}' qemu-user 2>/dev/null || true)}
KEY="version=${VERSION:-unknown} patch=$PATCH_HASH max_insns=$MAX_INSNS"

if [ -x "$BIN" ] && [ -f "$CACHE/key" ] && [ "$(cat "$CACHE/key")" = "$KEY" ] &&
	"$BIN" --version >/dev/null 2>&1; then
	say "cached ($KEY), $(($(date +%s) - start)) s"
	echo "$BIN"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	say "building needs root (apt-get source and build deps); run: sudo bash $0"
	exit 2
fi

# Build dependencies of an x86_64-linux-user build only (no system
# emulation, no tools, no docs): far fewer than Debian's full build-deps.
DEPS=(dpkg-dev gcc make ninja-build meson pkg-config python3 libglib2.0-dev zlib1g-dev)
missing=()
for p in "${DEPS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} != 0 ]; then
	say "installing build deps: ${missing[*]}"
	apt-get update -qq
	apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
fi

WORK=$CACHE/src
mkdir -p "$CACHE"
rm -rf "$WORK"
mkdir -p "$WORK/lists/partial"

# A private apt configuration with deb-src entries for the same suites as
# the machine's own sources; its package lists live under $WORK.
cat >"$WORK/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
APT_OPTS=(-o "Dir::Etc::SourceList=$WORK/sources.list" -o "Dir::Etc::SourceParts=-"
	-o "Dir::State::Lists=$WORK/lists" -o "APT::Sandbox::User=root")
say "fetching the deb-src lists"
apt-get "${APT_OPTS[@]}" update -qq
cd "$WORK"
# The installed qemu-user's own source when the archive still has it, else
# the newest bookworm source (the key then names the version fetched).
if [ -n "$VERSION" ] && apt-get "${APT_OPTS[@]}" source -qq --download-only "qemu=$VERSION" >/dev/null 2>&1; then
	:
else
	say "source $VERSION not in the archive; taking the newest bookworm qemu"
	apt-get "${APT_OPTS[@]}" source -qq --download-only qemu >/dev/null
fi
DSC=$(ls qemu_*.dsc | head -1)
VERSION=$(sed -n 's/^Version: //p' "$DSC")
KEY="version=$VERSION patch=$PATCH_HASH max_insns=$MAX_INSNS"
say "unpacking $DSC"
dpkg-source -x --no-check "$DSC" qemu >/dev/null
cd qemu

sed -i "$CHANGE" accel/tcg/translate-all.c
if ! grep -q "max_insns = $MAX_INSNS;" accel/tcg/translate-all.c; then
	say "the change did not apply: accel/tcg/translate-all.c has no 'max_insns = TCG_MAX_INSNS;'"
	exit 1
fi

say "configuring and building x86_64-linux-user (a few minutes)"
mkdir build
cd build
../configure --target-list=x86_64-linux-user --disable-system --enable-linux-user \
	--enable-plugins --disable-tools --disable-docs --disable-werror \
	--disable-capstone --disable-slirp --disable-fdt --disable-gnutls --disable-nettle \
	--disable-gcrypt --disable-curl --disable-libssh --disable-debug-info \
	>configure.log 2>&1 || { tail -30 configure.log >&2; exit 1; }
ninja -j"$(nproc)" qemu-x86_64 >build.log 2>&1 || { tail -30 build.log >&2; exit 1; }

install -m 0755 qemu-x86_64 "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "$KEY" >"$CACHE/key"
cd "$CACHE"
rm -rf "$WORK"
say "built $BIN ($KEY) in $(($(date +%s) - start)) s"
echo "$BIN"
