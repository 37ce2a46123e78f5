#!/usr/bin/env bash
# The MPI variant's tests (CI runs this after scripts/test.sh): installs Open MPI,
# builds the MPI variant (NORMBENCH_MPI=1) into .build-mpi and runs the tests that exist
# only there (Tests/NormBenchCLITests/MPICLITests.swift): 2 ranks under mpirun
# against the single-process simulation, a distributed sweep against a serial
# one, mismatched ranks and a rank that dies.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh libopenmpi-dev openmpi-bin
# `swift test` builds the normbench binary the tests run (the test target depends
# on it): no separate `swift build` (it would compile everything a second time,
# with other flags). As in scripts/test.sh: OpenMP threads must not spin in the test process.
export OMP_WAIT_POLICY=passive
NORMBENCH_MPI=1 swift test -c release --scratch-path .build-mpi --filter 'MPICLITests|DistributedFlagsCLITests' "$@"
