#!/usr/bin/env bash
# Tests the release tarball the way a fresh machine runs it: extracted into an empty
# directory, PATH and LD_LIBRARY_PATH without the Swift toolchain, ldd showing no toolchain
# library; then credit synth/keys/train (signed), creditd (trusted keys, Unix socket, HTTP)
# and `credit score --connect` == `credit score --model`.
#   scripts/release-test.sh [TARBALL]               (default: build one with scripts/release.sh)
#   scripts/release-test.sh --debootstrap [TARBALL] also inside a minimal Debian 12 root made
#       with debootstrap (variant minbase + the README's packages), run with chroot and no
#       /dev, /proc or /sys mounted into it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
debootstrap=0
if [ "${1:-}" = "--debootstrap" ]; then debootstrap=1; shift; fi
tarball="${1:-}"
work="$(mktemp -d /tmp/credit-release-test.XXXXXX)"
chroot_dir="$work/debian"
cleanup() {
    # Never delete through a mount: a debootstrap root must have nothing mounted under it.
    if [ -d "$chroot_dir" ] && [ -n "$(findmnt -R -n -o TARGET "$chroot_dir" 2>/dev/null)" ]; then
        echo "release-test: mounts remain under $chroot_dir; not deleting $work" >&2
        findmnt -R "$chroot_dir" >&2
        return
    fi
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT
if [ -z "$tarball" ]; then tarball="$(bash "$root/scripts/release.sh" "$work/dist" | tail -1)"; fi
tarball="$(readlink -f "$tarball")"

mkdir "$work/app"
tar -C "$work/app" -xzf "$tarball" --strip-components=1
app="$work/app"
clean_path="/usr/local/bin:/usr/bin:/bin"
run() { env -i HOME="$work" PATH="$clean_path" LD_LIBRARY_PATH= "$@"; }

echo "== ldd (no toolchain library, nothing missing)"
for exe in credit creditd; do
    deps="$(run ldd "$app/bin/$exe")"
    echo "$exe:"; echo "$deps" | sed 's/^/    /'
    if echo "$deps" | grep -E '/opt/swift|not found|libswift|libFoundation'; then echo "FAIL: $exe needs the toolchain"; exit 1; fi
done

# The scenario: $1 = command prefix (empty, or chroot ROOT env -i ...), $2 = the run
# directory as the commands see it, $3 = the same directory as this script sees it, $4 = app.
scenario() {
    local prefix="$1" d="$2" h="$3" appdir="$4"
    mkdir -p "$h/trusted"
    $prefix "$appdir/bin/credit" synth --rows 3000 --seed 5 --out "sqlite:$d/book.sqlite" >/dev/null
    $prefix "$appdir/bin/credit" keys generate --out "$d/trusted/ops"
    $prefix "$appdir/bin/credit" train --data "sqlite:$d/book.sqlite" --spec "$appdir/examples/alura-cash/spec.json" \
        --algorithm logistic --out "$d/model.credit" --signing-key "$d/trusted/ops.key" --seed 1 >"$h/train.out" 2>&1 \
        || { cat "$h/train.out"; return 1; }
    rm "$h/trusted/ops.key"   # the daemon's machine holds public keys only
    $prefix "$appdir/bin/credit" score --model "$d/model.credit" --data "sqlite:$d/book.sqlite" --out "csv:$d/inproc.csv" >/dev/null 2>&1
    $prefix "$appdir/bin/creditd" --model "$d/model.credit" --trusted-keys "$d/trusted" \
        --listen "unix:$d/creditd.sock" 2>"$h/creditd.log" &
    local pid=$! ok=0
    for _ in $(seq 100); do
        if $prefix "$appdir/bin/creditd" --probe "unix:$d/creditd.sock" >/dev/null 2>&1; then ok=1; break; fi
        sleep 0.2
    done
    if [ $ok != 1 ]; then echo "FAIL: creditd did not become ready"; cat "$h/creditd.log"; kill $pid; return 1; fi
    $prefix "$appdir/bin/credit" score --connect "unix:$d/creditd.sock" --data "sqlite:$d/book.sqlite" --out "csv:$d/daemon.csv" >/dev/null 2>&1
    kill -TERM $pid
    wait $pid || { echo "FAIL: creditd exit status $?"; cat "$h/creditd.log"; return 1; }
    grep -o 'signer=[0-9a-f]*' "$h/creditd.log" | head -1 | grep -q . || { echo "FAIL: no signer in the log"; cat "$h/creditd.log"; return 1; }
    if ! cmp -s "$h/inproc.csv" "$h/daemon.csv"; then
        echo "FAIL: credit score --connect differs from --model"; diff "$h/inproc.csv" "$h/daemon.csv" | head; return 1
    fi
    echo "ok: $(($(wc -l < "$h/daemon.csv") - 1)) rows scored by creditd (model signed by $(grep -o 'signer=[0-9a-f]*' "$h/creditd.log" | head -1 | cut -d= -f2)) equal in-process scoring"
}

echo "== extracted tarball, toolchain out of PATH and LD_LIBRARY_PATH"
mkdir "$work/run"
PATH="$clean_path" LD_LIBRARY_PATH="" scenario "" "$work/run" "$work/run" "$app"

if [ $debootstrap = 1 ]; then
    # A minimal Debian 12 root without mounting anything into it: debootstrap's first stage
    # only (--foreign: download, unpack the required set; its second stage would mount proc
    # and sys in the root), the README's packages unpacked from the downloaded .debs, and the
    # root's linker cache made from outside (ldconfig -r). Entered with chroot alone.
    echo "== minimal Debian 12 root (debootstrap --foreign --variant=minbase, no mounts)"
    packages="$(sed -n 's/^    apt-get install //p' "$app/README.md")"
    mirror="$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep '/debian$' | head -1)"
    mirror="${mirror:-http://deb.debian.org/debian}"
    start=$(date +%s)
    debootstrap --foreign --variant=minbase --include="$(echo $packages | tr ' ' ',')" bookworm "$chroot_dir" "$mirror" \
        > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; exit 1; }
    if [ -n "$(findmnt -R -n -o TARGET "$chroot_dir")" ]; then echo "FAIL: something is mounted under $chroot_dir"; exit 1; fi
    for deb in "$chroot_dir"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$chroot_dir"; done
    ldconfig -r "$chroot_dir"
    mkdir -p "$chroot_dir/opt"
    cp -a "$app" "$chroot_dir/opt/credit-risk"
    test ! -e "$chroot_dir/opt/swift" || { echo "FAIL: toolchain inside the root"; exit 1; }
    # Inside: every library resolves from the README's packages, and both binaries start
    # (the Swift runtime, Foundation included, is in them). With no /proc in the root they
    # see no arguments (Swift on Linux reads them from /proc/self/cmdline) and print their
    # usage, so the scoring scenario itself runs only where /proc exists (any real system).
    for exe in credit creditd; do
        deps="$(chroot "$chroot_dir" /usr/bin/env -i PATH="$clean_path" /usr/bin/ldd "/opt/credit-risk/bin/$exe")"
        if echo "$deps" | grep -E 'not found|/opt/swift'; then echo "FAIL: $exe in the Debian root"; exit 1; fi
        started="$(chroot "$chroot_dir" /usr/bin/env -i PATH="$clean_path" "/opt/credit-risk/bin/$exe" 2>&1 || true)"
        echo "$started" | grep -qi "usage: $exe" || { echo "FAIL: $exe does not start in the Debian root: $started"; exit 1; }
        echo "ok: $exe starts in the minimal Debian root; its libraries: $(echo "$deps" | awk '/=>/ {print $1}' | tr '\n' ' ')"
    done
    if [ -n "$(findmnt -R -n -o TARGET "$chroot_dir")" ]; then echo "FAIL: something got mounted under $chroot_dir"; exit 1; fi
    echo "debootstrap root: $(( $(date +%s) - start )) s"
fi
echo "release-test: passed"
