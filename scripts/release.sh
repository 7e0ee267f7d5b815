#!/usr/bin/env bash
# Builds the release tarball: credit and creditd (release, Swift standard library and
# Foundation linked statically, so no Swift toolchain is needed to run them), the proto, the C
# and Python clients, the web app's assets, docs, the example spec and the deploy files, with a
# README listing the Debian run-time packages (found from the binaries with ldd + dpkg -S).
#   scripts/release.sh [OUTDIR]     -> OUTDIR/credit-risk-VERSION-linux-ARCH.tar.gz (default: dist/)
# CREDIT_VERSION overrides the version (default: git describe). Tested by scripts/release-test.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)"
cd "$root"
version="${CREDIT_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
arch="$(uname -m)"
name="credit-risk-$version-linux-$arch"

echo "building credit and creditd (release, static Swift runtime)..." >&2
swift build -c release --static-swift-stdlib --product creditd >&2
swift build -c release --static-swift-stdlib --product credit >&2
bin="$(swift build -c release --show-bin-path)"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir/bin" "$dir/share/web" "$dir/clients/c/proto/include" "$dir/docs" "$dir/examples" "$dir/proto"
for exe in credit creditd; do
    cp "$bin/$exe" "$dir/bin/$exe"
    strip --strip-debug "$dir/bin/$exe"
done
cp proto/credit.proto "$dir/proto/"
# The C client builds from its own copy of the protoc-c output (make PROTO_DIR=proto).
cp clients/c/*.c clients/c/*.h clients/c/Makefile clients/c/README.md "$dir/clients/c/"
cp Sources/CCreditProto/credit.pb-c.c "$dir/clients/c/proto/"
cp Sources/CCreditProto/include/credit.pb-c.h "$dir/clients/c/proto/include/"
sed -i 's#^PROTO_DIR := .*#PROTO_DIR := proto#' "$dir/clients/c/Makefile"
tar -C clients -cf - --exclude=__pycache__ --exclude='*.egg-info' --exclude=build python | tar -C "$dir/clients" -xf -
# The web app is embedded in creditd (served at /); the files are here for reference.
cp Sources/CreditHTTP/web/* "$dir/share/web/"
cp README.md "$dir/README-project.md"
cp docs/*.md docs/openapi.json "$dir/docs/"
cp -r examples/. "$dir/examples/"
cp -r deploy "$dir/deploy"

# Run-time dependencies: every shared library the binaries load, by Debian package. A library
# from the Swift toolchain (or one not found) fails the release.
raw="$(ldd "$dir/bin/credit" "$dir/bin/creditd")"
if echo "$raw" | grep -E '/opt/swift|not found|libswift|libFoundation' >&2; then
    echo "release: a library above comes from the Swift toolchain or is missing" >&2; exit 1
fi
libs="$(echo "$raw" | awk '/=> \// {print $1, $3}')"
# The packages of the libraries the binaries name (readelf NEEDED); apt brings their own deps.
needed="$(readelf -d "$dir/bin/credit" "$dir/bin/creditd" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | sort -u)"
packages="$(for n in $needed; do
    lib="$(echo "$libs" | awk -v n="$n" '$1 == n {print $2; exit}')"
    [ -n "$lib" ] || continue
    dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib"; done | cut -d: -f1 | sort -u | tr '\n' ' ')"
cat > "$dir/README.md" <<README
# credit-risk $version ($arch, Linux)

Credit-risk scoring: \`bin/credit\` (train, evaluate, score, keys) and \`bin/creditd\` (the
scoring daemon: protobuf over Unix/TCP, HTTP/JSON with the analyst page at /, /metrics).
Built with the Swift standard library and Foundation linked in: no Swift toolchain needed.

## Run-time packages (Debian 12)

    apt-get install $packages

(libc6, libgcc-s1 and libstdc++6 are on every Debian system; creditd alone needs only
libprotobuf-c1 beyond them, the others are for \`credit\`'s data drivers.)

## Contents

- bin/credit, bin/creditd
- proto/credit.proto: the wire protocol (docs/creditd.md)
- clients/c: C client (\`make -C clients/c\`; needs libprotobuf-c-dev, gcc, make)
- clients/python: Python client (\`pip install ./clients/python\`)
- share/web: the analyst web app's files (also embedded in creditd)
- docs/: deploy.md (install, upgrade, model rollout, signing keys), creditd.md, http.md, clients.md, ...
- examples/alura-cash: the example dataset spec and its SQL
- deploy/: systemd unit, HAProxy config, Kubernetes manifests, cloud-init, Containerfile

## Quick start

    bin/credit keys generate --out ops                      # ops.key (private), ops.pub
    bin/credit train --data sqlite:book.sqlite --spec examples/alura-cash/spec.json \\
        --out model.credit --signing-key ops.key
    mkdir trusted && cp ops.pub trusted/
    bin/creditd --model model.credit --trusted-keys trusted \\
        --listen unix:/tmp/creditd.sock --listen http:127.0.0.1:8080
    bin/credit score --connect unix:/tmp/creditd.sock --data sqlite:book.sqlite --out csv:scores.csv

docs/deploy.md covers systemd, HAProxy, Kubernetes and model rollouts.
README
tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz"
echo "run-time packages: $packages" >&2
