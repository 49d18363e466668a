#!/usr/bin/env bash
# Installs what kiln needs to build and test on a fresh Debian/Ubuntu machine:
# the C toolchain and libraries (Debian packages) and the Python test tooling
# (pip). Safe to run again: it only installs what is missing.
set -euo pipefail

debs=(build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev libprotobuf-c-dev protobuf-c-compiler
      libopenblas-dev libdnnl-dev)
missing=()
for p in "${debs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # libclang-rt-14-dev is only needed for the fuzzer; skip it where it does not exist
  apt-get install -y -qq "${missing[@]}" >/dev/null || apt-get install -y -qq "${missing[@]/libclang-rt-14-dev/}" >/dev/null
fi

python3 - <<'PY' 2>/dev/null || { echo "setup: installing Python test tooling"; python3 -m pip install -q -r "$(dirname "$0")/../tests/requirements.txt"; }
import onnx, onnxruntime, numpy
assert onnx.__version__ == "1.23.2"
PY
