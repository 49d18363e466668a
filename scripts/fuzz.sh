#!/usr/bin/env bash
# Builds the ONNX loader fuzz target with clang (libFuzzer + ASan + UBSan) and
# runs it for a bounded time from a seed corpus of small valid and broken
# models: scripts/fuzz.sh [SECONDS] (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/setup.sh
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DKILN_FUZZ=ON -DKILN_CUDA=OFF -DKILN_WERROR=ON \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz --target fuzz_onnx_load fuzz_seed_corpus
cp models/sample_cnn.onnx build-fuzz/tests/fuzz/corpus/
build-fuzz/tests/fuzz/fuzz_onnx_load -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
  build-fuzz/tests/fuzz/corpus
echo "fuzz: fuzz_onnx_load ran ${seconds} s without a finding"
