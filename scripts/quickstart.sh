#!/usr/bin/env bash
# README command one: install what is needed, build in release mode, run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product normbench
bin=.build/release/normbench
"$bin" info
scripts/sample-clips.sh .normbench/samples
"$bin" decode --sampling uniform --frames 16 --size 112 .normbench/samples/*
