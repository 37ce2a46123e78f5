#!/usr/bin/env bash
# README command two: install what is needed, then run the whole test suite
# (release mode: the kernels under test are the ones users run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product normbench
swift test -c release "$@"
