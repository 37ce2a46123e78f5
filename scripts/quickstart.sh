#!/usr/bin/env bash
# README command one: install what is needed, build in release mode, and run the
# main job on the default workload (the smoke sweep: BN vs GN at batch 2 and 8).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product normbench
.build/release/normbench info
.build/release/normbench run smoke "$@"
