#!/usr/bin/env bash
# Sets up a fresh machine, builds kiln, then inspects and runs the sample model
# (models/sample_cnn.onnx) on deterministic random input, writing its output to
# out/sample/logits.npy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja >/dev/null
cmake --build build
build/kiln inspect models/sample_cnn.onnx
build/kiln run models/sample_cnn.onnx --shape input=4x3x64x64 --output-dir out/sample
