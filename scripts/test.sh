#!/usr/bin/env bash
# README command two: install what is needed, then run the whole test suite
# (release mode: the kernels under test are the ones users run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product normbench
# oneDNN's OpenMP threads must not spin while the engine's own threads work
# (docs/engine.md); the binaries set this themselves, the test process needs it here.
export OMP_WAIT_POLICY=passive
swift test -c release "$@"
