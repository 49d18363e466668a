#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: builds kiln with the CUDA backend and runs
# the unit tests (the GPU ones run instead of skipping) and the API example,
# writing logs to $OUT (default out/gpu).
# KILN_DEPS=DIR names a folder of extracted Debian packages (DIR/usr/...) for
# build dependencies the machine lacks, such as protobuf-c.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-out/gpu}
mkdir -p "$out"
source scripts/deps_env.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
cmake -S . -B build-gpu -G Ninja -DKILN_CUDA=ON -DKILN_WERROR=ON "${cmake_deps[@]}" > "$out/configure.log" 2>&1
cmake --build build-gpu > "$out/build.log" 2>&1
build-gpu/kiln --version | tee "$out/version.txt"
ctest --test-dir build-gpu -R "unit|example" --output-on-failure 2>&1 | tee "$out/ctest.log"
