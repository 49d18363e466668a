#!/usr/bin/env bash
# Builds the loader fuzz targets with clang (libFuzzer + ASan + UBSan) and
# runs each for a bounded time: scripts/fuzz.sh [SECONDS] (default 60 each).
#   fuzz_onnx_load    the ONNX importer, from small valid and broken models
#   fuzz_engine_load  the engine file reader, from an engine of the sample model
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/setup.sh
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DKILN_FUZZ=ON -DKILN_CUDA=OFF -DKILN_WERROR=ON \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz --target fuzz_onnx_load fuzz_engine_load fuzz_seed_corpus kiln
onnx_corpus=build-fuzz/tests/fuzz/corpus
engine_corpus=build-fuzz/tests/fuzz/engine-corpus
mkdir -p "$engine_corpus"
cp models/sample_cnn.onnx "$onnx_corpus/"
build-fuzz/kiln build models/sample_cnn.onnx -o "$engine_corpus/sample.engine" >/dev/null
build-fuzz/kiln build models/sample_cnn.onnx -o "$engine_corpus/sample_unoptimized.engine" \
  --optimization-level 0 >/dev/null
for target in onnx engine; do
  corpus=$onnx_corpus
  [[ $target == engine ]] && corpus=$engine_corpus
  build-fuzz/tests/fuzz/fuzz_${target}_load -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
    "$corpus" 2>&1 | tail -n 12
  echo "fuzz: fuzz_${target}_load ran ${seconds} s without a finding"
done
