#!/usr/bin/env bash
# Builds the libFuzzer harness over creditd's request decoder (Fuzz/) with the fuzzer and
# address sanitizers and runs it from the committed corpus for SECONDS (default 60):
#   bash scripts/fuzz.sh 3600          # an hour by hand; record runs in docs/creditd.md
# New inputs that found coverage go to Fuzz/.corpus-new (not committed); crashes to
# Fuzz/crash-* with the input that caused them.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds="${1:-60}"
swift build -c debug --sanitize fuzzer --sanitize address -Xswiftc -parse-as-library >&2
mkdir -p .corpus-new
./.build/debug/RequestFuzz -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=./crash- \
    -rss_limit_mb=2048 .corpus-new corpus
