#!/usr/bin/env bash
# Regenerates the committed protoc-c output for proto/credit.proto.
#   scripts/gen-proto.sh            writes Sources/CCreditProto/{credit.pb-c.c,include/credit.pb-c.h}
#   scripts/gen-proto.sh OUTDIR     writes the same two files into OUTDIR (used by the test
#                                   that checks the committed code is up to date)
# Needs protoc-c (Debian: protobuf-c-compiler; see scripts/install-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root/proto" && protoc-c --c_out="$tmp" credit.proto)
if [ -z "$out" ]; then
    cp "$tmp/credit.pb-c.c" "$root/Sources/CCreditProto/credit.pb-c.c"
    cp "$tmp/credit.pb-c.h" "$root/Sources/CCreditProto/include/credit.pb-c.h"
else
    mkdir -p "$out"
    cp "$tmp/credit.pb-c.c" "$tmp/credit.pb-c.h" "$out/"
fi
