#!/usr/bin/env bash
# The main job on the embedded default, on a fresh machine: install what is needed, build,
# synthesize a dirty loan book as a MySQL dump, restore it into SQLite, and profile it.
# Everything lands in ./demo/ (ignored by git). No server to install, no ../shared needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --product credit
BIN="$(swift build --show-bin-path)"
mkdir -p demo
"$BIN/credit" synth --rows 20000 --seed 7 --out mysqldump:demo/book.sql
"$BIN/credit" db restore --replace --into sqlite:demo/book.db demo/book.sql
"$BIN/credit" profile --data sqlite:demo/book.db --spec examples/alura-cash/spec.json \
    --out demo/profile.html --json demo/profile.json
echo "open demo/profile.html in a browser to see the loan book's profile"
