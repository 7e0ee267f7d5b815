#!/usr/bin/env bash
# Regenerates clients/python/src/credit_client/credit_pb2.py from proto/credit.proto with
# protoc (Debian protobuf-compiler; 3.21.12 on bookworm). The output is committed; the test
# CreditClientTests/pythonGeneratedCodeIsFresh fails when it is stale. If protoc's version
# changes, update PROTOC_VERSION / MIN_RUNTIME in clients/python/src/credit_client/client.py.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-clients/python/src/credit_client}"
protoc --proto_path=proto --python_out="$out" proto/credit.proto
