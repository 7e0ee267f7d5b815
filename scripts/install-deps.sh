#!/usr/bin/env bash
# Installs the Debian packages the project needs to build, test and demo.
# Used by the README's first command and by .ci/run, so both stay in step.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    sqlite3 libsqlite3-dev \
    libprotobuf-c-dev protobuf-c-compiler pkg-config \
    chromium \
    >/dev/null
