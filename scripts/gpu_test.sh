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
if [[ -n "${KILN_DEPS:-}" ]]; then
  deps=$(cd "$KILN_DEPS" && pwd)
  pc=$(mktemp -d)
  for f in "$deps"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc; do
    sed "s|^prefix=/usr|prefix=$deps/usr|" "$f" > "$pc/$(basename "$f")"
  done
  export PATH="$deps/usr/bin:$PATH"
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  export PKG_CONFIG_PATH="$pc:${PKG_CONFIG_PATH:-}"
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
cmake -S . -B build-gpu -G Ninja -DKILN_CUDA=ON -DKILN_WERROR=ON > "$out/configure.log" 2>&1
cmake --build build-gpu > "$out/build.log" 2>&1
build-gpu/kiln --version | tee "$out/version.txt"
ctest --test-dir build-gpu -R "unit|example" --output-on-failure 2>&1 | tee "$out/ctest.log"
