#!/usr/bin/env bash
# On the host CPU of a GPU machine (or any machine with ONNX Runtime): builds
# kiln in Release (KILN_DEPS=DIR: a folder of extracted Debian packages for
# build dependencies the machine lacks, such as protobuf-c and oneDNN), runs
# the unit tests, then bench/cpu_peers.py with the given threads. Logs and
# results go to $OUT (default out/host-bench).
# usage: bench/host_cpu_peers.sh THREADS SECONDS_PER_CONFIG COMMIT [NOTE]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:?threads}
seconds=${2:?seconds per configuration}
commit=${3:?commit of the tree}
note=${4:-}
out=${OUT:-out/host-bench}
mkdir -p "$out"
cmake_deps=()
if [[ -n "${KILN_DEPS:-}" ]]; then
  deps=$(cd "$KILN_DEPS" && pwd)
  pc=$(mktemp -d)
  for f in "$deps"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc; do
    sed "s|^prefix=/usr|prefix=$deps/usr|" "$f" > "$pc/$(basename "$f")"
  done
  export PATH="$deps/usr/bin:$PATH"
  export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  export PKG_CONFIG_PATH="$pc:${PKG_CONFIG_PATH:-}"
  cmake_deps=(-DKILN_DEPS="$deps")
fi
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_deps[@]}" > "$out/configure.log" 2>&1
cmake --build build-bench > "$out/build.log" 2>&1
grep -E "oneDNN|onednn" "$out/configure.log" || true
ctest --test-dir build-bench -R "unit" --output-on-failure > "$out/ctest.log" 2>&1 || { tail -40 "$out/ctest.log"; exit 1; }
tail -3 "$out/ctest.log"
name=$(date +%F)-cpu-peers-$(hostname -s | tr -c 'a-zA-Z0-9\n' -)-${threads}t.md
python3 bench/cpu_peers.py --kiln build-bench/kiln --threads "$threads" --seconds-per-config "$seconds" \
  --commit "$commit" --models-dir "${MODELS_DIR:-/tmp/kiln-bench-models}" --out "$out/$name" --note "$note" 2>&1 | tee "$out/cpu_peers.log"
