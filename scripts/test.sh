#!/usr/bin/env bash
# Sets up a fresh machine, builds kiln and runs the whole test suite:
# unit tests, the ONNX backend node tests (conformance), bad-input tests,
# the API example, and ResNet-50 / MobileNetV2 / BERT-base against ONNX Runtime.
#   scripts/test.sh              release build in build/
#   scripts/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

build=build
flags=(-DKILN_WERROR=ON -DKILN_CONFORMANCE_MIN_PASS_RATE=0.65)
if [[ "${1:-}" == "--sanitize" ]]; then
  build=build-asan
  # CUDA stays out of sanitizer builds (its runtime and ASan disagree); the GPU
  # code is tested on a GPU machine
  flags+=(-DKILN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DKILN_CUDA=OFF)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
# every run poisons its outputs first, so that a kernel leaving part of one unwritten shows NaNs
export KILN_POISON=1
cmake -S . -B "$build" -G Ninja "${flags[@]}"
cmake --build "$build"
start=$(date +%s)
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
echo "test suite ($build) took $(( $(date +%s) - start )) s"
