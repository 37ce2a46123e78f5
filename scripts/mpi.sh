#!/usr/bin/env bash
# README command three (optional): the MPI variant. Installs Open MPI
# (libopenmpi-dev, openmpi-bin) with the other system packages, builds normbench
# (NORMBENCH_MPI=1) into .build-mpi, and trains the smoke workload
# data-parallel on 2 ranks (one worker per rank, 1 thread each). Extra arguments
# go to `normbench run`, e.g. scripts/mpi.sh --norms bn,syncbn,gn.
# Afterwards: mpirun -np W .build-mpi/release/normbench run <workload> --distributed (docs/distributed.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh libopenmpi-dev openmpi-bin
NORMBENCH_MPI=1 swift build -c release --scratch-path .build-mpi --product normbench
mpirun_flags=(-q --oversubscribe)  # -q: no help banners; --oversubscribe: more ranks than cores is allowed
if [ "$(id -u)" -eq 0 ]; then mpirun_flags+=(--allow-run-as-root); fi
mpirun "${mpirun_flags[@]}" -np 2 .build-mpi/release/normbench run smoke --distributed --threads 1 "$@"
